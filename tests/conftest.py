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


@pytest.fixture
def db(tmp_path):
    from app.db import Database

    database = Database(tmp_path / "test.db")
    yield database
    database.dispose()
