"""Widgets of signed certificates: the certificate settings on the Settings page (verifier page's
address, certificates of participation, the issuer's contact details, the English texts of the
organisation, the public key's fingerprint and its export), and the Certificates page's note on
English texts that are missing."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import QCheckBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.errors import UserError, ValidationError
from app.i18n import _
from app.services import certificate_signing as signing
from app.services.certificate_settings import (
    CertificateSettings,
    checked,
    get_certificate_settings,
    save_certificate_settings,
)
from ui.context import AppContext
from ui.forms import FieldForm, line_edit
from ui.tasks import show_error


def note_label() -> QLabel:
    """A red, wrapped note, hidden until it has something to say."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #a00000")
    label.setVisible(False)
    return label


def show_missing_english(label: QLabel, missing: tuple[str, ...]) -> None:
    label.setText(_("English certificates of this course will print these texts in Swedish, as their English "
                    "version is not set: {texts}. Add them in the course form and in Settings before issuing.")
                  .format(texts=", ".join(missing)))
    label.setVisible(bool(missing))


class CertificateSettingsBox(QGroupBox):
    """The `certificates.*` settings; saved with the page (check first, then save)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(_("Certificates"), parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        self.form = FieldForm()
        f = self.form
        self.edits = {
            "organisation_name_en": f.add("organisation_name_en", _("Organisation in English:"), line_edit()),
            "programme_name_en": f.add("programme_name_en", _("Programme in English:"), line_edit()),
            "signatory_title_en": f.add("signatory_title_en", _("Signatory's title in English:"), line_edit()),
            "issuer_address": f.add("issuer_address", _("Address:"), line_edit()),
            "issuer_phone": f.add("issuer_phone", _("Telephone:"), line_edit()),
            "issuer_email": f.add("issuer_email", _("E-mail:"), line_edit()),
            "issuer_web": f.add("issuer_web", _("Web address:"), line_edit()),
            "verifier_url": f.add("verifier_url", _("Verifier page's address:"),
                                  line_edit(placeholder="https://intyg.example.se/")),
        }
        self.participation = QCheckBox(_("Offer certificates of participation (to everyone who attended)"))
        f.add_widget(self.participation)
        layout.addWidget(self.form)
        key_row = QHBoxLayout()
        self.fingerprint = QLabel()
        self.fingerprint.setObjectName("fingerprint")
        self.fingerprint.setWordWrap(True)
        self.export_button = QPushButton(_("Export public key…"))
        self.export_button.clicked.connect(self.export_public_key)
        key_row.addWidget(self.fingerprint, 1)
        key_row.addWidget(self.export_button)
        layout.addLayout(key_row)

    @staticmethod
    def load(db) -> tuple[CertificateSettings, str | None]:
        """What the box shows (the settings, the key's fingerprint): read in the page's worker."""
        return get_certificate_settings(db), signing.public_key_fingerprint(db)

    def show_data(self, data: tuple[CertificateSettings, str | None]) -> None:
        values, found = data
        self.form.clear_problems()
        for name, edit in self.edits.items():
            edit.setText(getattr(values, name))
        self.participation.setChecked(values.participation)
        self._show_fingerprint(found)

    def show_fingerprint(self) -> None:
        self._show_fingerprint(signing.public_key_fingerprint(self.ctx.db))

    def _show_fingerprint(self, found: str | None) -> None:
        self.fingerprint.setText(
            _("Public key of the certificates' signatures: {fingerprint}").format(fingerprint=found) if found
            else _("No signing key yet: it is made with the first certificate (or an export of the public key)."))

    def values(self) -> CertificateSettings:
        given = {name: edit.text().strip() for name, edit in self.edits.items()}
        return CertificateSettings(participation=self.participation.isChecked(), **given)

    def check(self) -> CertificateSettings | None:
        """The values cleaned, or None with each problem shown beside its field."""
        self.form.clear_problems()
        try:
            return checked(self.values())
        except ValidationError as exc:
            self.form.show_problems(exc)
            return None

    def save(self, values: CertificateSettings) -> None:
        saved = save_certificate_settings(self.ctx.db, values)
        for f in fields(CertificateSettings):
            if f.name in self.edits:
                self.edits[f.name].setText(getattr(saved, f.name))

    def export_public_key(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, _("Export public key…"), "kursdesk-public-key.json",
                                                    _("Public key (*.json)"))
        if not path:
            return
        try:
            signing.export_public_key(self.ctx.db, path)
        except UserError as exc:
            show_error(self, exc)
        self.show_fingerprint()
