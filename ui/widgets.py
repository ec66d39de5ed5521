"""Widgets the entity pages share: a heading, a search box, a table view over a
RowFilterProxy, and a dialog frame with inline validation."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.errors import ValidationError
from app.i18n import _
from ui.forms import FieldForm
from ui.table_models import RowFilterProxy, RowTableModel


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("heading")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.4)
    font.setBold(True)
    label.setFont(font)
    return label


def search_box(placeholder: str, accessible: str) -> QLineEdit:
    box = QLineEdit()
    box.setObjectName("search")
    box.setPlaceholderText(placeholder)
    box.setAccessibleName(accessible)
    box.setClearButtonEnabled(True)
    return box


class EntityTable(QTableView):
    """A sortable, single- or multi-selection table over a RowTableModel + RowFilterProxy."""

    current_changed = Signal(object)  # the row object under the cursor, or None
    activated_row = Signal(object)  # Enter or double click

    def __init__(self, model: RowTableModel, accessible: str, multi: bool = False, parent: QWidget | None = None,
                 fit: bool = False):
        """`fit`: size the columns to their contents whenever the rows change (small tables only)."""
        super().__init__(parent)
        self.source_model = model
        self.proxy = RowFilterProxy(self)
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
        self.setAccessibleName(accessible)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection if multi else QAbstractItemView.SelectionMode.SingleSelection
        )
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setTabKeyNavigation(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.selectionModel().currentRowChanged.connect(self._on_current)
        self.doubleClicked.connect(lambda index: self.activated_row.emit(self.proxy.row_at(index.row())))
        if fit:
            self._fit_pending = False
            for signal in (model.modelReset, model.rowsInserted, model.dataChanged, model.layoutChanged):
                signal.connect(self._schedule_fit)

    def _schedule_fit(self, *_args) -> None:
        if not self._fit_pending:
            self._fit_pending = True
            QTimer.singleShot(0, self, self._fit)  # with a context: never runs after the table is gone

    def _fit(self) -> None:
        self._fit_pending = False
        self.resizeColumnsToContents()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_row.emit(self.proxy.row_at(self.currentIndex().row()))
            return
        super().keyPressEvent(event)

    def _on_current(self, current, _previous) -> None:
        self.current_changed.emit(self.proxy.row_at(current.row()) if current.isValid() else None)

    def set_column_widths(self, widths: list[int]) -> None:
        for col, width in enumerate(widths):
            self.setColumnWidth(col, width)

    def current_row(self):
        index = self.currentIndex()
        return self.proxy.row_at(index.row()) if index.isValid() else None

    def selected_rows(self) -> list:
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [self.proxy.row_at(r) for r in rows]

    def select_id(self, key: str) -> bool:
        row = self.proxy.proxy_row_of(key)
        if row is None:
            return False
        index = self.proxy.index(row, 0)
        self.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.scrollTo(index)
        return True

    def visible_rows(self) -> list:
        return [self.proxy.row_at(r) for r in range(self.proxy.rowCount())]


def connect_search(box: QLineEdit, table: EntityTable, after: Callable[[], None] | None = None) -> None:
    """Filter as you type; Down arrow moves from the search box into the table."""

    def apply(text: str) -> None:
        table.proxy.set_filter_text(text)
        if after is not None:
            after()

    box.textChanged.connect(apply)
    QShortcut(QKeySequence(Qt.Key.Key_Down), box, activated=table.setFocus, context=Qt.ShortcutContext.WidgetShortcut)


class ListPanel(QWidget):
    """The left side of an entity page: search box, table, New and Delete buttons, row count."""

    def __init__(
        self,
        columns,
        *,
        name: str,
        search_hint: str,
        search_name: str,
        table_name: str,
        new_text: str,
        new_tip: str,
        delete_tip: str,
        count_texts: tuple[str, str],
        on_new: Callable[[], None],
        on_delete: Callable[[], None],
        parent: QWidget | None = None,
    ):
        """count_texts: msgids for the row count, filtered ('{shown} of {total} …') and all ('{total} …')."""
        super().__init__(parent)
        self.count_texts = count_texts
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.search = search_box(search_hint, search_name)
        self.model = RowTableModel(columns, self)
        self.table = EntityTable(self.model, table_name)
        self.table.setObjectName(name)
        connect_search(self.search, self.table, self.update_count)
        self.count_label = QLabel()
        self.new_button = QPushButton(new_text)
        self.new_button.setObjectName("new")
        self.new_button.setToolTip(new_tip)
        self.new_button.clicked.connect(on_new)
        self.delete_button = QPushButton(_("Delete"))
        self.delete_button.setObjectName("delete")
        self.delete_button.setToolTip(delete_tip)
        self.delete_button.clicked.connect(on_delete)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.count_label)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def update_count(self) -> None:
        shown, total = self.table.proxy.rowCount(), self.model.rowCount()
        filtered, everything = self.count_texts
        self.count_label.setText(
            _(filtered).format(shown=shown, total=total) if shown != total else _(everything).format(total=total)
        )


class FormDialog(QDialog):
    """A dialog with a FieldForm and Save/Cancel. `submit()` returns True when saved; a
    ValidationError keeps the dialog open with each message next to its field. Open it with
    `open()` (tests fill it and call `accept()` through the Save button)."""

    saved = Signal(object)

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("form_dialog")
        self.form = FieldForm()
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        self.extra = QVBoxLayout()
        layout.addLayout(self.extra)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("save")
        self.buttons.accepted.connect(self._try_accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def save_button(self):
        return self.buttons.button(QDialogButtonBox.StandardButton.Save)

    def submit(self):
        """Override: write through a service and return what to emit with `saved`."""
        raise NotImplementedError

    def _try_accept(self) -> None:
        self.form.clear_problems()
        try:
            result = self.submit()
        except ValidationError as exc:
            self.form.show_problems(exc)
            return
        if result is False:
            return
        self.saved.emit(result)
        self.accept()


def later(fn: Callable[[], None]) -> None:
    QTimer.singleShot(0, fn)
