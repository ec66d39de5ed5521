"""A sync's full-copy restore point never falls back without a word: on a file, a copy that cannot
be written stops the sync before anything is imported; on a server the point keeps row states, and
says so in the log."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import SyncRestorePoint
from app.sync import restore


def _points(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(SyncRestorePoint))


def test_a_large_import_gets_its_full_copy_or_says_why_not(db, caplog):
    caplog.set_level(logging.INFO, logger="app.sync.restore")
    point_id, row_level = restore.open_point(db, large=True)
    with db.read() as s:
        point = s.get(SyncRestorePoint, point_id)
    if db.is_sqlite:
        assert not row_level and point.backup and Path(point.backup).is_file()
    else:
        assert row_level and point.backup == ""
        assert "row-level restore point on the database server" in caplog.text


@pytest.mark.sqlite_only  # the copy of a file
def test_a_full_copy_that_cannot_be_written_stops_before_anything_is_imported(db, monkeypatch):
    def full_disk(reason, folder=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(db, "backup", full_disk)
    with pytest.raises(OSError):
        restore.open_point(db, large=True)
    assert _points(db) == 0
