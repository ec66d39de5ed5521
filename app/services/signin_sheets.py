"""Sign-in sheets: the plain data of a course's sessions (read here), drawn by
app/documents/signin_sheet.py, which never reads the database.

The ESF case number printed on the sheets is the project setting `esf.case_number`, empty when
not set. A person with protected personal data is shown by name only: the sheet passes from hand
to hand, so neither employer nor birth date is printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import and_, select

from app.db import Database
from app.documents.signin_sheet import SheetData, SheetRow, SheetSession, draw_signin_sheet
from app.errors import NotFound, Problem, UserError, ValidationError
from app.i18n import N_, current_language, format_date, translate_in
from app.models import Company, Course, Enrollment, Participant
from app.progress import Cancelled, Progress, keep_going
from app.services.attendance import ACTIVE_STATUSES, SessionRow, course_sessions, participant_sort_key
from app.services.settings import get_project_settings, get_settings
from app.validation import birth_date_from_personal_number

NO_SESSIONS = N_("Course {code} has no sessions to print.")
NOT_OF_COURSE = N_("The session is not a session of course {code}.")
CANCELLED = N_("The session on {date} is cancelled.")
COURSE_NOT_FOUND = N_("Course {code} not found.")


def _course(db: Database, course_id: str) -> Course:
    with db.read() as s:
        course = s.get(Course, course_id)
        if course is None or course.deleted_at is not None:
            raise NotFound(translate_in(current_language(), COURSE_NOT_FOUND).format(code=course_id))
        return course


def _rows(db: Database, course_id: str, lang: str) -> tuple[SheetRow, ...]:
    with db.read() as s:
        people = s.execute(
            select(Participant.first_name, Participant.last_name, Participant.personal_number, Company.name,
                   Participant.protected)
            .select_from(Enrollment)
            .join(Participant, Participant.id == Enrollment.participant_id)
            .outerjoin(Company, and_(Company.id == Participant.company_id, Company.deleted_at.is_(None)))
            .where(Enrollment.course_id == course_id, Enrollment.deleted_at.is_(None),
                   Enrollment.status.in_(ACTIVE_STATUSES), Participant.deleted_at.is_(None))
        ).all()
    people = sorted(people, key=lambda r: participant_sort_key(r[1], r[0]))
    rows = []
    for first, last, pnr, company, protected in people:
        if protected:
            rows.append(SheetRow(f"{first} {last}".strip(), "", ""))
            continue
        try:
            born = format_date(birth_date_from_personal_number(pnr), "short", lang)
        except ValueError:
            born = ""
        rows.append(SheetRow(f"{first} {last}".strip(), company or "", born))
    return tuple(rows)


def _chosen(course: Course, sessions: list[SessionRow], session_ids: Iterable[str] | None, lang: str) -> list[SessionRow]:
    if session_ids is None:
        chosen = [x for x in sessions if not x.cancelled]
    else:
        by_id = {x.id: x for x in sessions}
        chosen = []
        for sid in session_ids:
            session = by_id.get(sid)
            if session is None:
                raise ValidationError(Problem("session", translate_in(lang, NOT_OF_COURSE).format(code=course.code)))
            if session.cancelled:
                raise ValidationError(Problem(
                    "session", translate_in(lang, CANCELLED).format(date=format_date(session.date, "short", lang))))
            chosen.append(session)
        chosen.sort(key=lambda x: (x.date, x.start))
    if not chosen:
        raise UserError(translate_in(lang, NO_SESSIONS).format(code=course.code))
    return chosen


def course_sheets(db: Database, course_id: str, session_ids: Iterable[str] | None, lang: str) -> list[SheetSession]:
    """The sheets of a course's sessions (default: every session not cancelled), by date."""
    course = _course(db, course_id)
    rows = _rows(db, course_id, lang)
    return [
        SheetSession(course.code, course.title, x.date, x.start, x.end, x.location or course.location or "",
                     x.teacher or course.teacher or "", rows)
        for x in _chosen(course, course_sessions(db, course_id), session_ids, lang)
    ]


def sheet_data(db: Database, sessions: list[SheetSession], lang: str) -> SheetData:
    settings = get_settings(db)
    return SheetData(
        organisation_name=settings.organisation_name,
        programme_name=settings.programme_name,
        logo_path=settings.logo_path,
        case_number=get_project_settings(db).case_number.strip(),
        sessions=tuple(sessions),
        lang=lang,
    )


def write_signin_sheet(
    db: Database,
    course_id: str,
    out_path: str | os.PathLike,
    session_ids: list[str] | None = None,
    lang: str | None = None,
) -> Path:
    """The sign-in sheet of the given sessions of a course (default: every session that is not
    cancelled), one page group per session; returns the path written."""
    lang = lang or current_language()
    return draw_signin_sheet(sheet_data(db, course_sheets(db, course_id, session_ids, lang), lang), Path(out_path))


def write_signin_sheets(
    db: Database,
    sessions: list[tuple[str, str]],
    out_path: str | os.PathLike,
    lang: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """The sheets of several courses' sessions ((course id, session id), in that order) in one file."""
    lang = lang or current_language()
    sheets: list[SheetSession] = []
    for done, (course_id, session_id) in enumerate(sessions):
        if not keep_going(progress, done, len(sessions) + 1):
            raise Cancelled()
        sheets += course_sheets(db, course_id, [session_id], lang)
    path = draw_signin_sheet(sheet_data(db, sheets, lang), Path(out_path))
    keep_going(progress, len(sessions) + 1, len(sessions) + 1)
    return path
