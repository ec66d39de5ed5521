"""Settings > Database server: the fields go to the app's config, the password only to the
credential store; Test connection says what is wrong in one line; at start a server that cannot
be used shows a dialog with a way into these settings."""

from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox

from app import config
from app.services.connection import connection_settings
from tests.ui.pages import settle
from ui.server_dialog import ServerDialog, ask_to_fix_connection


def _fill(dialog, host="db.example.se", port=5433, database="kursdesk", user="kurt", password="hemligt"):
    dialog.host.setText(host)
    dialog.port.setValue(port)
    dialog.database.setText(database)
    dialog.user.setText(user)
    dialog.password.setText(password)


def test_saving_keeps_the_fields_in_the_config_and_the_password_in_the_credential_store(qtbot, memory_keyring):
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    _fill(dialog)
    dialog.sslmode.setCurrentIndex(dialog.sslmode.findData("require"))
    dialog.save_button().click()
    assert connection_settings().url == "postgresql://kurt@db.example.se:5433/kursdesk?sslmode=require"
    assert config.server_url() == connection_settings().url
    assert "hemligt" not in (config.config_dir() / config.SERVER_FILE).read_text(encoding="utf-8")
    assert memory_keyring.items == {("Kursdesk", "kurt@db.example.se:5433/kursdesk"): "hemligt"}
    again = ServerDialog()
    qtbot.addWidget(again)
    assert (again.host.text(), again.port.value(), again.sslmode.currentData()) == ("db.example.se", 5433, "require")
    assert again.password.text() == ""


def test_missing_fields_are_named_next_to_them_and_nothing_is_saved(qtbot, memory_keyring):
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    dialog.save_button().click()
    assert dialog.isVisible() is False or dialog.result() == 0
    assert dialog.form._errors["host"].text() == "Ange serverns namn eller adress."
    assert dialog.form._errors["database"].text()
    assert connection_settings() is None and memory_keyring.items == {}


def test_going_back_to_the_local_file_forgets_the_server(qtbot, memory_keyring):
    config.save_server_settings({"host": "db.example.se", "port": "5432", "database": "k", "user": "u", "sslmode": "prefer"})
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    dialog.local.setChecked(True)
    assert not dialog.host.isEnabled()
    dialog.save_button().click()
    assert connection_settings() is None and config.server_url() == ""


def test_without_a_credential_store_the_password_field_says_what_to_use(qtbot, no_keyring):
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    assert not dialog.password.isEnabled()
    assert "PGPASSWORD" in dialog.password.placeholderText()


def test_test_connection_to_a_server_that_does_not_answer_says_so(qtbot, memory_keyring):
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    _fill(dialog, host="127.0.0.1", port=1, password="")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "127.0.0.1:1/kursdesk" in dialog.result_label.text(), timeout=20_000)
    assert "kan inte nås" in dialog.result_label.text()


@pytest.mark.postgresql_only
def test_test_connection_to_the_test_server_says_connected(qtbot, memory_keyring):
    from app.server import sqlalchemy_url

    url = sqlalchemy_url(os.environ["KURSDESK_TEST_PG_URL"])
    dialog = ServerDialog()
    qtbot.addWidget(dialog)
    _fill(dialog, host=url.host, port=url.port, database=url.database, user=url.username, password="")
    dialog.sslmode.setCurrentIndex(dialog.sslmode.findData("disable"))
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result_label.text().startswith("Ansluten"), timeout=20_000)
    assert "PostgreSQL 1" in dialog.result_label.text()


def test_at_start_a_server_problem_offers_the_connection_settings(qtbot, monkeypatch):
    from app.db import ServerUnavailable
    from app.server import ConnectionProblem

    shown = {}

    def exec_(box):
        shown["text"] = box.text()
        shown["buttons"] = [b.text() for b in box.buttons()]
        box.buttons()[1].click()  # Quit
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    problem = ServerUnavailable(ConnectionProblem("password", "The server db/k refused the user name or password."))
    assert ask_to_fix_connection(None, problem) is False
    assert shown["text"] == "The server db/k refused the user name or password."
    assert "Anslutningsinställningar…" in shown["buttons"]


@pytest.mark.postgresql_only
def test_on_a_server_the_window_names_host_and_database_only(qtbot, pg_database_url, memory_keyring):
    from app.db import Database
    from app.server import sqlalchemy_url
    from ui.context import AppContext
    from ui.main_window import MainWindow

    url = sqlalchemy_url(pg_database_url)
    db = Database(url._replace(password="hemligt-i-url").render_as_string(hide_password=False))
    try:
        window = MainWindow(AppContext(db=db))
        qtbot.addWidget(window)
        window.show()
        for page in window.pages.values():  # the pages' loads, on the server, end before it closes
            if hasattr(page, "loading"):
                settle(qtbot, page, timeout=20_000)
        expected = f"Databas: {url.host}:{url.port}/{url.database}" if url.port != 5432 else f"Databas: {url.host}/{url.database}"
        assert window.db_label.text() == expected
        texts = [w.text() for w in window.findChildren(QLabel) if w.text()]
        assert not [t for t in texts if "hemligt-i-url" in t or f"{url.username}@" in t]
        MainWindow.current = None
    finally:
        db.dispose()


def test_a_server_failure_during_work_is_a_warning_saying_what_to_do(monkeypatch):
    import psycopg
    from sqlalchemy.exc import DataError, OperationalError

    from ui.tasks import show_error

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append("critical: " + text))
    dropped = OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
    show_error(None, dropped)
    too_long = DataError("INSERT", {}, psycopg.errors.StringDataRightTruncation("value too long for type character varying(50)"))
    show_error(None, too_long)
    assert shown == [
        "Anslutningen till databasservern bröts: försök igen. Ingenting ändrades.",
        "Ett värde är längre än fältet tillåter (högst 50 tecken). Ingenting ändrades.",
    ]
