"""The window connected to a server does not run the folder sync: the server's one sync agent
does, and the Sync page says so (its sync buttons off, Sync now refused with the same words)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from app import i18n
from tests.ui.pages import load
from ui.context import AppContext
from ui.pages import sync as sync_page

pytestmark = pytest.mark.postgresql_only


def test_the_sync_page_on_a_server_says_the_sync_agent_syncs_and_does_not_sync(qtbot, db, monkeypatch):
    i18n.set_language("sv")
    page = sync_page.Page(AppContext(db=db))
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    load(qtbot, page)
    assert page.server_note.isVisible()
    assert "Serverns synkagent" in page.server_note.text() and "synkar inte" in page.server_note.text()
    assert not any(b.isEnabled() for b in (page.sync_button, page.choose_button, page.key_button,
                                           page.setup_button, page.undo_button))
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: said.append(text))
    page.folder = "/tmp/anywhere"
    assert page.sync_now() is None
    assert said == [page.server_note.text()]
    page.grab().save("/tmp/pgconc-shots/sync_page_server.png")
