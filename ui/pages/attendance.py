"""The Attendance page: the register of a course (participants by sessions), keyboard first,
and the sign-in sheets (open, preview, print).

Keys in the grid: arrows move; the status letters (P / S / G / F in Swedish, P / L / E / A in
English) mark present, late, excused, absent and move to the next participant; a late mark asks
for its minutes; Delete clears; Enter edits status, minutes and note; Ctrl+Shift+P marks every
participant without a mark present in the current session. Every change is saved at once.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.changes import initiated_by
from app.errors import UserError
from app.i18n import _, format_date
from app.services import attendance as service
from app.services import month_close
from app.services.attendance import Mark, SessionRow
from ui.context import AppContext
from ui.month_panel import confirm_closed_change
from ui.pages.base import DataPage
from ui.register_model import (
    FIRST_SESSION_COLUMN,
    RegisterModel,
    status_for_key,
    status_letter,
    status_name,
)
from ui.widgets import heading


class MarkDialog(QDialog):
    """Status, minutes and note of one mark."""

    def __init__(self, session: SessionRow, participant_name: str, mark: Mark | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(_("Attendance"))
        self.session = session
        form = QFormLayout(self)
        form.addRow(QLabel(f"<b>{html.escape(participant_name)}</b> — {format_date(session.date)}"))
        self.status = QComboBox()
        for status in ("present", "late", "excused", "absent"):
            self.status.addItem(f"{status_letter(status)}  {status_name(status)}", status)
        if mark is not None:
            self.status.setCurrentIndex(self.status.findData(mark.status))
        self.minutes = QSpinBox()
        self.minutes.setRange(-1, session.minutes)
        self.minutes.setSpecialValueText(_("whole session"))
        self.minutes.setSuffix(" " + _("min"))
        self.minutes.setValue(mark.minutes if mark is not None and mark.minutes is not None else -1)
        self.note = QLineEdit(mark.note if mark is not None else "")
        form.addRow(_("Status"), self.status)
        form.addRow(_("Minutes attended"), self.minutes)
        form.addRow(_("Note"), self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, int | None, str]:
        minutes = self.minutes.value()
        return self.status.currentData(), (None if minutes < 0 else minutes), self.note.text()


class RegisterView(QTableView):
    def __init__(self, page: Page):
        super().__init__(page)
        self.page = page

    def keyPressEvent(self, event) -> None:
        if not self.page.handle_key(event):
            super().keyPressEvent(event)


class Page(DataPage):
    tables = frozenset({"courses", "sessions", "enrollments", "participants", "attendance", "companies"})

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, today=None):
        super().__init__(ctx, parent)
        self.model = RegisterModel(self, today=today)
        self._wanted_course: str | None = None
        self.last_sheet: Path | None = None

        self.heading = heading(self.title())

        self.course_combo = QComboBox()
        self.course_combo.setEditable(True)
        self.course_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.course_combo.setMinimumContentsLength(40)
        self.course_combo.lineEdit().setPlaceholderText(_("Search for a course by code or title"))
        completer = self.course_combo.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.course_combo.currentIndexChanged.connect(self._course_changed)
        # a typed course code and Enter selects that course (the completer alone needs a click)
        self.course_combo.lineEdit().returnPressed.connect(self._course_typed)

        self.all_present_button = QPushButton(_("All present"))
        self.all_present_button.setToolTip(
            _("Mark every participant without a mark present in the current session (Ctrl+Shift+P)")
        )
        self.all_present_button.clicked.connect(self.mark_all_present)
        QShortcut(QKeySequence("Ctrl+Shift+P"), self, activated=self.mark_all_present)

        self.sheet_scope = QComboBox()
        self.sheet_scope.addItem(_("Sign-in sheet: current session"), "current")
        self.sheet_scope.addItem(_("Sign-in sheet: all sessions"), "all")
        self.open_button = QPushButton(_("Open"))
        self.preview_button = QPushButton(_("Preview"))
        self.print_button = QPushButton(_("Print…"))
        self.open_button.clicked.connect(self.open_sheet)
        self.preview_button.clicked.connect(self.preview_sheet)
        self.print_button.clicked.connect(self.print_sheet)

        top = QHBoxLayout()
        top.addWidget(QLabel(_("Course")))
        top.addWidget(self.course_combo, 1)
        top.addWidget(self.all_present_button)
        sheets = QHBoxLayout()
        sheets.addWidget(self.sheet_scope)
        sheets.addWidget(self.open_button)
        sheets.addWidget(self.preview_button)
        sheets.addWidget(self.print_button)
        sheets.addStretch(1)

        self.view = RegisterView(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setDefaultSectionSize(92)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(26)
        self.view.doubleClicked.connect(self.edit_mark)
        self.view.selectionModel().currentChanged.connect(self._current_changed)

        self.legend = QLabel(
            _("Keys: {p} present, {l} late, {e} excused absence, {a} absent, Delete clears, Enter edits minutes and note.").format(
                p=status_letter("present"), l=status_letter("late"), e=status_letter("excused"), a=status_letter("absent")
            )
        )
        self.legend.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addLayout(sheets)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.status_label)

        self._update_buttons()

    @staticmethod
    def title() -> str:
        return _("Attendance")

    # --- loading ------------------------------------------------------------------------------

    def query(self):
        db, current, today = self.ctx.db, self._wanted_course or self.course_id(), self.model.today

        def load():
            courses = service.course_choices(db)
            ids = [c.id for c in courses]
            course_id = current if current in ids else (ids[0] if ids else None)
            try:
                return courses, (service.register(db, course_id, today) if course_id else None), ""
            except UserError as exc:
                return courses, None, str(exc)

        return load

    def show_data(self, data) -> None:
        courses, register, problem = data
        current = self._wanted_course or self.course_id()
        self._wanted_course = None
        self.course_combo.blockSignals(True)
        self.course_combo.clear()
        for course in courses:
            self.course_combo.addItem(f"{course.code} – {course.title}", course.id)
        index = self.course_combo.findData(current) if current else -1
        self.course_combo.setCurrentIndex(index if index >= 0 else (0 if courses else -1))
        self.course_combo.blockSignals(False)
        if register is not None and register.course.id != self.course_id():
            register = None  # the course was changed while this loaded
            self.load_register()
            return
        if problem:
            self.show_message(problem)
        self._show_register(register)

    def course_id(self) -> str | None:
        return self.course_combo.currentData() if self.course_combo.currentIndex() >= 0 else None

    def select_course(self, course_id: str) -> None:
        index = self.course_combo.findData(course_id)
        if index < 0:  # not loaded yet: the next load selects it
            self._wanted_course = course_id
            self.refresh()
            return
        self.course_combo.setCurrentIndex(index)

    def _course_typed(self) -> None:
        typed = self.course_combo.currentText().strip().casefold()
        if not typed:
            return
        texts = [self.course_combo.itemText(i) for i in range(self.course_combo.count())]
        codes = [t.split(" – ", 1)[0].casefold() for t in texts]
        matches = [i for i, code in enumerate(codes) if code == typed] or [
            i for i, t in enumerate(texts) if typed in t.casefold()]
        if len(matches) >= 1:
            self.course_combo.setCurrentIndex(matches[0])
            self.course_combo.setEditText(texts[matches[0]])
            self.view.setFocus()
        else:
            self.show_message(_("No course matches {text}.").format(text=self.course_combo.currentText().strip()))

    def _course_changed(self, _index: int) -> None:
        self.load_register()

    def load_register(self) -> None:
        course_id = self.course_id()
        try:
            register = service.register(self.ctx.db, course_id, self.model.today) if course_id else None
        except UserError as exc:
            register = None
            self.show_message(str(exc))
        self._show_register(register)

    def _show_register(self, register) -> None:
        previous = self.view.currentIndex()
        course_id = self.course_id()
        same_course = register is not None and self.model.course is not None and self.model.course.id == course_id
        self.model.set_register(register)
        self.view.resizeColumnToContents(0)
        self.view.resizeColumnToContents(1)
        if self.model.rowCount() and self.model.columnCount() > FIRST_SESSION_COLUMN:
            if same_course and previous.isValid():
                row = min(previous.row(), self.model.rowCount() - 1)
                column = min(previous.column(), self.model.columnCount() - 1)
            else:
                row, column = 0, self._first_open_session_column()
            self.view.setCurrentIndex(self.model.index(row, column))
        self._update_buttons()

    def _first_open_session_column(self) -> int:
        """The first session without any marks (where typing in usually starts), else the first."""
        marked = {session_id for session_id, _pid in self.model.marks}
        for i, session in enumerate(self.model.sessions):
            if not session.cancelled and session.id not in marked:
                return FIRST_SESSION_COLUMN + i
        return FIRST_SESSION_COLUMN

    # --- keyboard and marks ---------------------------------------------------------------

    def current_session(self) -> SessionRow | None:
        return self.model.session_at(self.view.currentIndex().column())

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        session = self.current_session()
        has_course = self.model.course is not None
        self.all_present_button.setEnabled(session is not None and not session.cancelled)
        for button in (self.open_button, self.preview_button, self.print_button):
            button.setEnabled(has_course and bool(self.model.sessions))

    def handle_key(self, event) -> bool:
        """Marks from the keyboard; returns True when the key was used."""
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
        key = event.key()
        index = self.view.currentIndex()
        if not index.isValid():
            return False
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear_mark(index)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_mark(index)
            return True
        status = status_for_key(event.text())
        if status is None:
            return False
        self.mark(index, status)
        return True

    def show_message(self, message: str) -> None:
        self.status_label.setText(message)

    def _target(self, index: QModelIndex) -> SessionRow | None:
        session = self.model.session_at(index.column())
        if session is None:
            self.show_message(_("Move to a session column to mark attendance."))
            return None
        if session.cancelled:
            self.show_message(_("The session on {date} is cancelled.").format(date=format_date(session.date)))
            return None
        return session

    def ask_minutes(self, session: SessionRow, current: int | None) -> int | None:
        """Minutes attended for a late arrival or an early leave; None when cancelled."""
        value, ok = QInputDialog.getInt(
            self,
            _("Late arrival or early leave"),
            _("Minutes attended (of {total}):").format(total=session.minutes),
            current if current is not None else max(0, session.minutes - 15),
            0,
            session.minutes,
            5,
        )
        return value if ok else None

    def _save(self, index: QModelIndex, status: str, minutes: int | None, note: str) -> bool:
        session = self.model.session_at(index.column())
        participant = self.model.participant_at(index.row())
        impact = month_close.impact_of_mark(self.ctx.db, session.id, participant.participant_id, status, minutes)
        if not confirm_closed_change(self, impact):
            return False
        try:
            with initiated_by(self):  # the register shows the mark already: no reload for it
                mark = service.set_mark(self.ctx.db, session.id, participant.participant_id, status, minutes, note)
        except UserError as exc:
            self.show_message(str(exc))
            return False
        self.model.apply_mark(index.row(), index.column(), mark)
        self.show_message(
            _("Saved: {name}, {date}: {status}.").format(
                name=participant.full_name, date=format_date(session.date), status=status_name(status)
            )
        )
        return True

    def mark(self, index: QModelIndex, status: str) -> None:
        session = self._target(index)
        if session is None:
            return
        current = self.model.mark_at(index.row(), index.column())
        minutes = None
        note = current.note if current is not None else ""
        if status == "late":
            minutes = self.ask_minutes(session, current.minutes if current is not None else None)
            if minutes is None:
                return
        if self._save(index, status, minutes, note):
            self._move_down(index)

    def _move_down(self, index: QModelIndex) -> None:
        if index.row() + 1 < self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(index.row() + 1, index.column()))

    def clear_mark(self, index: QModelIndex) -> None:
        session = self._target(index)
        if session is None:
            return
        participant = self.model.participant_at(index.row())
        if not confirm_closed_change(self, month_close.impact_of_mark(self.ctx.db, session.id, participant.participant_id, None, None)):
            return
        with initiated_by(self):
            service.clear_mark(self.ctx.db, session.id, participant.participant_id)
        self.model.apply_mark(index.row(), index.column(), None)
        self.show_message(_("Mark removed."))

    def edit_mark(self, index: QModelIndex | None = None) -> None:
        index = index if index is not None and index.isValid() else self.view.currentIndex()
        session = self._target(index)
        if session is None:
            return
        participant = self.model.participant_at(index.row())
        dialog = MarkDialog(session, participant.full_name, self.model.mark_at(index.row(), index.column()), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        status, minutes, note = dialog.values()
        self._save(index, status, minutes, note)

    def mark_all_present(self) -> None:
        index = self.view.currentIndex()
        session = self._target(index) if index.isValid() else None
        if session is None:
            return
        if not confirm_closed_change(self, month_close.impact_of_all_present(self.ctx.db, session.id)):
            return
        try:
            with initiated_by(self):
                marked = service.mark_all_present(self.ctx.db, session.id)
        except UserError as exc:
            self.show_message(str(exc))
            return
        self.model.apply_session_marks(index.column(), marked, Mark("present"))
        self.show_message(_("{count} marked present.").format(count=len(marked)))

    # --- sign-in sheets -----------------------------------------------------------------------

    def write_sheet(self) -> Path | None:
        """Write the sign-in sheet (current session or all sessions) to a temporary file."""
        from PySide6.QtWidgets import QApplication

        from app.services.signin_sheets import write_signin_sheet

        course = self.model.course
        if course is None:
            return None
        session_ids = None
        suffix = _("all-sessions")
        if self.sheet_scope.currentData() == "current":
            session = self.current_session()
            if session is None or session.cancelled:
                self.show_message(_("Move to a session (not cancelled) to print its sign-in sheet."))
                return None
            session_ids = [session.id]
            suffix = session.date.isoformat()
        from ui import previews

        folder = previews.folder()  # per-user cache, owner-only, emptied at close (not the temp folder)
        safe_code = re.sub(r"[^\w.-]+", "_", course.code)
        stem = _("sign-in-sheet")
        out = folder / f"{stem}-{safe_code}-{suffix}.pdf"
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            path = write_signin_sheet(self.ctx.db, course.id, out, session_ids=session_ids)
        except UserError as exc:
            self.show_message(str(exc))
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.last_sheet = path
        return path

    def open_sheet(self) -> None:
        from ui.pdf import open_pdf

        path = self.write_sheet()
        if path is not None:
            open_pdf(path, self)

    def preview_sheet(self) -> None:
        from ui.pdf import PdfPreviewDialog

        path = self.write_sheet()
        if path is not None:
            PdfPreviewDialog(path, self, title=_("Sign-in sheet")).exec()

    def print_sheet(self) -> None:
        from ui.pdf import print_pdf

        path = self.write_sheet()
        if path is not None:
            print_pdf(path, self)
