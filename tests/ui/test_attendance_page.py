"""The register page, driven from the keyboard; hours and percent checked against hand-computed values."""

from __future__ import annotations

from datetime import date, time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QInputDialog

from app import i18n
from app.services import attendance as A
from tests.app.attendance_builders import build_course
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.register_model import FIRST_SESSION_COLUMN, HOURS_COLUMN, PERCENT_COLUMN, WARNING_ROLE

TODAY = date(2026, 3, 10)
# 4 h, 2 h, cancelled 4 h, future 3 h: scheduled 9 h = 540 min, 180 min still ahead
SESSIONS = (
    (date(2026, 3, 2), time(8, 0), time(12, 0), False),
    (date(2026, 3, 4), time(13, 0), time(15, 0), False),
    (date(2026, 3, 6), time(8, 0), time(12, 0), True),
    (date(2026, 3, 16), time(9, 0), time(12, 0), False),
)
PEOPLE = [("Åsa", "Öberg", "Kalmar Verkstad AB"), ("Bo", "Ek", ""), ("Cecilia", "Ahl", "Nybro Plåt AB")]
AHL, EK, OBERG = 0, 1, 2  # rows, sorted by last name


@pytest.fixture
def setup(db, qtbot, monkeypatch):
    built = build_course(db, people=PEOPLE, sessions=SESSIONS, min_percent=80)
    from ui.pages.attendance import Page

    page = Page(AppContext(db), today=TODAY)
    qtbot.addWidget(page)
    page.resize(1000, 500)
    page.show()
    qtbot.waitExposed(page)
    settle(qtbot, page)
    minutes = []
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (minutes.pop(0), True))
    return page, built, minutes


def _text(page, row, column):
    return page.model.index(row, column).data()


def _hours(page, row):
    return _text(page, row, HOURS_COLUMN)


def _percent(page, row):
    return _text(page, row, PERCENT_COLUMN)


def _warns(page, row):
    return page.model.index(row, PERCENT_COLUMN).data(WARNING_ROLE)


def _key(qtbot, page, key):
    qtbot.keyClick(page.view, key)


def test_mark_a_session_from_the_keyboard(setup, qtbot, db):
    page, built, minutes = setup
    s1, s2, cancelled, future = built.session_ids
    # the register opens on the first session without marks, first participant
    assert page.view.currentIndex().row() == 0
    assert page.view.currentIndex().column() == FIRST_SESSION_COLUMN
    assert [page.model.headerData(r, Qt.Orientation.Vertical) for r in range(3)] == [
        "Ahl, Cecilia", "Ek, Bo", "Öberg, Åsa"]
    # session 1 (4 h): Ahl present, Ek late 150 min, Öberg absent; each key moves down
    minutes.append(150)
    for letter in ("P", "S", "F"):
        _key(qtbot, page, letter)
    assert [_text(page, r, FIRST_SESSION_COLUMN) for r in range(3)] == ["P", "S 150", "F"]
    assert _hours(page, AHL) == "4,0" and _percent(page, AHL) == "44,4\xa0%"  # 240/540
    assert _hours(page, EK) == "2,5" and _percent(page, EK) == "27,7\xa0%"  # 150/540: 27.8 rounded DOWN, as everywhere
    assert _hours(page, OBERG) == "0,0" and _percent(page, OBERG) == "0,0\xa0%"
    # to session 2 (2 h) with the arrows: right, up, up
    _key(qtbot, page, Qt.Key.Key_Right)
    _key(qtbot, page, Qt.Key.Key_Up)
    _key(qtbot, page, Qt.Key.Key_Up)
    assert (page.view.currentIndex().row(), page.view.currentIndex().column()) == (AHL, FIRST_SESSION_COLUMN + 1)
    for letter in ("p", "P", "G"):
        _key(qtbot, page, letter)
    assert _hours(page, AHL) == "6,0" and _percent(page, AHL) == "66,6\xa0%"  # 360/540
    assert _hours(page, EK) == "4,5" and _percent(page, EK) == "50,0\xa0%"  # 270/540
    assert _hours(page, OBERG) == "0,0"
    # a click on the cancelled (greyed) session moves the cursor there; a key there is refused
    # and lands on no other cell
    _key(qtbot, page, Qt.Key.Key_Up)
    assert page.model.headerData(FIRST_SESSION_COLUMN + 2, Qt.Orientation.Horizontal).endswith("(inställt)")
    rect = page.view.visualRect(page.model.index(EK, FIRST_SESSION_COLUMN + 2))
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert (page.view.currentIndex().row(), page.view.currentIndex().column()) == (EK, FIRST_SESSION_COLUMN + 2)
    _key(qtbot, page, "P")
    assert (page.view.currentIndex().row(), page.view.currentIndex().column()) == (EK, FIRST_SESSION_COLUMN + 2)
    assert _text(page, EK, FIRST_SESSION_COLUMN + 2) == "–"
    assert "inställt" in page.status_label.text()
    assert _text(page, EK + 1, FIRST_SESSION_COLUMN + 2) == "–"  # nothing landed below either
    # saved as they were made
    marks = A.register(db, built.course_id).marks
    assert marks[(s1, built.participant_ids[2])] == A.Mark("present")  # Ahl
    assert marks[(s1, built.participant_ids[1])] == A.Mark("late", 150)  # Ek
    assert marks[(s1, built.participant_ids[0])] == A.Mark("absent")  # Öberg
    assert marks[(s2, built.participant_ids[0])] == A.Mark("excused")
    assert (cancelled, built.participant_ids[1]) not in marks
    assert len(marks) == 6


def test_warning_when_the_minimum_can_no_longer_be_reached(setup, qtbot):
    page, built, minutes = setup
    minutes.append(150)
    for letter in ("P", "S", "F"):
        _key(qtbot, page, letter)
    _key(qtbot, page, Qt.Key.Key_Right)
    for _ in range(3):
        _key(qtbot, page, Qt.Key.Key_Up)
    for letter in ("P", "P", "G"):
        _key(qtbot, page, letter)
    # Ahl 360 + 180 ahead = 100 %; Ek 270 + 180 = 83 %: both can still reach 80 %; Öberg 0 + 180 cannot
    assert [_warns(page, r) for r in range(3)] == [False, False, True]
    index = page.model.index(OBERG, PERCENT_COLUMN)
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None  # icon
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None  # colour
    assert "kan inte längre nås" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert page.model.headerData(OBERG, Qt.Orientation.Vertical, Qt.ItemDataRole.DecorationRole) is not None
    # Ek came late to session 2 too: 150 + 60 + 180 ahead = 390/540 = 72 % -> the warning appears
    page.view.setCurrentIndex(page.model.index(EK, FIRST_SESSION_COLUMN + 1))
    minutes.append(60)
    _key(qtbot, page, "S")
    assert _hours(page, EK) == "3,5" and _percent(page, EK) == "38,8\xa0%"
    assert _warns(page, EK) is True
    assert page.model.index(AHL, PERCENT_COLUMN).data(Qt.ItemDataRole.DecorationRole) is None


def test_delete_clears_and_enter_edits_minutes_and_note(setup, qtbot, db, monkeypatch):
    page, built, _minutes = setup
    _key(qtbot, page, "P")
    _key(qtbot, page, Qt.Key.Key_Up)
    assert _hours(page, AHL) == "4,0"
    _key(qtbot, page, Qt.Key.Key_Delete)
    assert _hours(page, AHL) == "0,0" and _text(page, AHL, FIRST_SESSION_COLUMN) == ""
    assert A.register(db, built.course_id).marks == {}

    from ui.pages import attendance as page_module

    def fake_exec(dialog):
        dialog.status.setCurrentIndex(dialog.status.findData("present"))
        dialog.minutes.setValue(200)
        dialog.note.setText("Gick 11:20 <tandläkare> & hem")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(page_module.MarkDialog, "exec", fake_exec)
    _key(qtbot, page, Qt.Key.Key_Return)
    assert _hours(page, AHL) == "3,3"  # 200 min
    assert _text(page, AHL, FIRST_SESSION_COLUMN) == "P 200 *"
    assert "tandläkare" in page.model.index(AHL, FIRST_SESSION_COLUMN).data(Qt.ItemDataRole.ToolTipRole)
    mark = A.register(db, built.course_id).marks[(built.session_ids[0], built.participant_ids[2])]
    assert mark == A.Mark("present", 200, "Gick 11:20 <tandläkare> & hem")


def test_late_needs_minutes_cancelling_the_question_saves_nothing(setup, qtbot, db, monkeypatch):
    page, built, _minutes = setup
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (0, False))
    _key(qtbot, page, "S")
    assert _text(page, AHL, FIRST_SESSION_COLUMN) == ""
    assert page.view.currentIndex().row() == AHL
    assert A.register(db, built.course_id).marks == {}


def test_all_present_for_the_current_session(setup, qtbot, db):
    page, built, minutes = setup
    minutes.append(100)
    _key(qtbot, page, Qt.Key.Key_Down)
    _key(qtbot, page, "S")  # Ek late, the rest get "all present"
    qtbot.mouseClick(page.all_present_button, Qt.MouseButton.LeftButton)
    assert [_text(page, r, FIRST_SESSION_COLUMN) for r in range(3)] == ["P", "S 100", "P"]
    assert [_hours(page, r) for r in range(3)] == ["4,0", "1,7", "4,0"]
    assert len(A.register(db, built.course_id).marks) == 3
    assert "2" in page.status_label.text()


def test_english_letters(db, qtbot, monkeypatch):
    i18n.set_language("en")
    build_course(db, people=PEOPLE, sessions=SESSIONS, min_percent=80)
    from ui.pages.attendance import Page

    page = Page(AppContext(db), today=TODAY)
    qtbot.addWidget(page)
    load(qtbot, page)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (30, True))
    for letter in ("L", "E", "A"):
        qtbot.keyClick(page.view, letter)
    assert [_text(page, r, FIRST_SESSION_COLUMN) for r in range(3)] == ["L 30", "E", "A"]
    assert _percent(page, AHL) == "5.5%"  # 30/540, en_GB format
    qtbot.keyClick(page.view, "S")  # not a key in English: nothing happens
    assert _text(page, OBERG, FIRST_SESSION_COLUMN) == "A"


def test_sheet_open_preview_print(setup, qtbot, monkeypatch):
    page, built, _minutes = setup
    from pypdf import PdfReader

    import ui.pdf

    opened, printed, previewed = [], [], []
    monkeypatch.setattr(ui.pdf, "open_pdf", lambda path, parent=None: opened.append(path) or True)
    monkeypatch.setattr(ui.pdf, "print_pdf", lambda path, parent=None, **k: printed.append(path) or True)
    monkeypatch.setattr(ui.pdf.PdfPreviewDialog, "exec", lambda self: previewed.append(self.path) or 0)
    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    text = "".join(p.extract_text() for p in PdfReader(opened[0]).pages)
    assert "2 mars 2026" in text and "4 mars 2026" not in text and "Åsa Öberg" in text
    assert "Öberg" not in opened[0].name  # no personal data in the file name
    page.sheet_scope.setCurrentIndex(page.sheet_scope.findData("all"))
    qtbot.mouseClick(page.preview_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.print_button, Qt.MouseButton.LeftButton)
    text = "".join(p.extract_text() for p in PdfReader(printed[0]).pages)
    assert "2 mars 2026" in text and "4 mars 2026" in text and "16 mars 2026" in text
    assert "Datum: 6 mars 2026" not in text  # cancelled
    assert previewed and previewed[0].exists()


def test_a_typed_course_code_and_enter_select_the_course(db, qtbot):
    first = build_course(db, code="AAA-1", people=PEOPLE[:1], sessions=SESSIONS)
    second = build_course(db, code="SVETS-2", people=PEOPLE[1:], sessions=SESSIONS)
    from ui.pages.attendance import Page

    page = Page(AppContext(db), today=TODAY)
    qtbot.addWidget(page)
    page.show()
    settle(qtbot, page)
    assert page.course_id() == first.course_id
    line = page.course_combo.lineEdit()
    line.selectAll()
    qtbot.keyClicks(line, "svets-2")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert page.course_id() == second.course_id
    assert page.model.course.code == "SVETS-2"


def test_refreshes_on_changes_from_elsewhere(setup, qtbot, db):
    page, built, _minutes = setup
    A.set_mark(db, built.session_ids[0], built.participant_ids[2], "present")
    qtbot.waitUntil(lambda: _hours(page, AHL) == "4,0", timeout=1000)


def test_grab_renders(setup, tmp_path):
    page, _built, _minutes = setup
    image = page.grab()
    assert image.width() > 0
    image.save(str(tmp_path / "attendance.png"))
