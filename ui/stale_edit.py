"""The question when a save finds the record changed since the form opened it (app/concurrency.py
StaleEdit): each field that differs with the form's value and the saved one side by side, and
three answers: keep mine (save the form's values over theirs), take theirs (the form shows the
saved values), cancel (the form keeps what was typed, nothing is saved)."""

from __future__ import annotations

from datetime import date, time
from enum import Enum

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.concurrency import StaleEdit
from app.i18n import _, format_date
from app.validation import mask_personal_number
from ui.forms import FieldForm


class Choice(Enum):
    KEEP_MINE = "mine"
    TAKE_THEIRS = "theirs"
    CANCEL = "cancel"


def _input_of(form: FieldForm | None, field: str) -> str:
    """The form's input for a record's field (FieldForm.add's aliases: 'start_time' -> 'start')."""
    return getattr(form, "_aliases", {}).get(field, field)


def shown_value(form: FieldForm | None, field: str, value: object) -> str:
    """A value as the form shows it: a picker's text for an id, a masked personnummer."""
    if value is None or value == "":
        return _("(empty)")
    widget = getattr(form, "widgets", {}).get(_input_of(form, field))
    if widget is not None and not isinstance(widget, QComboBox):
        widget = widget.findChild(QComboBox)  # a picker with buttons beside it
    if isinstance(widget, QComboBox) and (pos := widget.findData(value)) >= 0:
        return widget.itemText(pos)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if field == "personal_number" and isinstance(value, str) and value[:8].isdigit():
        return mask_personal_number(value)
    return str(value)


def field_label(form: FieldForm | None, field: str) -> str:
    label = getattr(form, "labels", {}).get(_input_of(form, field))
    return label.text().rstrip(":").replace("&", "") if label is not None else field


class StaleEditDialog(QDialog):
    def __init__(self, error: StaleEdit, form: FieldForm | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("stale_edit")
        self.setWindowTitle(_("Changed since you opened it"))
        self.choice = Choice.CANCEL
        who = error.changed_by or _("someone else")
        layout = QVBoxLayout(self)
        intro = QLabel(_("{who} saved this record after you opened it. These fields differ; which values "
                         "should it keep? Nothing has been saved yet.").format(who=who))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(len(error.clashes), 3)
        self.table.setObjectName("stale_edit_fields")
        self.table.setHorizontalHeaderLabels([_("Field"), _("Your value"), _("Saved by {who}").format(who=who)])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        for row, clash in enumerate(error.clashes):
            for col, text in enumerate((field_label(form, clash.field), shown_value(form, clash.field, clash.mine),
                                        shown_value(form, clash.field, clash.theirs))):
                self.table.setItem(row, col, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch)
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + rows + 2 * self.table.frameWidth() + 2)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox()
        self.keep_mine = self._button(buttons, _("Keep my values"), Choice.KEEP_MINE, "keep_mine")
        self.take_theirs = self._button(buttons, _("Take their values"), Choice.TAKE_THEIRS, "take_theirs")
        cancel = buttons.addButton(_("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setObjectName("cancel")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(680, self.sizeHint().height())

    def _button(self, box: QDialogButtonBox, text: str, choice: Choice, name: str) -> QPushButton:
        button = box.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
        button.setObjectName(name)
        button.clicked.connect(lambda: self._choose(choice))
        return button

    def _choose(self, choice: Choice) -> None:
        self.choice = choice
        self.accept()


def ask_stale_edit(parent: QWidget, error: StaleEdit, form: FieldForm | None) -> Choice:
    dialog = StaleEditDialog(error, form, parent)
    dialog.exec()
    return dialog.choice


def settle_stale_edit(page, error: StaleEdit) -> bool:
    """A page's save() that met a StaleEdit: ask, then keep mine (save again over the version the
    question showed), take theirs (the form shows the saved record) or cancel (the form keeps what
    was typed). `page` (a page or a FormDialog) has `form`, `opened_version`, `save()` and
    `_reload_detail()`; returns what `save()` returned, or False."""
    choice = ask_stale_edit(page, error, page.form)
    if choice is Choice.KEEP_MINE:
        page.opened_version = error.version
        return page.save()
    if choice is Choice.TAKE_THEIRS:
        page._reload_detail()
    return False
