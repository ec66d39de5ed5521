"""Identity: what makes two records one, the same on every laptop (DESIGN section 2).

A participant is one personnummer or samordningsnummer (`personal_number`; an empty value, or one
with letters such as ESF's protected form `19800101TF29`, identifies no one), a company one
organisation number (non-empty `org_number`), an enrollment one (course, participant), a mark one
(session, participant), an original one (participant, month), a need link one (need, course).

When sync brings two records with one identity (live ones, and deleted ones too: see
app/sync/merge.py), the merge keeps the one with the smaller id, merges the two per field by their
clocks, moves every reference to the loser onto the survivor, tombstones the loser and remembers
the pair (SyncAlias) so that later changes to the loser reach the survivor. No laptop needs to
tell another: each does the same.

    merge_duplicates(session)      # duplicates already in a database (migration 0003)
    parked_changes(session)        # partners' changes that could not be applied yet, for the Sync page
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import _
from app.models import SYNCED_MODELS, SyncParked

IDENTITY: dict[str, tuple[str, ...]] = {
    "companies": ("org_number",),
    "participants": ("personal_number",),
    "need_courses": ("need_id", "course_id"),
    "enrollments": ("course_id", "participant_id"),
    "attendance": ("session_id", "participant_id"),
    "originals_received": ("participant_id", "month"),
}
IDENTITY_SET = {t: frozenset(c) for t, c in IDENTITY.items()}
_LETTERS = re.compile(r"[A-Za-z]")  # the protected form (Tf29, Tf19): the database's NOT GLOB '*[A-Za-z]*'

# foreign keys of every synced table: table -> [(column, referred table)], and the other way round
FOREIGN_KEYS: dict[str, list[tuple[str, str]]] = {
    m.__tablename__: [(c.key, fk.column.table.name) for c in m.__table__.columns for fk in c.foreign_keys]
    for m in SYNCED_MODELS
}
REFERRERS: dict[str, list[tuple[str, str]]] = {}
for _table, _fks in FOREIGN_KEYS.items():
    for _col, _ref in _fks:
        REFERRERS.setdefault(_ref, []).append((_table, _col))


def identity_of(table: str, row: dict[str, Any]) -> tuple | None:
    """The identity of a record (its values as sync encodes them), or None when it has none."""
    cols = IDENTITY.get(table)
    if cols is None:
        return None
    if len(cols) == 2:
        a, b = row.get(cols[0]), row.get(cols[1])
        return (a, b) if a and b else None
    a = row.get(cols[0])
    if not a or not isinstance(a, str) or (table == "participants" and _LETTERS.search(a)):
        return None
    return (a,)


def merge_duplicates(session: Session, state=None) -> int:
    """Merge the live records that share an identity in this database (same rules as sync);
    returns how many records were merged away. Runs in the caller's transaction."""
    from app.sync.merge import Merger

    merger = Merger(session, state)
    return merger.merge_existing()


# --- parked changes --------------------------------------------------------------------------

REASON_CODES = ("missing-reference", "invalid", "check", "unique", "incomplete", "waiting", "error")


def reason_text(code: str) -> str:
    """The human reason for a parking reason code (in the current language)."""
    texts = {
        "missing-reference": _("a record it refers to has not arrived"),
        "invalid": _("a value is outside the limits (length, control characters or number bounds)"),
        "check": _("a value breaks a rule of the database (a status or a time range)"),
        "unique": _("another record already holds a value that must be unique"),
        "incomplete": _("a required field is missing (the record was never created here)"),
        "waiting": _("an earlier change of the same record is parked"),
    }
    return texts.get(code, _("the database refused it"))


@dataclass(frozen=True)
class ParkedChange:
    id: int
    device: str
    batch_seq: int
    table: str
    record_id: str
    reason: str  # a code of REASON_CODES
    reason_text: str  # the same, for people (current language)
    detail: str  # field, table names and ids only
    parked_at: datetime
    retried_at: datetime | None


def parked_changes(session: Session) -> list[ParkedChange]:
    """Partners' changes that wait in the parked list, oldest first."""
    rows = session.execute(select(SyncParked).order_by(SyncParked.id)).scalars().all()
    return [
        ParkedChange(r.id, r.device_id, r.batch_seq, r.table_name, r.record_id, r.reason, reason_text(r.reason),
                     r.detail or "", r.parked_at, r.retried_at)
        for r in rows
    ]
