"""The Certificates page: the course list with hours/percent/eligibility, issuing off the UI thread,
revoke with a reason, re-issue, saving PDFs, preview, and the searchable register."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from app.services import certificates as svc
from tests.app.test_certificates import make_course
from tests.ui.pages import settle
from ui.context import AppContext
from ui.pages import certificates as page_module


@pytest.fixture
def page(qtbot, db, monkeypatch):
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: pytest.fail(f"warning shown: {a[2]}"))
    built = make_course(db)
    p = page_module.Page(AppContext(db))
    qtbot.addWidget(p)
    p.show()
    p.resize(1200, 700)
    p.select_course(built.course_id)
    settle(qtbot, p)
    p.built = built
    p.asked = []
    monkeypatch.setattr(page_module.Page, "_ask", staticmethod(lambda box: p.asked.append(box.text()) or True))
    return p


def answer(monkeypatch, text, ok=True, shown=None):
    """The reason dialog, answered as a user would: type, then OK (or Cancel)."""

    def fake_exec(dialog):
        if shown is not None:
            shown.append(dialog)
        if not ok:
            return QDialog.DialogCode.Rejected
        dialog.text.setText(text)
        dialog.accept()
        return QDialog.DialogCode.Accepted if dialog.result() else QDialog.DialogCode.Rejected

    monkeypatch.setattr(page_module.ReasonDialog, "exec", fake_exec)


def cell(model, row, key):
    col = [c.key for c in model.columns].index(key)
    return model.data(model.index(row, col))


def row_of(p, name):
    return next(i for i, r in enumerate(p.candidates.rows()) if r.full_name == name)


def select_names(p, *names):
    view = p.candidate_view
    view.clearSelection()
    for name in names:
        src = p.candidates.index(row_of(p, name), 0)
        view.selectionModel().select(
            p.candidate_proxy.mapFromSource(src),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_list_shows_hours_percent_and_eligibility(page):
    m = page.candidates
    assert m.rowCount() == 6
    r = row_of(page, "Exakt Gränsen")
    assert cell(m, r, "hours") == "6,8"  # 408 minutes
    assert cell(m, r, "scheduled") == "8,5"  # 510 minutes; the cancelled session does not count
    assert cell(m, r, "percent") == "80,0\xa0%"
    assert cell(m, row_of(page, "En Minutunder"), "percent") == "79,8\xa0%"  # 407/510, not rounded up
    assert cell(m, r, "status") == "Uppfyller kraven"
    assert cell(m, row_of(page, "En Minutunder"), "status") == "Uppfyller inte kraven"
    assert cell(m, row_of(page, "Giltig Frånvaro"), "hours") == "6,0"
    assert "4 uppfyller kraven utan intyg" in page.summary.text()
    assert page.issue_all_button.isEnabled()


def test_issue_all_runs_in_the_background_and_updates_the_list(page, qtbot):
    page.issue_all_button.click()
    qtbot.waitUntil(lambda: page.task is not None and page.task.done, timeout=20000)
    settle(qtbot, page)
    assert len(page.task.result) == 4
    r = row_of(page, "Exakt Gränsen")
    assert cell(page.candidates, r, "status").startswith("Utfärdat 20")
    assert not page.issue_all_button.isEnabled()
    assert page.register.rowCount() == 4


def test_cancel_keeps_what_was_issued(page, qtbot):
    page.issue_all_button.click()
    page.task.cancel()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    issued = len(svc.list_certificates(page.ctx.db))
    assert issued < 4
    assert sum(1 for r in page.candidates.rows() if r.certificate is not None) == issued


def test_issue_selected_revoke_and_reissue(page, qtbot, monkeypatch):
    select_names(page, "Sen Ankomst")
    assert page.issue_selected_button.isEnabled()
    page.issue_selected_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    assert [c.full_name for c in page.task.result] == ["Sen Ankomst"]

    select_names(page, "Sen Ankomst")
    assert page.revoke_button.isEnabled() and page.reissue_button.isEnabled()
    shown = []
    answer(monkeypatch, "Fel kurs", shown=shown)
    page.revoke_button.click()
    settle(qtbot, page)
    rows = svc.list_certificates(page.ctx.db)
    assert [(r.status, r.revoke_reason) for r in rows] == [("revoked", "Fel kurs")]
    assert shown[0].who.text() == f"Sen Ankomst, intyg {rows[0].number}"  # the dialog names whom and which
    assert cell(page.candidates, row_of(page, "Sen Ankomst"), "status") == "Uppfyller kraven (tidigare intyg återkallat)"
    reg = page.register
    assert cell(reg, 0, "status") == "Återkallat"

    select_names(page, "Sen Ankomst")
    page.issue_selected_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    select_names(page, "Sen Ankomst")
    answer(monkeypatch, "Namnet rättat")
    page.reissue_button.click()
    settle(qtbot, page)
    rows = {r.status: r for r in svc.list_certificates(page.ctx.db) if r.supersedes_number or r.revoke_reason.startswith("Ersatt")}
    assert rows["valid"].supersedes_number == rows["revoked"].number


def test_issue_to_all_asks_how_many_and_which_course_first(page, qtbot):
    page.asked.clear()
    page._ask = lambda box: page.asked.append(box.text()) or False  # the user says no
    page.issue_all_button.click()
    assert page.asked == ["Utfärda intyg till 4 deltagare som uppfyller kraven i " + page.course_combo.currentText() + "?"]
    assert page.task is None and svc.list_certificates(page.ctx.db) == []


def test_an_empty_reason_is_refused_in_the_dialog_keeping_the_selection(page, qtbot, monkeypatch):
    select_names(page, "Exakt Gränsen")
    page.issue_selected_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    select_names(page, "Exakt Gränsen")
    shown = []
    answer(monkeypatch, "   ", shown=shown)
    page.revoke_button.click()
    assert shown[0].problem.text() == "Skriv ett skäl: det sparas med intyget."
    assert [r.status for r in svc.list_certificates(page.ctx.db)] == ["valid"]
    assert [c.full_name for c in page.selected_candidates()] == ["Exakt Gränsen"]


def test_save_pdfs_after_issuing_saves_what_was_just_issued(page, qtbot, tmp_path, monkeypatch):
    select_names(page, "Exakt Gränsen")
    page.issue_selected_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    page.issue_all_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    page.candidate_view.clearSelection()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    page.save_button.click()
    names = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert len(names) == 4 and "SVETS-1 - Exakt Gränsen.pdf" not in names  # the three just issued + one file of all


def test_revoke_cancelled_dialog_changes_nothing(page, qtbot, monkeypatch):
    select_names(page, "Exakt Gränsen")
    page.issue_selected_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    select_names(page, "Exakt Gränsen")
    answer(monkeypatch, "", ok=False)
    page.revoke_button.click()
    settle(qtbot, page)
    assert [r.status for r in svc.list_certificates(page.ctx.db)] == ["valid"]


def test_save_pdfs_writes_files_and_a_combined_file(page, qtbot, tmp_path, monkeypatch):
    page.issue_all_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    page.candidate_view.clearSelection()
    paths = page.save_pdfs(page.course_certificate_ids())
    names = sorted(p.name for p in paths)
    assert len(names) == 5 and "SVETS-1 - alla intyg.pdf" in names and "SVETS-1 - Sen Ankomst.pdf" in names


def test_register_search_and_preview(page, qtbot, monkeypatch):
    page.issue_all_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    settle(qtbot, page)
    page.tabs.setCurrentIndex(1)
    qtbot.keyClicks(page.search, "kula")
    assert page.register_proxy.rowCount() == 1
    page.register_view.selectRow(0)
    shown = []

    def fake_exec(dialog):
        shown.append((dialog.path, dialog.page_count()))
        return 0

    monkeypatch.setattr(page_module.PdfPreviewDialog, "exec", fake_exec)
    page.register_preview_button.click()
    assert len(shown) == 1 and shown[0][1] == 1
    number = page.register_proxy.data(page.register_proxy.index(0, 0))
    assert Path(shown[0][0]).read_bytes() == svc.certificate_pdf(page.ctx.db, page.selected_register_ids()[0])
    assert number.startswith("20")
    opened = []
    monkeypatch.setattr(page_module, "open_pdf", lambda path, parent=None: opened.append(path) or True)
    page.register_open_button.click()
    assert len(opened) == 1


def test_page_renders(page, qtbot, tmp_path):
    page.show()
    qtbot.waitExposed(page)
    page.grab().save(str(tmp_path / "certificates.png"))
    assert (tmp_path / "certificates.png").stat().st_size > 0
