"""Signed originals of the monthly time reports: ESF accepts only originals, so the coordinator
ticks off each participant's signed report as it comes back. Ticking one off stores the hours on
the report that was signed (the month's total for the person at that moment); when the month's
hours later differ, the original is flagged with both figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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
    signed_hours: object = None  # Decimal: the hours on the signed original (None: not known)

    @property
    def received(self) -> bool:
        return self.received_on is not None

    @property
    def signed_hours_differ(self) -> bool:
        """The signed hours differ from the month's hours today."""
        return self.received and self.signed_hours is not None and self.signed_hours != self.hours


def mark_original_received(db: Database, participant_id: str, month: str | Month, received_on: date | None = None) -> None:
    m = to_month(month)
    received_on = received_on or date.today()
    rows = month_hours(db, m, [participant_id], with_dates=False)
    signed = rows[0].hours if rows else Decimal("0.00")
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
            s.add(OriginalReceived(id=original_received_id(participant_id, m.key), participant_id=participant_id, month=m.key,
                                   received_on=received_on, signed_hours=signed))
        else:
            row.received_on = received_on
            row.signed_hours = signed
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
    return {pid: d for pid, (d, _h) in _received(db, month).items()}


def _received(db: Database, month: str | Month) -> dict[str, tuple[date, Decimal | None]]:
    m = to_month(month)
    with db.read() as s:
        rows = s.execute(
            select(OriginalReceived.participant_id, OriginalReceived.received_on, OriginalReceived.signed_hours).where(
                OriginalReceived.month == m.key, OriginalReceived.deleted_at.is_(None)
            )
        ).all()
    return {pid: (d, None if h is None else Decimal(str(h)).quantize(Decimal("0.01"))) for pid, d, h in rows}


def originals_checklist(db: Database, month: str | Month, *, today: date | None = None) -> list[OriginalStatus]:
    """Every participant with a time report in the month, and whether the original came back;
    also a received original whose person has no hours in the month any more (its signed hours
    then differ)."""
    m = to_month(month)
    received = _received(db, m)
    result = []
    for r in month_hours(db, m, today=today, with_dates=False):
        on, signed = received.pop(r.participant_id, (None, None))
        result.append(
            OriginalStatus(
                participant_id=r.participant_id,
                full_name=r.full_name,
                masked_personal_number=_masked(r.personal_number),
                company_name=r.company_name,
                hours=r.hours,
                received_on=on,
                signed_hours=signed,
            )
        )
    if received:  # signed originals of people without hours now
        with db.read() as s:
            people = s.execute(
                select(Participant.id, Participant.first_name, Participant.last_name, Participant.personal_number)
                .where(Participant.id.in_(sorted(received)))
            ).all()
        for pid, first, last, pnr in sorted(people, key=lambda p: (p[2].casefold(), p[1].casefold(), p[0])):
            on, signed = received[pid]
            result.append(OriginalStatus(pid, f"{first} {last}".strip(), _masked(pnr), "", Decimal("0.00"), on, signed))
    return result


def signed_hours_differ(db: Database, month: str | Month, *, today: date | None = None) -> list[OriginalStatus]:
    """Originals whose signed hours differ from the month's hours today."""
    return [row for row in originals_checklist(db, month, today=today) if row.signed_hours_differ]


def missing_originals(db: Database, month: str | Month, *, today: date | None = None) -> list[OriginalStatus]:
    """Participants with a time report in the month whose signed original has not come back."""
    return [row for row in originals_checklist(db, month, today=today) if not row.received]


def _masked(pnr: str) -> str:
    try:
        return mask_personal_number(pnr)
    except ValueError:
        return ""
