"""The Courses page driven as a user would: a course with a series of sessions (holidays
skipped with a warning), cancelling a session, enrolling with a waitlist, withdrawing, undo."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QDate, QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, course_overview, create_course, list_sessions
from app.services.enrollments import list_enrollments
from app.services.participants import ParticipantData, create_participant
from app.services.providers import create_provider
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages.courses import Page
from ui.undo import undo_stack

PNRS = ["19800501-1237", "19750101-2343", "19900102-3457", "19660707-4561"]


def keys(widget, text):
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def type_into(widget, text):
    widget.clear()
    keys(widget, text)


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


@pytest.fixture
def page(qtbot, ctx):
    create_provider(ctx.db, "Campus Västervik")
    p = Page(ctx)
    qtbot.addWidget(p)
    p.resize(1200, 800)
    p.show()
    qtbot.waitExposed(p)
    load(qtbot, p)
    return p


@pytest.fixture
def no_questions(monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)


def test_create_course_with_a_series_of_sessions(qtbot, page, ctx):
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    type_into(page.form.code, "SVETS-26")
    page.form.min_attendance.setValue(80)
    type_into(page.form.capacity, "-3")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page)
    assert page.form.error_text("title")  # required
    assert page.form.error_text("capacity")
    assert course_overview(ctx.db) == []
    assert page.form.code.text() == "SVETS-26"
    type_into(page.form.course_title, "Svetsning för operatörer")
    type_into(page.form.capacity, "2")
    type_into(page.form.location, "Verkstaden, Västervik")
    page.form.provider.setCurrentIndex(1)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page)
    [row] = course_overview(ctx.db)
    assert (row.code, row.provider_name, row.capacity, row.status) == ("SVETS-26", "Campus Västervik", 2, "planned")
    assert page.table.current_row().id == row.id

    # a Thursday series over Ascension Day 2026-05-14
    page.tabs.setCurrentIndex(1)
    dialog = page.open_series_dialog()
    dialog.weekday.setCurrentIndex(3)
    type_into(dialog.start, "13:00")
    type_into(dialog.end, "16:30")
    dialog.first.setDate(QDate(2026, 5, 1))
    dialog.last.setDate(QDate(2026, 5, 31))
    assert dialog.location.text() == "Verkstaden, Västervik"  # the course's location by default
    assert dialog.preview.text().startswith("3 kurstillfällen")
    assert "2026-05-14" in dialog.warning.text() and "himmelsfärd" in dialog.warning.text().lower()
    assert list_sessions(ctx.db, row.id) == []  # nothing saved before Save
    qtbot.mouseClick(dialog.save_button(), Qt.MouseButton.LeftButton)
    sessions = list_sessions(ctx.db, row.id)
    assert [s.date for s in sessions] == [date(2026, 5, 7), date(2026, 5, 21), date(2026, 5, 28)]
    assert {s.location for s in sessions} == {"Verkstaden, Västervik"}
    assert page.sessions_model.rowCount() == 3
    assert "10,5" in page.sessions_summary.text()

    # an end before the start is refused inline in the single-session dialog
    dialog = page.open_session_dialog()
    type_into(dialog.date, "2026-06-04")
    type_into(dialog.start, "15:00")
    type_into(dialog.end, "14:00")
    qtbot.mouseClick(dialog.save_button(), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.form.error_text("end")
    type_into(dialog.end, "17:00")
    type_into(dialog.teacher, "Lena Svensson")
    qtbot.mouseClick(dialog.save_button(), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert page.sessions_model.rowCount() == 4

    # cancel one session and reinstate it
    page.sessions_table.select_id(sessions[0].id)
    qtbot.mouseClick(page.cancel_session_button, Qt.MouseButton.LeftButton)
    assert page.sessions_model.row_for(sessions[0].id).cancelled
    cancelled_row = page.sessions_model.index(page.sessions_model.position_of(sessions[0].id), 0)
    assert page.sessions_model.data(cancelled_row, Qt.ItemDataRole.FontRole).strikeOut()  # looks cancelled
    assert page.cancel_session_button.text() == "Återinsätt tillfället"
    assert "3 kurstillfällen" in page.sessions_summary.text()
    qtbot.mouseClick(page.cancel_session_button, Qt.MouseButton.LeftButton)
    assert not page.sessions_model.row_for(sessions[0].id).cancelled


def test_enroll_by_search_and_company_with_waitlist_then_withdraw(qtbot, page, ctx, no_questions):
    company = create_company(ctx.db, CompanyData("Volvo Kalmar", "556036-0793"))
    [
        create_participant(ctx.db, ParticipantData(first, "Ek", pnr, company_id=company if i else None))
        for i, (first, pnr) in enumerate(zip(["Anna", "Bo", "Cia", "Dan"], PNRS))
    ]
    course_id = create_course(ctx.db, CourseData(code="CNC1", title="CNC", capacity=2))
    load(qtbot, page)
    page.table.select_id(course_id)
    page.tabs.setCurrentIndex(2)
    # search and enroll one
    keys(page.candidate_search, "anna")
    assert page._search_timer.isActive()  # searched after a short pause in typing
    page.search_candidates()  # what the timer does
    assert page.candidates_model.rowCount() == 1
    page.candidates_table.selectAll()
    qtbot.mouseClick(page.enroll_button, Qt.MouseButton.LeftButton)
    # all employees of a company: the third one goes on the waitlist
    page.company_choice.setCurrentIndex(page.company_choice.findData(company))
    page.company_choice.activated.emit(page.company_choice.currentIndex())
    assert page.candidates_model.rowCount() == 3
    assert len(page.candidates_table.selected_rows()) == 3
    page.enroll_button.click()
    statuses = {r.full_name: r.status for r in list_enrollments(ctx.db, course_id)}
    assert statuses == {"Anna Ek": "enrolled", "Bo Ek": "enrolled", "Cia Ek": "waitlisted", "Dan Ek": "waitlisted"}
    assert page.enrollment_summary.text() == "2 anmälda av 2 platser, 2 på reservlistan"
    settle(qtbot, page)
    assert page.model.row_for(course_id).waitlisted == 2
    # withdraw Bo: the first on the waitlist moves up; undo puts Bo back
    bo = next(r for r in page.enrollment_model.rows() if r.full_name == "Bo Ek")
    page.enrollment_table.select_id(bo.id)
    page.withdraw_button.click()
    statuses = {r.full_name: r.status for r in list_enrollments(ctx.db, course_id)}
    assert statuses["Bo Ek"] == "withdrawn" and statuses["Cia Ek"] == "enrolled"
    assert undo_stack(ctx).undo()
    statuses = {r.full_name: r.status for r in list_enrollments(ctx.db, course_id)}
    assert statuses["Bo Ek"] == "enrolled"


def test_search_edit_delete_and_undo(qtbot, page, ctx, no_questions):
    a = create_course(ctx.db, CourseData(code="EL1", title="Elsäkerhet"))
    create_course(ctx.db, CourseData(code="TRUCK", title="Truckkort"))
    load(qtbot, page)
    keys(page.search, "säk")
    assert [r.code for r in page.table.visible_rows()] == ["EL1"]
    page.table.select_id(a)
    type_into(page.form.course_title, "Elsäkerhet vid arbete")
    page.form.min_attendance.setValue(90)
    assert page.save()
    settle(qtbot, page)
    assert page.model.row_for(a).title == "Elsäkerhet vid arbete"
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert [r.code for r in course_overview(ctx.db)] == ["TRUCK"]
    settle(qtbot, page)
    assert page.model.row_for(a) is None
    assert undo_stack(ctx).undo_text() == "Kursen EL1 har tagits bort"
    undo_stack(ctx).undo()
    assert sorted(r.code for r in course_overview(ctx.db)) == ["EL1", "TRUCK"]
    settle(qtbot, page)
    assert page.model.row_for(a).title == "Elsäkerhet vid arbete"


def test_a_new_provider_can_be_added_from_the_course_form(qtbot, page, ctx, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from app.services.providers import list_providers

    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("IUC Kalmar län", True))
    qtbot.mouseClick(page.form.new_provider_button, Qt.MouseButton.LeftButton)
    [added] = [p for p in list_providers(ctx.db) if p.name == "IUC Kalmar län"]
    assert page.form.provider.currentData() == added.id  # chosen for the course being edited
    assert page.form.provider.currentText() == "IUC Kalmar län"
