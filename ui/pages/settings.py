"""The Settings page: the organisation's details used on documents (name, logo, signatory,
place), the default minimum attendance, the rounding of hours in the monthly time report and
the language of the whole program. Saved through app.services.settings; a language change
is applied by the main window, which rebuilds itself in the new language."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.changes import initiated_by
from app.concurrency import StaleEdit
from app.errors import ValidationError
from app.i18n import _
from app.services import month_close
from app.services.settings import (
    OrganisationSettings,
    get_settings,
    opened_project_settings,
    parse_project,
    project_problems,
    save_project_settings,
    save_settings,
)
from ui.certificate_widgets import CertificateSettingsBox
from ui.context import AppContext
from ui.edits import Values, reshow, typed
from ui.forms import FieldForm, combo, line_edit, set_combo_data, spin_box
from ui.forms.project_settings import ProjectSettingsFields
from ui.gdpr_settings import PrivacySettings
from ui.month_panel import confirm_closed_change
from ui.pages.base import DataPage
from ui.stale_edit import settle_stale_edit
from ui.widgets import heading

LANGUAGE_CHOICES = (("Svenska", "sv"), ("English", "en"))  # each language in its own name


class Page(DataPage):
    tables = frozenset({"settings", "project_settings", "gdpr_audit"})  # the audit log is shown here
    opened_version: int | None = None  # of the project's settings in the form (app/concurrency.py)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self._stored: OrganisationSettings | None = None
        self._shown: Values | None = None  # the stored values as put in the fields (ui/edits.py)
        outer = QVBoxLayout(self)
        self.heading = heading(self.title())
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        outer.addWidget(self.heading)

        body = QWidget()
        layout = QVBoxLayout(body)
        self.form = FieldForm()
        f = self.form
        self.organisation_name = f.add("organisation_name", _("Organisation:"), line_edit())
        self.programme_name = f.add("programme_name", _("Programme:"), line_edit())
        self.place = f.add("place", _("Place (on documents):"), line_edit())
        self.signatory_name = f.add("signatory_name", _("Signatory's name:"), line_edit())
        self.signatory_title = f.add("signatory_title", _("Signatory's title:"), line_edit())
        logo_row = QWidget()
        logo_layout = QHBoxLayout(logo_row)
        logo_layout.setContentsMargins(0, 0, 0, 0)
        self.logo_path = line_edit(placeholder=_("A PNG or JPEG file"))
        self.logo_path.setObjectName("field_logo_path")
        self.logo_path.setAccessibleName(_("Logo"))
        self.logo_button = QPushButton(_("Choose…"))
        self.logo_button.setAccessibleName(_("Choose logo file"))
        self.logo_button.clicked.connect(self.choose_logo)
        self.logo_clear = QPushButton(_("Remove"))
        self.logo_clear.setAccessibleName(_("Remove logo"))
        self.logo_clear.clicked.connect(lambda: self.logo_path.setText(""))
        logo_layout.addWidget(self.logo_path, 1)
        logo_layout.addWidget(self.logo_button)
        logo_layout.addWidget(self.logo_clear)
        f.add("logo_path", _("Logo:"), logo_row)
        logo_row.setObjectName("logo_row")
        self.logo_preview = QLabel()
        self.logo_preview.setObjectName("logo_preview")
        self.logo_preview.setFixedHeight(60)
        f.add_widget(self.logo_preview)
        self.logo_path.textChanged.connect(self._update_preview)
        self.default_min_attendance = f.add(
            "default_min_attendance", _("Default minimum attendance:"), spin_box(0, 100, 80, " %")
        )
        self.hours_rounding = f.add(
            "hours_rounding",
            _("Hours in the time report:"),
            combo([(_("Exact (with decimals)"), "exact"), (_("Whole hours, rounded down"), "floor")]),
        )
        self.language = f.add("language", _("Language:"), combo(LANGUAGE_CHOICES))
        self.project = ProjectSettingsFields(f)
        layout.addWidget(self.form)
        note = QLabel(_("The language applies to the whole program, including standard dialogs."))
        note.setWordWrap(True)
        layout.addWidget(note)
        self.certificates = CertificateSettingsBox(ctx)
        layout.addWidget(self.certificates)
        server_row = QHBoxLayout()
        self.server_button = QPushButton(_("Database server…"))
        self.server_button.setObjectName("database_server")
        self.server_button.clicked.connect(self.edit_server)
        server_row.addWidget(QLabel(_("Database: {path}").format(path=ctx.db.display_name)), 1)
        server_row.addWidget(self.server_button)
        layout.addLayout(server_row)

        buttons = QHBoxLayout()
        self.save_button = QPushButton(_("Save"))
        self.save_button.setObjectName("save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton(_("Revert"))
        self.revert_button.setObjectName("revert")
        self.revert_button.clicked.connect(self.revert)
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        self.status = QLabel()
        self.status.setObjectName("status")
        layout.addWidget(self.status)
        self.privacy = PrivacySettings(ctx)  # data protection: retention, notices, audit log (GDPR)
        layout.addWidget(self.privacy)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        body.setMaximumWidth(720)
        outer.addWidget(scroll, 1)
        QWidget.setTabOrder(self.project.footer, self.revert_button)
        QWidget.setTabOrder(self.revert_button, self.save_button)

    @staticmethod
    def title() -> str:
        return _("Settings")

    def apply_changes(self, changes) -> None:
        self.refresh()  # what is being typed stays (show_data)

    def revert(self) -> None:
        """The stored values in every field, edits dropped."""
        self._shown = None
        self.refresh()

    def query(self):
        db = self.ctx.db
        return lambda: (get_settings(db), opened_project_settings(db), PrivacySettings.load(db),
                        CertificateSettingsBox.load(db))

    def show_data(self, data) -> None:
        """The stored values; a field the user has edited and not saved keeps the edit, and the
        page says when the stored value under an edit changed (an outside change: a sync)."""
        if self._shown is None:
            self._show_stored(data)
            self._shown = typed(self)
            return
        opened = self.opened_version
        self._shown, changed = reshow(self, self._shown, lambda: self._show_stored(data))
        if changed:
            self.opened_version = opened  # an edit sits on a project value changed elsewhere: Save asks
            self.status.setText(_("Settings you are editing were changed elsewhere (by a sync or another window). Your edits are kept: Save stores them, Revert shows the stored values."))

    def _show_stored(self, data) -> None:
        settings, (project, self.opened_version), privacy, certificates = data
        self._stored = settings
        self.privacy.show_data(privacy)
        self.form.clear_problems()
        self.status.clear()
        self.organisation_name.setText(settings.organisation_name)
        self.programme_name.setText(settings.programme_name)
        self.place.setText(settings.place)
        self.signatory_name.setText(settings.signatory_name)
        self.signatory_title.setText(settings.signatory_title)
        self.logo_path.setText(settings.logo_path)
        self.default_min_attendance.setValue(int(settings.default_min_attendance))
        set_combo_data(self.hours_rounding, settings.hours_rounding)
        set_combo_data(self.language, settings.language)
        self.project.set_data(project)
        self.certificates.show_data(certificates)

    def _reload_detail(self) -> None:
        """"Take theirs" of the project's settings: the saved values in its fields (the other
        fields keep their edits)."""
        project, self.opened_version = opened_project_settings(self.ctx.db)
        self.project.set_data(project)
        now = typed(self)
        for attr in self.project.values():
            widget = self.form.widgets[attr]
            if widget in now:
                self._shown[widget] = now[widget]

    def values(self) -> OrganisationSettings:
        base = self._stored or OrganisationSettings()
        return replace(
            base,
            organisation_name=self.organisation_name.text().strip(),
            programme_name=self.programme_name.text().strip(),
            place=self.place.text().strip(),
            signatory_name=self.signatory_name.text().strip(),
            signatory_title=self.signatory_title.text().strip(),
            logo_path=self.logo_path.text().strip(),
            default_min_attendance=self.default_min_attendance.value(),
            hours_rounding=self.hours_rounding.currentData(),
            language=self.language.currentData(),
        )

    def edit_server(self) -> None:
        from ui.server_dialog import ServerDialog

        ServerDialog(self).open()

    def choose_logo(self) -> None:
        from ui.folders import last_folder, remember

        path, _filter = QFileDialog.getOpenFileName(
            self, _("Choose logo file"), self.logo_path.text() or last_folder(), _("Images (*.png *.jpg *.jpeg)")
        )
        if path:
            remember(path)
            self.logo_path.setText(path)

    def _update_preview(self, path: str) -> None:
        pixmap = QPixmap(path) if path and Path(path).is_file() else QPixmap()
        if pixmap.isNull():
            self.logo_preview.clear()
        else:
            self.logo_preview.setPixmap(
                pixmap.scaledToHeight(56, Qt.TransformationMode.SmoothTransformation)
            )

    def save(self) -> bool:
        """Save what the form shows. On a problem nothing is saved and every input keeps its text."""
        values = self.values()
        self.form.clear_problems()
        logo = values.logo_path
        if logo and (not Path(logo).is_file() or QPixmap(logo).isNull()):
            self.form.set_problem("logo_path", _("{path} is not a PNG or JPEG image.").format(path=logo))
            return False
        certificates = self.certificates.check()
        if certificates is None:
            return False
        if not confirm_closed_change(self, month_close.impact_of_rounding(self.ctx.db, values.hours_rounding)):
            return False
        try:
            project = parse_project(self.project.values())
            if project_problems(project):
                raise ValidationError(project_problems(project))
            with initiated_by(self):
                # first the one that may meet a colleague's save (StaleEdit: nothing saved yet)
                save_project_settings(self.ctx.db, project, self.opened_version)
                save_settings(self.ctx.db, values)
        except ValidationError as exc:
            self.form.show_problems(exc)
            return False
        except StaleEdit as exc:
            return settle_stale_edit(self, exc)
        with initiated_by(self):
            self.certificates.save(certificates)
        self._stored = values
        self._shown = typed(self)
        self.status.setText(_("Settings saved."))
        return True
