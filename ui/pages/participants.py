"""The Participants page: the list (name, employer, birth date, masked personnummer) filtered
as you type, the edit form with a message next to each field, and the participant's courses
with their status, attendance percent and certificates.

Built for large programmes: the list is loaded once (one query) and filtered in memory; after a
save only the changed participant's row is fetched again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.concurrency import StaleEdit
from app.errors import NotFound, UserError, ValidationError
from app.gdpr import notice
from app.i18n import N_, _, format_attendance
from app.services import month_close
from app.services import participants as participant_service
from app.services.companies import list_companies
from app.services.participants import ParticipantData, ParticipantDetail, ParticipantRow
from app.services.project_data import proposed_dates
from ui.context import AppContext
from ui.forms import FieldForm, combo, confirm, line_edit, set_combo_data, show_error
from ui.forms.participant_project import ProjectFields
from ui.gdpr_participant import ParticipantPrivacy
from ui.month_panel import confirm_closed_change
from ui.pages.base import DataPage
from ui.stale_edit import settle_stale_edit
from ui.table_models import Column, RowTableModel
from ui.tasks import run_read
from ui.undo import undo_stack
from ui.widgets import EntityTable, ListPanel, heading

PARTICIPANT_COLUMNS = [
    Column("name", N_("Name"), lambda r: r.full_name, searchable=True),
    Column("employer", N_("Employer"), lambda r: r.company_name, searchable=True),
    Column(
        "birth_date", N_("Birth date"), lambda r: r.birth_date, searchable=True,
        search=lambda r: r.birth_date.isoformat().replace("-", "") if r.birth_date else "",  # YYYYMMDD
    ),
    Column("personal_number", N_("Personal identity number"), lambda r: r.masked_personal_number),
]

STATUS_NAMES = {
    "enrolled": N_("Enrolled"),
    "waitlisted": N_("Waitlisted"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
}


def status_name(status: str) -> str:
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else status


def _percent(row) -> str:
    value = getattr(row, "percent", None)
    return "" if value is None else format_attendance(value)


def _certificates(row) -> int | None:
    return getattr(row, "certificates", None)


COURSE_COLUMNS = [
    Column("code", N_("Code"), lambda r: getattr(r, "code", None) or getattr(r, "course_code", "")),
    Column("title", N_("Title"), lambda r: getattr(r, "title", None) or getattr(r, "course_title", "")),
    Column(
        "status", N_("Status"),
        lambda r: getattr(r, "enrollment_status", None) or getattr(r, "status", ""),
        text=lambda r: status_name(getattr(r, "enrollment_status", None) or getattr(r, "status", "")),
    ),
    Column("percent", N_("Attendance"), lambda r: getattr(r, "percent", None), text=_percent, align_right=True),
    Column("certificates", N_("Certificates"), _certificates, align_right=True),
]


def course_summaries(db, participant_id: str) -> list | None:
    """The participant's courses with attendance (from the attendance service), or None when
    that service is not available."""
    try:
        from app.services.attendance import participant_course_summaries
    except ImportError:  # pragma: no cover - the attendance service ships with the app
        return None
    return participant_course_summaries(db, participant_id)


@dataclass(frozen=True)
class SelectedParticipant:
    """What the page shows of the selected participant, read in a worker (None: gone)."""

    id: str
    detail: ParticipantDetail | None
    courses: list | None = None
    form: bool = False  # read for the form too (else the courses only)
    proposed: Any = None
    informed_on: date | None = None
    companies: list[tuple[str, str]] | None = None  # the employer choices, when they were stale


def read_selected(db, participant_id: str, *, form: bool, companies: bool) -> SelectedParticipant:
    """The participant's courses, and for the form their record, proposed project dates and
    informed date (and the employer choices)."""
    try:
        detail = participant_service.get_participant(db, participant_id)
    except NotFound:
        return SelectedParticipant(participant_id, None)
    choices = [(c.id, c.name) for c in list_companies(db)] if companies else None
    if not form:
        return SelectedParticipant(participant_id, detail, course_summaries(db, participant_id), companies=choices)
    return SelectedParticipant(
        participant_id, detail, course_summaries(db, participant_id), form=True,
        proposed=proposed_dates(db, participant_id),
        informed_on=notice.informed_on(db, participant_id),
        companies=choices,
    )


def read_rows(db, ids: list[str]) -> tuple[list[ParticipantRow], list[str]]:
    """The list rows of changed participants, and the ids no longer there."""
    fresh, removed = [], []
    for participant_id in ids:
        try:
            fresh.append(row_from_detail(participant_service.get_participant(db, participant_id)))
        except NotFound:
            removed.append(participant_id)
    return fresh, removed


def row_from_detail(detail: ParticipantDetail) -> ParticipantRow:
    d = detail.data
    return ParticipantRow(
        id=detail.id,
        first_name=d.first_name,
        last_name=d.last_name,
        full_name=f"{d.first_name} {d.last_name}",
        masked_personal_number=detail.masked_personal_number,
        birth_date=detail.birth_date,
        company_id=d.company_id,
        company_name=detail.company_name,
        email=d.email,
    )


class ParticipantForm(FieldForm):
    """The personnummer is shown masked; typing a new number replaces it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._stored_pnr = ""
        self._masked = ""
        self.first_name = self.add("first_name", _("First name:"), line_edit())
        self.last_name = self.add("last_name", _("Last name:"), line_edit())
        self.personal_number = self.add(
            "personal_number", _("Personal identity number:"), line_edit(placeholder=_("YYYYMMDD-NNNN"))
        )
        self.gender = self.add(
            "gender",
            _("Gender:"),
            combo([(_("From the personal identity number"), ""), (_("Female"), "female"), (_("Male"), "male")]),
        )
        self.company = combo([(_("(no employer)"), None)])
        self.add("company_id", _("Employer:"), self.company)
        self.email = self.add("email", _("E-mail:"), line_edit())
        self.phone = self.add("phone", _("Phone:"), line_edit())
        self.project = ProjectFields(self)

    def set_companies(self, companies: list[tuple[str, str]]) -> None:
        current = self.company.currentData()
        self.company.blockSignals(True)
        self.company.clear()
        self.company.addItem(_("(no employer)"), None)
        for company_id, name in companies:
            self.company.addItem(name, company_id)
        set_combo_data(self.company, current)
        self.company.blockSignals(False)

    def set_data(self, data: ParticipantData | None, masked: str = "") -> None:
        data = data or ParticipantData("", "", "")
        self.clear_problems()
        self._stored_pnr = data.personal_number
        self._masked = masked
        self.first_name.setText(data.first_name)
        self.last_name.setText(data.last_name)
        self.personal_number.setText(masked or data.personal_number)
        set_combo_data(self.gender, data.gender)
        set_combo_data(self.company, data.company_id)
        if self.company.findData(data.company_id) < 0:
            self.company.setCurrentIndex(0)
        self.email.setText(data.email)
        self.phone.setText(data.phone)
        self.project.set_data(data)

    def data(self) -> ParticipantData:
        typed = self.personal_number.text().strip()
        pnr = self._stored_pnr if self._masked and typed == self._masked else typed
        return ParticipantData(
            first_name=self.first_name.text(),
            last_name=self.last_name.text(),
            personal_number=pnr,
            gender=self.gender.currentData() or "",
            email=self.email.text(),
            phone=self.phone.text(),
            company_id=self.company.currentData(),
            **self.project.values(),
        )


class Page(DataPage):
    tables = frozenset({"participants", "companies", "enrollments", "attendance", "certificates", "courses", "sessions"})
    opened_version: int | None = None  # of the participant in the form (app/concurrency.py)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.current_id: str | None = None
        self._select_after_load: str | None = None
        self._companies_stale = True
        self._reads = 0  # reads of the selected participant or changed rows under way
        self.attendance_available = True

        outer = QVBoxLayout(self)
        outer.addWidget(heading(self.title()))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter, 1)

        panel = ListPanel(
            PARTICIPANT_COLUMNS,
            name="participants_table",
            search_hint=_("Search name, employer or birth date…"),
            search_name=_("Search participants"),
            table_name=_("Participants"),
            new_text=_("New participant"),
            new_tip=_("New participant (Ctrl+N)"),
            delete_tip=_("Delete the selected participant (Delete)"),
            count_texts=(N_("{shown} of {total} participants"), N_("{total} participants")),
            on_new=self.new_participant,
            on_delete=self.delete_participant,
            parent=self,
        )
        self.panel = panel
        self.search, self.model, self.table = panel.search, panel.model, panel.table
        self.new_button, self.delete_button, self.count_label = panel.new_button, panel.delete_button, panel.count_label
        splitter.addWidget(panel)

        self.tabs = QTabWidget()
        details = QWidget()
        details_layout = QVBoxLayout(details)
        self.detail_title = QLabel()
        self.detail_title.setObjectName("detail_title")
        details_layout.addWidget(self.detail_title)
        self.form = ParticipantForm()
        details_layout.addWidget(self.form)
        form_buttons = QHBoxLayout()
        self.save_button = QPushButton(_("Save"))
        self.save_button.setObjectName("save")
        self.save_button.setToolTip(_("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton(_("Revert"))
        self.revert_button.setObjectName("revert")
        self.revert_button.clicked.connect(self._reload_detail)
        form_buttons.addStretch(1)
        form_buttons.addWidget(self.revert_button)
        form_buttons.addWidget(self.save_button)
        details_layout.addLayout(form_buttons)
        self.privacy = ParticipantPrivacy(ctx)  # informed date, register extract, erasure (GDPR)
        self.privacy.erased.connect(lambda _pid: self._reload_detail())
        details_layout.addWidget(self.privacy)
        details_layout.addStretch(1)
        scroll = QScrollArea()  # the project data makes the form tall: it scrolls on a small screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(details)
        self.tabs.addTab(scroll, _("Details"))

        courses = QWidget()
        courses_layout = QVBoxLayout(courses)
        self.courses_model = RowTableModel(COURSE_COLUMNS, self, key=lambda r: r.course_id)
        self.courses_table = EntityTable(self.courses_model, _("The participant's courses"), fit=True)
        self.courses_table.setObjectName("participant_courses")
        self.courses_note = QLabel()
        self.courses_note.setWordWrap(True)
        courses_layout.addWidget(self.courses_table, 1)
        courses_layout.addWidget(self.courses_note)
        self.tabs.addTab(courses, _("Courses and certificates"))
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.table.current_changed.connect(self._on_current)
        QShortcut(QKeySequence.StandardKey.New, self, activated=self.new_participant)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.table, activated=self.delete_participant,
                  context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)
        QWidget.setTabOrder(self.search, self.table)
        QWidget.setTabOrder(self.table, self.new_button)
        QWidget.setTabOrder(self.new_button, self.delete_button)
        QWidget.setTabOrder(self.delete_button, self.tabs)
        self._set_detail_enabled(False)
        self.table.set_column_widths([180, 190, 100, 130])

    @staticmethod
    def title() -> str:
        return _("Participants")

    # --- loading ------------------------------------------------------------------------------

    def query(self):
        db = self.ctx.db
        return lambda: participant_service.list_participants(db)

    def show_data(self, rows) -> None:
        self.model.merge_rows(rows)
        if self._select_after_load is not None:
            self.table.select_id(self._select_after_load)
            self._select_after_load = None
        # the employer list of the form (1,500 companies with counts) is loaded when a form is
        # first shown, not with the list
        self._companies_stale = True
        self.panel.update_count()
        if self.current_id is not None:
            self._reload_courses()  # and the employer choices

    def _load_companies(self) -> None:
        """For a new participant's form (an open one gets them with its record)."""
        self._show_companies([(c.id, c.name) for c in list_companies(self.ctx.db)])

    def _show_companies(self, companies: list[tuple[str, str]]) -> None:
        self.form.set_companies(companies)
        self._companies_stale = False

    def apply_changes(self, changes) -> None:
        ids = changes.ids("participants")
        if changes.touches(["companies"]) or ids is None or len(ids) > 50:
            self.refresh()  # employer names may have changed everywhere
            return
        if ids:
            self._refresh_participants(sorted(ids))
        if self.current_id is not None and changes.touches(self.tables - {"participants", "companies"}):
            self._reload_courses()
        self.loaded.emit()

    def _refresh_participants(self, ids: list[str]) -> None:
        """Fetch only the changed participants (a few queries instead of the whole list)."""
        db = self.ctx.db
        self._reads += 1
        run_read(self, lambda: read_rows(db, ids), self._rows_read, self._read_failed)

    def _rows_read(self, result: tuple[list[ParticipantRow], list[str]]) -> None:
        self._reads -= 1
        fresh, removed = result
        self.model.update_rows(fresh, removed_ids=removed)
        self.panel.update_count()

    def _read_failed(self, exc: BaseException) -> None:
        self._reads -= 1
        show_error(self, exc)

    @property
    def loading(self) -> bool:
        """The list's load, or a read of the selected participant or of changed rows."""
        return super().loading or self._reads > 0

    def _set_detail_enabled(self, enabled: bool) -> None:
        self.tabs.setTabEnabled(1, enabled)
        self.delete_button.setEnabled(enabled)

    def _on_current(self, row: ParticipantRow | None) -> None:
        if row is not None and row.id != self.current_id:
            self.current_id = row.id
            self._reload_detail()

    def _reload_detail(self) -> None:
        """The selected participant's form and courses, read in a worker."""
        if self.current_id is None:
            self.form.set_data(None)
            self.privacy.set_participant(None)
            return
        self._read_selected(form=True)

    def _reload_courses(self) -> None:
        """Only the courses: the form keeps what is being typed."""
        if self.current_id is not None:
            self._read_selected(form=False)

    def _read_selected(self, *, form: bool) -> None:
        db, participant_id, companies = self.ctx.db, self.current_id, self._companies_stale
        self._reads += 1
        run_read(self, lambda: read_selected(db, participant_id, form=form, companies=companies),
                 self._selected_read, self._read_failed)

    def _selected_read(self, selected: SelectedParticipant) -> None:
        self._reads -= 1
        if selected.id != self.current_id:
            return  # another participant was selected meanwhile: its own read follows
        if selected.detail is None:
            self.current_id = None
            self.form.set_data(None)
            self.privacy.set_participant(None)
            self._set_detail_enabled(False)
            return
        if selected.companies is not None:
            self._show_companies(selected.companies)
        if selected.form:
            detail = selected.detail
            self.form.set_data(detail.data, detail.masked_personal_number)
            self.opened_version = detail.version
            self.form.project.set_proposed(selected.proposed)
            self.privacy.show_informed(selected.id, selected.informed_on)
            self.detail_title.setText(f"{detail.data.first_name} {detail.data.last_name}")
            self._set_detail_enabled(True)
        if selected.courses is None:
            self.attendance_available = False
            self.courses_model.set_rows(selected.detail.enrollments)
            self.courses_note.setText(_("Attendance is not available."))
        else:
            self.courses_model.set_rows(selected.courses)
            self.courses_note.setText("")

    # --- actions ------------------------------------------------------------------------------

    def new_participant(self) -> None:
        self.table.clearSelection()
        self.current_id = None
        if self._companies_stale:
            self._load_companies()
        self.form.set_data(None)
        self.detail_title.setText(_("New participant"))
        self.courses_model.set_rows([])
        self._set_detail_enabled(False)
        self.tabs.setCurrentIndex(0)
        self.form.first_name.setFocus()

    def save(self) -> bool:
        data = self.form.data()
        self.form.clear_problems()
        try:
            if self.current_id is None:
                self.current_id = participant_service.create_participant(self.ctx.db, data)
            else:
                if not confirm_closed_change(self, month_close.impact_of_participant(self.ctx.db, self.current_id, data)):
                    return False
                # the detail reloads in a worker: a save before it arrives starts from this version
                self.opened_version = participant_service.update_participant(
                    self.ctx.db, self.current_id, data, self.opened_version)
        except StaleEdit as exc:
            return settle_stale_edit(self, exc)
        except ValidationError as exc:
            self.form.show_problems(exc)
            return False
        except UserError as exc:
            show_error(self, exc)
            return False
        participant_id = self.current_id
        if self.model.row_for(participant_id) is None:  # the page had not loaded yet
            self._select_after_load = participant_id
            self.refresh()
        else:
            self.table.select_id(participant_id)
        self._reload_detail()
        self._notify(_("{name} saved.").format(name=f"{data.first_name.strip()} {data.last_name.strip()}"))
        return True

    def delete_participant(self) -> None:
        row = self.model.row_for(self.current_id) if self.current_id else None
        if row is None:
            return
        if not confirm(
            self, _("Delete participant"), _("Delete {name}? You can undo this.").format(name=row.full_name)
        ):
            return
        try:
            participant_service.delete_participant(self.ctx.db, row.id)
        except UserError as exc:
            show_error(self, exc)
            return
        db = self.ctx.db
        text = _("Participant {name} deleted").format(name=row.full_name)
        undo_stack(self.ctx).push(
            text, lambda: participant_service.restore_participant(db, row.id)
        )
        self.current_id = None
        self.form.set_data(None)
        self.detail_title.clear()
        self.courses_model.set_rows([])
        self._set_detail_enabled(False)
        self._notify(text)

    def _notify(self, message: str) -> None:
        window = self.window()
        if hasattr(window, "notify"):
            window.notify(message)
