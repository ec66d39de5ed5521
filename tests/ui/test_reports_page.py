"""The Reports page: originals checklist, writing the month's files off the UI thread, statistics."""

from __future__ import annotations

from openpyxl import load_workbook
from pypdf import PdfReader
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.services.originals import missing_originals
from tests.fixtures.report_month import build
from ui.context import AppContext
from ui.pages.reports import Page


def _page(qtbot, db):
    ids = build(db)
    page = Page(AppContext(db))
    qtbot.addWidget(page)
    page.month.setDate(QDate(2026, 3, 1))
    qtbot.waitUntil(lambda: page.originals_model.rowCount() == 3, timeout=5000)
    return page, ids


def test_originals_checklist_marks_and_filters(qtbot, db):
    page, ids = _page(qtbot, db)
    assert page.missing_label.text() == "3 av 3 original för 2026-03 saknas fortfarande."
    model = page.originals_model
    names = [model.index(r, 1).data() for r in range(model.rowCount())]
    assert "Anna Andersson" in names
    assert all("****" in model.index(r, 2).data() for r in range(model.rowCount()))
    anna_row = names.index("Anna Andersson")
    assert model.setData(model.index(anna_row, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert page.missing_label.text() == "2 av 3 original för 2026-03 saknas fortfarande."
    page.only_missing.setChecked(True)
    assert model.rowCount() == 2 and model.index(0, 1).data().startswith("Bertil")
    page.only_missing.setChecked(False)
    anna_row = [model.index(r, 1).data() for r in range(model.rowCount())].index("Anna Andersson")
    model.setData(model.index(anna_row, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert page.missing_label.text().startswith("3 av 3")


def test_marks_persist(qtbot, db):
    page, ids = _page(qtbot, db)
    model = page.originals_model
    row = [model.index(r, 1).data() for r in range(model.rowCount())].index("Anna Andersson")
    model.setData(model.index(row, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    from tests.fixtures.report_month import TODAY

    assert [r.participant_id for r in missing_originals(db, "2026-03", today=TODAY)] == [ids["bertil"], ids["fatima"]]


def test_write_summary_and_time_reports(qtbot, db, tmp_path, monkeypatch):
    page, _ids = _page(qtbot, db)
    xlsx = tmp_path / "sum.xlsx"
    pdf = tmp_path / "tr.pdf"
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(xlsx), ""))
    page.xlsx_button.click()
    qtbot.waitUntil(lambda: page.last_written == xlsx, timeout=10000)
    assert load_workbook(xlsx).sheetnames[0] == "Register_deltag_organisationer"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(pdf), ""))
    page.pdf_button.click()
    qtbot.waitUntil(lambda: page.last_written == pdf, timeout=10000)
    assert len(PdfReader(str(pdf)).pages) == 3


def test_cancelled_save_dialog_writes_nothing(qtbot, db, tmp_path, monkeypatch):
    page, _ids = _page(qtbot, db)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    page.pdf_button.click()
    page.xlsx_button.click()
    assert page.last_written is None and list(tmp_path.glob("*.pdf")) == []


def test_statistics_show_and_export(qtbot, db, tmp_path, monkeypatch):
    page, _ids = _page(qtbot, db)
    page.stat_from.setDate(QDate(2026, 3, 1))
    page.stat_to.setDate(QDate(2026, 3, 31))
    page.stat_button.click()
    qtbot.waitUntil(lambda: page.stats is not None, timeout=5000)
    model = page.stats_model
    rows = [[model.index(r, c).data() for c in range(4)] for r in range(model.rowCount())]
    assert ["Kön", "Kvinna", "2", "18,58"] in rows
    assert rows[-1] == ["Totalt", "", "3", "22,58"]
    out = tmp_path / "stat.xlsx"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    page.stat_export.click()
    qtbot.waitUntil(lambda: page.last_written == out, timeout=5000)
    assert load_workbook(out).sheetnames == ["Kön", "Kommun", "Arbetsgivare", "Kurs"]


def test_import_entry_opens_the_wizard_for_the_chosen_course(qtbot, db, monkeypatch):
    page, ids = _page(qtbot, db)
    index = page.course.findData(ids["plc"])
    assert index >= 0
    page.course.setCurrentIndex(index)
    from ui import import_wizard

    monkeypatch.setattr(import_wizard.ImportWizard, "open", lambda self: None)
    page.import_button.click()
    assert page._wizard.course_id == ids["plc"]
