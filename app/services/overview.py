"""What is due: the overview page's data, in one read.

- sessions in the next 7 days (with their enrolled count, for the sign-in sheets);
- past sessions (not cancelled, in the last RECENT_DAYS) of courses with participants, without
  any attendance mark;
- finished courses (last session in the last RECENT_DAYS) with eligible participants who have no
  valid certificate;
- signed originals still missing for the last ORIGINALS_MONTHS months;
- the next SCB deadline (a month is reported "inom fyra veckor efter avslutad månad", SCB);
- sync state, duplicate certificates and changes that could not be applied.

Everything is counted here, as plain data; the page only shows it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.models import Attendance, Certificate, Course, CourseSession, Enrollment, OriginalReceived, SyncAudit
from app.rules import attended_minutes, is_eligible, session_minutes

UPCOMING_DAYS = 7
RECENT_DAYS = 92  # what is still due; older gaps are the reports' business (and cost a full scan)
ORIGINALS_MONTHS = 3
SCB_DAYS_AFTER_MONTH = 28  # "inom fyra veckor efter avslutad månad"
LIST_LIMIT = 50  # lines per section; the count says how many there are in all
ATTENDING = ("enrolled", "completed")


@dataclass(frozen=True)
class SessionDue:
    session_id: str
    course_id: str
    code: str
    title: str
    date: date
    start: str
    end: str
    participants: int


@dataclass(frozen=True)
class CourseDue:
    course_id: str
    code: str
    title: str
    last_date: date
    eligible_without_certificate: int


@dataclass(frozen=True)
class MonthDue:
    month: str  # YYYY-MM
    missing: int


@dataclass(frozen=True)
class SyncDue:
    set_up: bool
    partners: int
    pending_changes: int
    open_conflicts: int
    last_sync: datetime | None  # UTC
    duplicates: int
    parked: int


@dataclass(frozen=True)
class Overview:
    today: date
    upcoming: list[SessionDue] = field(default_factory=list)
    unmarked: list[SessionDue] = field(default_factory=list)
    unmarked_total: int = 0
    uncertified: list[CourseDue] = field(default_factory=list)
    originals: list[MonthDue] = field(default_factory=list)
    scb_month: str = ""
    scb_deadline: date | None = None
    sync: SyncDue | None = None


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def previous_months(today: date, n: int) -> list[str]:
    """The n months before today's month, the latest first."""
    out, y, m = [], today.year, today.month
    for _ in range(n):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        out.append(f"{y:04d}-{m:02d}")
    return out


def next_scb_deadline(today: date) -> tuple[str, date]:
    """The month whose SCB report is due next and its last day: four weeks after the month ends.
    Until the previous month's deadline has passed, that month; after it, this month's."""
    y, m = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    deadline = _month_end(y, m) + timedelta(days=SCB_DAYS_AFTER_MONTH)
    if today <= deadline:
        return f"{y:04d}-{m:02d}", deadline
    return month_key(today), _month_end(today.year, today.month) + timedelta(days=SCB_DAYS_AFTER_MONTH)


def _session_rows(s: Session, where: tuple[Any, ...], limit: int | None) -> list[SessionDue]:
    enrolled = (
        select(func.count())
        .where(Enrollment.course_id == CourseSession.course_id, Enrollment.status.in_(ATTENDING),
               Enrollment.deleted_at.is_(None))
        .scalar_subquery()
    )
    stmt = (
        select(CourseSession.id, Course.id, Course.code, Course.title, CourseSession.date,
               CourseSession.start_time, CourseSession.end_time, enrolled)
        .join(Course, Course.id == CourseSession.course_id)
        .where(CourseSession.deleted_at.is_(None), Course.deleted_at.is_(None), ~CourseSession.cancelled, *where)
        .order_by(CourseSession.date, CourseSession.start_time, Course.code)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        SessionDue(sid, cid, code, title, day, start.strftime("%H:%M"), end.strftime("%H:%M"), n)
        for sid, cid, code, title, day, start, end, n in s.execute(stmt)
    ]


def _unmarked_where(today: date) -> tuple[Any, ...]:
    has_people = exists().where(Enrollment.course_id == CourseSession.course_id, Enrollment.status.in_(ATTENDING),
                                Enrollment.deleted_at.is_(None))
    has_marks = exists().where(Attendance.session_id == CourseSession.id, Attendance.deleted_at.is_(None))
    return (CourseSession.date < today, CourseSession.date >= today - timedelta(days=RECENT_DAYS), has_people, ~has_marks)


def _uncertified(s: Session, today: date) -> list[CourseDue]:
    since = today - timedelta(days=RECENT_DAYS)
    run = s.connection().execute  # plain rows: this reads every mark of the recent courses
    last = (
        select(CourseSession.course_id, func.max(CourseSession.date).label("last"))
        .where(CourseSession.deleted_at.is_(None), ~CourseSession.cancelled)
        .group_by(CourseSession.course_id)
        .subquery()
    )
    courses = run(
        select(Course.id, Course.code, Course.title, Course.min_attendance_percent, last.c.last)
        .join(last, last.c.course_id == Course.id)
        .where(Course.deleted_at.is_(None), last.c.last < today, last.c.last >= since)
    ).all()
    if not courses:
        return []
    ids = [c[0] for c in courses]
    sessions = run(
        select(CourseSession.id, CourseSession.course_id, CourseSession.start_time, CourseSession.end_time)
        .where(CourseSession.course_id.in_(ids), CourseSession.deleted_at.is_(None), ~CourseSession.cancelled)
    ).all()
    minutes = {sid: session_minutes(start, end) for sid, _c, start, end in sessions}
    course_of = {sid: cid for sid, cid, _s, _e in sessions}
    scheduled: dict[str, int] = defaultdict(int)
    for sid, cid in course_of.items():
        scheduled[cid] += minutes[sid]
    attended: dict[tuple[str, str], int] = defaultdict(int)
    for sid, pid, status, mins in run(
        select(Attendance.session_id, Attendance.participant_id, Attendance.status, Attendance.minutes)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(CourseSession.course_id.in_(ids), Attendance.deleted_at.is_(None))
    ):
        if sid in course_of:
            attended[(course_of[sid], pid)] += attended_minutes(status, mins, minutes[sid])
    certified = {(cid, pid) for cid, pid in run(
        select(Certificate.course_id, Certificate.participant_id)
        .where(Certificate.course_id.in_(ids), Certificate.revoked_on.is_(None), Certificate.deleted_at.is_(None))
    )}
    people: dict[str, list[str]] = defaultdict(list)
    for cid, pid in run(
        select(Enrollment.course_id, Enrollment.participant_id)
        .where(Enrollment.course_id.in_(ids), Enrollment.status.in_(ATTENDING), Enrollment.deleted_at.is_(None))
    ):
        people[cid].append(pid)
    out = []
    for cid, code, title, min_percent, last_day in courses:
        n = sum(1 for pid in people[cid] if (cid, pid) not in certified
                and is_eligible(attended[(cid, pid)], scheduled[cid], min_percent))
        if n:
            out.append(CourseDue(cid, code, title, last_day, n))
    out.sort(key=lambda c: (c.last_date, c.code), reverse=True)
    return out


def _sync(db: Database) -> SyncDue:
    from app.services.certificates import duplicate_certificates
    from app.sync.status import overview as sync_overview
    from app.sync.status import parked_changes

    info = sync_overview(db)
    with db.read() as s:  # the last sync event of any kind (UTC)
        last = s.scalar(select(func.max(SyncAudit.at)))
    return SyncDue(
        set_up=bool(info.folder or info.partners),
        partners=len(info.partners),
        pending_changes=info.pending_changes,
        open_conflicts=info.open_conflicts,
        last_sync=last if isinstance(last, datetime) else None,
        duplicates=len(duplicate_certificates(db)),
        parked=len(parked_changes(db)),
    )


def _originals_missing(s: Session, months: list[str], rounding: str) -> list[MonthDue]:
    """Per month, the participants with a time report whose signed original has not come back (as
    originals.missing_originals counts them), from one reading of the months' marks."""
    from app.services.month_close import month_totals
    from app.services.reports import to_month

    totals = month_totals(s, [to_month(m) for m in months], rounding)
    received: dict[str, set[str]] = defaultdict(set)
    for pid, month in s.execute(select(OriginalReceived.participant_id, OriginalReceived.month)
                                .where(OriginalReceived.month.in_(months), OriginalReceived.deleted_at.is_(None))):
        received[month].add(pid)
    return [MonthDue(m, sum(1 for pid in totals.get(m, {}) if pid not in received[m])) for m in months]


def due(db: Database, today: date | None = None) -> Overview:
    from app.services.month_close import current_rounding

    today = today or date.today()
    rounding = current_rounding(db)
    with db.read() as s:
        upcoming = _session_rows(s, (CourseSession.date >= today, CourseSession.date < today + timedelta(days=UPCOMING_DAYS)), None)
        where = _unmarked_where(today)
        unmarked = _session_rows(s, where, LIST_LIMIT)
        unmarked_total = s.scalar(
            select(func.count()).select_from(CourseSession).join(Course, Course.id == CourseSession.course_id)
            .where(CourseSession.deleted_at.is_(None), Course.deleted_at.is_(None), ~CourseSession.cancelled, *where)
        ) or 0
        uncertified = _uncertified(s, today)
        originals = _originals_missing(s, previous_months(today, ORIGINALS_MONTHS), rounding)
    # the latest first: the sessions most likely still to be typed in
    unmarked.sort(key=lambda r: (r.date, r.start), reverse=True)
    scb_month, scb_deadline = next_scb_deadline(today)
    return Overview(
        today=today,
        upcoming=upcoming,
        unmarked=unmarked,
        unmarked_total=unmarked_total,
        uncertified=uncertified[:LIST_LIMIT],
        originals=[o for o in originals if o.missing],
        scb_month=scb_month,
        scb_deadline=scb_deadline,
        sync=_sync(db),
    )
