"""The ESF project's settings on the Settings page: case number, project name, unit cost (Lönegrupp
1), project dates and the form of the time report. They are shared with every laptop through sync
(app.services.settings.ProjectSettings), which the page says."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QLabel

from app.i18n import _, format_decimal
from app.services.settings import ProjectSettings
from ui.forms import FieldForm, combo, line_edit, set_combo_data


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


class ProjectSettingsFields:
    """Adds its rows to `form`; `values()` gives text for app.services.settings.parse_project."""

    def __init__(self, form: FieldForm):
        note = QLabel(_("ESF project: the same on every laptop (shared through sync); printed on every document for the funder."))
        note.setObjectName("project_settings_note")
        note.setWordWrap(True)
        form.add_widget(note)
        self.case_number = form.add("case_number", _("ESF case number:"), line_edit(placeholder=_("e.g. 2020/00123")))
        self.project_name = form.add("project_name", _("Project name:"), line_edit())
        self.unit_cost = form.add(
            "unit_cost", _("Unit cost per hour (SEK):"), line_edit(placeholder=_("Lönegrupp 1, from the decision"))
        )
        self.project_start = form.add("project_start", _("Project start:"), line_edit(placeholder=_("YYYY-MM-DD")))
        self.project_end = form.add("project_end", _("Project end:"), line_edit(placeholder=_("YYYY-MM-DD")))
        self.layout = form.add(
            "time_report_layout",
            _("Time report layout:"),
            combo([(_("A line per date and course"), "lines"), (_("ESF's day grid (days 1–31)"), "grid")]),
        )
        self.footer = form.add(
            "time_report_footer",
            _("Time report footer:"),
            combo([(_("Only signed originals are valid"), "originals"), (_("None (verified by e-mail)"), "none")]),
        )

    def set_data(self, project: ProjectSettings) -> None:
        self.case_number.setText(project.case_number)
        self.project_name.setText(project.project_name)
        self.unit_cost.setText("" if project.unit_cost is None else format_decimal(project.unit_cost, 2).replace("\u00a0", ""))
        self.project_start.setText(_iso(project.project_start))
        self.project_end.setText(_iso(project.project_end))
        set_combo_data(self.layout, project.time_report_layout)
        set_combo_data(self.footer, project.time_report_footer)

    def values(self) -> dict[str, str]:
        return {
            "case_number": self.case_number.text(),
            "project_name": self.project_name.text(),
            "unit_cost": self.unit_cost.text(),
            "project_start": self.project_start.text(),
            "project_end": self.project_end.text(),
            "time_report_layout": self.layout.currentData(),
            "time_report_footer": self.footer.currentData(),
        }
