"""Change capture: every change of a synced record is logged in the same transaction.

`install(db)` hooks this database's sessions:
- `after_flush` logs the unit of work (new, changed and deleted objects of SYNCED_MODELS);
- `do_orm_execute` logs ORM bulk statements (`insert(Model)` with a list of rows, `update(Model)`
  by primary key or with a WHERE clause, `delete(Model)`), which imports use.

Each change is one `sync_changes` row (table, record id, op, changed fields as JSON-safe values,
the per-field clocks it overwrote, HLC stamp, device id) and the record's per-field clocks in
`sync_clocks` move on. One HLC stamp serves a whole flush or bulk statement (each record appears
once in it), so a bulk import costs two executemany calls, not one clock tick per row.

Changes written by the sync import itself (session.info[APPLYING]) are not logged again; the
import maintains the clocks itself.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, LargeBinary, Numeric, Time, event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app import models
from app.changes import ROWS
from app.concurrency import writer_of
from app.models import SYNCED_MODELS, Setting, SyncChange, SyncClock, utcnow
from app.sync.clock import HLC

log = logging.getLogger(__name__)

APPLYING = "kursdesk_sync_applying"
# bookkeeping of this database: the stamp, the record's version and its last writer (app/concurrency.py)
LOCAL_ONLY_FIELDS = frozenset({"updated_at", "version", "changed_by"})
# A certificate is a fact: deleting one stays on this laptop (revocation is the synced way).
LOCAL_ONLY_BY_TABLE = {"certificates": LOCAL_ONLY_FIELDS | {"deleted_at"}}
CHUNK = 2000
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

MODELS_BY_TABLE: dict[str, type[models.Record]] = {m.__tablename__: m for m in SYNCED_MODELS}


# --- values: JSON-safe encoding by column type ---------------------------------------------

def _kind(column) -> str:
    t = column.type
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Time):
        return "time"
    if isinstance(t, LargeBinary):
        return "bytes"
    if isinstance(t, Numeric):
        return "decimal"
    return ""


KINDS: dict[str, dict[str, str]] = {
    m.__tablename__: {c.key: _kind(c) for c in m.__table__.columns} for m in SYNCED_MODELS
}
FIELDS: dict[str, tuple[str, ...]] = {
    m.__tablename__: tuple(
        c.key for c in m.__table__.columns if c.key not in LOCAL_ONLY_BY_TABLE.get(m.__tablename__, LOCAL_ONLY_FIELDS)
    )
    for m in SYNCED_MODELS
}
FIELDS_SET = {t: frozenset(f) for t, f in FIELDS.items()}


def encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return value.isoformat()
    if kind == "date":
        return value.isoformat()
    if kind == "time":
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "decimal":
        return str(value)
    return value


def decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def encode_row(table: str, values: dict[str, Any]) -> dict[str, Any]:
    kinds = KINDS[table]
    keep = FIELDS_SET[table]
    return {k: encode(kinds[k], v) for k, v in values.items() if k in keep}


def decode_row(table: str, values: dict[str, Any]) -> dict[str, Any]:
    kinds = KINDS[table]
    return {k: decode(kinds[k], v) for k, v in values.items() if k in kinds}


# --- clocks -----------------------------------------------------------------------------------

def field_clock(clocks: dict, field: str) -> list:
    return clocks.get(field) or clocks.get("*") or ["", ""]


def max_clock(clocks: dict, exclude: Iterable[str] = ("deleted_at",)) -> str:
    skip = set(exclude) | {"~d"}
    return max((v[0] for k, v in clocks.items() if k not in skip), default="")


def load_clocks(conn: Connection, table: str, ids: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    t = SyncClock.__table__
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        rows = conn.execute(select(t.c.record_id, t.c.data).where(t.c.table_name == table, t.c.record_id.in_(part)))
        for rid, data in rows:
            out[rid] = json.loads(data)
    return out


def _insert_many(conn: Connection, table, rows: list[dict]) -> None:
    """One driver-level executemany for the bookkeeping tables (bulk imports log 100,000s of rows)."""
    if not rows:
        return
    keys = list(rows[0])
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if mark is None:
        conn.execute(table.insert(), rows)
        return
    sql = f'INSERT INTO {table.name} ({", ".join(keys)}) VALUES ({", ".join([mark] * len(keys))})'
    conn.exec_driver_sql(sql, [tuple(r[k] for k in keys) for r in rows])


def save_clocks(conn: Connection, table: str, clocks: dict[str, dict], existing: set[str]) -> None:
    t = SyncClock.__table__
    new = [{"table_name": table, "record_id": rid, "data": d if isinstance(d, str) else _dumps(d)}
           for rid, d in clocks.items() if rid not in existing]
    old = [{"t_": table, "r_": rid, "data": d if isinstance(d, str) else _dumps(d)}
           for rid, d in clocks.items() if rid in existing]
    if new:
        _insert_many(conn, t, new)
    if old:
        from sqlalchemy import bindparam

        conn.execute(
            update(t).where(t.c.table_name == bindparam("t_"), t.c.record_id == bindparam("r_")).values(data=bindparam("data")),
            old,
        )


# --- per-database state: device id and the clock ---------------------------------------------

class SyncState:
    """What capture needs of one database: its device id and its HLC (persisted in settings)."""

    HLC_KEY = "sync_hlc"

    def __init__(self, db, wall=None):
        self.db = db
        self.device: str | None = None
        self.clock: HLC | None = None
        self._wall = wall

    def ensure(self, conn: Connection) -> HLC:
        """The device id and the clock, read again inside the caller's transaction: the clock is
        the database's, shared by every process that writes to it (the window and a scheduled
        sync), so a stamp is never older than one another process made or observed. Callers
        hold the write lock (app/db.py), so no other process moves it until they commit."""
        t = Setting.__table__
        values = dict(conn.execute(select(t.c.key, t.c.value).where(t.c.key.in_(("device_id", self.HLC_KEY)))).all())
        device = values.get("device_id")
        if not device:
            import uuid

            device = str(uuid.uuid4())
            conn.execute(t.insert().values(key="device_id", value=device).execution_options(**{ROWS: ["device_id"]}))
        last = values.get(self.HLC_KEY) or ""
        if self.clock is None or self.clock.device != device:  # first use, or this laptop forked
            kwargs = {"wall": self._wall} if self._wall else {}
            self.clock = HLC(device, last, **kwargs)
        else:
            self.clock.observe(last)
        self.device = device
        return self.clock

    def set_wall(self, wall) -> None:
        """Tests: inject a wall clock (milliseconds)."""
        self._wall = wall
        if self.clock is not None:
            self.clock.wall = wall

    def persist(self, conn: Connection) -> None:
        assert self.clock is not None
        t = Setting.__table__
        stamp = self.clock.last
        named = {ROWS: [self.HLC_KEY]}  # not "the whole settings table" (app/changes.py)
        done = conn.execute(update(t).where(t.c.key == self.HLC_KEY).values(value=stamp).execution_options(**named)).rowcount
        if not done:
            conn.execute(t.insert().values(key=self.HLC_KEY, value=stamp).execution_options(**named))


def state_of(db) -> SyncState:
    state = getattr(db, "sync_state", None)
    if state is None:
        state = db.sync_state = SyncState(db)
    return state


# --- recording local changes ------------------------------------------------------------------

def record_local(conn: Connection, state: SyncState, table: str, changes: list[tuple[str, dict, bool]]) -> None:
    """Log local changes of one table: (record id, {field: python value}, is_insert).

    A change that sets deleted_at is a tombstone ('delete'); hard deletes arrive here as such too.
    """
    if not changes:
        return
    clock = state.ensure(conn)
    stamp = clock.now()
    ids = [rid for rid, _f, _i in changes]
    clocks = load_clocks(conn, table, ids)
    existing = set(clocks)
    rows = []
    fresh = _dumps({"*": [stamp, ""]})
    writer = writer_of(conn)
    for rid, values, _is_insert in changes:
        enc = encode_row(table, values)
        if not enc:
            continue
        data = clocks.get(rid)
        if data is None and enc.get("deleted_at") is None:  # a new record: the common bulk case
            clocks[rid] = fresh
            rows.append({"table_name": table, "record_id": rid, "op": "upsert", "fields": _dumps(enc),
                         "base": "", "hlc": stamp, "device_id": state.device, "changed_by": writer})
            continue
        base: dict[str, Any] = {}
        if data is None:
            data = {"*": [stamp, ""]}
            seen = stamp
        else:
            seen = max_clock(data)
            for f in enc:
                base[f] = field_clock(data, f)[0]
                data[f] = [stamp, base[f]]
        op = "upsert"
        deleted = enc.get("deleted_at", None)
        if deleted is not None:
            op = "delete"
            base["~seen"] = seen
            data["~d"] = [deleted, seen]
        elif "deleted_at" in enc and "~d" in data:
            data["~d"] = [None, ""]
        clocks[rid] = data
        rows.append({
            "table_name": table,
            "record_id": rid,
            "op": op,
            "fields": _dumps(enc),
            "base": _dumps(base) if base else "",
            "hlc": stamp,
            "device_id": state.device,
            "changed_by": writer,
        })
    if rows:
        _insert_many(conn, SyncChange.__table__, rows)
        save_clocks(conn, table, {r["record_id"]: clocks[r["record_id"]] for r in rows}, existing)
        state.persist(conn)


# --- SQLAlchemy hooks --------------------------------------------------------------------------

def _column_values(obj) -> dict[str, Any]:
    table = obj.__tablename__
    state = obj.__dict__
    return {k: state.get(k) for k in FIELDS[table]}


def _changed_values(obj) -> dict[str, Any]:
    from sqlalchemy import inspect as sa_inspect

    insp = sa_inspect(obj)
    out = {}
    for key in FIELDS[obj.__tablename__]:
        hist = insp.attrs[key].history
        if hist.added:
            out[key] = hist.added[0]
    return out


def _after_flush(session: Session, _ctx, state: SyncState) -> None:
    if session.info.get(APPLYING):
        return
    by_table: dict[str, list[tuple[str, dict, bool]]] = {}
    for obj in session.new:
        if type(obj) in _SYNCED:
            by_table.setdefault(obj.__tablename__, []).append((obj.id, _column_values(obj), True))
    for obj in session.dirty:
        if type(obj) in _SYNCED:
            values = _changed_values(obj)
            if values:
                by_table.setdefault(obj.__tablename__, []).append((obj.id, values, False))
    now = utcnow()
    for obj in session.deleted:  # hard delete: travels as a tombstone
        if type(obj) in _SYNCED:
            by_table.setdefault(obj.__tablename__, []).append((obj.id, {"deleted_at": now}, False))
    if not by_table:
        return
    conn = session.connection()
    for model in SYNCED_MODELS:  # parents before children
        if model.__tablename__ in by_table:
            record_local(conn, state, model.__tablename__, by_table[model.__tablename__])


_SYNCED = frozenset(SYNCED_MODELS)


def _python_default(column) -> tuple[bool, Any]:
    default = column.default
    if default is None or not getattr(default, "is_scalar", False) and not getattr(default, "is_callable", False):
        return False, None
    if default.is_callable:
        fn = default.arg
        try:
            return True, fn(None)
        except TypeError:
            return True, fn()
    return True, default.arg


def _do_orm_execute(orm_state, state: SyncState):
    session = orm_state.session
    if session.info.get(APPLYING) or not (orm_state.is_insert or orm_state.is_update or orm_state.is_delete):
        return None
    stmt = orm_state.statement
    table = getattr(stmt, "table", None)
    name = getattr(table, "name", None)
    if name not in MODELS_BY_TABLE:
        return None
    params = orm_state.parameters
    rows = params if isinstance(params, list) else ([params] if params else [])
    conn = session.connection()
    if orm_state.is_insert:
        if not rows:
            log.warning("sync capture: insert without parameter rows on %s is not captured", name)
            return None
        from app.models import new_id

        once = {}  # column defaults, evaluated once per statement (the id once per row; the
        # writer by the statement itself, which knows its connection: app/concurrency.py)
        for column in table.columns:
            if column.key not in ("id", "changed_by"):
                has, value = _python_default(column)
                if has:
                    once[column.key] = value
        filled = []
        for row in rows:
            full = dict(once)
            full.update(row)
            if "id" not in full:
                full["id"] = new_id()
            filled.append(full)
        result = orm_state.invoke_statement(params=filled if isinstance(params, list) else filled[0])
        record_local(conn, state, name, [(r["id"], r, True) for r in filled])
        return result
    id_col = table.c.id
    if orm_state.is_update and stmt.whereclause is None and rows and all("id" in r for r in rows):
        result = orm_state.invoke_statement()
        record_local(conn, state, name, [(r["id"], {k: v for k, v in r.items() if k != "id"}, False) for r in rows])
        return result
    # criteria statement: find the rows first, then read back what the statement wrote
    ids_stmt = select(id_col)
    if stmt.whereclause is not None:
        ids_stmt = ids_stmt.where(stmt.whereclause)
    ids = [r[0] for r in conn.execute(ids_stmt)]
    result = orm_state.invoke_statement()
    if not ids:
        return result
    if orm_state.is_delete:
        now = utcnow()
        record_local(conn, state, name, [(i, {"deleted_at": now}, False) for i in ids])
        return result
    keys = [getattr(k, "key", k) for k in (stmt._values or {}).keys()] or [k for k in (rows[0] if rows else {})]
    keys = [k for k in keys if k in FIELDS[name]]
    if "updated_at" in table.c and not keys:
        return result
    cols = [table.c[k] for k in keys]
    changes = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        for row in conn.execute(select(id_col, *cols).where(id_col.in_(part))):
            changes.append((row[0], dict(zip(keys, row[1:])), False))
    record_local(conn, state, name, changes)
    return result


def open_app_database(path_or_url=None, **options):
    """The database as Kursdesk's own processes open it (the window, the command line, a
    scheduled sync): with change capture, so that every change they write reaches the partners.
    A plain `Database` (tests, tools, migrations) captures nothing."""
    from app.db import Database, open_database

    db = Database(path_or_url, **options) if options else open_database(path_or_url)
    install(db)
    return db


def install(db) -> SyncState:
    """Hook change capture onto this database's sessions (idempotent)."""
    state = state_of(db)
    if getattr(db, "_sync_capture_installed", False):
        return state
    event.listen(db.Session, "after_flush", lambda s, c: _after_flush(s, c, state))
    event.listen(db.Session, "do_orm_execute", lambda o: _do_orm_execute(o, state))
    db._sync_capture_installed = True
    return state


def baseline_pending(session: Session) -> bool:
    """True until this laptop first publishes: until then, records added without capture are
    logged once by engine.baseline() at the first publish, with their values at that moment."""
    row = session.get(Setting, "sync_baseline")
    return row is None or not row.value


@contextmanager
def capture_suspended(session: Session):
    """Writes in this block are not logged (new records before the first publish: see above)."""
    session.info[APPLYING] = True
    try:
        yield
    finally:
        session.info.pop(APPLYING, None)
