"""Data protection on the participant's page: the date they were given the notice, the register
extract (PDF and JSON) and erasure on request. Calls app.gdpr only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.errors import UserError
from app.gdpr import notice, retention
from app.i18n import _, format_date
from ui.context import AppContext
from ui.forms import confirm, show_error
from ui.tasks import run_task


class ParticipantPrivacy(QGroupBox):
    erased = Signal(str)  # the participant id, once erased here

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(_("Data protection"), parent)
        self.setObjectName("participant_privacy")
        self.ctx = ctx
        self.participant_id: str | None = None
        layout = QVBoxLayout(self)
        informed = QHBoxLayout()
        self.informed_label = QLabel()
        self.informed_label.setObjectName("informed_on")
        self.informed_label.setWordWrap(True)
        self.informed_button = QPushButton(_("Informed today"))
        self.informed_button.setObjectName("informed_today")
        self.informed_button.setToolTip(_("The participant was given the data protection notice today"))
        self.informed_button.clicked.connect(lambda: self._set_informed(date.today()))
        self.not_informed_button = QPushButton(_("Not informed"))
        self.not_informed_button.setObjectName("not_informed")
        self.not_informed_button.clicked.connect(lambda: self._set_informed(None))
        informed.addWidget(self.informed_label, 1)
        informed.addWidget(self.not_informed_button)
        informed.addWidget(self.informed_button)
        layout.addLayout(informed)
        actions = QHBoxLayout()
        self.extract_button = QPushButton(_("Register extract…"))
        self.extract_button.setObjectName("register_extract")
        self.extract_button.setToolTip(_("Everything Kursdesk holds about this person, as a PDF and a JSON file"))
        self.extract_button.clicked.connect(self.write_extract)
        self.erase_button = QPushButton(_("Erase person…"))
        self.erase_button.setObjectName("erase_person")
        self.erase_button.setToolTip(_("Erase this person on every laptop (on request)"))
        self.erase_button.clicked.connect(self.erase)
        actions.addStretch(1)
        actions.addWidget(self.erase_button)
        actions.addWidget(self.extract_button)
        layout.addLayout(actions)
        self.set_participant(None)

    def set_participant(self, participant_id: str | None) -> None:
        self.show_informed(participant_id, notice.informed_on(self.ctx.db, participant_id) if participant_id else None)

    def show_informed(self, participant_id: str | None, day: date | None) -> None:
        """The participant and their informed date, read by the caller (in the page's worker)."""
        self.participant_id = participant_id
        self.setEnabled(participant_id is not None)
        self.informed_label.setText(
            _("Informed about data protection on {date}").format(date=format_date(day)) if day
            else _("Not yet informed about data protection"))
        self.not_informed_button.setEnabled(day is not None)

    def _set_informed(self, day: date | None) -> None:
        if self.participant_id is None:
            return
        notice.set_informed(self.ctx.db, [self.participant_id], day)
        self.set_participant(self.participant_id)

    def write_extract(self) -> None:
        from app.gdpr.extract import write_extract

        pid = self.participant_id
        if pid is None:
            return
        name, _filter = QFileDialog.getSaveFileName(self, _("Save the register extract"), _("register-extract.pdf"), _("PDF (*.pdf)"))
        if not name:
            return
        path = Path(name) if name.lower().endswith(".pdf") else Path(name + ".pdf")
        db = self.ctx.db
        run_task(self, lambda _progress: write_extract(db, pid, path),
                 lambda paths: self._notify(_("Register extract written to {pdf} and {json}").format(pdf=paths[0], json=paths[1])),
                 title=_("Writing the register extract"), cancellable=False)

    def erase(self) -> None:
        from app.gdpr.same_person import records_of_person
        from ui.gdpr_erase import EraseDialog

        pid = self.participant_id
        if pid is None:
            return
        records = records_of_person(self.ctx.db, pid)
        dialog = EraseDialog(records, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        ids, reason = [r.participant_id for r in records], dialog.reason()
        try:
            try:
                retention.erase_on_request(self.ctx.db, ids, reason)
            except retention.RetentionApplies:
                if not confirm(self, _("Erase person"), _(
                        "The funder's retention still applies to this person. Erase anyway? This is recorded in the audit log.")):
                    return
                retention.erase_on_request(self.ctx.db, ids, reason, force=True)
        except UserError as exc:
            show_error(self, exc)
            return
        self.set_participant(None)
        self.erased.emit(pid)
        self._notify(_("The person was erased. Every laptop erases them at its next sync."))

    def _notify(self, message: str) -> None:
        window = self.window()
        if hasattr(window, "notify"):
            window.notify(message)
