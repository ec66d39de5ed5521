"""An in-memory credential store for every test here (keyring.set_keyring): the real one is the
operating system's, which a test must never touch."""

from __future__ import annotations

import os

import pytest
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
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


@pytest.fixture
def password_role_url():
    """A role that logs in with a password (scram), from .ci/pg-cluster."""
    url = os.environ.get("KURSDESK_TEST_PG_PASSWORD_URL")
    if not url:
        pytest.fail("KURSDESK_TEST_PG_PASSWORD_URL is not set (.ci/pg-cluster prints it)")
    return url


PASSWORD = "kursdesk-test-password"


@pytest.fixture
def password_database_url(pg_server, password_role_url):
    """An empty database owned by the password role, as the role's URL (no password in it)."""
    from app.server import sqlalchemy_url

    name = pg_server.create()
    role = sqlalchemy_url(password_role_url).username
    with pg_server.admin.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        conn.exec_driver_sql(f'GRANT ALL ON SCHEMA public TO "{role}"')
    yield sqlalchemy_url(password_role_url).set(database=name).render_as_string(hide_password=False)
    pg_server.drop(name)
