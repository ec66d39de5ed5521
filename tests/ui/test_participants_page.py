"""The Participants page driven as a user would."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, SessionData, add_session, create_course
from app.services.enrollments import enroll
from app.services.participants import ParticipantData, create_participant, get_participant, list_participants
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages.participants import Page
from ui.undo import undo_stack

PNR_ASA = "19800501-1237"
PNR_BO = "19750101-2343"
PNR_CE = "19900102-3457"


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
def people(ctx):
    volvo = create_company(ctx.db, CompanyData("Volvo Kalmar", "556036-0793"))
    saab = create_company(ctx.db, CompanyData("Saab Oskarshamn", "556677-8899"))
    ids = {
        "asa": create_participant(ctx.db, ParticipantData("Åsa", "Öberg", PNR_ASA, company_id=volvo)),
        "bo": create_participant(ctx.db, ParticipantData("Bo", "Andersson", PNR_BO, company_id=saab)),
        "ce": create_participant(ctx.db, ParticipantData("Cecilia", "Berg", PNR_CE, company_id=volvo)),
    }
    return {"volvo": volvo, "saab": saab, **ids}


@pytest.fixture
def page(qtbot, ctx, people):
    p = Page(ctx)
    qtbot.addWidget(p)
    p.resize(1100, 700)
    p.show()
    qtbot.waitExposed(p)
    load(qtbot, p)
    return p


def names(page):
    return [r.full_name for r in page.table.visible_rows()]


def test_table_shows_masked_numbers_only(page):
    model = page.model
    texts = [model.data(model.index(r, c)) for r in range(model.rowCount()) for c in range(model.columnCount())]
    assert "19800501-****" in texts
    assert not any("1237" in t or "2343" in t for t in texts)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Namn"


def test_filter_as_you_type_on_name_employer_and_birth_date(page):
    keys(page.search, "vol")
    assert sorted(names(page)) == ["Cecilia Berg", "Åsa Öberg"]
    type_into(page.search, "åsa")
    assert names(page) == ["Åsa Öberg"]
    type_into(page.search, "19750101")
    assert names(page) == ["Bo Andersson"]
    type_into(page.search, "1990-01")
    assert names(page) == ["Cecilia Berg"]
    type_into(page.search, "saab bo")
    assert names(page) == ["Bo Andersson"]
    page.search.clear()
    assert len(names(page)) == 3


def test_failed_save_keeps_input_and_shows_each_message(qtbot, page, ctx, people):
    page.new_participant()
    type_into(page.form.first_name, "Dan")
    type_into(page.form.personal_number, "19850312-0000")
    type_into(page.form.email, "dan@")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page)  # the selected participant and changed rows are read in a worker
    assert page.form.error_text("last_name")
    assert "kontrollsiffra" in page.form.error_text("personal_number")
    assert page.form.error_text("email")
    assert page.form.error_text("first_name") == ""
    assert page.form.first_name.text() == "Dan" and page.form.personal_number.text() == "19850312-0000"
    assert len(list_participants(ctx.db)) == 3
    # fix and save: the new row appears without reloading the list
    type_into(page.form.last_name, "Ek")
    type_into(page.form.personal_number, "198503120001")
    type_into(page.form.email, "dan@example.se")
    page.form.company.setCurrentIndex(page.form.company.findData(people["saab"]))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page)
    assert not page.form.has_problems()
    assert "Dan Ek" in [r.full_name for r in page.model.rows()]
    assert page.table.current_row().company_name == "Saab Oskarshamn"
    assert page.form.personal_number.text() == "19850312-****"


def test_edit_keeps_the_stored_personnummer_behind_the_mask(qtbot, page, ctx, people):
    page.table.select_id(people["asa"])
    settle(qtbot, page)
    assert page.form.personal_number.text() == "19800501-****"
    type_into(page.form.last_name, "Öberg-Lind")
    assert page.save()
    settle(qtbot, page)
    detail = get_participant(ctx.db, people["asa"])
    assert detail.data.last_name == "Öberg-Lind" and detail.data.personal_number == "198005011237"
    assert page.model.row_for(people["asa"]).full_name == "Åsa Öberg-Lind"


def test_courses_with_status_and_attendance(qtbot, page, ctx, people):
    course = create_course(ctx.db, CourseData(code="CNC1", title="CNC-programmering"))
    add_session(ctx.db, course, SessionData("2026-03-02", "08:00", "12:00"))
    enroll(ctx.db, course, [people["bo"]])
    settle(qtbot, page)
    page.table.select_id(people["bo"])
    settle(qtbot, page)
    page.tabs.setCurrentIndex(1)
    assert page.courses_model.rowCount() == 1
    m = page.courses_model
    assert [m.data(m.index(0, c)) for c in range(3)] == ["CNC1", "CNC-programmering", "Anmäld"]
    assert m.data(m.index(0, 3)) == "0,0\xa0%"
    assert page.attendance_available


def test_delete_and_undo(qtbot, page, ctx, people, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.table.select_id(people["ce"])
    settle(qtbot, page)
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    settle(qtbot, page)
    assert "Cecilia Berg" not in [r.full_name for r in list_participants(ctx.db)]
    assert page.model.row_for(people["ce"]) is None
    assert undo_stack(ctx).undo()
    settle(qtbot, page)
    assert page.model.row_for(people["ce"]).full_name == "Cecilia Berg"


def test_filtering_keeps_the_open_participant(qtbot, page, people):
    page.table.select_id(people["bo"])
    settle(qtbot, page)
    assert page.current_id == people["bo"]
    type_into(page.search, "volvo")  # Bo (Saab) is filtered out: his form stays open
    assert names(page) == ["Cecilia Berg", "Åsa Öberg"]
    assert page.current_id == people["bo"] and page.form.last_name.text() == "Andersson"
    type_into(page.search, "")
    assert len(names(page)) == 3


def test_selecting_a_participant_reads_off_the_ui_thread(qtbot, page, people, monkeypatch):
    import threading

    from app.services import participants as participant_service

    threads = []
    real = participant_service.get_participant

    def recorded(db, participant_id):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(db, participant_id)

    monkeypatch.setattr(participant_service, "get_participant", recorded)
    page.table.select_id(people["asa"])
    page.table.select_id(people["bo"])  # before the first read is back: the last one is shown
    settle(qtbot, page)
    assert threads and not any(threads)
    assert page.current_id == people["bo"] and page.form.last_name.text() == "Andersson"
