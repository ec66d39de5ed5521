"""What every page is handed: the database handle (to pass to services) and the change signal.
Pages receive this; nothing reaches for a global main window."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.changes import ChangeSet

if TYPE_CHECKING:  # not imported at start: the window shows before SQLAlchemy loads (ui/app.py)
    from app.db import Database
    from app.db_peek import StartFacts


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
            self.follow(db)

    def follow(self, db: Database) -> None:
        """Relay the changes of `db` (any thread may call this)."""
        stop = db.changes.listen(self._arrived.emit)
        self.destroyed.connect(lambda *_: stop())

    def _relay(self, changes: ChangeSet, initiator: object) -> None:
        ChangeBus.last_change = time.monotonic()
        self.changed.emit(changes, initiator)


class AppContext:
    """The database and the change bus of one window.

    `AppContext(db)` holds an open database. `AppContext.opening(facts, open_db)` is the window's
    before its database is open (ui/app.py): `facts` (app/db_peek.py) say what it shows meanwhile,
    `open_database()` opens it (the main window calls it in a worker after its first paint), and
    `db` is the open database, waiting for that open or making it."""

    def __init__(self, db: Database | None = None):
        self._db = db
        self._open_db: Callable[[], Database] | None = None
        self._opening = threading.Lock()
        self.facts: StartFacts | None = None
        self.bus = ChangeBus(db)
        # False while the main window waits for its first paint (and its database): pages shown
        # meanwhile load after it (ui/main_window.py), so that the window is on screen first
        self.on_screen = True

    @classmethod
    def opening(cls, facts: StartFacts, open_db: Callable[[], Database]) -> AppContext:
        ctx = cls()
        ctx.facts = facts
        ctx._open_db = open_db
        return ctx

    @property
    def db(self) -> Database:
        return self._db if self._db is not None else self.open_database()

    @property
    def is_open(self) -> bool:
        return self._db is not None

    @property
    def opened_db(self) -> Database | None:
        """The database when it has been opened (closing down disposes it), else None."""
        return self._db

    def open_database(self) -> Database:
        with self._opening:  # one open; a second caller waits for it
            if self._db is None:
                assert self._open_db is not None
                db = self._open_db()
                self.bus.follow(db)
                self._db = db
        return self._db
