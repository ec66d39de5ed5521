"""Retention (gallring): who is due for erasure, and erasing them (`kursdesk gdpr purge`).

The project keeps its participants' records until the retention date from the grant decision
(Settings: gdpr.retention_until; the funder may audit until then: Art. 17(3)(b)). People who
never took part (only waitlisted or withdrawn, no attended minutes, no certificate) have no such
basis: they are due once nothing about them has changed for gdpr.nonparticipant_months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, func, or_, select

from app.db import Database
from app.errors import NotFound, UserError
from app.gdpr import erasure
from app.gdpr.settings import get_gdpr_settings
from app.i18n import _, format_date
from app.models import Attendance, Certificate, CourseSession, Enrollment, Participant
from app.validation import FieldError, mask_personal_number, normalize_personal_number


class RetentionApplies(UserError):
    """An erasure on request refused: the funder's retention still applies (erase with force)."""


def _masked(pnr: str) -> str:
    """Masked as everywhere; a form the validator does not know (ESF's protected YYYYMMDD-TF29)
    keeps only its birth date."""
    try:
        return mask_personal_number(pnr)
    except (FieldError, ValueError):
        return f"{pnr[:8]}-****"


@dataclass(frozen=True)
class Due:
    participant_id: str
    masked_personal_number: str
    reason: str  # retention | never-participated


def _took_part(s, pid_filter=None):
    """Participant ids that took part: attended minutes, a certificate, or an enrollment that is
    (or was) on the course itself."""
    attended = (select(Attendance.participant_id)
                .join(CourseSession, CourseSession.id == Attendance.session_id)
                .where(Attendance.deleted_at.is_(None), CourseSession.deleted_at.is_(None), CourseSession.cancelled.is_(False),
                       or_(and_(Attendance.status == "present", or_(Attendance.minutes.is_(None), Attendance.minutes > 0)),
                           and_(Attendance.status == "late", Attendance.minutes > 0))))
    certified = select(Certificate.participant_id)
    enrolled = select(Enrollment.participant_id).where(Enrollment.deleted_at.is_(None),
                                                       Enrollment.status.in_(("enrolled", "completed")))
    out = set()
    for q in (attended, certified, enrolled):
        if pid_filter is not None:
            q = q.where(q.selected_columns[0].in_(pid_filter))
        out.update(s.scalars(q))
    return out


def took_part(db: Database, participant_id: str | list[str]) -> bool:
    """Whether the person (any of these records) took part."""
    ids = [participant_id] if isinstance(participant_id, str) else list(participant_id)
    with db.read() as s:
        return bool(_took_part(s, ids))


def _last_change(s) -> dict[str, datetime]:
    last = dict(s.execute(select(Participant.id, func.max(Participant.updated_at)).group_by(Participant.id)).all())
    for pid, at in s.execute(select(Enrollment.participant_id, func.max(Enrollment.updated_at)).group_by(Enrollment.participant_id)):
        if pid in last and at and at > last[pid]:
            last[pid] = at
    return last


def _months_before(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, 28))


def due_for_erasure(db: Database, today: date | None = None) -> list[Due]:
    """Everyone due today: all participants once the retention date has passed; before that, the
    people who never took part and have not changed for the shorter period."""
    today = today or date.today()
    settings = get_gdpr_settings(db)
    with db.read() as s:
        people = s.execute(select(Participant.id, Participant.personal_number).order_by(Participant.id)).all()
        if settings.retention_until is not None and today > settings.retention_until:
            return [Due(pid, _masked(pnr), "retention") for pid, pnr in people]
        took = _took_part(s)
        last = _last_change(s)
    cutoff = datetime.combine(_months_before(today, settings.nonparticipant_months), time())
    return [Due(pid, _masked(pnr), "never-participated") for pid, pnr in people
            if pid not in took and last.get(pid) is not None and last[pid] < cutoff]


def purge(db: Database, *, dry_run: bool = False, today: date | None = None) -> list[Due]:
    """Erase everyone due (one erasure per reason); with dry_run only list them."""
    due = due_for_erasure(db, today)
    if dry_run or not due:
        return due
    for reason in ("retention", "never-participated"):
        ids = [d.participant_id for d in due if d.reason == reason]
        if ids:
            erasure.erase(db, ids, reason, today=today)
    return due


def find_person(db: Database, personal_number: str) -> str:
    """The participant id for a personnummer in any written form (a live record first, else a
    deleted one: its data is still held)."""
    try:
        pnr = normalize_personal_number(personal_number)
    except FieldError as exc:
        raise UserError(exc.message) from None
    with db.read() as s:
        rows = s.execute(select(Participant.id, Participant.deleted_at).where(Participant.personal_number == pnr)
                         .order_by(Participant.deleted_at.is_not(None), Participant.deleted_at.desc())).all()
    if not rows:
        raise NotFound(_("No participant with the personal identity number {pnr} is registered.").format(pnr=mask_personal_number(pnr)))
    return rows[0][0]


def erase_on_request(db: Database, participant_id: str | list[str], reason_text: str = "", *, force: bool = False,
                     today: date | None = None) -> erasure.Erased:
    """Erase one person who asked for it (a participant id, or every record of the person:
    app/gdpr/same_person.py). Refused while the funder's retention applies to them (they took
    part, and the retention date has not passed or is not set) unless `force`, which the erasure
    and the audit log record."""
    today = today or date.today()
    settings = get_gdpr_settings(db)
    bound = took_part(db, participant_id) and (settings.retention_until is None or today <= settings.retention_until)
    if bound and not force:
        if settings.retention_until is None:
            raise RetentionApplies(_("This person took part, and no retention date is set in Settings: the funder may still audit their records. Erase anyway only with --force (it is recorded)."))
        raise RetentionApplies(_("This person took part, and the funder's retention applies until {date}. Erase before then only with --force (it is recorded).").format(
            date=format_date(settings.retention_until)))
    return erasure.erase(db, participant_id, "request", forced=bound, detail=reason_text, today=today, one_person=True)
