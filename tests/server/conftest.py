"""The server tests' roles: one that logs in with a password (from .ci/pg-cluster)."""

from __future__ import annotations

import os

import pytest


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
