"""A test marked postgresql_only gets its database on the test server (KURSDESK_TEST_PG_URL)
whatever the run's back end; the others run on the run's back end (the same rules hold on SQLite)."""

from __future__ import annotations

import pytest


@pytest.fixture
def database_url(request, database_url):
    if request.node.get_closest_marker("postgresql_only") and not database_url.startswith("postgres"):
        return request.getfixturevalue("pg_database_url")
    return database_url


@pytest.fixture
def english():
    from app import i18n

    i18n.set_language("en")


@pytest.fixture
def colleague(database_url):
    """A second client of the same database: a colleague's window."""
    from app.db import Database

    other = Database(database_url)
    yield other
    other.dispose()
