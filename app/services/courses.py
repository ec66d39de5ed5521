"""Kurser och kurstillfällen: courses, their sessions, series of sessions that skip Swedish
public holidays, and the course overview (`kursdesk courses`)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.concurrency import check_version
from app.db import Database
from app.errors import NotFound, Problem, ValidationError
from app.i18n import _, current_language, format_date
from app.limits import check_into
from app.models import (
    CERTIFICATE_LANGUAGES,
    Certificate,
    Course,
    CourseSession,
    Enrollment,
    Participant,
    Provider,
    new_id,
    utcnow,
)
from app.rules import session_minutes
from app.services._checks import Checker, alive, clean, frozen_row, identity_net, one_line
from app.services.enrollments import promote_waitlisted
from app.validation import check_time_range, parse_date, parse_time, percent

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Courses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseData:
    code: str
    title: str
    description: str = ""
    learning_outcomes: str = ""
    provider_id: str | None = None
    location: str = ""
    teacher: str = ""
    min_attendance_percent: int | str = 80
    certificate_language: str = "sv"
    capacity: int | str | None = None
    # English texts for English certificates (empty: not translated)
    title_en: str = ""
    description_en: str = ""
    learning_outcomes_en: str = ""


@dataclass(frozen=True)
class SessionRow:
    id: str
    course_id: str
    date: date
    start: time
    end: time
    minutes: int
    location: str
    teacher: str
    cancelled: bool
    version: int = 0  # what a form opened (update_session's `version`)


@dataclass(frozen=True)
class CourseDetail:
    id: str
    data: CourseData
    provider_name: str
    sessions: list[SessionRow]
    version: int = 0  # what a form opened (update_course's `version`)


@dataclass(frozen=True)
class CourseRow:
    id: str
    code: str
    title: str
    status: str  # 'planned' | 'running' | 'finished'
    first_date: date | None
    last_date: date | None
    provider_name: str
    location: str
    enrolled: int
    waitlisted: int
    capacity: int | None
    sessions: int  # not cancelled
    participants: int  # enrolled + completed
    certificates: int  # not revoked

    def as_json(self) -> dict[str, Any]:
        """The row as JSON-safe values (dates as YYYY-MM-DD, None for a course without sessions)."""
        out = asdict(self)
        for key in ("first_date", "last_date"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


COURSE_STATUSES = ("planned", "running", "finished")


def course_status(first: date | None, last: date | None, today: date | None = None) -> str:
    """planned before the first session (or without sessions), finished after the last one,
    running in between (both days included)."""
    today = today or date.today()
    if first is None or last is None or today < first:
        return "planned"
    if today > last:
        return "finished"
    return "running"


@cache
def _overview_query():
    """course_overview's statement, built once (a few milliseconds of SQLAlchemy per call otherwise).
    Each count is one grouped subquery over the live rows' index (migration 0010), joined once."""
    sessions = (
        select(
            CourseSession.course_id,
            func.count().label("n"),
            func.min(CourseSession.date).label("first"),
            func.max(CourseSession.date).label("last"),
        )
        .where(alive(CourseSession), CourseSession.cancelled.is_(False))
        .group_by(CourseSession.course_id)
        .subquery()
    )

    def status_count(status: str):
        return func.sum(case((Enrollment.status == status, 1), else_=0))

    # a participant's tombstone is rare: an anti-join on the few deleted ones, not a join on all
    deleted_participant = (
        select(Participant.id)
        .where(Participant.id == Enrollment.participant_id, Participant.deleted_at.is_not(None))
        .exists()
    )
    enrollments = (
        select(
            Enrollment.course_id,
            status_count("enrolled").label("enrolled"),
            status_count("waitlisted").label("waitlisted"),
            status_count("completed").label("completed"),
        )
        .where(alive(Enrollment), Enrollment.status.in_(("enrolled", "waitlisted", "completed")), ~deleted_participant)
        .group_by(Enrollment.course_id)
        .subquery()
    )
    certificates = (
        select(Certificate.course_id, func.count().label("n"))
        .where(alive(Certificate), Certificate.revoked_on.is_(None))
        .group_by(Certificate.course_id)
        .subquery()
    )
    return (
        select(
            Course.id,
            Course.code,
            Course.title,
            sessions.c.first,
            sessions.c.last,
            func.coalesce(Provider.name, ""),
            Course.location,
            func.coalesce(enrollments.c.enrolled, 0),
            func.coalesce(enrollments.c.waitlisted, 0),
            func.coalesce(enrollments.c.completed, 0),
            Course.capacity,
            func.coalesce(sessions.c.n, 0),
            func.coalesce(certificates.c.n, 0),
        )
        .outerjoin(Provider, (Provider.id == Course.provider_id) & alive(Provider))
        .outerjoin(sessions, sessions.c.course_id == Course.id)
        .outerjoin(enrollments, enrollments.c.course_id == Course.id)
        .outerjoin(certificates, certificates.c.course_id == Course.id)
        .where(alive(Course))
    )


def course_overview(db: Database, today: date | None = None) -> list[CourseRow]:
    """Every course with its dates, status and counts, by code. Counts skip deleted records:
    sessions not cancelled, enrollments of participants that exist, certificates not revoked."""
    today = today or date.today()
    with db.read() as s:
        conn = s.connection()
        if not db.is_sqlite:
            # for this transaction only: the indexes' pages are in memory, not on a spinning disk
            # (the default 4 makes the planner read every row rather than the indexes in order),
            # and counting each course's run of the index in order beats hashing 90,000 rows
            # (measured on the large programme: a third less server time)
            conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
            conn.exec_driver_sql("SET LOCAL enable_hashagg = off")
        found = conn.execute(_overview_query()).all()  # Core rows: no ORM loading
    rows = [
        frozen_row(
            CourseRow,
            id=cid,
            code=code,
            title=title,
            status=course_status(first, last, today),
            first_date=first,
            last_date=last,
            provider_name=provider,
            location=location,
            enrolled=int(enr),
            waitlisted=int(wait),
            capacity=cap,
            sessions=int(n_sessions),
            participants=int(enr) + int(done),
            certificates=int(n_certs),
        )
        for cid, code, title, first, last, provider, location, enr, wait, done, cap, n_sessions, n_certs in found
    ]
    rows.sort(key=lambda r: r.code.casefold())
    return rows


def _session_row(x: CourseSession) -> SessionRow:
    return SessionRow(
        id=x.id,
        course_id=x.course_id,
        date=x.date,
        start=x.start_time,
        end=x.end_time,
        minutes=session_minutes(x.start_time, x.end_time),
        location=x.location,
        teacher=x.teacher,
        cancelled=bool(x.cancelled),
        version=x.version,
    )


def _course_detail(s: Session, course: Course) -> CourseDetail:
    provider = s.get(Provider, course.provider_id) if course.provider_id else None
    data = CourseData(
        code=course.code,
        title=course.title,
        description=course.description,
        learning_outcomes=course.learning_outcomes,
        provider_id=course.provider_id,
        location=course.location,
        teacher=course.teacher,
        min_attendance_percent=course.min_attendance_percent,
        certificate_language=course.certificate_language,
        capacity=course.capacity,
        title_en=course.title_en,
        description_en=course.description_en,
        learning_outcomes_en=course.learning_outcomes_en,
    )
    sessions = s.execute(
        select(CourseSession)
        .where(CourseSession.course_id == course.id, alive(CourseSession))
        .order_by(CourseSession.date, CourseSession.start_time)
    ).scalars()
    return CourseDetail(
        id=course.id,
        data=data,
        provider_name=provider.name if provider is not None and provider.deleted_at is None else "",
        sessions=[_session_row(x) for x in sessions],
        version=course.version,
    )


def get_course(db: Database, course_id: str) -> CourseDetail:
    with db.read() as s:
        course = s.get(Course, course_id)
        if course is None or course.deleted_at is not None:
            raise NotFound(_("The course was not found."))
        return _course_detail(s, course)


def get_course_by_code(db: Database, code: str) -> CourseDetail:
    """The course with this code (upper/lower case alike)."""
    wanted = one_line(code)
    with db.read() as s:
        course = s.execute(
            select(Course).where(func.lower(Course.code) == wanted.lower(), alive(Course))
        ).scalars().first()
        if course is None:
            # SQLite's lower() folds ASCII only: compare the rest in Python
            for candidate in s.execute(select(Course).where(alive(Course))).scalars():
                if candidate.code.casefold() == wanted.casefold():
                    course = candidate
                    break
        if course is None:
            raise NotFound(_("Course {code} not found.").format(code=wanted))
        return _course_detail(s, course)


def _validated_course(s: Session, data: CourseData, course_id: str = "") -> dict:
    check = Checker("course", course_id)
    code = check.limit("code", check.required("code", data.code, _("Enter a course code.")), 40)
    title = check.limit("title", check.required("title", data.title, _("Enter the course title.")), 300)
    min_percent = check.run(percent, data.min_attendance_percent, "min_attendance_percent")
    language = one_line(data.certificate_language).lower()
    if language not in CERTIFICATE_LANGUAGES:
        check.add("certificate_language", _("The certificate language must be Swedish (sv) or English (en)."))
    capacity = _capacity(check, data.capacity)
    location = check.limit("location", one_line(data.location), 200)
    teacher = check.limit("teacher", one_line(data.teacher), 200)
    provider_id = data.provider_id or None
    if provider_id is not None:
        provider = s.get(Provider, provider_id)
        if provider is None or provider.deleted_at is not None:
            check.add("provider_id", _("The chosen provider does not exist."))
    if code and not check.has("code"):
        folded = code.casefold()
        for _other_id, other_code, deleted in s.execute(
            select(Course.id, Course.code, Course.deleted_at).where(Course.id != course_id)
        ):
            if other_code.casefold() != folded:
                continue
            if deleted is None:
                check.add("code", _("The course code {code} is already used.").format(code=other_code))
            else:
                check.add(
                    "code",
                    _("The course code {code} belongs to a deleted course: restore it or choose another code.").format(
                        code=other_code
                    ),
                )
            break
    title_en = check.limit("title_en", one_line(data.title_en), 300)
    english = {"title_en": title_en, "description_en": clean(data.description_en),
               "learning_outcomes_en": clean(data.learning_outcomes_en)}
    check_into(check, "courses", {"code": code, "title": title, "description": clean(data.description), "learning_outcomes": clean(data.learning_outcomes), "location": location, "teacher": teacher, "capacity": capacity, **english})  # noqa: E501
    check.done()
    return {
        "code": code,
        "title": title,
        "description": clean(data.description),
        "learning_outcomes": clean(data.learning_outcomes),
        "provider_id": provider_id,
        "location": location,
        "teacher": teacher,
        "min_attendance_percent": min_percent,
        "certificate_language": language,
        "capacity": capacity,
        **english,
    }


def _capacity(check: Checker, value: int | str | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 30:
        number = int(value.strip())
    if number is None or number < 0:
        check.add("capacity", _("The capacity must be a whole number of zero or more, or empty for no limit."))
        return None
    return number


def validate_course(db: Database, data: CourseData, course_id: str = "") -> None:
    """Check without saving (for a form): raises the ValidationError a save would raise."""
    with db.read() as s:
        _validated_course(s, data, course_id)


def _net(db: Database, data: CourseData, course_id: str = ""):
    def recheck() -> None:
        with db.read() as s:
            _validated_course(s, data, course_id)

    return identity_net(recheck, "code", "course", course_id)


def create_course(db: Database, data: CourseData) -> str:
    with _net(db, data), db.write() as s:
        values = _validated_course(s, data)
        course = Course(**values)
        s.add(course)
        s.flush()
        return course.id


def update_course(db: Database, course_id: str, data: CourseData, version: int | None = None) -> tuple[str, ...]:
    """Save the course; a larger capacity moves waitlisted participants up (their enrollment
    ids are returned). `version` (CourseDetail.version): StaleEdit when a colleague saved other
    values since."""
    with _net(db, data, course_id), db.write() as s:
        values = _validated_course(s, data, course_id)
        course = s.get(Course, course_id)
        if course is None or course.deleted_at is not None:
            raise NotFound(_("The course was not found."))
        check_version(course, version, values, "course")
        for key, value in values.items():
            if getattr(course, key) != value:
                setattr(course, key, value)
        s.flush()
        return promote_waitlisted(s, course)


def delete_course(db: Database, course_id: str) -> None:
    """Soft delete; sessions, enrollments and attendance stay for a restore."""
    with db.write() as s:
        course = s.get(Course, course_id)
        if course is None:
            raise NotFound(_("The course was not found."))
        course.deleted_at = utcnow()


def restore_course(db: Database, course_id: str) -> None:
    with db.write() as s:
        course = s.get(Course, course_id)
        if course is None:
            raise NotFound(_("The course was not found."))
        course.deleted_at = None


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionData:
    date: date | str
    start: time | str
    end: time | str
    location: str = ""
    teacher: str = ""


def _validated_session(data: SessionData, session_id: str = "") -> dict:
    check = Checker("session", session_id)
    when = check.run(parse_date, data.date, "date")
    start = check.run(parse_time, data.start, "start")
    end = check.run(parse_time, data.end, "end")
    if start is not None and end is not None:
        check.run(check_time_range, start, end)
    location = check.limit("location", one_line(data.location), 200)
    teacher = check.limit("teacher", one_line(data.teacher), 200)
    check_into(check, "sessions", {"date": when, "location": location, "teacher": teacher})
    check.done()
    return {"date": when, "start_time": start, "end_time": end, "location": location, "teacher": teacher}


def validate_session(data: SessionData) -> None:
    """Check without saving (for a form): raises the ValidationError a save would raise."""
    _validated_session(data)


def _live_course(s: Session, course_id: str) -> Course:
    course = s.get(Course, course_id)
    if course is None or course.deleted_at is not None:
        raise NotFound(_("The course was not found."))
    return course


def _live_session(s: Session, session_id: str) -> CourseSession:
    x = s.get(CourseSession, session_id)
    if x is None or x.deleted_at is not None:
        raise NotFound(_("The session was not found."))
    return x


def list_sessions(db: Database, course_id: str) -> list[SessionRow]:
    """A course's sessions by date and time, cancelled ones included (marked)."""
    with db.read() as s:
        found = s.execute(
            select(CourseSession)
            .where(CourseSession.course_id == course_id, alive(CourseSession))
            .order_by(CourseSession.date, CourseSession.start_time)
        ).scalars()
        return [_session_row(x) for x in found]


def get_session(db: Database, session_id: str) -> SessionRow:
    with db.read() as s:
        return _session_row(_live_session(s, session_id))


def _refuse_overlaps(
    s: Session, course_id: str, slots: list[tuple[date, time, time]], session_id: str = ""
) -> None:
    """ValidationError when a slot overlaps a session of the course that is not cancelled
    (e.g. the same series added twice)."""
    days = {day for day, _start, _end in slots}
    existing = s.execute(
        select(CourseSession.date, CourseSession.start_time, CourseSession.end_time).where(
            CourseSession.course_id == course_id,
            CourseSession.date.in_(days),
            CourseSession.id != session_id,
            CourseSession.cancelled.is_(False),
            alive(CourseSession),
        )
    ).all()
    taken: dict[date, list[tuple[time, time]]] = {}
    for day, start, end in existing:
        taken.setdefault(day, []).append((start, end))
    clashes = sorted(
        day
        for day, start, end in slots
        if any(start < other_end and other_start < end for other_start, other_end in taken.get(day, ()))
    )
    if clashes:
        raise ValidationError(
            Problem(
                "date",
                _("The course already has a session at that time on {dates}.").format(
                    dates=", ".join(format_date(day) for day in clashes)
                ),
                "session",
                session_id,
            )
        )


def add_session(db: Database, course_id: str, data: SessionData) -> str:
    values = _validated_session(data)
    with db.write() as s:
        _live_course(s, course_id)
        _refuse_overlaps(s, course_id, [(values["date"], values["start_time"], values["end_time"])])
        x = CourseSession(course_id=course_id, **values)
        s.add(x)
        s.flush()
        return x.id


def update_session(db: Database, session_id: str, data: SessionData, version: int | None = None) -> None:
    """`version` (SessionRow.version): StaleEdit when a colleague saved other values since."""
    values = _validated_session(data, session_id)
    with db.write() as s:
        x = _live_session(s, session_id)
        check_version(x, version, values, "session")
        if not x.cancelled:
            _refuse_overlaps(
                s, x.course_id, [(values["date"], values["start_time"], values["end_time"])], session_id
            )
        for key, value in values.items():
            if getattr(x, key) != value:
                setattr(x, key, value)


def cancel_session(db: Database, session_id: str, cancelled: bool = True) -> None:
    """Cancel (or reinstate) a session: it then counts for neither scheduled nor attended time."""
    with db.write() as s:
        _live_session(s, session_id).cancelled = bool(cancelled)


def delete_session(db: Database, session_id: str) -> None:
    with db.write() as s:
        _live_session(s, session_id).deleted_at = utcnow()


def restore_session(db: Database, session_id: str) -> None:
    with db.write() as s:
        x = s.get(CourseSession, session_id)
        if x is None:
            raise NotFound(_("The session was not found."))
        x.deleted_at = None


# ---------------------------------------------------------------------------------------------
# Series of sessions
# ---------------------------------------------------------------------------------------------

MAX_SERIES_DAYS = 7 * 366  # seven years


@dataclass(frozen=True)
class SeriesPlan:
    dates: tuple[date, ...]
    skipped: tuple[tuple[date, str], ...]  # (date, holiday name)


def swedish_holidays(first: date, last: date, lang: str | None = None) -> dict[date, str]:
    """Public holidays and the days treated like them (midsommarafton, julafton, nyårsafton)
    between two dates, named in the UI language. Ordinary Sundays are not included."""
    # imported by name (not through holidays.country_holidays, which imports the country's
    # module by its name at run time) so that PyInstaller's analysis bundles it
    from holidays.constants import DE_FACTO, PUBLIC
    from holidays.countries.sweden import Sweden

    language = "sv" if (lang or current_language()) == "sv" else "en_US"
    options = {
        "years": range(first.year, last.year + 1),
        "categories": (PUBLIC, DE_FACTO),
        "include_sundays": False,  # an ordinary Sunday is no holiday for planning
    }
    try:
        calendar = Sweden(language=language, **options)
    except OSError:
        # the package's name catalogs (holidays/locale/*/SE.mo) are missing, e.g. from a bundle:
        # a language it does not know gives the untranslated, Swedish, names
        log.warning("holiday names in %s unavailable; Swedish names used", language)
        calendar = Sweden(language="-", **options)
    return {day: name for day, name in sorted(calendar.items()) if first <= day <= last}


def plan_series(weekday: int, start: time | str, end: time | str, first: date | str, last: date | str) -> SeriesPlan:
    """Every `weekday` (0 = Monday) from `first` to `last` (both included), public holidays
    skipped and listed with their names. Raises ValidationError for impossible input."""
    check = Checker("session")
    if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
        check.add("weekday", _("Choose a weekday."))
    start_t = check.run(parse_time, start, "start")
    end_t = check.run(parse_time, end, "end")
    if start_t is not None and end_t is not None:
        check.run(check_time_range, start_t, end_t)
    first_d = check.run(parse_date, first, "first")
    last_d = check.run(parse_date, last, "last")
    if first_d is not None and last_d is not None:
        if last_d < first_d:
            check.add("last", _("The last date must not be before the first date."))
        elif (last_d - first_d).days > MAX_SERIES_DAYS:
            check.add("last", _("A series can span at most seven years."))
    check.done()
    assert first_d is not None and last_d is not None
    names = swedish_holidays(first_d, last_d)
    day = first_d + timedelta(days=(weekday - first_d.weekday()) % 7)
    dates: list[date] = []
    skipped: list[tuple[date, str]] = []
    while day <= last_d:
        if day in names:
            skipped.append((day, names[day]))
        else:
            dates.append(day)
        day += timedelta(days=7)
    return SeriesPlan(tuple(dates), tuple(skipped))


def add_series(
    db: Database,
    course_id: str,
    plan: SeriesPlan,
    start: time | str,
    end: time | str,
    location: str = "",
    teacher: str = "",
) -> list[str]:
    """Create one session per date of the plan; all or nothing."""
    if not plan.dates:
        raise ValidationError(Problem("dates", _("The series has no dates."), "session"))
    template = _validated_session(SessionData(plan.dates[0], start, end, location, teacher))
    rows = [{**template, "id": new_id(), "date": parse_date(day)} for day in plan.dates]
    with db.write() as s:
        _live_course(s, course_id)
        _refuse_overlaps(s, course_id, [(row["date"], row["start_time"], row["end_time"]) for row in rows])
        s.add_all(CourseSession(course_id=course_id, **row) for row in rows)
    return [row["id"] for row in rows]
