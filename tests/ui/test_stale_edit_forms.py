"""The "changed since you opened it" question on the forms that got it last: a session's dialog
(the course page), a needs analysis' dialog (the company page) and the project's settings (the
Settings page). A colleague (another Kursdesk process on the same database) saves while the form
is open here; saving shows both values of each field that differs and asks."""

from __future__ import annotations

from datetime import date, time

import pytest

from app.db import Database
from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, SessionData, add_session, create_course, get_session, update_session
from app.services.needs import NeedData, create_need, get_need, update_need
from app.services.settings import ProjectSettings, get_project_settings, save_project_settings
from tests.ui.test_stale_edit import _open, answer
from ui.context import AppContext
from ui.pages.companies import Page as CompaniesPage
from ui.pages.courses import Page as CoursesPage
from ui.pages.settings import Page as SettingsPage


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


@pytest.fixture
def colleague(db):
    other = Database(db.url)
    yield other
    other.dispose()


@pytest.fixture
def session_dialog(qtbot, ctx, colleague):
    course = create_course(ctx.db, CourseData(code="SVETS-1", title="Svetsning"))
    session = add_session(ctx.db, course, SessionData(date(2026, 3, 2), "08:00", "12:00", "Sal 1"))
    page = _open(qtbot, CoursesPage, ctx)
    page.table.select_id(course)
    page.sessions_table.select_id(session)
    page.edit_session()
    dialog = page.dialog
    dialog.location.setText("Sal 2")  # this coordinator's edit, while a colleague shortens the session
    update_session(colleague, session, SessionData(date(2026, 3, 2), "08:00", "11:00", "Sal 1"))
    return dialog, session


def test_a_session_dialog_asks_and_keep_mine_saves_the_form(qtbot, session_dialog, ctx):
    dialog, session = session_dialog
    seen = []
    answer("keep_mine", seen)
    dialog.save_button().click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert seen[:2] == [("Slut", "12:00", "11:00"), ("Plats", "Sal 2", "Sal 1")]
    saved = get_session(ctx.db, session)
    assert (saved.end, saved.location, saved.version) == (time(12, 0), "Sal 2", 3)


def test_a_session_dialog_take_theirs_shows_the_saved_session_and_stays_open(qtbot, session_dialog, ctx):
    dialog, session = session_dialog
    answer("take_theirs", [])
    dialog.save_button().click()
    qtbot.wait(100)
    assert dialog.isVisible()
    assert (dialog.end.text(), dialog.location.text()) == ("11:00", "Sal 1")
    assert get_session(ctx.db, session).location == "Sal 1"
    dialog.location.setText("Sal 3")  # at the colleague's version now: saved without a question
    asked = []
    answer("cancel", asked, tries=5)
    dialog.save_button().click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert asked == [] and get_session(ctx.db, session).location == "Sal 3"


def test_a_needs_dialog_cancel_keeps_what_was_typed_and_writes_nothing(qtbot, ctx, colleague):
    company = create_company(ctx.db, CompanyData("Verkstad AB", "556036-0793"))
    need = create_need(ctx.db, NeedData(company, date(2026, 2, 1), "Svetsning"))
    page = _open(qtbot, CompaniesPage, ctx)
    page.table.select_id(company)
    dialog = page.open_need_dialog(get_need(ctx.db, need))
    dialog.description.setPlainText("Svetsning och truck")
    update_need(colleague, need, NeedData(company, date(2026, 2, 1), "Lean"))
    seen = []
    answer("cancel", seen)
    dialog.save_button().click()
    qtbot.wait(100)
    assert seen[0] == ("Identifierade behov", "Svetsning och truck", "Lean")
    assert dialog.isVisible() and dialog.description.toPlainText() == "Svetsning och truck"
    assert get_need(ctx.db, need).description == "Lean"


def test_the_settings_page_asks_before_overwriting_a_colleagues_project_settings(qtbot, ctx, colleague):
    save_project_settings(ctx.db, ProjectSettings(project_name="Kompetenslyft"))
    page = _open(qtbot, SettingsPage, ctx)
    page.project.project_name.setText("Kompetenslyft 2")
    # saved elsewhere without this page hearing of it (another process: no change signal here)
    save_project_settings(colleague, ProjectSettings(project_name="Kompetenslyft Kalmar"))
    seen = []
    answer("take_theirs", seen)
    assert not page.save()
    assert seen[0] == ("Projektnamn", "Kompetenslyft 2", "Kompetenslyft Kalmar")
    assert page.project.project_name.text() == "Kompetenslyft Kalmar"
    assert get_project_settings(ctx.db).project_name == "Kompetenslyft Kalmar"
    page.project.case_number.setText("2020/00123")
    assert page.save()  # at the colleague's version now: no question
    assert get_project_settings(ctx.db) == ProjectSettings(case_number="2020/00123", project_name="Kompetenslyft Kalmar")
