"""The Sync page: "Sync now" (off the UI thread), guided set-up of the shared folder and key,
per-partner state, and three lists in tabs: the conflict list with "use the other value", the
duplicate certificates (two laptops issued a course offline; revoke one from there) and the
changes that could not be applied (parked); and the last report."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserError
from app.i18n import _, format_date, format_datetime, ngettext
from app.services.certificates import duplicate_certificates
from app.sync import setup_folder, sync
from app.sync.restore import last_restore_point, restore_before_last_sync
from app.sync.snapshot import inactive_partners
from app.sync.status import list_conflicts, overview, parked_changes, use_other_value
from ui.context import AppContext
from ui.pages.base import DataPage
from ui.pages.certificates import DuplicatePanel
from ui.tasks import TaskHandle, run_write
from ui.widgets import heading


# why a partner's change was parked (app/sync: SyncParked.reason); other reasons are shown as they are
def _local(value) -> str:
    """A stored UTC time in this computer's time zone."""
    if value is None:
        return ""

    return format_datetime(value.replace(tzinfo=UTC).astimezone().replace(tzinfo=None))


class Page(DataPage):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.folder: str = ""
        self.key_file: Path | None = None
        self.last_report = None
        self._note = ""  # what the last action said, shown instead of the last report
        layout = QVBoxLayout(self)
        self.heading = heading(self.title())
        layout.addWidget(self.heading)
        self.folder_label = QLabel()
        layout.addWidget(self.folder_label)
        buttons = QHBoxLayout()
        self.sync_button = QPushButton(_("Sync now"))
        self.choose_button = QPushButton(_("Choose shared folder…"))
        self.key_button = QPushButton(_("Import programme key…"))
        self.setup_button = QPushButton(_("Set up a new shared folder…"))
        self.undo_button = QPushButton(_("Undo last sync"))
        for b in (self.sync_button, self.choose_button, self.key_button, self.setup_button, self.undo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        # on a server, coordinators online share every change at once; its one sync agent
        # (`kursdesk sync`, a scheduled job) exchanges changes with the laptops (app/sync/agent.py)
        self.on_server = not ctx.db.is_sqlite
        self.server_note = QLabel(_("This window works on the central database: colleagues online see your changes at once. "
                                    "The server's sync agent (kursdesk sync, run as a scheduled job) exchanges them with the laptops through the shared folder; this window does not sync."))
        self.server_note.setObjectName("server_note")
        self.server_note.setWordWrap(True)
        self.server_note.setVisible(self.on_server)
        layout.addWidget(self.server_note)
        for b in (self.sync_button, self.choose_button, self.key_button, self.setup_button, self.undo_button):
            b.setEnabled(not self.on_server)
        layout.addWidget(QLabel(_("Partners")))
        self.partners = QTableWidget(0, 3)
        self.partners.setHorizontalHeaderLabels([_("Partner"), _("Last batch"), _("State")])
        self.partners.setMaximumHeight(130)
        self.partners.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.partners)
        # laptops away longer than sync.inactive_days: they no longer hold the folder's history back
        self.inactive_label = QLabel()
        self.inactive_label.setWordWrap(True)
        self.inactive_label.setVisible(False)
        layout.addWidget(self.inactive_label)
        # the three lists share one area (tabs with counts), so the page fits 1366×768
        self.lists = QTabWidget()
        # a little taller than the style's default, so that Å Ä Ö of an unselected tab keep their dots
        self.lists.tabBar().setStyleSheet("QTabBar::tab { min-height: 2.2em; }")
        conflicts_tab = QWidget()
        c = QVBoxLayout(conflicts_tab)
        self.conflicts = QTableWidget(0, 4)
        self.conflicts.setHorizontalHeaderLabels([_("Record"), _("Field"), _("Kept value"), _("Other value")])
        self.conflicts.horizontalHeader().setStretchLastSection(True)
        c.addWidget(self.conflicts, 1)
        self.other_button = QPushButton(_("Use the other value"))
        other_row = QHBoxLayout()
        other_row.addWidget(self.other_button)
        other_row.addStretch(1)
        c.addLayout(other_row)
        self.lists.addTab(conflicts_tab, _("Conflicts"))
        self.duplicates = DuplicatePanel(ctx)  # a revoke there reaches this page as a change
        self.lists.addTab(self.duplicates, _("Duplicate certificates"))
        self.parked = QTableWidget(0, 4)
        self.parked.setHorizontalHeaderLabels([_("Record"), _("Why"), _("From laptop"), _("When")])
        self.parked.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.parked.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.parked.verticalHeader().setVisible(False)
        self.parked.setWordWrap(False)
        header = self.parked.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.lists.addTab(self.parked, _("Changes that could not be applied"))
        layout.addWidget(self.lists, 1)
        layout.addWidget(QLabel(_("Last sync")))
        self.report_box = QPlainTextEdit()
        self.report_box.setReadOnly(True)
        self.report_box.setMaximumHeight(110)
        layout.addWidget(self.report_box)
        self._conflict_ids: list[str] = []
        self.sync_button.clicked.connect(self.sync_now)
        self.choose_button.clicked.connect(self.choose_folder)
        self.key_button.clicked.connect(self.choose_key)
        self.setup_button.clicked.connect(self.set_up)
        self.other_button.clicked.connect(self.use_other)
        self.undo_button.clicked.connect(self.undo_last_sync)

    def affected_by(self, changes) -> bool:
        # the sync bookkeeping (sync_*), certificates for the duplicates, settings for the folder
        return changes.all_tables or any(t.startswith("sync_") or t in ("certificates", "settings") for t in changes.tables)

    @staticmethod
    def title() -> str:
        return _("Sync")

    def query(self):
        db = self.ctx.db
        return lambda: (overview(db), list_conflicts(db), duplicate_certificates(db), parked_changes(db),
                        last_restore_point(db), inactive_partners(db))

    def show_data(self, data) -> None:
        info, conflicts, duplicates, parked, point, away = data
        self.folder = self.folder or info.folder
        self.folder_label.setText(_("Shared folder: {folder}").format(folder=self.folder or _("not chosen")))
        self.partners.setRowCount(len(info.partners))
        away_since = {p.device: p.last_seen for p in away}
        for row, p in enumerate(info.partners):
            state = p.status or (_("inactive, last synced {date}").format(date=format_date(away_since[p.device]))
                                 if p.device in away_since else _("up to date"))
            for col, text in enumerate((p.device[:8], str(p.seq), state)):
                self.partners.setItem(row, col, QTableWidgetItem(text))
        self.inactive_label.setVisible(bool(away))
        self.inactive_label.setText(ngettext(
            "Not synced for a long time, no longer holding back the shared folder's history (it starts again from a snapshot when it syncs): {laptops}",
            "Not synced for a long time, no longer holding back the shared folder's history (they start again from a snapshot when they sync): {laptops}",
            len(away)).format(laptops=", ".join(
                _("{device} (last synced {date})").format(device=p.device[:8], date=format_date(p.last_seen)) for p in away)))
        self._conflict_ids = [c.id for c in conflicts]
        self.conflicts.setRowCount(len(conflicts))
        for row, c in enumerate(conflicts):
            for col, text in enumerate((f"{c.table} {c.record_id[:8]}", c.field, str(c.kept_value), str(c.other_value))):
                self.conflicts.setItem(row, col, QTableWidgetItem(text))
        self.duplicates.show_groups(duplicates)
        self.parked.setRowCount(len(parked))
        for row, pc in enumerate(parked):
            why = f"{pc.reason_text}: {pc.detail}" if pc.detail else pc.reason_text
            cells = (f"{pc.table} {pc.record_id[:8]}", why,
                     _("{device}, batch {seq}").format(device=pc.device[:8], seq=pc.batch_seq), _local(pc.parked_at))
            for col, text in enumerate(cells):
                self.parked.setItem(row, col, QTableWidgetItem(text))
        counts = (len(conflicts), self.duplicates.count(), len(parked))
        names = (_("Conflicts"), _("Duplicate certificates"), _("Changes that could not be applied"))
        for i, (name, n) in enumerate(zip(names, counts)):
            self.lists.setTabText(i, f"{name} ({n})" if n else name)
        report = self.last_report
        if self._note:
            self.report_box.setPlainText(self._note)
        elif report is not None:
            lines = list(report.lines())
            if self.duplicates.count():
                lines.append(ngettext(
                    "{n} participant has two valid certificates of one course: see Duplicate certificates.",
                    "{n} participants have two valid certificates of one course: see Duplicate certificates.",
                    self.duplicates.count()).format(n=self.duplicates.count()))
            self.report_box.setPlainText("\n".join(lines))
        elif info.last_report:
            self.report_box.setPlainText(_("{n} batches published in the last sync.").format(n=len(info.last_report.get("published", []))))
        self.undo_button.setEnabled(point is not None and not point.restored and not self.on_server)

    # --- actions ------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Choose shared folder…"))
        if folder:
            self.folder = folder
            self.refresh()

    def choose_key(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, _("Import programme key…"))
        if path:
            self.key_file = Path(path)

    def set_up(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, _("Set up a new shared folder…"))
        if not folder:
            return
        key_out, _filter = QFileDialog.getSaveFileName(self, _("Save the new programme key"))
        if not key_out:
            return
        try:
            setup_folder(Path(folder), Path(key_out))
        except UserError as exc:
            QMessageBox.warning(self, self.title(), str(exc))
            return
        self.folder = folder
        QMessageBox.information(self, self.title(), _("The shared folder is set up. Hand the key file to your colleagues (not through the shared folder)."))
        self.refresh()

    def sync_now(self, confirm: bool = False) -> TaskHandle | None:
        if self.on_server:
            QMessageBox.information(self, self.title(), self.server_note.text())
            return None
        if not self.folder:
            QMessageBox.warning(self, self.title(), _("Choose the shared folder first."))
            return None
        folder, key, db = Path(self.folder), self.key_file, self.ctx.db
        return run_write(self, db, lambda progress: sync(db, folder, key_file=key, progress=progress, confirm_mass_delete=confirm),
                  self._done, title=_("Syncing"))

    def _done(self, report) -> None:
        self.key_file = None
        self.last_report = report
        self._note = ""
        self.refresh()
        if report.waiting_confirmation:
            answer = QMessageBox.question(self, self.title(), "\n".join(report.waiting_confirmation + [_("Apply these deletions?")]))
            if answer == QMessageBox.StandardButton.Yes:
                self.sync_now(confirm=True)

    def use_other(self) -> None:
        row = self.conflicts.currentRow()
        if row < 0 or row >= len(self._conflict_ids):
            return
        try:
            use_other_value(self.ctx.db, self._conflict_ids[row])
        except UserError as exc:
            QMessageBox.warning(self, self.title(), str(exc))
            return
        self.refresh()

    def undo_last_sync(self) -> None:
        """Put back what the last sync imported (app/sync/restore.py), after a confirmation."""
        point = last_restore_point(self.ctx.db)
        if point is None or point.restored:
            return
        if point.full_copy:
            question = _("Put back the copy of the database taken before the last sync ({n} changes imported)? Only this laptop goes back; the next sync imports those changes again.").format(n=point.changes)
        else:
            question = _("Undo the {n} changes the last sync imported? The earlier values are put back as your own changes and reach the other laptops at the next sync.").format(n=point.changes)
        if QMessageBox.question(self, self.title(), question) != QMessageBox.StandardButton.Yes:
            return
        try:
            result = restore_before_last_sync(self.ctx.db)
        except UserError as exc:
            QMessageBox.warning(self, self.title(), str(exc))
            return
        if result.full_copy:
            message = _("The last sync is undone: the database is back to its state before that sync.")
        else:
            message = _("The last sync is undone: {records} records put back, {skipped} fields kept because they were edited after the sync.").format(records=result.records, skipped=result.skipped)
        self.last_report = None
        self._note = message
        self.report_box.setPlainText(message)
        self.refresh()
        QMessageBox.information(self, self.title(), message)
