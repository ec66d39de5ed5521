"""The overview page: what is due, each line opening the place where it is done."""

from __future__ import annotations

from datetime import date, time

from PySide6.QtCore import Qt

from app.services import attendance as A
from tests.app.attendance_builders import build_course
from tests.ui.pages import settle
from ui.context import AppContext
from ui.main_window import MainWindow

TODAY = date.today()


def _lines(page):
    tree = page.tree
    out = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        out.append(item.text(0))
        out += ["  " + item.child(j).text(0) for j in range(item.childCount())]
    return out


def test_the_window_opens_on_what_is_due_and_a_line_opens_the_register(qtbot, db):
    from datetime import timedelta

    soon = build_course(db, code="SOON", sessions=((TODAY + timedelta(days=2), time(8, 0), time(12, 0), False),))
    past = build_course(db, code="PAST", sessions=((TODAY - timedelta(days=3), time(8, 0), time(12, 0), False),
                                                   (TODAY - timedelta(days=5), time(8, 0), time(12, 0), False)))
    A.set_mark(db, past.session_ids[1], past.participant_ids[0], "present")
    window = MainWindow(AppContext(db))
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    page = window.pages["overview"]
    assert window.current_key() == "overview"
    settle(qtbot, page)
    lines = _lines(page)
    assert lines[0] == "1 kurstillfälle de närmaste 7 dagarna"
    assert "SOON" in lines[1] and "(6 deltagare)" in lines[1]
    assert lines[2] == "1 passerat kurstillfälle utan närvaro (senaste tre månaderna)" and "PAST" in lines[3]
    assert any(line.startswith("Nästa rapport till SCB:") for line in lines)
    assert "Synk: inte konfigurerad" in lines
    assert page.print_button.isEnabled()
    # Enter on the past session opens the register of its course
    page.tree.setCurrentItem(page.tree.topLevelItem(1).child(0))
    page.tree.setFocus()
    qtbot.keyClick(page.tree, Qt.Key.Key_Return)
    assert window.current_key() == "attendance"
    register = window.pages["attendance"]
    settle(qtbot, register)
    assert register.course_id() == past.course_id
    # marking the session elsewhere updates the overview when it is shown again
    A.set_mark(db, past.session_ids[0], past.participant_ids[0], "present")
    assert not page.fresh  # hidden: only marked stale
    window.show_page("overview")
    settle(qtbot, page)
    assert _lines(page)[2] == "0 passerade kurstillfällen utan närvaro (senaste tre månaderna)"
    assert soon.course_id
