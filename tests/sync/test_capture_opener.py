"""Sync capture is installed by whoever opens the database for Kursdesk (the command line, the
window, a scheduled sync), not by `Database` itself: a plain Database (tests, tools, migrations)
logs no changes for the partners."""

from __future__ import annotations

import shutil

from sqlalchemy import func, select

from app.cli import main as command_line
from app.db import Database
from app.models import SyncChange
from app.services.providers import create_provider
from app.sync.capture import open_app_database


def _logged(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(SyncChange))


def _copy(template, tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(template, path)
    return path


def test_a_plain_database_captures_nothing(tmp_path, migrated_template):
    db = Database(_copy(migrated_template, tmp_path, "plain.db"))
    try:
        create_provider(db, "Nova")
        assert _logged(db) == 0
    finally:
        db.dispose()


def test_the_apps_opener_captures_every_write(tmp_path, migrated_template):
    db = open_app_database(_copy(migrated_template, tmp_path, "app.db"))
    try:
        create_provider(db, "Nova")
        assert _logged(db) == 1
        assert open_app_database.__module__ == "app.sync.capture"
    finally:
        db.dispose()


def test_the_command_line_opens_with_capture(tmp_path, migrated_template):
    path = _copy(migrated_template, tmp_path, "cli.db")
    assert command_line(["--db", str(path), "--lang", "en", "demo"]) == 0
    db = Database(path)
    try:
        assert _logged(db) > 100  # the demo's records, each logged for the partners
    finally:
        db.dispose()
