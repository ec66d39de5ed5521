"""Forms with inline validation: each field has its label, its input and, under the input, the
message of the problem the service reported for it. A failed save never clears what the user
typed: `show_problems` only adds messages.

Also small helpers every page uses: `confirm()` before a destructive action and `show_error()`.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from app.errors import Problem, UserError, ValidationError

ERROR_STYLE = "color: #b00020;"


class FieldForm(QWidget):
    """A grid of labelled inputs with a message line under each. Fields are added in tab order."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setColumnStretch(1, 1)
        self._grid.setVerticalSpacing(2)
        self.general = QLabel()
        self.general.setObjectName("form_general_error")
        self.general.setStyleSheet(ERROR_STYLE)
        self.general.setWordWrap(True)
        self.general.hide()
        self._grid.addWidget(self.general, 0, 0, 1, 2)
        self._next_row = 1
        self.widgets: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self._errors: dict[str, QLabel] = {}
        self._aliases: dict[str, str] = {}

    def add(self, field: str, label: str, widget: QWidget, aliases: Iterable[str] = ()) -> QWidget:
        """Add an input for `field` (the name services use in Problem.field); `aliases` are other
        field names whose problems belong next to this input."""
        caption = QLabel(label)
        caption.setBuddy(widget)
        caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        widget.setObjectName(f"field_{field}")
        widget.setAccessibleName(label.rstrip(":"))
        error = QLabel()
        error.setObjectName(f"error_{field}")
        error.setStyleSheet(ERROR_STYLE)
        error.setWordWrap(True)
        error.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        error.hide()
        row = self._next_row
        self._grid.addWidget(caption, row, 0)
        self._grid.addWidget(widget, row, 1)
        self._grid.addWidget(error, row + 1, 1)
        self._next_row += 2
        if self.widgets:
            QWidget.setTabOrder(list(self.widgets.values())[-1], widget)
        self.widgets[field] = widget
        self.labels[field] = caption
        self._errors[field] = error
        for alias in aliases:
            self._aliases[alias] = field
        return widget

    def add_widget(self, widget: QWidget) -> None:
        """A full-width row (buttons, notes)."""
        self._grid.addWidget(widget, self._next_row, 0, 1, 2)
        self._next_row += 1

    # --- problems ---------------------------------------------------------------------------

    def clear_problems(self) -> None:
        self.general.clear()
        self.general.hide()
        for field, label in self._errors.items():
            label.clear()
            label.hide()
            self.widgets[field].setAccessibleDescription("")

    def show_problems(self, problems: Iterable[Problem] | ValidationError) -> None:
        """Show each problem next to its field (unknown fields at the top); focus the first."""
        if isinstance(problems, ValidationError):
            problems = problems.problems
        self.clear_problems()
        general: list[str] = []
        first: QWidget | None = None
        for problem in problems:
            field = self._aliases.get(problem.field, problem.field)
            label = self._errors.get(field)
            if label is None:
                general.append(problem.message)
                continue
            text = "\n".join(t for t in (label.text(), problem.message) if t)
            label.setText(text)
            label.show()
            self.widgets[field].setAccessibleDescription(text)
            if first is None:
                first = self.widgets[field]
        if general:
            self.general.setText("\n".join(general))
            self.general.show()
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_problem(self, field: str, message: str) -> None:
        self.show_problems([Problem(field, message)])

    def error_text(self, field: str) -> str:
        label = self._errors.get(field)
        return label.text() if label is not None and not label.isHidden() else ""

    def general_text(self) -> str:
        return self.general.text() if not self.general.isHidden() else ""

    def has_problems(self) -> bool:
        return bool(self.general_text()) or any(not label.isHidden() for label in self._errors.values())


# --- small input helpers --------------------------------------------------------------------

def line_edit(text: str = "", placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    if placeholder:
        edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(False)
    return edit


def text_edit(text: str = "", height: int = 70) -> QPlainTextEdit:
    edit = QPlainTextEdit(text)
    edit.setTabChangesFocus(True)
    edit.setFixedHeight(height)
    return edit


def spin_box(minimum: int, maximum: int, value: int, suffix: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


def combo(items: Iterable[tuple[str, object]], editable: bool = False) -> QComboBox:
    box = QComboBox()
    box.setEditable(editable)
    for text, data in items:
        box.addItem(text, data)
    return box


def set_combo_data(box: QComboBox, data: object, fallback_text: str = "") -> None:
    pos = box.findData(data)
    if pos >= 0:
        box.setCurrentIndex(pos)
    elif box.isEditable():
        box.setEditText(fallback_text or ("" if data is None else str(data)))


def check_box(text: str, checked: bool = False) -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    box.setAccessibleName(text)
    return box


# --- dialogs --------------------------------------------------------------------------------

def confirm(parent: QWidget, title: str, text: str) -> bool:
    """Ask before a destructive action (tests monkeypatch QMessageBox.question)."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def show_error(parent: QWidget, error: UserError | str, title: str | None = None) -> None:
    QMessageBox.warning(parent, title or "Kursdesk", str(error))
