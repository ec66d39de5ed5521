"""The control report before a month is sent (issue 13; SchoolSoft's "kontrollrapporter", the
ESF summary's own limits, Folkuniversitetet's double-reporting audit): one finding per problem.

    findings = control_report(db, "2026-10")    # [] for a clean month

Checks, for the month: the ESF settings (case number, unit cost); each employer of a participant
with hours (organisation number, type of organisation); more than 250 hours for one participant
(the summary's limit); a project end date without a start date; a participant present or late in
two overlapping sessions of different courses (double reporting); sessions on Sundays or public
holidays; marks on sessions in the future; in a closed month, participants with hours and no
signed original; and every month up to this one that is past SCB's deadline and not closed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import distinct, func, select

from app import rules
from app.db import Database
from app.i18n import _, current_language, format_date
from app.models import Attendance, Company, Course, CourseSession, MonthClose, OriginalReceived, Participant
from app.services import month_close as mc
from app.services.reports import Month, to_month

MAX_HOURS = Decimal(250)  # the ESF summary accepts 0-250 hours per participant and month


@dataclass(frozen=True)
class Finding:
    code: str  # what kind of problem (stable, for scripts and tests)
    text: str  # one line for people, in the current language
    record_type: str = ""  # where: companies, participants, sessions, months, settings
    record_id: str = ""


def control_report(db: Database, month: str | Month, *, today: date | None = None) -> list[Finding]:
    m = to_month(month)
    today = today or date.today()
    found: list[Finding] = []
    found += _settings(db)
    rounding = mc.current_rounding(db)
    with db.read() as s:
        hours = mc.month_totals(s, [m], rounding)[m.key]
        people = _people(s, hours)
        found += _companies(s, hours)
        found += _over_limit(hours, people, m)
        found += _end_without_start(s, m, hours)
        found += _double_reporting(s, m, people)
        found += _holidays(s, m)
        found += _future_marks(s, m, today)
        closed = set(s.execute(select(MonthClose.month).where(MonthClose.deleted_at.is_(None))).scalars())
        if m.key in closed:
            found += _unsigned(s, m, hours, people)
    found += _deadlines(db, m, closed, today)
    return found


def _people(s, ids) -> dict[str, str]:
    """participant id -> how a finding names them ('19850312-**** Anna Andersson')."""
    return {pid: f"{mc.masked(p[1])} {p[0]}".strip() for pid, p in mc.people_info(s, ids).items()}


def _settings(db: Database) -> list[Finding]:
    from app.services.settings import get_project_settings

    settings = get_project_settings(db)
    out = []
    if not settings.case_number:
        out.append(Finding("missing-case-number", _("The project's case number (ärende-id) is missing in Settings."),
                           "settings", "esf.case_number"))
    if not settings.unit_cost:
        out.append(Finding("missing-unit-cost", _("The project's unit cost per hour is missing in Settings."),
                           "settings", "esf.unit_cost"))
    return out


def _companies(s, hours: dict[str, Decimal]) -> list[Finding]:
    if not hours:
        return []
    cols = (Company.id, Company.name, Company.org_number, Company.organisation_type)
    ids = sorted(hours)
    rows = {}
    for i in range(0, len(ids), 500):
        stmt = select(*cols).join(Participant, Participant.company_id == Company.id).where(Participant.id.in_(ids[i:i + 500]))
        for row in s.execute(stmt):
            rows[row[0]] = row
    out = []
    for cid, name, org, kind in sorted(rows.values(), key=lambda r: (r[1].casefold(), r[0])):
        if not org:
            out.append(Finding("company-without-org-number", _("{company}: the organisation number is missing.").format(company=name), "companies", cid))
        if not kind:
            out.append(Finding("company-without-type", _("{company}: the type of organisation is missing.").format(company=name), "companies", cid))
    return out


def _over_limit(hours: dict[str, Decimal], people: dict[str, str], m: Month) -> list[Finding]:
    text, label = _("{who}: {hours} hours in {month}, more than 250."), m.label()
    return [
        Finding("over-250-hours", text.format(who=people[pid], hours=mc.hours_text(h), month=label), "participants", pid)
        for pid, h in sorted(hours.items(), key=lambda kv: people[kv[0]])
        if h > MAX_HOURS
    ]


def _end_without_start(s, m: Month, hours: dict[str, Decimal]) -> list[Finding]:
    stmt = select(Participant.id, Participant.first_name, Participant.last_name, Participant.personal_number).where(
        Participant.deleted_at.is_(None), Participant.project_end.is_not(None), Participant.project_start.is_(None),
        Participant.project_end <= m.last,
    )
    return [
        Finding("end-without-start", _("{who}: a project end date without a start date.").format(
            who=f"{mc.masked(pnr)} {first} {last}".strip()), "participants", pid)
        for pid, first, last, pnr in s.execute(stmt.order_by(Participant.last_name, Participant.first_name, Participant.id))
    ]


def _month_sessions(s, m: Month):
    return (
        select(CourseSession.id, CourseSession.date, CourseSession.start_time, CourseSession.end_time, Course.code)
        .join(Course, Course.id == CourseSession.course_id)
        .where(CourseSession.date >= m.first, CourseSession.date <= m.last, CourseSession.deleted_at.is_(None),
               CourseSession.cancelled.is_(False), Course.deleted_at.is_(None))
    )


def _double_reporting(s, m: Month, people: dict[str, str]) -> list[Finding]:
    """Present or late in overlapping sessions of different courses on one day. One aggregate finds
    the days on which a participant has such marks in more than one course (few); only those
    participants' marks are read."""
    sessions = _month_sessions(s, m).add_columns(CourseSession.course_id).subquery()
    marks = (
        select(Attendance.participant_id, sessions.c.date)
        .join(sessions, sessions.c.id == Attendance.session_id)
        .where(Attendance.deleted_at.is_(None), Attendance.status.in_(("present", "late")))
    )
    days = {(pid, day) for pid, day in s.execute(marks.group_by(Attendance.participant_id, sessions.c.date)
                                                 .having(func.count(distinct(sessions.c.course_id)) > 1))}
    by_day: dict[tuple[str, date], list[tuple]] = defaultdict(list)
    pids = sorted({pid for pid, _day in days if pid in people})
    detail = marks.add_columns(Attendance.status, Attendance.minutes, sessions.c.start_time, sessions.c.end_time, sessions.c.code)
    for i in range(0, len(pids), 500):
        for pid, day, status, minutes, start, end, code in s.execute(detail.where(Attendance.participant_id.in_(pids[i:i + 500]))):
            if (pid, day) in days and rules.attended_minutes(status, minutes, rules.session_minutes(start, end)) > 0:
                by_day[(pid, day)].append((start, end, code))
    text = _("{who}: present in two overlapping sessions on {date}, {a} {a_time} and {b} {b_time} (double reporting).")
    out = []
    for (pid, day), marked in sorted(by_day.items(), key=lambda kv: (kv[0][1], people[kv[0][0]])):
        marked.sort()
        for i, (start, end, code) in enumerate(marked):
            for start2, end2, code2 in marked[i + 1:]:
                if start2 < end and code2 != code:
                    out.append(Finding("double-reporting", text.format(
                        who=people[pid], date=_day(day), a=code, a_time=f"{start:%H:%M}–{end:%H:%M}",
                        b=code2, b_time=f"{start2:%H:%M}–{end2:%H:%M}"), "participants", pid))
    return out


@lru_cache(maxsize=512)
def _day_in(day: date, lang: str) -> str:
    return format_date(day, lang=lang)


def _day(day: date) -> str:
    """A date as format_date gives it, formatted once per day (a report can name a day many times)."""
    return _day_in(day, current_language())


def _holidays(s, m: Month) -> list[Finding]:
    from app.services.courses import swedish_holidays

    holidays = swedish_holidays(m.first, m.last)
    sundays = [m.first + timedelta(days=i) for i in range((m.last - m.first).days + 1) if (m.first + timedelta(days=i)).weekday() == 6]
    stmt = _month_sessions(s, m).where(CourseSession.date.in_(sorted(set(holidays) | set(sundays))))
    holiday = _("{course} {date} {time}: a session on a public holiday ({holiday}).")
    sunday = _("{course} {date} {time}: a session on a Sunday.")
    out = []
    for sid, day, start, _end, code in s.execute(stmt.order_by(CourseSession.date, Course.code)):
        if day in holidays:
            text = holiday.format(course=code, date=_day(day), time=f"{start:%H:%M}", holiday=holidays[day])
        else:
            text = sunday.format(course=code, date=_day(day), time=f"{start:%H:%M}")
        out.append(Finding("holiday-session", text, "sessions", sid))
    return out


def _future_marks(s, m: Month, today: date) -> list[Finding]:
    if m.last <= today:
        return []
    sessions = _month_sessions(s, m).where(CourseSession.date > today).subquery()
    stmt = (
        select(sessions.c.id, sessions.c.date, sessions.c.start_time, sessions.c.code, Attendance.id)
        .join(Attendance, Attendance.session_id == sessions.c.id)
        .where(Attendance.deleted_at.is_(None))
    )
    counts: dict[tuple, int] = defaultdict(int)
    for sid, day, start, code, _aid in s.execute(stmt):
        counts[(day, code, start, sid)] += 1
    return [
        Finding("future-marks", _("{course} {date} {time}: {n} attendance marks on a session that has not taken place yet.").format(
            course=code, date=format_date(day), time=f"{start:%H:%M}", n=n), "sessions", sid)
        for (day, code, start, sid), n in sorted(counts.items())
    ]


def _unsigned(s, m: Month, hours: dict[str, Decimal], people: dict[str, str]) -> list[Finding]:
    got = set(s.execute(select(OriginalReceived.participant_id).where(
        OriginalReceived.month == m.key, OriginalReceived.deleted_at.is_(None))).scalars())
    text, label = _("{who}: {hours} hours in the closed month {month} and no signed original."), m.label()
    return [
        Finding("no-signed-original", text.format(who=people[pid], hours=mc.hours_text(hours[pid]), month=label), "participants", pid)
        for pid in sorted((p for p in hours if p not in got), key=lambda p: people[p])
    ]


def _deadlines(db: Database, m: Month, closed: set[str], today: date) -> list[Finding]:
    return [
        Finding("past-deadline", _("{month}: SCB's deadline {due} has passed and the month is not closed.").format(
            month=p.label(), due=format_date(mc.scb_due(p))), "months", p.key)
        for p in mc.project_months(db)
        if p.key <= m.key and p.key not in closed and mc.scb_due(p) < today
    ]
