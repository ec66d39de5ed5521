"""The erasure dialog of the participant's page: it lists every record of the person that will be
erased (app/gdpr/same_person.py: a person registered twice) and asks for the reason, which the
audit log keeps as `kursdesk gdpr erase --reason` does. Shows plain data; erases nothing itself."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.gdpr.same_person import PersonRecord
from app.i18n import _


class EraseDialog(QDialog):
    def __init__(self, records: list[PersonRecord], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(_("Erase person"))
        self.setObjectName("erase_dialog")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = QLabel(_(
            "Erase this person for good, with their enrollments, marks, certificates and originals, here and on "
            "every laptop at its next sync? Their hours stay in past months' totals, without a name. This cannot be undone.")
            if len(records) < 2 else _(
            "This person is registered {n} times. Erase every one of these records for good, with their enrollments, "
            "marks, certificates and originals, here and on every laptop at its next sync? Their hours stay in past "
            "months' totals, without a name. This cannot be undone.").format(n=len(records)))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.records = QListWidget()
        self.records.setObjectName("erase_records")
        for r in records:
            parts = [r.name, r.masked_personal_number, r.employer, _("deleted") if r.deleted else ""]
            self.records.addItem(", ".join(p for p in parts if p))
        # rows a little taller than the style's default, so that the dots of Å Ä Ö are not cut off
        self.records.setStyleSheet("QListWidget::item { padding: 3px 2px; }")
        self.records.setMaximumHeight(30 * min(max(len(records), 2), 6) + 8)
        layout.addWidget(self.records)
        layout.addWidget(QLabel(_("Reason (required; kept in the audit log, write no names):")))
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setObjectName("erase_reason")
        self.reason_edit.setMaximumHeight(70)
        layout.addWidget(self.reason_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.erase_button = self.buttons.addButton(_("Erase"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.erase_button.setObjectName("erase")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.reason_edit.textChanged.connect(self._update)
        self._update()

    def reason(self) -> str:
        return " ".join(self.reason_edit.toPlainText().split())

    def _update(self) -> None:
        self.erase_button.setEnabled(bool(self.reason()))
