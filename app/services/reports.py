"""Reporting to the funder: hours per participant and month, the monthly summary
(sammanställning) with co-financing, and statistics for a period.

Hours come from the attendance marks through app.rules (present = the whole session unless fewer
minutes are recorded, late = its minutes, excused/absent/no mark and cancelled sessions = 0).

Rounding (Settings.hours_rounding) is applied to each *line* of the monthly time report, i.e. to
the hours of one participant on one date in one course (two sessions of the same course on the
same date make one line):

- 'exact': the line's minutes / 60, rounded half up to two decimals;
- 'floor': the line's whole hours, rounded down (ESF: "endast hela timmar ... avrundning sker
  neråt"), so 3 h 45 min on a date counts 3 h.

The month's total is always the sum of its lines as printed, so the signed report adds up and the
summary, the co-financing and the PDF agree. Statistics for a period are not rounded per line:
they show the exact attended hours (minutes / 60, two decimals).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import and_, func, or_, select

from app import rules
from app.db import Database
from app.errors import UserError
from app.i18n import N_, current_language, month_name, translate_in
from app.models import Attendance, Company, Course, CourseSession, Enrollment, Participant
from app.validation import FieldError, gender_from_personal_number, parse_month

Progress = Callable[[int, int], object] | None

HUNDREDTH = Decimal("0.01")
ZERO = Decimal("0.00")


class Cancelled(Exception):
    """The progress callback returned False: the work stopped and nothing was written."""


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
    personal_number: str  # full 12 digits: only the time report and the funder's summary show it
    gender: str  # 'female' / 'male' / ''
    company_id: str | None
    company_name: str
    org_number: str
    municipality: str
    lines: tuple[HoursLine, ...]
    hours: Decimal  # the sum of the lines
    minutes: int
    start_date: date | None
    end_date: date | None
    hourly_wage_cost: Decimal | None  # the participant's, else the company's

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def co_financing(self) -> Decimal | None:
        if self.hourly_wage_cost is None:
            return None
        return (self.hours * self.hourly_wage_cost).quantize(HUNDREDTH, ROUND_HALF_UP)


def round_hours(minutes: int, rounding: str) -> Decimal:
    """The hours of one report line under the rounding rule ('exact' or 'floor')."""
    if rounding == "floor":
        return Decimal(minutes // 60).quantize(HUNDREDTH)
    return (Decimal(minutes) / Decimal(60)).quantize(HUNDREDTH, ROUND_HALF_UP)


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
            Attendance.status.in_(("present", "late")),
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
        and_(Attendance.status.in_(("present", "late")), Attendance.minutes > 0),
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


def _last_course_end(s, participant_ids: list[str] | None = None) -> dict[str, date]:
    """Each participant's last session (not cancelled) of their last course, over all courses
    they are enrolled in (waitlisted places do not count)."""
    course_last = (
        select(CourseSession.course_id, func.max(CourseSession.date).label("last"))
        .join(Course, Course.id == CourseSession.course_id)
        .where(
            CourseSession.deleted_at.is_(None),
            CourseSession.cancelled.is_(False),
            Course.deleted_at.is_(None),
        )
        .group_by(CourseSession.course_id)
        .subquery()
    )
    stmt = (
        select(Enrollment.participant_id, func.max(course_last.c.last))
        .join(course_last, course_last.c.course_id == Enrollment.course_id)
        .where(Enrollment.deleted_at.is_(None), Enrollment.status != "waitlisted")
        .group_by(Enrollment.participant_id)
    )
    result: dict[str, date] = {}
    batches = [None] if participant_ids is None else list(_chunks(participant_ids))
    for batch in batches:
        query = stmt if batch is None else stmt.where(Enrollment.participant_id.in_(batch))
        for pid, last in s.execute(query):
            if last is not None:
                result[pid] = last
    return result


def _people(s, participant_ids: list[str]) -> dict[str, tuple]:
    stmt = (
        select(
            Participant.id,
            Participant.first_name,
            Participant.last_name,
            Participant.personal_number,
            Participant.gender,
            Participant.hourly_wage_cost,
            Company.id,
            Company.name,
            Company.org_number,
            Company.municipality,
            Company.hourly_wage_cost,
        )
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


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(HUNDREDTH)


def _build(
    s,
    month: Month,
    participant_ids: list[str] | None,
    rounding: str,
    today: date,
    include_start_end: bool,
    with_dates: bool = True,
) -> list[ParticipantMonth]:
    per_line: dict[str, dict[tuple[date, str], int]] = defaultdict(lambda: defaultdict(int))
    for pid, day, course_id, minutes in _attended_marks(s, month.first, month.last, participant_ids):
        per_line[pid][(day, course_id)] += minutes

    ends = _last_course_end(s, participant_ids) if with_dates or include_start_end else {}
    ends = {pid: d for pid, d in ends.items() if d <= today}  # only a course that is over ends
    candidates = set(per_line)
    if include_start_end:
        candidates |= {pid for pid, d in ends.items() if month.first <= d <= month.last}
    ids = sorted(candidates)
    starts = _first_attended(s, ids, month.last) if with_dates or include_start_end else {}
    people = _people(s, ids)
    course_ids = {cid for lines in per_line.values() for _d, cid in lines}
    courses = {}
    for batch in _chunks(sorted(course_ids)):
        for cid, code, title in s.execute(select(Course.id, Course.code, Course.title).where(Course.id.in_(batch))):
            courses[cid] = (code, title)

    result = []
    for pid in ids:
        if pid not in people:
            continue
        (_id, first, last, pnr, gender, own_rate, company_id, company, org, municipality, company_rate) = people[pid]
        lines = tuple(
            HoursLine(day, cid, courses[cid][0], courses[cid][1], minutes, round_hours(minutes, rounding))
            for (day, cid), minutes in sorted(per_line.get(pid, {}).items(), key=lambda kv: (kv[0][0], courses[kv[0][1]][0]))
        )
        hours = sum((line.hours for line in lines), ZERO)
        start = starts.get(pid)
        end = ends.get(pid)
        if not include_start_end and hours <= 0:
            continue
        if include_start_end and hours <= 0:
            in_month = lambda d: d is not None and month.first <= d <= month.last  # noqa: E731
            if not (in_month(start) or in_month(end)):
                continue
        rate = _decimal(own_rate) if own_rate is not None else _decimal(company_rate)
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
                lines=lines,
                hours=hours,
                minutes=sum(line.minutes for line in lines),
                start_date=start,
                end_date=end,
                hourly_wage_cost=rate,
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
    today: date | None = None,
    with_dates: bool = True,
) -> list[ParticipantMonth]:
    """Participants with hours in the month (after rounding), by last name: the time reports.
    with_dates=False leaves start_date and end_date empty (faster; the PDF does not show them)."""
    m = to_month(month)
    rounding = rounding or _settings_rounding(db)
    ids = None if participant_ids is None else sorted(set(participant_ids))
    with db.read() as s:
        rows = _build(s, m, ids, rounding, today or date.today(), include_start_end=False, with_dates=with_dates)
    return sorted(rows, key=lambda r: (r.last_name.casefold(), r.first_name.casefold(), r.participant_id))


def monthly_summary(
    db: Database, month: str | Month, *, rounding: str | None = None, today: date | None = None
) -> list[ParticipantMonth]:
    """One row per participant with hours in the month, and everyone who starts (first attended
    session) or ends (last session of their last course, once it is over) in the month even
    with 0 hours. Sorted by employer, then name, so each company's rows are together."""
    m = to_month(month)
    rounding = rounding or _settings_rounding(db)
    with db.read() as s:
        rows = _build(s, m, None, rounding, today or date.today(), include_start_end=True)
    return sorted(
        rows,
        key=lambda r: (r.company_name.casefold(), r.org_number, r.last_name.casefold(), r.first_name.casefold(), r.participant_id),
    )


# --- the summary workbook -----------------------------------------------------------------

GENDER_LABELS = {"female": N_("Female"), "male": N_("Male"), "": N_("Not stated")}

SUMMARY_SHEET = N_("Summary")
COFIN_SHEET = N_("Co-financing")
ABOUT_SHEET = N_("About this report")

SUMMARY_HEADER = (
    N_("Last name"),
    N_("First name"),
    N_("Personal identity number"),
    N_("Gender"),
    N_("Employer"),
    N_("Organisation number"),
    N_("Municipality"),
    N_("Hours"),
    N_("Start date"),
    N_("End date"),
    N_("Hourly wage cost (SEK)"),
    N_("Co-financing (SEK)"),
)
COFIN_HEADER = (
    N_("Employer"),
    N_("Organisation number"),
    N_("Month"),
    N_("Participants"),
    N_("Hours"),
    N_("Co-financing (SEK)"),
)


def write_summary(
    db: Database,
    month: str | Month,
    out_path: str | Path,
    *,
    lang: str | None = None,
    today: date | None = None,
    progress: Progress = None,
) -> int:
    """The monthly summary .xlsx: sheet 1 one row per participant (hours, start and end date,
    co-financing = hours × hourly wage cost as a formula), sheet 2 the totals per company as
    =SUM formulas over sheet 1, sheet 3 what the figures are. Returns the number of participants."""
    from app.interchange.spreadsheet import Formula, Money, Sheet, column, new_workbook, save_workbook, sheet_ref
    from app.services.settings import get_settings

    m = to_month(month)
    lang = lang or current_language()
    t = lambda msg: translate_in(lang, msg)  # noqa: E731
    settings = get_settings(db)
    rows = monthly_summary(db, m, rounding=settings.hours_rounding, today=today)
    if progress is not None and progress(0, len(rows)) is False:
        raise Cancelled()

    wb = new_workbook()
    ws = Sheet(wb, t(SUMMARY_SHEET))
    hours_col, rate_col, cofin_col = 8, 11, 12
    data = []
    for i, r in enumerate(rows, start=2):
        formula = (
            Formula(f"={column(hours_col)}{i}*{column(rate_col)}{i}", "#,##0.00")
            if r.hourly_wage_cost is not None
            else None
        )
        data.append(
            (
                r.last_name,
                r.first_name,
                r.personal_number,
                t(GENDER_LABELS.get(r.gender, GENDER_LABELS[""])),
                r.company_name,
                r.org_number,
                r.municipality,
                r.hours,
                r.start_date,
                r.end_date,
                Money(r.hourly_wage_cost),
                formula,
            )
        )
    ws.table([t(h) for h in SUMMARY_HEADER], data, widths=(18, 16, 16, 10, 28, 14, 14, 8, 12, 12, 14, 14))

    # totals per company: the company's rows are contiguous on sheet 1, so a plain SUM shows them
    cs = Sheet(wb, t(COFIN_SHEET))
    ref = sheet_ref(ws.title)
    groups: list[tuple[str, str, int, int]] = []
    for i, r in enumerate(rows, start=2):
        key = (r.company_name, r.org_number)
        if groups and (groups[-1][0], groups[-1][1]) == key:
            groups[-1] = (key[0], key[1], groups[-1][2], i)
        else:
            groups.append((key[0], key[1], i, i))
    hc, cc = column(hours_col), column(cofin_col)
    cofin_rows = [
        (
            name or t(N_("(no employer)")),
            org,
            m.key,
            last - first + 1,
            Formula(f"=SUM({ref}!{hc}{first}:{hc}{last})", "0.00"),
            Formula(f"=SUM({ref}!{cc}{first}:{cc}{last})", "#,##0.00"),
        )
        for name, org, first, last in groups
    ]
    last_row = cs.table([t(h) for h in COFIN_HEADER], cofin_rows, widths=(30, 16, 10, 12, 10, 18))
    if groups:
        totals = (
            Formula(f"=SUM(D2:D{last_row})"),
            Formula(f"=SUM(E2:E{last_row})", "0.00"),
            Formula(f"=SUM(F2:F{last_row})", "#,##0.00"),
        )
    else:
        totals = (0, 0, 0)
    cs.append((t(N_("Total")), None, m.key, *totals))

    about = Sheet(wb, t(ABOUT_SHEET))
    rule = t(N_("whole hours per date and course, rounded down")) if settings.hours_rounding == "floor" else t(
        N_("hours with two decimals per date and course")
    )
    about.table(
        [t(N_("Field")), t(N_("Value"))],
        [
            (t(N_("Programme")), settings.programme_name),
            (t(N_("Organisation")), settings.organisation_name),
            (t(N_("Month")), m.key),
            (t(N_("Rounding of hours")), rule),
            (t(N_("Participants")), len(rows)),
            (t(N_("Co-financing")), t(N_("hours × hourly wage cost (the participant's, else the employer's)"))),
        ],
        widths=(24, 60),
    )
    save_workbook(wb, out_path)
    if progress is not None:
        progress(len(rows), len(rows))
    from app.gdpr import audit

    audit.record(db, "summary", len(rows), m.key)  # full personnummer (GDPR audit log)
    return len(rows)


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
            "municipality": (p[9] or "", p[9] or unknown),
            "company": (p[6] or "", p[7] or unknown),
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
