"""The participant's project data on the participant's form: protected personal data, and what SCB
asks when a participant ends (start and end date, exit reason, formal qualification, status at exit,
employment terms and extent), each code with ESF's wording. The proposed dates (first attended
session; the end of the last course, or the withdrawal) are shown and taken with one click."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

from app.i18n import N_, _, format_date
from app.services.project_data import CODES, ProposedDates
from ui.forms import FieldForm, combo, line_edit, set_combo_data

CODE_LABELS = {
    "exit_reason": N_("Exit reason:"),
    "formal_qualification": N_("Formal qualification:"),
    "exit_status": N_("Status at exit:"),
    "employment_terms": N_("Employment terms:"),
    "employment_extent": N_("Extent of employment:"),
}


def _iso(value: date | str | None) -> str:
    return value.isoformat() if isinstance(value, date) else (value or "")


class ProjectFields:
    """Adds its rows to `form` (so problems show next to them) and reads them back."""

    def __init__(self, form: FieldForm):
        self._proposed = ProposedDates(None, None)
        self.protected = QCheckBox(_("Protected personal data"))
        self.protected.setToolTip(_("Name only on sign-in sheets; left out of lists printed for others."))
        form.add("protected", _("Protected identity:"), self.protected)
        self.project_start = form.add("project_start", _("Start in the project:"), line_edit(placeholder=_("YYYY-MM-DD")))
        self.project_end = form.add("project_end", _("End in the project:"), line_edit(placeholder=_("YYYY-MM-DD")))
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self.proposal = QLabel()
        self.proposal.setObjectName("project_proposal")
        self.proposal.setWordWrap(True)
        self.use_proposal = QPushButton(_("Use the proposed dates"))
        self.use_proposal.setObjectName("use_proposed_dates")
        self.use_proposal.clicked.connect(self.take_proposal)
        layout.addWidget(self.proposal, 1)
        layout.addWidget(self.use_proposal)
        form.add_widget(row)
        self.codes = {}
        for name, codes in CODES.items():
            items = [(_("(not stated)"), None)] + [(f"{number} {_(label)}", number) for number, label in codes.items()]
            self.codes[name] = form.add(name, _(CODE_LABELS[name]), combo(items))
            if name == "exit_reason":
                self.qualification = form.add(
                    "formal_qualification",
                    _(CODE_LABELS["formal_qualification"]),
                    combo([(_("(not stated)"), None), (_("Yes"), True), (_("No"), False)]),
                )

    def set_data(self, data) -> None:
        self.protected.setChecked(bool(data.protected))
        self.project_start.setText(_iso(data.project_start))
        self.project_end.setText(_iso(data.project_end))
        for name, box in self.codes.items():
            set_combo_data(box, getattr(data, name))
        set_combo_data(self.qualification, data.formal_qualification)
        self.set_proposed(ProposedDates(None, None))

    def set_proposed(self, proposed: ProposedDates) -> None:
        self._proposed = proposed
        parts = []
        if proposed.start:
            parts.append(_("start {date}").format(date=format_date(proposed.start)))
        if proposed.end:
            parts.append(_("end {date}").format(date=format_date(proposed.end)))
        self.proposal.setText(_("Proposed: {dates}").format(dates=", ".join(parts)) if parts else "")
        self.use_proposal.setEnabled(bool(parts))

    def take_proposal(self) -> None:
        if self._proposed.start:
            self.project_start.setText(self._proposed.start.isoformat())
        if self._proposed.end:
            self.project_end.setText(self._proposed.end.isoformat())

    def values(self) -> dict:
        values = {
            "protected": self.protected.isChecked(),
            "project_start": self.project_start.text().strip() or None,
            "project_end": self.project_end.text().strip() or None,
            "formal_qualification": self.qualification.currentData(),
        }
        values.update({name: box.currentData() for name, box in self.codes.items()})
        return values
