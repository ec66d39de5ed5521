"""Restore points: what a sync run's import changed, so that "Undo last sync" can put it back.

    point = open_point(db, large=...)          # engine: before the run's first batch is applied
    keep_rows(session, point, merger.restore)  # engine: in each batch's transaction
    result = restore_before_last_sync(db)      # the Sync page's "Undo last sync", tests
    info = last_restore_point(db)              # the Sync page: is there something to undo?

A restore point costs what the import costs, not what the database weighs:

- Row-level (the usual, incremental sync): before a batch is applied, the prior value of every
  record field it changes (and "did not exist" for the records it adds) goes into
  `sync_restore_rows`, in the batch's own transaction. Undo writes the prior values back as
  *local changes* (a new edit with a new clock stamp), so they are published at the next sync and
  every laptop of the programme returns to the state before the bad batch; records the batch
  added are deleted (tombstone). A field edited again after the sync (its value is no longer the
  one the batch wrote) is left alone and counted as skipped. The partners' cursors stay where they
  are: the batches count as applied and then undone (audited as "undone").
- Full copy (a large import: the first sync of this laptop, or thousands of changes): copying the
  database (db.backup) costs little next to the import itself, and row-level prior states of
  100,000s of new records would cost more. Undo puts the copy back in place of the database: a
  local-only revert, exactly the state before the run, including the partners' cursors, so the
  next sync imports those batches again. It is refused once this laptop has published batches
  after that run (the copy would not know them).

The last KEEP_POINTS restore points are kept.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, select, update

from app.db import Database
from app.errors import UserError
from app.i18n import _
from app.models import SYNCED_MODELS, SyncAudit, SyncConflict, SyncOutBatch, SyncRestorePoint, SyncRestoreRow, utcnow
from app.sync.capture import CHUNK, FIELDS, MODELS_BY_TABLE, _dumps, _insert_many, decode_row, encode_row, state_of

log = logging.getLogger(__name__)

KEEP_POINTS = 5
FULL_COPY_CHANGES = 5000  # an import of at least this many changes takes a full copy instead of row states


@dataclass(frozen=True)
class RestorePointInfo:
    id: int
    created_at: datetime
    full_copy: bool
    batches: int
    changes: int
    restored: bool


@dataclass(frozen=True)
class RestoreResult:
    point_id: int
    full_copy: bool
    records: int  # records put back (row-level) ...
    skipped: int  # ... fields left alone because they were edited again after the sync


def _own_seq(s) -> int:
    """How many batches this laptop has reserved for publishing (under any of its identities)."""
    return s.scalar(select(func.max(SyncOutBatch.id))) or 0


def open_point(db: Database, *, large: bool) -> tuple[int, bool]:
    """Take the run's restore point: a full copy when `large`, else an empty row-level point.
    Returns (point id, row_level)."""
    backup = ""
    if large and db.is_sqlite:
        # a failure to copy stops the sync here (loud), never a point without the copy it promised
        backup = str(db.backup("before-sync"))
    elif large:
        # a server's database is not put back from a copy under its other clients: row states
        log.info("sync: a row-level restore point on the database server (no full copy)")
    with db.write() as s:
        point = SyncRestorePoint(backup=backup, own_seq=_own_seq(s), batches="[]")
        s.add(point)
        s.flush()
        old = s.scalars(select(SyncRestorePoint.id).order_by(SyncRestorePoint.id.desc()).offset(KEEP_POINTS)).all()
        if old:
            s.execute(delete(SyncRestoreRow).where(SyncRestoreRow.point_id.in_(old)))
            s.execute(delete(SyncRestorePoint).where(SyncRestorePoint.id.in_(old)))
        return point.id, not backup


def keep_rows(session, point_id: int, device: str, seq: int, prior: list | None, changes: int) -> None:
    """In the batch's transaction: store its prior states (row-level points) and note the batch."""
    conn = session.connection()
    if prior:
        _insert_many(conn, SyncRestoreRow.__table__, [
            {"point_id": point_id, "table_name": t, "record_id": rid,
             "before": "" if before is None else _dumps(before), "after": _dumps(after)}
            for t, rid, before, after in prior
        ])
    point = session.get(SyncRestorePoint, point_id)
    batches = json.loads(point.batches or "[]")
    batches.append([device, seq])
    point.batches = json.dumps(batches)
    point.changes += changes


def last_restore_point(db: Database) -> RestorePointInfo | None:
    with db.read() as s:
        p = s.scalars(select(SyncRestorePoint).order_by(SyncRestorePoint.id.desc()).limit(1)).first()
        if p is None:
            return None
        return RestorePointInfo(p.id, p.created_at, bool(p.backup), len(json.loads(p.batches or "[]")), p.changes,
                                p.restored_at is not None)


def restore_before_last_sync(db: Database) -> RestoreResult:
    """Undo the import of the last sync run that applied partners' batches (see the module text)."""
    with db.read() as s:
        p = s.scalars(select(SyncRestorePoint).order_by(SyncRestorePoint.id.desc()).limit(1)).first()
        if p is None:
            raise UserError(_("There is no sync to undo on this laptop."))
        if p.restored_at is not None:
            raise UserError(_("The last sync has already been undone."))
        point_id, backup, own_seq, batches = p.id, p.backup, p.own_seq, p.batches
        published_since = _own_seq(s) != own_seq
    if backup:
        return _restore_copy(db, point_id, Path(backup), published_since, batches)
    return _restore_rows(db, point_id)


def _refuse_copy(published_since: bool, backup: Path) -> None:
    if published_since:
        raise UserError(_("This laptop has published changes since that sync, so its full copy cannot be put back. Undo is only possible right after the sync."))
    if not backup.exists():
        raise UserError(_("The copy of the database taken before that sync is gone; nothing was changed."))


def _restore_copy(db: Database, point_id: int, backup: Path, published_since: bool, batches: str) -> RestoreResult:
    _refuse_copy(published_since, backup)

    def still_the_last() -> None:
        # decided again once no other window or job has the database open (db.restore): a sync
        # that ran in between would be lost with the copy
        with db.read() as s:
            p = s.scalars(select(SyncRestorePoint).order_by(SyncRestorePoint.id.desc()).limit(1)).first()
            if p is None or p.id != point_id or p.restored_at is not None:
                raise UserError(_("Another sync ran meanwhile; the last sync has not been undone. Look at it again and try once more."))
            _refuse_copy(_own_seq(s) != p.own_seq, backup)

    # refused (DatabaseInUse) while another Kursdesk window or job has the database open
    db.restore(backup, check=still_the_last)
    state = state_of(db)
    state.clock = None  # the copy holds its own clock
    with db.write() as s:
        s.add(SyncAudit(event="undone", detail=f"full copy before restore point {point_id}; batches {batches}"))
    log.info("sync: import undone from the full copy (restore point %s)", point_id)
    return RestoreResult(point_id, True, 0, 0)


def _restore_rows(db: Database, point_id: int) -> RestoreResult:
    with db.write() as s:
        conn = s.connection()
        first: dict[tuple[str, str], tuple[dict | None, dict]] = {}
        t = SyncRestoreRow.__table__
        for table, rid, before, after in conn.execute(
            select(t.c.table_name, t.c.record_id, t.c.before, t.c.after).where(t.c.point_id == point_id).order_by(t.c.seq)
        ):
            b = json.loads(before) if before else None
            a = json.loads(after)
            key = (table, rid)
            if key not in first:
                first[key] = (b, a)
            else:  # a later batch of the same run changed the record again: the earliest prior state wins
                b0, a0 = first[key]
                if b0 is not None and b is not None:
                    b0 = {**b, **b0}
                first[key] = (b0, {**a0, **a})
        now = utcnow()
        records = skipped = 0
        for model in SYNCED_MODELS:
            table = model.__tablename__
            ids = [rid for (tb, rid) in first if tb == table]
            if not ids:
                continue
            cols = [model.__table__.c[k] for k in FIELDS[table]]
            current: dict[str, dict] = {}
            for i in range(0, len(ids), CHUNK):
                for row in conn.execute(select(*cols).where(model.__table__.c.id.in_(ids[i : i + CHUNK]))):
                    current[row.id] = encode_row(table, dict(row._mapping))
            by_keys: dict[tuple[str, ...], list[dict]] = {}
            for rid in ids:
                before, after = first[(table, rid)]
                cur = current.get(rid)
                if cur is None:
                    continue
                if before is None:  # the sync added the record: delete it, unless edited since
                    if cur.get("deleted_at") is None and all(cur.get(k) == v for k, v in after.items() if k != "deleted_at"):
                        values = {"deleted_at": now}
                    else:
                        skipped += 1
                        continue
                else:
                    same = {k: v for k, v in before.items() if cur.get(k) == after.get(k)}
                    skipped += len(before) - len(same)
                    values = decode_row(table, {k: v for k, v in same.items() if cur.get(k) != v})
                if values:
                    records += 1
                    by_keys.setdefault(tuple(sorted(values)), []).append({"id": rid, "updated_at": now, **values})
            for rows in by_keys.values():
                for i in range(0, len(rows), CHUNK):
                    s.execute(update(MODELS_BY_TABLE[table]), rows[i : i + CHUNK])  # captured: local changes
        point = s.get(SyncRestorePoint, point_id)
        point.restored_at = now
        s.execute(
            update(SyncConflict)
            .where(SyncConflict.created_at >= point.created_at, SyncConflict.resolved_at.is_(None))
            .values(resolved_at=now)
        )
        s.add(SyncAudit(event="undone", detail=f"restore point {point_id}: {records} records, {skipped} skipped; batches {point.batches}"))
    log.info("sync: import undone (restore point %s, %s records, %s skipped)", point_id, records, skipped)
    return RestoreResult(point_id, False, records, skipped)
