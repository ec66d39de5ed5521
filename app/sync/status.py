"""What the Sync page shows and does: partners, conflicts, "use the other value", last report.
Functions take the Database and return frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.db import Database
from app.errors import NotFound, UserError
from app.i18n import _
from app.models import Setting, SyncChange, SyncConflict, SyncOutBatch, SyncPeer, utcnow
from app.sync.capture import MODELS_BY_TABLE, decode_row


@dataclass(frozen=True)
class PartnerInfo:
    device: str
    seq: int
    updated_at: datetime | None
    status: str


@dataclass(frozen=True)
class ConflictInfo:
    id: str
    table: str
    record_id: str
    field: str
    kept_value: object
    other_value: object
    kind: str
    created_at: datetime | None


@dataclass(frozen=True)
class SyncOverview:
    folder: str
    pending_changes: int
    published_seq: int
    partners: tuple[PartnerInfo, ...]
    open_conflicts: int
    last_report: dict | None


def partner_states(db: Database) -> list[PartnerInfo]:
    with db.read() as s:
        return [PartnerInfo(p.device_id, p.seq, p.updated_at, p.status)
                for p in s.scalars(select(SyncPeer).order_by(SyncPeer.device_id))]


def list_conflicts(db: Database, include_resolved: bool = False) -> list[ConflictInfo]:
    with db.read() as s:
        q = select(SyncConflict).order_by(SyncConflict.created_at, SyncConflict.id)
        if not include_resolved:
            q = q.where(SyncConflict.resolved_at.is_(None))
        return [ConflictInfo(c.id, c.table_name, c.record_id, c.field, json.loads(c.kept_value),
                             json.loads(c.other_value), c.kind, c.created_at) for c in s.scalars(q)]


def overview(db: Database) -> SyncOverview:
    with db.read() as s:
        def get(key, default=""):
            row = s.get(Setting, key)
            return row.value if row is not None else default

        device = get("device_id")
        unwritten = select(SyncOutBatch.id).where(SyncOutBatch.written_at.is_(None), SyncOutBatch.source_id.is_(None))
        pending = s.query(SyncChange).filter(SyncChange.batch_id.is_(None) | SyncChange.batch_id.in_(unwritten)).count()
        seq = s.scalar(select(func.max(SyncOutBatch.seq)).where(SyncOutBatch.device_id == device,
                                                                 SyncOutBatch.written_at.is_not(None))) or 0
        open_conflicts = s.query(SyncConflict).filter(SyncConflict.resolved_at.is_(None)).count()
        last = get("sync_last_report")
        folder = get("sync_folder")
    return SyncOverview(folder, pending, seq, tuple(partner_states(db)), open_conflicts, json.loads(last) if last else None)


def dismiss_conflict(db: Database, conflict_id: str) -> None:
    with db.write() as s:
        c = s.get(SyncConflict, conflict_id)
        if c is None:
            raise NotFound(_("Conflict not found."))
        c.resolved_at = utcnow()


def use_other_value(db: Database, conflict_id: str) -> None:
    """Put the losing value back: a normal local change, which syncs like any edit."""
    with db.write() as s:
        c = s.get(SyncConflict, conflict_id)
        if c is None:
            raise NotFound(_("Conflict not found."))
        if c.kind == "unique":
            raise UserError(_("Two records cannot share this value; edit the record to choose another one."))
        model = MODELS_BY_TABLE[c.table_name]
        obj = s.get(model, c.record_id)
        if obj is None:
            raise NotFound(_("The record of this conflict no longer exists."))
        value = decode_row(c.table_name, {c.field: json.loads(c.other_value)})[c.field]
        setattr(obj, c.field, value)
        c.resolved_at = utcnow()


# --- changes that could not be applied (parked) -----------------------------------------------

def parked_changes(db: Database):
    """Partners' changes that could not be applied (yet), oldest first (app.sync.identity.ParkedChange)."""
    from app.sync.identity import parked_changes as parked

    with db.read() as s:
        return parked(s)
