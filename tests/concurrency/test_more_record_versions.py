"""The remaining forms protected like participants, companies and courses (test_record_versions.py):
providers, sessions, needs analyses and the project's settings. A save from a form opened before a
colleague's save raises StaleEdit with both values and writes nothing; saving again with the
version the prompt showed keeps the form's values. Two Database objects on one database stand for
two coordinators (two processes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time
from decimal import Decimal

import pytest

from app.concurrency import StaleEdit
from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, SessionData, add_session, create_course, get_session, update_session
from app.services.needs import NeedData, create_need, get_need, update_need
from app.services.providers import create_provider, list_providers, update_provider
from app.services.settings import (
    ProjectSettings,
    get_project_settings,
    opened_project_settings,
    save_project_settings,
)

pytestmark = pytest.mark.usefixtures("english")  # the messages compared are English


def _provider(db, pid):
    return next(p for p in list_providers(db) if p.id == pid)


def test_a_provider_saved_by_a_colleague_since_raises_both_values(db, colleague):
    pid = create_provider(db, "Campus Västervik", "556036-0793")
    opened = _provider(db, pid)
    assert opened.version == 1
    update_provider(colleague, pid, "Campus Västervik Nord", "556036-0793", version=_provider(colleague, pid).version)
    with pytest.raises(StaleEdit) as caught:
        update_provider(db, pid, "Campus Västerviks kommun", "556036-0793", version=opened.version)
    assert [(c.field, c.mine, c.theirs) for c in caught.value.clashes] == [
        ("name", "Campus Västerviks kommun", "Campus Västervik Nord")]
    assert caught.value.record_type == "provider" and caught.value.version == 2
    assert _provider(db, pid).name == "Campus Västervik Nord"
    update_provider(db, pid, "Campus Västerviks kommun", "556036-0793", version=caught.value.version)  # keep mine
    assert (_provider(db, pid).name, _provider(db, pid).version) == ("Campus Västerviks kommun", 3)
    # a save equal to what the colleague saved loses nothing of theirs: no question
    update_provider(colleague, pid, "Nova", "", version=3)
    update_provider(db, pid, "Nova", "", version=3)
    assert _provider(db, pid).name == "Nova"


def test_a_session_saved_by_a_colleague_since_raises_both_values(db, colleague):
    course = create_course(db, CourseData(code="SVETS-1", title="Svetsning"))
    sid = add_session(db, course, SessionData(date(2026, 3, 2), "08:00", "12:00", "Sal 1", "Anna"))
    opened = get_session(db, sid)
    assert opened.version == 1
    update_session(colleague, sid, SessionData(date(2026, 3, 2), "08:00", "11:00", "Sal 1", "Anna"))
    mine = SessionData(date(2026, 3, 2), "08:00", "12:00", "Sal 2", "Anna")
    with pytest.raises(StaleEdit) as caught:
        update_session(db, sid, mine, version=opened.version)
    assert {(c.field, c.mine, c.theirs) for c in caught.value.clashes} == {
        ("end_time", time(12, 0), time(11, 0)), ("location", "Sal 2", "Sal 1")}
    saved = get_session(db, sid)
    assert (saved.end, saved.location, saved.version) == (time(11, 0), "Sal 1", 2)
    update_session(db, sid, mine, version=caught.value.version)
    saved = get_session(db, sid)
    assert (saved.end, saved.location, saved.version) == (time(12, 0), "Sal 2", 3)


def test_a_needs_analysis_saved_by_a_colleague_since_raises_both_values(db, colleague):
    company = create_company(db, CompanyData(name="Verkstad AB", org_number="556036-0793"))
    nid = create_need(db, NeedData(company, date(2026, 2, 1), "Svetsning", "Operatörer"))
    opened = get_need(db, nid)
    update_need(colleague, nid, NeedData(company, date(2026, 2, 1), "Svetsning och truck", "Operatörer"),
                version=get_need(colleague, nid).version)
    with pytest.raises(StaleEdit) as caught:
        update_need(db, nid, NeedData(company, date(2026, 2, 1), "Svetsning", "Alla"), version=opened.version)
    assert {(c.field, c.mine, c.theirs) for c in caught.value.clashes} == {
        ("description", "Svetsning", "Svetsning och truck"), ("target_groups", "Alla", "Operatörer")}
    assert get_need(db, nid).description == "Svetsning och truck"
    update_need(db, nid, NeedData(company, date(2026, 2, 1), "Svetsning", "Alla"), version=caught.value.version)
    assert (get_need(db, nid).description, get_need(db, nid).target_groups) == ("Svetsning", "Alla")


def test_the_project_settings_saved_by_a_colleague_since_raise_both_values(db, colleague):
    save_project_settings(db, ProjectSettings(case_number="2020/00123", project_name="Kompetenslyft"))
    opened, version = opened_project_settings(db)
    # the colleague sets the unit cost (a record of its own); this coordinator renames the project
    save_project_settings(colleague, replace(opened, unit_cost=Decimal("291.47")),
                          version=opened_project_settings(colleague)[1])
    assert opened_project_settings(db)[1] > version
    mine = replace(opened, project_name="Kompetenslyft 2")
    with pytest.raises(StaleEdit) as caught:
        save_project_settings(db, mine, version=version)
    assert [(c.field, c.mine, c.theirs) for c in caught.value.clashes] == [
        ("project_name", "Kompetenslyft 2", "Kompetenslyft"), ("unit_cost", None, Decimal("291.47"))]
    assert caught.value.record_type == "project_settings" and caught.value.changed_by
    assert get_project_settings(db) == replace(opened, unit_cost=Decimal("291.47"))
    save_project_settings(db, mine, version=caught.value.version)  # keep mine
    assert get_project_settings(db) == mine
    # no version (the command line, an import): saved without a question, as before
    save_project_settings(colleague, replace(mine, case_number="2020/00999"))
    assert get_project_settings(db).case_number == "2020/00999"


def test_the_project_settings_first_set_by_a_colleague_since_an_empty_form_opened(db, colleague):
    opened, version = opened_project_settings(db)
    assert (opened, version) == (ProjectSettings(), 0)
    save_project_settings(colleague, ProjectSettings(case_number="2020/00123"))
    with pytest.raises(StaleEdit) as caught:
        save_project_settings(db, ProjectSettings(project_name="Kompetenslyft"), version=version)
    assert {c.field for c in caught.value.clashes} == {"case_number", "project_name"}
    assert get_project_settings(db) == ProjectSettings(case_number="2020/00123")
