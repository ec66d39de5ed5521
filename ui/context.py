"""What every page is handed: the database handle (to pass to services) and the change signal.
Pages receive this; nothing reaches for a global main window."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.changes import ChangeSet
from app.db import Database


class ChangeBus(QObject):
    """`changed(changes, initiator)`: after every committed write of the database, on the UI
    thread, with the ChangeSet (app/changes.py) and who started it (a page, or None). Nobody
    announces anything: the write path reports what it changed."""

    changed = Signal(object, object)
    _arrived = Signal(object, object)  # from the committing thread; relayed on the UI thread
    last_change = float("-inf")  # time.monotonic() of the last change relayed (ui/collector.py)

    def __init__(self, db: Database | None = None):
        super().__init__()
        self._arrived.connect(self._relay)  # queued when emitted from a worker thread
        if db is not None:
            stop = db.changes.listen(self._arrived.emit)
            self.destroyed.connect(lambda *_: stop())

    def _relay(self, changes: ChangeSet, initiator: object) -> None:
        ChangeBus.last_change = time.monotonic()
        self.changed.emit(changes, initiator)


@dataclass
class AppContext:
    db: Database
    bus: ChangeBus = field(init=False)
    # False while the main window waits for its first paint: pages shown meanwhile load after it
    # (ui/main_window.py), so that the window is on screen before any data is read
    on_screen: bool = True

    def __post_init__(self) -> None:
        self.bus = ChangeBus(self.db)
