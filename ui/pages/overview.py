"""The overview (first page, Ctrl+1): what is due, each line opening the place where it is done.

Sessions of the next 7 days (with "Print all sign-in sheets"), past sessions without
attendance, finished courses with eligible participants not yet certified, originals missing
for past months, the next SCB deadline, the sync state with duplicate certificates and changes
that could not be applied. The data comes from app/services/overview.py in one read.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.changes import ChangeSet
from app.i18n import _, format_date, format_datetime, ngettext
from ui.context import AppContext
from ui.pages.base import DataPage
from ui.widgets import heading

if TYPE_CHECKING:  # imported when the page loads: the window shows before the services load
    from app.services import overview as service

TARGET_ROLE = Qt.ItemDataRole.UserRole + 1  # (page key, course id or "") a line opens


class Page(DataPage):
    # which page (and course) a line opens; the main window shows it
    open_requested = Signal(str, str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, today: date | None = None):
        super().__init__(ctx, parent)
        self.today = today
        self.data: service.Overview | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading(self.title()))
        self.tree = QTreeWidget()
        self.tree.setObjectName("overview")
        self.tree.setHeaderHidden(True)
        self.tree.setAccessibleName(_("What is due"))
        self.tree.setUniformRowHeights(True)
        self.tree.itemActivated.connect(self._activated)
        # until the first load is on screen (the window shows before its database opens: ui/app.py)
        self.tree.addTopLevelItem(QTreeWidgetItem([_("Loading…")]))
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        self.print_button = QPushButton(_("Print all sign-in sheets…"))
        self.print_button.setObjectName("print_all_sheets")
        self.print_button.setToolTip(_("The sign-in sheets of every session in the next 7 days, in one file"))
        self.print_button.clicked.connect(self.print_sheets)
        self.print_button.setEnabled(False)  # until the sessions of the next 7 days are known
        self.open_button = QPushButton(_("Open"))
        self.open_button.setToolTip(_("Open the place where this is done (Enter)"))
        self.open_button.clicked.connect(lambda: self._activated(self.tree.currentItem()))
        row.addWidget(self.print_button)
        row.addStretch(1)
        row.addWidget(self.open_button)
        layout.addLayout(row)

    @staticmethod
    def title() -> str:
        return _("Overview")

    # --- loading ------------------------------------------------------------------------------

    def affected_by(self, changes: ChangeSet) -> bool:
        return bool(changes)  # everything due is counted from nearly every table

    def query(self):
        from app.services.overview import due

        db, today = self.ctx.db, self.today
        return lambda: due(db, today)

    def show_data(self, data: service.Overview) -> None:
        self.data = data
        self.tree.clear()
        self._section(
            ngettext("{n} session in the next 7 days", "{n} sessions in the next 7 days", len(data.upcoming)).format(n=len(data.upcoming)),
            [(self._session_text(s), ("attendance", s.course_id)) for s in data.upcoming],
        )
        self._section(
            ngettext("{n} past session without attendance (last three months)",
                     "{n} past sessions without attendance (last three months)", data.unmarked_total).format(n=data.unmarked_total),
            [(self._session_text(s), ("attendance", s.course_id)) for s in data.unmarked],
        )
        self._section(
            ngettext("{n} course finished in the last three months with eligible participants not yet certified",
                     "{n} courses finished in the last three months with eligible participants not yet certified",
                     len(data.uncertified)).format(n=len(data.uncertified)),
            [(_("{code} {title}: ended {date}, {n} eligible without a certificate").format(
                code=c.code, title=c.title, date=format_date(c.last_date), n=c.eligible_without_certificate),
              ("certificates", c.course_id)) for c in data.uncertified],
        )
        self._section(
            _("Signed originals missing") if data.originals else _("No signed originals missing for the last three months"),
            [(ngettext("{month}: {n} original missing", "{month}: {n} originals missing", o.missing).format(month=o.month, n=o.missing),
              ("reports", "")) for o in data.originals],
        )
        if data.scb_deadline is not None:
            self._line(_("Next SCB report: {month}, due by {date}").format(month=data.scb_month, date=format_date(data.scb_deadline)),
                       ("reports", ""))
        sync = data.sync
        if sync is not None:
            if not sync.set_up:
                state = _("Sync: not set up")
            else:
                state = _("Sync: {partners} partners · {conflicts} conflicts · {pending} changes not yet shared").format(
                    partners=sync.partners, conflicts=sync.open_conflicts, pending=sync.pending_changes)
                if sync.last_sync is not None:
                    local = sync.last_sync.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)
                    state += " · " + _("last sync {when}").format(when=format_datetime(local))
            self._line(state, ("sync", ""))
            if sync.duplicates:
                self._line(ngettext("{n} participant has two valid certificates of one course",
                                    "{n} participants have two valid certificates of one course", sync.duplicates).format(n=sync.duplicates),
                           ("sync", ""))
            if sync.parked:
                self._line(ngettext("{n} change could not be applied", "{n} changes could not be applied", sync.parked).format(n=sync.parked),
                           ("sync", ""))
        self.print_button.setEnabled(bool(data.upcoming))
        first = self.tree.topLevelItem(0)
        if first is not None and self.tree.currentItem() is None:
            self.tree.setCurrentItem(first)

    def _session_text(self, s: service.SessionDue) -> str:
        return _("{date} {start}–{end}: {code} {title} ({n} participants)").format(
            date=format_date(s.date), start=s.start, end=s.end, code=s.code, title=s.title, n=s.participants)

    def _section(self, title: str, lines: list[tuple[str, tuple[str, str]]]) -> None:
        item = QTreeWidgetItem([title])
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        if lines:
            item.setData(0, TARGET_ROLE, lines[0][1][:1] + ("",))
        self.tree.addTopLevelItem(item)
        for text, target in lines:
            child = QTreeWidgetItem([text])
            child.setData(0, TARGET_ROLE, target)
            item.addChild(child)
        item.setExpanded(True)

    def _line(self, text: str, target: tuple[str, str]) -> None:
        item = QTreeWidgetItem([text])
        item.setData(0, TARGET_ROLE, target)
        self.tree.addTopLevelItem(item)

    def _activated(self, item: QTreeWidgetItem | None, _column: int = 0) -> None:
        target = item.data(0, TARGET_ROLE) if item is not None else None
        if target:
            self.open_requested.emit(target[0], target[1])

    # --- sign-in sheets -----------------------------------------------------------------------

    def print_sheets(self) -> None:
        """The sheets of the coming sessions in one PDF, written in the background, then printed."""
        from ui import previews
        from ui.pdf import print_pdf
        from ui.tasks import run_task

        if self.data is None or not self.data.upcoming:
            return
        from app.services.signin_sheets import write_signin_sheets

        db = self.ctx.db
        sessions = [(s.course_id, s.session_id) for s in self.data.upcoming]
        out = previews.folder() / (_("sign-in-sheets") + f"-{self.data.today.isoformat()}.pdf")
        run_task(self, lambda progress: write_signin_sheets(db, sessions, out, progress=progress),
                 lambda path: print_pdf(path, self), title=_("Writing sign-in sheets"))
