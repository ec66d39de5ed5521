"""Merge a partner's changes into this database, in one transaction (the caller's session).

Per field, the newest HLC wins (ties cannot happen between devices: the stamp ends with the
device id), so every laptop keeps the same value whatever order batches arrive in. A concurrent
edit of the same field (the writer had not seen the other value) keeps the losing value in
`sync_conflicts`. A deletion is the `deleted_at` field plus the newest clock the deleter had seen;
an edit the deleter had not seen brings the record back (an edit beats a concurrent deletion).
Two records that claim the same unique value (two laptops made course code X offline) both stay:
the one with the larger id gets `<value>~<4 chars of its id>` as a normal, synced change, and a
conflict names it.

Two records with one identity (app/sync/identity.py: a personnummer, an organisation number,
an enrollment's course and participant, ...) become one: the smaller id survives with both
records' fields merged by their clocks, the deletion included (the losing values are conflicts
of kind "duplicate"); every reference to the loser moves to the survivor (which may make pair
records clash: merged the same way); the loser keeps only its identity and creation and is
tombstoned at its creation time; a SyncAlias sends later changes to the loser (and references
naming it) to the survivor. Deleted records count: whether one was still live when the other
arrived depends on the order batches arrive in, and the result must not. Every laptop does the
same without telling the others: none of it is logged. (A laptop's own writes are not merged:
the partial unique indexes refuse a second live record there; re-registering an identity whose
record was deleted on the same laptop is merged by its partners only.)

A change that cannot be applied (a record it refers to is missing, an invalid value, a rule of
the database) is parked in `sync_parked` with its reason, and the rest goes on; later changes of a
parked record are parked behind it; `retry_parked()` tries them again.
"""

from __future__ import annotations

import binascii
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, delete, func, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app.limits import check_record
from app.models import SYNCED_MODELS, SyncAlias, SyncConflict, SyncParked, new_id, utcnow
from app.sync.capture import (
    CHUNK,
    FIELDS,
    FIELDS_SET,
    KINDS,
    MODELS_BY_TABLE,
    SyncState,
    _insert_many,
    decode,
    decode_row,
    encode_row,
    field_clock,
    load_clocks,
    record_local,
    save_clocks,
)
from app.sync.identity import FOREIGN_KEYS, IDENTITY, IDENTITY_SET, REFERRERS, identity_of

log = logging.getLogger(__name__)

# single-column unique values that two laptops may both create offline
UNIQUE_FIELDS: dict[str, tuple[str, ...]] = {}
for _m in SYNCED_MODELS:
    _u = tuple(c.key for c in _m.__table__.columns if c.unique and c.key != "id")
    if _u:
        UNIQUE_FIELDS[_m.__tablename__] = _u

EPOCH = "1970-01-01T00:00:00"
# fields a merge of two records leaves as they are: the record's own creation and its tombstone
_OWN = frozenset({"id", "created_at", "deleted_at"})
# identities a laptop can hold twice on its own (a deleted record and a new one): pairs have ids
# derived from what they join, so re-creating one revives the same record
_SETTLED = frozenset({"participants", "companies"})
_DECODE_ERRORS = (ValueError, TypeError, AttributeError, binascii.Error)


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


_BLANK_OVERRIDES = {("attendance", "status"): "absent"}  # a CHECK allows no empty status


def _blank(table: str, row: dict) -> dict[str, Any]:
    """A merged-away record's fields: its identity and creation stay, the rest is emptied (to
    column defaults), and it is tombstoned at its own creation time."""
    created = row.get("created_at") or EPOCH
    out: dict[str, Any] = {"deleted_at": created}
    key = IDENTITY_SET[table]
    kinds = KINDS[table]
    for column in MODELS_BY_TABLE[table].__table__.columns:
        k = column.key
        if k in _OWN or k in key or k not in FIELDS_SET[table]:
            continue
        if (table, k) in _BLANK_OVERRIDES:
            out[k] = _BLANK_OVERRIDES[(table, k)]
            continue
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            out[k] = encode_row(table, {k: default.arg})[k]
        elif column.nullable:
            out[k] = None
        else:
            kind = kinds[k]
            if kind:
                out[k] = {"date": created[:10], "datetime": created, "time": "00:00", "decimal": "0"}.get(kind)
            elif isinstance(column.type, Boolean):
                out[k] = False
            elif isinstance(column.type, Integer):
                out[k] = 0
            else:
                out[k] = ""
    return out


# identities looked up in one join (a temporary table: per connection, never synced or kept)
_KEYS = Table("kursdesk_identity_keys", MetaData(), Column("a", String(40)), Column("b", String(40)))

# the fields app.limits checks, with their kind: not ids (their length is checked, and the records
# they name must exist), not the local-only ones
_CHECKED_FIELDS = {
    t: {k: KINDS[t][k] for k in FIELDS[t] if k != "id" and k not in {c for c, _r in fks}}
    for t, fks in FOREIGN_KEYS.items()
}
# a record's own stamps: only whether they decode (they are nearly all different: not remembered)
_STAMPS = frozenset({"created_at", "deleted_at"})
_CHECKED: dict[tuple, bool] = {}  # (table, field, type, value as sent) -> passes (values repeat a lot)
_CHECKED_MAX = 200_000


def _invalid_fields(table: str, fields: dict[str, Any], checked: dict[str, str]) -> list[str]:
    """The fields of a change line that do not decode, or that app.limits.check_record finds
    fault with (on the decoded value); one field at a time, remembered by the value as sent."""
    bad = []
    for k, v in fields.items():
        kind = checked.get(k)
        if kind is None:
            continue
        if k in _STAMPS:
            if v is not None:
                try:
                    datetime.fromisoformat(v)
                except _DECODE_ERRORS:
                    bad.append(k)
            continue
        key = (table, k, type(v), v)
        try:
            ok = _CHECKED.get(key)
        except TypeError:  # not hashable (a list where a value belongs)
            ok, key = None, None
        if ok is None:
            try:
                value = decode(kind, v) if kind and v is not None else v
                ok = not check_record(table, {k: value})
            except _DECODE_ERRORS:
                ok = False
            if key is not None and not (isinstance(v, str) and len(v) > 256):
                if len(_CHECKED) >= _CHECKED_MAX:
                    _CHECKED.clear()
                _CHECKED[key] = ok
        if not ok:
            bad.append(k)
    return bad


class _Item:
    """One incoming change: the line as it came (`orig`, kept when parked), the one applied
    (`work`: ids of merged-away records replaced by their survivors), and where it came from."""

    __slots__ = ("orig", "work", "device", "seq", "parked_at")

    def __init__(self, orig: dict, device: str, seq: int, parked_at: datetime | None = None):
        self.orig = orig
        self.work = orig
        self.device = device
        self.seq = seq
        self.parked_at = parked_at


# what the database refuses about a record: its constraints (IntegrityError) and, on PostgreSQL,
# values its columns cannot hold (DataError: a text longer than VARCHAR(n), which SQLite keeps)
REFUSED = (IntegrityError, DataError)


def _integrity_reason(exc: IntegrityError | DataError) -> tuple[str, str]:
    """(reason code, detail) of a refused write; the detail names tables and columns only."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or ""
    text = str(orig)
    if isinstance(exc, DataError):
        return "invalid", type(orig).__name__
    by_code = {"23503": "missing-reference", "23505": "unique", "23514": "check", "23502": "incomplete"}
    if code in by_code:
        return by_code[code], ""
    for needle, reason in (("FOREIGN KEY", "missing-reference"), ("UNIQUE", "unique"), ("CHECK", "check"),
                           ("NOT NULL", "incomplete")):
        if needle in text:
            # SQLite names the constraint, index or table.column after the colon (never a value)
            detail = text.split(":", 1)[1].strip() if ":" in text else ""
            return reason, detail[:200]
    return "error", type(orig).__name__


class Merger:
    def __init__(self, session: Session, state: SyncState | None):
        self.session = session
        self.conn = session.connection()
        self.state = state
        self.conflicts: list[dict] = []
        self.applied = 0
        self.merged = 0  # records merged away into a survivor (identity)
        self.parked = 0  # changes parked by this merger
        # when a list: the prior state of every record field this merge changes goes here
        # (table, record id, {field: value before} or None for a new record, {field: value after})
        self.restore: list[tuple[str, str, dict | None, dict]] | None = None
        self._renamed_from: dict[tuple[str, str], Any] = {}
        self._written_conflicts = 0
        self._to_park: list[tuple[_Item, str, str]] = []
        self._parked_keys: set[tuple[str, str]] | None = None
        self._any_alias: bool | None = None
        self._alias: dict[str, dict[str, str]] = {}  # table -> {loser: survivor}
        self._alias_checked: dict[str, set[str]] = {}
        # references to move, found by merges of earlier tables: table -> {column: {loser: survivor}}
        self._moves: dict[str, dict[str, dict[str, str]]] = {}
        self._device = ""
        self._seq = 0
        # the columns a database being migrated has (merge_existing): later migrations add others
        self._present: dict[str, set[str]] | None = None

    # --- the entry points ---------------------------------------------------------------------

    def apply(self, changes: list[dict], device: str = "", seq: int = 0) -> None:
        """Apply a partner's batch (or any list of change lines); what cannot be applied is parked."""
        self._run([_Item(ch, device, seq) for ch in changes])
        self._flush()

    def retry_parked(self) -> int:
        """Try the parked changes again (oldest first); returns how many now applied."""
        t = SyncParked.__table__
        rows = self.conn.execute(select(t.c.id, t.c.device_id, t.c.batch_seq, t.c.change, t.c.parked_at).order_by(t.c.id)).all()
        if not rows:
            return 0
        ids = [r.id for r in rows]
        for i in range(0, len(ids), CHUNK):
            self.conn.execute(delete(t).where(t.c.id.in_(ids[i : i + CHUNK])))
        items = [_Item(json.loads(r.change), r.device_id, r.batch_seq, r.parked_at) for r in rows]
        total = 0
        for _pass in range(3):  # a change parked behind another one of the same pass
            self._parked_keys = set()
            before = self.applied
            self._run(items)
            done = self.applied - before
            total += done
            items = [it for it, _r, _d in self._to_park]
            if not items or not done:
                break
            self._to_park = []
        self._flush(retried=True)
        return total

    def settle_local(self, lines: list[dict]) -> int:
        """This laptop's own unpublished changes, settled here as its partners will settle them on
        arrival, so that every laptop ends with the same records: a participant or company that
        shares an identity with another one here (a deleted one too: a person registered again
        after a deletion) is merged into the smaller id; a change made to a merged-away record (a
        window opened before the merge) goes to its survivor, and the merged-away record is emptied
        again; a new reference to a merged-away record moves to its survivor. Returns how many
        records were merged away. Runs in the caller's transaction (marked as applying)."""
        by_table: dict[str, list[dict]] = {}
        for ch in lines:
            by_table.setdefault(ch["t"], []).append(ch)
        if self._aliases_exist():
            for table, chs in by_table.items():
                losers = self._aliases_of(table, [c["id"] for c in chs])
                if losers:
                    self.apply([c for c in chs if c["id"] in losers])
                    model = MODELS_BY_TABLE[table]
                    for rid, row in self._load_rows(table, list(losers)).items():
                        blank = _blank(table, row)
                        if any(row.get(k) != v for k, v in blank.items()):
                            self.session.execute(update(model), [{"id": rid, **decode_row(table, blank)}])
                for col, ref in FOREIGN_KEYS[table]:
                    named = self._aliases_of(ref, [(c.get("f") or {}).get(col) for c in chs])
                    if named:
                        self._moves.setdefault(table, {}).setdefault(col, {}).update(named)
        for model in SYNCED_MODELS:
            table = model.__tablename__
            extra = [c["id"] for c in by_table.get(table, [])] if table in _SETTLED else []
            if extra or self._moves.get(table):
                self._apply_table(table, [], extra=extra)
        self._flush()
        return self.merged

    def merge_existing(self) -> int:
        """Merge the duplicates already in this database (migration 0003). Only the tables and
        columns the database has at that revision are read (later migrations add more)."""
        from sqlalchemy import inspect

        found = inspect(self.conn)
        names = set(found.get_table_names())
        self._present = {t: {c["name"] for c in found.get_columns(t)} for t in FIELDS if t in names}
        for model in SYNCED_MODELS:
            table = model.__tablename__
            if table not in self._present:
                continue
            extra = self._duplicate_ids(table) if table in IDENTITY else []
            if extra or self._moves.get(table):
                self._apply_table(table, [], extra=extra)
        self._flush()
        return self.merged

    # --- bookkeeping ----------------------------------------------------------------------------

    def _flush(self, retried: bool = False) -> None:
        if len(self.conflicts) > self._written_conflicts:
            self.conn.execute(SyncConflict.__table__.insert(), self.conflicts[self._written_conflicts :])
            self._written_conflicts = len(self.conflicts)
        if self._to_park:
            now = utcnow()
            self.conn.execute(SyncParked.__table__.insert(), [
                {"device_id": it.device, "batch_seq": it.seq, "table_name": str(it.orig.get("t", ""))[:40],
                 "record_id": str(it.orig.get("id", ""))[:36], "change": json.dumps(it.orig, ensure_ascii=False),
                 "reason": reason, "detail": detail, "parked_at": it.parked_at or now,
                 "retried_at": now if (retried or it.parked_at) else None}
                for it, reason, detail in self._to_park
            ])
            self.parked += len(self._to_park)
            log.info("sync: %d changes parked", len(self._to_park))
            self._to_park = []

    def _park(self, item: _Item, reason: str, detail: str = "") -> None:
        self._to_park.append((item, reason, detail))
        self._parked_set().add((item.orig.get("t"), item.orig.get("id")))

    def _parked_set(self) -> set[tuple[str, str]]:
        if self._parked_keys is None:
            t = SyncParked.__table__
            self._parked_keys = {(a, b) for a, b in self.conn.execute(select(t.c.table_name, t.c.record_id))}
        return self._parked_keys

    def _conflict(self, table, rid, field, kept, kept_h, other, other_h, kind="field") -> None:
        self.conflicts.append({
            "id": new_id(), "table_name": table, "record_id": rid, "field": field,
            "kept_value": json.dumps(kept, ensure_ascii=False), "other_value": json.dumps(other, ensure_ascii=False),
            "kept_hlc": kept_h, "other_hlc": other_h, "kind": kind,
        })

    # --- aliases (merged-away records) ----------------------------------------------------------

    def _aliases_exist(self) -> bool:
        if self._any_alias is None:
            t = SyncAlias.__table__
            self._any_alias = self.conn.execute(select(t.c.loser_id).limit(1)).first() is not None
        return self._any_alias

    def _aliases_of(self, table: str, ids) -> dict[str, str]:
        cache = self._alias.setdefault(table, {})
        checked = self._alias_checked.setdefault(table, set())
        todo = [i for i in set(ids) if i not in checked and isinstance(i, str)]
        t = SyncAlias.__table__
        for i in range(0, len(todo), CHUNK):
            part = todo[i : i + CHUNK]
            for loser, survivor in self.conn.execute(
                select(t.c.loser_id, t.c.survivor_id).where(t.c.table_name == table, t.c.loser_id.in_(part))
            ):
                cache[loser] = survivor
        checked.update(todo)
        return cache

    def _add_alias(self, table: str, loser: str, survivor: str) -> None:
        t = SyncAlias.__table__
        self.conn.execute(update(t).where(t.c.table_name == table, t.c.survivor_id == loser).values(survivor_id=survivor))
        self.conn.execute(delete(t).where(t.c.table_name == table, t.c.loser_id == loser))
        self.conn.execute(t.insert().values(table_name=table, loser_id=loser, survivor_id=survivor, created_at=utcnow()))
        cache = self._alias.setdefault(table, {})
        for k, v in cache.items():
            if v == loser:
                cache[k] = survivor
        cache[loser] = survivor
        self._alias_checked.setdefault(table, set()).add(loser)
        self._any_alias = True

    def _rewrite(self, table: str, items: list[_Item]) -> None:
        """Changes to a merged-away record go to its survivor; so do references naming one."""
        fks = FOREIGN_KEYS[table]
        own = self._aliases_of(table, [it.orig.get("id") for it in items])
        refs = {}
        for col, ref in fks:
            refs[col] = self._aliases_of(ref, [(it.orig.get("f") or {}).get(col) for it in items])
        if not own and not any(refs.values()):
            return
        for it in items:
            ch = it.orig
            rid = ch.get("id")
            fields = ch.get("f") or {}
            new_fields = None
            for col, _ref in fks:
                v = fields.get(col)
                if v is not None and v in refs[col]:
                    if new_fields is None:
                        new_fields = dict(fields)
                    new_fields[col] = refs[col][v]
            if rid in own and ("created_at" in fields or "id" in fields):
                new_fields = dict(new_fields if new_fields is not None else fields)
                new_fields.pop("created_at", None)  # the survivor's creation is its own
                new_fields.pop("id", None)
            if rid in own or new_fields is not None:
                work = dict(ch)
                work["id"] = own.get(rid, rid)
                if new_fields is not None:
                    work["f"] = new_fields
                it.work = work

    # --- checks before applying -------------------------------------------------------------------

    def _check(self, table: str, items: list[_Item]) -> list[_Item]:
        """The changes that may be applied; the others are parked (with their reason)."""
        fks = FOREIGN_KEYS[table]
        # references: the records they name must exist here (parents are applied first)
        wanted: dict[str, set[str]] = {}
        for it in items:
            fields = it.work.get("f") or {}
            for col, ref in fks:
                v = fields.get(col)
                if v is not None:
                    wanted.setdefault(ref, set()).add(v)
        found: dict[str, set[str]] = {}
        for ref, values in wanted.items():
            rt = MODELS_BY_TABLE[ref].__table__
            have: set[str] = set()
            vals = [v for v in values if isinstance(v, str)]
            for i in range(0, len(vals), CHUNK):
                have.update(self.conn.execute(select(rt.c.id).where(rt.c.id.in_(vals[i : i + CHUNK]))).scalars())
            if ref == table:  # a certificate that corrects one of the same batch
                have.update(it.work.get("id") for it in items)
            found[ref] = have
        parked = self._parked_set()
        checked = _CHECKED_FIELDS[table]
        ok = []
        for it in items:
            ch = it.work
            rid = ch.get("id")
            fields = ch.get("f") or {}
            if not isinstance(rid, str) or not rid or len(rid) > 36 or not isinstance(fields, dict) \
                    or not isinstance(ch.get("h"), str):
                self._park(it, "invalid", "id")
                continue
            if (table, it.orig.get("id")) in parked:
                self._park(it, "waiting")
                continue
            bad = _invalid_fields(table, fields, checked)
            if bad:
                self._park(it, "invalid", ", ".join(sorted(set(bad))))
                continue
            missing = None
            for col, ref in fks:
                v = fields.get(col)
                if v is not None and v not in found[ref]:
                    missing = (missing or []) + [f"{col} -> {ref} {v}"]
            if missing:
                self._park(it, "missing-reference", "; ".join(missing)[:500])
                continue
            ok.append(it)
        return ok

    # --- loading ----------------------------------------------------------------------------------

    def _load_rows(self, table: str, ids: list[str]) -> dict[str, dict]:
        model = MODELS_BY_TABLE[table]
        present = self._present[table] if self._present is not None else None
        cols = [model.__table__.c[k] for k in FIELDS[table] if present is None or k in present]
        out = {}
        for i in range(0, len(ids), CHUNK):
            part = ids[i : i + CHUNK]
            for row in self.conn.execute(select(*cols).where(model.__table__.c.id.in_(part))):
                out[row.id] = encode_row(table, dict(row._mapping))
        return out

    def _load_more(self, table: str, ids, work: dict) -> None:
        """Records outside the batch that a merge changes join the work (with their prior state)."""
        ids = [i for i in dict.fromkeys(ids) if i not in work["rows"]]
        if not ids:
            return
        rows = self._load_rows(table, ids)
        clocks = load_clocks(self.conn, table, ids)
        work["rows"].update(rows)
        work["existing"].update(rows)
        work["clocks"].update(clocks)
        work["had_clock"].update(clocks)
        if self.restore is not None:
            for rid, r in rows.items():
                work["prior"][rid] = dict(r)

    def _apply_table(self, table: str, items: list[_Item], extra=()) -> None:
        model = MODELS_BY_TABLE[table]
        if items and self._aliases_exist():
            self._rewrite(table, items)
        ok = self._check(table, items) if items else []
        moves = self._moves.pop(table, {})
        moved: dict[str, list[tuple[str, str]]] = {}
        for col, pairs in moves.items():  # records that refer to merged-away ones
            c = model.__table__.c[col]
            losers = list(pairs)
            for i in range(0, len(losers), CHUNK):
                for rid, value in self.conn.execute(select(model.__table__.c.id, c).where(c.in_(losers[i : i + CHUNK]))):
                    moved.setdefault(rid, []).append((col, pairs[value]))
        ids = list(dict.fromkeys([it.work["id"] for it in ok] + list(extra) + list(moved)))
        clocks = load_clocks(self.conn, table, ids)
        had_clock = set(clocks)
        rows = self._load_rows(table, ids)
        existing = set(rows)
        touched: dict[str, set[str]] = {}
        prior = {rid: dict(r) for rid, r in rows.items()} if self.restore is not None else {}
        work = {"rows": rows, "clocks": clocks, "had_clock": had_clock, "existing": existing, "prior": prior}
        for rid, pairs in moved.items():
            for col, survivor in pairs:
                if rid in rows and rows[rid].get(col) != survivor:
                    rows[rid][col] = survivor
                    touched.setdefault(rid, set()).add(col)
        writers: dict[str, tuple[str, str]] = {}  # record -> (clock, who) of its newest change here
        for it in ok:
            self._merge_one(table, it.work, rows, clocks, touched)
            w, h, rid = it.work.get("w"), it.work["h"], it.work["id"]
            if isinstance(w, str) and w and h >= writers.get(rid, ("", ""))[0]:
                writers[rid] = (h, w[:100])
        self.applied += len(ok)
        renames = self._unique_collisions(table, rows, touched, existing)
        if table in IDENTITY:
            self._resolve_identity(table, work, touched, set(extra))
        # write: tombstones first (a merged-away record frees its identity), then new records, then the rest
        tombs, inserts, updates = [], [], []
        for rid, fields in touched.items():
            # the person who made the change, when its line names them (else the column's default:
            # whoever runs this sync)
            who = {"changed_by": writers[rid][1]} if rid in writers else {}
            if rid not in existing:
                inserts.append((rid, {**decode_row(table, rows[rid]), **who}))
            elif fields:
                row = {"id": rid, **decode_row(table, {k: rows[rid][k] for k in fields}), **who}
                (tombs if "deleted_at" in fields and rows[rid].get("deleted_at") else updates).append((rid, row))
        for rid, (field, value) in renames.items():  # a local record gives way before the insert
            if rid in existing or rid not in touched:
                self.session.execute(update(model), [{"id": rid, field: decode_row(table, {field: value})[field]}])
        failed: dict[str, tuple[str, str]] = {}
        for kind, group in (("update", tombs), ("insert", inserts), ("update", updates)):
            failed.update(self._write(model, kind, group))
        if failed:
            self._refused(table, failed, ok, touched)
        save_clocks(self.conn, table, {rid: clocks[rid] for rid in touched if rid in clocks}, had_clock)
        if self.restore is not None:
            self._keep_prior(table, prior, rows, touched, renames)
        if renames:  # the renames are this laptop's own changes: they sync like an edit
            record_local(self.conn, self.state, table, [(rid, decode_row(table, {f: v}), False) for rid, (f, v) in renames.items()])

    def _write(self, model, kind: str, group: list[tuple[str, dict]]) -> dict[str, tuple[str, str]]:
        """Bulk write; when the database refuses it, one record at a time (a savepoint each), and
        the refused ones are returned with their reason. New records go in as Core inserts of
        rows with the same columns (the ORM's bulk insert costs a third more)."""
        if not group:
            return {}
        if self._present is not None:  # a database being migrated: the columns it has
            present = self._present[model.__tablename__]
            group = [(rid, {k: v for k, v in row.items() if k in present}) for rid, row in group]
        if kind == "insert":
            stmt = model.__table__.insert()
            runs: dict[tuple, list[dict]] = {}
            for _rid, row in group:
                runs.setdefault(tuple(row), []).append(row)
            execute = self.conn.execute
        else:
            stmt = update(model)
            runs = {(): [r for _rid, r in group]}
            execute = self.session.execute
        try:
            with self.session.begin_nested():
                # the SAVEPOINT now: Core statements on self.conn would not start it, and without
                # it PostgreSQL aborts the whole transaction at the first refused row
                self.session.connection()
                for rows in runs.values():
                    for i in range(0, len(rows), CHUNK):
                        execute(stmt, rows[i : i + CHUNK])
            return {}
        except REFUSED:
            pass
        failed = {}
        for rid, row in group:
            try:
                with self.session.begin_nested():
                    self.session.connection()
                    execute(stmt, [row])
            except REFUSED as exc:
                failed[rid] = _integrity_reason(exc)
        log.warning("sync: %d records of %s refused by the database, their changes parked", len(failed), model.__tablename__)
        return failed

    def _refused(self, table: str, failed: dict, ok: list[_Item], touched: dict) -> None:
        for rid in failed:
            touched.pop(rid, None)
        for it in ok:  # every change of a refused record, in order
            if it.work["id"] in failed:
                reason, detail = failed[it.work["id"]]
                self._park(it, reason, detail)
                self.applied -= 1
        gone = set(failed)
        self.conflicts[self._written_conflicts :] = [
            c for c in self.conflicts[self._written_conflicts :] if not (c["table_name"] == table and c["record_id"] in gone)
        ]

    def _run(self, items: list[_Item]) -> None:
        items = self._erasures_first(items)
        by_table: dict[str, list[_Item]] = {}
        for it in items:
            if not isinstance(it.orig, dict):
                log.warning("sync: a change line that is not an object was skipped")
                continue
            t = it.orig.get("t")
            if t in MODELS_BY_TABLE:
                by_table.setdefault(t, []).append(it)
            elif isinstance(it.orig, dict) and t is not None:
                self._park(it, "invalid", "t")
        for model in SYNCED_MODELS:
            table = model.__tablename__
            if table in by_table or self._moves.get(table):
                self._apply_table(table, by_table.get(table, []))

    def _erasures_first(self, items: list[_Item]) -> list[_Item]:
        """GDPR (app/gdpr/erasure.py): erasures are applied first and their people erased here;
        no change of an erased person is applied, whenever it arrives."""
        from app.gdpr import erasure

        mine = [it for it in items if isinstance(it.orig, dict) and it.orig.get("t") == "erasures"]
        if mine:
            self._apply_table("erasures", mine)
            erasure.erase_applied(self.session, [it.work.get("id") for it in mine])
            items = [it for it in items if not (isinstance(it.orig, dict) and it.orig.get("t") == "erasures")]
        return erasure.screen(self.conn, items, lambda it: it.orig)

    # --- identity -------------------------------------------------------------------------------

    def _duplicate_ids(self, table: str) -> list[str]:
        """Ids of records that share an identity with another (set-based)."""
        t = MODELS_BY_TABLE[table].__table__
        cols = [t.c[c] for c in IDENTITY[table]]
        keys = [tuple(r[:-1]) for r in self.conn.execute(
            select(*cols, func.count()).group_by(*cols).having(func.count() > 1))]
        keys = [k for k in keys if identity_of(table, dict(zip(IDENTITY[table], k))) is not None]
        return [rid for ids in self._holders(table, keys).values() for rid in ids]

    def _holders(self, table: str, keys) -> dict[tuple, list[str]]:
        """Records (live or deleted, not merged away) holding these identities: {key: [id, ...]}.
        One column: chunked IN queries; a pair: the pairs go into a temporary table, joined."""
        t = MODELS_BY_TABLE[table].__table__
        names = IDENTITY[table]
        cols = [t.c[c] for c in names]
        keys = list(set(keys))
        out: dict[tuple, list[str]] = {}
        if not keys:
            return out
        cond = []
        if self._aliases_exist():
            al = SyncAlias.__table__
            cond.append(~select(al.c.loser_id).where(al.c.table_name == table, al.c.loser_id == t.c.id).exists())
        if len(cols) == 1:
            for i in range(0, len(keys), CHUNK):
                q = select(t.c.id, cols[0]).where(cols[0].in_([k[0] for k in keys[i : i + CHUNK]]), *cond)
                for row in self.conn.execute(q):
                    out.setdefault((row[1],), []).append(row[0])
            return out
        self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_KEYS.name} (a VARCHAR(40), b VARCHAR(40))")
        self.conn.execute(delete(_KEYS))
        _insert_many(self.conn, _KEYS, [{"a": a, "b": b} for a, b in keys])
        join = _KEYS.join(t, (cols[0] == _KEYS.c.a) & (cols[1] == _KEYS.c.b))
        # live and tombstoned rows apart: each has its partial index over the pair
        for state in (t.c.deleted_at.is_(None), t.c.deleted_at.isnot(None)):
            for rid, a, b in self.conn.execute(select(t.c.id, cols[0], cols[1]).select_from(join).where(state, *cond)):
                out.setdefault((a, b), []).append(rid)
        self.conn.execute(delete(_KEYS))
        return out

    def _resolve_identity(self, table: str, work: dict, touched: dict, candidates: set[str]) -> None:
        """Records of this table that share an identity with another become one. Deleted records
        count too: whether a record was still live when the other arrived depends on the order
        batches arrive in, and the merge must not (a deletion is merged like any field)."""
        rows, existing = work["rows"], work["existing"]
        keyset = IDENTITY_SET[table]
        mine: dict[tuple, set[str]] = {}
        names = IDENTITY[table]
        if len(names) == 2:  # the common bulk case (marks): inline
            ka, kb = names
            for rid, fields in touched.items():
                if rid in candidates or rid not in existing or not keyset.isdisjoint(fields):
                    rec = rows[rid]
                    a, b = rec.get(ka), rec.get(kb)
                    if a and b:
                        mine.setdefault((a, b), set()).add(rid)
        else:
            for rid, fields in touched.items():
                if rid in candidates or rid not in existing or not keyset.isdisjoint(fields):
                    key = identity_of(table, rows[rid])
                    if key is not None:
                        mine.setdefault(key, set()).add(rid)
        for rid in candidates - set(touched):
            rec = rows.get(rid)
            key = identity_of(table, rec) if rec is not None else None
            if key is not None:
                mine.setdefault(key, set()).add(rid)
        if not mine:
            return
        if self._aliases_exist():  # a merged-away record is no longer a candidate
            losers = self._aliases_of(table, [rid for ids in mine.values() for rid in ids])
            mine = {k: {r for r in ids if r not in losers} for k, ids in mine.items()}
        groups: dict[tuple, set[str]] = {k: set(v) for k, v in mine.items() if v}
        for key, ids in self._holders(table, [k for k, v in groups.items()]).items():
            for oid in ids:
                if oid in rows and identity_of(table, rows[oid]) != key:
                    continue  # its state here decides (it may be changing in this batch)
                groups.setdefault(key, set()).add(oid)
        clashes = {k: ids for k, ids in groups.items() if len(ids) > 1}
        if not clashes:
            return
        self._load_more(table, [i for ids in clashes.values() for i in ids], work)
        for ids in clashes.values():
            order = sorted(ids)
            for loser in order[1:]:
                self._merge_pair(table, order[0], loser, work, touched)

    def _merge_pair(self, table: str, survivor: str, loser: str, work: dict, touched: dict) -> None:
        rows, clocks = work["rows"], work["clocks"]
        rs, rl = rows[survivor], rows[loser]
        cs = clocks.get(survivor)
        keep_clock = cs is not None  # a record without clocks (not yet published) gets none here
        if cs is None:
            cs = {"*": ["", ""]}
        cl = clocks.get(loser) or {"*": ["", ""]}
        changed = touched.setdefault(survivor, set())
        key = IDENTITY_SET[table]
        for k in FIELDS[table]:
            if k in _OWN or k in key:
                continue
            hs, hl = field_clock(cs, k), field_clock(cl, k)
            vs, vl = rs.get(k), rl.get(k)
            if hl[0] > hs[0]:
                cs[k] = list(hl)
                if vs != vl:
                    rs[k] = vl
                    changed.add(k)
                    self._conflict(table, survivor, k, vl, hl[0], vs, hs[0], kind="duplicate")
            elif vs != vl:
                self._conflict(table, survivor, k, vs, hs[0], vl, hl[0], kind="duplicate")
        # the deletion, as _merge_one merges it: the newer deletion clock brings its tombstone
        hs, hl = field_clock(cs, "deleted_at"), field_clock(cl, "deleted_at")
        if hl[0] > hs[0]:
            cs["deleted_at"] = list(hl)
            if cl.get("~d"):
                cs["~d"] = list(cl["~d"])
            else:
                cs.pop("~d", None)
        target = cs["~d"][0] if is_deleted(cs) else None
        if rs.get("deleted_at") != target:
            rs["deleted_at"] = target
            changed.add("deleted_at")
        if keep_clock:
            clocks[survivor] = cs
        # the loser keeps its identity and creation (also its tombstone's time), nothing else: its values are the survivor's
        # or in the conflict list, and it reads the same on every laptop whenever each merged
        lost = touched.setdefault(loser, set())
        for k, v in _blank(table, rl).items():
            if rl.get(k) != v:
                rl[k] = v
                lost.add(k)
        self._add_alias(table, loser, survivor)
        for rtable, col in REFERRERS.get(table, ()):
            self._moves.setdefault(rtable, {}).setdefault(col, {})[loser] = survivor
        self.merged += 1
        log.info("sync: %s %s merged into %s (same identity)", table, loser, survivor)

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
            if any(k in FIELDS_SET[table] for k in base):
                # an edit or a deletion that came before the record's creation (a batch lost or
                # forked): only its own fields are known; the creation, older, fills in the rest
                clocks[rid] = c = {"*": ["", ""], **{k: [h, base.get(k, "")] for k in fields}}
            else:  # its creation: one clock for every field
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
