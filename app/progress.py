"""Progress and cancelling of long work, one way for every service, builder and the window.

A long function takes `progress: Progress | None` and calls `progress(done, total)` now and then;
a False return means the user asked it to stop, and it raises `Cancelled` having written nothing
more (what it already committed stays). `ui/tasks.py` turns the callback into a progress bar with
a Cancel button and shows nothing for `Cancelled`.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], "bool | None"]


class Cancelled(Exception):
    """The work stopped because the user cancelled it (not an error to show)."""


def keep_going(progress: Progress | None, done: int, total: int) -> bool:
    """Report progress; False once the user cancelled (None counts as carry on)."""
    return progress is None or progress(done, total) is not False
