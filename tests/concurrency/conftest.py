"""Fresh databases on the PostgreSQL server named by KURSDESK_TEST_PG_URL (a role that may
CREATE DATABASE, e.g. postgresql://kursdesk@127.0.0.1:54332/postgres): one migrated template per
session, and per test a copy of it (CREATE DATABASE ... TEMPLATE, a fraction of a second).
Without the variable these tests run on SQLite files (the same rules hold there)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url as sa_url

PG_URL = os.environ.get("KURSDESK_TEST_PG_URL", "")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql_only: means something only on a PostgreSQL server")


def pytest_collection_modifyitems(config, items):
    """Without a server, tests of what only a server has (the sync agent's advisory lock) are
    deselected, not skipped, and named in the summary."""
    if PG_URL:
        return
    gone = [item for item in items if item.get_closest_marker("postgresql_only")]
    if gone:
        items[:] = [item for item in items if item not in gone]
        config.hook.pytest_deselected(items=gone)


def driver_url(url: str) -> str:
    """postgresql://... with psycopg 3 chosen (app/db.py does it once the connection work lands)."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


class Server:
    """CREATE and DROP DATABASE on the test server."""

    def __init__(self, url: str):
        self.url = sa_url(driver_url(url))
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_size=1)

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str = "") -> str:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url_of(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server():
    if not PG_URL:
        yield None
        return
    server = Server(PG_URL)
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_server):
    if pg_server is None:
        yield None
        return
    from app.db import Database

    name = f"kd_tpl_{uuid.uuid4().hex[:10]}"
    database = Database(pg_server.create(name))
    database.dispose()
    yield name
    pg_server.drop(name)


@pytest.fixture
def database_url(tmp_path, pg_server, pg_template, migrated_template):
    """The URL (or SQLite path) of a fresh migrated database for this test."""
    if pg_server is None:
        from app.db import copy_database_file

        path = tmp_path / "kursdesk.db"
        copy_database_file(migrated_template, path)
        yield str(path)
        return
    name = f"kd_t_{uuid.uuid4().hex[:12]}"
    url = pg_server.create(name, template=pg_template)
    yield url
    pg_server.drop(name)


@pytest.fixture
def db(database_url):
    from app.db import Database

    database = Database(database_url)
    yield database
    database.dispose()
