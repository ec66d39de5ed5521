"""Shared fixtures. Every test runs with its own KURSDESK_HOME (data, logs, backups in a temp
folder), offscreen Qt, and the Swedish default language restored afterwards.

The back end: SQLite by default; with KURSDESK_TEST_BACKEND=postgresql (and KURSDESK_TEST_PG_URL
naming a role that may CREATE DATABASE) the `db` and `database_url` fixtures give a fresh migrated
database on that server instead, each a copy (CREATE DATABASE ... TEMPLATE) of one migrated per
session. Tests about SQLite itself (files, WAL, PRAGMAs) carry @pytest.mark.sqlite_only and are
deselected there, and listed at the end of the run."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from hypothesis import settings as hypothesis_settings
from keyring.backend import KeyringBackend

from app import i18n

# CI (CI set, as CI services do) draws the same examples on every run, so a red run means the
# change and not the draw; a developer's run draws new ones, which is how the property tests find
# new faults (a failing example found so is replayed by a test of its own: tests/sync/*_regressions.py)
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

BACKEND = os.environ.get("KURSDESK_TEST_BACKEND", "sqlite").lower()
PG_URL = os.environ.get("KURSDESK_TEST_PG_URL", "")
ON_POSTGRESQL = BACKEND in ("postgresql", "postgres", "pg")

_deselected: dict[str, list[str]] = {}  # reason -> test ids, listed at the end


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about SQLite itself (files, WAL, PRAGMAs); deselected on PostgreSQL")
    config.addinivalue_line("markers", "postgresql_only: needs a PostgreSQL server (KURSDESK_TEST_PG_URL)")
    if ON_POSTGRESQL and not PG_URL:
        raise pytest.UsageError("KURSDESK_TEST_BACKEND=postgresql needs KURSDESK_TEST_PG_URL (a role that may CREATE DATABASE)")


# A test that asks for none of these never meets the run's back end: on PostgreSQL it would only
# repeat the SQLite pass, so it is left out there (counted at the end, not listed).
BACKEND_FIXTURES = {"database_url", "pg_database_url", "pg_server", "pg_or_none"}
NOT_ON_THE_BACK_END = "never opens the run's database (the SQLite pass runs it)"


def _why_deselected(item) -> str | None:
    if ON_POSTGRESQL and item.get_closest_marker("sqlite_only"):
        return "SQLite only"
    if ON_POSTGRESQL and not BACKEND_FIXTURES.intersection(item.fixturenames):
        return NOT_ON_THE_BACK_END
    if not PG_URL and item.get_closest_marker("postgresql_only"):
        return "PostgreSQL only (no KURSDESK_TEST_PG_URL)"
    if not os.environ.get("KURSDESK_TEST_PG_PASSWORD_URL") and "password_role_url" in item.fixturenames:
        return "a role with a password (no KURSDESK_TEST_PG_PASSWORD_URL; .ci/pg-cluster makes one)"
    return None


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        why = _why_deselected(item)
        if why is None:
            keep.append(item)
        else:
            drop.append(item)
            _deselected.setdefault(why, []).append(item.nodeid)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    return f"kursdesk back end: {'postgresql' if ON_POSTGRESQL else 'sqlite'}"


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller lists what was left out
        workeroutput["kursdesk_deselected"] = _deselected


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: every worker collects (and leaves out) the same tests."""
    for why, nodeids in getattr(node, "workeroutput", {}).get("kursdesk_deselected", {}).items():
        _deselected.setdefault(why, nodeids)


def pytest_terminal_summary(terminalreporter):
    for why, nodeids in _deselected.items():
        terminalreporter.section(f"deselected: {why} ({len(nodeids)})")
        for nodeid in nodeids if why != NOT_ON_THE_BACK_END else ():
            terminalreporter.write_line(nodeid)


@pytest.fixture(autouse=True)
def kursdesk_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("KURSDESK_HOME", str(home))
    i18n.set_language("sv")
    yield home
    i18n.set_language("sv")


# --- the credential store: never the operating system's in a test ------------------------------

class MemoryKeyring(KeyringBackend):
    """An in-memory credential store (keyring.set_keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    import keyring

    before = keyring.get_keyring()
    store = MemoryKeyring()
    keyring.set_keyring(store)
    yield store
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring():
    """Headless Linux: only keyring.backends.fail."""
    import keyring
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


# --- PostgreSQL ------------------------------------------------------------------------------

class PgServer:
    """Throw-away databases on the test server, named after this process."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine

        from app.server import sqlalchemy_url

        self.base = sqlalchemy_url(url)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
        self.prefix = f"kdtest_{os.getpid()}"
        self._n = itertools.count()

    def url(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(self._n)}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _null_pool():
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(scope="session")
def pg_server():
    """The test server (KURSDESK_TEST_PG_URL), for tests that need one on either back end."""
    if not PG_URL:
        pytest.fail("this test needs KURSDESK_TEST_PG_URL")  # deselected by postgresql_only before it gets here
    server = PgServer(PG_URL)
    yield server
    with server.admin.connect() as conn:
        names = conn.exec_driver_sql("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{server.prefix}\\_%",)).scalars().all()
    for name in names:
        server.drop(name)
    server.admin.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """One migrated database per session; tests get copies of it."""
    from app.db import Database

    name = pg_server.create()
    database = Database(pg_server.url(name))
    database.dispose()
    return name


@pytest.fixture
def pg_database_url(pg_server, pg_template):
    """A fresh migrated database on the test server, whatever the back end of the run."""
    name = pg_server.create(template=pg_template)
    yield pg_server.url(name)
    pg_server.drop(name)


# --- the back end of the run -----------------------------------------------------------------

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
def database_url(request, tmp_path):
    """What `--db` takes for a fresh migrated database of the run's back end: a file's path on
    SQLite, a server URL on PostgreSQL."""
    if ON_POSTGRESQL:
        return request.getfixturevalue("pg_database_url")
    from app.db import copy_database_file

    path = tmp_path / "test.db"
    copy_database_file(request.getfixturevalue("migrated_template"), path)
    return str(path)


@pytest.fixture
def pg_or_none(request):
    """The test server on the PostgreSQL back end, None on SQLite."""
    return request.getfixturevalue("pg_server") if ON_POSTGRESQL else None


@pytest.fixture
def db(database_url):
    from app.sync.capture import open_app_database

    database = open_app_database(database_url)  # as the window and the command line open it
    yield database
    database.dispose()
