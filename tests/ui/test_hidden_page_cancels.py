"""A page hidden while it loads cancels the load (it stops at its next SQL statement, or inside a
long one on SQLite) and shows the data, read again, when it is shown again (ui/pages/base.py,
ui/tasks.py); a panel's read with on_hidden does the same (the month panel, the GDPR count)."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget
from sqlalchemy import text

from app.progress import Cancelled
from app.services.settings import get_value, set_value
from tests.app.test_stopped_reads import (
    ENDLESS,  # one statement that runs until it is interrupted
    entered,
)
from ui.context import AppContext
from ui.pages.base import DataPage
from ui.tasks import run_read, running_tasks


class SlowPage(DataPage):
    """Shows one setting; its first load keeps reading until it is stopped (at most 60 s)."""

    tables = frozenset({"settings"})

    def __init__(self, ctx: AppContext):
        super().__init__(ctx)
        self.started = threading.Event()
        self.endings: list[str] = []  # how each load ended, in the worker
        self.shown: list[str] = []
        self.slow = True

    def query(self):
        db, slow, started, endings = self.ctx.db, self.slow, self.started, self.endings

        def load() -> str:
            try:
                with db.read() as s:
                    for _ in range(600_000 if slow else 0):  # a statement at a time, as a long read does
                        started.set()
                        s.execute(text("SELECT value FROM settings WHERE key = 'shown'")).all()
                value = get_value(db, "shown")
            except Cancelled:
                endings.append("cancelled")
                raise
            endings.append("finished")
            return value

        return load

    def show_data(self, data: str) -> None:
        self.shown.append(data)


def test_a_page_hidden_while_it_loads_stops_the_load_and_loads_again_when_shown(qtbot, db):
    set_value(db, "shown", "before")
    page = SlowPage(AppContext(db=db))
    qtbot.addWidget(page)
    page.show()
    assert page.started.wait(10)  # the first load is under way
    page.hide()
    assert not page.fresh and not page.loading
    qtbot.waitUntil(lambda: running_tasks() == 0, timeout=10_000)
    assert page.endings == ["cancelled"] and page.shown == []  # stopped in the worker, nothing shown
    set_value(db, "shown", "after")  # a change while it is hidden
    page.slow = False
    with qtbot.waitSignal(page.loaded, timeout=10_000):
        page.show()
    assert page.endings == ["cancelled", "finished"]
    assert page.shown == ["after"] and page.fresh


def test_a_read_with_on_hidden_is_interrupted_inside_a_long_statement_when_its_widget_hides(qtbot, db):
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    hidden, done, failed = [], [], []

    def endless() -> int:
        with db.read() as s:
            return s.execute(text(ENDLESS)).scalar_one()

    running = entered(db, ENDLESS)
    handle = run_read(widget, endless, done.append, failed.append, on_hidden=lambda: hidden.append(1))
    assert running.wait(10)  # inside the statement
    widget.hide()
    assert hidden == [1] and handle.cancelled
    qtbot.waitUntil(lambda: handle.done, timeout=10_000)  # SQLite's progress handler stopped it
    assert done == [] and failed == []  # neither result nor failure of a cancelled read is handed on
    assert isinstance(handle.error, Cancelled)


def test_a_read_whose_widget_stays_visible_is_not_cancelled(qtbot, db):
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    set_value(db, "shown", "kept")
    done, hidden = [], []
    handle = run_read(widget, lambda: get_value(db, "shown"), done.append, on_hidden=lambda: hidden.append(1))
    qtbot.waitUntil(lambda: handle.done, timeout=10_000)
    widget.hide()  # after the read: nothing to cancel
    assert done == ["kept"] and hidden == []
