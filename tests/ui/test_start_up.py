"""Start-up: `kursdesk` opens its database with sync capture, the window reads nothing before its
first paint, and reference cycles are collected on the UI thread only (ui/collector.py)."""

from __future__ import annotations

import gc
import shutil
import weakref

import pytest
from PySide6.QtWidgets import QApplication

from ui import collector
from ui.context import AppContext
from ui.launch import open_window
from ui.main_window import MainWindow


class _Cycle:
    def __init__(self) -> None:
        self.me = self


class _Shown(Exception):
    """Stops run() where the window is on screen, before it enters the event loop (a test
    process must not: Qt stops delivering the workers' results once a loop has quit)."""


def test_kursdesk_opens_the_window_on_a_captured_database_collecting_on_the_ui_thread(qtbot, tmp_path, migrated_template):
    path = tmp_path / "kursdesk.db"
    shutil.copyfile(migrated_template, path)
    seen = {}

    def shown() -> None:
        window = MainWindow.current
        qtbot.addWidget(window)
        seen["capture"] = getattr(window.ctx.db, "_sync_capture_installed", False)
        seen["automatic gc"] = gc.isenabled()
        seen["title"] = window.windowTitle()
        raise _Shown

    try:
        with pytest.raises(_Shown):
            open_window(db_path=str(path), lang="en", on_shown=shown)
    finally:
        collector.take_over(QApplication.instance()).stop()
        MainWindow.current = None
    assert seen == {"capture": True, "automatic gc": False, "title": "Kursdesk"}
    assert gc.isenabled()


def test_the_collector_frees_cycles_from_its_timer_and_gives_collection_back(qtbot):
    owner = collector.Collector(interval_ms=10, busy=lambda: False)
    try:
        assert not gc.isenabled()
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        del cycle
        assert gone() is not None  # no automatic collection: it waits for the timer
        qtbot.waitUntil(lambda: gone() is None, timeout=2000)
    finally:
        owner.stop()
    assert gc.isenabled()


def test_the_window_reads_nothing_before_its_first_paint(qtbot, db, monkeypatch):
    window = MainWindow(AppContext(db=db))
    qtbot.addWidget(window)
    overview = window.pages["overview"]
    queries = []
    real = overview.query
    monkeypatch.setattr(overview, "query", lambda: queries.append(1) or real())
    window.show()  # the pages get their show events here, before anything is painted
    assert queries == [] and overview.loading  # due, not started
    with qtbot.waitSignal(overview.loaded, timeout=10_000):
        qtbot.waitExposed(window)
    assert queries and overview.fresh and not overview.loading
    MainWindow.current = None


def test_the_collector_waits_while_the_user_is_at_work(qtbot):
    at_work = [True]
    owner = collector.Collector(interval_ms=10, busy=lambda: at_work[0])
    try:
        cycle = _Cycle()
        gone = weakref.ref(cycle)
        del cycle
        qtbot.wait(100)
        assert gone() is not None  # busy: postponed
        at_work[0] = False
        qtbot.waitUntil(lambda: gone() is None, timeout=2000)
    finally:
        owner.stop()


def test_a_write_just_made_counts_as_the_user_at_work(qtbot, db):
    from app.services.settings import set_value

    ctx = AppContext(db=db)  # its bus relays the change on the UI thread (kept: a window holds it)
    set_value(db, "window_test", "1")
    assert collector._user_at_work() and ctx.bus is not None
