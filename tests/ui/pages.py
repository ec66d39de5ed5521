"""Helpers for page tests: pages load in a worker, so a test waits for what is on screen."""

from __future__ import annotations


def settle(qtbot, page, timeout: int = 5000) -> None:
    """Wait until the page has no load under way (the change signal may have started one)."""
    qtbot.waitUntil(lambda: not page.loading, timeout=timeout)


def load(qtbot, page, timeout: int = 5000) -> None:
    """Load the page again and wait until the data is on screen."""
    page.refresh()
    settle(qtbot, page, timeout)
