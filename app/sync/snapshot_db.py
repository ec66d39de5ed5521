"""Format-3 snapshot bodies: the writer's whole database schema (every table and index) holding
only the synced state, so that an empty laptop at the same schema takes it as it is.

    whole_image(raw)           the image, written inside the caller's read transaction (SQLite)
    open_image(image), attach_laptop(con, path)   the joiner's side: the image in memory, the
                               laptop's database attached to it
    same_schema(con, a, b)     whether two attached databases have the same tables, columns, keys
                               and indexes (their CREATE text may differ in order)
    put_in_place(db, con, finish, timeout)   the image, with this laptop's own tables copied in
                               and `finish(session)` run on it, written over the laptop's database
                               in one step of SQLite's backup API (atomic: a killed copy leaves
                               the laptop as it was)

Why: building the B-trees of 600,000 marks on the joining laptop (30 indexes, the copies, the
foreign-key check, the commit of 400 MB) took most of a 15 s join; a ready-made database is put
in place in a few seconds. Only the synced records, their clocks, the identity merges, the parked
changes and the partners' forks go into the image (the writer's settings, change log, batches,
audit, restore points stay out), and the image is only ever inserted into, never deleted from, so
its free pages hold nothing (no erased person, no local data).
"""

from __future__ import annotations

import re
import sqlite3

from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from app.models import SYNCED_MODELS
from app.sync.capture import APPLYING, FIELDS

SCHEMA = "kursdesk_snap"  # the image, attached in memory to the writer's connection
HERE = "kursdesk_here"  # the joining laptop's database, attached to the image's connection
# the tables the image fills; every other table is the laptop's own and copied from it at a join
FILLED = {m.__tablename__ for m in SYNCED_MODELS} | {"sync_clocks", "sync_aliases", "sync_parked", "sync_forks",
                                                      "alembic_version"}
BACKUP_PAGES = -1  # pages per backup step: all in one (tests use fewer to stop a copy midway)
HOOKS: dict = {}  # tests: "backup_progress" -> callable(status, remaining, total)

_CREATE = re.compile(r"^\s*CREATE\s+((?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER))\s+(IF\s+NOT\s+EXISTS\s+)?", re.I)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(schema: str, sql: str) -> str:
    """A CREATE statement of sqlite_master made to create its object in `schema`."""
    return _CREATE.sub(lambda m: f"CREATE {m.group(1)} {m.group(2) or ''}{schema}.", sql, count=1)


def _objects(execute, schema: str) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in execute(f"SELECT type, name, sql FROM {schema}.sqlite_master "
                                      "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]


def whole_image(raw: sqlite3.Connection) -> bytes:
    """The image of the database `raw` reads (inside its read transaction, which it ends by a
    commit: call it after every other read of that transaction). `SCHEMA` must be attached in
    memory to `raw` before the transaction began; the caller detaches it afterwards."""

    def execute(sql, params=()):
        return raw.execute(sql, params).fetchall()

    for pragma in ("page_size", "auto_vacuum"):  # the same, so that the backup API can write it over
        execute(f"PRAGMA {SCHEMA}.{pragma}={execute(f'PRAGMA main.{pragma}')[0][0]}")
    execute(f"PRAGMA {SCHEMA}.secure_delete=ON")
    objects = _objects(execute, "main")
    for kind, _name, sql in objects:
        if kind == "table":
            execute(_in(SCHEMA, sql))
    for model in SYNCED_MODELS:
        t, name = model.__table__, model.__tablename__
        cols = list(FIELDS[name]) + (["updated_at"] if "updated_at" in t.c and "updated_at" not in FIELDS[name] else [])
        names = ", ".join(map(_q, cols))
        execute(f"INSERT INTO {SCHEMA}.{_q(name)} ({names}) SELECT {names} FROM main.{_q(name)} ORDER BY rowid")
    for name in sorted(m.__tablename__ for m in SYNCED_MODELS):  # in key order: appended
        execute(f"INSERT INTO {SCHEMA}.sync_clocks SELECT c.* FROM main.sync_clocks c WHERE c.table_name = ? "
                f"AND c.record_id IN (SELECT id FROM main.{_q(name)}) ORDER BY c.record_id", (name,))
    for name in ("sync_aliases", "sync_parked", "alembic_version"):
        execute(f"INSERT INTO {SCHEMA}.{name} SELECT * FROM main.{name}")
    execute(f"INSERT INTO {SCHEMA}.sync_forks (old_device, new_device, upto_seq, upto_chain, reason, local, shown, at) "
            "SELECT old_device, new_device, upto_seq, upto_chain, 'partner', 0, 1, at FROM main.sync_forks")
    for kind, _name, sql in objects:
        if kind != "table":
            execute(_in(SCHEMA, sql))
    execute(f"PRAGMA {SCHEMA}.user_version={execute('PRAGMA main.user_version')[0][0]}")
    if raw.in_transaction:  # the image's pages are complete once committed
        raw.commit()
    return raw.serialize(name=SCHEMA)


def _signature(execute, schema: str) -> tuple:
    tables = sorted(name for kind, name, _sql in _objects(execute, schema) if kind == "table")
    out = []
    for t in tables:
        indexes = sorted((r[2], r[3], r[4], tuple(c[2] for c in execute(f"PRAGMA {schema}.index_info({_q(r[1])})")))
                         for r in execute(f"PRAGMA {schema}.index_list({_q(t)})"))
        out.append((t, [tuple(r) for r in execute(f"PRAGMA {schema}.table_info({_q(t)})")],
                    sorted(tuple(r[2:]) for r in execute(f"PRAGMA {schema}.foreign_key_list({_q(t)})")), indexes))
    others = sorted((kind, name, sql) for kind, name, sql in _objects(execute, schema) if kind != "table")
    pragmas = [execute(f"PRAGMA {schema}.{p}")[0][0] for p in ("page_size", "auto_vacuum")]
    version = execute(f"SELECT version_num FROM {schema}.alembic_version") if "alembic_version" in tables else []
    return out, others, pragmas, version


def same_schema(con: sqlite3.Connection, a: str, b: str) -> bool:
    def execute(sql, params=()):
        return con.execute(sql, params).fetchall()

    return _signature(execute, a) == _signature(execute, b)


def open_image(image: bytes) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.deserialize(image)
    return con


def attach_laptop(con: sqlite3.Connection, path) -> None:
    con.execute(f"ATTACH ? AS {HERE}", (str(path),))


def refers_to_missing(con: sqlite3.Connection) -> bool:
    return con.execute("PRAGMA main.foreign_key_check").fetchone() is not None


def put_in_place(db, con: sqlite3.Connection, finish, busy_timeout_ms: int) -> None:
    """Copy the laptop's own tables (attached as HERE) into the image `con`, run `finish(session)`
    on the image through SQLAlchemy, and write the image over the laptop's database in one
    backup (its write lock held for the whole copy; nothing of it is visible before the end)."""
    tables = [name for kind, name, _sql in _objects(lambda sql: con.execute(sql).fetchall(), HERE)
              if kind == "table" and name not in FILLED]
    con.execute("BEGIN")
    for name in tables:
        con.execute(f"INSERT OR REPLACE INTO main.{_q(name)} SELECT * FROM {HERE}.{_q(name)}")
    con.execute(f"INSERT OR REPLACE INTO main.sync_forks SELECT * FROM {HERE}.sync_forks")  # its own win
    con.execute("COMMIT")
    con.execute(f"DETACH {HERE}")
    engine = create_engine("sqlite://", creator=lambda: con, poolclass=StaticPool)
    with Session(bind=engine) as s:
        s.info[APPLYING] = True
        finish(s)
        s.commit()
    db.engine.dispose()  # pooled connections open again on the new content
    dst = sqlite3.connect(db.path, timeout=0, isolation_level=None)
    mode = "wal"
    try:
        try:  # alone on it: a rollback journal, so the pages go into the file once (not WAL, then checkpoint)
            mode = dst.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError:  # another connection has it open: through the WAL
            pass
        dst.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        con.backup(dst, pages=BACKUP_PAGES, progress=HOOKS.get("backup_progress"))
    finally:
        try:
            if mode != "wal":
                dst.execute("PRAGMA journal_mode=WAL")  # as every connection of the app sets it anyway
        finally:
            dst.close()
