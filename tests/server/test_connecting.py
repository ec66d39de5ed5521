"""Connecting to a PostgreSQL server: each way it fails is one clear line (exit 2 on the command
line), never the password; a connection the server dropped is replaced before the next call."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app.cli import main
from app.db import Database, ServerUnavailable
from app.server import sqlalchemy_url
from app.services.companies import CompanyData, create_company, list_companies
from tests.server.conftest import PASSWORD

pytestmark = pytest.mark.postgresql_only


def _on(url: str, database: str) -> str:
    return sqlalchemy_url(url).set(database=database).render_as_string(hide_password=False)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_a_wrong_password_is_one_line_without_the_password(password_database_url, capsys, no_keyring):
    url = password_database_url.replace("kursdesk_pw@", "kursdesk_pw:fel-losen@")
    with pytest.raises(ServerUnavailable) as err:
        Database(url)
    assert err.value.kind == "password"
    assert "fel-losen" not in str(err.value)
    assert main(["--lang", "en", "courses", "--db", url]) == 2
    line = _one_line(capsys)
    assert "refused the user name or password" in line and "fel-losen" not in line


def test_the_password_from_the_credential_store_or_pgpassword_logs_in(password_database_url, memory_keyring, monkeypatch):
    from app import server

    url = password_database_url
    server.store_password(sqlalchemy_url(url), PASSWORD)
    db = Database(url)
    try:
        assert list_companies(db) == []
        assert PASSWORD not in db.url and PASSWORD not in db.display_name
    finally:
        db.dispose()
    memory_keyring.items.clear()
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # as libpq reads it
    Database(url).dispose()


def test_without_a_credential_store_the_command_line_asks_and_says_how_to_store_it(
        password_database_url, no_keyring, monkeypatch, capsys):
    import app.server_cli as server_cli

    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent/pgpass")
    url = password_database_url
    monkeypatch.setattr(server_cli.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(server_cli.getpass, "getpass", lambda prompt: PASSWORD)
    assert main(["--lang", "en", "courses", "--db", url]) == 0
    captured = capsys.readouterr()
    assert "PGPASSWORD" in captured.err and PASSWORD not in captured.err + captured.out


def test_an_unreachable_server_and_a_missing_database_are_one_line_each(pg_database_url, capsys):
    unreachable = sqlalchemy_url(pg_database_url).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(ServerUnavailable) as err:
        Database(unreachable)
    assert err.value.kind == "unreachable"
    assert main(["--lang", "en", "courses", "--db", unreachable]) == 2
    assert "cannot be reached" in _one_line(capsys)

    missing = _on(pg_database_url, "kursdesk_no_such_database")
    with pytest.raises(ServerUnavailable) as err:
        Database(missing)
    assert err.value.kind == "no_database"
    assert main(["--lang", "sv", "courses", "--db", missing]) == 2
    assert "kursdesk_no_such_database" in _one_line(capsys)


def test_after_the_server_dropped_the_connection_the_next_call_works(pg_database_url):
    db = Database(pg_database_url)
    try:
        _next_call_after_a_drop(db)
    finally:
        db.dispose()


def _next_call_after_a_drop(db):
    create_company(db, CompanyData("Verkstad AB", "5560000001"))
    with db.read() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    # the administrator (or a restart, a network hiccup) ends the pooled connection
    admin = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    admin.dispose()
    assert [c.name for c in list_companies(db)] == ["Verkstad AB"]
    create_company(db, CompanyData("Gjuteri AB", "5560000019"))
    assert len(list_companies(db)) == 2
