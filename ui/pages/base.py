"""The page base class: what a page shows, loaded in a worker, refreshed when it matters.

A page names the tables it shows (`tables`), builds its load (`query()`, on the UI thread,
returning a function that runs in a worker with data only) and shows the result
(`show_data(data)`). After a write:

- a change the page started itself is left out (it already shows what it wrote);
- a change touching its tables refreshes it when it is visible (`apply_changes`, a full reload
  unless the page knows better), and only marks it stale when hidden: it reloads when shown.

A page that is hidden while it loads cancels the load (it stops at its next SQL statement, and
what it read is never shown: ui/tasks.py) and loads again when shown: a long read in a worker
holds the interpreter lock the UI thread needs while the user works on another page.

A page loads the first time it is shown (the first page once the window has been painted:
ui/main_window.py). `loaded` is emitted each time new data is on screen.
Its splitter positions and table column widths are kept in the window settings (per page) when
it is hidden and put back when it is first shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QHeaderView, QSplitter, QWidget

from app.changes import ChangeSet
from ui.context import AppContext
from ui.tasks import TaskHandle, run_read, show_error


class DataPage(QWidget):
    tables: ClassVar[frozenset[str]] = frozenset()
    loaded = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.fresh = False  # on screen is the database as of the last load (or a load is under way)
        self._loading: TaskHandle | None = None
        self._again = False
        self._due = False
        self._layout_restored = False
        ctx.bus.changed.connect(self._on_changes)

    # --- what a page provides -----------------------------------------------------------------

    def query(self) -> Callable[[], Any]:
        """Called on the UI thread; returns the work that loads the page's data in a worker."""
        raise NotImplementedError

    def show_data(self, data: Any) -> None:
        """Put loaded data on screen (UI thread)."""
        raise NotImplementedError

    def affected_by(self, changes: ChangeSet) -> bool:
        return changes.touches(self.tables)

    def apply_changes(self, changes: ChangeSet) -> None:
        """A change made elsewhere touched this visible page: reload (or something finer)."""
        self.refresh()

    # --- loading ------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """A load under way, or due once the window is painted."""
        return self._loading is not None or self._due

    def refresh(self) -> None:
        """Load again in a worker; a refresh asked for while one runs loads once more after it."""
        self.fresh = True
        self._due = False
        if self._loading is not None:
            self._again = True
            return
        self._loading = run_read(self, self.query(), self._loaded, self._failed)

    def _loaded(self, data: Any) -> None:
        self._loading = None
        if self._again:  # something changed while this load ran: what it read may be old
            self._again = False
            self.refresh()
            return
        self.show_data(data)
        self.loaded.emit()

    def _failed(self, exc: BaseException) -> None:
        self._loading = None
        self._again = False
        self.fresh = False
        show_error(self, exc)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if not self._layout_restored:
            self._layout_restored = True
            self._restore_layout()
        if not self.fresh:
            if self.ctx.on_screen:
                self.refresh()
            else:
                self._due = True  # the main window loads it after its first paint

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt name
        super().hideEvent(event)
        self._due = False
        if self._loading is not None:  # see the module's docstring
            self._loading.cancel()
            self._loading = None
            self._again = False
            self.fresh = False
        self._save_layout()

    # --- splitters and column widths, per page --------------------------------------------------

    def _layout_parts(self) -> list[tuple[str, QSplitter | QHeaderView]]:
        parts: list[tuple[str, QSplitter | QHeaderView]] = []
        for kind in (QSplitter, QHeaderView):
            for i, child in enumerate(self.findChildren(kind)):
                if isinstance(child, QHeaderView) and child.orientation().name != "Horizontal":
                    continue
                parts.append((f"{kind.__name__}-{child.objectName() or i}", child))
        return parts

    def _layout_key(self) -> str:
        return f"pages/{self.objectName() or type(self).__module__}"

    def _save_layout(self) -> None:
        from ui.main_window import window_settings

        settings = window_settings()
        for name, part in self._layout_parts():
            settings.setValue(f"{self._layout_key()}/{name}", part.saveState())

    def _restore_layout(self) -> None:
        from ui.main_window import window_settings

        settings = window_settings()
        for name, part in self._layout_parts():
            state = settings.value(f"{self._layout_key()}/{name}")
            if isinstance(state, QByteArray) and not state.isEmpty():
                part.restoreState(state)

    def _on_changes(self, changes: ChangeSet, initiator: object) -> None:
        if initiator is self or not self.affected_by(changes):
            return
        if self.isVisible():
            self.apply_changes(changes)
        else:
            self.fresh = False
