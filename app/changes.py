"""What each committed write changed: a ChangeSet of table -> ids, derived from the write path.

`Database.write()` collects, on its thread, the rows every statement of the transaction touched
(`track(db)` hooks the sessions' `after_flush`, the hook sync capture uses, their `do_orm_execute`
for the ORM's bulk UPDATE by primary key, whose Core statement does not show its ids, and the
engine's `after_execute` for the other bulk and Core statements), and when the outermost
transaction commits it hands one ChangeSet to the database's listeners (`db.changes.listen(fn)`,
called on the committing thread with the set and its initiator). Sync imports, bundle imports and
undo are plain writes, so they report theirs the same way; a restore of the whole file reports
`ChangeSet.everything()`.

    with initiated_by(page):          # the listeners learn who started these writes
        with batched(db):             # several transactions, one ChangeSet at the end
            ...

Ids are known for ORM objects, for INSERTs whose rows carry an "id", for ORM bulk UPDATEs by
primary key (`session.execute(update(Model), [{"id": ..., ...}, ...])`, as a sync applies changes)
and for Core statements that name their rows (execution option ROWS); otherwise (a Core UPDATE or
DELETE, one with a WHERE clause, more than MAX_IDS rows) the table is marked as changed as a whole
(None).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_IDS = 5_000  # beyond this a table is reported as changed as a whole
# a Core statement that knows which rows it writes can say so: stmt.execution_options(**{ROWS: ids})
ROWS = "kursdesk_rows"


@dataclass(frozen=True)
class ChangeSet:
    """Tables a transaction (or a batch of them) changed, each with the ids of the rows, or None
    when which rows is not known. `all_tables` means everything may have changed (a restore)."""

    tables: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    all_tables: bool = False

    @classmethod
    def everything(cls) -> ChangeSet:
        return cls(all_tables=True)

    def __bool__(self) -> bool:
        return self.all_tables or bool(self.tables)

    def touches(self, tables: Iterable[str]) -> bool:
        return self.all_tables or any(t in self.tables for t in tables)

    def ids(self, table: str) -> frozenset[str] | None:
        """The changed ids of `table` (empty when untouched), None when not known."""
        if self.all_tables:
            return None
        return self.tables.get(table, frozenset())

    def merged(self, other: ChangeSet) -> ChangeSet:
        if self.all_tables or other.all_tables:
            return ChangeSet.everything()
        out = _Collector()
        out.add_set(self)
        out.add_set(other)
        return out.change_set()


class _Collector:
    """Mutable table -> ids (None = the whole table) while a transaction runs."""

    def __init__(self) -> None:
        self.tables: dict[str, set[str] | None] = {}

    def add(self, table: str, ids: Iterable[Any] | None) -> None:
        if table in self.tables and self.tables[table] is None:
            return
        if ids is None:
            self.tables[table] = None
            return
        known = self.tables.setdefault(table, set())
        assert known is not None
        known.update(str(i) for i in ids)
        if len(known) > MAX_IDS:
            self.tables[table] = None

    def add_set(self, changes: ChangeSet) -> None:
        for table, ids in changes.tables.items():
            self.add(table, ids)

    def change_set(self) -> ChangeSet:
        return ChangeSet({t: (None if ids is None else frozenset(ids)) for t, ids in self.tables.items()})


Listener = Callable[[ChangeSet, object], None]


class ChangeFeed:
    """One database's listeners, and the per-thread state of its open write and batches."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._local = threading.local()

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(changes, initiator)` after every commit; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # --- used by Database.write() and the hooks ---

    def begin(self) -> None:
        self._local.open = _Collector()

    def current(self) -> _Collector | None:
        return getattr(self._local, "open", None)

    def end(self, committed: bool) -> ChangeSet:
        """What the transaction that ends changed (empty when it rolled back)."""
        collector, self._local.open = self.current(), None
        if committed and collector is not None:
            return collector.change_set()
        return ChangeSet()

    def publish(self, changes: ChangeSet) -> None:
        batch = getattr(self._local, "batch", None)
        if batch is not None:
            self._local.batch = batch.merged(changes)
            return
        initiator = getattr(_initiator, "value", None)
        for listener in list(self._listeners):
            try:
                listener(changes, initiator)
            except Exception:  # noqa: BLE001 - a listener's failure must not undo a committed write
                log.exception("a change listener failed")

    @contextmanager
    def batched(self) -> Iterator[None]:
        """The commits in this block are published once, merged, when it ends (also on an error:
        what committed stays committed)."""
        if getattr(self._local, "batch", None) is not None:  # nested: the outer batch publishes
            yield
            return
        self._local.batch = ChangeSet()
        try:
            yield
        finally:
            changes, self._local.batch = self._local.batch, None
            if changes:
                self.publish(changes)


_initiator = threading.local()


@contextmanager
def initiated_by(initiator: object) -> Iterator[None]:
    """Commits on this thread inside the block are published with `initiator` (a page, say),
    so that it can leave out changes it made itself."""
    previous = getattr(_initiator, "value", None)
    _initiator.value = initiator
    try:
        yield
    finally:
        _initiator.value = previous


# --- hooks ------------------------------------------------------------------------------------

def _row_id(obj: Any) -> Any:
    return getattr(obj, "id", None) or getattr(obj, "key", None)


def _after_flush(session: Any, _ctx: Any, feed: ChangeFeed) -> None:
    collector = feed.current()
    if collector is None:
        return
    for objects in (session.new, session.dirty, session.deleted):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            if table is not None:
                collector.add(table, [_row_id(obj)])


def _statement_ids(params: Any) -> list[Any] | None:
    rows = params if isinstance(params, (list, tuple)) else [params]
    ids = []
    for row in rows:
        if not isinstance(row, Mapping) or row.get("id") is None:
            return None
        ids.append(row["id"])
    return ids or None


def by_primary_key(orm_state: Any) -> tuple[str, list[Any]] | None:
    """(table, ids) of an ORM bulk UPDATE by primary key (`update(Model)` without WHERE criteria,
    with a list of rows that each hold the primary key): it changes those rows and no others."""
    mapper = orm_state.bind_mapper
    rows = orm_state.parameters
    if not (orm_state.is_update and mapper is not None and isinstance(rows, list) and rows):
        return None
    if orm_state.statement.whereclause is not None or len(mapper.primary_key) != 1:
        return None
    if orm_state.execution_options.get("dml_strategy", "auto") not in ("auto", "bulk"):
        return None  # run as Core, each row's values would go to every row
    key = mapper.get_property_by_column(mapper.primary_key[0]).key
    ids = [row.get(key) if isinstance(row, Mapping) else None for row in rows]
    if any(i is None for i in ids):
        return None
    return mapper.local_table.name, ids


def _do_orm_execute(orm_state: Any, feed: ChangeFeed) -> Any:
    collector = feed.current()
    named = by_primary_key(orm_state) if collector is not None else None
    if collector is None or named is None:
        return None  # the Core statement's after_execute reports it
    conn = orm_state.session.connection()
    conn.info[_BY_PK] = named[0]  # so that the Core UPDATEs it runs do not report the whole table
    try:
        result = orm_state.invoke_statement()
    finally:
        conn.info.pop(_BY_PK, None)
    collector.add(*named)
    return result


def _after_execute(conn: Any, statement: Any, multiparams: Any, params: Any, _options: Any, _result: Any,
                   feed: ChangeFeed) -> None:
    from sqlalchemy.sql.dml import Insert, Update, UpdateBase

    if not isinstance(statement, UpdateBase):
        return
    collector = feed.current()
    table = getattr(getattr(statement, "table", None), "name", None)
    if collector is None or table is None:
        return
    if conn.info.get(_FLUSHING):
        return  # the flush's own statements: after_flush names their rows
    if isinstance(statement, Update) and conn.info.get(_BY_PK) == table:
        return  # an ORM bulk UPDATE by primary key: _do_orm_execute names its rows
    # only an INSERT's rows say which ids it wrote; an UPDATE or DELETE counts for the whole table
    # unless the statement names its rows itself
    ids = _options.get(ROWS)
    if ids is None and isinstance(statement, Insert):
        ids = _statement_ids(multiparams or params)
    collector.add(table, ids)


_FLUSHING = "kursdesk_flushing"
_BY_PK = "kursdesk_update_by_primary_key"  # the table of the ORM bulk UPDATE running on this connection


def track(db: Any) -> None:
    """Hook change collection onto this database's sessions and engine (Database does it).
    SQLAlchemy is imported here, not with the module: the window uses ChangeSet before it has
    loaded SQLAlchemy (ui/app.py)."""
    from sqlalchemy import event

    feed: ChangeFeed = db.changes
    event.listen(db.Session, "after_flush", lambda s, c: _after_flush(s, c, feed))

    def before_flush(session: Any, _ctx: Any, _instances: Any) -> None:
        session.connection().info[_FLUSHING] = True

    def after_flush_postexec(session: Any, _ctx: Any) -> None:
        session.connection().info.pop(_FLUSHING, None)

    event.listen(db.Session, "before_flush", before_flush)
    event.listen(db.Session, "after_flush_postexec", after_flush_postexec)
    event.listen(db.Session, "do_orm_execute", lambda orm_state: _do_orm_execute(orm_state, feed))
    event.listen(db.engine, "after_execute",
                 lambda conn, st, mp, p, o, r: _after_execute(conn, st, mp, p, o, r, feed))
