"""The Companies page driven as a user would: typing, clicking, keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.services.companies import CompanyData, create_company, list_companies
from app.services.courses import CourseData, create_course
from app.services.participants import ParticipantData, create_participant
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages.companies import Page
from ui.undo import undo_stack

VALID_ORG = "556036-0793"  # Volvo Personvagnar AB (valid check digit)
INVALID_ORG = "556036-0794"


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


@pytest.fixture
def page(qtbot, ctx):
    p = Page(ctx)
    qtbot.addWidget(p)
    p.resize(1100, 700)
    p.show()
    qtbot.waitExposed(p)
    load(qtbot, p)
    return p


def keys(widget, text):
    """Type text key by key (QTest.keyClicks cannot type å, ä, ö)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def type_into(qtbot, widget, text):
    widget.clear()
    keys(widget, text)


def test_create_with_invalid_org_number_shows_message_then_fix_and_save(qtbot, page, ctx):
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, page.form.name, "Kalmar Verkstad AB")
    type_into(qtbot, page.form.org_number, INVALID_ORG)
    page.form.municipality.setEditText("Kalmar")
    type_into(qtbot, page.form.contact_email, "inte-en-adress")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "kontrollsiffra" in page.form.error_text("org_number")
    assert page.form.error_text("contact_email")
    assert page.form.error_text("name") == ""
    # nothing written, nothing lost
    assert list_companies(ctx.db) == []
    assert page.form.name.text() == "Kalmar Verkstad AB"
    assert page.form.org_number.text() == INVALID_ORG
    assert page.form.contact_email.text() == "inte-en-adress"
    # fix and save
    type_into(qtbot, page.form.org_number, VALID_ORG)
    type_into(qtbot, page.form.contact_email, "info@verkstad.se")
    with qtbot.waitSignal(ctx.bus.changed) as announced:
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert announced.args[0].touches(["companies"])
    settle(qtbot, page)
    assert not page.form.has_problems()
    [row] = list_companies(ctx.db)
    assert (row.name, row.org_number, row.municipality) == ("Kalmar Verkstad AB", VALID_ORG, "Kalmar")
    assert page.table.visible_rows() == [row]
    assert page.table.current_row() == row


def test_municipalities_offered(page):
    items = [page.form.municipality.itemText(i) for i in range(page.form.municipality.count())]
    assert len(items) == 13 and "Västervik" in items and "Mörbylånga" in items and items[-1] == "Annan"


def test_search_filters_as_you_type_and_edit(qtbot, page, ctx):
    create_company(ctx.db, CompanyData("Alfa Plast AB", "556036-0793", "Kalmar"))
    create_company(ctx.db, CompanyData("Beta Metall AB", "556677-8899", "Västervik"))
    load(qtbot, page)
    assert page.model.rowCount() == 2
    keys(page.search, "väst")
    assert [r.name for r in page.table.visible_rows()] == ["Beta Metall AB"]
    assert "1 av 2" in page.count_label.text()
    # Down moves to the table; selecting loads the form; edit and save
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    page.table.select_id(page.table.visible_rows()[0].id)
    assert page.form.name.text() == "Beta Metall AB"
    type_into(qtbot, page.form.name, "Beta Metall i Västervik AB")
    assert page.save()
    settle(qtbot, page)
    assert [r.name for r in list_companies(ctx.db)] == ["Alfa Plast AB", "Beta Metall i Västervik AB"]
    assert [r.name for r in page.table.visible_rows()] == ["Beta Metall i Västervik AB"]
    page.search.clear()
    assert page.table.proxy.rowCount() == 2


def test_delete_asks_and_undo_restores(qtbot, page, ctx, monkeypatch):
    company_id = create_company(ctx.db, CompanyData("Gamma AB", "556036-0793"))
    create_participant(ctx.db, ParticipantData("Åsa", "Öberg", "19800501-1237", company_id=company_id))
    load(qtbot, page)
    page.table.select_id(company_id)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    page.delete_company()
    assert asked and "Gamma AB" in asked[0]
    assert "Dess 1 anställda finns kvar som deltagare, utan arbetsgivare." in asked[0]  # said before deleting
    assert len(list_companies(ctx.db)) == 1  # said no
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert list_companies(ctx.db) == []
    assert page.model.rowCount() == 0
    stack = undo_stack(ctx)
    assert stack.undo_text() == "Företaget Gamma AB har tagits bort"
    stack.undo()
    settle(qtbot, page)
    assert [r.name for r in list_companies(ctx.db)] == ["Gamma AB"]
    assert [r.name for r in page.model.rows()] == ["Gamma AB"]


def test_needs_analysis_with_linked_course_and_employees(qtbot, page, ctx):
    company_id = create_company(ctx.db, CompanyData("Delta AB", "556036-0793"))
    course_id = create_course(ctx.db, CourseData(code="SVETS1", title="Svetsning grund"))
    create_participant(ctx.db, ParticipantData("Åsa", "Öberg", "19800501-1237", company_id=company_id))
    load(qtbot, page)
    page.table.select_id(company_id)
    assert [r.full_name for r in page.employees_model.rows()] == ["Åsa Öberg"]
    assert page.employees_model.rows()[0].masked_personal_number.endswith("****")
    dialog = page.open_need_dialog(None)
    # an empty description is refused inline, the dialog stays open
    qtbot.mouseClick(dialog.save_button(), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.form.has_problems()
    keys(dialog.description, "Svetsbehörighet för fem operatörer")
    keys(dialog.target_groups, "Operatörer")
    dialog.check_course(course_id)
    qtbot.mouseClick(dialog.save_button(), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    [need] = page.needs_model.rows()
    assert need.course_codes == ("SVETS1",) and need.target_groups == "Operatörer"
    assert page.needs_model.data(page.needs_model.index(0, 3)) == "SVETS1"
