"""'Undo last sync' from a full copy is safe on one laptop: refused while another Kursdesk window
or job has the database open, decided again once it is alone, and the copy is owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app import i18n
from app.db import Database, DatabaseInUse
from app.errors import UserError
from app.sync import sync
from app.sync.restore import last_restore_point, restore_before_last_sync
from tests.sync.conftest import add_company, add_course_with_session, add_participant, dump

HOLD = (
    "import sys\n"
    "from app.db import Database\n"
    "db = Database(sys.argv[1])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "db.dispose()\n"
)


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")


def _full_copy_point(lab):
    a, b, _c = lab.laptops
    sync(a, lab.share, key_file=lab.key)
    for i in range(3):
        add_participant(a, first=f"P{i}", pnr=f"19900101{i:04d}")
    add_course_with_session(b, code="B-1")
    sync(a, lab.share)
    before = dump(b)
    sync(b, lab.share)
    assert last_restore_point(b).full_copy
    return a, b, before


def _backup_of_last_point(db: Database) -> Path:
    from sqlalchemy import select

    from app.models import SyncRestorePoint

    with db.read() as s:
        return Path(s.scalars(select(SyncRestorePoint.backup).order_by(SyncRestorePoint.id.desc())).first())


def test_undo_from_a_copy_is_refused_while_another_process_has_the_database_open(lab):
    _a, b, before = _full_copy_point(lab)
    after = dump(b)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(b.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseInUse) as err:
            restore_before_last_sync(b)
        assert "Another Kursdesk window or job has the database open" in str(err.value)
        assert dump(b) == after  # nothing changed
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(60) == 0
    assert restore_before_last_sync(b).full_copy
    assert dump(b) == before


def test_the_full_copy_restore_point_is_owner_only(lab):
    _a, b, _before = _full_copy_point(lab)
    backup = _backup_of_last_point(b)
    assert backup.exists()
    if os.name == "posix":
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700


def test_undo_decides_again_once_alone_a_publish_in_between_refuses_it(lab, monkeypatch):
    _a, b, _before = _full_copy_point(lab)
    real = Database.restore

    def restore_after_a_publish(self, backup_file, check=None):
        # between the first look and the copy, this laptop publishes a change
        add_company(self, name="Mellan AB", org="5560000027")
        sync(self, lab.share)
        return real(self, backup_file, check=check)

    monkeypatch.setattr(Database, "restore", restore_after_a_publish)
    after_publish = None
    with pytest.raises(UserError) as err:
        restore_before_last_sync(b)
    assert "published changes since that sync" in str(err.value)
    after_publish = dump(b)
    assert any(c["name"] == "Mellan AB" for c in after_publish["companies"])  # not lost to the copy
