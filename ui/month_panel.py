"""The month close on the Reports page (issue 13): close the month, the control report, and the
deadlines of every month of the project (state, SCB's due date, originals received / missing),
with the differences of a month changed after its close. `confirm_closed_change` is the question
every form asks before saving a change that alters a closed month."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserError
from app.i18n import N_, _, format_date, format_datetime
from app.services import month_close
from app.services.control_report import control_report
from ui.context import AppContext
from ui.tasks import TaskHandle, run_read, run_task


def confirm_closed_change(parent: QWidget, impact: month_close.Impact) -> bool:
    """True when the change may be saved: it alters no closed month, or the user says so after
    reading which months are closed and which must be sent to SCB again."""
    if not impact:
        return True
    answer = QMessageBox.question(
        parent, "Kursdesk", impact.message() + "\n\n" + _("Save the change anyway?"),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


STATE_NAMES = {month_close.OPEN: N_("Open (not sent)"), month_close.CLOSED: N_("Closed"), month_close.CHANGED: N_("Changed after close")}
DEADLINE_COLUMNS = (N_("Month"), N_("State"), N_("SCB due"), N_("Originals received"), N_("Originals missing"), N_("Send to SCB"))


class DeadlinesModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[month_close.MonthStatus] = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(DEADLINE_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(DEADLINE_COLUMNS[section])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        st = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                st.month,
                _(STATE_NAMES[st.state]),
                format_date(st.due),
                str(st.originals_received),
                str(st.originals_missing),
                _("again") if st.resend else "",
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and st.closed_at is not None:
            return _("Closed {when} by {user} (version {n})").format(when=format_datetime(month_close.local_time(st.closed_at)), user=st.closed_by or "?", n=st.versions)
        if role == Qt.ItemDataRole.ForegroundRole and (st.state == month_close.CHANGED or st.overdue):
            return QBrush(QColor("#b00020"))
        return None


class MonthPanel(QGroupBox):
    """Close the page's month, check it, and follow every month's deadline."""

    def __init__(self, ctx: AppContext, month_key: Callable[[], str], parent: QWidget | None = None):
        super().__init__(_("Closing the month and deadlines"), parent)
        self.ctx = ctx
        self.month_key = month_key
        self.statuses: dict[str, month_close.MonthStatus] = {}
        self._stale = True
        self._reading: TaskHandle | None = None
        layout = QHBoxLayout(self)

        left = QVBoxLayout()
        row = QHBoxLayout()
        self.state_label = QLabel()
        self.state_label.setObjectName("month_state")
        self.state_label.setWordWrap(True)
        self.close_button = QPushButton(_("Close the month…"))
        self.close_button.setObjectName("close_month")
        self.close_button.setToolTip(_("Writes the summary and the time reports into a folder and records what was sent."))
        self.close_button.clicked.connect(self.close_month)
        self.check_button = QPushButton(_("Control report"))
        self.check_button.setObjectName("control_report")
        self.check_button.clicked.connect(self.run_check)
        row.addWidget(self.state_label, 1)
        row.addWidget(self.check_button)
        row.addWidget(self.close_button)
        left.addLayout(row)
        self.deadlines = DeadlinesModel(self)
        self.deadlines_view = QTableView()
        self.deadlines_view.setObjectName("deadlines")
        self.deadlines_view.setModel(self.deadlines)
        self.deadlines_view.verticalHeader().hide()
        self.deadlines_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.deadlines_view.horizontalHeader().setStretchLastSection(True)
        left.addWidget(self.deadlines_view)
        layout.addLayout(left, 3)

        self.findings = QListWidget()
        self.findings.setObjectName("findings")
        self.findings.setWordWrap(True)
        layout.addWidget(self.findings, 2)

    # --- loading ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Every month's state, worked out again (off the UI thread): now when the panel is shown,
        else when it is shown next (it reads every mark of the project)."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        if self._reading is not None:  # the one under way started before whatever asked again
            self._reading.cancel()
        db = self.ctx.db
        self._reading = run_read(self, lambda: month_close.month_status(db), self._loaded, on_hidden=self._hidden)

    def _hidden(self) -> None:
        """Hidden while it read: read again when shown (ui/tasks.py run_read)."""
        self._reading = None
        self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _loaded(self, rows) -> None:
        self._reading = None
        self.statuses = {st.month: st for st in rows}
        self.deadlines.set_rows(rows)
        self.show_month()

    def show_month(self) -> None:
        """The state and the differences of the page's month."""
        month = self.month_key()
        st = self.statuses.get(month)
        self.findings.clear()
        if st is None or st.state == month_close.OPEN:
            self.state_label.setText(_("{month} is open.").format(month=month))
            return
        closed = _("{month} was closed {when} by {user}.").format(month=month, when=format_datetime(month_close.local_time(st.closed_at)), user=st.closed_by or "?")
        if st.state == month_close.CLOSED:
            self.state_label.setText(closed)
            return
        resend = ", ".join(month_close.months_to_resend(self.statuses.values()))
        self.state_label.setText(closed + " " + _("It has changed since; send again to SCB: {months}.").format(months=resend))
        for d in st.differences:
            self.findings.addItem(_("{who}: {before} h when closed, {after} h now").format(
                who=f"{d.masked_personal_number} {d.name}".strip(), before=month_close.hours_text(d.before), after=month_close.hours_text(d.after)))

    # --- actions ----------------------------------------------------------------------

    def run_check(self) -> None:
        db, month = self.ctx.db, self.month_key()
        run_task(self, lambda _p: control_report(db, month), self._checked, show_progress=False)

    def _checked(self, findings) -> None:
        self.findings.clear()
        if not findings:
            self.findings.addItem(_("No findings for {month}.").format(month=self.month_key()))
        for f in findings:
            self.findings.addItem(f.text)

    def ask_folder(self) -> Path | None:
        folder = QFileDialog.getExistingDirectory(self, _("Folder for the files sent for {month}").format(month=self.month_key()))
        return Path(folder) if folder else None

    def close_month(self) -> None:
        month = self.month_key()
        try:
            month_close.check_closable(month)  # before asking for a folder
        except UserError as exc:
            QMessageBox.warning(self, "Kursdesk", str(exc))
            return
        folder = self.ask_folder()
        if folder is None:
            return
        db = self.ctx.db
        run_task(
            self,
            lambda _p: month_close.write_and_close(db, month, folder),
            self._closed,
            title=_("Closing {month}").format(month=month),
            cancellable=False,
        )

    def _closed(self, version: month_close.CloseVersion) -> None:
        QMessageBox.information(self, "Kursdesk", _("{month} closed (version {n}); the files are in the folder you chose.").format(
            month=version.month, n=version.version))
        self.refresh()
