"""What every page is handed: the database handle (to pass to services), the change bus and
the task runner. Pages receive this; nothing reaches for a global main window."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.db import Database


class ChangeBus(QObject):
    """Services' callers announce what changed: kind ('company', 'participant', 'course',
    'session', 'enrollment', 'attendance', 'certificate', 'settings', 'sync') and the ids.
    Pages refresh only what they show."""

    changed = Signal(str, list)

    def announce(self, kind: str, ids: list[str] | None = None) -> None:
        self.changed.emit(kind, list(ids or []))


@dataclass
class AppContext:
    db: Database
    bus: ChangeBus = field(default_factory=ChangeBus)
