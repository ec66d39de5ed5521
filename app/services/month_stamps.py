"""Change stamps per month: which months' hours and figures a write may have changed.

The month status (app/services/month_close.py) keeps its last computation of each month and uses
it while nothing that feeds the month has changed since. To know that cheaply, every committed
write bumps, in its own transaction, the stamp of each month it may touch (`month_stamps`, one
counter per month, and "*" for a change that may touch every month). The months follow from what
the transaction changed (app/changes.py collects it for every Database.write(): the register,
"all present", a bundle import, a sync import, an erasure, undo):

- a mark: the month of its session, and the participant's first month with hours before and after
  the change (the summary shows their start in the project there);
- a session, or a course: the months of its sessions (the old date too, when it moves), and the
  same first months of the participants marked on them;
- a participant, or a company: every month in which that participant (its staff) has hours;
- the rounding rule (in the organisation's settings), a project setting, a merge of duplicates
  (sync aliases), an erasure, or a change whose rows are not known (a Core UPDATE, a snapshot
  loaded whole): "*".

An ORM bulk UPDATE by primary key (a sync applying changes, a bundle import, a restore) names its
rows; what a flush would forget (an old session date, the old session or participant of a mark) is
read before it runs.

Being too wide costs a recomputation; being too narrow would show a changed month as unchanged,
so anything not understood counts as "*".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import cast

from sqlalchemy import Table, and_, event, inspect, or_, select, update
from sqlalchemy.orm import Session

from app.changes import by_primary_key
from app.models import Attendance, Course, CourseSession, MonthStamp, Participant, Setting

EVERY = "*"
ROUNDING_KEY = "organisation"  # the settings row that holds the rounding rule (app/services/settings.py)
# tables whose rows feed a month's hours or figures
FEEDS = frozenset({"attendance", "participants", "companies", "sessions", "courses", "settings", "project_settings",
                   "sync_aliases", "erasures"})
WIDE = frozenset({"project_settings", "sync_aliases", "erasures"})  # any change of these: every month
CHUNK = 500
_BEFORE = "kursdesk_month_stamps_before"  # (months, participant ids, session ids) the flushes forgot


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def install(db) -> None:
    """Bump the stamps in every write transaction of this database, just before it commits."""
    event.listen(db.Session, "before_flush", _remember_before)
    event.listen(db.Session, "do_orm_execute", _remember_before_bulk)
    event.listen(db.Session, "before_commit", lambda session: _before_commit(db, session))


def _remember_before(session: Session, _ctx, _instances) -> None:
    """What a flush is about to forget: the old date of a session that moves, the old session or
    participant of a mark, the rows of records deleted outright, and whether the rounding rule
    changes (every month, then)."""
    months, pids, sessions = session.info.setdefault(_BEFORE, (set(), set(), set()))
    for obj in (*session.new, *session.dirty, *session.deleted):
        gone = obj in session.deleted  # its row cannot be read after the flush: its values now
        if isinstance(obj, CourseSession):
            state = inspect(obj).attrs.date
            months.update(month_key(d) for d in (*state.history.deleted, *([state.value] if gone else [])) if d is not None)
            if gone:
                sessions.add(obj.id)
        elif isinstance(obj, Setting) and obj.key == ROUNDING_KEY:
            was = inspect(obj).attrs.value.history.deleted
            old = None if obj in session.new else (was[0] if was else obj.value)
            if _rounding(old) != _rounding(None if gone else obj.value):
                months.add(EVERY)
        elif isinstance(obj, Attendance):
            for name, into in (("participant_id", pids), ("session_id", sessions)):
                state = inspect(obj).attrs[name]
                into.update(v for v in (*state.history.deleted, *([state.value] if gone else [])) if v is not None)


def _remember_before_bulk(orm_state) -> None:
    """The same for the ORM's bulk UPDATE by primary key (a sync, a bundle import, a restore),
    whose rows the change set names: their old session dates, and the old session and participant
    of the marks it moves, read before it runs."""
    named = by_primary_key(orm_state)
    if named is None:
        return  # a statement whose rows are not known counts for every month anyway
    table, ids = named
    keys = {k for row in orm_state.parameters for k in row}
    s = orm_state.session
    months, pids, sessions = s.info.setdefault(_BEFORE, (set(), set(), set()))
    a, se = Attendance.__table__, CourseSession.__table__
    if table == CourseSession.__tablename__ and "date" in keys:
        months.update(month_key(d) for d in _column(s, select(se.c.date), se.c.id, ids) if d is not None)
    elif table == Attendance.__tablename__ and keys & {"session_id", "participant_id"}:
        sessions.update(_column(s, select(a.c.session_id), a.c.id, ids))
        pids.update(_column(s, select(a.c.participant_id), a.c.id, ids))
    elif table == Setting.__tablename__ and ROUNDING_KEY in ids:
        months.add(EVERY)


def _rounding(value: str | None) -> str:
    """The rounding rule in the organisation's settings (JSON; app/services/settings.py)."""
    try:
        return str(json.loads(value or "{}").get("hours_rounding", "exact"))
    except (ValueError, AttributeError):
        return ""


def _before_commit(db, session: Session) -> None:
    from app.db import BULK_LOAD

    collector = db.changes.current()  # Database.write() collects what its transaction changes
    bulk = session.info.get(BULK_LOAD, False)
    if (collector is None and not bulk) or not _has_table(db, session):
        return
    session.flush()  # so that the collector knows every row of the transaction
    months, pids, sessions = session.info.pop(_BEFORE, (set(), set(), set()))
    if collector is None or bulk:  # a snapshot's bulk load: which rows changed is not known
        found = {EVERY}
    else:
        found = {EVERY} if EVERY in months else touched(session, collector.tables, pids, sessions) | months
    if found:
        bump(session, found)


def _has_table(db, session: Session) -> bool:
    """A database opened without migrating (older than 0008) has no stamps to keep."""
    if not getattr(db, "_month_stamps", False):
        db._month_stamps = MonthStamp.__tablename__ in inspect(session.connection()).get_table_names()
    return bool(db._month_stamps)


def touched(s: Session, tables: dict[str, set[str] | None] | None, marked: Iterable[str] = (),
            dated: Iterable[str] = ()) -> set[str]:
    """The months (or {"*"}) whose figures the changed rows {table: ids or None} may alter; `marked`:
    more participants whose marks changed, `dated`: more sessions whose months count."""
    if tables is None:
        return {EVERY}
    feeding = {t: ids for t, ids in tables.items() if t in FEEDS}
    if not feeding and not marked and not dated:
        return set()
    rows: dict[str, set[str]] = {}
    for table, ids in feeding.items():
        # the organisation's settings count when their rounding rule changes (_remember_before)
        if ids is None or table in WIDE:
            return {EVERY}
        rows[table] = set(ids)
    a, se, p = Attendance.__table__, CourseSession.__table__, Participant.__table__
    sessions = set(rows.get("sessions", ())) | _column(s, select(se.c.id), se.c.course_id, rows.get("courses", ()))
    marks = set(rows.get("attendance", ())) | _column(s, select(a.c.id), a.c.session_id, sessions)
    dated = set(dated) | sessions | _column(s, select(a.c.session_id), a.c.id, marks)
    months = {month_key(d) for d in _column(s, select(se.c.date), se.c.id, dated)}
    # the people whose marks changed: besides those months, the month of their first hours before
    # and after the change (the summary shows their start there)
    months |= _first_months(s, set(marked) | _column(s, select(a.c.participant_id), a.c.id, marks), marks)
    # people whose own data changed: every month they have hours in
    people = set(rows.get("participants", ())) | _column(s, select(p.c.id), p.c.company_id, rows.get("companies", ()))
    months |= {month_key(day) for _id, _pid, day in _attended(s, people)}
    return months


def _attended(s: Session, pids: set[str]) -> list[tuple[str, str, date]]:
    """(mark id, participant id, date) of these people's marks with attended minutes (app.rules.
    attended_minutes > 0 spelled out, as in app.services.reports._first_attended)."""
    a, se, c = Attendance.__table__, CourseSession.__table__, Course.__table__
    stmt = select(a.c.id, a.c.participant_id, se.c.date).join(se, se.c.id == a.c.session_id).where(
        a.c.deleted_at.is_(None), se.c.deleted_at.is_(None), se.c.cancelled.is_(False),
        se.c.course_id.not_in(select(c.c.id).where(c.c.deleted_at.is_not(None))),
        or_(and_(a.c.status == "present", a.c.minutes.is_(None)), and_(a.c.status.in_(("present", "late")), a.c.minutes > 0)),
    )
    ids = sorted(pids)
    return [tuple(row) for i in range(0, len(ids), CHUNK) for row in s.execute(stmt.where(a.c.participant_id.in_(ids[i:i + CHUNK])))]


def _first_months(s: Session, pids: set[str], changed: set[str]) -> set[str]:
    """The month of each person's first hours now, and as their unchanged marks alone give it (the
    first month before the change is one of these or one of the changed marks' own months)."""
    now: dict[str, date] = {}
    unchanged: dict[str, date] = {}
    for mark_id, pid, day in _attended(s, pids):
        if day < now.get(pid, date.max):
            now[pid] = day
        if mark_id not in changed and day < unchanged.get(pid, date.max):
            unchanged[pid] = day
    return {month_key(d) for d in (*now.values(), *unchanged.values())}


def _column(s: Session, stmt, key, values: Iterable[str]) -> set:
    values = sorted(values)
    return {v for i in range(0, len(values), CHUNK) for v in s.execute(stmt.where(key.in_(values[i:i + CHUNK]))).scalars()}


def bump(s: Session, months: Iterable[str]) -> None:
    t = cast(Table, MonthStamp.__table__)
    months = sorted(set(months))
    known = set(s.execute(select(t.c.month).where(t.c.month.in_(months))).scalars())
    if known:
        s.execute(update(t).where(t.c.month.in_(sorted(known))).values(n=t.c.n + 1))
    if len(known) < len(months):
        s.execute(t.insert(), [{"month": m, "n": 1} for m in months if m not in known])


def stamps(s: Session) -> dict[str, int]:
    """month (or "*") -> its stamp now; a month never changed is 0."""
    t = MonthStamp.__table__
    return dict(s.execute(select(t.c.month, t.c.n)).all())

