"""Import a company's participant list into a course: choose the file -> preview every row with
its problem -> confirm. Nothing is written before the user confirms on the last page.

    ImportWizard(ctx, course_id, parent).exec()
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.errors import UserError
from app.i18n import N_, _
from app.interchange.participant_list import ImportPreview, ImportResult, ListRow, apply_import, preview_import, summary_text
from ui.context import AppContext

PREVIEW_COLUMNS = (
    N_("Line"),
    N_("First name"),
    N_("Last name"),
    N_("Personal identity number"),
    N_("Company"),
    N_("Status"),
    N_("Problem"),
)


def row_status(row: ListRow) -> str:
    if not row.ok:
        return _("Will not be imported")
    if row.already_enrolled:
        return _("Already enrolled")
    if row.participant_id:
        return _("Known participant")
    return _("New participant")


class PreviewModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: tuple[ListRow, ...] = ()

    def set_rows(self, rows: tuple[ListRow, ...]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(PREVIEW_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _(PREVIEW_COLUMNS[section])
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                str(row.line),
                row.first_name,
                row.last_name,
                row.masked_personal_number,
                row.company_name or row.company_text,
                row_status(row),
                " ".join(row.problems),
            )[index.column()]
        if role == Qt.ItemDataRole.BackgroundRole and not row.ok:
            return QBrush(QColor("#FDE2E1"))
        if role == Qt.ItemDataRole.ToolTipRole and not row.ok:
            return "\n".join(row.problems)
        return None


class FilePage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle(_("Choose the participant list"))
        self.setSubTitle(_("An Excel workbook (.xlsx) or a CSV file with a header row: First name, Last name, Personal identity number, Company, …"))
        self.path = QLineEdit()
        self.path.setObjectName("import_file")
        self.path.textChanged.connect(self.completeChanged)
        browse = QPushButton(_("Browse…"))
        browse.clicked.connect(self.browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.error = QLabel()
        self.error.setObjectName("import_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #B00020")
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addStretch(1)

    def browse(self) -> None:
        from ui.folders import last_folder, remember

        name, _filter = QFileDialog.getOpenFileName(
            self, _("Choose the participant list"), last_folder(), _("Participant lists (*.xlsx *.csv *.txt)")
        )
        if name:
            remember(name)
            self.path.setText(name)

    def isComplete(self) -> bool:  # noqa: N802
        return Path(self.path.text().strip()).is_file()

    def validatePage(self) -> bool:  # noqa: N802
        self.error.clear()
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.w.preview = preview_import(self.w.ctx.db, self.path.text().strip(), self.w.course_id)
        except UserError as exc:
            self.error.setText(str(exc))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        return True


class PreviewPage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle(_("Check the rows"))
        self.model = PreviewModel(self)
        self.table = QTableView()
        self.table.setObjectName("import_preview")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.skip = QCheckBox(_("Skip the rows with problems and import the others"))
        self.skip.setObjectName("skip_invalid")
        self.skip.toggled.connect(self.completeChanged)
        # a personnummer registered under another name: the coordinator confirms it is the same person
        self.accept_known = QCheckBox(
            _("The rows known under another name are the registered people: enrol them (their records stay as they are)")
        )
        self.accept_known.setObjectName("accept_known")
        self.accept_known.toggled.connect(self.set_accept_known)
        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.accept_known)
        layout.addWidget(self.skip)

    def initializePage(self) -> None:  # noqa: N802
        p: ImportPreview = self.w.preview
        self.accept_known.blockSignals(True)
        self.accept_known.setChecked(p.accept_known)
        self.accept_known.blockSignals(False)
        self.accept_known.setVisible(bool(p.name_mismatches))
        self.skip.setChecked(False)
        self.show_rows()

    def show_rows(self) -> None:
        p: ImportPreview = self.w.preview
        self.model.set_rows(p.rows)
        self.counts.setText(
            _("{file}: {rows} rows, {ok} ready to import, {bad} with problems.").format(
                file=p.source, rows=len(p.rows), ok=len(p.valid), bad=len(p.invalid)
            )
        )
        self.skip.setVisible(bool(p.invalid))
        self.completeChanged.emit()

    def set_accept_known(self, accept: bool) -> None:
        if self.w.preview is not None:
            self.w.preview = self.w.preview.accepting_known(accept)
            self.show_rows()

    def isComplete(self) -> bool:  # noqa: N802
        p = self.w.preview
        if p is None or not p.valid:
            return False
        return not p.invalid or self.skip.isChecked()


class ConfirmPage(QWizardPage):
    def __init__(self, wizard: ImportWizard):
        super().__init__()
        self.w = wizard
        self.setTitle(_("Confirm the import"))
        self.text = QLabel()
        self.text.setObjectName("import_confirm")
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)
        self.setFinalPage(True)

    def initializePage(self) -> None:  # noqa: N802
        p: ImportPreview = self.w.preview
        known = sum(1 for r in p.valid if r.participant_id)
        self.text.setText(
            _(
                "Enrol {n} participants in {code} {title}? {new} will be added as new participants, "
                "{known} are already known. {bad} rows with problems will be left out."
            ).format(n=len(p.valid), code=p.course_code, title=p.course_title, new=len(p.valid) - known, known=known, bad=len(p.invalid))
        )

    def validatePage(self) -> bool:  # noqa: N802
        try:
            self.w.result = apply_import(self.w.ctx.db, self.w.preview, skip_invalid=True)
        except UserError as exc:
            self.text.setText(str(exc))
            return False
        return True


class ImportWizard(QWizard):
    def __init__(self, ctx: AppContext, course_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.course_id = course_id
        self.preview: ImportPreview | None = None
        self.result: ImportResult | None = None
        self.setWindowTitle(_("Import participant list"))
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.file_page = FilePage(self)
        self.preview_page = PreviewPage(self)
        self.confirm_page = ConfirmPage(self)
        for page in (self.file_page, self.preview_page, self.confirm_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.FinishButton, _("Import"))
        self.resize(900, 560)

    def result_text(self) -> str:
        return summary_text(self.result) if self.result else ""
