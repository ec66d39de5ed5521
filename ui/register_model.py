"""The attendance register as a table model: participants (rows, by last name) by sessions.

Columns: attended hours, percent (against the course minimum), then one column per session.
The participant's name is the vertical header, so it stays in view while the sessions scroll.
The model holds a plain copy of the Register the service returned; after a mark is saved the
page calls `apply_mark`, which updates the cell and recomputes that participant's totals with
app.services.attendance.summarize (the same rules the service uses).
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from app.i18n import _, format_attendance, format_date, format_hours, format_percent, format_time
from app.services.attendance import Mark, ParticipantAttendance, Register, SessionRow, Totals, summarize

HOURS_COLUMN = 0
PERCENT_COLUMN = 1
FIRST_SESSION_COLUMN = 2

PARTICIPANT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SESSION_ID_ROLE = Qt.ItemDataRole.UserRole + 2
MARK_ROLE = Qt.ItemDataRole.UserRole + 3
WARNING_ROLE = Qt.ItemDataRole.UserRole + 4

STATUS_COLOURS = {
    "present": QColor("#d7f0d2"),
    "late": QColor("#fbefc4"),
    "excused": QColor("#d6e6f7"),
    "absent": QColor("#f6d2d2"),
}
CANCELLED_BACKGROUND = QColor("#d0d0d0")
CANCELLED_FOREGROUND = QColor("#808080")
WARNING_FOREGROUND = QColor("#b00020")
WARNING_BACKGROUND = QColor("#fde2e2")


def status_letter(status: str) -> str:
    """The one-letter abbreviation of a status, which is also its key in the register."""
    return {
        "present": _("P"),
        "late": _("L"),
        "excused": _("E"),
        "absent": _("A"),
    }[status]


def status_name(status: str) -> str:
    return {
        "present": _("Present"),
        "late": _("Late / left early"),
        "excused": _("Excused absence"),
        "absent": _("Absent"),
    }[status]


def status_for_key(text: str) -> str | None:
    """The status whose letter (in the current language) is `text`, case-insensitively."""
    if not text:
        return None
    for status in ("present", "late", "excused", "absent"):
        if status_letter(status).casefold() == text.casefold():
            return status
    return None


class RegisterModel(QAbstractTableModel):
    def __init__(self, parent=None, today: date | None = None):
        super().__init__(parent)
        self.today = today
        self.course = None
        self.sessions: list[SessionRow] = []
        self.participants: list[ParticipantAttendance] = []
        self.marks: dict[tuple[str, str], Mark] = {}
        self._totals: list[Totals] = []
        self._totals_text: list[tuple[str, str]] = []
        self._session_labels: list[str] = []
        self._warning_icon = None
        self._letters: dict[str, str] = {}
        self._brushes: dict[str, QBrush] = {}
        self._cancelled_brush = QBrush(CANCELLED_BACKGROUND)
        self._cancelled_text = QBrush(CANCELLED_FOREGROUND)

    # --- data in ----------------------------------------------------------------------------

    def set_register(self, register: Register | None) -> None:
        self.beginResetModel()
        # looked up once per load: data() is called thousands of times while the view paints
        self._letters = {status: status_letter(status) for status in STATUS_COLOURS}
        self._brushes = {status: QBrush(colour) for status, colour in STATUS_COLOURS.items()}
        if register is None:
            self.course, self.sessions, self.participants, self.marks = None, [], [], {}
        else:
            self.course = register.course
            self.sessions = list(register.sessions)
            self.participants = list(register.participants)
            self.marks = dict(register.marks)
        # the service computed each participant's totals with the same rules: take them over
        self._totals = [
            Totals(p.scheduled_minutes, p.attended_minutes, p.remaining_minutes, p.percent, p.eligible,
                   p.can_still_reach)
            for p in self.participants
        ]
        # babel formats once per load and per mark, not on every repaint
        self._totals_text = [self._format_totals(t) for t in self._totals]
        self._session_labels = [self._session_label(s) for s in self.sessions]
        self.endResetModel()

    @staticmethod
    def _format_totals(totals: Totals) -> tuple[str, str]:
        return format_hours(totals.attended_minutes), format_attendance(totals.percent)

    @staticmethod
    def _session_label(session: SessionRow) -> str:
        label = f"{format_date(session.date)}\n{format_time(session.start)}–{format_time(session.end)}"
        return f"{label}\n({_('cancelled')})" if session.cancelled else label

    @staticmethod
    def _warns(totals: Totals) -> bool:
        return not totals.can_still_reach and totals.scheduled_minutes > 0

    def _compute(self, participant_id: str) -> Totals:
        marks = {}
        for session in self.sessions:
            mark = self.marks.get((session.id, participant_id))
            if mark is not None:
                marks[session.id] = mark
        return summarize(
            self.sessions, marks, self.course.min_attendance_percent if self.course else 0, self.today
        )

    def apply_mark(self, row: int, column: int, mark: Mark | None) -> None:
        """Show a saved (or cleared, with None) mark and update the participant's totals."""
        participant_id = self.participants[row].participant_id
        session_id = self.sessions[column - FIRST_SESSION_COLUMN].id
        if mark is None:
            self.marks.pop((session_id, participant_id), None)
        else:
            self.marks[(session_id, participant_id)] = mark
        warned = self._warns(self._totals[row])
        self._totals[row] = self._compute(participant_id)
        self._totals_text[row] = self._format_totals(self._totals[row])
        self.dataChanged.emit(self.index(row, column), self.index(row, column))
        self.dataChanged.emit(self.index(row, HOURS_COLUMN), self.index(row, PERCENT_COLUMN))
        if self._warns(self._totals[row]) != warned:  # a header change relayouts the whole view
            self.headerDataChanged.emit(Qt.Orientation.Vertical, row, row)

    def apply_session_marks(self, column: int, participant_ids: list[str], mark: Mark) -> None:
        rows = {p.participant_id: i for i, p in enumerate(self.participants)}
        for pid in participant_ids:
            if pid in rows:
                self.apply_mark(rows[pid], column, mark)

    # --- lookups ------------------------------------------------------------------------------

    def session_at(self, column: int) -> SessionRow | None:
        index = column - FIRST_SESSION_COLUMN
        return self.sessions[index] if 0 <= index < len(self.sessions) else None

    def participant_at(self, row: int) -> ParticipantAttendance | None:
        return self.participants[row] if 0 <= row < len(self.participants) else None

    def mark_at(self, row: int, column: int) -> Mark | None:
        session = self.session_at(column)
        participant = self.participant_at(row)
        if session is None or participant is None:
            return None
        return self.marks.get((session.id, participant.participant_id))

    def totals(self, row: int) -> Totals:
        return self._totals[row]

    def column_of_session(self, session_id: str) -> int:
        for i, session in enumerate(self.sessions):
            if session.id == session_id:
                return FIRST_SESSION_COLUMN + i
        return -1

    # --- Qt model -----------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.participants)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else FIRST_SESSION_COLUMN + len(self.sessions)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        # a cancelled session's cells are greyed by their colours, not disabled: a click moves the
        # cursor there (a mark on it is refused), so the next key never lands on another cell
        return Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled

    def _warning(self) -> object:
        if self._warning_icon is None:
            style = QApplication.style()
            self._warning_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._warning_icon

    def _warning_text(self) -> str:
        minimum = format_percent(self.course.min_attendance_percent / 100 if self.course else 0)
        return _("The minimum attendance of {minimum} can no longer be reached.").format(minimum=minimum)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        participant = self.participants[row]
        if role == PARTICIPANT_ID_ROLE:
            return participant.participant_id
        if column in (HOURS_COLUMN, PERCENT_COLUMN):
            if role == Qt.ItemDataRole.DisplayRole:
                return self._totals_text[row][column != HOURS_COLUMN]
            return self._totals_data(column, self._totals[row], role)
        session = self.sessions[column - FIRST_SESSION_COLUMN]
        mark = self.marks.get((session.id, participant.participant_id))
        if role == SESSION_ID_ROLE:
            return session.id
        if role == MARK_ROLE:
            return mark
        if role == Qt.ItemDataRole.DisplayRole:
            if session.cancelled:
                return "–"
            if mark is None:
                return ""
            letter = self._letters[mark.status]
            if mark.minutes is not None and mark.status in ("present", "late"):
                letter = f"{letter} {mark.minutes}"
            return letter + (" *" if mark.note else "")
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if session.cancelled:
                return self._cancelled_brush
            if mark is not None:
                return self._brushes[mark.status]
            return None
        if role == Qt.ItemDataRole.ForegroundRole and session.cancelled:
            return self._cancelled_text
        if role == Qt.ItemDataRole.ToolTipRole:
            if session.cancelled:
                return _("Cancelled session")
            if mark is None:
                return _("No mark")
            parts = [status_name(mark.status)]
            if mark.minutes is not None and mark.status in ("present", "late"):
                parts.append(_("{minutes} of {total} minutes").format(minutes=mark.minutes, total=session.minutes))
            if mark.note:
                parts.append(mark.note)
            return "\n".join(parts)
        return None

    def _totals_data(self, column: int, totals: Totals, role):
        warn = not totals.can_still_reach and totals.scheduled_minutes > 0
        if role == WARNING_ROLE:
            return warn
        if role == Qt.ItemDataRole.DisplayRole:
            if column == HOURS_COLUMN:
                return format_hours(totals.attended_minutes)
            return format_attendance(totals.percent)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if column == PERCENT_COLUMN:
            if role == Qt.ItemDataRole.DecorationRole and warn:
                return self._warning()
            if role == Qt.ItemDataRole.ForegroundRole and warn:
                return QBrush(WARNING_FOREGROUND)
            if role == Qt.ItemDataRole.BackgroundRole and warn:
                return QBrush(WARNING_BACKGROUND)
            if role == Qt.ItemDataRole.FontRole and warn:
                font = QFont()
                font.setBold(True)
                return font
            if role == Qt.ItemDataRole.ToolTipRole:
                minimum = format_percent(self.course.min_attendance_percent / 100 if self.course else 0)
                tip = _("Attended {attended} of {scheduled} hours; minimum {minimum}.").format(
                    attended=format_hours(totals.attended_minutes),
                    scheduled=format_hours(totals.scheduled_minutes),
                    minimum=minimum,
                )
                return f"{tip}\n{self._warning_text()}" if warn else tip
        if column == HOURS_COLUMN and role == Qt.ItemDataRole.ToolTipRole:
            return _("Attended {attended} of {scheduled} hours").format(
                attended=format_hours(totals.attended_minutes), scheduled=format_hours(totals.scheduled_minutes)
            )
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Vertical:
            if not 0 <= section < len(self.participants):
                return None
            participant = self.participants[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{participant.last_name}, {participant.first_name}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return participant.company_name or None
            if role == Qt.ItemDataRole.DecorationRole:
                totals = self._totals[section]
                if not totals.can_still_reach and totals.scheduled_minutes > 0:
                    return self._warning()
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == HOURS_COLUMN:
                return _("Hours")
            if section == PERCENT_COLUMN:
                if self.course is None:
                    return _("Attendance")
                minimum = _("min. {minimum}").format(minimum=format_percent(self.course.min_attendance_percent / 100))
                return f"{_('Attendance')}\n{minimum}"
            index = section - FIRST_SESSION_COLUMN
            return self._session_labels[index] if 0 <= index < len(self._session_labels) else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == PERCENT_COLUMN and self.course is not None:
                return _("Attendance against the course minimum of {minimum}").format(
                    minimum=format_percent(self.course.min_attendance_percent / 100)
                )
            session = self.session_at(section)
            if session is not None:
                tip = format_date(session.date, "full")
                cancelled = _("Cancelled session")
                return f"{tip}\n{cancelled}" if session.cancelled else tip
        if role == Qt.ItemDataRole.ForegroundRole:
            session = self.session_at(section)
            if session is not None and session.cancelled:
                return QBrush(CANCELLED_FOREGROUND)
        return None
