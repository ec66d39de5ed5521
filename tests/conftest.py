"""Shared fixtures. Every test runs with its own KURSDESK_HOME (data, logs, backups in a temp
folder), offscreen Qt, and the Swedish default language restored afterwards."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from app import i18n


@pytest.fixture(autouse=True)
def kursdesk_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("KURSDESK_HOME", str(home))
    i18n.set_language("sv")
    yield home
    i18n.set_language("sv")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """One empty database at the migration head; tests get copies (migrating each costs ~0.3 s)."""
    from app.db import Database

    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(path)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def db(tmp_path, migrated_template):
    from app.db import copy_database_file
    from app.sync.capture import open_app_database

    path = tmp_path / "test.db"
    copy_database_file(migrated_template, path)
    database = open_app_database(path)  # as the window and the command line open it
    yield database
    database.dispose()
