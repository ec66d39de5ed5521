"""The "changed since you opened it" question: a colleague (another Kursdesk process on the same
database) saves a company while its form is open here; saving the form shows both values of each
field that differs and asks: keep mine, take theirs or cancel. Nothing is overwritten unasked."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.db import Database
from app.services.companies import CompanyData, create_company, get_company, update_company
from app.services.courses import CourseData, create_course, get_course, update_course
from app.services.providers import create_provider
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages.companies import Page
from ui.pages.courses import Page as CoursesPage
from ui.stale_edit import StaleEditDialog

ORG = "556036-0793"


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


@pytest.fixture
def colleague(db):
    other = Database(db.url)  # another process on the same database (a file or a server)
    yield other
    other.dispose()


def _open(qtbot, page_class, ctx):
    page = page_class(ctx)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    qtbot.waitExposed(page)
    load(qtbot, page)
    return page


def answer(button: str, seen: list, tries: int = 200):
    """When the question opens (within a few seconds): note its rows and press `button`."""
    left = [tries]

    def press():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, StaleEditDialog):
            left[0] -= 1
            if left[0] > 0:
                QTimer.singleShot(20, press)
            return
        table = dialog.table
        seen.extend(tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount()))
        seen.append(dialog.windowTitle())
        dialog.findChild(type(dialog.keep_mine), button).click()

    QTimer.singleShot(0, press)


@pytest.fixture
def company_page(qtbot, ctx, colleague):
    company = create_company(ctx.db, CompanyData("Verkstad AB", ORG, industry="Metall"))
    page = _open(qtbot, Page, ctx)
    page.table.select_id(company)
    assert page.form.name.text() == "Verkstad AB"
    page.form.industry.setText("Trä")  # this coordinator's edit ...
    # ... while a colleague on the server renames the company
    update_company(colleague, company, CompanyData("Verkstad Nord AB", ORG, industry="Metall"))
    return page, company


def test_keep_mine_shows_both_values_and_then_saves_the_form(qtbot, company_page, ctx):
    page, company = company_page
    seen = []
    answer("keep_mine", seen)
    assert page.save()
    assert seen[:2] == [("Namn", "Verkstad AB", "Verkstad Nord AB"), ("Bransch", "Trä", "Metall")]
    assert seen[2] == "Ändrad sedan du öppnade den"
    saved = get_company(ctx.db, company)
    assert (saved.data.name, saved.data.industry) == ("Verkstad AB", "Trä")


def test_take_theirs_shows_the_colleagues_record_and_writes_nothing(qtbot, company_page, ctx):
    page, company = company_page
    answer("take_theirs", [])
    assert not page.save()
    assert (page.form.name.text(), page.form.industry.text()) == ("Verkstad Nord AB", "Metall")
    saved = get_company(ctx.db, company)
    assert (saved.data.name, saved.data.industry, saved.version) == ("Verkstad Nord AB", "Metall", 2)
    page.form.industry.setText("Trä")  # the form is at the colleague's version now: no question
    asked = []
    answer("cancel", asked, tries=5)
    assert page.save()
    qtbot.wait(200)
    assert asked == []
    saved = get_company(ctx.db, company)
    assert (saved.data.name, saved.data.industry, saved.version) == ("Verkstad Nord AB", "Trä", 3)


def test_cancel_keeps_what_was_typed_and_writes_nothing(qtbot, company_page, ctx):
    page, company = company_page
    answer("cancel", [])
    assert not page.save()
    assert (page.form.name.text(), page.form.industry.text()) == ("Verkstad AB", "Trä")
    assert get_company(ctx.db, company).data.industry == "Metall"


def test_a_course_form_shows_the_providers_names_not_their_ids(qtbot, ctx, colleague):
    campus = create_provider(ctx.db, "Campus Västervik")
    nova = create_provider(ctx.db, "Nova")
    course = create_course(ctx.db, CourseData(code="SVETS-1", title="Svetsning", provider_id=campus))
    page = _open(qtbot, CoursesPage, ctx)
    page.table.select_id(course)
    update_course(colleague, course, CourseData(code="SVETS-1", title="Svetsning", provider_id=nova))
    page.form.course_title.setText("Svetsning grund")
    seen = []
    answer("keep_mine", seen)
    assert page.save()
    assert seen[:2] == [("Titel", "Svetsning grund", "Svetsning"), ("Anordnare", "Campus Västervik", "Nova")]
    saved = get_course(ctx.db, course).data
    assert (saved.title, saved.provider_id) == ("Svetsning grund", campus)


def test_a_participant_form_shows_a_changed_personnummer_masked(qtbot, ctx, colleague):
    from app.services.participants import ParticipantData, create_participant, get_participant, update_participant
    from ui.pages.participants import Page as ParticipantsPage

    person = create_participant(ctx.db, ParticipantData("Åsa", "Öberg", "198112189876"))
    page = _open(qtbot, ParticipantsPage, ctx)
    page.table.select_id(person)
    settle(qtbot, page)  # the participant is read in a worker
    page.form.last_name.setText("Öberg-Lind")
    update_participant(colleague, person, ParticipantData("Åsa", "Öberg", "198507141003"))
    seen = []
    answer("take_theirs", seen)
    assert not page.save()
    assert seen[:2] == [("Efternamn", "Öberg-Lind", "Öberg"), ("Personnummer", "19811218-****", "19850714-****")]
    settle(qtbot, page)  # "take theirs" reads the saved participant in a worker
    assert page.form.last_name.text() == "Öberg"
    assert get_participant(ctx.db, person).data.personal_number == "198507141003"
