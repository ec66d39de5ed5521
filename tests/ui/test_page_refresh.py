"""Every page: a change made elsewhere refreshes a visible page once; a hidden page does not load
(it only marks itself stale and loads when shown); a change the page made itself does not reload it."""

from __future__ import annotations

import importlib

import pytest

from app.changes import initiated_by
from app.services.participants import ParticipantData, create_participant
from app.services.settings import set_value
from tests.ui.pages import settle
from ui.context import AppContext
from ui.pages import PAGE_KEYS


def change_elsewhere(db, n: int = 0) -> None:
    """One batch of writes touching what every page shows (a participant, a setting)."""
    with db.changes.batched():
        create_participant(db, ParticipantData("Åsa", "Öberg", ("19800501-1237", "19850312-2387")[n]))
        set_value(db, "organisation_name", f"Campus {n}")


def counted(page):
    """Count the loads the page starts (each query() is one load in a worker)."""
    calls = []
    query = page.query

    def counting():
        calls.append(1)
        return query()

    page.query = counting
    return calls


@pytest.fixture
def make_page(qtbot, db):
    def make(key):
        page = importlib.import_module(f"ui.pages.{key}").Page(AppContext(db))
        qtbot.addWidget(page)
        page.resize(1200, 700)
        return page

    return make


@pytest.mark.parametrize("key", PAGE_KEYS)
def test_a_hidden_page_does_not_load_and_loads_once_when_shown(qtbot, db, make_page, key):
    page = make_page(key)
    loads = counted(page)
    change_elsewhere(db)
    qtbot.wait(50)  # let any queued signal arrive
    assert loads == [] and not page.fresh
    page.show()
    qtbot.waitExposed(page)
    settle(qtbot, page)
    assert loads == [1] and page.fresh


@pytest.mark.parametrize("key", PAGE_KEYS)
def test_a_change_made_elsewhere_refreshes_a_visible_page_once(qtbot, db, make_page, key):
    page = make_page(key)
    page.show()
    qtbot.waitExposed(page)
    settle(qtbot, page)
    shown = []
    page.loaded.connect(lambda: shown.append(1))
    with qtbot.waitSignal(page.loaded, timeout=5000):
        change_elsewhere(db)
    settle(qtbot, page)
    qtbot.wait(50)
    assert shown == [1]
    # the page's own change does not reload it
    with initiated_by(page):
        change_elsewhere(db, 1)
    qtbot.wait(50)
    assert shown == [1] and not page.loading
