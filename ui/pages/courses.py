"""The Courses page: the course list (status, dates, provider, enrolled/capacity), the course
editor with its sessions (one at a time or a weekly series that skips public holidays, shown
as a warning before saving; cancel and reinstate; teacher and location per session) and the
enrollment (search participants or take a company's employees; waitlist when full; withdraw)."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.concurrency import StaleEdit
from app.errors import NotFound, UserError, ValidationError
from app.i18n import N_, _, format_date, format_hours
from app.services import courses as course_service
from app.services import enrollments as enrollment_service
from app.services import month_close
from app.services.companies import company_choices
from app.services.courses import CourseData, CourseRow, SessionData, SessionRow
from app.services.participants import list_participants
from app.services.providers import list_providers
from ui.context import AppContext
from ui.forms import (
    FieldForm,
    combo,
    confirm,
    line_edit,
    set_combo_data,
    show_error,
    spin_box,
    text_edit,
)
from ui.month_panel import confirm_closed_change
from ui.pages.base import DataPage
from ui.pages.participants import status_name
from ui.stale_edit import settle_stale_edit
from ui.table_models import Column, RowTableModel
from ui.undo import undo_stack
from ui.widgets import (
    EntityTable,
    FormDialog,
    ListPanel,
    heading,
)

COURSE_STATUS = {"planned": N_("Planned"), "running": N_("Running"), "finished": N_("Finished")}
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))


def places(row: CourseRow) -> str:
    text = f"{row.enrolled}/{row.capacity}" if row.capacity is not None else str(row.enrolled)
    if row.waitlisted:
        text += " " + _("(+{n} waitlisted)").format(n=row.waitlisted)
    return text


COURSE_COLUMNS = [
    Column("code", N_("Code"), lambda r: r.code, searchable=True),
    Column("title", N_("Title"), lambda r: r.title, searchable=True),
    Column("status", N_("Status"), lambda r: r.status, text=lambda r: _(COURSE_STATUS.get(r.status, r.status))),
    Column("first_date", N_("First date"), lambda r: r.first_date),
    Column("last_date", N_("Last date"), lambda r: r.last_date),
    Column("provider", N_("Provider"), lambda r: r.provider_name, searchable=True),
    Column("places", N_("Enrolled/places"), lambda r: r.enrolled, text=places, align_right=True),
]

SESSION_COLUMNS = [
    Column("date", N_("Date"), lambda r: r.date),
    Column("weekday", N_("Day"), lambda r: r.date.weekday(), text=lambda r: _(WEEKDAYS[r.date.weekday()])),
    Column("start", N_("Start"), lambda r: r.start),
    Column("end", N_("End"), lambda r: r.end),
    Column("location", N_("Location"), lambda r: r.location),
    Column("teacher", N_("Teacher"), lambda r: r.teacher),
    Column("cancelled", N_("Cancelled"), lambda r: r.cancelled, text=lambda r: _("Cancelled") if r.cancelled else ""),
]

class SessionModel(RowTableModel):
    """The course's sessions; a cancelled one is shown greyed and struck through."""

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.FontRole) and index.isValid():
            if self.row(index.row()).cancelled:
                if role == Qt.ItemDataRole.ForegroundRole:
                    return QBrush(QColor("#777777"))
                font = QFont()
                font.setStrikeOut(True)
                return font
        return super().data(index, role)


ENROLLMENT_COLUMNS = [
    Column("name", N_("Name"), lambda r: r.full_name, searchable=True),
    Column("personal_number", N_("Personal identity number"), lambda r: r.masked_personal_number),
    Column("company", N_("Employer"), lambda r: r.company_name, searchable=True),
    Column("status", N_("Status"), lambda r: r.status, text=lambda r: status_name(r.status)),
]

CANDIDATE_COLUMNS = [
    Column("name", N_("Name"), lambda r: r.full_name),
    Column("employer", N_("Employer"), lambda r: r.company_name),
    Column("birth_date", N_("Birth date"), lambda r: r.birth_date),
]


def _qdate(value: date) -> QDate:
    return QDate(value.year, value.month, value.day)


def date_edit(value: date) -> QDateEdit:
    edit = QDateEdit(_qdate(value))
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setCalendarPopup(True)
    return edit


class SessionDialog(FormDialog):
    def __init__(self, ctx: AppContext, course_id: str, session: SessionRow | None, defaults: CourseData,
                 parent: QWidget | None = None):
        super().__init__(_("Session") if session is None else _("Edit session"), parent)
        self.ctx, self.course_id, self.session = ctx, course_id, session
        self.opened_version = session.version if session else None  # app/concurrency.py
        f = self.form
        self.date = f.add("date", _("Date:"), line_edit(session.date.isoformat() if session else "", _("YYYY-MM-DD")))
        # the record's names of the times (a StaleEdit's fields) belong to these inputs
        self.start = f.add("start", _("Start:"), line_edit(session.start.strftime("%H:%M") if session else "08:00", _("HH:MM")),
                           aliases=("start_time",))
        self.end = f.add("end", _("End:"), line_edit(session.end.strftime("%H:%M") if session else "12:00", _("HH:MM")),
                         aliases=("end_time",))
        self.location = f.add("location", _("Location:"), line_edit(session.location if session else defaults.location))
        self.teacher = f.add("teacher", _("Teacher:"), line_edit(session.teacher if session else defaults.teacher))

    def submit(self):
        data = SessionData(self.date.text(), self.start.text(), self.end.text(), self.location.text(), self.teacher.text())
        if self.session is None:
            return course_service.add_session(self.ctx.db, self.course_id, data)
        session_id = self.session.id
        impact = month_close.impact_of_session(self.ctx.db, session_id, day=data.date, start=data.start, end=data.end)
        if not confirm_closed_change(self, impact):
            return False
        try:
            course_service.update_session(self.ctx.db, session_id, data, self.opened_version)
        except StaleEdit as exc:
            return settle_stale_edit(self, exc)
        return session_id

    save = submit  # settle_stale_edit's "keep mine"

    def _reload_detail(self) -> None:
        """"Take theirs": the saved session in the inputs."""
        saved = course_service.get_session(self.ctx.db, self.session.id)
        self.date.setText(saved.date.isoformat())
        self.start.setText(saved.start.strftime("%H:%M"))
        self.end.setText(saved.end.strftime("%H:%M"))
        self.location.setText(saved.location)
        self.teacher.setText(saved.teacher)
        self.opened_version = saved.version


class SeriesDialog(FormDialog):
    """A weekly series. The dates it will create and the public holidays it skips are shown
    (as a warning) before anything is saved."""

    def __init__(self, ctx: AppContext, course_id: str, defaults: CourseData, parent: QWidget | None = None):
        super().__init__(_("Add a series of sessions"), parent)
        self.ctx, self.course_id = ctx, course_id
        f = self.form
        self.weekday = f.add("weekday", _("Weekday:"), combo([(_(name), i) for i, name in enumerate(WEEKDAYS)]))
        self.start = f.add("start", _("Start:"), line_edit("08:00", _("HH:MM")))
        self.end = f.add("end", _("End:"), line_edit("12:00", _("HH:MM")))
        today = date.today()
        self.first = f.add("first", _("From:"), date_edit(today))
        self.last = f.add("last", _("To:"), date_edit(today + timedelta(weeks=8)))
        self.location = f.add("location", _("Location:"), line_edit(defaults.location))
        self.teacher = f.add("teacher", _("Teacher:"), line_edit(defaults.teacher))
        self.preview = QLabel()
        self.preview.setObjectName("series_preview")
        self.preview.setWordWrap(True)
        self.warning = QLabel()
        self.warning.setObjectName("series_warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #8a5300;")
        self.extra.addWidget(self.preview)
        self.extra.addWidget(self.warning)
        self.plan = None
        for w in (self.start, self.end):
            w.textChanged.connect(self.update_preview)
        self.weekday.currentIndexChanged.connect(self.update_preview)
        self.first.dateChanged.connect(self.update_preview)
        self.last.dateChanged.connect(self.update_preview)
        self.update_preview()

    def _plan(self):
        return course_service.plan_series(
            self.weekday.currentData(), self.start.text(), self.end.text(),
            self.first.date().toPython(), self.last.date().toPython(),
        )

    def update_preview(self) -> None:
        try:
            self.plan = self._plan()
        except ValidationError:
            self.plan = None
            self.preview.setText(_("Fill in the series to see its dates."))
            self.warning.clear()
            return
        dates = self.plan.dates
        self.preview.setText(
            _("{n} sessions: {dates}").format(n=len(dates), dates=", ".join(format_date(d) for d in dates))
            if dates else _("The series has no dates.")
        )
        if self.plan.skipped:
            skipped = "; ".join(f"{format_date(d)} {name}" for d, name in self.plan.skipped)
            self.warning.setText(_("Public holidays are skipped: {days}").format(days=skipped))
        else:
            self.warning.clear()

    def submit(self):
        plan = self._plan()
        ids = course_service.add_series(
            self.ctx.db, self.course_id, plan, self.start.text(), self.end.text(),
            self.location.text(), self.teacher.text(),
        )
        return ids


class CourseForm(FieldForm):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.code = self.add("code", _("Code:"), line_edit())
        self.course_title = self.add("title", _("Title:"), line_edit())
        self.provider = combo([(_("(no provider)"), None)])
        self.new_provider_button = QPushButton(_("New provider…"))
        self.new_provider_button.setToolTip(_("Add a provider that is not in the list"))
        provider_row = QWidget()
        row = QHBoxLayout(provider_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.provider, 1)
        row.addWidget(self.new_provider_button)
        self.add("provider_id", _("Provider:"), provider_row)
        self.location = self.add("location", _("Location:"), line_edit())
        self.teacher = self.add("teacher", _("Teacher:"), line_edit())
        self.min_attendance = self.add(
            "min_attendance_percent", _("Minimum attendance for a certificate:"), spin_box(0, 100, 80, " %")
        )
        self.certificate_language = self.add(
            "certificate_language", _("Certificate language:"), combo([("Svenska", "sv"), ("English", "en")])
        )
        self.capacity = self.add("capacity", _("Places:"), line_edit(placeholder=_("empty = no limit")))
        self.description = self.add("description", _("Description:"), text_edit(height=60))
        self.learning_outcomes = self.add("learning_outcomes", _("Learning outcomes:"), text_edit(height=60))
        # for English certificates (empty: the Swedish text is printed)
        self.title_en = self.add("title_en", _("Title in English:"), line_edit())
        self.description_en = self.add("description_en", _("Description in English:"), text_edit(height=60))
        self.learning_outcomes_en = self.add("learning_outcomes_en", _("Learning outcomes in English:"), text_edit(height=60))

    def set_providers(self, providers: list[tuple[str, str]]) -> None:
        current = self.provider.currentData()
        self.provider.clear()
        self.provider.addItem(_("(no provider)"), None)
        for provider_id, name in providers:
            self.provider.addItem(name, provider_id)
        set_combo_data(self.provider, current)

    def set_data(self, data: CourseData | None, default_min: int = 80) -> None:
        data = data or CourseData(code="", title="", min_attendance_percent=default_min)
        self.clear_problems()
        self.code.setText(data.code)
        self.course_title.setText(data.title)
        set_combo_data(self.provider, data.provider_id)
        if self.provider.findData(data.provider_id) < 0:
            self.provider.setCurrentIndex(0)
        self.location.setText(data.location)
        self.teacher.setText(data.teacher)
        self.min_attendance.setValue(int(data.min_attendance_percent))
        set_combo_data(self.certificate_language, data.certificate_language)
        self.capacity.setText("" if data.capacity is None else str(data.capacity))
        self.description.setPlainText(data.description)
        self.learning_outcomes.setPlainText(data.learning_outcomes)
        self.title_en.setText(data.title_en)
        self.description_en.setPlainText(data.description_en)
        self.learning_outcomes_en.setPlainText(data.learning_outcomes_en)

    def data(self) -> CourseData:
        return CourseData(
            code=self.code.text(),
            title=self.course_title.text(),
            description=self.description.toPlainText(),
            learning_outcomes=self.learning_outcomes.toPlainText(),
            provider_id=self.provider.currentData(),
            location=self.location.text(),
            teacher=self.teacher.text(),
            min_attendance_percent=self.min_attendance.value(),
            certificate_language=self.certificate_language.currentData(),
            capacity=self.capacity.text().strip() or None,
            title_en=self.title_en.text(),
            description_en=self.description_en.toPlainText(),
            learning_outcomes_en=self.learning_outcomes_en.toPlainText(),
        )


class Page(DataPage):
    tables = frozenset({"courses", "sessions", "enrollments", "certificates", "providers", "companies", "participants"})
    opened_version: int | None = None  # of the course in the form (app/concurrency.py)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.current_id: str | None = None
        self.current_data: CourseData | None = None
        self._select_after_load: str | None = None
        self.dialog: FormDialog | None = None

        outer = QVBoxLayout(self)
        outer.addWidget(heading(self.title()))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter, 1)

        panel = ListPanel(
            COURSE_COLUMNS,
            name="courses_table",
            search_hint=_("Search code, title or provider…"),
            search_name=_("Search courses"),
            table_name=_("Courses"),
            new_text=_("New course"),
            new_tip=_("New course (Ctrl+N)"),
            delete_tip=_("Delete the selected course (Delete)"),
            count_texts=(N_("{shown} of {total} courses"), N_("{total} courses")),
            on_new=self.new_course,
            on_delete=self.delete_course,
            parent=self,
        )
        self.panel = panel
        self.search, self.model, self.table = panel.search, panel.model, panel.table
        self.new_button, self.delete_button, self.count_label = panel.new_button, panel.delete_button, panel.count_label
        splitter.addWidget(panel)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_details(), _("Details"))
        self.tabs.addTab(self._build_sessions(), _("Sessions"))
        self.tabs.addTab(self._build_enrollment(), _("Enrollment"))
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 620])

        self.table.current_changed.connect(self._on_current)
        self.form.new_provider_button.clicked.connect(self.new_provider)
        QShortcut(QKeySequence.StandardKey.New, self, activated=self.new_course)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.table, activated=self.delete_course,
                  context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)
        QWidget.setTabOrder(self.search, self.table)
        QWidget.setTabOrder(self.table, self.new_button)
        QWidget.setTabOrder(self.new_button, self.delete_button)
        QWidget.setTabOrder(self.delete_button, self.tabs)
        self._set_detail_enabled(False)
        self.table.set_column_widths([90, 200, 80, 90, 90, 130, 90])

    @staticmethod
    def title() -> str:
        return _("Courses")

    # --- construction ---------------------------------------------------------------------------

    def _build_details(self) -> QWidget:
        details = QWidget()
        layout = QVBoxLayout(details)
        self.detail_title = QLabel()
        self.detail_title.setObjectName("detail_title")
        layout.addWidget(self.detail_title)
        self.form = CourseForm()
        layout.addWidget(self.form)
        row = QHBoxLayout()
        self.save_button = QPushButton(_("Save"))
        self.save_button.setObjectName("save")
        self.save_button.setToolTip(_("Save (Ctrl+S)"))
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton(_("Revert"))
        self.revert_button.clicked.connect(self._reload_detail)
        row.addStretch(1)
        row.addWidget(self.revert_button)
        row.addWidget(self.save_button)
        layout.addLayout(row)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(details)
        return scroll

    def _build_sessions(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.sessions_model = SessionModel(SESSION_COLUMNS, self)
        self.sessions_table = EntityTable(self.sessions_model, _("Sessions"), fit=True)
        self.sessions_table.setObjectName("sessions_table")
        self.sessions_table.activated_row.connect(lambda _r: self.edit_session())
        self.sessions_table.current_changed.connect(self._update_session_buttons)
        self.sessions_summary = QLabel()
        layout.addWidget(self.sessions_table, 1)
        layout.addWidget(self.sessions_summary)
        row = QHBoxLayout()
        self.add_session_button = QPushButton(_("Add session…"))
        self.add_session_button.clicked.connect(self.open_session_dialog)
        self.add_series_button = QPushButton(_("Add series…"))
        self.add_series_button.clicked.connect(self.open_series_dialog)
        self.edit_session_button = QPushButton(_("Edit…"))
        self.edit_session_button.setAccessibleName(_("Edit session"))
        self.edit_session_button.clicked.connect(self.edit_session)
        self.cancel_session_button = QPushButton(_("Cancel session"))
        self.cancel_session_button.clicked.connect(self.toggle_cancelled)
        self.delete_session_button = QPushButton(_("Delete"))
        self.delete_session_button.setAccessibleName(_("Delete session"))
        self.delete_session_button.clicked.connect(self.delete_session)
        for b in (self.add_session_button, self.add_series_button, self.edit_session_button,
                  self.cancel_session_button, self.delete_session_button):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        return tab

    def _build_enrollment(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.enrollment_model = RowTableModel(ENROLLMENT_COLUMNS, self)
        self.enrollment_table = EntityTable(self.enrollment_model, _("Enrolled participants"), multi=True, fit=True)
        self.enrollment_table.setObjectName("enrollment_table")
        layout.addWidget(self.enrollment_table, 2)
        row = QHBoxLayout()
        self.enrollment_summary = QLabel()
        self.withdraw_button = QPushButton(_("Withdraw"))
        self.withdraw_button.setToolTip(_("Withdraw the selected participants; the first on the waitlist moves up"))
        self.withdraw_button.clicked.connect(self.withdraw_selected)
        self.import_button = QPushButton(_("Import participant list…"))
        self.import_button.clicked.connect(self.open_import_wizard)
        row.addWidget(self.enrollment_summary, 1)
        row.addWidget(self.import_button)
        row.addWidget(self.withdraw_button)
        layout.addLayout(row)

        add_box = QGroupBox(_("Add participants"))
        add_layout = QVBoxLayout(add_box)
        search_row = QHBoxLayout()
        self.candidate_search = QLineEdit()
        self.candidate_search.setPlaceholderText(_("Search participants by name, employer or birth date…"))
        self.candidate_search.setAccessibleName(_("Search participants to enroll"))
        self.candidate_search.setClearButtonEnabled(True)
        search_row.addWidget(self.candidate_search, 1)
        self.company_choice = QComboBox()
        self.company_choice.setAccessibleName(_("Company whose employees to list"))
        self.company_choice.setMinimumContentsLength(18)
        search_row.addWidget(self.company_choice)
        add_layout.addLayout(search_row)
        self.candidates_model = RowTableModel(CANDIDATE_COLUMNS, self)
        self.candidates_table = EntityTable(self.candidates_model, _("Participants to enroll"), multi=True, fit=True)
        self.candidates_table.setObjectName("candidates_table")
        self.candidates_table.activated_row.connect(lambda _r: self.enroll_selected())
        add_layout.addWidget(self.candidates_table, 1)
        self.enroll_button = QPushButton(_("Enroll selected"))
        self.enroll_button.clicked.connect(self.enroll_selected)
        add_layout.addWidget(self.enroll_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(add_box, 3)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.search_candidates)
        self.candidate_search.textChanged.connect(lambda _t: self._search_timer.start())
        self.company_choice.activated.connect(lambda _i: self.list_company_employees())
        return tab

    # --- loading ------------------------------------------------------------------------------

    def query(self):
        db = self.ctx.db
        return lambda: (course_service.course_overview(db), list_providers(db), company_choices(db))

    def show_data(self, data) -> None:
        courses, providers, companies = data
        self.model.merge_rows(courses)
        self.form.set_providers([(p.id, p.name) for p in providers])
        self._load_companies(companies)
        self.panel.update_count()
        if self._select_after_load is not None:
            self.table.select_id(self._select_after_load)
            self._select_after_load = None
        if self.current_id is not None:
            self._reload_related()

    def _load_companies(self, companies) -> None:
        current = self.company_choice.currentData()
        self.company_choice.clear()
        self.company_choice.addItem(_("All employees of a company…"), None)
        for company_id, name in companies:
            self.company_choice.addItem(name, company_id)
        set_combo_data(self.company_choice, current)

    def _set_detail_enabled(self, enabled: bool) -> None:
        self.tabs.setTabEnabled(1, enabled)
        self.tabs.setTabEnabled(2, enabled)
        self.delete_button.setEnabled(enabled)

    def _on_current(self, row: CourseRow | None) -> None:
        if row is not None and row.id != self.current_id:
            self.current_id = row.id
            self._reload_detail()

    def _reload_detail(self) -> None:
        if self.current_id is None:
            self.form.set_data(None)
            return
        try:
            detail = course_service.get_course(self.ctx.db, self.current_id)
        except NotFound:
            self.current_id = None
            self.form.set_data(None)
            self._set_detail_enabled(False)
            return
        self.current_data = detail.data
        self.form.set_data(detail.data)
        self.opened_version = detail.version
        self.detail_title.setText(f"{detail.data.code} – {detail.data.title}")
        self._set_detail_enabled(True)
        self._show_sessions(detail.sessions)
        self._show_enrollments()

    def _reload_related(self) -> None:
        try:
            sessions = course_service.list_sessions(self.ctx.db, self.current_id)
        except NotFound:
            return
        self._show_sessions(sessions)
        self._show_enrollments()

    def _show_sessions(self, sessions: list[SessionRow]) -> None:
        self.sessions_model.merge_rows(sessions)
        self.sessions_model.sort(0)
        active = [s for s in sessions if not s.cancelled]
        minutes = sum(s.minutes for s in active)
        self.sessions_summary.setText(
            _("{n} sessions, {hours} hours scheduled").format(n=len(active), hours=format_hours(minutes))
        )
        self._update_session_buttons(self.sessions_table.current_row())

    def _show_enrollments(self) -> None:
        rows = enrollment_service.list_enrollments(self.ctx.db, self.current_id)
        self.enrollment_model.merge_rows(rows)
        row = self.model.row_for(self.current_id)
        enrolled = sum(1 for r in rows if r.status in ("enrolled", "completed"))
        waitlisted = sum(1 for r in rows if r.status == "waitlisted")
        capacity = row.capacity if row is not None else None
        self.enrollment_summary.setText(
            _("{enrolled} enrolled of {places} places, {waitlisted} on the waitlist").format(
                enrolled=enrolled, places=capacity if capacity is not None else "∞", waitlisted=waitlisted
            )
        )

    def _update_session_buttons(self, session: SessionRow | None) -> None:
        has = session is not None
        for b in (self.edit_session_button, self.cancel_session_button, self.delete_session_button):
            b.setEnabled(has)
        self.cancel_session_button.setText(
            _("Reinstate session") if has and session.cancelled else _("Cancel session")
        )

    # --- course actions -------------------------------------------------------------------------

    def new_course(self) -> None:
        from app.services.settings import get_settings

        self.table.clearSelection()
        self.current_id = None
        self.current_data = None
        self.form.set_data(None, get_settings(self.ctx.db).default_min_attendance)
        self.detail_title.setText(_("New course"))
        self.sessions_model.set_rows([])
        self.enrollment_model.set_rows([])
        self._set_detail_enabled(False)
        self.tabs.setCurrentIndex(0)
        self.form.code.setFocus()

    def save(self) -> bool:
        data = self.form.data()
        self.form.clear_problems()
        try:
            if self.current_id is None:
                self.current_id = course_service.create_course(self.ctx.db, data)
            else:
                course_service.update_course(self.ctx.db, self.current_id, data, self.opened_version)
        except StaleEdit as exc:
            return settle_stale_edit(self, exc)
        except ValidationError as exc:
            self.form.show_problems(exc)
            return False
        except UserError as exc:
            show_error(self, exc)
            return False
        self._select_after_load = self.current_id
        self.refresh()
        self._reload_detail()
        self._notify(_("Course {code} saved.").format(code=data.code.strip()))
        return True

    def delete_course(self) -> None:
        row = self.model.row_for(self.current_id) if self.current_id else None
        if row is None:
            return
        if not confirm(self, _("Delete course"), _("Delete {name}? You can undo this.").format(name=f"{row.code} {row.title}")):
            return
        try:
            course_service.delete_course(self.ctx.db, row.id)
        except UserError as exc:
            show_error(self, exc)
            return
        db = self.ctx.db
        text = _("Course {code} deleted").format(code=row.code)
        undo_stack(self.ctx).push(text, lambda: course_service.restore_course(db, row.id))
        self.current_id = None
        self.form.set_data(None)
        self.detail_title.clear()
        self._set_detail_enabled(False)
        self.model.update_rows([], removed_ids=[row.id])
        self.panel.update_count()
        self._notify(text)

    def new_provider(self) -> str | None:
        """Add a provider by name and choose it for the course in the form."""
        from app.services.providers import create_provider

        name, ok = QInputDialog.getText(self, _("New provider"), _("Name of the provider:"))
        if not ok or not name.strip():
            return None
        try:
            provider_id = create_provider(self.ctx.db, name)
        except UserError as exc:
            show_error(self, exc)
            return None
        self.form.set_providers([(p.id, p.name) for p in list_providers(self.ctx.db)])
        set_combo_data(self.form.provider, provider_id)
        return provider_id

    # --- sessions -------------------------------------------------------------------------------

    def _defaults(self) -> CourseData:
        return self.current_data or CourseData(code="", title="")

    def open_session_dialog(self, session: SessionRow | None = None) -> SessionDialog | None:
        if self.current_id is None:
            return None
        self.dialog = SessionDialog(self.ctx, self.current_id, session or None, self._defaults(), self)
        self.dialog.saved.connect(lambda _r: self._after_session_change())
        self.dialog.open()
        return self.dialog

    def open_series_dialog(self) -> SeriesDialog | None:
        if self.current_id is None:
            return None
        self.dialog = SeriesDialog(self.ctx, self.current_id, self._defaults(), self)
        self.dialog.saved.connect(lambda _r: self._after_session_change())
        self.dialog.open()
        return self.dialog

    def edit_session(self) -> None:
        session = self.sessions_table.current_row()
        if session is not None:
            self.open_session_dialog(session)

    def _after_session_change(self) -> None:
        self._reload_related()  # at once; the course list follows with the change signal

    def toggle_cancelled(self) -> None:
        session = self.sessions_table.current_row()
        if session is None:
            return
        if not confirm_closed_change(self, month_close.impact_of_session(self.ctx.db, session.id, cancelled=not session.cancelled)):
            return
        course_service.cancel_session(self.ctx.db, session.id, not session.cancelled)
        self._reload_related()
        self.sessions_table.select_id(session.id)

    def delete_session(self) -> None:
        session = self.sessions_table.current_row()
        if session is None:
            return
        when = format_date(session.date)
        if not confirm(self, _("Delete session"), _("Delete the session of {date}? You can undo this.").format(date=when)):
            return
        course_service.delete_session(self.ctx.db, session.id)
        db = self.ctx.db
        undo_stack(self.ctx).push(
            _("Session of {date} deleted").format(date=when),
            lambda: course_service.restore_session(db, session.id),
        )
        self._reload_related()

    # --- enrollment -----------------------------------------------------------------------------

    def search_candidates(self) -> None:
        text = self.candidate_search.text().strip()
        self._search_timer.stop()
        if not text:
            self.candidates_model.set_rows([])
            return
        self.candidates_model.set_rows(list_participants(self.ctx.db, search=text)[:500])

    def list_company_employees(self) -> None:
        company_id = self.company_choice.currentData()
        if company_id is None:
            return
        self.candidates_model.set_rows(list_participants(self.ctx.db, company_id=company_id))
        self.candidates_table.selectAll()

    def enroll_selected(self) -> None:
        chosen = self.candidates_table.selected_rows()
        if self.current_id is None or not chosen:
            return
        try:
            result = enrollment_service.enroll(self.ctx.db, self.current_id, [p.id for p in chosen])
        except UserError as exc:
            show_error(self, exc)
            return
        self.enrollment_summary_message = _("{enrolled} enrolled, {waitlisted} waitlisted, {already} already on the course").format(
            enrolled=len(result.enrolled), waitlisted=len(result.waitlisted), already=len(result.already)
        )
        self._reload_related()
        self._notify(self.enrollment_summary_message)

    def withdraw_selected(self) -> None:
        chosen = [r for r in self.enrollment_table.selected_rows() if r.status in ("enrolled", "waitlisted")]
        if not chosen:
            return
        names = ", ".join(r.full_name for r in chosen)
        if not confirm(self, _("Withdraw"), _("Withdraw {names} from the course? You can undo this.").format(names=names)):
            return
        db = self.ctx.db
        for r in chosen:
            enrollment_service.withdraw(db, r.id)
        previous = [(r.id, r.status) for r in chosen]

        def undo() -> None:
            for enrollment_id, status in previous:
                enrollment_service.set_enrollment_status(db, enrollment_id, status)

        undo_stack(self.ctx).push(_("{names} withdrawn").format(names=names), undo)
        self._reload_related()

    def open_import_wizard(self) -> None:
        if self.current_id is None:
            return
        try:
            from ui.import_wizard import ImportWizard
        except ImportError:
            show_error(self, _("Importing participant lists is not available."))
            return
        self.dialog = ImportWizard(self.ctx, self.current_id, self)
        self.dialog.open()

    def _notify(self, message: str) -> None:
        window = self.window()
        if hasattr(window, "notify"):
            window.notify(message)
