"""Closing a month: what was sent to ESF and SCB stays known (issue 13).

Closing records, per participant, the month's hours (after the rounding rule), the figures of the
summary and the SHA-256 of the files written for it, with the time and the laptop's user, as one
`MonthClose` version (a synced record, so every laptop knows it). A later change is allowed; the
status compares the latest version with today's figures, so a change by any path (the register,
a bundle import, sync) shows: the month is "changed after close", with the hours before and after
per participant, and it and every later closed month must be sent to SCB again (SCB's rule:
"måste även filer för samtliga månader efter den månad som justerats läsas in på nytt").
Closing a changed month again records a new version; earlier versions stay readable. The status
keeps its last computation of each month on this laptop (`month_checks`) and computes a month again
only when its change stamp moved (app/services/month_stamps.py), reading that month's marks only.

    close_month(db, "2026-10", files=[...])     # -> CloseVersion
    month_status(db)                            # -> [MonthStatus] for every month of the project
    impact_of_mark(db, session_id, participant_id, "absent", None)   # before saving: -> Impact
"""

from __future__ import annotations

import gc
import getpass
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import and_, delete, func, insert, or_, select

from app import rules
from app.db import Database, DatabaseBusy
from app.device import device_id
from app.errors import NotFound, UserError
from app.i18n import N_, _, current_language, translate_in
from app.models import (
    Attendance,
    Company,
    Course,
    CourseSession,
    MonthCheck,
    MonthClose,
    OriginalReceived,
    Participant,
    SyncAlias,
    utcnow,
)
from app.services import month_stamps, reports
from app.services.reports import ZERO, Month, MonthFigures, round_hours, to_month
from app.validation import mask_personal_number

log = logging.getLogger(__name__)

OPEN, CLOSED, CHANGED = "open", "closed", "changed"
SCB_DAYS = 28  # SCB: "inom fyra veckor efter avslutad månad"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


# --- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseVersion:
    id: str
    month: str
    version: int  # 1, 2, ... in the order of closed_at (then id), the same on every laptop
    closed_at: datetime  # UTC
    closed_by: str
    device_id: str
    rounding: str
    hours: dict[str, Decimal]  # participant id -> hours
    figures: dict
    files: dict[str, str]  # file name -> SHA-256


@dataclass(frozen=True)
class Difference:
    participant_id: str
    name: str
    masked_personal_number: str
    before: Decimal
    after: Decimal


@dataclass(frozen=True)
class FigureChange:
    key: str
    before: object
    after: object


@dataclass(frozen=True)
class MonthStatus:
    month: str
    state: str  # open | closed | changed
    due: date  # SCB's deadline
    closed_at: datetime | None = None  # of the latest version
    closed_by: str = ""
    versions: int = 0
    resend: bool = False
    differences: tuple[Difference, ...] = ()
    figure_changes: tuple[FigureChange, ...] = ()
    originals_received: int = 0
    originals_missing: int = 0
    overdue: bool = False  # open after SCB's deadline

    def as_json(self) -> dict:
        return {
            "month": self.month,
            "state": self.state,
            "due": self.due.isoformat(),
            "closed_on": self.closed_at.date().isoformat() if self.closed_at else None,
            "closed_at": self.closed_at.isoformat(timespec="seconds") + "Z" if self.closed_at else None,
            "closed_by": self.closed_by,
            "versions": self.versions,
            "resend": self.resend,
            "differences": [
                {"personal_number": d.masked_personal_number, "hours_before": str(d.before), "hours_after": str(d.after)}
                for d in self.differences
            ],
            "figures_changed": [{"figure": c.key, "before": c.before, "after": c.after} for c in self.figure_changes],
            "originals_received": self.originals_received,
            "originals_missing": self.originals_missing,
            "overdue": self.overdue,
        }


def local_time(stamp: datetime) -> datetime:
    """A stored UTC time as this laptop's local time, to show."""
    return stamp.replace(tzinfo=UTC).astimezone()


def scb_due(month: Month) -> date:
    """SCB's deadline for a month: four weeks after it ends."""
    return month.last + timedelta(days=SCB_DAYS)


def next_month(m: Month) -> Month:
    return Month(m.year + 1, 1) if m.month == 12 else Month(m.year, m.month + 1)


def previous_month(m: Month) -> Month:
    return Month(m.year - 1, 12) if m.month == 1 else Month(m.year, m.month - 1)


def month_of(day: date) -> Month:
    return Month(day.year, day.month)


# --- today's figures ----------------------------------------------------------------------


HOURS_STATUSES = rules.HOURS_STATUSES  # the marks that can give hours
SCAN_FROM = 5000  # sessions: from this many on (and a third of all), all live marks are read in one pass of their index


def month_totals(s, months: Iterable[Month], rounding: str, firsts: dict[str, dict[str, date]] | None = None) -> dict[str, dict[str, Decimal]]:
    """Each month's hours per participant with hours, under `rounding`: the same rules and the
    same per-line rounding as app.services.reports.month_hours (the time reports), for many months
    in one reading of their marks. `firsts` gets, per month, each participant's first date with
    attended minutes in that month."""
    wanted = sorted(set(months), key=lambda m: m.key)
    if not wanted:
        return {}
    a, se = Attendance.__table__, CourseSession.__table__
    conn = s.connection()  # plain rows: this reads every mark of the months
    sessions = {}
    keys = {m.key for m in wanted}
    for sid, day, cid, start, end in conn.execute(
        select(se.c.id, se.c.date, se.c.course_id, se.c.start_time, se.c.end_time).where(
            se.c.date >= wanted[0].first, se.c.date <= wanted[-1].last, se.c.deleted_at.is_(None), se.c.cancelled.is_(False),
            se.c.course_id.not_in(select(Course.id).where(Course.deleted_at.is_not(None))),
        )
    ).all():
        if f"{day.year:04d}-{day.month:02d}" in keys:  # the months asked for need not follow each other
            sessions[sid] = ((day.year, day.month), (day, cid), rules.session_minutes(start, end))
    marks = select(a.c.session_id, a.c.participant_id, a.c.status, a.c.minutes).where(
        a.c.deleted_at.is_(None), a.c.status.in_(HOURS_STATUSES),
        a.c.participant_id.not_in(select(Participant.id).where(Participant.deleted_at.is_not(None))),
    )
    # all marks in one pass of their index when these are most of the sessions; else by session
    if len(sessions) >= SCAN_FROM and 3 * len(sessions) >= conn.execute(select(func.count()).select_from(se)).scalar_one():
        results = [conn.execute(marks)]
    else:
        ids = sorted(sessions)
        results = (conn.execute(marks.where(a.c.session_id.in_(ids[i:i + 500]))) for i in range(0, len(ids), 500))
    # this loop runs once per mark (tests/app/test_month_close.py holds the result to month_hours)
    lines: dict[tuple, int] = defaultdict(int)
    get, attended_minutes = sessions.get, rules.attended_minutes
    for result in results:
        for part in result.partitions(20_000):
            for sid, pid, status, minutes in part:
                found = get(sid)
                if found is None:
                    continue
                month, line, scheduled = found
                attended = attended_minutes(status, minutes, scheduled)
                if attended > 0:
                    lines[(month, pid, line)] += attended
    # a line's hours as the time report rounds them (reports.round_hours), in hundredths, once per
    # distinct number of minutes
    rounded: dict[int, int] = {}
    cents: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_of: dict[tuple[int, int], dict[str, date]] = defaultdict(dict)
    for (month, pid, (day, _course)), minutes in lines.items():
        c = rounded.get(minutes)
        if c is None:
            c = rounded[minutes] = int(round_hours(minutes, rounding) * 100)
        cents[month][pid] += c
        first = first_of[month]
        if day < first.get(pid, date.max):
            first[pid] = day
    if firsts is not None:
        firsts.update({f"{year:04d}-{month:02d}": first for (year, month), first in first_of.items()})
    totals: dict[str, dict[str, Decimal]] = {}
    for m in wanted:
        per = cents.get((m.year, m.month), {})
        totals[m.key] = {pid: Decimal(c).scaleb(-2) for pid, c in per.items() if c > 0}
    return totals


def _started_before(s, participant_ids: Iterable[str], day: date) -> set[str]:
    """The participants with attended minutes before `day`. Asked per participant with EXISTS, so
    that SQLite stops at the first such mark instead of reading all of a person's history; the
    condition is app.rules.attended_minutes > 0 spelled out, as in reports._first_attended."""
    a, se, p = Attendance.__table__, CourseSession.__table__, Participant.__table__
    attended = or_(
        and_(a.c.status == "present", a.c.minutes.is_(None)),
        and_(a.c.status.in_(HOURS_STATUSES), a.c.minutes > 0),
    )
    # the deleted courses (few) as values: a subquery here would be run again for every participant
    deleted = s.execute(select(Course.id).where(Course.deleted_at.is_not(None))).scalars().all()
    earlier = (
        select(a.c.id).join(se, se.c.id == a.c.session_id)
        .where(a.c.participant_id == p.c.id, se.c.date < day, a.c.deleted_at.is_(None), se.c.deleted_at.is_(None),
               se.c.cancelled.is_(False), *([se.c.course_id.not_in(deleted)] if deleted else []), attended)
        .exists()
    )
    ids = sorted(set(participant_ids))
    return {pid for i in range(0, len(ids), 500) for pid in s.execute(select(p.c.id).where(p.c.id.in_(ids[i:i + 500]), earlier)).scalars()}


def month_starts(s, firsts: dict[str, dict[str, date]], months: Iterable[Month],
                 known: dict[str, set[str]] | None = None) -> dict[str, dict[str, date]]:
    """Per month read by month_totals (`firsts`: its first dates per month), the participants whose
    first attended date lies in that month (the summary shows their start there, when they
    declared none). `known`: the participants with attended minutes in months not read, where
    they are known (the status's checks); earlier than those, the marks are asked."""
    wanted = sorted(set(months), key=lambda m: m.key)
    attended = {k: v for k, v in (known or {}).items()}
    attended.update({m.key: set(firsts.get(m.key, {})) for m in wanted})
    runs: list[list[Month]] = []
    for m in wanted:
        if runs and next_month(runs[-1][-1]) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    out = {}
    for run in runs:
        pids = {pid for m in run for pid in firsts.get(m.key, {})}
        seen: set[str] = set()
        earliest = run[0]
        while previous_month(earliest).key in attended:  # the months just before, as far as they are known
            earliest = previous_month(earliest)
            seen |= attended[earliest.key] & pids
        if _sessions_before(s, earliest.first):
            seen |= _started_before(s, pids - seen, earliest.first)
        for m in run:
            first = firsts.get(m.key, {})
            out[m.key] = {pid: day for pid, day in first.items() if pid not in seen}
            seen.update(first)
    return out


def _sessions_before(s, day: date) -> bool:
    return s.execute(select(CourseSession.id).where(CourseSession.date < day).limit(1)).first() is not None


UNKNOWN_PERSON = ("", "")


def people_info(s, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """participant id -> (name, personal number); deleted people included (a close names them)."""
    stmt = select(Participant.id, Participant.first_name, Participant.last_name, Participant.personal_number)
    ids = sorted(set(ids))
    rows = (row for i in range(0, len(ids), 500) for row in s.execute(stmt.where(Participant.id.in_(ids[i:i + 500]))))
    return {pid: (f"{first} {last}".strip(), pnr) for pid, first, last, pnr in rows}


def _text(value) -> str | None:
    return None if value is None else str(value)


def summary_figures(f: MonthFigures) -> dict:
    """The figures of the month's summary (issue 12's app.services.reports.month_figures, the
    same the workbook shows) as the plain JSON mapping a close records and the status compares.
    Per participant: what the summary and SCB's block show of them, keyed by id (no names or
    personal numbers: the close is synced)."""
    return {
        "month": f.month.key,
        "rounding": f.rounding,
        "unit_cost": _text(f.unit_cost),
        "participants": f.participant_count,
        "hours": str(f.hours),
        "women": f.women,
        "men": f.men,
        "organisations": f.organisation_count,
        "hours_per_participant": _text(f.hours_per_participant),
        "hours_per_organisation": _text(f.hours_per_organisation),
        "co_financing": _text(f.co_financing),
        "hours_by_organisation": {o.org_number or o.company_id: str(o.hours) for o in f.organisations},
        "hours_by_organisation_type": {t.organisation_type: str(t.hours) for t in f.types},
        "co_financing_by_organisation_type": {t.organisation_type: _text(t.co_financing) for t in f.types},
        "participant_data": {
            p.participant_id: {
                "organisation": p.org_number or p.company_id or "", "organisation_type": p.organisation_type,
                "gender": p.gender, "age": p.age, "scb_hours": p.scb_hours,
                "start": _text(p.start), "end": _text(p.end), "exit_reason": p.exit_reason,
                "formal_qualification": p.formal_qualification, "exit_status": p.exit_status,
                "employment_terms": p.employment_terms, "employment_extent": p.employment_extent,
            }
            for p in f.participants
        },
    }


def figures_now(s, totals: dict[str, dict[str, Decimal]], project, rounding: str,
                starts: dict[str, dict[str, date]]) -> dict[str, dict]:
    """summary_figures of each month in `totals` (month_totals' hours, month_starts' starts),
    computed by issue 12's reports.figures_of from one reading of the people for all the months
    (month_figures would read the marks again for each month)."""
    if not totals:
        return {}
    ids = sorted({pid for hours in totals.values() for pid in hours})
    people = reports._people(s, ids, *reports.EXIT_COLUMNS)
    n = len(reports._PEOPLE_COLUMNS)
    person_of: dict[str, dict] = {}  # what a participant's row holds besides the month's hours and start
    declared: dict[str, date | None] = {}
    for pid, row in people.items():
        (_id, first_name, last_name, pnr, gender, company_id, company, org, municipality, org_type, protected,
         declared_start, declared_end) = row[:n]
        declared[pid] = declared_start
        person_of[pid] = dict(
            participant_id=pid, first_name=first_name, last_name=last_name, personal_number=pnr,
            gender=reports._gender(gender, pnr), company_id=company_id, company_name=company or "",
            org_number=org or "", municipality=municipality or "", organisation_type=org_type or "",
            protected=bool(protected), lines=(), minutes=0, end_date=declared_end,
        )
    exits = {pid: person[n:] for pid, person in people.items()}
    out = {}
    for key, hours in totals.items():
        start = starts.get(key, {})
        rows = [reports.ParticipantMonth(hours=h, start_date=declared[pid] or start.get(pid), **person_of[pid])
                for pid, h in hours.items() if pid in person_of]
        out[key] = summary_figures(reports.figures_of(to_month(key), rows, exits, project, rounding))
    return out


def current(s, months: Sequence[Month], closed: Iterable[str], rounding: str, project,
            known: dict[str, set[str]] | None = None) -> tuple[dict, dict, dict]:
    """Today's hours of `months`, today's summary figures of those among them in `closed`, and
    each month's participants with attended minutes (`known`: those of other months, see
    month_starts)."""
    firsts: dict[str, dict[str, date]] = {}
    totals = month_totals(s, months, rounding, firsts)
    keys = set(closed)
    starts = month_starts(s, firsts, months, known) if keys else {}
    figures = figures_now(s, {k: v for k, v in totals.items() if k in keys}, project, rounding, starts)
    return totals, figures, {m.key: sorted(firsts.get(m.key, {})) for m in months}


def current_rounding(db: Database) -> str:
    from app.services.settings import get_settings

    return get_settings(db).hours_rounding


# --- versions -----------------------------------------------------------------------------


def _version(row: MonthClose, n: int) -> CloseVersion:
    return CloseVersion(
        id=row.id, month=row.month, version=n, closed_at=row.closed_at, closed_by=row.closed_by,
        device_id=row.device_id, rounding=row.rounding,
        hours={pid: Decimal(h) for pid, h in json.loads(row.hours or "{}").items()},
        figures=json.loads(row.figures or "{}"), files=json.loads(row.files or "{}"),
    )


def _versions(s, month: str | None = None) -> dict[str, list[CloseVersion]]:
    stmt = select(MonthClose).where(MonthClose.deleted_at.is_(None))
    if month is not None:
        stmt = stmt.where(MonthClose.month == month)
    rows = s.execute(stmt.order_by(MonthClose.month, MonthClose.closed_at, MonthClose.id)).scalars().all()
    out: dict[str, list[CloseVersion]] = defaultdict(list)
    for row in rows:
        out[row.month].append(_version(row, len(out[row.month]) + 1))
    return dict(out)


@dataclass(frozen=True)
class _Latest:
    id: str
    closed_at: datetime
    closed_by: str
    versions: int


def _latest_closes(s) -> dict[str, _Latest]:
    """month -> its latest close and how many versions it has (no JSON read)."""
    out: dict[str, _Latest] = {}
    for rid, month, at, by in s.execute(
        select(MonthClose.id, MonthClose.month, MonthClose.closed_at, MonthClose.closed_by)
        .where(MonthClose.deleted_at.is_(None)).order_by(MonthClose.month, MonthClose.closed_at, MonthClose.id)
    ):
        before = out.get(month)
        out[month] = _Latest(rid, at, by, before.versions + 1 if before else 1)
    return out


def _latest_hours(s) -> dict[str, dict[str, Decimal]]:
    """month -> the hours per participant of its latest close."""
    latest = _latest_closes(s)
    ids = [v.id for v in latest.values()]
    rows = s.execute(select(MonthClose.month, MonthClose.hours).where(MonthClose.id.in_(ids))) if ids else []
    return {month: {pid: Decimal(h) for pid, h in json.loads(hours or "{}").items()} for month, hours in rows}


def versions(db: Database, month: str | Month) -> list[CloseVersion]:
    """Every version of a month's close, oldest first (empty when it was never closed)."""
    m = to_month(month)
    with db.read() as s:
        return _versions(s, m.key).get(m.key, [])


def closed_months(db: Database) -> list[str]:
    with db.read() as s:
        return sorted(set(s.execute(select(MonthClose.month).where(MonthClose.deleted_at.is_(None))).scalars()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no user name in the environment
        return ""


def check_closable(month: str | Month, today: date | None = None) -> None:
    """A UserError unless the month has ended (a month can be closed from the day after it)."""
    m = to_month(month)
    if m.last >= (today or date.today()):
        raise UserError(_("{month} has not ended yet; a month can be closed from the day after its last day.").format(month=m.label()))


def close_month(
    db: Database,
    month: str | Month,
    *,
    files: Sequence[str | Path] = (),
    user: str | None = None,
    today: date | None = None,
) -> CloseVersion:
    """Record a new version of the month's close: every participant's hours, the summary's
    figures and the SHA-256 of `files` (the summary and time reports written for it). A month
    that has not ended yet cannot be closed."""
    m = to_month(month)
    check_closable(m, today)
    paths = [Path(p) for p in files]
    for p in paths:
        if not p.is_file():
            raise UserError(_("The file {file} was not found.").format(file=p))
    hashes = {p.name: _sha256(p) for p in paths}
    device = device_id(db)
    from app.services.settings import get_project_settings

    with db.read() as s:
        seen = month_stamps.stamps(s)  # first, so that a change while this reads shows at the next status
        rounding = current_rounding(db)
        known = _known_attended(s, s.execute(select(MonthCheck)).scalars(), seen)
        totals, figures, attended = current(s, [m], [m.key], rounding, get_project_settings(db), known)
    hours = _dumps({pid: str(h) for pid, h in totals[m.key].items()})
    with db.write() as s:
        row = MonthClose(
            month=m.key, closed_at=utcnow(), closed_by=user if user is not None else _user(), device_id=device,
            rounding=rounding, hours=hours, figures=_dumps(figures[m.key]), files=_dumps(hashes),
        )
        s.add(row)
        s.flush()
        rid = row.id
        # what the status would compute now is what was just recorded
        _store_checks(s, [_check_row(m.key, seen, rid, hours, attended[m.key], [], [])])
    return next(v for v in versions(db, m) if v.id == rid)


def write_and_close(db: Database, month: str | Month, out_dir: str | Path, *, lang: str | None = None,
                    user: str | None = None, today: date | None = None) -> CloseVersion:
    """Write the month's summary (.xlsx) and time reports (.pdf) into `out_dir`, then close the
    month with their SHA-256 (the files as they were sent)."""
    from app.services.time_reports import write_time_reports

    m = to_month(month)
    today = today or date.today()
    check_closable(m, today)  # before anything is written
    lang = lang or current_language()
    folder = Path(out_dir)
    if not folder.is_dir():
        raise UserError(_("The folder {folder} was not found.").format(folder=folder))
    # a later version's files get its number, so the files sent before stay as their hashes say
    n = len(versions(db, m)) + 1
    key = m.key if n == 1 else f"{m.key}-v{n}"
    summary = folder / translate_in(lang, N_("summary-{month}.xlsx")).format(month=key)
    reports_pdf = folder / translate_in(lang, N_("time-reports-{month}.pdf")).format(month=key)
    _write_summary(db, m, summary)
    write_time_reports(db, m, reports_pdf, lang=lang)
    return close_month(db, m, files=[summary, reports_pdf], user=user, today=today)


def _write_summary(db: Database, m: Month, path: Path) -> None:
    """The month's summary workbook: ESF's own, from the same month_figures the close records."""
    from app.documents.esf_summary import write_esf_summary

    write_esf_summary(db, m, path)


# --- status -------------------------------------------------------------------------------


def project_months(db: Database) -> list[Month]:
    """The months of the project: from the project's start to its end (issue 12's settings, when
    set), else from the first to the last session; and every month ever closed."""
    from app.services.settings import get_project_settings

    settings = get_project_settings(db)
    start, end = settings.project_start, settings.project_end
    with db.read() as s:
        first, last = s.execute(
            select(func.min(CourseSession.date), func.max(CourseSession.date)).where(CourseSession.deleted_at.is_(None))
        ).one()
        closed = set(s.execute(select(MonthClose.month).where(MonthClose.deleted_at.is_(None))).scalars())
    first = start or first
    last = end or last
    months: set[str] = set(closed)
    if first is not None and last is not None:
        m = month_of(first)
        while m.key <= month_of(last).key:
            months.add(m.key)
            m = next_month(m)
    return [to_month(k) for k in sorted(months)]


def _aliases(s) -> dict[str, str]:
    """Participants merged away by sync (loser -> survivor): a close made before the merge names
    the loser; its hours count for the survivor."""
    rows = s.execute(select(SyncAlias.loser_id, SyncAlias.survivor_id).where(SyncAlias.table_name == "participants")).all()
    alias = dict(rows)
    return {loser: _follow(alias, loser) for loser in alias}


def _follow(alias: dict[str, str], pid: str) -> str:
    seen = set()
    while pid in alias and pid not in seen:
        seen.add(pid)
        pid = alias[pid]
    return pid


def _rekeyed(hours: dict[str, Decimal], alias: dict[str, str]) -> dict[str, Decimal]:
    if not alias:
        return hours
    out: dict[str, Decimal] = {}
    for pid, h in hours.items():
        key = alias.get(pid, pid)
        out[key] = out.get(key, ZERO) + h
    return out


def _differences(diffs: Iterable[tuple[str, Decimal, Decimal]], people: dict[str, tuple]) -> tuple[Difference, ...]:
    out = []
    for pid, before, after in diffs:
        name, pnr = people.get(pid, UNKNOWN_PERSON)
        out.append(Difference(pid, name, masked(pnr), before, after))
    return tuple(sorted(out, key=lambda d: (d.name.casefold(), d.participant_id)))


def _rekeyed_figures(figures: dict, alias: dict[str, str]) -> dict:
    data = figures.get("participant_data")
    if not alias or not data:
        return figures
    return {**figures, "participant_data": {alias.get(pid, pid): v for pid, v in data.items()}}


# --- erasure (GDPR): the totals as sent stay, the person goes ---------------------------------

ERASED = "erased"  # in a close's figures: what erased people counted for, without them
# figures that follow from the others (and from the unit cost): not compared once people are erased
DERIVED = ("organisations", "hours_per_participant", "hours_per_organisation", "co_financing",
           "co_financing_by_organisation_type")


def _cents(value) -> Decimal:
    return Decimal(value or "0").quantize(Decimal("0.01"))


def without_people(hours: dict[str, str], figures: dict, pids: set[str]) -> tuple[dict, dict] | None:
    """A close's hours and figures (as stored, JSON) without these people's own entries (app/gdpr/
    erasure.py): the totals stay as they were sent, and what the people counted for is kept, summed
    and without any id, under ERASED, so that the status can still compare. None when the close
    names none of them."""
    data = figures.get("participant_data") or {}
    gone = {pid for pid in pids if pid in hours or pid in data}
    if not gone:
        return None
    erased = json.loads(_dumps(figures.get(ERASED) or {
        "participants": 0, "hours": "0.00", "women": 0, "men": 0, "hours_by_organisation": {}, "hours_by_organisation_type": {}}))
    for pid in sorted(gone):
        h, person = _cents(hours.get(pid)), data.get(pid) or {}
        erased["participants"] += 1
        erased["hours"] = str(_cents(erased["hours"]) + h)
        erased["women"] += person.get("gender") == "K"
        erased["men"] += person.get("gender") == "M"
        if person.get("organisation"):  # only people with an employer count per organisation (figures_of)
            for key, value in (("hours_by_organisation", person["organisation"]), ("hours_by_organisation_type", person.get("organisation_type") or "")):
                erased[key][value] = str(_cents(erased[key].get(value)) + h)
    return ({pid: h for pid, h in hours.items() if pid not in gone},
            {**figures, "participant_data": {pid: v for pid, v in data.items() if pid not in gone}, ERASED: erased})


def _less_erased(figures: dict) -> dict:
    """A close's figures as today's would be without the people erased since (their sums taken off)."""
    erased = figures.get(ERASED)
    if not erased:
        return figures
    out = {k: v for k, v in figures.items() if k not in DERIVED and k != ERASED}
    for key in ("participants", "women", "men"):
        out[key] = (figures.get(key) or 0) - erased[key]
    out["hours"] = str(_cents(figures.get("hours")) - _cents(erased["hours"]))
    for key in ("hours_by_organisation", "hours_by_organisation_type"):
        left = {k: _cents(v) - _cents(erased[key].get(k)) for k, v in (figures.get(key) or {}).items()}
        # an organisation, and the type "" (no type set), is listed only while someone counts for it
        out[key] = {k: str(v) for k, v in left.items() if v or (key == "hours_by_organisation_type" and k)}
    return out


def _comparable(was: dict, now: dict) -> tuple[dict, dict]:
    if ERASED not in was:
        return was, now
    return _less_erased(was), {k: v for k, v in now.items() if k not in DERIVED}


def _figure_changes(before: dict, after: dict) -> tuple[FigureChange, ...]:
    """The figures that differ; of a mapping (per participant, per organisation), the entries that differ."""
    out = []
    for k in sorted(set(before) | set(after)):
        b, a = before.get(k), after.get(k)
        if b == a:
            continue
        if isinstance(b, dict) and isinstance(a, dict):
            keys = [key for key in sorted(set(b) | set(a)) if b.get(key) != a.get(key)]
            b, a = {key: b.get(key) for key in keys}, {key: a.get(key) for key in keys}
        out.append(FigureChange(k, b, a))
    return tuple(out)


def hours_text(value: Decimal, lang: str | None = None) -> str:
    """Hours as the documents print them: one decimal, in the language's own way ('7,5')."""
    return _hours_text(value, lang or current_language())


@lru_cache(maxsize=4096)  # a month has few distinct values; the control report prints thousands
def _hours_text(value: Decimal, lang: str) -> str:
    from app.i18n import format_decimal

    return format_decimal(value, 1, lang)


def masked(pnr: str) -> str:
    """Birth date and -****; '' for a number that cannot be masked."""
    try:
        return mask_personal_number(pnr)
    except ValueError:
        return ""


@contextmanager
def _without_gc():
    """The status builds some hundred thousand short-lived objects without reference cycles (the
    figures of every closed month); the cycle collector would walk them again and again (about a
    third of the time on the large programme)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


CHECK_VERSION = 1  # raise when what a check holds or how the figures are computed changes


def _check_row(month: str, seen: dict[str, int], close_id: str, hours: str, attended: list, differences: list,
               changes: list) -> dict:
    return dict(month=month, stamp=seen.get(month, 0), every=seen.get(month_stamps.EVERY, 0), version=CHECK_VERSION,
                close_id=close_id, hours=hours, attended=_dumps(attended), differences=_dumps(differences),
                figure_changes=_dumps(changes))


def _current_data(check: MonthCheck, seen: dict[str, int]) -> bool:
    """Nothing that feeds the month changed since the check was computed."""
    return (check.version == CHECK_VERSION and check.stamp == seen.get(check.month, 0)
            and check.every == seen.get(month_stamps.EVERY, 0))


def _valid(check: MonthCheck | None, seen: dict[str, int], latest: _Latest | None) -> bool:
    return check is not None and _current_data(check, seen) and check.close_id == (latest.id if latest else "")


def _known_attended(s, checks: Iterable[MonthCheck], seen: dict[str, int]) -> dict[str, set[str]]:
    return {c.month: set(json.loads(c.attended)) for c in checks if _current_data(c, seen)}


def _store_checks(s, rows: list[dict]) -> None:
    t = MonthCheck.__table__
    s.execute(delete(t).where(t.c.month.in_([r["month"] for r in rows])))
    s.execute(insert(t), rows)


def _save_checks(db: Database, rows: list[dict]) -> None:
    """Keep what the status computed; another process holding the write lock only means the next
    status computes it again."""
    try:
        with db.write() as s:
            _store_checks(s, rows)
    except DatabaseBusy:
        log.debug("month checks not kept: the database is busy")


def _compute_checks(s, stale: list[Month], latest: dict[str, _Latest], seen: dict[str, int], alias: dict[str, str],
                    rounding: str, project, known: dict[str, set[str]]) -> list[dict]:
    """Today's hours of the stale months and, for the closed ones, the differences from their
    latest close."""
    closed = [m.key for m in stale if m.key in latest]
    totals, figures, attended = current(s, stale, closed, rounding, project, known)
    recorded = {rid: (hours, figs) for rid, hours, figs in s.execute(
        select(MonthClose.id, MonthClose.hours, MonthClose.figures).where(MonthClose.id.in_([latest[k].id for k in closed])))}
    rows = []
    for m in stale:
        now = totals.get(m.key, {})
        diffs: list = []
        changes: list = []
        close = latest.get(m.key)
        if close is not None:
            hours, figs = recorded[close.id]
            before = _rekeyed({pid: Decimal(h) for pid, h in json.loads(hours or "{}").items()}, alias)
            diffs = sorted([pid, str(before.get(pid, ZERO)), str(now.get(pid, ZERO))]
                           for pid in set(before) | set(now) if before.get(pid, ZERO) != now.get(pid, ZERO))
            was = _rekeyed_figures(json.loads(figs or "{}"), alias)
            changes = [[c.key, c.before, c.after] for c in _figure_changes(*_comparable(was, figures[m.key]))]
        rows.append(_check_row(m.key, seen, close.id if close else "", _dumps({pid: str(h) for pid, h in now.items()}),
                               attended[m.key], diffs, changes))
    return rows


def month_status(db: Database, *, today: date | None = None) -> list[MonthStatus]:
    """Every month of the project, oldest first: open, closed (when, by whom) or changed after
    close (with the differences), whether it must be sent to SCB (again), SCB's deadline, and
    the originals received and missing. A month is computed again only when something that feeds
    it changed since the status last computed it (app/services/month_stamps.py)."""
    from app.services.settings import get_project_settings

    today = today or date.today()
    with db.read() as s, _without_gc():
        seen = month_stamps.stamps(s)  # first: what this reads is at least as new as these stamps
        months = project_months(db)
        rounding = current_rounding(db)
        project = get_project_settings(db)
        latest = _latest_closes(s)
        checks = {c.month: c for c in s.execute(select(MonthCheck)).scalars()}
        alias = _aliases(s)
        stale = [m for m in months if not _valid(checks.get(m.key), seen, latest.get(m.key))]
        known = _known_attended(s, checks.values(), seen) if stale else {}
        fresh = _compute_checks(s, stale, latest, seen, alias, rounding, project, known) if stale else []
        kept = {m: (c.hours, c.differences, c.figure_changes) for m, c in checks.items()}
        kept.update({r["month"]: (r["hours"], r["differences"], r["figure_changes"]) for r in fresh})
        hours_of = {m.key: json.loads(kept[m.key][0]) for m in months}
        diffs_of = {m.key: [(pid, Decimal(b), Decimal(a)) for pid, b, a in json.loads(kept[m.key][1])] for m in months}
        originals: dict[str, set[str]] = defaultdict(set)
        for pid, key in s.execute(
            select(OriginalReceived.participant_id, OriginalReceived.month).where(OriginalReceived.deleted_at.is_(None))
        ):
            originals[key].add(alias.get(pid, pid))
        people = people_info(s, {pid for diffs in diffs_of.values() for pid, _b, _a in diffs})
    if fresh:
        _save_checks(db, fresh)
    result = []
    resend_from: str | None = None
    for m in months:
        now = hours_of[m.key]
        got = originals.get(m.key, set())
        common = dict(
            month=m.key, due=scb_due(m),
            originals_received=len(got), originals_missing=sum(1 for pid in now if pid not in got),
        )
        close = latest.get(m.key)
        if close is None:
            result.append(MonthStatus(state=OPEN, overdue=scb_due(m) < today, **common))
            continue
        differences = _differences(diffs_of[m.key], people)
        changes = tuple(FigureChange(k, b, a) for k, b, a in json.loads(kept[m.key][2]))
        changed = bool(differences or changes)
        if changed and resend_from is None:
            resend_from = m.key
        result.append(MonthStatus(
            state=CHANGED if changed else CLOSED, closed_at=close.closed_at, closed_by=close.closed_by,
            versions=close.versions, resend=resend_from is not None, differences=differences,
            figure_changes=changes, **common,
        ))
    return result


def months_to_resend(statuses: Iterable[MonthStatus]) -> list[str]:
    return [st.month for st in statuses if st.resend]


# --- before saving: which closed months a change alters -------------------------------------


@dataclass(frozen=True)
class Impact:
    """Closed months a pending change alters, and the months that must then go to SCB again."""

    closed: tuple[str, ...] = ()
    resend: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.closed)

    def message(self, lang: str | None = None) -> str:
        """'oktober 2026 är stängd och redovisad; ändringen gör att oktober och november måste
        skickas om till SCB' (empty when the change alters no closed month)."""
        if not self.closed:
            return ""
        lang = lang or current_language()
        t = lambda msg: translate_in(lang, msg)  # noqa: E731
        closed = _join([to_month(k).label(lang) for k in self.closed], lang)
        resend = _join([_month_word(k, lang) for k in self.resend], lang)
        if len(self.closed) == 1:
            text = t(N_("{months} is closed and reported; the change means that {resend} must be sent to SCB again."))
        else:
            text = t(N_("{months} are closed and reported; the change means that {resend} must be sent to SCB again."))
        return text.format(months=closed, resend=resend)


def _month_word(key: str, lang: str) -> str:
    from app.i18n import month_name

    m = to_month(key)
    return month_name(m.month, lang)


def _join(items: list[str], lang: str) -> str:
    from babel.lists import format_list

    from app.i18n import locale_name

    return format_list(items, locale=locale_name(lang)) if items else ""


def impact_on(db: Database, months: Iterable[str | Month]) -> Impact:
    """The closed months among `months` (that a change alters), and every closed month from the
    earliest of them on (what SCB must get again)."""
    keys = {to_month(m).key for m in months}
    closed = closed_months(db)
    touched = tuple(k for k in closed if k in keys)
    if not touched:
        return Impact()
    return Impact(touched, tuple(k for k in closed if k >= touched[0]))


def _session_row(s, session_id: str) -> CourseSession:
    ses = s.get(CourseSession, session_id)
    if ses is None:
        raise NotFound(_("The session was not found."))
    return ses


def impact_of_mark(db: Database, session_id: str, participant_id: str, status: str | None, minutes: int | None) -> Impact:
    """A mark about to be saved (status None: removed): does it alter a closed month's hours?"""
    if not closed_months(db):  # the usual case, asked on every mark: one small query
        return Impact()
    with db.read() as s:
        ses = _session_row(s, session_id)
        old = s.execute(
            select(Attendance.status, Attendance.minutes).where(
                Attendance.session_id == session_id, Attendance.participant_id == participant_id, Attendance.deleted_at.is_(None)
            )
        ).first()
        scheduled = ses.minutes
        before = rules.attended_minutes(old[0], old[1], scheduled, ses.cancelled) if old else 0
        after = rules.attended_minutes(status, minutes, scheduled, ses.cancelled)
        day = ses.date
    return impact_on(db, [month_of(day)]) if before != after else Impact()


def impact_of_all_present(db: Database, session_id: str) -> Impact:
    """"All present" about to be pressed on a session: a closed month is altered only when
    someone would be newly marked present (a cancelled session gives no hours; marking it is refused)."""
    from app.services.attendance import unmarked_participants

    with db.read() as s:
        ses = _session_row(s, session_id)
        if ses.cancelled or not unmarked_participants(s, ses):
            return Impact()
        day = ses.date
    return impact_on(db, [month_of(day)])


def impact_of_session(db: Database, session_id: str, *, day: date | str | None = None, start: time | str | None = None,
                      end: time | str | None = None, cancelled: bool | None = None) -> Impact:
    """A session's date, times or cancellation about to change (None: unchanged; text as the form
    has it): the closed months whose hours it alters (the old and the new date's month). A value
    that does not parse alters nothing here: saving it reports the problem."""
    from app.validation import FieldError, parse_date, parse_time

    with db.read() as s:
        ses = _session_row(s, session_id)
        marks = s.execute(
            select(Attendance.status, Attendance.minutes).where(Attendance.session_id == session_id, Attendance.deleted_at.is_(None))
        ).all()
        old_day, old_start, old_end, old_cancelled = ses.date, ses.start_time, ses.end_time, ses.cancelled
    try:
        day = old_day if day is None else parse_date(day) if isinstance(day, str) else day
        start = old_start if start is None else parse_time(start) if isinstance(start, str) else start
        end = old_end if end is None else parse_time(end) if isinstance(end, str) else end
    except FieldError:
        return Impact()
    cancelled = old_cancelled if cancelled is None else cancelled
    old_min, new_min = rules.session_minutes(old_start, old_end), rules.session_minutes(start, end)
    before = [rules.attended_minutes(st, mi, old_min, old_cancelled) for st, mi in marks]
    after = [rules.attended_minutes(st, mi, new_min, cancelled) for st, mi in marks]
    if not any(before) and not any(after):
        return Impact()
    if month_of(old_day) != month_of(day):
        return impact_on(db, [month_of(old_day), month_of(day)])
    return impact_on(db, [month_of(day)]) if before != after else Impact()


def impact_of_rounding(db: Database, rounding: str) -> Impact:
    """The rounding rule about to change: the closed months whose hours it alters."""
    closed = [to_month(k) for k in closed_months(db)]
    if not closed or rounding == current_rounding(db):
        return Impact()
    with db.read() as s:
        now = month_totals(s, closed, current_rounding(db))
        new = month_totals(s, closed, rounding)
    return impact_on(db, [m for m in closed if now[m.key] != new[m.key]])


# what the summary or SCB's block shows of a participant / an organisation
PARTICIPANT_FIELDS = ("first_name", "last_name", "personal_number", "gender", "company_id", "project_start",
                      "project_end", "exit_reason", "formal_qualification", "exit_status", "employment_terms",
                      "employment_extent")
COMPANY_FIELDS = ("name", "org_number", "organisation_type")


def _alters(s, model, validated, record_id: str, data, fields) -> bool:
    """Would saving `data` (a form's pending values) change one of `fields` of the record? Values
    the service would refuse change nothing here: saving them reports the problem."""
    from app.errors import ValidationError

    row = s.get(model, record_id)
    if row is None:
        return False
    try:
        values = validated(s, data, record_id)
    except (ValidationError, UserError):
        return False
    before = {key: getattr(row, key) for key in fields}
    after = {**before, **{key: values[key] for key in fields if key in values}}
    if "gender" in fields:  # the summary shows the gender the personal number gives when none is stored
        for side in (before, after):
            side["gender"] = reports._gender(side["gender"] or "", side["personal_number"])
    return before != after


def impact_of_participant(db: Database, participant_id: str, data=None) -> Impact:
    """A participant's employer or project data about to change: the closed months that reported
    them (hours in the latest version). With `data` (the form's ParticipantData) only when it
    changes something the summary shows of them (name, personal number, gender, employer,
    project data), not an e-mail address."""
    from app.services.participants import _validated

    with db.read() as s:
        if data is not None and not _alters(s, Participant, _validated, participant_id, data, PARTICIPANT_FIELDS):
            return Impact()
        closes = _latest_hours(s)
    return impact_on(db, [k for k, hours in closes.items() if participant_id in hours])


def impact_of_company(db: Database, company_id: str, data=None) -> Impact:
    """A company's name, organisation number or type about to change: the closed months with hours
    of its staff. With `data` (the form's CompanyData) only when one of those changes."""
    from app.services.companies import _validated

    with db.read() as s:
        if data is not None and not _alters(s, Company, _validated, company_id, data, COMPANY_FIELDS):
            return Impact()
        staff = set(s.execute(select(Participant.id).where(Participant.company_id == company_id)).scalars())
        closes = _latest_hours(s)
    return impact_on(db, [k for k, hours in closes.items() if staff & set(hours)])
