"""Signed originals of the monthly time reports: ESF accepts only originals, so the coordinator
ticks off each participant's signed report as it comes back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from sqlalchemy import select

from app.db import Database
from app.errors import NotFound
from app.i18n import _
from app.models import OriginalReceived, Participant, original_received_id
from app.services.reports import Month, month_hours, to_month
from app.validation import mask_personal_number


@dataclass(frozen=True)
class OriginalStatus:
    participant_id: str
    full_name: str
    masked_personal_number: str
    company_name: str
    hours: object  # Decimal: the month's hours on the report
    received_on: date | None

    @property
    def received(self) -> bool:
        return self.received_on is not None


def mark_original_received(db: Database, participant_id: str, month: str | Month, received_on: date | None = None) -> None:
    m = to_month(month)
    received_on = received_on or date.today()
    with db.write() as s:
        person = s.get(Participant, participant_id)
        if person is None or person.deleted_at is not None:
            raise NotFound(_("The participant was not found."))
        row = s.execute(
            select(OriginalReceived).where(
                OriginalReceived.participant_id == participant_id, OriginalReceived.month == m.key
            )
        ).scalar_one_or_none()
        if row is None:
            s.add(OriginalReceived(id=original_received_id(participant_id, m.key), participant_id=participant_id, month=m.key, received_on=received_on))
        else:
            row.received_on = received_on
            row.deleted_at = None


def unmark_original_received(db: Database, participant_id: str, month: str | Month) -> None:
    """Undo a mark (soft delete, so the change syncs)."""
    from app.models import utcnow

    m = to_month(month)
    with db.write() as s:
        row = s.execute(
            select(OriginalReceived).where(
                OriginalReceived.participant_id == participant_id,
                OriginalReceived.month == m.key,
                OriginalReceived.deleted_at.is_(None),
            )
        ).scalar_one_or_none()
        if row is not None:
            row.deleted_at = utcnow()


unmark = unmark_original_received


def received_originals(db: Database, month: str | Month) -> dict[str, date]:
    m = to_month(month)
    with db.read() as s:
        rows = s.execute(
            select(OriginalReceived.participant_id, OriginalReceived.received_on).where(
                OriginalReceived.month == m.key, OriginalReceived.deleted_at.is_(None)
            )
        ).all()
    return {pid: d for pid, d in rows}


def originals_checklist(db: Database, month: str | Month, *, today: date | None = None) -> list[OriginalStatus]:
    """Every participant with a time report in the month, and whether the original came back."""
    m = to_month(month)
    received = received_originals(db, m)
    result = []
    for r in month_hours(db, m, today=today, with_dates=False):
        result.append(
            OriginalStatus(
                participant_id=r.participant_id,
                full_name=r.full_name,
                masked_personal_number=_masked(r.personal_number),
                company_name=r.company_name,
                hours=r.hours,
                received_on=received.get(r.participant_id),
            )
        )
    return result


def missing_originals(db: Database, month: str | Month, *, today: date | None = None) -> list[OriginalStatus]:
    """Participants with a time report in the month whose signed original has not come back."""
    return [row for row in originals_checklist(db, month, today=today) if not row.received]


def _masked(pnr: str) -> str:
    try:
        return mask_personal_number(pnr)
    except ValueError:
        return ""
