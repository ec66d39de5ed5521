"""Every command disposes its database: the WAL is folded into kursdesk.db, so a copy of that
file alone (without -wal and -shm) holds every record."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from app import cli
from app.db import Database
from app.models import Course, Participant

ROOT = Path(__file__).resolve().parents[2]


def _counts(path: Path) -> tuple[int, int]:
    db = Database(path)
    try:
        with db.read() as s:
            return (
                s.scalar(select(func.count()).select_from(Participant)),
                s.scalar(select(func.count()).select_from(Course)),
            )
    finally:
        db.dispose()


def test_after_demo_a_copy_of_the_db_file_alone_holds_every_record(tmp_path):
    path = tmp_path / "data" / "kursdesk.db"
    run = subprocess.run(
        [sys.executable, "-m", "app", "--db", str(path), "--lang", "en", "demo"],
        cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    safe = tmp_path / "usb-stick"
    safe.mkdir()
    shutil.copyfile(path, safe / "kursdesk.db")  # what a coordinator copies for safekeeping
    people, courses = _counts(safe / "kursdesk.db")
    assert people > 0 and courses > 0
    assert (people, courses) == _counts(path)


def test_every_command_disposes_its_database_also_when_it_fails(tmp_path, monkeypatch, capsys):
    path = tmp_path / "kursdesk.db"
    disposed = []
    real = Database.dispose

    def dispose(self):
        disposed.append(self.path)
        real(self)

    monkeypatch.setattr(Database, "dispose", dispose)
    assert cli.main(["--db", str(path), "courses"]) == 0
    assert disposed == [path] and cli._OPENED == []
    assert cli.main(["--db", str(path), "attendance-list", "NOPE", "--out", str(tmp_path / "x.pdf")]) == 2
    assert disposed == [path, path] and cli._OPENED == []
    capsys.readouterr()
