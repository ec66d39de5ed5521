"""Issue 12 in the window: the participant's project data and protected flag on the participant's page,
the type of organisation in the company form, the ESF project's settings on the Settings page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.services.companies import get_company
from app.services.participants import get_participant
from app.services.settings import get_project_settings
from tests.fixtures.report_month import TODAY, build
from tests.ui.pages import load, settle
from ui.context import AppContext


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


def _show(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(1366, 768)
    widget.show()
    qtbot.waitExposed(widget)
    load(qtbot, widget)  # pages load in a worker
    return widget


def test_participant_project_data_proposed_edited_and_saved(qtbot, ctx, monkeypatch):
    from ui.pages import participants

    ids = build(ctx.db)
    monkeypatch.setattr(participants, "proposed_dates", lambda db, pid: participants_proposed(db, pid))
    page = _show(qtbot, participants.Page(ctx))
    page.table.select_id(ids["anna"])
    settle(qtbot, page)  # the selected participant is read in a worker
    fields = page.form.project
    assert fields.proposal.text() == "Förslag: start 2026-03-02, avslut 2026-04-06"
    fields.use_proposal.click()
    assert (fields.project_start.text(), fields.project_end.text()) == ("2026-03-02", "2026-04-06")
    fields.codes["exit_reason"].setCurrentIndex(fields.codes["exit_reason"].findData(1))
    assert fields.codes["exit_reason"].currentText() == "1 Fullföljt projektet"
    fields.qualification.setCurrentIndex(fields.qualification.findData(True))
    fields.codes["exit_status"].setCurrentIndex(fields.codes["exit_status"].findData(6))
    fields.protected.setChecked(True)
    assert page.save()
    data = get_participant(ctx.db, ids["anna"]).data
    assert (data.project_start, data.project_end, data.exit_reason, data.formal_qualification, data.exit_status,
            data.protected) == (date(2026, 3, 2), date(2026, 4, 6), 1, True, 6, True)
    # a problem shows next to its field and saves nothing
    fields.project_end.setText("2026-02-01")
    assert not page.save()
    assert page.form.error_text("project_end") == "Avslutsdatumet ligger före startdatumet."
    assert get_participant(ctx.db, ids["anna"]).data.project_end == date(2026, 4, 6)


def participants_proposed(db, pid):
    from app.services.project_data import proposed_dates

    return proposed_dates(db, pid, today=TODAY)


def test_company_type_of_organisation(qtbot, ctx):
    from ui.pages.companies import CompanyForm

    ids = build(ctx.db)
    form = CompanyForm()
    qtbot.addWidget(form)
    form.set_data(get_company(ctx.db, ids["kommun"]).data)
    assert form.organisation_type.currentText() == "Kommun"
    assert [form.organisation_type.itemText(i) for i in range(form.organisation_type.count())] == [
        "(inte angiven)", "Privat aktör", "Kommun", "Landstingskommunal", "Annan statlig aktör",
        "Övrig offentlig icke statlig aktör", "Arbetsförmedlingen", "Försäkringskassan"]
    form.organisation_type.setCurrentIndex(form.organisation_type.findData("county_council"))
    assert form.data().organisation_type == "county_council"


def test_settings_page_saves_the_project_settings(qtbot, ctx):
    from ui.pages.settings import Page

    page = _show(qtbot, Page(ctx))
    project = page.project
    project.case_number.setText("2020/00123")
    project.project_name.setText("Kompetenslyft Kalmar län")
    project.unit_cost.setText("0")
    assert not page.save()
    assert "mer än 0" in page.form.error_text("unit_cost")
    project.unit_cost.setText("291,47")
    project.project_start.setText("2021-01-01")
    project.project_end.setText("2020-12-31")
    assert not page.save()
    assert page.form.error_text("project_end") == "Projektet slutar innan det börjar."
    assert get_project_settings(ctx.db).case_number == ""  # nothing saved
    project.project_end.setText("2023-02-28")
    project.layout.setCurrentIndex(project.layout.findData("grid"))
    assert page.save()
    saved = get_project_settings(ctx.db)
    assert (saved.case_number, saved.unit_cost, saved.project_end, saved.time_report_layout) == (
        "2020/00123", Decimal("291.47"), date(2023, 2, 28), "grid")
    page.refresh()
    assert project.unit_cost.text() == "291,47"
