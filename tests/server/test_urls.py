"""The URL a user gives, the driver chosen for them, the name on screen, the credential store's
key: pure functions, the same on both back ends."""

from __future__ import annotations

import pytest

from app import server
from app.db import Database, make_url
from app.errors import UserError


@pytest.mark.parametrize("given", [
    "postgresql://kurt@db.example.se:5433/kursdesk",
    "postgres://kurt@db.example.se:5433/kursdesk",
    "postgresql+psycopg://kurt@db.example.se:5433/kursdesk",
    "postgresql://db.example.se:5433/kursdesk?user=kurt",
])
def test_a_server_url_gets_psycopg_3_and_the_user_wherever_it_was_given(given):
    url = server.sqlalchemy_url(given)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.host, url.port, url.database) == ("kurt", "db.example.se", 5433, "kursdesk")
    assert "user" not in url.query


def test_a_url_of_another_database_kind_is_refused_in_one_line():
    with pytest.raises(UserError) as err:
        server.sqlalchemy_url("mysql://kurt@db.example.se/kursdesk")
    assert "mysql" in str(err.value) and "\n" not in str(err.value)


def test_the_display_name_is_host_and_database_only():
    assert server.display_name("postgresql+psycopg://kurt:hemligt@db.example.se/kursdesk") == "db.example.se/kursdesk"
    assert server.display_name("postgresql+psycopg://kurt:hemligt@db.example.se:5433/kursdesk") == "db.example.se:5433/kursdesk"


def test_make_url_never_keeps_a_password():
    assert "hemligt" not in make_url("postgresql://kurt:hemligt@db.example.se/kursdesk")
    assert make_url("postgresql://kurt:hemligt@db.example.se/kursdesk").startswith("postgresql+psycopg://kurt:")


def test_the_credential_key_is_user_at_host_port_database():
    url = server.sqlalchemy_url("postgresql://kurt@db.example.se/kursdesk")
    assert server.credential_key(url) == "kurt@db.example.se:5432/kursdesk"


def test_the_display_name_of_a_file_is_its_name(db):
    if db.is_sqlite:
        assert db.display_name == "test.db"
    else:
        assert "@" not in db.display_name and db.display_name.endswith(db.server_url.database)


def test_a_password_in_the_url_goes_to_the_credential_store_and_out_of_the_url(memory_keyring):
    url = server.keep_password_from_url("postgresql://kurt:hemligt@db.example.se/kursdesk")
    assert url.password is None
    assert memory_keyring.items == {("Kursdesk", "kurt@db.example.se:5432/kursdesk"): "hemligt"}
    assert server.connect_args(url)["password"] == "hemligt"


def test_without_a_credential_store_the_password_is_for_this_run_only(no_keyring):
    url = server.keep_password_from_url("postgresql://kurt:hemligt@db.example.se/kursdesk")
    assert url.password == "hemligt"
    assert not server.has_credential_store()
    with pytest.raises(UserError) as err:
        server.store_password(url, "hemligt")
    assert "PGPASSWORD" in str(err.value)


def test_a_program_without_the_driver_says_so_in_one_line(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as in a bundle built without it
    with pytest.raises(UserError) as err:
        Database("postgresql://kurt@127.0.0.1:1/kursdesk")
    assert "psycopg" in str(err.value) and "\n" not in str(err.value)


def test_the_saved_connection_settings_give_a_url_without_a_password(kursdesk_home):
    from app import config

    config.save_server_settings({"host": "db.example.se", "port": "5433", "database": "kursdesk", "user": "kurt", "sslmode": "require"})
    assert config.server_url() == "postgresql://kurt@db.example.se:5433/kursdesk?sslmode=require"
    saved = (config.config_dir() / config.SERVER_FILE).read_text(encoding="utf-8")
    assert "password" not in saved
    config.save_server_settings(None)
    assert config.server_url() == ""
