"""Progress and cancelling of long work, one way for every service, builder and the window.

A long function takes `progress: Progress | None` and calls `progress(done, total)` now and then;
a False return means the user asked it to stop, and it raises `Cancelled` having written nothing
more (what it already committed stays). `ui/tasks.py` turns the callback into a progress bar with
a Cancel button and shows nothing for `Cancelled`.

A read nobody waits for any more (the window's page was hidden) is stopped from outside: inside
`stopped_by(event)` every SQL statement the thread runs first checks the event (app/db.py hooks
`stop_if_cancelled` before each statement) and raises `Cancelled` once it is set. On SQLite a
statement under way is interrupted too (`interrupt_if_cancelled`, SQLite's progress handler every
STOP_CHECK_STEPS virtual machine steps: a long read stops while it fetches its rows).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[int, int], "bool | None"]


class Cancelled(Exception):
    """The work stopped because the user cancelled it (not an error to show)."""


def keep_going(progress: Progress | None, done: int, total: int) -> bool:
    """Report progress; False once the user cancelled (None counts as carry on)."""
    return progress is None or progress(done, total) is not False


_stopping = threading.local()


@contextmanager
def stopped_by(event: threading.Event) -> Iterator[None]:
    """SQL statements run on this thread in the block raise Cancelled once `event` is set."""
    previous = getattr(_stopping, "event", None)
    _stopping.event = event
    try:
        yield
    finally:
        _stopping.event = previous


def cancelled_here() -> bool:
    """True inside a `stopped_by` block whose event is set."""
    event = getattr(_stopping, "event", None)
    return event is not None and event.is_set()


def stop_if_cancelled(*_statement: object) -> None:
    if cancelled_here():
        raise Cancelled()


STOP_CHECK_STEPS = 100_000


def interrupt_if_cancelled() -> int:
    """sqlite3's progress handler: non-zero interrupts the statement (sqlite3.OperationalError)."""
    return 1 if cancelled_here() else 0
