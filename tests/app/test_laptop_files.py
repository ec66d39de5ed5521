"""Safe on one laptop: the files Kursdesk leaves on the disk (owner-only, no left-overs, the .db
file alone complete after close) and the restore guard against a database another process has open."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import config
from app.db import Database, DatabaseInUse, clean_leftovers, copy_database_file, inuse_path
from app.models import Company

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

HOLD = (
    "import sys\n"
    "from app.db import Database\n"
    "db = Database(sys.argv[1])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "db.dispose()\n"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _holder(path: Path) -> subprocess.Popen:
    """Another process with the database open, until its stdin gets a line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.wait(timeout=60) == 0


def _add_company(db: Database, name: str, org: str = "") -> str:
    with db.write() as s:
        c = Company(name=name, org_number=org)
        s.add(c)
        s.flush()
        return c.id


def _companies(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Company).where(Company.deleted_at.is_(None)))


@posix_only
@pytest.mark.sqlite_only  # the database file itself
def test_database_backups_and_marker_are_owner_only(db):
    _add_company(db, "Verkstad AB")
    backup = db.backup("manual")
    assert backup is not None
    assert _mode(db.path) == 0o600
    assert _mode(backup) == 0o600
    assert _mode(backup.parent) == 0o700
    assert _mode(inuse_path(db.path)) == 0o600
    assert _mode(config.data_dir()) == 0o700


@posix_only
def test_backup_written_before_kursdesk_made_them_private_becomes_owner_only(tmp_path, migrated_template):
    folder = config.backup_dir()
    old = folder / "test-20250101-000000-000000-manual.db"
    old.write_bytes(b"")
    os.chmod(old, 0o644)
    path = tmp_path / "test.db"
    copy_database_file(migrated_template, path)
    Database(path).dispose()
    assert _mode(old) == 0o600


@pytest.mark.sqlite_only  # the database file itself
def test_a_backup_in_progress_has_a_temporary_name_and_leaves_nothing_when_it_fails(db, monkeypatch):
    import sqlite3

    _add_company(db, "Verkstad AB")
    seen = []

    class Failing:
        def __init__(self, conn):
            self.conn = conn

        def backup(self, dst):
            seen.extend(p.name for p in config.backup_dir().iterdir())
            raise sqlite3.OperationalError("disk I/O error")

        def close(self):
            self.conn.close()

    real_connect = sqlite3.connect

    def connect(target, *args, **kwargs):
        conn = real_connect(target, *args, **kwargs)
        return Failing(conn) if Path(target) == db.path else conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    with pytest.raises(sqlite3.OperationalError):
        db.backup("manual")
    assert seen and all(name.startswith(".kursdesk-backup-") and name.endswith(".tmp") for name in seen)
    assert list(config.backup_dir().iterdir()) == []


def test_left_over_temporary_files_are_removed_at_the_next_start(tmp_path, migrated_template):
    path = tmp_path / "data" / "kursdesk.db"
    path.parent.mkdir()
    copy_database_file(migrated_template, path)
    backups = config.backup_dir()
    leftovers = [
        backups / ".kursdesk-backup-abc123.tmp",
        path.parent / ".kursdesk-export-xyz.tmp",
        path.parent / ".signin-1.pdf.tmp",
        config.data_dir() / ".kursdesk-q.xlsx.tmp",
    ]
    for leftover in leftovers:
        leftover.write_bytes(b"half")
    keep = [path.parent / "notes.tmp", backups / "kursdesk-20250101-000000-000000-manual.db"]
    for other in keep:
        other.write_bytes(b"mine")
    db = Database(path)
    db.dispose()
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.exists() for p in keep)


def test_while_another_process_has_the_database_open_only_old_left_overs_go(tmp_path, migrated_template):
    path = tmp_path / "kursdesk.db"
    copy_database_file(migrated_template, path)
    proc = _holder(path)
    fresh = tmp_path / ".kursdesk-backup-fresh.tmp"
    old = tmp_path / ".kursdesk-backup-old.tmp"
    fresh.write_bytes(b"being written")
    old.write_bytes(b"left over")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))
    try:
        Database(path).dispose()
        assert fresh.exists() and not old.exists()
    finally:
        _release(proc)
    Database(path).dispose()
    assert not fresh.exists()


def test_clean_leftovers_skips_missing_folders(tmp_path):
    assert clean_leftovers([tmp_path / "nope"], alone=True) == 0


@pytest.mark.sqlite_only  # the database file itself
def test_after_dispose_the_db_file_alone_holds_every_record(tmp_path, db):
    for i in range(50):
        _add_company(db, f"Företag {i}")
    db.dispose()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copyfile(db.path, copy / "kursdesk.db")  # without -wal and -shm
    other = Database(copy / "kursdesk.db")
    try:
        assert _companies(other) == 50
    finally:
        other.dispose()


def test_dispose_does_not_wait_long_for_another_process_that_writes(tmp_path, migrated_template):
    path = tmp_path / "kursdesk.db"
    copy_database_file(migrated_template, path)
    first = Database(path)
    _add_company(first, "A")
    writer = Database(path)
    with writer.write() as s:  # another writer holds the write lock while the first closes
        s.add(Company(name="B", org_number=""))
        s.flush()
        started = time.monotonic()
        first.dispose()
        assert time.monotonic() - started < 10
    writer.dispose()


def test_undo_from_a_copy_is_refused_while_another_process_has_the_database_open(tmp_path, migrated_template):
    path = tmp_path / "kursdesk.db"
    copy_database_file(migrated_template, path)
    db = Database(path)
    _add_company(db, "Före")
    copy = db.backup("before-sync")
    _add_company(db, "Efter")
    proc = _holder(path)
    try:
        with pytest.raises(DatabaseInUse) as err:
            db.restore(copy)
        assert "Kursdesk-fönster eller jobb har databasen öppen" in str(err.value)  # Swedish by default
        assert _companies(db) == 2  # nothing changed, and the database still works
    finally:
        _release(proc)
    db.restore(copy)
    assert _companies(db) == 1
    # this process holds its marker again: a second process now cannot restore
    other = Database(path)
    with pytest.raises(DatabaseInUse):
        other.restore(copy)
    other.dispose()
    db.dispose()


def test_a_database_opened_during_a_restore_waits_for_it(tmp_path, migrated_template, monkeypatch):
    import threading

    import app.db as dbmod

    path = tmp_path / "kursdesk.db"
    copy_database_file(migrated_template, path)
    db = Database(path)
    _add_company(db, "Före")
    copy = db.backup("before-sync")
    _add_company(db, "Efter")
    in_copy = threading.Event()
    go_on = threading.Event()
    real_connect = dbmod.sqlite3.connect

    class Slow:
        def __init__(self, conn):
            self.conn = conn

        def backup(self, dst):
            in_copy.set()
            go_on.wait(10)
            self.conn.backup(dst)

        def close(self):
            self.conn.close()

    def connect(target, *args, **kwargs):
        conn = real_connect(target, *args, **kwargs)
        return Slow(conn) if Path(target) == copy else conn

    monkeypatch.setattr(dbmod.sqlite3, "connect", connect)
    worker = threading.Thread(target=db.restore, args=(copy,))
    worker.start()
    assert in_copy.wait(10)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    time.sleep(1.0)
    assert proc.poll() is None  # still waiting for the marker: not "ready"
    go_on.set()
    worker.join(20)
    assert proc.stdout.readline().strip() == "ready"
    _release(proc)
    assert _companies(db) == 1
    db.dispose()


def test_cache_and_preview_folders_are_private_and_under_the_home(kursdesk_home):
    folder = config.preview_dir()
    assert folder.is_relative_to(kursdesk_home)
    assert folder.parent == config.cache_dir()
    if os.name == "posix":
        assert _mode(folder) == 0o700 and _mode(config.cache_dir()) == 0o700
