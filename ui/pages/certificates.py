"""The Certificates page: per course, every enrolled participant with attended hours, percent and
eligible / not eligible / issued; issue (all eligible, off the UI thread with progress and
cancel, or the selected ones), revoke with a reason, re-issue, save PDFs, open/preview/print;
and the register of every certificate, searchable, with status and reprint; the duplicates tab
lists participants with two valid certificates of one course (two laptops issued it offline) and
revokes one as "Duplicate of <kept>" (DuplicatePanel, also on the Sync page). Issuing a course
that another laptop has already issued asks first (svc.issue_warning).

Reasons the page records are in the language of the user interface (like "Ersatt av")."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import UserError
from app.i18n import N_, _, format_attendance, format_date, format_hours, ngettext
from app.services import certificates as svc
from app.services.certificate_settings import get_certificate_settings
from ui.certificate_widgets import note_label, show_missing_english
from ui.context import AppContext
from ui.pages.base import DataPage
from ui.pdf import PdfPreviewDialog, open_pdf, print_pdf
from ui.table_models import ID_ROLE, ROW_ROLE, Column, RowFilterProxy, RowTableModel
from ui.tasks import run_write, show_error
from ui.widgets import heading

STATUS_TEXT = {"valid": N_("Valid"), "revoked": N_("Revoked")}


def candidate_status(c: svc.CertificateCandidate) -> str:
    if c.certificate is not None and c.certificate.status == "valid":
        issued = _("Issued {number}").format(number=c.certificate.number)
        if c.duplicates:
            return issued + " " + _("and {numbers} (duplicate)").format(numbers=", ".join(c.duplicates))
        return issued
    if c.eligible:
        if c.certificate is not None:
            return _("Eligible (earlier certificate revoked)")
        return _("Eligible")
    return _("Not eligible")


def percent_text(percent: float) -> str:
    """One decimal, rounded DOWN, so 79.8 % never shows as 80 % next to "not eligible"."""
    return format_attendance(percent)


def candidate_columns() -> list[Column]:
    return [
        Column("name", N_("Name"), lambda r: r.full_name, searchable=True),
        Column("birth", N_("Birth date"), lambda r: r.masked_personal_number),
        Column("company", N_("Employer"), lambda r: r.company_name, searchable=True),
        Column("hours", N_("Attended hours"), lambda r: r.attended_minutes,
               text=lambda r: format_hours(r.attended_minutes), align_right=True),
        Column("scheduled", N_("Scheduled hours"), lambda r: r.scheduled_minutes,
               text=lambda r: format_hours(r.scheduled_minutes), align_right=True),
        Column("percent", N_("Attendance"), lambda r: r.percent, text=lambda r: percent_text(r.percent),
               align_right=True),
        Column("language", N_("Language"), lambda r: r.language),
        Column("status", N_("Certificate"), lambda r: candidate_status(r), searchable=True),
        Column("participation", N_("Certificate of participation"), lambda r: participation_status(r)),
    ]


def participation_status(c: svc.CertificateCandidate) -> str:
    if c.participation is not None and c.participation.status == "valid":
        return _("Issued {number}").format(number=c.participation.number)
    return ""


def register_columns() -> list[Column]:
    return [
        Column("number", N_("Certificate number"), lambda r: r.number, searchable=True),
        Column("holder", N_("Name"), lambda r: r.holder_name, searchable=True),
        Column("course", N_("Course"), lambda r: f"{r.course_code} {r.course_title}", searchable=True),
        Column("issued", N_("Issued"), lambda r: r.issued_on, text=lambda r: format_date(r.issued_on)),
        Column("kind", N_("Certificate"), lambda r: r.kind,
               text=lambda r: _("Certificate of participation") if r.kind == svc.KIND_PARTICIPATION else _("Certificate")),
        Column("status", N_("Status"), lambda r: r.status, text=lambda r: _(STATUS_TEXT[r.status])),
        Column("reason", N_("Reason"), lambda r: r.revoke_reason),
        Column("supersedes", N_("Replaces"), lambda r: r.supersedes_number),
        Column("code", N_("Verification code"), lambda r: r.verification_code, searchable=True),
    ]


class _ColouredModel(RowTableModel):
    """Greys rows that cannot get a certificate and marks revoked ones."""

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            row = self.row(index.row())
            if getattr(row, "status", None) == "revoked":
                return QBrush(QColor("#a00000"))
            if hasattr(row, "eligible") and not row.eligible:
                return QBrush(QColor("#777777"))
        return super().data(index, role)


def _table(model: RowTableModel) -> tuple[QTableView, RowFilterProxy]:
    proxy = RowFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setSortingEnabled(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view, proxy


class DuplicatePanel(QWidget):
    """Participants with more than one valid certificate of a course, one row per certificate, the
    one to keep first; "Revoke as duplicate…" revokes the selected one, naming the kept one in
    the reason. Shown on the Certificates page and on the Sync page. Emits `revoked` with the id."""

    revoked = Signal(str)
    COLUMNS = (N_("Course"), N_("Participant"), N_("Certificate number"), N_("Issued"), N_("Laptop"), N_("Suggestion"))

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.groups: list[svc.DuplicateGroup] = []
        self._rows: list[tuple[svc.DuplicateGroup, svc.DuplicateMember]] = []
        layout = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels([_(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_button)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.revoke_button = QPushButton(_("Revoke as duplicate…"))
        self.revoke_button.clicked.connect(self.revoke_selected)
        row.addWidget(self.revoke_button)
        row.addStretch(1)
        layout.addLayout(row)

    def refresh(self) -> None:
        self.show_groups(svc.duplicate_certificates(self.ctx.db))

    def show_groups(self, groups: list[svc.DuplicateGroup]) -> None:
        """Show groups loaded by the page that holds the panel."""
        self.groups = groups
        self._rows = [(g, m) for g in self.groups for m in g.members]
        self.table.setRowCount(len(self._rows))
        for i, (g, m) in enumerate(self._rows):
            first = m is g.members[0]
            laptop = _("this laptop") if m.here else _("laptop {device}").format(device=m.device)
            cells = (
                g.course_code if first else "",
                f"{g.holder_name} {g.masked_personal_number}".strip() if first else "",
                m.number,
                format_date(m.issued_on),
                laptop,
                _("keep") if m.keep else _("revoke?"),
            )
            for col, text in enumerate(cells):
                self.table.setItem(i, col, QTableWidgetItem(text))
        if self.groups:
            self.note.setText(ngettext(
                "{n} participant has two valid certificates of the same course (issued on two laptops). "
                "Revoke the one that was not handed out; the reason names the one kept.",
                "{n} participants have two valid certificates of the same course (issued on two laptops). "
                "Revoke the ones that were not handed out; the reason names the one kept.",
                len(self.groups)).format(n=len(self.groups)))
        else:
            self.note.setText(_("No duplicate certificates."))
        self._update_button()

    def count(self) -> int:
        return len(self.groups)

    def selected(self) -> tuple[svc.DuplicateGroup, svc.DuplicateMember] | None:
        row = self.table.currentRow()
        if not self.table.selectedItems() or row < 0 or row >= len(self._rows):
            return None
        return self._rows[row]

    def _update_button(self) -> None:
        self.revoke_button.setEnabled(self.selected() is not None)

    def revoke_selected(self) -> None:
        picked = self.selected()
        if picked is None:
            return
        group, member = picked
        kept = group.members[1] if member is group.members[0] else group.members[0]
        question = _("Revoke certificate {number} of {name} as a duplicate of {kept}? "
                     "The reason \"{reason}\" is recorded; {kept} stays valid.").format(
            number=member.number, name=group.holder_name, kept=kept.number,
            reason=_("Duplicate of {number}").format(number=kept.number))
        if QMessageBox.question(self, _("Duplicate certificates"), question) != QMessageBox.StandardButton.Yes:
            return
        try:
            svc.revoke_duplicate(self.ctx.db, member.id)
        except UserError as exc:
            QMessageBox.warning(self, _("Duplicate certificates"), str(exc))
        self.refresh()
        self.revoked.emit(member.id)


class ReasonDialog(QDialog):
    """Why a certificate is revoked or re-issued: names the holders and numbers, and refuses an
    empty reason in place (the dialog stays open, the page keeps its selection)."""

    def __init__(self, title: str, question: str, certificates: list[tuple[str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        names = "\n".join(_("{name}, certificate {number}").format(name=name, number=number) for name, number in certificates)
        self.who = QLabel(names)
        self.who.setObjectName("reason_for")
        layout.addWidget(self.who)
        layout.addWidget(QLabel(question))
        self.text = QLineEdit()
        self.text.setAccessibleName(question)
        layout.addWidget(self.text)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #a00000")
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def accept(self) -> None:
        if not self.text.text().strip():
            self.problem.setText(_("Write a reason: it is kept with the certificate."))
            self.text.setFocus()
            return
        super().accept()

    def reason(self) -> str:
        return self.text.text().strip()


# a course's candidates, the English texts its certificates lack, whether participation is offered
CourseData = tuple[list[svc.CertificateCandidate], tuple[str, ...], bool]


def _course_data(db, course_id: str) -> CourseData:
    """What the page shows of one course, read together (in the page's worker when loading)."""
    if not course_id:
        return [], (), get_certificate_settings(db).participation
    return (svc.certificate_overview(db, course_id), svc.missing_english_texts(db, course_id),
            get_certificate_settings(db).participation)


class Page(DataPage):
    tables = frozenset({"certificates", "courses", "sessions", "enrollments", "attendance", "participants", "settings"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.task = None
        self._wanted_course: str | None = None
        self.last_issued_ids: list[str] = []  # what "Save PDFs…" saves until the selection says otherwise

        self.tabs = QTabWidget()
        layout = QVBoxLayout(self)
        self.heading = heading(self.title())
        layout.addWidget(self.heading)
        layout.addWidget(self.tabs, 1)

        # --- per course ---
        course_tab = QWidget()
        v = QVBoxLayout(course_tab)
        top = QHBoxLayout()
        top.addWidget(QLabel(_("Course:")))
        self.course_combo = QComboBox()
        self.course_combo.setEditable(True)
        self.course_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.course_combo.setMinimumWidth(280)
        self.course_combo.currentIndexChanged.connect(lambda _i: self._course_picked())
        top.addWidget(self.course_combo, 1)
        v.addLayout(top)
        self.summary = QLabel()  # a line of its own: with the course beside it the page would not fit 1366×768 at 125 %
        self.summary.setWordWrap(True)
        v.addWidget(self.summary)

        self.candidates = _ColouredModel(candidate_columns(), key=lambda r: r.participant_id)
        self.candidate_view, self.candidate_proxy = _table(self.candidates)
        self.candidate_view.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())
        v.addWidget(self.candidate_view, 1)
        self.duplicate_note = QLabel()
        self.duplicate_note.setWordWrap(True)
        self.duplicate_note.setStyleSheet("color: #a00000")
        self.duplicate_note.setVisible(False)
        v.addWidget(self.duplicate_note)
        self.english_note = note_label()
        v.addWidget(self.english_note)

        buttons = QHBoxLayout()
        self.issue_all_button = QPushButton(_("Issue to all eligible"))
        self.issue_selected_button = QPushButton(_("Issue to selected"))
        self.participation_button = QPushButton(_("Certificates of participation"))
        self.participation_button.setToolTip(_("Issue a certificate of participation to everyone who attended"))
        self.revoke_button = QPushButton(_("Revoke…"))
        self.reissue_button = QPushButton(_("Re-issue…"))
        self.save_button = QPushButton(_("Save PDFs…"))
        self.open_button = QPushButton(_("Open"))
        self.preview_button = QPushButton(_("Preview"))
        self.print_button = QPushButton(_("Print…"))
        for b in (self.issue_all_button, self.issue_selected_button, self.participation_button, self.revoke_button, self.reissue_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        files = QHBoxLayout()  # the files on a second row, so the page fits a laptop at 125 %
        for b in (self.save_button, self.open_button, self.preview_button, self.print_button):
            files.addWidget(b)
        files.addStretch(1)
        v.addLayout(buttons)
        v.addLayout(files)
        self.issue_all_button.clicked.connect(self.issue_all)
        self.issue_selected_button.clicked.connect(self.issue_selected)
        self.participation_button.clicked.connect(lambda: self._issue(None, svc.KIND_PARTICIPATION))
        self.revoke_button.clicked.connect(lambda: self.revoke(self.selected_certificate_ids()))
        self.reissue_button.clicked.connect(lambda: self.reissue(self.selected_certificate_ids()))
        self.save_button.clicked.connect(
            lambda: self.save_pdfs(self.selected_certificate_ids() or self.last_issued_ids or self.course_certificate_ids()))
        self.open_button.clicked.connect(lambda: self.open_selected(self.selected_certificate_ids()))
        self.preview_button.clicked.connect(lambda: self.preview(self.selected_certificate_ids()))
        self.print_button.clicked.connect(lambda: self.print_(self.selected_certificate_ids()))
        self.tabs.addTab(course_tab, _("Per course"))

        # --- register ---
        register_tab = QWidget()
        r = QVBoxLayout(register_tab)
        self.search = QLineEdit()
        self.search.setPlaceholderText(_("Search number, name, course or code…"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search)
        r.addWidget(self.search)
        self.register = _ColouredModel(register_columns())
        self.register_view, self.register_proxy = _table(self.register)
        r.addWidget(self.register_view, 1)
        rb = QHBoxLayout()
        self.reprint_button = QPushButton(_("Save PDFs…"))
        self.register_open_button = QPushButton(_("Open"))
        self.register_preview_button = QPushButton(_("Preview"))
        self.register_revoke_button = QPushButton(_("Revoke…"))
        for b in (self.reprint_button, self.register_open_button, self.register_preview_button, self.register_revoke_button):
            rb.addWidget(b)
        rb.addStretch(1)
        r.addLayout(rb)
        self.reprint_button.clicked.connect(lambda: self.save_pdfs(self.selected_register_ids()))
        self.register_open_button.clicked.connect(lambda: self.open_selected(self.selected_register_ids()))
        self.register_preview_button.clicked.connect(lambda: self.preview(self.selected_register_ids()))
        self.register_revoke_button.clicked.connect(lambda: self.revoke(self.selected_register_ids()))
        self.tabs.addTab(register_tab, _("Register"))

        # --- duplicates (two laptops issued a course offline) ---
        self.duplicates = DuplicatePanel(ctx)
        self.tabs.addTab(self.duplicates, "")

    @staticmethod
    def title() -> str:
        return _("Certificates")

    # --- data --------------------------------------------------------------------------------

    def query(self):
        db, current = self.ctx.db, self._wanted_course or self.course_id()
        self._wanted_course = None

        def load():
            choices = svc.course_choices(db)
            course_id = current if current in {c.id for c in choices} else (choices[0].id if choices else "")
            return (choices, course_id, _course_data(db, course_id), svc.list_certificates(db),
                    svc.duplicate_certificates(db))

        return load

    def show_data(self, data) -> None:
        choices, course_id, course, certificates, duplicates = data
        self.course_combo.blockSignals(True)
        self.course_combo.clear()
        for choice in choices:
            self.course_combo.addItem(choice.label, choice.id)
        self.course_combo.setCurrentIndex(self.course_combo.findData(course_id) if course_id else -1)
        self.course_combo.blockSignals(False)
        self._show_course(course)
        self.register.set_rows(certificates)
        self.duplicates.show_groups(duplicates)
        n = self.duplicates.count()
        self.tabs.setTabText(2, _("Duplicates ({n})").format(n=n) if n else _("Duplicates"))

    def _course_picked(self) -> None:
        self.last_issued_ids = []
        self.refresh_course()

    def refresh_course(self) -> None:
        self._show_course(_course_data(self.ctx.db, self.course_id()))

    def _show_course(self, course: CourseData) -> None:
        rows, missing_english, offered = course
        self.candidates.set_rows(rows)
        issued = sum(1 for r in rows if r.certificate is not None and r.certificate.status == "valid")
        waiting = sum(1 for r in rows if r.eligible and (r.certificate is None or r.certificate.status != "valid"))
        self.summary.setText(
            _("{enrolled} participants · {issued} issued · {waiting} eligible without certificate").format(
                enrolled=len(rows), issued=issued, waiting=waiting
            )
        )
        self.issue_all_button.setEnabled(waiting > 0)
        doubled = sum(1 for r in rows if r.duplicates)
        self.duplicate_note.setText(ngettext(
            "{n} participant of this course has two valid certificates: revoke one on the Duplicates tab.",
            "{n} participants of this course have two valid certificates: revoke one of each on the Duplicates tab.",
            doubled).format(n=doubled))
        self.duplicate_note.setVisible(doubled > 0)
        show_missing_english(self.english_note, missing_english)
        self.participation_button.setVisible(offered)
        self.participation_button.setEnabled(
            any(r.attended_minutes > 0 and (r.participation is None or r.participation.status != "valid") for r in rows))
        self._update_buttons()

    def refresh_register(self) -> None:
        self.register.set_rows(svc.list_certificates(self.ctx.db))

    def _search(self, text: str) -> None:
        self.register_proxy.set_filter_text(text)

    def course_id(self) -> str:
        return self.course_combo.currentData() or ""

    def select_course(self, course_id: str) -> None:
        index = self.course_combo.findData(course_id)
        if index < 0:  # not loaded yet: the next load selects it
            self._wanted_course = course_id
            self.refresh()
            return
        self.course_combo.setCurrentIndex(index)

    # --- selection ---------------------------------------------------------------------------

    def selected_candidates(self) -> list[svc.CertificateCandidate]:
        rows = self.candidate_view.selectionModel().selectedRows()
        return [self.candidate_proxy.data(i, ROW_ROLE) for i in rows]

    def selected_certificate_ids(self) -> list[str]:
        return [c.certificate.id for c in self.selected_candidates() if c.certificate is not None]

    def selected_register_ids(self) -> list[str]:
        return [self.register_proxy.data(i, ID_ROLE) for i in self.register_view.selectionModel().selectedRows()]

    def course_certificate_ids(self) -> list[str]:
        return [r.certificate.id for r in self.candidates.rows()
                if r.certificate is not None and r.certificate.status == "valid"]

    def _update_buttons(self) -> None:
        selected = self.selected_candidates()
        live = [c for c in selected if c.certificate is not None and c.certificate.status == "valid"]
        self.issue_selected_button.setEnabled(any(c.eligible and c not in live for c in selected))
        for b in (self.revoke_button, self.reissue_button):
            b.setEnabled(bool(live))
        for b in (self.open_button, self.preview_button, self.print_button):
            b.setEnabled(bool(self.selected_certificate_ids()))
        self.save_button.setEnabled(bool(self.course_certificate_ids() or self.selected_certificate_ids()))

    # --- actions -----------------------------------------------------------------------------

    def issue_all(self) -> None:
        """Issue to every eligible participant without a certificate, after saying how many and
        of which course."""
        waiting = [r for r in self.candidates.rows()
                   if r.eligible and (r.certificate is None or r.certificate.status != "valid")]
        if not waiting:
            return
        course = self.course_combo.currentText()
        box = QMessageBox(QMessageBox.Icon.Question, _("Issue certificates"),
                          ngettext("Issue a certificate to {n} eligible participant of {course}?",
                                   "Issue certificates to {n} eligible participants of {course}?",
                                   len(waiting)).format(n=len(waiting), course=course),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.button(QMessageBox.StandardButton.Yes).setText(_("Issue"))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        if self._ask(box):
            self._issue(None)

    def issue_selected(self) -> None:
        ids = [c.participant_id for c in self.selected_candidates() if c.eligible]
        if ids:
            self._issue(ids)

    def _issue(self, participant_ids: list[str] | None, kind: str = svc.KIND_COURSE) -> None:
        course_id, db = self.course_id(), self.ctx.db
        if not course_id:
            return
        confirm = False
        try:
            warning = svc.issue_warning(db, course_id, participant_ids, kind)
        except UserError as exc:
            show_error(self, exc)
            return
        if warning is not None:
            # another laptop has issued this course: its certificates may not have arrived yet
            box = QMessageBox(QMessageBox.Icon.Warning, _("Issue certificates"),
                              warning.message() + "\n\n" + _("Issue anyway?"),
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
            box.button(QMessageBox.StandardButton.Yes).setText(_("Issue anyway"))
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            if not self._ask(box):
                return
            confirm = True
        self.issue_all_button.setEnabled(False)

        def work(progress):
            return svc.issue_certificates(db, course_id, participant_ids, progress=progress, confirm=confirm, kind=kind)

        self.task = run_write(self, db, work, self._issued, self._issue_failed, title=_("Issuing certificates"))

    @staticmethod
    def _ask(box: QMessageBox) -> bool:
        """Whether the user chose Yes in the question box (tests replace this)."""
        box.exec()
        return box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)

    def _issued(self, issued: list) -> None:
        self.last_issued_ids = [c.id for c in issued]
        self.refresh()
        self.summary.setText(
            ngettext("{n} certificate issued.", "{n} certificates issued.", len(issued)).format(n=len(issued))
            + "  " + self.summary.text()
        )
        warning = getattr(issued, "warning", None)
        if warning is not None:  # another laptop's certificate of this course arrived meanwhile
            QMessageBox.warning(self, _("Issue certificates"), warning.message())

    def _issue_failed(self, exc: BaseException) -> None:
        self.refresh()
        show_error(self, exc)

    def _holders(self, certificate_ids: list[str]) -> list[tuple[str, str]]:
        by_id = {r.certificate.id: (r.full_name, r.certificate.number) for r in self.candidates.rows() if r.certificate}
        by_id.update({r.id: (r.holder_name, r.number) for r in self.register.rows()})
        return [by_id[cid] for cid in certificate_ids if cid in by_id]

    def _reason(self, title: str, label: str, certificate_ids: list[str]) -> str | None:
        dialog = ReasonDialog(title, label, self._holders(certificate_ids), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.reason()

    def revoke(self, certificate_ids: list[str]) -> None:
        if not certificate_ids:
            return
        reason = self._reason(_("Revoke certificate"), _("Why is the certificate revoked? (required)"), certificate_ids)
        if reason is None:
            return
        try:
            for cid in certificate_ids:
                svc.revoke_certificate(self.ctx.db, cid, reason)
        except UserError as exc:
            QMessageBox.warning(self, "Kursdesk", str(exc))

    def reissue(self, certificate_ids: list[str]) -> None:
        if not certificate_ids:
            return
        reason = self._reason(_("Re-issue certificate"),
                              _("What is corrected? The old certificate is revoked and stays on record."), certificate_ids)
        if reason is None:
            return
        try:
            for cid in certificate_ids:
                svc.reissue_certificate(self.ctx.db, cid, reason)
        except UserError as exc:
            QMessageBox.warning(self, "Kursdesk", str(exc))

    def save_pdfs(self, certificate_ids: list[str]) -> list[Path]:
        if not certificate_ids:
            return []
        from ui.folders import last_folder, remember

        folder = QFileDialog.getExistingDirectory(self, _("Save certificates in folder"), last_folder())
        if not folder:
            return []
        remember(folder)
        try:
            paths = svc.write_certificate_files(self.ctx.db, certificate_ids, Path(folder))
            if len(certificate_ids) > 1:
                rows = {r.id: r for r in self.register.rows()}
                code = rows[certificate_ids[0]].course_code if certificate_ids[0] in rows else ""
                name = svc.safe_file_name(_("{code} - all certificates").format(code=code) + ".pdf")
                paths.append(svc.write_combined_pdf(self.ctx.db, certificate_ids, Path(folder) / name))
        except UserError as exc:
            QMessageBox.warning(self, "Kursdesk", str(exc))
            return []
        QMessageBox.information(
            self, "Kursdesk", ngettext("{n} file saved in {folder}", "{n} files saved in {folder}", len(paths)).format(
                n=len(paths), folder=folder)
        )
        return paths

    @property
    def _preview_dir(self) -> Path:
        """The window's preview folder (per-user cache, owner-only, emptied at close)."""
        from ui import previews

        return previews.folder()

    def _temp_pdf(self, certificate_ids: list[str]) -> Path | None:
        """The frozen PDF (one) or a combined file (several) in a private temp folder."""
        try:
            if len(certificate_ids) == 1:
                path = self._preview_dir / f"{certificate_ids[0]}.pdf"
                path.write_bytes(svc.certificate_pdf(self.ctx.db, certificate_ids[0]))
                return path
            return svc.write_combined_pdf(self.ctx.db, certificate_ids, self._preview_dir / "combined.pdf")
        except UserError as exc:
            QMessageBox.warning(self, "Kursdesk", str(exc))
            return None

    def open_selected(self, certificate_ids: list[str]) -> None:
        path = self._temp_pdf(certificate_ids) if certificate_ids else None
        if path is not None:
            open_pdf(path, self)

    def preview(self, certificate_ids: list[str]) -> None:
        path = self._temp_pdf(certificate_ids) if certificate_ids else None
        if path is not None:
            PdfPreviewDialog(path, self, title=_("Certificates")).exec()

    def print_(self, certificate_ids: list[str]) -> None:
        path = self._temp_pdf(certificate_ids) if certificate_ids else None
        if path is not None:
            print_pdf(path, self)
