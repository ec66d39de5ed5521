"""Engine, sessions, migrations and backups. The only module that knows the database is SQLite.

Reads use `db.read()`; every write goes through `db.write()`, which takes SQLite's write lock
before its first statement (`BEGIN IMMEDIATE`), so that what a transaction reads to decide on
(an identity, free places, the next number, a field's clock) cannot be changed by another
process before it commits. It commits or rolls back as a whole. A write inside a write on the
same thread joins the outer transaction (a savepoint) instead of waiting for its own lock.

Every open Database also holds a shared lock on a sidecar file `<db>.inuse` (an empty SQLite file
in rollback-journal mode with an open read transaction: SQLite's own portable file locking, the
same on Windows and POSIX). Putting a copy back in place of the database (restore) needs that
file's exclusive lock, so it is refused while another Kursdesk window or job has the database
open; and a new opener waits while a restore runs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import column as sa_column
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy import table as sa_table
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import config, server
from app.changes import ChangeFeed, ChangeSet, track
from app.concurrency import LOCK_TIMEOUT, WRITE_LOCK_KEY
from app.db_peek import file_url
from app.errors import UserError
from app.i18n import _
from app.migrations import HEAD
from app.progress import STOP_CHECK_STEPS, interrupt_if_cancelled, stop_if_cancelled

log = logging.getLogger(__name__)

KEEP_BACKUPS = 10
# How long a write waits for another process's write (the longest is a first sync or a large
# bundle import, one transaction of tens of seconds) before it gives up with DatabaseBusy.
BUSY_TIMEOUT_MS = 90_000
BEGIN_OPTION = "kursdesk_begin"
IMAGE_SCHEMA = "kursdesk_image"  # attach_image()
BULK_LOAD = "kursdesk_bulk_load"  # in a bulk_load() session's info: which rows it wrote is not collected
# The checkpoint at close waits this long for another process's write, not BUSY_TIMEOUT_MS: the
# process that writes checkpoints when it closes (and SQLite's automatic checkpoints run anyway).
CLOSE_CHECKPOINT_TIMEOUT_MS = 2_000
INUSE_SUFFIX = ".inuse"
# Kursdesk's own temporary files (written, flushed, renamed into place); one left behind by a
# crash is removed at the next start (see clean_leftovers).
TEMP_PATTERNS = (".kursdesk-*.tmp", ".signin-*.tmp")
LEFTOVER_AGE_S = 3600  # a temporary file this old is a left-over even while another process runs


class DatabaseBusy(UserError):
    """Another process held the write lock for longer than BUSY_TIMEOUT_MS."""

    def __init__(self) -> None:
        super().__init__(_("The database is busy in another Kursdesk window or job; try again in a moment. Nothing was changed."))


class DatabaseInUse(UserError):
    """Another process has the database open, so its file cannot be replaced now."""

    def __init__(self) -> None:
        super().__init__(
            _("Another Kursdesk window or job has the database open: close it (or let the job finish) and try again. Nothing was changed.")
        )


def is_busy_error(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    text_ = str(orig).lower()
    return isinstance(orig, sqlite3.OperationalError) and ("locked" in text_ or "busy" in text_)


def is_unique_violation(exc: BaseException) -> bool:
    """A write refused by a unique constraint or index (SQLite or PostgreSQL)."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, sqlite3.IntegrityError):
        return "unique constraint" in str(orig).lower()
    return getattr(orig, "pgcode", None) == "23505" or getattr(orig, "sqlstate", None) == "23505"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # pysqlite's own BEGIN handling is switched off: _sqlite_begin emits BEGIN (reads) or
    # BEGIN IMMEDIATE (writes), SQLAlchemy's documented way for pysqlite.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()
    dbapi_conn.set_progress_handler(interrupt_if_cancelled, STOP_CHECK_STEPS)  # app/progress.py


def _sqlite_begin(conn) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def owner_only(path: Path) -> None:
    """Files with personal data are readable by their owner only (POSIX; on Windows the
    per-user profile already is)."""
    if os.name != "posix":
        return
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            os.chmod(p, 0o600)
        except FileNotFoundError:
            pass
        except OSError:
            log.debug("could not restrict a database file's permissions")


def private_dir(path: Path) -> Path:
    """mkdir -p with owner-only permissions for the folders Kursdesk creates (POSIX)."""
    return config.private_dir(path)


def inuse_path(path: Path) -> Path:
    return Path(f"{path}{INUSE_SUFFIX}")


def _hold_inuse(path: Path) -> sqlite3.Connection | None:
    """A connection to `<db>.inuse` holding a SHARED lock (an open read transaction) for as long
    as the Database is open. None when the file cannot be used (read-only folder): the database
    itself still works, only the restore guard is weaker."""
    marker = inuse_path(path)
    try:
        if not marker.exists():
            marker.touch(mode=0o600)
        conn = sqlite3.connect(marker, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return conn
    except sqlite3.Error:
        log.debug("could not hold the database's in-use marker")
        return None


def _alone_on(path: Path) -> sqlite3.Connection | None:
    """The in-use marker's EXCLUSIVE lock, without waiting: a connection holding it when no other
    process has the database open, else None."""
    marker = inuse_path(path)
    if not marker.exists():
        marker.touch(mode=0o600)
    conn = sqlite3.connect(marker, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_busy_error(exc):
            return None
        raise
    return conn


def clean_leftovers(folders: list[Path], *, alone: bool) -> int:
    """Remove Kursdesk's own left-over temporary files (TEMP_PATTERNS) from `folders`: all of them
    when no other process has the database open (`alone`), else only those older than
    LEFTOVER_AGE_S (another process may be writing one right now). Returns how many went."""
    removed = 0
    now = time.time()
    for folder in dict.fromkeys(folders):
        if not folder.is_dir():
            continue
        for pattern in TEMP_PATTERNS:
            for leftover in folder.glob(pattern):
                try:
                    if not leftover.is_file():
                        continue
                    if not alone and now - leftover.stat().st_mtime < LEFTOVER_AGE_S:
                        continue
                    leftover.unlink()
                    removed += 1
                except OSError:
                    log.debug("could not remove a left-over temporary file")
    if removed:
        log.info("%s left-over temporary files removed", removed)
    return removed


def make_url(path_or_url: str | Path) -> str:
    """The SQLAlchemy URL of a database file or a server's URL (the driver chosen for the user,
    no password: see app/server.py)."""
    value = str(path_or_url)
    if server.is_server_url(value):
        return server.sqlalchemy_url(value).render_as_string(hide_password=True)
    return value if "://" in value else file_url(value)


class ServerUnavailable(UserError):
    """Connecting to the database server failed; `kind` says how (app/server.py)."""

    def __init__(self, problem: server.ConnectionProblem) -> None:
        super().__init__(problem.message)
        self.kind = problem.kind


def server_error(exc: BaseException, url) -> ServerUnavailable | None:
    """`exc` as a ServerUnavailable when it is a failure to reach or log in to the server."""
    problem = server.connection_problem(exc, url)
    return ServerUnavailable(problem) if problem is not None else None


class Database:
    """One database: an engine, a session factory and the single write path."""

    def __init__(self, path_or_url: str | Path | URL, *, migrate: bool = True):
        if path_or_url is None:  # (a server's Database has no .path) never a file named "None"
            raise TypeError("Database() needs a path or URL")
        server_url = None
        if isinstance(path_or_url, URL) or server.is_server_url(path_or_url):
            # a password given in the URL goes to the credential store; the URL kept has none
            server_url = path_or_url if isinstance(path_or_url, URL) else server.keep_password_from_url(str(path_or_url))
            server_url = server.sqlalchemy_url(server_url.render_as_string(hide_password=False))
            server.require_driver()
            self.url = server_url.render_as_string(hide_password=True)
        else:
            self.url = make_url(path_or_url)
        self.server_url = server_url
        self.notices: list[str] = []  # what the user should hear about opening it (a copy taken)
        self.is_sqlite = self.url.startswith("sqlite")
        self.path = Path(self.url.removeprefix("sqlite:///")) if self.is_sqlite else None
        self._inuse: sqlite3.Connection | None = None
        if self.path is not None:
            if not self.path.parent.exists():
                private_dir(self.path.parent)
            if not self.path.exists():
                # created empty and owner-only before SQLite opens it (and its -wal, -shm)
                self.path.touch(mode=0o600)
            self._start_clean()
            self._inuse = _hold_inuse(self.path)
        if server_url is not None:
            # checked before use: a connection the server dropped is replaced, not handed out
            self.engine: Engine = create_engine(server_url, pool_pre_ping=True, connect_args=server.connect_args(server_url))
        else:
            self.engine = create_engine(self.url)
        # a read in the window's worker stops at its next statement once it is cancelled
        event.listen(self.engine, "before_cursor_execute", stop_if_cancelled)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            self._write_engine = self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        else:
            self._write_engine = self.engine
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.RLock()
        self._local = threading.local()  # the write session open on this thread, if any
        self.changes = ChangeFeed()  # what each committed write changed (app/changes.py)
        track(self)
        if migrate:
            try:
                upgrade(self)
            except DBAPIError as exc:
                problem = server_error(exc, server_url) if server_url is not None else None
                if problem is None:
                    raise
                self.engine.dispose()
                raise problem from None
        if self.path is not None:
            owner_only(self.path)
        from app.services.month_stamps import install as stamp_months  # the month status's change stamps

        stamp_months(self)

    def _start_clean(self) -> None:
        """At start: Kursdesk's left-over temporary files next to the database and among its
        backups go, and backups written before they were made owner-only become so."""
        assert self.path is not None
        alone = None
        try:
            alone = _alone_on(self.path)
        except sqlite3.Error:
            log.debug("in-use marker unavailable")
        try:
            backups = config.backup_dir(create=False)
            clean_leftovers([self.path.parent, config.data_dir(create=False), backups], alone=alone is not None)
            if backups.is_dir():
                for old in backups.glob("*.db"):
                    owner_only(old)
        finally:
            if alone is not None:
                alone.close()

    @property
    def display_name(self) -> str:
        """The database as the status bar names it: the file's name, or the server's host and
        database (never a user name or password)."""
        if self.path is not None:
            return self.path.name
        return server.display_name(self.url)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.Session() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends and rolls back on any error.

        It holds the database's write lock from its start (BEGIN IMMEDIATE; on PostgreSQL a
        transaction-level advisory lock, and READ COMMITTED then reads every earlier commit), so
        every check it makes before writing stays true until it commits. Waiting longer than BUSY_TIMEOUT_MS
        for another process raises DatabaseBusy."""
        outer = getattr(self._local, "session", None)
        if outer is not None:  # nested on this thread: a savepoint of the outer transaction
            with outer.begin_nested():
                yield outer
            return
        committed = False
        with self._write_lock:
            self.changes.begin()
            try:
                with self.Session(bind=self._write_engine) as session, session.begin():
                    conn = session.connection()  # BEGIN IMMEDIATE now, before any read
                    if not self.is_sqlite:  # PostgreSQL: the same one writer at a time (app/concurrency.py),
                        # waiting as long as SQLite's busy timeout (then DatabaseBusy, as there)
                        conn.exec_driver_sql(f"SELECT set_config('lock_timeout', '{BUSY_TIMEOUT_MS}ms', true), "
                                             f"pg_advisory_xact_lock({WRITE_LOCK_KEY})")
                    session.info["kursdesk_db"] = self  # for work after the commit (app/gdpr/erasure.py)
                    self._local.session = session
                    try:
                        yield session
                    finally:
                        self._local.session = None
                committed = True
            except OperationalError as exc:
                if is_busy_error(exc) or getattr(getattr(exc, "orig", None), "sqlstate", None) == LOCK_TIMEOUT:
                    raise DatabaseBusy() from None
                raise
            finally:
                changed = self.changes.end(committed)
        if changed:  # published after the lock is released: a listener may read or write
            self.changes.publish(changed)

    @contextmanager
    def bulk_write(self) -> Iterator[Session]:
        """write() for large imports. On SQLite the connection gets a larger page cache for the
        transaction: with random UUID keys, index inserts touch pages all over the file, and the
        default 2 MB cache makes a 600,000-row import three times slower."""
        with self.write() as session:
            if self.is_sqlite:
                session.connection().exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
            try:
                yield session
            finally:
                if self.is_sqlite:
                    try:
                        session.connection().exec_driver_sql("PRAGMA cache_size=-2000")
                    except Exception:  # noqa: BLE001 - the transaction's own error matters more
                        log.debug("could not reset the page cache size")

    @contextmanager
    def bulk_load(self) -> Iterator[Session]:
        """bulk_write() for filling tables emptied in the same transaction (a sync snapshot). On
        SQLite foreign keys are checked once before the commit (PRAGMA foreign_key_check) instead
        of a parent lookup per row, which takes most of the time of such a load; a row that refers
        to a missing one raises ForeignKeyViolation and nothing is written."""
        if not self.is_sqlite:
            with self.bulk_write() as session:
                session.info[BULK_LOAD] = True  # for app/services/month_stamps.py
                yield session
            return
        with self._write_lock:
            try:
                with self._write_engine.connect() as conn:
                    raw = conn.connection.driver_connection
                    # outside a transaction, or SQLite ignores them; the pooled connection gets
                    # its usual settings back before anyone else uses it
                    raw.execute("PRAGMA foreign_keys=OFF")
                    raw.execute("PRAGMA cache_size=-262144")  # 256 MiB, as bulk_write()
                    raw.execute("PRAGMA threads=2")  # CREATE INDEX sorts on a second core too
                    try:
                        with self.Session(bind=conn) as session, session.begin():
                            session.connection()  # BEGIN IMMEDIATE now
                            session.info[BULK_LOAD] = True  # for app/services/month_stamps.py
                            self._local.session = session
                            try:
                                yield session
                                session.flush()
                                bad = session.connection().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                                if bad:
                                    raise ForeignKeyViolation(f"{len(bad)} rows refer to missing rows")
                            finally:
                                self._local.session = None
                    finally:
                        if conn.in_transaction():
                            conn.rollback()
                        if any(row[1] == IMAGE_SCHEMA for row in raw.execute("PRAGMA database_list")):
                            raw.execute(f"DETACH {IMAGE_SCHEMA}")  # not possible inside the transaction
                        raw.execute("PRAGMA cache_size=-2000")
                        raw.execute("PRAGMA threads=0")
                        raw.execute("PRAGMA foreign_keys=ON")
            except OperationalError as exc:
                if is_busy_error(exc):
                    raise DatabaseBusy() from None
                raise

    def attach_image(self, conn, image: bytes) -> str | None:
        """SQLite, inside bulk_load(): an SQLite database image (a sync snapshot's body) attached
        to the connection in memory, so that INSERT ... SELECT copies its rows inside SQLite; it is
        detached when bulk_load() ends. Returns its schema name, or None on another database."""
        if not self.is_sqlite:
            return None
        raw = conn.connection.driver_connection
        raw.execute(f"ATTACH ':memory:' AS {IMAGE_SCHEMA}")
        raw.deserialize(image, name=IMAGE_SCHEMA)
        return IMAGE_SCHEMA

    def insert_json_rows(self, conn, table, columns: dict[str, int], kinds: dict[str, str], rows_json: str,
                         extra: dict | None = None, required: str = "") -> bool:
        """SQLite: insert rows given as one JSON array of arrays (values in app/sync/capture.py's
        JSON-safe form; `columns` names the element each column takes) in one statement: SQLite
        reads the JSON itself (json_each), instead of the driver binding every value of every row,
        which is most of the time of a large load. Values go in as SQLAlchemy stores them here;
        `extra` columns get one value for all rows; rows whose `required` column is null are left
        out. Returns False (nothing done) on another database, or for bytes and decimal columns,
        which take the generic path."""
        if not self.is_sqlite or any(kinds.get(c) in ("bytes", "decimal") for c in columns):
            return False
        extra = extra or {}
        names = {c: f"c{i}" for i, c in enumerate(columns)}
        picks = ", ".join(f"json_extract(value, '$[{columns[c]}]') AS {n}" for c, n in names.items())

        def stored(kind: str, n: str) -> str:
            if kind == "datetime":  # 2026-03-02T08:00:00[.123456] -> 2026-03-02 08:00:00.000000
                return (f"CASE WHEN length({n}) = 19 THEN substr({n}, 1, 10) || ' ' || substr({n}, 12) || '.000000' "
                        f"ELSE substr({n}, 1, 10) || ' ' || substr({n}, 12) END")
            if kind == "time":  # 08:00 or 08:00:30 -> 08:00:00.000000
                return f"CASE length({n}) WHEN 5 THEN {n} || ':00.000000' WHEN 8 THEN {n} || '.000000' ELSE {n} END"
            return n

        values = [stored(kinds.get(c, ""), n) for c, n in names.items()] + ["?"] * len(extra)
        quote = conn.dialect.identifier_preparer.quote
        where = f" WHERE {names[required]} IS NOT NULL" if required else ""
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in [*columns, *extra])}) "
               f"SELECT {', '.join(values)} FROM (SELECT {picks} FROM json_each(?)){where}")
        processors = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in extra]
        args = [p(v) if p else v for p, v in zip(processors, extra.values())]
        conn.exec_driver_sql(sql, (*args, rows_json))
        return True

    def dispose(self) -> None:
        """Close every connection; on SQLite first fold the WAL into the database file, so that
        the .db file alone holds every record (a coordinator may copy just that file)."""
        if self.is_sqlite:
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={CLOSE_CHECKPOINT_TIMEOUT_MS}")
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            except Exception:  # noqa: BLE001 - another process may hold the database; its exit checkpoints
                log.debug("wal checkpoint at close skipped")
        self.engine.dispose()
        self._release_inuse()

    def _release_inuse(self) -> None:
        conn, self._inuse = getattr(self, "_inuse", None), None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                log.debug("could not close the in-use marker")

    # --- backups ---------------------------------------------------------------------

    def backup(self, reason: str, folder: Path | None = None) -> Path | None:
        """A consistent copy of the database file (SQLite's backup API, safe with WAL); None on
        a server (app/backup.py copies those)."""
        if not self.is_sqlite or self.path is None:
            return None
        folder = private_dir(folder or config.backup_dir())
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"{self.path.stem}-{stamp}-{reason}.db"
        # written under a temporary name (owner-only from the start) and renamed when complete: a
        # crash leaves a .kursdesk-*.tmp that the next start removes, never a half backup
        fd, tmp_name = tempfile.mkstemp(prefix=".kursdesk-backup-", suffix=".tmp", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        owner_only(tmp)
        try:
            self.copy_to(tmp)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        owner_only(target)
        _prune(folder, self.path.stem, reason)
        log.info("backup written (%s)", reason)
        return target

    def copy_to(self, target: Path) -> None:
        """SQLite: a consistent copy of the database into the (new or empty) file `target`."""
        assert self.path is not None
        src = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()

    def restore(self, backup_file: Path, check: Callable[[], None] | None = None) -> None:
        """Put a backup back in place of the live database, through SQLite's backup API in one
        step, which holds the database's write lock for the whole copy (never a file copy over it).

        Refused (DatabaseInUse) while another process has the database open: this one lets go of
        its in-use marker and takes the marker's exclusive lock without waiting, which only
        succeeds when nobody else holds it; holding it keeps new openers waiting until the copy
        is in place. `check()`, when given, runs once no other process can change the database
        (alone, and under this process's write lock) and may refuse with a UserError."""
        assert self.path is not None
        with self._write_lock:
            self._release_inuse()
            try:
                guard = _alone_on(self.path)
            except sqlite3.Error:  # the marker cannot be locked at all: do not risk it
                log.debug("in-use marker unavailable at restore")
                guard = None
            if guard is None:
                self._inuse = _hold_inuse(self.path)
                raise DatabaseInUse()
            try:
                if check is not None:
                    check()
                self.engine.dispose()
                src = sqlite3.connect(backup_file)
                dst = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
                try:
                    src.backup(dst)  # pages=-1: one step, under the destination's write lock
                except sqlite3.OperationalError as exc:
                    if is_busy_error(exc):
                        raise DatabaseBusy() from None
                    raise
                finally:
                    src.close()
                    dst.close()
                owner_only(self.path)
            finally:
                guard.close()
                self._inuse = _hold_inuse(self.path)
        self.changes.publish(ChangeSet.everything())

    # --- erasure (app/gdpr/erasure.py) -------------------------------------------------------

    def compact(self) -> None:
        """Rewrite the database file from its live content and empty the WAL, so that deleted
        records leave no bytes behind (an erasure). SQLite only; elsewhere the server's own."""
        if not self.is_sqlite:
            return
        raw = self.engine.raw_connection()  # the driver's own, outside any transaction (VACUUM needs it)
        try:
            conn = raw.driver_connection
            conn.execute(f"PRAGMA busy_timeout={CLOSE_CHECKPOINT_TIMEOUT_MS}")
            conn.execute("VACUUM")
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:  # another process reads right now: the next checkpoint empties it
                log.info("the WAL could not be emptied after an erasure (busy)")
        except sqlite3.OperationalError:
            log.info("database compaction after an erasure postponed (busy)")
        finally:
            try:
                raw.driver_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            finally:
                raw.close()

    def rewrite_backups(self, edit: Callable[[object], None], extra: list[Path] = ()) -> tuple[int, int]:
        """Run `edit(connection)` inside every backup copy (the backups folder and `extra`, e.g.
        restore points' full copies), then rewrite each copy from its live content. A copy that
        cannot be edited is removed. Returns (edited, removed)."""
        folder = config.backup_dir(create=False)
        files = set(folder.glob("*.db")) if folder.is_dir() else set()
        files |= {Path(p) for p in extra if p and Path(p).is_file()}
        edited = removed = 0
        for path in sorted(files):
            engine = create_engine(f"sqlite:///{path}")
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql("PRAGMA secure_delete=ON")
                    edit(conn)
                raw = engine.raw_connection()
                try:
                    raw.driver_connection.isolation_level = None
                    raw.driver_connection.execute("VACUUM")
                finally:
                    raw.close()
                edited += 1
            except Exception:  # noqa: BLE001 - a copy that cannot be cleaned must not keep the data
                log.info("a backup could not be edited for an erasure and was removed")
                engine.dispose()  # (again in finally: harmless) before the file goes
                path.unlink(missing_ok=True)
                removed += 1
                continue
            finally:
                engine.dispose()
            for side in (Path(f"{path}-wal"), Path(f"{path}-journal")):
                side.unlink(missing_ok=True)
            owner_only(path)
        return edited, removed


def _prune(folder: Path, stem: str, reason: str) -> None:
    old = sorted(folder.glob(f"{stem}-*-{reason}.db"))
    for path in old[:-KEEP_BACKUPS]:
        path.unlink(missing_ok=True)


# --- migrations -----------------------------------------------------------------------------

def alembic_config(connection=None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(config.MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _stamped_revision(db: Database) -> str | None:
    """The revision recorded in the database, read with plain SQL."""
    with db.engine.connect() as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class MigrationError(RuntimeError):
    pass


class ForeignKeyViolation(RuntimeError):
    """Rows loaded by bulk_load() refer to rows that are not there."""


# the program version that last migrated a database, in the (local, unsynced) settings table:
# an older program reads it to say which version to update to
WRITTEN_BY_KEY = "schema.written_by"
# pg_advisory_lock's key for migrations: "KDMIGRAT" as a 64-bit number (other locks take other keys)
MIGRATION_LOCK = 0x4B444D4947524154


class SchemaTooNew(UserError):
    """The database was migrated by a newer Kursdesk than this one."""

    def __init__(self, version: str) -> None:
        if version:
            super().__init__(_("This database was updated by a newer Kursdesk: update Kursdesk to version {version} or later. Nothing was changed.").format(version=version))
        else:
            super().__init__(_("This database was updated by a newer Kursdesk: update Kursdesk to the newest version. Nothing was changed."))
        self.version = version


def _written_by(conn) -> dict:
    if "settings" not in inspect(conn).get_table_names():
        return {}
    value = conn.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": WRITTEN_BY_KEY}).scalar()
    try:
        data = json.loads(value) if value else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _note_written_by(conn, revision: str) -> None:
    """Record which program version brought the schema to `revision` (plain SQL: no ORM model
    of a newer or older schema is involved)."""
    value = json.dumps({"revision": revision, "version": config.version()})
    settings = sa_table("settings", sa_column("key"), sa_column("value"))
    if conn.execute(text("SELECT 1 FROM settings WHERE key = :k"), {"k": WRITTEN_BY_KEY}).first():
        conn.execute(settings.update().where(settings.c.key == WRITTEN_BY_KEY).values(value=value))
    else:
        conn.execute(settings.insert().values(key=WRITTEN_BY_KEY, value=value))


def _refuse_unknown_revision(db: Database, script, current: str | None) -> None:
    """A database at a revision this program's migrations do not know was migrated by a newer
    Kursdesk: refuse, naming the version to update to."""
    if current is None:
        return
    from alembic.util import CommandError

    try:
        known = script.get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        with db.engine.connect() as conn:
            raise SchemaTooNew(str(_written_by(conn).get("version", "")))


@contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """On a server, one client migrates at a time: the others wait here, then find the schema
    current. (SQLite's own write lock does the same for a file.)"""
    if db.is_sqlite:
        yield
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})


def upgrade(db: Database, revision: str = "head", *, cfg=None) -> None:
    """Bring the schema to `revision`, taking a backup first when the database holds data.

    Alembic's batch mode recreates tables (copy, drop, rename); with foreign keys on, dropping
    a parent table cascades into its children. So migrations run with foreign keys off, and
    `PRAGMA foreign_key_check` must come back empty before the transaction commits.

    On PostgreSQL the whole of it runs under an advisory lock (a second client waits, then finds
    the schema current), and the copy before migrating is `kursdesk backup`'s (app/backup.py).
    """
    if revision == "head" and cfg is None and _stamped_revision(db) == HEAD:
        return  # up to date: the common case at every start, without importing Alembic
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = cfg or alembic_config()
    script = ScriptDirectory.from_config(cfg)
    with _migration_lock(db):
        current = current_revision(db)
        _refuse_unknown_revision(db, script, current)
        target = script.get_current_head() if revision == "head" else revision
        if current == target:
            return
        has_tables = bool(inspect(db.engine).get_table_names())
        if has_tables:
            _backup_before_migration(db, target)
        with db.engine.connect() as conn:
            if db.is_sqlite:
                # on the driver's connection, outside any transaction, or SQLite ignores it
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            cfg.attributes["connection"] = conn
            try:
                with conn.begin():
                    command.upgrade(cfg, revision)
                    if db.is_sqlite:
                        bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if bad:
                            raise MigrationError(f"foreign key check failed after migration: {len(bad)} rows")
                    if "settings" in inspect(conn).get_table_names():
                        _note_written_by(conn, target)
            finally:
                if db.is_sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    log.info("database migrated to %s", target)


def _backup_before_migration(db: Database, target: str) -> None:
    """The copy before migrating: a failure stops the migration (never a silent one without)."""
    if db.is_sqlite:
        path = db.backup(f"before-migration-{target}")
    else:
        from app.backup import backup_before_migration

        path = backup_before_migration(db, target)
    if path is not None:
        db.notices.append(_("A copy of the database before the update to schema {revision} is in {path}.").format(revision=target, path=path))


def open_database(path_or_url: str | Path | URL | None = None) -> Database:
    """The database named (a file, a server's URL), else the server saved in the connection
    settings, else this computer's own file."""
    return Database(path_or_url or config.server_url() or config.default_db_path())


def copy_database_file(src: Path, dst: Path) -> None:
    """Copy a database that is not open (tests, fixtures)."""
    shutil.copyfile(src, dst)


def table_counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            name: conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            for name in inspect(conn).get_table_names()
        }
