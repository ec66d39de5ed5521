"""The Companies page: the searchable list of companies, the edit form (validated organisation
number, Kalmar län's municipalities), the company's needs analyses and its participating
employees. Deleting asks first and can be undone (soft delete)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.concurrency import StaleEdit
from app.errors import NotFound, UserError, ValidationError
from app.i18n import N_, _, format_date, ngettext
from app.services import companies as company_service
from app.services import month_close
from app.services import needs as need_service
from app.services.companies import CompanyData, CompanyRow
from app.services.courses import course_overview
from app.services.needs import NeedData, NeedRow
from app.services.project_data import ORGANISATION_TYPE_LABELS
from app.validation import MUNICIPALITIES, OTHER_MUNICIPALITY
from ui.context import AppContext
from ui.forms import FieldForm, confirm, line_edit, show_error, text_edit
from ui.month_panel import confirm_closed_change
from ui.pages.base import DataPage
from ui.stale_edit import settle_stale_edit
from ui.table_models import Column, RowTableModel
from ui.undo import undo_stack
from ui.widgets import (
    EntityTable,
    FormDialog,
    ListPanel,
    heading,
)

COMPANY_COLUMNS = [
    Column("name", N_("Name"), lambda r: r.name, searchable=True),
    Column("org_number", N_("Organisation number"), lambda r: r.org_number, searchable=True),
    Column("municipality", N_("Municipality"), lambda r: r.municipality, searchable=True),
    Column("participants", N_("Participants"), lambda r: r.participants, align_right=True),
    Column("courses", N_("Courses"), lambda r: r.courses, align_right=True),
]

NEED_COLUMNS = [
    Column("date", N_("Date"), lambda r: r.date),
    Column("description", N_("Identified needs"), lambda r: r.description, text=lambda r: " ".join(r.description.split())),
    Column("target_groups", N_("Target groups"), lambda r: r.target_groups, text=lambda r: " ".join(r.target_groups.split())),
    Column("courses", N_("Linked courses"), lambda r: ", ".join(r.course_codes)),
]

EMPLOYEE_COLUMNS = [
    Column("name", N_("Name"), lambda r: r.full_name),
    Column("personal_number", N_("Personal identity number"), lambda r: r.masked_personal_number),
    Column("email", N_("E-mail"), lambda r: r.email),
]


def municipality_items() -> list[str]:
    return [*MUNICIPALITIES, OTHER_MUNICIPALITY]


class NeedDialog(FormDialog):
    """Create or edit one needs analysis of a company, with the courses that answer it."""

    def __init__(self, ctx: AppContext, company_id: str, need: NeedRow | None, parent: QWidget | None = None):
        super().__init__(_("Needs analysis") if need is None else _("Edit needs analysis"), parent)
        self.ctx = ctx
        self.company_id = company_id
        self.need = need
        self.opened_version = need.version if need is not None else None  # app/concurrency.py
        f = self.form
        self.date = QDateEdit()
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setCalendarPopup(True)
        when = need.date if need is not None else date.today()
        self.date.setDate(QDate(when.year, when.month, when.day))
        f.add("date", _("Date:"), self.date)
        self.description = f.add("description", _("Identified needs:"), text_edit(need.description if need else "", 90))
        self.target_groups = f.add(
            "target_groups", _("Target groups:"), text_edit(need.target_groups if need else "", 60)
        )
        courses_box = QWidget()
        box = QVBoxLayout(courses_box)
        box.setContentsMargins(0, 0, 0, 0)
        self.course_filter = QLineEdit()
        self.course_filter.setPlaceholderText(_("Filter courses"))
        self.course_filter.setAccessibleName(_("Filter courses"))
        self.courses = QListWidget()
        self.courses.setAccessibleName(_("Linked courses"))
        self.courses.setMinimumHeight(120)
        linked = set(need.course_ids) if need else set()
        for course in sorted(course_overview(ctx.db), key=lambda c: c.code.casefold()):
            item = QListWidgetItem(f"{course.code} – {course.title}")
            item.setData(Qt.ItemDataRole.UserRole, course.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if course.id in linked else Qt.CheckState.Unchecked)
            self.courses.addItem(item)
        self.course_filter.textChanged.connect(self._filter_courses)
        box.addWidget(self.course_filter)
        box.addWidget(self.courses)
        f.add("course_ids", _("Linked courses:"), courses_box)
        QWidget.setTabOrder(self.target_groups, self.course_filter)
        QWidget.setTabOrder(self.course_filter, self.courses)

    def _filter_courses(self, text: str) -> None:
        needle = text.casefold().strip()
        for i in range(self.courses.count()):
            item = self.courses.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def checked_course_ids(self) -> tuple[str, ...]:
        return tuple(
            self.courses.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.courses.count())
            if self.courses.item(i).checkState() == Qt.CheckState.Checked
        )

    def check_course(self, course_id: str, checked: bool = True) -> None:
        for i in range(self.courses.count()):
            item = self.courses.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == course_id:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def submit(self):
        data = NeedData(
            company_id=self.company_id,
            date=self.date.date().toPython(),
            description=self.description.toPlainText(),
            target_groups=self.target_groups.toPlainText(),
            course_ids=self.checked_course_ids(),
        )
        if self.need is None:
            return need_service.create_need(self.ctx.db, data)
        try:
            need_service.update_need(self.ctx.db, self.need.id, data, self.opened_version)
        except StaleEdit as exc:
            return settle_stale_edit(self, exc)
        return self.need.id

    save = submit  # settle_stale_edit's "keep mine"

    def _reload_detail(self) -> None:
        """"Take theirs": the saved analysis in the inputs (the linked courses as they are)."""
        saved = need_service.get_need(self.ctx.db, self.need.id)
        self.date.setDate(QDate(saved.date.year, saved.date.month, saved.date.day))
        self.description.setPlainText(saved.description)
        self.target_groups.setPlainText(saved.target_groups)
        self.opened_version = saved.version


class CompanyForm(FieldForm):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = self.add("name", _("Name:"), line_edit())
        self.org_number = self.add("org_number", _("Organisation number:"), line_edit(placeholder="NNNNNN-NNNN"))
        from ui.forms import combo

        self.municipality = combo([(m, m) for m in municipality_items()], editable=True)
        self.municipality.setCurrentIndex(-1)
        self.municipality.lineEdit().setPlaceholderText(_("Choose or type a municipality"))
        self.add("municipality", _("Municipality:"), self.municipality)
        self.industry = self.add("industry", _("Industry:"), line_edit())
        self.contact_name = self.add("contact_name", _("Contact person:"), line_edit())
        self.contact_email = self.add("contact_email", _("Contact e-mail:"), line_edit())
        self.contact_phone = self.add("contact_phone", _("Contact phone:"), line_edit())
        self.organisation_type = combo(
            [(_("(not set)"), "")] + [(_(label), key) for key, label in ORGANISATION_TYPE_LABELS.items()]
        )
        self.add("organisation_type", _("Type of organisation (ESF):"), self.organisation_type)

    def set_data(self, data: CompanyData | None) -> None:
        data = data or CompanyData(name="", org_number="")
        self.clear_problems()
        self.name.setText(data.name)
        self.org_number.setText(data.org_number)
        self.municipality.setEditText(data.municipality)
        if not data.municipality:
            self.municipality.setCurrentIndex(-1)
        self.industry.setText(data.industry)
        self.contact_name.setText(data.contact_name)
        self.contact_email.setText(data.contact_email)
        self.contact_phone.setText(data.contact_phone)
        self.organisation_type.setCurrentIndex(max(0, self.organisation_type.findData(data.organisation_type)))

    def data(self) -> CompanyData:
        return CompanyData(
            name=self.name.text(),
            org_number=self.org_number.text(),
            municipality=self.municipality.currentText(),
            industry=self.industry.text(),
            contact_name=self.contact_name.text(),
            contact_email=self.contact_email.text(),
            contact_phone=self.contact_phone.text(),
            organisation_type=self.organisation_type.currentData() or "",
        )


class Page(DataPage):
    tables = frozenset({"companies", "participants", "enrollments", "needs", "need_courses", "courses"})
    opened_version: int | None = None  # of the company in the form (app/concurrency.py)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.current_id: str | None = None
        self._select_after_load: str | None = None
        self.need_dialog: NeedDialog | None = None

        outer = QVBoxLayout(self)
        outer.addWidget(heading(self.title()))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(splitter, 1)

        panel = ListPanel(
            COMPANY_COLUMNS,
            name="companies_table",
            search_hint=_("Search name, organisation number, municipality…"),
            search_name=_("Search companies"),
            table_name=_("Companies"),
            new_text=_("New company"),
            new_tip=_("New company (Ctrl+N)"),
            delete_tip=_("Delete the selected company (Delete)"),
            count_texts=(N_("{shown} of {total} companies"), N_("{total} companies")),
            on_new=self.new_company,
            on_delete=self.delete_company,
            parent=self,
        )
        self.panel = panel
        self.search, self.model, self.table = panel.search, panel.model, panel.table
        self.new_button, self.delete_button, self.count_label = panel.new_button, panel.delete_button, panel.count_label
        splitter.addWidget(panel)

        # detail
        self.tabs = QTabWidget()
        self.tabs.setObjectName("company_tabs")
        details = QWidget()
        details_layout = QVBoxLayout(details)
        self.detail_title = QLabel()
        self.detail_title.setObjectName("detail_title")
        details_layout.addWidget(self.detail_title)
        self.form = CompanyForm()
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
        details_layout.addStretch(1)
        self.tabs.addTab(details, _("Details"))

        needs = QWidget()
        needs_layout = QVBoxLayout(needs)
        self.needs_model = RowTableModel(NEED_COLUMNS, self)
        self.needs_table = EntityTable(self.needs_model, _("Needs analyses"), fit=True)
        self.needs_table.setObjectName("needs_table")
        self.needs_table.activated_row.connect(lambda _row: self.edit_need())
        needs_layout.addWidget(self.needs_table, 1)
        need_buttons = QHBoxLayout()
        self.new_need_button = QPushButton(_("New needs analysis…"))
        self.new_need_button.clicked.connect(lambda: self.open_need_dialog(None))
        self.edit_need_button = QPushButton(_("Edit…"))
        self.edit_need_button.clicked.connect(self.edit_need)
        self.delete_need_button = QPushButton(_("Delete"))
        self.delete_need_button.setAccessibleName(_("Delete needs analysis"))
        self.delete_need_button.clicked.connect(self.delete_need)
        for b in (self.new_need_button, self.edit_need_button, self.delete_need_button):
            need_buttons.addWidget(b)
        need_buttons.addStretch(1)
        needs_layout.addLayout(need_buttons)
        self.tabs.addTab(needs, _("Needs analyses"))

        employees = QWidget()
        employees_layout = QVBoxLayout(employees)
        self.employees_model = RowTableModel(EMPLOYEE_COLUMNS, self)
        self.employees_table = EntityTable(self.employees_model, _("Participating employees"), fit=True)
        self.employees_table.setObjectName("employees_table")
        employees_layout.addWidget(self.employees_table)
        self.tabs.addTab(employees, _("Participating employees"))
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.table.current_changed.connect(self._on_current)
        QShortcut(QKeySequence.StandardKey.New, self, activated=self.new_company)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.table, activated=self.delete_company,
                  context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)
        QWidget.setTabOrder(self.search, self.table)
        QWidget.setTabOrder(self.table, self.new_button)
        QWidget.setTabOrder(self.new_button, self.delete_button)
        QWidget.setTabOrder(self.delete_button, self.tabs)
        self._set_detail_enabled(False)
        self.table.set_column_widths([190, 130, 100, 90, 70])

    @staticmethod
    def title() -> str:
        return _("Companies")

    # --- loading ------------------------------------------------------------------------------

    def query(self):
        db = self.ctx.db
        return lambda: company_service.list_companies(db)

    def show_data(self, rows) -> None:
        self.model.merge_rows(rows)
        self.panel.update_count()
        if self._select_after_load is not None:
            self.table.select_id(self._select_after_load)
            self._select_after_load = None
        if self.current_id is not None:
            self._reload_related()

    def _set_detail_enabled(self, enabled: bool) -> None:
        for i in (1, 2):
            self.tabs.setTabEnabled(i, enabled)
        self.delete_button.setEnabled(enabled)

    def _on_current(self, row: CompanyRow | None) -> None:
        if row is None:
            return
        if row.id != self.current_id:
            self.current_id = row.id
            self._reload_detail()

    def _reload_detail(self) -> None:
        if self.current_id is None:
            self.form.set_data(None)
            return
        try:
            detail = company_service.get_company(self.ctx.db, self.current_id)
        except NotFound:
            self.current_id = None
            self.form.set_data(None)
            self._set_detail_enabled(False)
            return
        self.form.set_data(detail.data)
        self.opened_version = detail.version
        self.detail_title.setText(detail.data.name)
        self.needs_model.merge_rows(detail.needs)
        self.employees_model.merge_rows(detail.participants)
        self._set_detail_enabled(True)

    def _reload_related(self) -> None:
        try:
            detail = company_service.get_company(self.ctx.db, self.current_id)
        except NotFound:
            return
        self.needs_model.merge_rows(detail.needs)
        self.employees_model.merge_rows(detail.participants)

    # --- actions ------------------------------------------------------------------------------

    def new_company(self) -> None:
        self.table.clearSelection()
        self.current_id = None
        self.form.set_data(None)
        self.detail_title.setText(_("New company"))
        self.needs_model.set_rows([])
        self.employees_model.set_rows([])
        self._set_detail_enabled(False)
        self.tabs.setCurrentIndex(0)
        self.form.name.setFocus()

    def save(self) -> bool:
        """Create or update from the form; on a problem the form keeps everything typed."""
        data = self.form.data()
        self.form.clear_problems()
        try:
            if self.current_id is None:
                new_id = company_service.create_company(self.ctx.db, data)
                self.current_id = new_id
            else:
                if not confirm_closed_change(self, month_close.impact_of_company(self.ctx.db, self.current_id, data)):
                    return False
                company_service.update_company(self.ctx.db, self.current_id, data, self.opened_version)
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
        self._notify(_("Company {name} saved.").format(name=data.name.strip()))
        return True

    def delete_company(self) -> None:
        row = self.model.row_for(self.current_id) if self.current_id else None
        if row is None:
            return
        question = _("Delete {name}? You can undo this.").format(name=row.name)
        if row.participants:  # they stay, without an employer, until the company is restored
            question += "\n\n" + ngettext(
                "Its {n} employee stays as a participant, shown without an employer.",
                "Its {n} employees stay as participants, shown without an employer.", row.participants,
            ).format(n=row.participants)
        if not confirm(self, _("Delete company"), question):
            return
        try:
            company_service.delete_company(self.ctx.db, row.id)
        except UserError as exc:
            show_error(self, exc)
            return
        db = self.ctx.db
        undo_stack(self.ctx).push(
            _("Company {name} deleted").format(name=row.name),
            lambda: company_service.restore_company(db, row.id),
        )
        self.current_id = None
        self.form.set_data(None)
        self.detail_title.clear()
        self._set_detail_enabled(False)
        self.model.update_rows([], removed_ids=[row.id])
        self.panel.update_count()
        self._notify(_("Company {name} deleted").format(name=row.name) + " · " + _("Undo: Ctrl+Z"))

    def open_need_dialog(self, need: NeedRow | None) -> NeedDialog | None:
        if self.current_id is None:
            return None
        self.need_dialog = NeedDialog(self.ctx, self.current_id, need, self)
        self.need_dialog.saved.connect(lambda _id: self._reload_related())
        self.need_dialog.open()
        return self.need_dialog

    def edit_need(self) -> None:
        need = self.needs_table.current_row()
        if need is not None:
            self.open_need_dialog(need)

    def delete_need(self) -> None:
        need = self.needs_table.current_row()
        if need is None:
            return
        when = format_date(need.date)
        if not confirm(self, _("Delete needs analysis"), _("Delete the needs analysis of {date}? You can undo this.").format(date=when)):
            return
        need_service.delete_need(self.ctx.db, need.id)
        db = self.ctx.db
        undo_stack(self.ctx).push(
            _("Needs analysis of {date} deleted").format(date=when),
            lambda: need_service.restore_need(db, need.id),
        )
        self._reload_related()

    def _notify(self, message: str) -> None:
        window = self.window()
        if hasattr(window, "notify"):
            window.notify(message)
