"""ESF's codes for the funder's reporting: the type of organisation of a company, and the project data
SCB asks for when a participant ends (ESF "Sammanställning deltagare PO1", columns N-V; see
README "Reporting to the funder"). Each code keeps ESF's Swedish wording as its translation.

Also the proposals for a participant's project dates: the start is the first attended session; the
end is proposed when the person's last course is over, or on withdrawal. The coordinator declares
them (an inferred end date would change after it was sent to SCB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select

from app.db import Database
from app.i18n import N_, _
from app.models import ORGANISATION_TYPES, Attendance, Course, CourseSession, Enrollment
from app.validation import FieldError, parse_date

# in ESF's order; the msgids are English, the Swedish catalog holds ESF's words verbatim
ORGANISATION_TYPE_LABELS: dict[str, str] = dict(
    zip(
        ORGANISATION_TYPES,
        (
            N_("Private actor"),
            N_("Municipality"),
            N_("County council"),
            N_("Other state actor"),
            N_("Other public, non-state actor"),
            N_("Swedish Public Employment Service"),
            N_("Swedish Social Insurance Agency"),
        ),
    )
)

EXIT_REASONS = {
    1: N_("Completed the project"),
    2: N_("Work"),
    3: N_("Studies"),
    4: N_("Dropped out of the project (or the reason is unknown)"),
    5: N_("Other reason"),
}
EXIT_STATUSES = {
    1: N_("Works as an employee"),
    2: N_("Works in own business"),
    3: N_("Studies"),
    4: N_("Has an apprenticeship"),
    5: N_("Has a work placement"),
    6: N_("Looking for work"),
    7: N_("Other"),
}
EMPLOYMENT_TERMS = {1: N_("Permanent"), 2: N_("Fixed-term"), 3: N_("Don't know")}
EMPLOYMENT_EXTENT = {1: N_("Part-time"), 2: N_("Full-time"), 3: N_("Don't know")}

# field -> its codes (the bundle, the form and the service share these)
CODES: dict[str, dict[int, str]] = {
    "exit_reason": EXIT_REASONS,
    "exit_status": EXIT_STATUSES,
    "employment_terms": EMPLOYMENT_TERMS,
    "employment_extent": EMPLOYMENT_EXTENT,
}


def organisation_type(value: object) -> str:
    """A bundle or form value -> one of ORGANISATION_TYPES or '' (not set); FieldError otherwise."""
    text = "" if value is None else str(value).strip()
    if text and text not in ORGANISATION_TYPES:
        raise FieldError(
            "organisation_type",
            _("Unknown type of organisation {value}: use one of {codes}, or leave it empty.").format(
                value=text[:40], codes=", ".join(ORGANISATION_TYPES)
            ),
        )
    return text


def code(field: str, value: object) -> int | None:
    """One of ESF's codes of `field` (an integer, empty = None); FieldError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    codes = CODES[field]
    try:
        number = int(value) if not isinstance(value, (bool, float)) else None
    except (TypeError, ValueError):
        number = None
    if number not in codes:
        raise FieldError(field, _("Use a code from 1 to {last}, or leave it empty.").format(last=max(codes)))
    return number


def optional_date(field: str, value: object) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value, field)


@dataclass(frozen=True)
class ProposedDates:
    """What the participant's page proposes: the first attended session, and the end (the last
    session of the last course once it is over, or the last attended session on withdrawal)."""

    start: date | None
    end: date | None


def _attended():
    return or_(
        and_(Attendance.status == "present", Attendance.minutes.is_(None)),
        and_(Attendance.status.in_(("present", "late")), Attendance.minutes > 0),
    )


def proposed_dates(db: Database, participant_id: str, *, today: date | None = None) -> ProposedDates:
    today = today or date.today()
    marks = (
        select(func.min(CourseSession.date), func.max(CourseSession.date))
        .join(Attendance, Attendance.session_id == CourseSession.id)
        .join(Course, Course.id == CourseSession.course_id)
        .where(
            Attendance.participant_id == participant_id,
            Attendance.deleted_at.is_(None),
            CourseSession.deleted_at.is_(None),
            CourseSession.cancelled.is_(False),
            Course.deleted_at.is_(None),
            CourseSession.date <= today,
            _attended(),
        )
    )
    courses = (
        select(Enrollment.status, func.max(CourseSession.date))
        .join(CourseSession, CourseSession.course_id == Enrollment.course_id)
        .join(Course, Course.id == Enrollment.course_id)
        .where(
            Enrollment.participant_id == participant_id,
            Enrollment.deleted_at.is_(None),
            Enrollment.status != "waitlisted",
            CourseSession.deleted_at.is_(None),
            CourseSession.cancelled.is_(False),
            Course.deleted_at.is_(None),
        )
        .group_by(Enrollment.id)
    )
    with db.read() as s:
        first, last_attended = s.execute(marks).one()
        ends = s.execute(courses).all()
    if first is None:
        return ProposedDates(None, None)  # never attended: not a participant yet
    active = [last for status, last in ends if status in ("enrolled", "completed")]
    if active:
        end = max(active) if max(active) <= today else None  # a course still running: no end yet
    else:
        end = last_attended  # withdrawn from everything
    return ProposedDates(first, end)
