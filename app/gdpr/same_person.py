"""Every record of one person, for an erasure: a person registered twice separately (two
participant ids that never merged) must not survive as the other record.

Two records are the same person when they carry the same personnummer or samordningsnummer, or,
for records without one (ESF's protected or temporary form YYYYMMDDTF29, which identifies no one,
or none at all), when first name, last name and birth date are the same as on one of the
person's records. A record with another real personnummer is never the same person. Deleted
records count: their data is still held until the erasure.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from app.db import Database
from app.models import Company, Participant
from app.validation import FieldError, mask_personal_number


@dataclass(frozen=True)
class PersonRecord:
    """One registration of the person, as the erasure dialog lists it (number masked)."""

    participant_id: str
    name: str
    masked_personal_number: str
    employer: str
    deleted: bool


def _real(pnr: str) -> bool:
    """A personnummer or samordningsnummer (12 digits), not the form that identifies no one."""
    return len(pnr or "") == 12 and pnr.isdigit()


def _name(first: str, last: str) -> tuple[str, str]:
    return (" ".join((first or "").split()).casefold(), " ".join((last or "").split()).casefold())


def _masked(pnr: str) -> str:
    try:
        return mask_personal_number(pnr)
    except (FieldError, ValueError):
        return f"{(pnr or '')[:8]}-****"


def records_of_person(db: Database, participant_id: str) -> list[PersonRecord]:
    """The person's records: this one first, then the others found (see the module's docstring)."""
    with db.read() as s:
        me = s.get(Participant, participant_id)
        if me is None:
            return []
        found = {me.id: me}
        numbers = {me.personal_number} if _real(me.personal_number) else set()
        if numbers:
            found.update((p.id, p) for p in s.scalars(select(Participant).where(Participant.personal_number.in_(numbers))))
        # the records without a real number whose name and birth date match one of those found
        keys = {(_name(p.first_name, p.last_name), (p.personal_number or "")[:8]) for p in found.values()}
        births = {b for _n, b in keys if b}
        if births:
            q = select(Participant).where(or_(*[Participant.personal_number.startswith(b) for b in births]))
            for p in s.scalars(q):
                if not _real(p.personal_number) and (_name(p.first_name, p.last_name), p.personal_number[:8]) in keys:
                    found[p.id] = p
        employers = dict(s.execute(select(Company.id, Company.name).where(
            Company.id.in_({p.company_id for p in found.values() if p.company_id})
        )).all())
        ordered = [me] + sorted((p for p in found.values() if p.id != me.id), key=lambda p: (p.deleted_at is not None, p.id))
        return [PersonRecord(p.id, f"{p.first_name} {p.last_name}".strip(), _masked(p.personal_number),
                             employers.get(p.company_id, "") if p.company_id else "", p.deleted_at is not None)
                for p in ordered]
