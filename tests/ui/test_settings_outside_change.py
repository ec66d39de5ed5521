"""An outside change (a sync, another window) reaching the Settings page never throws away what
the user is typing: edited fields keep the edit, untouched fields show the new stored values,
and the page says when a stored value under an edit changed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.services.settings import get_project_settings, get_settings, save_project_settings, save_settings
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages.settings import Page


@pytest.fixture
def page(qtbot, db):
    p = Page(AppContext(db=db))
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    settle(qtbot, p)
    return p


def _from_elsewhere(page, qtbot, *, project_name=None, place=None):
    """Writes made by someone else (no initiator): the visible page reloads."""
    db = page.ctx.db
    if project_name is not None:
        save_project_settings(db, replace(get_project_settings(db), project_name=project_name))
    if place is not None:
        save_settings(db, replace(get_settings(db), place=place))
    qtbot.waitUntil(lambda: page.loading, timeout=2000)
    settle(qtbot, page)


def test_edits_survive_an_outside_change_and_untouched_fields_follow_it(qtbot, page):
    page.project.case_number.setText("2020/00123")  # typed, not saved
    page.organisation_name.setText("Campus Västervik AB")
    _from_elsewhere(page, qtbot, project_name="Kompetenslyft 2", place="Kalmar")
    assert page.project.case_number.text() == "2020/00123"
    assert page.organisation_name.text() == "Campus Västervik AB"
    assert page.project.project_name.text() == "Kompetenslyft 2"  # not edited: the stored value
    assert page.place.text() == "Kalmar"
    assert page.status.text() == ""  # nothing under an edit changed
    assert page.save()
    saved = get_project_settings(page.ctx.db)
    assert (saved.case_number, saved.project_name) == ("2020/00123", "Kompetenslyft 2")
    assert get_settings(page.ctx.db).place == "Kalmar"


def test_a_stored_value_changed_under_an_edit_is_said_and_the_edit_kept(qtbot, page):
    page.place.setText("Oskarshamn")
    _from_elsewhere(page, qtbot, place="Kalmar")
    assert page.place.text() == "Oskarshamn"
    assert "ändrades någon annanstans" in page.status.text()
    page.revert_button.click()  # Revert: the stored values, edits dropped
    settle(qtbot, page)
    assert page.place.text() == "Kalmar"
    load(qtbot, page)
    assert page.place.text() == "Kalmar"
