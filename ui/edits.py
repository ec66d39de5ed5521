"""What the user typed into a form and has not saved, kept when the stored values are shown again.

A page that shows stored values in a form takes `shown = typed(form)` after showing them. When a
change from outside (a sync, another window) makes it load again, `reshow(form, shown, show)`
shows the new stored values in every field the user has not touched and puts back what they
typed in the others.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

Values = dict[QWidget, object]


def _inputs(root: QWidget) -> list[QWidget]:
    found: list[QWidget] = []
    for kind in (QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox, QCheckBox):
        for widget in root.findChildren(kind):
            if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
                continue  # the editor inside a spin box or combo box: its owner holds the value
            if isinstance(widget, (QLineEdit, QPlainTextEdit)) and widget.isReadOnly():
                continue
            found.append(widget)
    return found


def _value(widget: QWidget) -> object:
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText()
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return widget.value()
    if isinstance(widget, QComboBox):
        return widget.currentData() if widget.currentData() is not None else widget.currentText()
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    raise TypeError(type(widget).__name__)


def _set(widget: QWidget, value: object) -> None:
    if isinstance(widget, QLineEdit):
        widget.setText(str(value))
    elif isinstance(widget, QPlainTextEdit):
        widget.setPlainText(str(value))
    elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.setValue(value)  # type: ignore[arg-type]
    elif isinstance(widget, QComboBox):
        index = widget.findData(value)
        widget.setCurrentIndex(index if index >= 0 else widget.findText(str(value)))
    elif isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))


def typed(root: QWidget) -> Values:
    """The value of every input under `root`."""
    return {widget: _value(widget) for widget in _inputs(root)}


def reshow(root: QWidget, shown: Values, show: Callable[[], None]) -> tuple[Values, list[QWidget]]:
    """Call `show()` (which puts the stored values in the form), then put back every edit made
    since `shown`. Returns what is stored now (the next `shown`) and the fields whose stored
    value changed under an edit."""
    edits = {w: v for w, v in typed(root).items() if w in shown and v != shown[w]}
    show()
    stored = typed(root)
    for widget, value in edits.items():
        _set(widget, value)
    # an edit the stored value now equals (saved by a part of the form itself) lost nothing
    return stored, [w for w, v in edits.items() if stored.get(w) != shown[w] and stored.get(w) != v]
