"""The Reports page: the month's time reports (PDF) and summary (.xlsx), the checklist of signed
originals received, statistics for a period with export, and the participant-list import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QDate, QModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.changes import initiated_by
from app.i18n import N_, _, format_decimal
from app.services import originals, reports
from app.services.month_close import hours_text
from ui.context import AppContext
from ui.month_panel import MonthPanel
from ui.pages.base import DataPage
from ui.tasks import run_read, run_task
from ui.widgets import heading

ORIGINAL_COLUMNS = (N_("Received"), N_("Participant"), N_("Personal identity number"), N_("Employer"), N_("Hours"), N_("Received on"))


class OriginalsModel(QAbstractTableModel):
    """The month's participants with a time report; the first column ticks the original off."""

    def __init__(self, page: Page):
        super().__init__(page)
        self.page = page
        self.rows: list[originals.OriginalStatus] = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(ORIGINAL_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(ORIGINAL_COLUMNS[section])
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() == 0 else base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            return Qt.CheckState.Checked if row.received else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                "",
                row.full_name,
                row.masked_personal_number,
                row.company_name,
                _("{hours} (signed {signed})").format(hours=hours_text(row.hours), signed=hours_text(row.signed_hours))
                if row.signed_hours_differ else hours_text(row.hours),
                row.received_on.isoformat() if row.received_on else "",
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and row.signed_hours_differ:
            return _("The signed hours differ: {signed} h on the signed original, {hours} h now.").format(
                signed=hours_text(row.signed_hours), hours=hours_text(row.hours))
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):  # noqa: N802
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        self.page.set_received(self.rows[index.row()].participant_id, checked)
        return True


class StatisticsModel(QAbstractTableModel):
    HEADER = (N_("Grouped by"), N_("Group"), N_("Participants"), N_("Hours"))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, str, int, object]] = []

    def set_stats(self, stats: reports.Statistics | None) -> None:
        self.beginResetModel()
        self.rows = []
        if stats is not None:
            for attr, title in reports.STAT_DIMENSIONS:
                for r in getattr(stats, attr):
                    self.rows.append((_(title), r.label, r.participants, r.hours))
            self.rows.append((_("Total"), "", stats.participants, stats.hours))
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 4

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(self.HEADER[section])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        dim, label, n, hours = self.rows[index.row()]
        return (dim, label, str(n), format_decimal(hours, 2))[index.column()]


def _previous_month(today: date) -> QDate:
    return QDate(today.year - 1, 12, 1) if today.month == 1 else QDate(today.year, today.month - 1, 1)


class Page(DataPage):
    tables = frozenset({"originals_received", "attendance", "sessions", "courses", "participants", "companies",
                        "enrollments", "settings", "project_settings", "month_closes"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.last_written: Path | None = None
        self.stats: reports.Statistics | None = None
        layout = QVBoxLayout(self)
        self.heading = heading(self.title())
        layout.addWidget(self.heading)

        # --- the month ------------------------------------------------------------------
        month_box = QGroupBox(_("Monthly reporting to the funder"))
        mrow = QHBoxLayout(month_box)
        mrow.addWidget(QLabel(_("Month")))
        self.month = QDateEdit(_previous_month(date.today()))
        self.month.setObjectName("report_month")
        self.month.setDisplayFormat("yyyy-MM")
        self.month.setCalendarPopup(False)
        self.month.dateChanged.connect(lambda _d: self.refresh())
        mrow.addWidget(self.month)
        self.pdf_button = QPushButton(_("Write time reports (PDF)…"))
        self.pdf_button.setObjectName("write_time_reports")
        self.pdf_button.clicked.connect(self.write_time_reports)
        self.xlsx_button = QPushButton(_("Write summary (.xlsx)…"))
        self.xlsx_button.setObjectName("write_summary")
        self.xlsx_button.clicked.connect(self.write_summary)
        mrow.addWidget(self.pdf_button)
        mrow.addWidget(self.xlsx_button)
        mrow.addStretch(1)
        layout.addWidget(month_box)
        self.month_panel = MonthPanel(ctx, self.month_key)
        layout.addWidget(self.month_panel, 2)

        # --- originals ------------------------------------------------------------------
        orig_box = QGroupBox(_("Signed originals received"))
        olay = QVBoxLayout(orig_box)
        top = QHBoxLayout()
        self.missing_label = QLabel()
        self.missing_label.setObjectName("missing_originals")
        self.only_missing = QCheckBox(_("Show only missing originals"))
        self.only_missing.toggled.connect(self._show_originals)
        top.addWidget(self.missing_label, 1)
        top.addWidget(self.only_missing)
        olay.addLayout(top)
        self.originals_model = OriginalsModel(self)
        self.originals_view = QTableView()
        self.originals_view.setObjectName("originals")
        self.originals_view.setModel(self.originals_model)
        self.originals_view.verticalHeader().hide()
        self.originals_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.originals_view.horizontalHeader().setStretchLastSection(True)
        olay.addWidget(self.originals_view)
        layout.addWidget(orig_box, 2)

        # --- statistics -----------------------------------------------------------------
        stat_box = QGroupBox(_("Statistics for a period"))
        slay = QVBoxLayout(stat_box)
        srow = QHBoxLayout()
        today = QDate.currentDate()
        self.stat_from = QDateEdit(QDate(today.year(), 1, 1))
        self.stat_to = QDateEdit(today)
        for edit in (self.stat_from, self.stat_to):
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setCalendarPopup(True)
        srow.addWidget(QLabel(_("From")))
        srow.addWidget(self.stat_from)
        srow.addWidget(QLabel(_("To")))
        srow.addWidget(self.stat_to)
        self.stat_button = QPushButton(_("Show statistics"))
        self.stat_button.setObjectName("show_statistics")
        self.stat_button.clicked.connect(self.show_statistics)
        self.stat_export = QPushButton(_("Export statistics (.xlsx)…"))
        self.stat_export.setObjectName("export_statistics")
        self.stat_export.clicked.connect(self.export_statistics)
        srow.addWidget(self.stat_button)
        srow.addWidget(self.stat_export)
        srow.addStretch(1)
        slay.addLayout(srow)
        self.stats_model = StatisticsModel(self)
        self.stats_view = QTableView()
        self.stats_view.setObjectName("statistics")
        self.stats_view.setModel(self.stats_model)
        self.stats_view.verticalHeader().hide()
        self.stats_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.stats_view.horizontalHeader().setStretchLastSection(True)
        slay.addWidget(self.stats_view)
        layout.addWidget(stat_box, 2)

        # --- participant lists ----------------------------------------------------------
        imp_box = QGroupBox(_("Participant lists from companies"))
        ilay = QFormLayout(imp_box)
        irow = QHBoxLayout()
        self.course = QComboBox()
        self.course.setObjectName("import_course")
        self.course.setMinimumContentsLength(30)
        self.import_button = QPushButton(_("Import participant list…"))
        self.import_button.setObjectName("import_participants")
        self.import_button.clicked.connect(self.import_list)
        irow.addWidget(self.course, 1)
        irow.addWidget(self.import_button)
        ilay.addRow(_("Course"), irow)
        layout.addWidget(imp_box)

        self._all_originals: list[originals.OriginalStatus] = []

    @staticmethod
    def title() -> str:
        return _("Reports")

    # --- state ------------------------------------------------------------------------

    def month_key(self) -> str:
        d = self.month.date()
        return f"{d.year():04d}-{d.month():02d}"

    def query(self):
        from app.services.courses import course_overview

        db, month = self.ctx.db, self.month_key()
        self.missing_label.setText(_("Loading…"))
        return lambda: (course_overview(db), month, originals.originals_checklist(db, month))

    def show_data(self, data) -> None:
        courses, month, rows = data
        self._load_courses(courses)
        self._originals_loaded(month, rows)
        self.month_panel.refresh()

    def _load_courses(self, courses) -> None:
        current = self.course.currentData()
        self.course.blockSignals(True)
        self.course.clear()
        for row in courses:
            self.course.addItem(f"{row.code} {row.title}", row.id)
        if current is not None:
            index = self.course.findData(current)
            if index >= 0:
                self.course.setCurrentIndex(index)
        self.course.blockSignals(False)

    def _originals_loaded(self, month: str, rows) -> None:
        if month != self.month_key():
            return  # the user moved on to another month
        self._all_originals = list(rows)
        self._show_originals()

    def _show_originals(self) -> None:
        rows = self._all_originals
        missing = [r for r in rows if not r.received]
        self.originals_model.set_rows(missing if self.only_missing.isChecked() else rows)
        self.missing_label.setText(
            _("{missing} of {total} originals for {month} are still missing.").format(
                missing=len(missing), total=len(rows), month=self.month_key()
            )
        )

    def set_received(self, participant_id: str, received: bool) -> None:
        month = self.month_key()
        with initiated_by(self):  # shown below without a reload
            if received:
                originals.mark_original_received(self.ctx.db, participant_id, month, date.today())
            else:
                originals.unmark_original_received(self.ctx.db, participant_id, month)
        received_on = date.today() if received else None
        self._all_originals = [
            r if r.participant_id != participant_id else originals.OriginalStatus(
                r.participant_id, r.full_name, r.masked_personal_number, r.company_name, r.hours, received_on,
                r.hours if received else None,
            )
            for r in self._all_originals
        ]
        self._show_originals()

    # --- writing files ----------------------------------------------------------------

    def _ask_path(self, caption: str, default: str, pattern: str) -> Path | None:
        from ui.folders import in_last_folder, remember

        name, _filter = QFileDialog.getSaveFileName(self, caption, in_last_folder(default), pattern)
        remember(name)
        return Path(name) if name else None

    def write_time_reports(self) -> None:
        from app.services.time_reports import write_time_reports

        month = self.month_key()
        path = self._ask_path(
            _("Save the monthly time reports"), _("time-reports-{month}.pdf").format(month=month), _("PDF (*.pdf)")
        )
        if path is None:
            return
        db = self.ctx.db
        run_task(
            self,
            lambda progress: write_time_reports(db, month, path, progress=progress),
            lambda n: self._written(path, _("{n} monthly time reports written to {file}").format(n=n, file=path), pdf=True),
            title=_("Writing the monthly time reports"),
        )

    def write_summary(self) -> None:
        from app.documents.esf_summary import write_esf_summary

        month = self.month_key()
        path = self._ask_path(
            _("Save the monthly summary"), _("summary-{month}.xlsx").format(month=month), _("Excel workbook (*.xlsx)")
        )
        if path is None:
            return
        db = self.ctx.db
        run_task(
            self,
            lambda progress: write_esf_summary(db, month, path, progress=progress).participant_count,
            lambda n: self._written(path, _("Summary of {month} ({n} participants) written to {file}").format(month=month, n=n, file=path)),
            title=_("Writing the monthly summary"),
        )

    def _written(self, path: Path, message: str, pdf: bool = False) -> None:
        self.last_written = path
        if pdf:
            from ui.pdf import open_pdf

            answer = QMessageBox.question(self, "Kursdesk", message + "\n\n" + _("Open the file now?"))
            if answer == QMessageBox.StandardButton.Yes:
                open_pdf(path, self)
        else:
            QMessageBox.information(self, "Kursdesk", message)

    # --- statistics -------------------------------------------------------------------

    def _period(self) -> tuple[date, date]:
        return self.stat_from.date().toPython(), self.stat_to.date().toPython()

    def show_statistics(self) -> None:
        first, last = self._period()
        db = self.ctx.db
        run_read(self, lambda: reports.statistics(db, first, last), self._stats_loaded)

    def _stats_loaded(self, stats: reports.Statistics) -> None:
        self.stats = stats
        self.stats_model.set_stats(stats)

    def export_statistics(self) -> None:
        first, last = self._period()
        path = self._ask_path(
            _("Export the statistics"),
            _("statistics-{first}-{last}.xlsx").format(first=first.isoformat(), last=last.isoformat()),
            _("Excel workbook (*.xlsx)"),
        )
        if path is None:
            return
        db = self.ctx.db
        run_task(
            self,
            lambda _p: reports.write_statistics(db, first, last, path),
            lambda stats: (self._stats_loaded(stats), self._written(path, _("Statistics written to {file}").format(file=path))),
            title=_("Exporting the statistics"),
        )

    # --- import -----------------------------------------------------------------------

    def import_list(self) -> None:
        from ui.import_wizard import ImportWizard

        course_id = self.course.currentData()
        if not course_id:
            QMessageBox.information(self, "Kursdesk", _("Create a course first: the list is imported into a course."))
            return
        wizard = ImportWizard(self.ctx, course_id, self)
        self._wizard = wizard
        wizard.open()
