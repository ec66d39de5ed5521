"""Merge a partner's changes into this database, in one transaction (the caller's session).

Per field, the newest HLC wins (ties cannot happen between devices: the stamp ends with the
device id), so every laptop keeps the same value whatever order batches arrive in. A concurrent
edit of the same field (the writer had not seen the other value) keeps the losing value in
`sync_conflicts`. A deletion is the `deleted_at` field plus the newest clock the deleter had seen;
an edit the deleter had not seen brings the record back (an edit beats a concurrent deletion).
Two records that claim the same unique value (two laptops made course code X offline) both stay:
the one with the larger id gets `<value>~<4 chars of its id>` as a normal, synced change, and a
conflict names it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.models import SYNCED_MODELS, SyncConflict, new_id
from app.sync.capture import (
    CHUNK,
    FIELDS,
    FIELDS_SET,
    MODELS_BY_TABLE,
    SyncState,
    decode_row,
    encode_row,
    field_clock,
    load_clocks,
    record_local,
    save_clocks,
)

# single-column unique values that two laptops may both create offline
UNIQUE_FIELDS: dict[str, tuple[str, ...]] = {}
for _m in SYNCED_MODELS:
    _u = tuple(c.key for c in _m.__table__.columns if c.unique and c.key != "id")
    if _u:
        UNIQUE_FIELDS[_m.__tablename__] = _u


def is_deleted(clocks: dict) -> bool:
    """Deleted when the newest deletion saw every other field's clock (or wrote it itself)."""
    tomb = clocks.get("~d")
    if not tomb or not tomb[0]:
        return False
    seen = tomb[1] or ""
    del_h = field_clock(clocks, "deleted_at")[0]
    for k, v in clocks.items():
        if k in ("~d", "deleted_at"):
            continue
        if v[0] > seen and v[0] != del_h:
            return False
    return True


class Merger:
    def __init__(self, session: Session, state: SyncState):
        self.session = session
        self.conn = session.connection()
        self.state = state
        self.conflicts: list[dict] = []
        self.applied = 0
        # when a list: the prior state of every record field this merge changes goes here
        # (table, record id, {field: value before} or None for a new record, {field: value after})
        self.restore: list[tuple[str, str, dict | None, dict]] | None = None
        self._renamed_from: dict[tuple[str, str], Any] = {}

    def _conflict(self, table, rid, field, kept, kept_h, other, other_h, kind="field") -> None:
        self.conflicts.append({
            "id": new_id(), "table_name": table, "record_id": rid, "field": field,
            "kept_value": json.dumps(kept, ensure_ascii=False), "other_value": json.dumps(other, ensure_ascii=False),
            "kept_hlc": kept_h, "other_hlc": other_h, "kind": kind,
        })

    def _load_rows(self, table: str, ids: list[str]) -> dict[str, dict]:
        model = MODELS_BY_TABLE[table]
        cols = [model.__table__.c[k] for k in FIELDS[table]]
        out = {}
        for i in range(0, len(ids), CHUNK):
            part = ids[i : i + CHUNK]
            for row in self.conn.execute(select(*cols).where(model.__table__.c.id.in_(part))):
                out[row.id] = encode_row(table, dict(row._mapping))
        return out

    def apply(self, changes: list[dict]) -> None:
        by_table: dict[str, list[dict]] = {}
        for ch in changes:
            if ch.get("t") in MODELS_BY_TABLE:
                by_table.setdefault(ch["t"], []).append(ch)
        for model in SYNCED_MODELS:
            if model.__tablename__ in by_table:
                self._apply_table(model.__tablename__, by_table[model.__tablename__])
        if self.conflicts:
            self.conn.execute(SyncConflict.__table__.insert(), self.conflicts)

    def _apply_table(self, table: str, changes: list[dict]) -> None:
        model = MODELS_BY_TABLE[table]
        ids = list(dict.fromkeys(ch["id"] for ch in changes))
        clocks = load_clocks(self.conn, table, ids)
        had_clock = set(clocks)
        rows = self._load_rows(table, ids)
        existing = set(rows)
        touched: dict[str, set[str]] = {}
        prior = {rid: dict(r) for rid, r in rows.items()} if self.restore is not None else {}
        for ch in changes:
            self._merge_one(table, ch, rows, clocks, touched)
            self.applied += 1
        renames = self._unique_collisions(table, rows, touched, existing)
        inserts = [decode_row(table, rows[rid]) for rid in touched if rid not in existing]
        updates = [
            {"id": rid, **decode_row(table, {k: rows[rid][k] for k in fields})}
            for rid, fields in touched.items() if rid in existing and fields
        ]
        for rid, (field, value) in renames.items():  # a local record gives way before the insert
            if rid in existing or rid not in touched:
                self.session.execute(update(model), [{"id": rid, field: decode_row(table, {field: value})[field]}])
        for i in range(0, len(inserts), CHUNK):
            self.session.execute(insert(model), inserts[i : i + CHUNK])
        for i in range(0, len(updates), CHUNK):
            self.session.execute(update(model), updates[i : i + CHUNK])
        save_clocks(self.conn, table, {rid: clocks[rid] for rid in touched}, had_clock)
        if self.restore is not None:
            self._keep_prior(table, prior, rows, touched, renames)
        if renames:  # the renames are this laptop's own changes: they sync like an edit
            record_local(self.conn, self.state, table, [(rid, decode_row(table, {f: v}), False) for rid, (f, v) in renames.items()])

    def _keep_prior(self, table: str, prior: dict, rows: dict, touched: dict, renames: dict) -> None:
        assert self.restore is not None
        fields_of = {rid: set(f) for rid, f in touched.items() if f}
        for rid, (field, _value) in renames.items():
            fields_of.setdefault(rid, set()).add(field)
        for rid, fields in fields_of.items():
            before = prior.get(rid)
            if rid not in rows:  # a local record outside the batch gave way to a unique value
                field, value = renames[rid]
                self.restore.append((table, rid, {field: encode_row(table, {field: self._renamed_from[(table, rid)]})[field]},
                                     {field: value}))
                continue
            after = {k: rows[rid].get(k) for k in fields}
            self.restore.append((table, rid, None if before is None else {k: before.get(k) for k in fields}, after))

    def _merge_one(self, table: str, ch: dict, rows: dict, clocks: dict, touched: dict) -> None:
        rid, h = ch["id"], ch["h"]
        fields = {k: v for k, v in (ch.get("f") or {}).items() if k in FIELDS_SET[table] and k != "id"}
        base = ch.get("b") or {}
        rec = rows.get(rid)
        if rec is None:  # a record new to this laptop
            rec = rows[rid] = {"id": rid, **fields}
            clocks[rid] = c = {"*": [h, ""]}
            if fields.get("deleted_at"):
                c["~d"] = [fields["deleted_at"], base.get("~seen") or h]
            rec["deleted_at"] = fields.get("deleted_at") if is_deleted(c) else None
            touched.setdefault(rid, set()).update(rec)
            return
        c = clocks.setdefault(rid, {"*": ["", ""]})
        was_deleted = is_deleted(c)
        changed = touched.setdefault(rid, set())
        for k, v in fields.items():
            hl, bl = field_clock(c, k)
            b = base.get(k, "")
            current = (c.get("~d") or [None])[0] if k == "deleted_at" else rec.get(k)
            if h > hl:
                if current != v and b < hl and k != "deleted_at":
                    self._conflict(table, rid, k, v, h, current, hl)
                c[k] = [h, b]
                if k == "deleted_at":
                    c["~d"] = [v, base.get("~seen", "")] if v else [None, ""]
                else:
                    rec[k] = v
                    changed.add(k)
            elif h < hl and current != v and bl < h and k != "deleted_at":
                self._conflict(table, rid, k, current, hl, v, h)
        now_deleted = is_deleted(c)
        target = c["~d"][0] if now_deleted else None
        if rec.get("deleted_at") != target:
            rec["deleted_at"] = target
            changed.add("deleted_at")
        if (c.get("~d") or [None])[0] and not now_deleted and (was_deleted or fields.get("deleted_at")):
            # a deletion lost against an edit its author had not seen: the record stays
            self._conflict(table, rid, "deleted_at", None, max(v[0] for k, v in c.items() if k != "~d"),
                           c["~d"][0], field_clock(c, "deleted_at")[0], kind="deletion")

    def _unique_collisions(self, table: str, rows: dict, touched: dict, existing: set) -> dict[str, tuple[str, Any]]:
        renames: dict[str, tuple[str, Any]] = {}
        model = MODELS_BY_TABLE[table]
        for field in UNIQUE_FIELDS.get(table, ()):
            col = model.__table__.c[field]
            wanted = {rid: rows[rid].get(field) for rid, f in touched.items() if field in f and rows[rid].get(field)}
            if not wanted:
                continue
            values = list(set(wanted.values()))
            holders: dict[Any, list[str]] = {}
            for i in range(0, len(values), CHUNK):
                for oid, val in self.conn.execute(select(model.__table__.c.id, col).where(col.in_(values[i : i + CHUNK]))):
                    holders.setdefault(val, []).append(oid)
            for rid, val in wanted.items():
                holders.setdefault(val, [])
                if rid not in holders[val]:
                    holders[val].append(rid)
            for val, owners in holders.items():
                owners = [o for o in owners if (rows.get(o, {}).get(field, val) == val)]
                if len(owners) < 2:
                    continue
                owners.sort()
                for loser in owners[1:]:
                    new_value = f"{val}~{loser[:4]}"[: col.type.length or 200]
                    renames[loser] = (field, new_value)
                    self._renamed_from[(table, loser)] = val
                    if loser in rows:
                        rows[loser][field] = new_value
                    if loser in touched:
                        touched[loser].add(field)
                    self._conflict(table, loser, field, new_value, "", val, "", kind="unique")
        return renames
