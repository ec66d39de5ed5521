"""Anmälan: participants in courses, with a capacity and a waitlist.

Places are taken by enrolled and completed participants. Beyond the course's capacity new
participants are waitlisted; when a place frees up (a withdrawal, a larger capacity) the first
waitlisted participant (by created_at, i.e. by when they joined the waitlist) moves up.
An enrollment's id is derived from course and participant (models.enrollment_id), so two
laptops that enrol the same person offline create one record; re-enrolling a withdrawn
participant reactivates the same row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import NotFound, Problem, ValidationError
from app.i18n import _
from app.models import ENROLLMENT_STATUSES, Company, Course, Enrollment, Participant, enrollment_id, utcnow
from app.services._checks import alive, sort_key
from app.validation import mask_personal_number

PLACE_TAKING = ("enrolled", "completed")
ACTIVE = ("enrolled", "waitlisted", "completed")
_ORDER = {"enrolled": 0, "completed": 1, "waitlisted": 2, "withdrawn": 3}


@dataclass(frozen=True)
class EnrollmentRow:
    id: str
    course_id: str
    course_code: str
    course_title: str
    participant_id: str
    full_name: str
    masked_personal_number: str
    company_name: str
    status: str


@dataclass(frozen=True)
class EnrollResult:
    """Participant ids by outcome."""

    enrolled: tuple[str, ...]
    waitlisted: tuple[str, ...]
    already: tuple[str, ...]


def _rows(s: Session, *where) -> list[EnrollmentRow]:
    company_name = func.coalesce(Company.name, "")
    q = (
        select(
            Enrollment.id,
            Enrollment.course_id,
            Course.code,
            Course.title,
            Enrollment.participant_id,
            Participant.first_name,
            Participant.last_name,
            Participant.personal_number,
            company_name,
            Enrollment.status,
            Enrollment.created_at,
        )
        .join(Course, Course.id == Enrollment.course_id)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .outerjoin(Company, (Company.id == Participant.company_id) & alive(Company))
        .where(alive(Enrollment), alive(Course), alive(Participant), *where)
    )
    found = s.execute(q).all()
    found.sort(
        key=lambda r: (
            r.code.lower(),
            _ORDER.get(r.status, 9),
            r.created_at.isoformat() if r.status == "waitlisted" and r.created_at else "",
            sort_key(r.last_name),
            sort_key(r.first_name),
        )
    )
    return [
        EnrollmentRow(
            id=r.id,
            course_id=r.course_id,
            course_code=r.code,
            course_title=r.title,
            participant_id=r.participant_id,
            full_name=f"{r.first_name} {r.last_name}",
            masked_personal_number=mask_personal_number(r.personal_number),
            company_name=r[8],
            status=r.status,
        )
        for r in found
    ]


def list_enrollments(db: Database, course_id: str) -> list[EnrollmentRow]:
    """A course's enrollments: enrolled, completed, waitlisted (queue order), withdrawn."""
    with db.read() as s:
        return _rows(s, Enrollment.course_id == course_id)


def participant_enrollments(db: Database, participant_id: str) -> list[EnrollmentRow]:
    with db.read() as s:
        return _rows(s, Enrollment.participant_id == participant_id)


def get_enrollment(db: Database, enrollment_id_: str) -> EnrollmentRow:
    with db.read() as s:
        rows = _rows(s, Enrollment.id == enrollment_id_)
    if not rows:
        raise NotFound(_("The enrollment was not found."))
    return rows[0]


def _live_course(s: Session, course_id: str) -> Course:
    course = s.get(Course, course_id)
    if course is None or course.deleted_at is not None:
        raise NotFound(_("The course was not found."))
    return course


def _count(s: Session, course_id: str, statuses: Iterable[str]) -> int:
    return s.execute(
        select(func.count())
        .select_from(Enrollment)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(
            Enrollment.course_id == course_id,
            Enrollment.status.in_(tuple(statuses)),
            alive(Enrollment),
            alive(Participant),
        )
    ).scalar_one()


def promote_waitlisted(s: Session, course: Course) -> tuple[str, ...]:
    """Move waitlisted participants up into free places (inside an open write session).
    Returns the enrollment ids that moved up."""
    q = (
        select(Enrollment)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(
            Enrollment.course_id == course.id,
            Enrollment.status == "waitlisted",
            alive(Enrollment),
            alive(Participant),
        )
        .order_by(Enrollment.created_at, Enrollment.id)
    )
    if course.capacity is not None:
        free = course.capacity - _count(s, course.id, PLACE_TAKING)
        if free <= 0:
            return ()
        q = q.limit(free)
    moved = s.execute(q).scalars().all()
    for row in moved:
        row.status = "enrolled"
    return tuple(row.id for row in moved)


def enroll(db: Database, course_id: str, participant_ids: Iterable[str]) -> EnrollResult:
    """Enrol participants: up to the capacity as enrolled, beyond it waitlisted (in the given
    order); those already enrolled, waitlisted or completed are reported as `already`."""
    with db.write() as s:
        return enroll_in_session(s, course_id, participant_ids)


def enroll_in_session(s: Session, course_id: str, participant_ids: Iterable[str]) -> EnrollResult:
    """`enroll` inside a write transaction the caller holds (e.g. a list import that creates
    the participants first): the same capacity, waitlist and re-enrolment rules."""
    wanted = list(dict.fromkeys(participant_ids))
    enrolled: list[str] = []
    waitlisted: list[str] = []
    already: list[str] = []
    course = _live_course(s, course_id)
    people = set(s.execute(select(Participant.id).where(Participant.id.in_(wanted), alive(Participant))).scalars())
    missing = [pid for pid in wanted if pid not in people]
    if missing:
        raise ValidationError(
            [Problem("participant_id", _("The participant was not found."), "participant", pid) for pid in missing]
        )
    promote_waitlisted(s, course)
    taken = _count(s, course.id, PLACE_TAKING)
    existing = {
        e.participant_id: e
        for e in s.execute(
            select(Enrollment).where(Enrollment.course_id == course.id, Enrollment.participant_id.in_(wanted))
        ).scalars()
    }
    base = utcnow()
    for i, pid in enumerate(wanted):
        row = existing.get(pid)
        if row is not None and row.deleted_at is None and row.status in ACTIVE:
            already.append(pid)
            continue
        full = course.capacity is not None and taken >= course.capacity
        status = "waitlisted" if full else "enrolled"
        stamp = base + timedelta(microseconds=i)
        if row is None:
            s.add(
                Enrollment(
                    id=enrollment_id(course.id, pid),
                    course_id=course.id,
                    participant_id=pid,
                    status=status,
                    created_at=stamp,
                )
            )
        else:
            row.status = status
            row.deleted_at = None
            if full:
                # joins the back of the queue, not the place it had before withdrawing
                row.created_at = stamp
        if full:
            waitlisted.append(pid)
        else:
            taken += 1
            enrolled.append(pid)
    return EnrollResult(tuple(enrolled), tuple(waitlisted), tuple(already))


def withdraw(db: Database, enrollment_id_: str) -> tuple[str, ...]:
    """Withdraw an enrollment; returns the ids of enrollments that moved up from the waitlist."""
    return set_enrollment_status(db, enrollment_id_, "withdrawn")


def set_enrollment_status(db: Database, enrollment_id_: str, status: str) -> tuple[str, ...]:
    """Set the status (a correction or an undo; the capacity is not checked); a freed place
    goes to the first waitlisted participant. Returns the ids of enrollments that moved up."""
    if status not in ENROLLMENT_STATUSES:
        raise ValidationError(
            Problem(
                "status",
                _("Unknown enrollment status {status}: use enrolled, waitlisted, completed or withdrawn.").format(
                    status=status
                ),
                "enrollment",
                enrollment_id_,
            )
        )
    with db.write() as s:
        row = s.get(Enrollment, enrollment_id_)
        if row is None or row.deleted_at is not None:
            raise NotFound(_("The enrollment was not found."))
        course = _live_course(s, row.course_id)
        # created_at is kept: an undone withdrawal gets its old place in the queue back
        row.status = status
        s.flush()
        return promote_waitlisted(s, course)
