"""The Sync page: partners, conflicts with "use the other value", and a sync run."""

from __future__ import annotations

from pathlib import Path

from app.models import Participant
from app.sync import setup_folder, sync
from tests.sync.conftest import add_participant, edit, fresh_db
from tests.ui.pages import load, settle


def test_sync_page_shows_partners_and_conflicts_and_resolves_one(qtbot, tmp_path, monkeypatch):
    from ui.context import AppContext
    from ui.pages import sync as page_mod

    share = tmp_path / "share"
    setup_folder(share, tmp_path / "k.key")
    a, b = fresh_db(tmp_path / "a.db"), fresh_db(tmp_path / "b.db")
    pid = add_participant(a)
    sync(a, share), sync(b, share)
    edit(a, Participant, pid, phone="1")
    edit(b, Participant, pid, phone="2")
    sync(a, share), sync(b, share), sync(a, share)
    ctx = AppContext(b)
    page = page_mod.Page(ctx)
    qtbot.addWidget(page)
    page.show()
    load(qtbot, page)
    assert page.partners.rowCount() == 1 and page.conflicts.rowCount() == 1
    page.conflicts.setCurrentCell(0, 0)
    page.other_button.click()
    settle(qtbot, page)
    assert page.conflicts.rowCount() == 0
    # Sync now runs in the write worker; the report is shown when it is done
    page.folder = str(share)
    handle = page.sync_now()
    qtbot.waitUntil(lambda: handle.done, timeout=20000)
    settle(qtbot, page)
    assert page.last_report is not None and "1" in page.report_box.toPlainText()
    page.resize(900, 700)
    page.grab().save(str(Path("/tmp/sync_page.png")))


def test_undo_last_sync_button_puts_the_imported_changes_back(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from ui.context import AppContext
    from ui.pages import sync as page_mod

    share = tmp_path / "share"
    setup_folder(share, tmp_path / "k.key")
    a, b = fresh_db(tmp_path / "a.db"), fresh_db(tmp_path / "b.db")
    pid = add_participant(a)
    sync(a, share), sync(b, share)
    edit(a, Participant, pid, phone="fel")
    sync(a, share), sync(b, share)
    page = page_mod.Page(AppContext(b))
    qtbot.addWidget(page)
    page.show()
    load(qtbot, page)
    assert page.undo_button.isEnabled()
    asked, told = [], []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: told.append(a[2]))
    page.undo_button.click()
    settle(qtbot, page)
    assert asked and told and "1" in page.report_box.toPlainText()
    with b.read() as s:
        assert s.get(Participant, pid).phone != "fel"
    assert not page.undo_button.isEnabled()
    page.resize(1000, 700)
    page.grab().save(str(Path("/tmp/sync_page_undo.png")))
