"""The data protection section of the Settings page: the controller, the retention date from the
grant decision, the shorter period for people who never took part, the notice texts (Swedish and
English), erasing everyone due, and the audit log. Calls app.gdpr only."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from PySide6.QtWidgets import QApplication, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from shiboken6 import isValid

from app.errors import ValidationError
from app.gdpr import audit, retention
from app.gdpr.cli import REASON_LABELS
from app.gdpr.notice import DEFAULT_NOTICE, notice_text
from app.gdpr.settings import GdprSettings, get_gdpr_settings, save_gdpr_settings
from app.i18n import N_, _, format_datetime, ngettext
from ui.context import AppContext
from ui.forms import FieldForm, confirm, line_edit, spin_box, text_edit
from ui.table_models import Column, RowTableModel
from ui.tasks import run_read, run_task
from ui.widgets import EntityTable

AUDIT_COLUMNS = [
    Column("at", N_("When"), lambda r: r.at, text=lambda r: format_datetime(r.local_at)),
    Column("action", N_("What"), lambda r: _(audit.ACTIONS.get(r.action, r.action))),
    Column("people", N_("People"), lambda r: r.people, align_right=True),
    Column("user", N_("User"), lambda r: r.user),
    Column("device", N_("Laptop"), lambda r: r.device[:8]),
    Column("detail", N_("Detail"), lambda r: _detail(r.detail)),
]
# the codes an erasure's detail starts with
_CODES = {**REASON_LABELS, "forced": N_("forced")}


def _detail(detail: str) -> str:
    words = detail.split(" ")
    shown = []
    for i, w in enumerate(words):
        if w not in _CODES:
            shown.extend(words[i:])
            break
        shown.append(_(_CODES[w]))
    return " ".join(shown)


class PrivacySettings(QGroupBox):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(_("Data protection (GDPR)"), parent)
        self._due_stale = False  # hidden while it counted who is due: counted again when shown
        self.setObjectName("privacy_settings")
        self.ctx = ctx
        self._loaded: GdprSettings | None = None
        layout = QVBoxLayout(self)
        self.form = FieldForm()
        f = self.form
        self.controller = f.add("controller", _("Controller:"), line_edit(placeholder=_("Who is responsible for the personal data")))
        self.retention_until = f.add("retention_until", _("Keep records until:"), line_edit(
            placeholder=_("YYYY-MM-DD, from the grant decision")))
        self.nonparticipant_months = f.add("nonparticipant_months", _("People who never took part:"),
                                           spin_box(1, 120, 6, _(" months")))
        self.notice_sv = f.add("notice_sv", _("Notice (Swedish):"), text_edit(height=110))
        self.notice_en = f.add("notice_en", _("Notice (English):"), text_edit(height=110))
        layout.addWidget(self.form)
        note = QLabel(_("The notice is handed out to participants through their company's contact person; "
                        "{controller}, {programme} and {retention} are filled in. Mark on each participant's page when they were informed."))
        note.setWordWrap(True)
        layout.addWidget(note)
        copy_row = QHBoxLayout()
        self.copy_button = QPushButton(_("Copy the notice"))
        self.copy_button.setObjectName("copy_notice")
        self.copy_button.setToolTip(_("The saved notice in Swedish and English, filled in, for an e-mail to the contact person"))
        self.copy_button.clicked.connect(self.copy_notice)
        copy_row.addStretch(1)
        copy_row.addWidget(self.copy_button)
        layout.addLayout(copy_row)
        buttons = QHBoxLayout()
        self.due_label = QLabel()
        self.due_label.setObjectName("due_for_erasure")
        self.due_label.setWordWrap(True)
        self.purge_button = QPushButton(_("Erase those due…"))
        self.purge_button.setObjectName("purge")
        self.purge_button.clicked.connect(self.purge)
        self.save_button = QPushButton(_("Save"))
        self.save_button.setObjectName("save_privacy")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.due_label, 1)
        buttons.addWidget(self.purge_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.status = QLabel()
        self.status.setObjectName("privacy_status")
        layout.addWidget(self.status)
        layout.addWidget(QLabel(_("Audit log: exports of documents with full personal identity numbers, and erasures")))
        self.audit_model = RowTableModel(AUDIT_COLUMNS, self)
        self.audit_table = EntityTable(self.audit_model, _("Audit log"))
        self.audit_table.setObjectName("audit_log")
        self.audit_table.setMinimumHeight(160)
        self.audit_table.set_column_widths([125, 190, 70, 80, 75, 150])
        layout.addWidget(self.audit_table)

    @staticmethod
    def load(db) -> tuple[GdprSettings, list]:
        """What the section shows (the settings, the audit log): read in the page's worker."""
        return get_gdpr_settings(db), audit.entries(db, limit=500)

    def refresh(self) -> None:
        self.show_data(self.load(self.ctx.db))

    def show_data(self, data: tuple[GdprSettings, list]) -> None:
        s, entries = data
        self._loaded = s
        self.form.clear_problems()
        self.status.clear()
        self.controller.setText(s.controller)
        self.retention_until.setText(s.retention_until.isoformat() if s.retention_until else "")
        self.nonparticipant_months.setValue(s.nonparticipant_months)
        self.notice_sv.setPlainText(s.notice_sv or DEFAULT_NOTICE["sv"])
        self.notice_en.setPlainText(s.notice_en or DEFAULT_NOTICE["en"])
        self._refresh_due()
        self.audit_model.set_rows(entries)

    def _refresh_due(self) -> None:
        """Who is due, counted off the UI thread (it reads every mark of the programme)."""
        db = self.ctx.db
        self.purge_button.setEnabled(False)
        self.due_label.setText(_("Counting who is due for erasure…"))
        self._due_stale = False
        run_read(self, lambda: len(retention.due_for_erasure(db)), self._show_due,
                 lambda _exc: None, on_hidden=self._due_hidden)  # a count that failed shows nothing

    def _due_hidden(self) -> None:
        self._due_stale = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        if self._due_stale:
            self._refresh_due()

    def _show_due(self, n: int) -> None:
        if not isValid(self.due_label):  # the page closed meanwhile
            return
        self.due_label.setText(ngettext("{n} person is due for erasure.", "{n} people are due for erasure.", n).format(n=n))
        self.purge_button.setEnabled(n > 0)

    def values(self) -> GdprSettings | None:
        text = self.retention_until.text().strip()
        try:
            until = date.fromisoformat(text) if text else None
        except ValueError:
            self.form.set_problem("retention_until", _("Write the date as YYYY-MM-DD, for example 2030-12-31."))
            return None
        sv, en = self.notice_sv.toPlainText().strip(), self.notice_en.toPlainText().strip()
        return replace(
            self._loaded or GdprSettings(),
            controller=self.controller.text().strip(),
            retention_until=until,
            nonparticipant_months=self.nonparticipant_months.value(),
            notice_sv="" if sv == DEFAULT_NOTICE["sv"] else sv,  # the built-in text stays built in
            notice_en="" if en == DEFAULT_NOTICE["en"] else en,
        )

    def save(self) -> bool:
        self.form.clear_problems()
        values = self.values()
        if values is None:
            return False
        try:
            save_gdpr_settings(self.ctx.db, values)
        except ValidationError as exc:
            self.form.show_problems(exc)
            return False
        self._loaded = values
        self.status.setText(_("Data protection settings saved."))
        self._refresh_due()
        return True

    def copy_notice(self) -> None:
        text = "\n\n――――\n\n".join(notice_text(self.ctx.db, lang) for lang in ("sv", "en"))
        QApplication.clipboard().setText(text)
        self.status.setText(_("The notice is copied: paste it into an e-mail to the company's contact person."))

    def purge(self) -> None:
        due = retention.due_for_erasure(self.ctx.db)
        if not due or not confirm(self, _("Erase those due"), ngettext(
                "Erase {n} person for good, here and on every laptop at its next sync? Past months' totals stay, without names.",
                "Erase {n} people for good, here and on every laptop at its next sync? Past months' totals stay, without names.",
                len(due)).format(n=len(due))):
            return
        db = self.ctx.db
        run_task(self, lambda _progress: retention.purge(db), self._purged, title=_("Erasing"), cancellable=False)

    def _purged(self, due: list) -> None:
        self.refresh()
        self.status.setText(ngettext("{n} person erased.", "{n} people erased.", len(due)).format(n=len(due)))
