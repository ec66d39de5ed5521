"""The question before a change alters a closed month (issue 13), from the participant's and the
company's forms and from "all present": asked only when the change alters what was reported."""

from __future__ import annotations

from datetime import date, time

import pytest
from PySide6.QtWidgets import QMessageBox

from app.services import attendance as A
from app.services import month_close as mc
from app.services.companies import get_company
from app.services.participants import get_participant
from tests.app.attendance_builders import build_course
from tests.fixtures.report_month import build
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.register_model import FIRST_SESSION_COLUMN

LATER = date(2026, 6, 1)
QUESTION = ("mars 2026 är stängd och redovisad; ändringen gör att mars måste skickas om till SCB.\n\n"
            "Spara ändringen ändå?")


@pytest.fixture
def asked(monkeypatch):
    """The questions asked, answered with answer[0]."""
    questions, answer = [], [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda _p, _t, text, *a, **k: (questions.append(text), answer[0])[1])
    return questions, answer


def _show(qtbot, page):
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    qtbot.waitExposed(page)
    load(qtbot, page)  # pages load in a worker
    return page


def test_the_participant_form_asks_before_a_change_of_employer_in_a_closed_month(qtbot, db, asked):
    from ui.pages.participants import Page

    questions, answer = asked
    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    page = _show(qtbot, Page(AppContext(db)))
    page.table.select_id(ids["anna"])
    settle(qtbot, page)  # the participant is read in a worker
    page.form.email.setText("anna@example.se")  # the summary does not show it: no question
    assert page.save() and questions == []
    assert get_participant(db, ids["anna"]).data.email == "anna@example.se"
    page.form.company.setCurrentIndex(page.form.company.findData(ids["kommun"]))
    assert not page.save()  # answered No: nothing saved
    assert questions == [QUESTION]
    assert get_participant(db, ids["anna"]).data.company_id == ids["verk"]
    answer[0] = QMessageBox.StandardButton.Yes
    assert page.save()
    assert get_participant(db, ids["anna"]).data.company_id == ids["kommun"]
    assert mc.month_status(db, today=LATER)[0].state == mc.CHANGED
    # David has no hours in any closed month: his employer changes without a question
    questions.clear()
    page.table.select_id(ids["david"])
    settle(qtbot, page)  # the participant is read in a worker
    page.form.company.setCurrentIndex(page.form.company.findData(ids["kommun"]))
    assert page.save() and questions == []


def test_the_participant_form_asks_before_a_project_date_changes_in_a_closed_month(qtbot, db, asked):
    from ui.pages.participants import Page

    questions, answer = asked
    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    page = _show(qtbot, Page(AppContext(db)))
    page.table.select_id(ids["bertil"])
    settle(qtbot, page)  # the participant is read in a worker
    page.form.project.project_end.setText("2026-03-20")
    assert not page.save() and questions == [QUESTION]
    assert get_participant(db, ids["bertil"]).data.project_end == date(2026, 3, 23)


def test_the_company_form_asks_before_its_type_changes_in_a_closed_month(qtbot, db, asked):
    from ui.pages.companies import Page

    questions, answer = asked
    ids = build(db)
    mc.close_month(db, "2026-03", today=LATER)
    page = _show(qtbot, Page(AppContext(db)))
    page.table.select_id(ids["kommun"])
    page.form.contact_name.setText("Karin Kommun")  # not in the summary: no question
    assert page.save() and questions == []
    page.form.organisation_type.setCurrentIndex(page.form.organisation_type.findData("county_council"))
    assert not page.save() and questions == [QUESTION]
    assert get_company(db, ids["kommun"]).data.organisation_type == "municipality"
    answer[0] = QMessageBox.StandardButton.Yes
    assert page.save()
    assert get_company(db, ids["kommun"]).data.organisation_type == "county_council"


def test_all_present_asks_only_when_someone_would_be_marked(qtbot, db, asked):
    from ui.pages.attendance import Page

    questions, answer = asked
    built = build_course(db, people=[("Åsa", "Öberg", "Kalmar Verkstad AB"), ("Bo", "Ek", "Kalmar Verkstad AB")],
                         sessions=((date(2026, 3, 2), time(8), time(12), False),))
    [march] = built.session_ids
    asa, bo = built.participant_ids
    A.set_mark(db, march, asa, "present")
    mc.close_month(db, "2026-03", today=date(2026, 4, 2))
    page = Page(AppContext(db), today=date(2026, 4, 10))
    qtbot.addWidget(page)
    load(qtbot, page)
    page.view.setCurrentIndex(page.model.index(0, FIRST_SESSION_COLUMN))
    page.mark_all_present()  # Bo has no mark: he would get 4 h in closed March
    assert questions == [QUESTION]
    assert set(A.register(db, built.course_id).marks) == {(march, asa)}  # answered No: Bo stays unmarked
    A.set_mark(db, march, bo, "absent")
    questions.clear()
    load(qtbot, page)
    page.view.setCurrentIndex(page.model.index(0, FIRST_SESSION_COLUMN))
    page.mark_all_present()  # everyone has a mark: nothing to mark, nothing to ask
    assert questions == []
    assert mc.month_status(db, today=LATER)[0].state == mc.CLOSED
