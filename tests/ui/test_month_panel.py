"""The month close in the window (issue 13): closing from the Reports page, the control report,
the deadlines, and the question before a change alters a closed month."""

from __future__ import annotations

from datetime import date, time

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from sqlalchemy import select

from app.models import Attendance
from app.services import attendance as A
from app.services import month_close as mc
from tests.app.attendance_builders import build_course
from tests.fixtures.report_month import build
from tests.ui.pages import load
from ui.context import AppContext
from ui.pages.reports import Page as ReportsPage
from ui.register_model import FIRST_SESSION_COLUMN


def _reports(qtbot, db):
    page = ReportsPage(AppContext(db))
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.month.setDate(QDate(2026, 3, 1))
    page.show()  # the panel works its states out when shown
    qtbot.waitUntil(lambda: "2026-03" in page.month_panel.statuses, timeout=5000)
    return page


def test_close_from_the_reports_page_and_run_the_control_report(qtbot, db, tmp_path, monkeypatch):
    build(db)
    page = _reports(qtbot, db)
    panel = page.month_panel
    assert panel.state_label.text() == "2026-03 är öppen."
    shown = []
    tmp_path = tmp_path / "sent"
    tmp_path.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text, *a, **k: shown.append(text))
    panel.close_button.click()
    qtbot.waitUntil(lambda: panel.statuses.get("2026-03") and panel.statuses["2026-03"].state == mc.CLOSED, timeout=10000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["narvarorapporter-2026-03.pdf", "sammanstallning-2026-03.xlsx"]
    [version] = mc.versions(db, "2026-03")
    assert sorted(version.files) == sorted(p.name for p in tmp_path.iterdir())
    assert shown and "2026-03" in shown[0]
    row = [panel.deadlines.index(r, 0).data() for r in range(panel.deadlines.rowCount())].index("2026-03")
    assert panel.deadlines.index(row, 1).data() == "Stängd"
    assert panel.deadlines.index(row, 4).data() == "3"  # Anna's, Bertil's and Fatima's originals missing
    assert panel.state_label.text().startswith("2026-03 stängdes ")
    panel.check_button.click()
    qtbot.waitUntil(lambda: panel.findings.count() == 3, timeout=5000)
    assert all("underskrivet original" in panel.findings.item(i).text() for i in range(3))


def test_a_month_that_has_not_ended_is_refused_before_a_folder_is_asked_for(qtbot, db, monkeypatch):
    build(db)
    page = _reports(qtbot, db)
    page.month.setDate(QDate.currentDate())
    warned, asked = [], []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: warned.append(text))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: asked.append(1) or "")
    page.month_panel.close_button.click()
    assert asked == [] and len(warned) == 1 and "har inte tagit slut än" in warned[0]
    assert mc.closed_months(db) == []


def test_a_mark_in_a_closed_month_asks_first_and_the_panel_shows_the_difference(qtbot, db, monkeypatch):
    built = build_course(db, people=[("Åsa", "Öberg", "Kalmar Verkstad AB")],
                         sessions=((date(2026, 3, 2), time(8), time(12), False), (date(2026, 4, 6), time(8), time(12), False)))
    march, april = built.session_ids
    A.set_mark(db, march, built.participant_ids[0], "present")
    mc.close_month(db, "2026-03", today=date(2026, 4, 2))
    from ui.pages.attendance import Page

    page = Page(AppContext(db), today=date(2026, 4, 10))
    qtbot.addWidget(page)
    load(qtbot, page)  # pages load in a worker
    asked = []
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text, *a, **k: (asked.append(text), answer[0])[1])
    cell = page.model.index(0, FIRST_SESSION_COLUMN)
    page.mark(cell, "absent")
    assert asked == ["mars 2026 är stängd och redovisad; ändringen gör att mars måste skickas om till SCB.\n\n"
                     "Spara ändringen ändå?"]
    with db.read() as s:
        assert s.execute(select(Attendance.status).where(Attendance.session_id == march)).scalar_one() == "present"
    answer[0] = QMessageBox.StandardButton.Yes
    page.mark(cell, "absent")
    with db.read() as s:
        assert s.execute(select(Attendance.status).where(Attendance.session_id == march)).scalar_one() == "absent"
    # April is open: no question
    asked.clear()
    page.mark(page.model.index(0, FIRST_SESSION_COLUMN + 1), "present")
    assert asked == []

    reports = _reports(qtbot, db)
    panel = reports.month_panel
    assert panel.statuses["2026-03"].state == mc.CHANGED
    assert "skicka om till SCB: 2026-03" in panel.state_label.text()
    assert [panel.findings.item(i).text() for i in range(panel.findings.count())] == [
        f"{built.personal_numbers[0][:8]}-**** Åsa Öberg: 4,0 h vid stängningen, 0,0 h nu"]  # one decimal, as the documents


def test_the_panel_waits_until_shown(qtbot, db):
    build(db)
    page = ReportsPage(AppContext(db))
    qtbot.addWidget(page)
    page.month.setDate(QDate(2026, 3, 1))
    assert page.month_panel._stale and page.month_panel.statuses == {}  # hidden: no reading started
    page.show()
    qtbot.waitUntil(lambda: "2026-03" in page.month_panel.statuses, timeout=5000)


def test_the_panel_renders(qtbot, db, tmp_path):
    build(db)
    mc.close_month(db, "2026-03", today=date(2026, 4, 20))
    page = _reports(qtbot, db)
    qtbot.waitExposed(page)
    image = page.grab()
    assert image.width() == 1366 and not image.isNull()
    image.save(str(tmp_path / "reports.png"))


def test_an_original_whose_signed_hours_differ_shows_both(qtbot, db):
    from app.models import CourseSession
    from app.services.originals import mark_original_received
    from tests.fixtures.report_month import TODAY

    ids = build(db)
    mark_original_received(db, ids["anna"], "2026-03", TODAY)
    with db.read() as s:
        sve1 = s.execute(select(CourseSession.id).where(CourseSession.date == date(2026, 3, 2))).scalar_one()
    A.set_mark(db, sve1, ids["anna"], "absent")
    page = _reports(qtbot, db)
    model = page.originals_model
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=5000)  # Anna, Bertil, Fatima
    rows = {model.index(r, 1).data(): r for r in range(model.rowCount())}
    anna = model.index(rows["Anna Andersson"], 4)
    assert anna.data() == "7,1 (undertecknat 11,1)"  # 03-02's 4.0 h gone
    assert anna.data(Qt.ItemDataRole.ToolTipRole) == (
        "De undertecknade timmarna skiljer sig: 11,1 h på det undertecknade originalet, 7,1 h nu.")
    others = [model.index(r, 4) for name, r in rows.items() if name != "Anna Andersson"]
    assert sorted(i.data() for i in others) == ["4,0", "7,5"]
    assert all(i.data(Qt.ItemDataRole.ToolTipRole) is None for i in others)
