"""Reporting to the funder: hours per participant and month (the time reports), the month's figures
for ESF's "Sammanställning deltagare PO1" (month_figures: per participant, per organisation, per type
of organisation, totals, unit cost and co-financing), and statistics for a period.

Hours come from the attendance marks through app.rules (present = the whole session unless fewer
minutes are recorded, late = its minutes, excused/absent/no mark and cancelled sessions = 0).
Only people with attended minutes are participants (ESF: "personer som direkt gynnas"): a withdrawn
or waitlisted person who never attended appears in no document for the funder.

Rounding (Settings.hours_rounding) is applied to each *line* of the monthly time report, i.e. to
the hours of one participant on one date in one course (two sessions of the same course on the
same date make one line):

- 'exact': the line's minutes / 60, rounded half up to one decimal (ESF's time report records
  tenths of hours: "0.0");
- 'floor': the line's whole hours, rounded down, so 3 h 45 min on a date counts 3 h.

The month's total is always the sum of its lines as printed, so the signed report, the summary and
the co-financing agree. Co-financing (ESF PO1) = hours × the project's unit cost (Lönegrupp 1), in
total and per type of organisation; never an individual's wage. Statistics for a period are not
rounded per line: they show the exact attended hours (minutes / 60, two decimals).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import and_, func, or_, select

from app import rules
from app.db import Database
from app.errors import UserError
from app.i18n import N_, current_language, month_name, translate_in
from app.models import ORGANISATION_TYPES, Attendance, Company, Course, CourseSession, Participant
from app.validation import (
    FieldError,
    birth_date_from_personal_number,
    esf_personal_number,
    gender_from_personal_number,
    parse_month,
)

Progress = Callable[[int, int], object] | None

HUNDREDTH = Decimal("0.01")
TENTH = Decimal("0.1")
ZERO = Decimal("0.00")




# --- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def label(self, lang: str | None = None) -> str:
        """'mars 2026' / 'March 2026'."""
        return f"{month_name(self.month, lang)} {self.year}"

    def contains(self, day: date | None) -> bool:
        return day is not None and self.first <= day <= self.last


def to_month(value: str | Month) -> Month:
    """'YYYY-MM' -> Month; a wrong value is a UserError (one translated line)."""
    if isinstance(value, Month):
        return value
    try:
        year, month = parse_month(value)
    except FieldError as exc:
        raise UserError(exc.message) from None
    return Month(year, month)


@dataclass(frozen=True)
class HoursLine:
    """One line of a monthly time report: one date, one course."""

    date: date
    course_id: str
    course_code: str
    course_title: str
    minutes: int
    hours: Decimal


@dataclass(frozen=True)
class ParticipantMonth:
    participant_id: str
    first_name: str
    last_name: str
    personal_number: str  # full: only the time report and the funder's summary show it
    gender: str  # 'female' / 'male' / ''
    company_id: str | None
    company_name: str
    org_number: str
    municipality: str
    organisation_type: str  # the employer's (app.models.ORGANISATION_TYPES), '' = not set
    protected: bool
    lines: tuple[HoursLine, ...]
    hours: Decimal  # the sum of the lines
    minutes: int
    start_date: date | None  # declared, else the first attended session
    end_date: date | None  # declared by the coordinator

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@lru_cache(maxsize=8192)  # a month has few distinct line lengths and many lines
def round_hours(minutes: int, rounding: str) -> Decimal:
    """The hours of one report line under the rounding rule ('exact' or 'floor')."""
    if rounding == "floor":
        return Decimal(minutes // 60).quantize(TENTH)
    return (Decimal(minutes) / Decimal(60)).quantize(TENTH, ROUND_HALF_UP)


def exact_hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(HUNDREDTH, ROUND_HALF_UP)


# --- queries ------------------------------------------------------------------------------


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _course_alive(course_id):
    """The course is not deleted, tested on the session's course_id without joining courses
    (SQLite builds the small set of deleted courses once: one lookup less per mark)."""
    return course_id.not_in(select(Course.id).where(Course.deleted_at.is_not(None)))


def _participant_alive(participant_id):
    return participant_id.not_in(select(Participant.id).where(Participant.deleted_at.is_not(None)))


def _attended_marks(s, first: date, last: date, participant_ids: list[str] | None = None):
    """(participant_id, date, course_id, minutes attended > 0) for marks in [first, last]:
    one query for the period (in batches only when participant ids are given)."""
    stmt = (
        select(
            Attendance.participant_id,
            CourseSession.date,
            CourseSession.course_id,
            Attendance.status,
            Attendance.minutes,
            CourseSession.start_time,
            CourseSession.end_time,
            CourseSession.cancelled,
        )
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(
            CourseSession.date >= first,
            CourseSession.date <= last,
            Attendance.deleted_at.is_(None),
            CourseSession.deleted_at.is_(None),
            _course_alive(CourseSession.course_id),
            _participant_alive(Attendance.participant_id),
            # a prefilter only: the rules below decide the minutes
            Attendance.status.in_(rules.HOURS_STATUSES),
            CourseSession.cancelled.is_(False),
        )
    )
    batches = [None] if participant_ids is None else list(_chunks(participant_ids))
    for batch in batches:
        query = stmt if batch is None else stmt.where(Attendance.participant_id.in_(batch))
        for pid, day, course_id, status, minutes, start, end, cancelled in s.execute(query):
            attended = rules.attended_minutes(status, minutes, rules.session_minutes(start, end), cancelled)
            if attended > 0:
                yield pid, day, course_id, attended


def _first_attended(s, participant_ids: list[str], until: date) -> dict[str, date]:
    """Each participant's first session with attended minutes, on or before `until`.

    Aggregated in SQL for speed; the condition is app.rules.attended_minutes > 0 spelled out
    (a session always has minutes): present without minutes (the whole session), or present or
    late with a positive number of minutes, in a session that is not cancelled."""
    attended = or_(
        and_(Attendance.status == "present", Attendance.minutes.is_(None)),
        and_(Attendance.status.in_(rules.HOURS_STATUSES), Attendance.minutes > 0),
    )
    stmt = (
        select(Attendance.participant_id, func.min(CourseSession.date))
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(
            CourseSession.date <= until,
            Attendance.deleted_at.is_(None),
            CourseSession.deleted_at.is_(None),
            _course_alive(CourseSession.course_id),
            CourseSession.cancelled.is_(False),
            attended,
        )
        .group_by(Attendance.participant_id)
    )
    first: dict[str, date] = {}
    for batch in _chunks(participant_ids):
        for pid, day in s.execute(stmt.where(Attendance.participant_id.in_(batch))):
            if day is not None:
                first[pid] = day
    return first


_PEOPLE_COLUMNS = (
    Participant.id,
    Participant.first_name,
    Participant.last_name,
    Participant.personal_number,
    Participant.gender,
    Company.id,
    Company.name,
    Company.org_number,
    Company.municipality,
    Company.organisation_type,
    Participant.protected,
    Participant.project_start,
    Participant.project_end,
)


def _people(s, participant_ids: list[str], *columns) -> dict[str, tuple]:
    stmt = (
        select(*_PEOPLE_COLUMNS, *columns)
        .outerjoin(Company, and_(Company.id == Participant.company_id, Company.deleted_at.is_(None)))
        .where(Participant.deleted_at.is_(None))
    )
    people = {}
    for batch in _chunks(participant_ids):
        for row in s.execute(stmt.where(Participant.id.in_(batch))):
            people[row[0]] = tuple(row)
    return people


def _gender(stored: str, personal_number: str) -> str:
    if stored:
        return stored
    try:
        return gender_from_personal_number(personal_number)
    except (FieldError, ValueError):
        return ""


def _build(
    s, month: Month, participant_ids: list[str] | None, rounding: str, with_dates: bool,
    extra: tuple = (), extras: dict | None = None,
) -> list[ParticipantMonth]:
    """The month's participants; the values of the `extra` participant columns go into `extras`
    (participant id -> tuple), read in the same query."""
    per_line: dict[str, dict[tuple[date, str], int]] = defaultdict(lambda: defaultdict(int))
    for pid, day, course_id, minutes in _attended_marks(s, month.first, month.last, participant_ids):
        per_line[pid][(day, course_id)] += minutes
    ids = sorted(per_line)
    people = _people(s, ids, *extra)
    if extras is not None:
        extras.update({pid: row[len(_PEOPLE_COLUMNS):] for pid, row in people.items()})
    starts = _first_attended(s, ids, month.last) if with_dates else {}
    course_ids = {cid for lines in per_line.values() for _d, cid in lines}
    courses = {}
    for batch in _chunks(sorted(course_ids)):
        for cid, code, title in s.execute(select(Course.id, Course.code, Course.title).where(Course.id.in_(batch))):
            courses[cid] = (code, title)

    result = []
    for pid in ids:
        if pid not in people:
            continue
        (_id, first, last, pnr, gender, company_id, company, org, municipality, org_type, protected,
         declared_start, declared_end) = people[pid][: len(_PEOPLE_COLUMNS)]
        lines = tuple(
            HoursLine(day, cid, courses[cid][0], courses[cid][1], minutes, round_hours(minutes, rounding))
            for (day, cid), minutes in sorted(per_line[pid].items(), key=lambda kv: (kv[0][0], courses[kv[0][1]][0]))
        )
        hours = sum((line.hours for line in lines), ZERO)
        if hours <= 0:
            continue
        result.append(
            ParticipantMonth(
                participant_id=pid,
                first_name=first,
                last_name=last,
                personal_number=pnr,
                gender=_gender(gender, pnr),
                company_id=company_id,
                company_name=company or "",
                org_number=org or "",
                municipality=municipality or "",
                organisation_type=org_type or "",
                protected=bool(protected),
                lines=lines,
                hours=hours,
                minutes=sum(line.minutes for line in lines),
                start_date=(declared_start or starts.get(pid)) if with_dates else None,
                end_date=declared_end,
            )
        )
    return result


def _settings_rounding(db: Database) -> str:
    from app.services.settings import get_settings

    return get_settings(db).hours_rounding


def month_hours(
    db: Database,
    month: str | Month,
    participant_ids: Iterable[str] | None = None,
    *,
    rounding: str | None = None,
    today: date | None = None,  # noqa: ARG001 - kept for callers; hours never come from the future
    with_dates: bool = True,
) -> list[ParticipantMonth]:
    """Participants with hours in the month (after rounding), by last name: the time reports.
    with_dates=False leaves start_date empty when the person declared none (faster: no search for the
    first attended session; the PDF does not show it)."""
    m = to_month(month)
    rounding = rounding or _settings_rounding(db)
    ids = None if participant_ids is None else sorted(set(participant_ids))
    with db.read() as s:
        rows = _build(s, m, ids, rounding, with_dates)
    return sorted(rows, key=lambda r: (r.last_name.casefold(), r.first_name.casefold(), r.participant_id))


# --- the month's figures for the funder (ESF "Sammanställning deltagare PO1") ----------------------

GENDER_CODES = {"female": "K", "male": "M"}


@dataclass(frozen=True)
class ParticipantFigures:
    """One row of ESF's Deltagarförteckning (and of its SCB block L-V)."""

    participant_id: str
    name: str
    personal_number: str  # ESF's form: YYYYMMDD-NNNN (a protected identity YYYYMMDD-Tf29)
    scb_personal_number: str  # SCB's column L: the same without the hyphen
    age: int | None  # on the 15th of the month
    gender: str  # 'K' / 'M' / ''
    company_id: str | None
    organisation_name: str
    org_number: str
    organisation_type: str
    hours: Decimal
    scb_hours: int  # whole hours for SCB's column M (half up, at least 1)
    start: date | None  # only in the month the person started
    end: date | None  # only in the month the person ended, with the exit data below
    exit_reason: int | None
    formal_qualification: bool | None
    exit_status: int | None
    employment_terms: int | None
    employment_extent: int | None
    protected: bool


@dataclass(frozen=True)
class OrganisationFigures:
    company_id: str
    name: str
    org_number: str
    organisation_type: str
    participants: int
    hours: Decimal


@dataclass(frozen=True)
class TypeFigures:
    organisation_type: str  # one of ORGANISATION_TYPES, or '' for organisations without a type
    hours: Decimal
    co_financing: Decimal | None  # hours × unit cost (SEK), exact; None without a unit cost


@dataclass(frozen=True)
class MonthFigures:
    month: Month
    case_number: str
    project_name: str
    unit_cost: Decimal | None
    rounding: str
    participants: tuple[ParticipantFigures, ...]  # by name
    organisations: tuple[OrganisationFigures, ...]  # by name
    types: tuple[TypeFigures, ...]  # ESF's seven in its order, then '' when some have no type
    hours: Decimal
    women: int
    men: int
    co_financing: Decimal | None  # hours × unit cost
    missing_type: bool  # an organisation without a type (ESF's warning)
    without_employer: int  # participants with hours but no employer

    @property
    def participant_count(self) -> int:
        return len(self.participants)

    @property
    def organisation_count(self) -> int:
        return len(self.organisations)

    @property
    def hours_per_participant(self) -> Decimal | None:
        return (self.hours / self.participant_count).quantize(HUNDREDTH, ROUND_HALF_UP) if self.participants else None

    @property
    def hours_per_organisation(self) -> Decimal | None:
        return (self.hours / self.organisation_count).quantize(HUNDREDTH, ROUND_HALF_UP) if self.organisations else None


# per person, not per month: the month close's status works out the figures of many months at once
@lru_cache(maxsize=65536)
def _born(pnr: str) -> date | None:
    try:
        return birth_date_from_personal_number(pnr)
    except (FieldError, ValueError):
        return None


def _age(pnr: str, on: date) -> int | None:
    born = _born(pnr)
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@lru_cache(maxsize=65536)
def _esf_number(pnr: str, hyphen: bool) -> str:
    try:
        return esf_personal_number(pnr, hyphen)
    except (FieldError, ValueError):
        return pnr


@lru_cache(maxsize=4096)  # few distinct values in a month
def scb_hours(hours: Decimal) -> int:
    """Whole hours for SCB's column M (typed values 1-250): half up, and at least 1 for anyone
    with time in the month (SCB's template refuses 0)."""
    return max(1, int(hours.quantize(Decimal(1), ROUND_HALF_UP))) if hours > 0 else 0


EXIT_COLUMNS = (
    Participant.exit_reason, Participant.formal_qualification, Participant.exit_status,
    Participant.employment_terms, Participant.employment_extent,
)


def month_figures(db: Database, month: str | Month) -> MonthFigures:
    """Every figure of ESF's monthly summary: the participants with hours in the month, their
    organisations, the hours per type of organisation, the totals, and co-financing = hours × the
    project's unit cost (Settings: esf.unit_cost), in total and per type."""
    from app.services.settings import get_project_settings, get_settings

    m = to_month(month)
    project = get_project_settings(db)
    rounding = get_settings(db).hours_rounding
    exits: dict[str, tuple] = {}
    with db.read() as s:
        rows = _build(s, m, None, rounding, with_dates=True, extra=EXIT_COLUMNS, extras=exits)
    return figures_of(m, rows, exits, project, rounding)


def figures_of(m: Month, rows: Iterable[ParticipantMonth], exits: dict[str, tuple], project, rounding: str) -> MonthFigures:
    """The month's figures from its participants' rows (`exits`: participant id -> the five
    EXIT_COLUMNS): the one definition of the figures, for month_figures and for the month close's
    status, which reads the hours of many months at once (app.services.month_close)."""
    on_15th = date(m.year, m.month, 15)
    people = []
    organisations: dict[str, list] = {}
    by_type: dict[str, Decimal] = defaultdict(lambda: ZERO)
    women = men = without_employer = 0
    for r in sorted(rows, key=lambda r: (r.last_name.casefold(), r.first_name.casefold(), r.participant_id)):
        ended = m.contains(r.end_date)
        reason, qualification, status, terms, extent = exits[r.participant_id] if ended else (None,) * 5
        gender = GENDER_CODES.get(r.gender, "")
        women += gender == "K"
        men += gender == "M"
        people.append(
            ParticipantFigures(
                participant_id=r.participant_id,
                name=r.full_name,
                personal_number=_esf_number(r.personal_number, True),
                scb_personal_number=_esf_number(r.personal_number, False),
                age=_age(r.personal_number, on_15th),
                gender=gender,
                company_id=r.company_id,
                organisation_name=r.company_name,
                org_number=r.org_number,
                organisation_type=r.organisation_type if r.company_id else "",
                hours=r.hours,
                scb_hours=scb_hours(r.hours),
                start=r.start_date if m.contains(r.start_date) else None,
                end=r.end_date if ended else None,
                exit_reason=reason,
                formal_qualification=qualification,
                exit_status=status,
                employment_terms=terms,
                employment_extent=extent,
                protected=r.protected,
            )
        )
        if r.company_id is None:
            without_employer += 1
            continue
        org = organisations.setdefault(r.company_id, [r.company_name, r.org_number, r.organisation_type, 0, ZERO])
        org[3] += 1
        org[4] += r.hours
        by_type[r.organisation_type] += r.hours
    cost = project.unit_cost
    times = (lambda hours: hours * cost) if cost is not None else (lambda hours: None)  # noqa: E731
    types = [TypeFigures(t, by_type.get(t, ZERO), times(by_type.get(t, ZERO))) for t in ORGANISATION_TYPES]
    if "" in by_type:
        types.append(TypeFigures("", by_type[""], times(by_type[""])))
    total = sum((p.hours for p in people), ZERO)
    return MonthFigures(
        month=m,
        case_number=project.case_number,
        project_name=project.project_name,
        unit_cost=cost,
        rounding=rounding,
        participants=tuple(people),
        organisations=tuple(
            OrganisationFigures(cid, name, org, kind, n, hours)
            for cid, (name, org, kind, n, hours) in sorted(
                organisations.items(), key=lambda kv: (kv[1][0].casefold(), kv[1][1], kv[0])
            )
        ),
        types=tuple(types),
        hours=total,
        women=women,
        men=men,
        co_financing=times(total),
        missing_type="" in by_type,
        without_employer=without_employer,
    )


GENDER_LABELS = {"female": N_("Female"), "male": N_("Male"), "": N_("Not stated")}


# --- statistics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatRow:
    key: str
    label: str
    participants: int
    hours: Decimal


@dataclass(frozen=True)
class Statistics:
    first: date
    last: date
    participants: int
    hours: Decimal
    by_gender: tuple[StatRow, ...] = field(default_factory=tuple)
    by_municipality: tuple[StatRow, ...] = field(default_factory=tuple)
    by_company: tuple[StatRow, ...] = field(default_factory=tuple)
    by_course: tuple[StatRow, ...] = field(default_factory=tuple)


def statistics(db: Database, first: date, last: date, *, lang: str | None = None) -> Statistics:
    """Participants (with attended time) and exact hours in [first, last], by gender, the
    employer's municipality, employer and course."""
    if last < first:
        raise UserError(translate_in(lang or current_language(), N_("The end of the period is before its start.")))
    lang = lang or current_language()
    groups: dict[str, dict[tuple[str, str], list]] = {k: {} for k in ("gender", "municipality", "company", "course")}
    total_minutes = 0
    people_seen: set[str] = set()
    with db.read() as s:
        minutes_by: dict[tuple[str, str], int] = defaultdict(int)
        for pid, _day, course_id, minutes in _attended_marks(s, first, last):
            minutes_by[(pid, course_id)] += minutes
        pids = sorted({pid for pid, _c in minutes_by})
        people = _people(s, pids)
        course_names = {}
        cids = sorted({c for _p, c in minutes_by})
        for batch in _chunks(cids):
            for cid, code, title in s.execute(select(Course.id, Course.code, Course.title).where(Course.id.in_(batch))):
                course_names[cid] = f"{code} {title}"
    unknown = translate_in(lang, N_("(none)"))
    for (pid, cid), minutes in minutes_by.items():
        if pid not in people:
            continue
        p = people[pid]
        gender = _gender(p[4], p[3])
        keys = {
            "gender": (gender, translate_in(lang, GENDER_LABELS.get(gender, GENDER_LABELS[""]))),
            "municipality": (p[8] or "", p[8] or unknown),
            "company": (p[5] or "", p[6] or unknown),
            "course": (cid, course_names.get(cid, cid)),
        }
        for dim, key in keys.items():
            bucket = groups[dim].setdefault(key, [set(), 0])
            bucket[0].add(pid)
            bucket[1] += minutes
        total_minutes += minutes
        people_seen.add(pid)

    def rows(dim: str) -> tuple[StatRow, ...]:
        items = [StatRow(k, label, len(v[0]), exact_hours(v[1])) for (k, label), v in groups[dim].items()]
        return tuple(sorted(items, key=lambda r: (-r.hours, r.label.casefold())))

    return Statistics(
        first=first,
        last=last,
        participants=len(people_seen),
        hours=exact_hours(total_minutes),
        by_gender=rows("gender"),
        by_municipality=rows("municipality"),
        by_company=rows("company"),
        by_course=rows("course"),
    )


STAT_DIMENSIONS = (
    ("by_gender", N_("Gender")),
    ("by_municipality", N_("Municipality")),
    ("by_company", N_("Employer")),
    ("by_course", N_("Course")),
)


def write_statistics(db: Database, first: date, last: date, out_path: str | Path, *, lang: str | None = None) -> Statistics:
    """The statistics as .xlsx: one sheet per dimension, with a total row."""
    from app.interchange.spreadsheet import Formula, Sheet, new_workbook, save_workbook

    lang = lang or current_language()
    t = lambda msg: translate_in(lang, msg)  # noqa: E731
    stats = statistics(db, first, last, lang=lang)
    wb = new_workbook()
    for attr, title in STAT_DIMENSIONS:
        ws = Sheet(wb, t(title))
        header = [t(title), t(N_("Participants")), t(N_("Hours"))]
        rows = [(r.label, r.participants, r.hours) for r in getattr(stats, attr)]
        last_row = ws.table(header, rows, widths=(40, 14, 12))
        ws.append((t(N_("Total")), stats.participants, Formula(f"=SUM(C2:C{last_row})", "0.00") if rows else 0))
        ws.append(())
        ws.append((t(N_("Period")), f"{first.isoformat()} – {last.isoformat()}"))
    save_workbook(wb, out_path)
    return stats
