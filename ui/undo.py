"""Undo for destructive actions. Deletions are soft (a tombstone), so undoing one is a call to
the service's restore function. One stack per application context; the main window shows the
last action with an Undo button in the status bar and binds Ctrl+Z.

    undo_stack(ctx).push(_("Company {name} deleted").format(name=...),
                         undo=lambda: restore_company(ctx.db, id))

What an undo restores reaches the pages as any write does (its ChangeSet on `ctx.bus.changed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ui.context import AppContext

MAX_UNDO = 50


@dataclass(frozen=True)
class UndoEntry:
    text: str  # translated description of what was done ("Company X deleted")
    undo: Callable[[], object]


class UndoStack(QObject):
    changed = Signal()
    undone = Signal(str)  # the text of the entry that was undone

    def __init__(self, ctx: AppContext, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._entries: list[UndoEntry] = []

    def push(self, text: str, undo: Callable[[], object]) -> None:
        self._entries.append(UndoEntry(text, undo))
        del self._entries[:-MAX_UNDO]
        self.changed.emit()

    def can_undo(self) -> bool:
        return bool(self._entries)

    def undo_text(self) -> str:
        return self._entries[-1].text if self._entries else ""

    def undo(self) -> bool:
        """Undo the last action. A UserError from the service propagates (the caller shows it);
        the entry is then dropped, since it cannot be undone."""
        if not self._entries:
            return False
        entry = self._entries.pop()
        try:
            entry.undo()
        finally:
            self.changed.emit()
        self.undone.emit(entry.text)
        return True

    def clear(self) -> None:
        self._entries.clear()
        self.changed.emit()


def undo_stack(ctx: AppContext) -> UndoStack:
    """The context's undo stack (created on first use; AppContext has no field for it)."""
    stack = getattr(ctx, "_undo_stack", None)
    if stack is None:
        stack = UndoStack(ctx)
        object.__setattr__(ctx, "_undo_stack", stack)
    return stack
