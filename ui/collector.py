"""Garbage collection in the window process: on the UI thread, now and then (as Anki does).

Python's automatic cycle collector runs on whichever thread happens to allocate. When a worker
builds a large result (the Reports page's month status on the large programme: hundreds of
thousands of objects), a full collection starts in that worker and holds every thread, the UI
thread included, for as long as it walks the heap (0.2–0.5 s there: the slowest attendance mark);
and a collection in a worker may delete Qt objects off the UI thread. So the window turns the
automatic collector off, freezes what start-up built (modules, classes, the window: never garbage,
no longer walked), and collects on the UI thread from a timer, when the user is not at work: no
background task running and no write in the last QUIET_S seconds (a full collection with every
page loaded takes some 50-100 ms). Reference counting still frees everything else at once; only
reference cycles wait for the timer.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

COLLECT_EVERY_MS = 60_000
QUIET_S = 10.0  # a write this recent means the user is at work: the collection waits
RETRY_MS = 5_000


class Collector(QObject):
    """Owns the process's collection policy while it lives; `stop()` gives it back."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = COLLECT_EVERY_MS,
                 busy: Callable[[], bool] | None = None):
        super().__init__(parent)
        gc.disable()
        self.interval_ms = interval_ms
        self.busy = busy or _user_at_work
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._due)
        self.timer.start(interval_ms)

    def _due(self) -> None:
        if self.busy():
            self.timer.start(min(RETRY_MS, self.interval_ms))
            return
        self.collect()
        self.timer.start(self.interval_ms)

    def freeze_start_up(self) -> None:
        """After the window is shown: what exists now lives as long as the process (the few
        cycles start-up left behind stay too; collecting them first would delay the window)."""
        gc.freeze()

    def collect(self) -> int:
        return gc.collect()

    def stop(self) -> None:
        self.timer.stop()
        gc.unfreeze()
        gc.enable()


def _user_at_work() -> bool:
    from ui.context import ChangeBus
    from ui.tasks import running_tasks

    return bool(running_tasks()) or time.monotonic() - ChangeBus.last_change < QUIET_S


_collector: Collector | None = None


def take_over(parent: QObject) -> Collector:
    """The window's collection policy for this process (once; `parent` is the application)."""
    global _collector
    if _collector is None:
        _collector = Collector(parent)
        _collector.destroyed.connect(_forget)
    return _collector


def _forget(*_args: object) -> None:
    global _collector
    _collector = None
