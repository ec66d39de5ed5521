"""`kursdesk backup --out FILE`, and the copy a server's database gets before it is migrated.

SQLite: the sqlite3 backup API (a consistent copy of a live database, Database.copy_to).
PostgreSQL: `pg_dump -Fc` (custom format, for pg_restore) when it is on PATH, otherwise a JSON
bundle (app/interchange/bundle.py), which holds every record but not the server's own objects.
Always through a temporary file renamed into place (atomic_file): a failed backup leaves nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app import config, server
from app.db import Database
from app.errors import UserError
from app.i18n import _
from app.interchange.files import atomic_file

log = logging.getLogger(__name__)

PG_DUMP_TIMEOUT_S = 3600


@dataclass(frozen=True)
class BackupResult:
    path: Path
    kind: str  # sqlite | pg_dump | bundle


def pg_dump_program() -> str | None:
    return shutil.which("pg_dump")


def backup(db: Database, out: str | Path) -> BackupResult:
    """A copy of the whole database in `out`."""
    out = Path(out)
    if db.is_sqlite:
        with atomic_file(out, "backup") as tmp:
            db.copy_to(tmp)
        return BackupResult(out, "sqlite")
    program = pg_dump_program()
    if program is not None:
        with atomic_file(out, "backup") as tmp:
            _pg_dump(db, program, tmp)
        return BackupResult(out, "pg_dump")
    from app.interchange.bundle import export_bundle

    export_bundle(db, out)
    return BackupResult(out, "bundle")


def _pg_dump(db: Database, program: str, target: Path) -> None:
    url = db.server_url
    assert url is not None
    env = dict(os.environ)
    password = url.password if url.password is not None else server.stored_password(url)
    if password is not None:
        env["PGPASSWORD"] = str(password)  # for the child only: never on its command line
    args = [program, "--format=custom", "--no-owner", f"--file={target}", _conninfo(url)]
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("pg_dump could not run (%s)", type(exc).__name__)
        raise UserError(_("The backup could not be made: pg_dump did not run ({reason}). Nothing was written.").format(reason=type(exc).__name__)) from None
    if done.returncode != 0:
        # pg_dump's own words name the server and the problem, never a password
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        log.warning("pg_dump failed (exit %s)", done.returncode)
        raise UserError(_("The backup could not be made: pg_dump reported: {reason}. Nothing was written.").format(reason=reason))


def _conninfo(url) -> str:
    """A libpq connection string for pg_dump, without the password (it goes in PGPASSWORD)."""
    from psycopg.conninfo import make_conninfo

    params = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    params.update({k: v for k, v in url.query.items() if k in ("sslmode", "sslrootcert", "sslcert", "sslkey")})
    return make_conninfo(**{k: str(v) for k, v in params.items() if v})


def backup_before_migration(db: Database, target: str) -> Path:
    """The copy of a server's database taken before it is migrated to `target`, in the backups
    folder. A failure stops the migration: it says why, and nothing is migrated."""
    folder = config.private_dir(config.backup_dir())
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = server.display_name(db.url).replace("/", "-").replace(":", "-")
    suffix = ".dump" if pg_dump_program() else ".json"
    path = folder / f"{name}-{stamp}-before-migration-{target}{suffix}"
    try:
        result = backup(db, path)
    except UserError as exc:
        raise UserError(_("The database was not updated, since no copy of it could be taken first: {reason}").format(reason=exc)) from None
    except Exception as exc:  # noqa: BLE001 - the bundle of an older schema: not through today's models
        log.warning("no copy before migrating (%s)", type(exc).__name__)
        raise UserError(
            _("The database was not updated, since no copy of it could be taken first: install the PostgreSQL client (pg_dump) and start again.")
        ) from None
    log.info("copy before migration written (%s)", result.kind)
    return result.path
