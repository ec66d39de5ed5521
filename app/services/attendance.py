"""Attendance: the register of a course (participants by sessions), marks, and the per-participant
summaries that certificates, reports and the window use.

Every rule comes from app.rules (scheduled minutes, attended minutes of a mark, eligibility,
whether the minimum can still be reached); this module only gathers the data. Reads are plain
column selects (no ORM objects), so a course of 300 participants by 60 sessions opens quickly.

`remaining_minutes` of a participant is the scheduled minutes of the non-cancelled sessions dated
today or later that have no mark for them yet: the most they could still attend. A session that
already has a mark (a known absence, or an early "present") counts through its mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, func, insert, select

from app import rules
from app.db import Database
from app.errors import NotFound, Problem, ValidationError
from app.i18n import _, sort_key
from app.limits import check_record
from app.models import (
    ATTENDANCE_STATUSES,
    Attendance,
    Certificate,
    Company,
    Course,
    CourseSession,
    Enrollment,
    Participant,
    attendance_id,
    utcnow,
)
from app.validation import birth_date_from_personal_number, mask_personal_number

#: enrollment statuses that take part in a course (the register, sign-in sheets, summaries)
ACTIVE_STATUSES = ("enrolled", "completed")


# --- plain data -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ParticipantAttendance:
    participant_id: str
    enrollment_id: str
    first_name: str
    last_name: str
    full_name: str
    masked_personal_number: str
    birth_date: date | None
    company_name: str
    enrollment_status: str
    scheduled_minutes: int
    attended_minutes: int
    remaining_minutes: int
    percent: float  # 0..100
    eligible: bool
    can_still_reach: bool


@dataclass(frozen=True)
class ParticipantCourse:
    course_id: str
    code: str
    title: str
    enrollment_status: str
    scheduled_minutes: int
    attended_minutes: int
    percent: float
    eligible: bool
    certificates: int  # issued and not revoked


@dataclass(frozen=True)
class CourseInfo:
    id: str
    code: str
    title: str
    location: str
    teacher: str
    min_attendance_percent: int


@dataclass(frozen=True)
class SessionRow:
    id: str
    date: date
    start: time
    end: time
    minutes: int
    cancelled: bool
    location: str = ""
    teacher: str = ""


@dataclass(frozen=True)
class Mark:
    status: str
    minutes: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Totals:
    scheduled_minutes: int
    attended_minutes: int
    remaining_minutes: int
    percent: float
    eligible: bool
    can_still_reach: bool


@dataclass(frozen=True)
class Register:
    course: CourseInfo
    sessions: list[SessionRow]  # by date and start time
    participants: list[ParticipantAttendance]  # by last name, first name
    marks: dict[tuple[str, str], Mark]  # (session_id, participant_id) -> mark


# --- pure helpers -----------------------------------------------------------------------------

def name_key(value: str) -> str | bytes:
    """The Swedish sort key of a name (app/i18n.py's one collation)."""
    return sort_key(value)


def participant_sort_key(last_name: str, first_name: str) -> tuple[str | bytes, str | bytes]:
    return (name_key(last_name), name_key(first_name))


def summarize(
    sessions: Sequence[SessionRow],
    marks: Mapping[str, Mark],
    min_percent: int,
    today: date | None = None,
) -> Totals:
    """One participant's totals over a course's sessions; `marks` by session id."""
    today = today or date.today()
    scheduled = attended = remaining = 0
    get = marks.get
    for session in sessions:
        if session.cancelled:
            continue
        length = session.minutes
        scheduled += length
        mark = get(session.id)
        if mark is None:
            if session.date >= today:
                remaining += length
            continue
        attended += rules.attended_minutes(mark.status, mark.minutes, length, False)
    return Totals(
        scheduled_minutes=scheduled,
        attended_minutes=attended,
        remaining_minutes=remaining,
        percent=100.0 * rules.attendance_ratio(attended, scheduled),
        eligible=rules.is_eligible(attended, scheduled, min_percent),
        can_still_reach=rules.can_still_reach(attended, remaining, scheduled, min_percent),
    )


def _birth_date(pnr: str) -> date | None:
    try:
        return birth_date_from_personal_number(pnr)
    except Exception:  # a stored number that is not a valid date: show no birth date
        return None


def _masked(pnr: str) -> str:
    try:
        return mask_personal_number(pnr)
    except Exception:
        return ""


# --- reads ------------------------------------------------------------------------------------

def _course_info(s, course_id: str) -> CourseInfo:
    row = s.execute(
        select(
            Course.id, Course.code, Course.title, Course.location, Course.teacher, Course.min_attendance_percent
        ).where(Course.id == course_id, Course.deleted_at.is_(None))
    ).first()
    if row is None:
        raise NotFound(_("The course does not exist."))
    return CourseInfo(row[0], row[1], row[2], row[3] or "", row[4] or "", int(row[5]))


def _sessions(s, course_id: str) -> list[SessionRow]:
    rows = s.execute(
        select(
            CourseSession.id,
            CourseSession.date,
            CourseSession.start_time,
            CourseSession.end_time,
            CourseSession.cancelled,
            CourseSession.location,
            CourseSession.teacher,
        )
        .where(CourseSession.course_id == course_id, CourseSession.deleted_at.is_(None))
        .order_by(CourseSession.date, CourseSession.start_time)
    ).all()
    return [
        SessionRow(r[0], r[1], r[2], r[3], rules.session_minutes(r[2], r[3]), bool(r[4]), r[5] or "", r[6] or "")
        for r in rows
    ]


def _people(s, course_id: str):
    return s.execute(
        select(
            Participant.id,
            Enrollment.id,
            Participant.first_name,
            Participant.last_name,
            Participant.personal_number,
            Company.name,
            Enrollment.status,
        )
        .join(Participant, Participant.id == Enrollment.participant_id)
        .outerjoin(Company, and_(Company.id == Participant.company_id, Company.deleted_at.is_(None)))
        .where(
            Enrollment.course_id == course_id,
            Enrollment.deleted_at.is_(None),
            Enrollment.status.in_(ACTIVE_STATUSES),
            Participant.deleted_at.is_(None),
        )
    ).all()


def _marks(s, course_id: str) -> dict[tuple[str, str], Mark]:
    a, cs = Attendance.__table__.c, CourseSession.__table__.c
    # a Core select on the session's connection: no ORM row processing for ~20,000 rows
    rows = s.connection().execute(
        select(a.session_id, a.participant_id, a.status, a.minutes, a.note)
        .join(CourseSession.__table__, cs.id == a.session_id)
        .where(cs.course_id == course_id, cs.deleted_at.is_(None), a.deleted_at.is_(None))
    ).all()
    shared: dict[tuple, Mark] = {}  # most marks are alike ("present", whole session): share them
    out = {}
    for session_id, participant_id, status, minutes, note in rows:
        key = (status, minutes, note or "")
        mark = shared.get(key)
        if mark is None:
            mark = shared[key] = Mark(*key)
        out[(session_id, participant_id)] = mark
    return out


def _load(db: Database, course_id: str, today: date | None) -> Register:
    with db.read() as s:
        course = _course_info(s, course_id)
        sessions = _sessions(s, course_id)
        people = _people(s, course_id)
        marks = _marks(s, course_id)
    by_participant: dict[str, dict[str, Mark]] = {}
    for (session_id, participant_id), mark in marks.items():
        by_participant.setdefault(participant_id, {})[session_id] = mark
    participants = []
    for pid, eid, first, last, pnr, company, status in people:
        totals = summarize(sessions, by_participant.get(pid, {}), course.min_attendance_percent, today)
        participants.append(
            ParticipantAttendance(
                participant_id=pid,
                enrollment_id=eid,
                first_name=first,
                last_name=last,
                full_name=f"{first} {last}".strip(),
                masked_personal_number=_masked(pnr),
                birth_date=_birth_date(pnr),
                company_name=company or "",
                enrollment_status=status,
                scheduled_minutes=totals.scheduled_minutes,
                attended_minutes=totals.attended_minutes,
                remaining_minutes=totals.remaining_minutes,
                percent=totals.percent,
                eligible=totals.eligible,
                can_still_reach=totals.can_still_reach,
            )
        )
    participants.sort(key=lambda p: participant_sort_key(p.last_name, p.first_name))
    active = {p.participant_id for p in participants}
    marks = {key: mark for key, mark in marks.items() if key[1] in active}
    return Register(course, sessions, participants, marks)


def course_attendance_summary(db: Database, course_id: str, today: date | None = None) -> list[ParticipantAttendance]:
    """Every enrolled or completed participant of the course with their attendance totals,
    sorted by last name. Raises NotFound for an unknown course."""
    return _load(db, course_id, today).participants


def register(db: Database, course_id: str, today: date | None = None) -> Register:
    """The course's sessions, participants (with totals) and marks, for the register grid."""
    return _load(db, course_id, today)


def participant_course_summaries(db: Database, participant_id: str) -> list[ParticipantCourse]:
    """One row per course the participant is enrolled in (any status), with attendance totals
    and the number of certificates issued (not revoked). Sorted by course code."""
    with db.read() as s:
        enrolled = s.execute(
            select(Course.id, Course.code, Course.title, Course.min_attendance_percent, Enrollment.status)
            .join(Enrollment, Enrollment.course_id == Course.id)
            .where(
                Enrollment.participant_id == participant_id,
                Enrollment.deleted_at.is_(None),
                Course.deleted_at.is_(None),
            )
            .order_by(Course.code)
        ).all()
        course_ids = [r[0] for r in enrolled]
        if not course_ids:
            return []
        session_rows = s.execute(
            select(
                CourseSession.id,
                CourseSession.course_id,
                CourseSession.date,
                CourseSession.start_time,
                CourseSession.end_time,
                CourseSession.cancelled,
            ).where(CourseSession.course_id.in_(course_ids), CourseSession.deleted_at.is_(None))
        ).all()
        mark_rows = s.execute(
            select(Attendance.session_id, Attendance.status, Attendance.minutes, Attendance.note)
            .join(CourseSession, CourseSession.id == Attendance.session_id)
            .where(
                Attendance.participant_id == participant_id,
                Attendance.deleted_at.is_(None),
                CourseSession.course_id.in_(course_ids),
            )
        ).all()
        cert_rows = s.execute(
            select(Certificate.course_id, func.count())
            .where(
                Certificate.participant_id == participant_id,
                Certificate.deleted_at.is_(None),
                Certificate.revoked_on.is_(None),
            )
            .group_by(Certificate.course_id)
        ).all()
    sessions_by_course: dict[str, list[SessionRow]] = {}
    for sid, cid, d, start, end, cancelled in session_rows:
        sessions_by_course.setdefault(cid, []).append(
            SessionRow(sid, d, start, end, rules.session_minutes(start, end), bool(cancelled))
        )
    marks = {r[0]: Mark(r[1], r[2], r[3] or "") for r in mark_rows}
    certificates = dict(cert_rows)
    out = []
    for cid, code, title, min_percent, status in enrolled:
        totals = summarize(sessions_by_course.get(cid, []), marks, int(min_percent))
        out.append(
            ParticipantCourse(
                course_id=cid,
                code=code,
                title=title,
                enrollment_status=status,
                scheduled_minutes=totals.scheduled_minutes,
                attended_minutes=totals.attended_minutes,
                percent=totals.percent,
                eligible=totals.eligible,
                certificates=int(certificates.get(cid, 0)),
            )
        )
    return out


def course_id_by_code(db: Database, code: str) -> str:
    """The course with this code (app/services/lookups.py's one rule)."""
    from app.services.lookups import course_id_by_code as lookup

    return lookup(db, code)


def course_sessions(db: Database, course_id: str) -> list[SessionRow]:
    with db.read() as s:
        _course_info(s, course_id)
        return _sessions(s, course_id)


def course_choices(db: Database) -> list[CourseInfo]:
    """Every course (for the register's course picker), by code."""
    with db.read() as s:
        rows = s.execute(
            select(
                Course.id, Course.code, Course.title, Course.location, Course.teacher, Course.min_attendance_percent
            )
            .where(Course.deleted_at.is_(None))
            .order_by(Course.code)
        ).all()
    return [CourseInfo(r[0], r[1], r[2], r[3] or "", r[4] or "", int(r[5])) for r in rows]


# --- writes -----------------------------------------------------------------------------------

def _live_session(s, session_id: str) -> CourseSession:
    session = s.get(CourseSession, session_id)
    if session is None or session.deleted_at is not None:
        raise NotFound(_("The session does not exist."))
    return session


def _check_enrolled(s, course_id: str, participant_id: str) -> None:
    found = s.execute(
        select(Enrollment.id).where(
            Enrollment.course_id == course_id,
            Enrollment.participant_id == participant_id,
            Enrollment.deleted_at.is_(None),
            Enrollment.status.in_(ACTIVE_STATUSES),
        )
    ).first()
    if found is None:
        raise ValidationError(
            Problem("participant", _("The participant is not enrolled in this course."), "attendance")
        )


def _existing_mark(s, session_id: str, participant_id: str) -> Attendance | None:
    """The row for this session and participant, tombstoned or not (there is at most one)."""
    return s.execute(
        select(Attendance).where(Attendance.session_id == session_id, Attendance.participant_id == participant_id)
    ).scalar_one_or_none()


def set_mark(
    db: Database,
    session_id: str,
    participant_id: str,
    status: str,
    minutes: int | None = None,
    note: str = "",
    *,
    now: datetime | None = None,
) -> Mark:
    """Record (or correct) one mark. A late mark needs its minutes; minutes are 0..the session's
    length; cancelled sessions take no marks; the participant must be enrolled; a session that has
    not started takes no present or late mark (`now`: local time, for tests).
    Minutes given with excused or absent are not kept (they count 0)."""
    problems: list[Problem] = []
    if status not in ATTENDANCE_STATUSES:
        problems.append(Problem("status", _("Unknown attendance status {status}.").format(status=status), "attendance"))
    with db.write() as s:
        session = _live_session(s, session_id)
        length = rules.session_minutes(session.start_time, session.end_time)
        if session.cancelled:
            problems.append(Problem("session", _("The session is cancelled; it takes no attendance."), "attendance"))
        elif status in rules.HOURS_STATUSES and rules.not_started(session.date, session.start_time, now):
            problems.append(Problem("status", rules.future_mark_message(session.date, session.start_time), "attendance"))
        if status == "late" and minutes is None:
            problems.append(Problem("minutes", _("A late arrival needs the minutes attended."), "attendance"))
        if minutes is not None:
            try:
                minutes = int(minutes)
            except (TypeError, ValueError):
                minutes = -1
            if not 0 <= minutes <= length:
                problems.append(
                    Problem(
                        "minutes",
                        _("Minutes must be between 0 and {length}.").format(length=length),
                        "attendance",
                    )
                )
        problems += check_record("attendance", {"note": (note or "").strip()})  # length, control characters
        if problems:
            raise ValidationError(problems)
        _check_enrolled(s, session.course_id, participant_id)
        if status in ("excused", "absent"):
            minutes = None
        note = (note or "").strip()
        row = _existing_mark(s, session_id, participant_id)
        if row is None:
            row = Attendance(id=attendance_id(session_id, participant_id), session_id=session_id,
                             participant_id=participant_id)
            s.add(row)
        row.status = status
        row.minutes = minutes
        row.note = note
        row.deleted_at = None
    return Mark(status, minutes, note)


def clear_mark(db: Database, session_id: str, participant_id: str) -> bool:
    """Remove a mark (a tombstone, so the removal syncs). Returns whether there was one."""
    with db.write() as s:
        row = _existing_mark(s, session_id, participant_id)
        if row is None or row.deleted_at is not None:
            return False
        row.deleted_at = utcnow()
        return True


def unmarked_participants(s, session: CourseSession) -> list[str]:
    """The active participants of the session's course without a live mark on it: whom "all
    present" marks."""
    marked = select(Attendance.participant_id).where(Attendance.session_id == session.id, Attendance.deleted_at.is_(None))
    return list(s.execute(
        select(Enrollment.participant_id)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(
            Enrollment.course_id == session.course_id,
            Enrollment.deleted_at.is_(None),
            Enrollment.status.in_(ACTIVE_STATUSES),
            Participant.deleted_at.is_(None),
            Enrollment.participant_id.not_in(marked),
        )
    ).scalars())


def mark_all_present(db: Database, session_id: str, *, now: datetime | None = None) -> list[str]:
    """Mark present every active participant of the session's course who has no mark yet (not
    before the session has started). Returns the ids of the participants marked."""
    with db.write() as s:
        session = _live_session(s, session_id)
        if session.cancelled:
            raise ValidationError(
                Problem("session", _("The session is cancelled; it takes no attendance."), "attendance")
            )
        if rules.not_started(session.date, session.start_time, now):
            raise ValidationError(
                Problem("status", rules.future_mark_message(session.date, session.start_time), "attendance")
            )
        existing = {
            row.participant_id: row
            for row in s.execute(select(Attendance).where(Attendance.session_id == session_id)).scalars()
        }
        marked = unmarked_participants(s, session)
        new_rows = []
        for pid in marked:
            row = existing.get(pid)
            if row is None:
                new_rows.append(
                    {"id": attendance_id(session_id, pid), "session_id": session_id, "participant_id": pid,
                     "status": "present", "minutes": None, "note": ""}
                )
            else:
                row.status, row.minutes, row.note, row.deleted_at = "present", None, "", None
        if new_rows:
            s.execute(insert(Attendance), new_rows)
    return marked


def sessions_on(sessions: Iterable[SessionRow], day: date) -> list[SessionRow]:
    return [x for x in sessions if x.date == day]
