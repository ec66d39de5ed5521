"""Migrations on a shared server: one client migrates under an advisory lock while the others
wait; a copy is taken first (and it says where); a client older than the schema refuses with the
version to update to (on SQLite too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app import config
from app.cli import main
from app.db import HEAD, WRITTEN_BY_KEY, Database, SchemaTooNew, current_revision, upgrade

ROOT = Path(__file__).resolve().parents[2]


def _stamp_newer(url: str) -> None:
    """As a newer Kursdesk leaves it: a revision this one does not know, and its version."""
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        conn.execute(text("UPDATE settings SET value = :v WHERE key = :k"),
                     {"k": WRITTEN_BY_KEY, "v": json.dumps({"revision": "0099", "version": "2.3.0"})})
    db.dispose()


def test_the_migration_notes_the_program_version_that_wrote_the_schema(db):
    with db.engine.connect() as conn:
        value = conn.execute(text("SELECT value FROM settings WHERE key = :k"), {"k": WRITTEN_BY_KEY}).scalar_one()
    assert json.loads(value) == {"revision": HEAD, "version": config.version()}


def test_a_client_older_than_the_schema_says_which_version_to_update_to(database_url, capsys):
    _stamp_newer(database_url)
    with pytest.raises(SchemaTooNew) as err:
        Database(database_url)
    assert err.value.version == "2.3.0"
    assert main(["--lang", "en", "courses", "--db", database_url]) == 2
    err_text = capsys.readouterr().err.strip()
    assert err_text == "kursdesk: This database was updated by a newer Kursdesk: update Kursdesk to version 2.3.0 or later. Nothing was changed."
    assert main(["--lang", "sv", "courses", "--db", database_url]) == 2
    assert "2.3.0" in capsys.readouterr().err


_OPEN = """
import sys
from app.db import Database
db = Database(sys.argv[1])
db.dispose()
print("ok")
"""


@pytest.mark.postgresql_only
def test_two_clients_starting_on_an_empty_database_at_once_one_migrates_the_other_waits(pg_server, kursdesk_home):
    name = pg_server.create()  # empty: no tables at all
    url = pg_server.url(name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KURSDESK_HOME": str(kursdesk_home)}
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN, url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outcomes = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _out, err in outcomes]
    db = Database(url, migrate=False)
    try:
        assert current_revision(db) == HEAD
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        db.dispose()


@pytest.mark.postgresql_only
def test_a_server_is_copied_before_it_is_migrated_and_it_says_where(pg_server, capsys):
    name = pg_server.create()
    url = pg_server.url(name)
    old = Database(url, migrate=False)
    upgrade(old, "0006")
    old.dispose()
    assert main(["--lang", "en", "courses", "--db", url]) == 0
    err = capsys.readouterr().err
    copies = list(config.backup_dir().glob(f"*-before-migration-{HEAD}.dump"))
    assert len(copies) == 1 and str(copies[0]) in err
    listing = subprocess.run(["pg_restore", "--list", str(copies[0])], capture_output=True, text=True, check=True).stdout
    assert "TABLE public participants" in listing and "TABLE public alembic_version" in listing


@pytest.mark.postgresql_only
def test_a_server_that_cannot_be_copied_is_not_migrated(pg_server, monkeypatch, capsys):
    import app.backup as backup

    name = pg_server.create()
    url = pg_server.url(name)
    old = Database(url, migrate=False)
    upgrade(old, "0006")
    old.dispose()
    monkeypatch.setattr(backup, "pg_dump_program", lambda: None)  # no pg_dump; today's bundle cannot read 0006
    assert main(["--lang", "en", "courses", "--db", url]) == 2
    assert "was not updated, since no copy of it could be taken first" in capsys.readouterr().err
    db = Database(url, migrate=False)
    try:
        assert current_revision(db) == "0006"
    finally:
        db.dispose()
