"""Hybrid logical clock: (wall ms, counter, device id), as one sortable string.

`"0001732612345678-00000-<device uuid>"`: comparing two stamps as strings orders them by wall
time, then counter, then device id, so every laptop picks the same winner. The clock never goes
back when the wall clock does, and it moves past every stamp it imports (`observe`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WALL_DIGITS = 16
COUNTER_DIGITS = 5


def wall_ms() -> int:
    return int(time.time() * 1000)


def make(ms: int, counter: int, device: str) -> str:
    return f"{ms:0{WALL_DIGITS}d}-{counter:0{COUNTER_DIGITS}d}-{device}"


def parse(stamp: str) -> tuple[int, int, str]:
    ms, counter, device = stamp.split("-", 2)
    return int(ms), int(counter), device


def stamp_ms(stamp: str) -> int:
    return int(stamp[:WALL_DIGITS]) if stamp else 0


class HLC:
    """A hybrid logical clock for one device. Thread-safe; `wall` is injectable for tests."""

    def __init__(self, device: str, last: str = "", wall: Callable[[], int] = wall_ms):
        self.device = device
        self.wall = wall
        self._lock = threading.Lock()
        self._ms, self._counter = 0, 0
        if last:
            self._ms, self._counter, _ = parse(last)

    @property
    def last(self) -> str:
        return make(self._ms, self._counter, self.device) if self._ms else ""

    def now(self) -> str:
        """A new stamp, greater than every stamp made or observed before."""
        with self._lock:
            wall = self.wall()
            if wall > self._ms:
                self._ms, self._counter = wall, 0
            else:
                self._counter += 1
                if self._counter >= 10**COUNTER_DIGITS:  # counter overflow: borrow a millisecond
                    self._ms, self._counter = self._ms + 1, 0
            return make(self._ms, self._counter, self.device)

    def observe(self, stamp: str) -> None:
        """Move past a stamp seen in an imported change."""
        if not stamp:
            return
        ms, counter, _ = parse(stamp)
        with self._lock:
            if (ms, counter) > (self._ms, self._counter):
                self._ms, self._counter = ms, counter
