"""The main window: navigation on the left, one page per area, a status bar with the database,
the sync state (read again in a worker a moment after changes, see SYNC_STATE_DELAY_MS) and the
last undoable action. Pages load and refresh themselves (ui/pages/base.py).

Keyboard: Ctrl+1..9 open the pages in navigation order (the overview first), Ctrl+Z undoes the
last deletion, the menu bar (Alt) reaches every window-wide action. Window geometry (and each
page's splitters and columns) are kept in QSettings (an ini file in the config folder, so
KURSDESK_HOME isolates tests); the window opens on the overview.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QToolButton,
    QWidget,
)

from app import config
from app.changes import ChangeSet
from app.errors import UserError
from app.i18n import _, current_language, set_language
from ui.context import AppContext
from ui.pages import PAGE_KEYS, PAGE_TITLES
from ui.tasks import run_read
from ui.undo import undo_stack

SYNC_STATE_DELAY_MS = 1000
_SP = QStyle.StandardPixmap
# Qt's own icons (every platform style has them; nothing to bundle)
PAGE_ICONS = {
    "overview": _SP.SP_FileDialogInfoView,
    "courses": _SP.SP_FileDialogDetailedView,
    "participants": _SP.SP_DirHomeIcon,
    "companies": _SP.SP_DirIcon,
    "attendance": _SP.SP_DialogApplyButton,
    "certificates": _SP.SP_FileIcon,
    "reports": _SP.SP_DriveFDIcon,
    "sync": _SP.SP_BrowserReload,
    "settings": _SP.SP_FileDialogContentsView,
}


def window_settings() -> QSettings:
    """Window state (geometry, last page) apart from the organisation's settings in the database."""
    return QSettings(str(config.config_dir() / "window.ini"), QSettings.Format.IniFormat)


class _Pages(Mapping):
    """The window's pages by key, each built (module imported, widget made) on first use, so
    that the window opens without loading every page's data and libraries."""

    def __init__(self, window: MainWindow):
        self._window = window
        self._built: dict[str, QWidget] = {}

    def __getitem__(self, key: str) -> QWidget:
        page = self._built.get(key)
        if page is None:
            if key not in PAGE_TITLES:
                raise KeyError(key)
            page = self._built[key] = self._window._build_page(key)
        return page

    def __iter__(self) -> Iterator[str]:
        return iter(PAGE_KEYS)

    def __len__(self) -> int:
        return len(PAGE_KEYS)

    def is_built(self, key: str) -> bool:
        return key in self._built


class MainWindow(QMainWindow):
    # the window that replaced this one after a language switch
    replaced = Signal(object)
    # keeps the current window alive when a language switch rebuilds it
    current: MainWindow | None = None

    def __init__(self, ctx: AppContext, stored_language: str | None = None):
        super().__init__()
        self.ctx = ctx
        # the language in the settings (not always the one shown: `kursdesk --lang en`); the
        # window follows a change of it
        self.stored_language = stored_language or current_language()
        self.undo = undo_stack(ctx)
        self.setObjectName("main_window")
        self._set_title()
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName(_("Navigation"))
        self.stack = QStackedWidget()
        self.pages = _Pages(self)
        self.page_actions: dict[str, QAction] = {}
        for number, key in enumerate(PAGE_KEYS, start=1):
            title = _(PAGE_TITLES[key])
            item = QListWidgetItem(self.style().standardIcon(PAGE_ICONS[key]), title)
            item.setToolTip(_("{page} (Ctrl+{number})").format(page=title, number=number))
            self.nav.addItem(item)
            self.stack.addWidget(QWidget())  # stands in until the page is first opened
            action = QAction(title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _checked=False, k=key: self.show_page(k))
            self.page_actions[key] = action
            self.addAction(action)
        # as wide as its longest title (in the language shown), not a fixed guess
        self.nav.setIconSize(QSize(20, 20))
        frame = 2 * self.nav.frameWidth() + 12
        self.nav.setFixedWidth(self.nav.sizeHintForColumn(0) + frame)
        self.nav.currentRowChanged.connect(self._on_row_changed)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._build_menus()
        self._build_status_bar()
        ctx.bus.changed.connect(self._on_changes)
        self.undo.changed.connect(self._update_undo)
        self._update_undo()
        # every write adds to "changes not yet shared": the state is read once after a burst
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(SYNC_STATE_DELAY_MS)
        self._sync_timer.timeout.connect(self._update_sync_state)
        # nothing is read before the window is on screen: the first paint starts the reads
        ctx.on_screen = False
        self._painted = False
        self._restore_state()

    # --- construction -----------------------------------------------------------------------

    def _set_title(self) -> None:
        facts = self.ctx.facts  # read before the database is opened (app/db_peek.py)
        if facts is not None:
            demo = facts.demo
        else:
            from app.demo import DEMO_KEY
            from app.services.settings import get_value

            demo = get_value(self.ctx.db, DEMO_KEY) == "1"
        self.setWindowTitle(_("Kursdesk – demo database (not your data)") if demo else "Kursdesk")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(_("&File"))
        self.quit_action = QAction(_("&Quit"), self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu(_("&Edit"))
        self.undo_action = QAction(_("&Undo"), self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undo_last)
        edit_menu.addAction(self.undo_action)
        go_menu = bar.addMenu(_("&Go"))
        for action in self.page_actions.values():
            go_menu.addAction(action)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.undo_button = QToolButton()
        self.undo_button.setObjectName("undo_button")
        self.undo_button.setDefaultAction(self.undo_action)
        self.undo_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.undo_label = QLabel()
        self.undo_label.setObjectName("undo_label")
        self.sync_label = QLabel()
        self.sync_label.setObjectName("sync_state")
        self.sync_label.setAccessibleName(_("Sync state"))
        # a file's full path; a server's host and database only (never a user or password)
        facts = self.ctx.facts  # the file, before it is opened
        name = facts.path if facts is not None else (self.ctx.db.path or self.ctx.db.display_name)
        self.db_label = QLabel(_("Database: {path}").format(path=str(name)))
        self.db_label.setObjectName("database_path")
        self.db_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status.addWidget(self.undo_label)
        status.addWidget(self.undo_button)
        status.addPermanentWidget(self.sync_label)
        status.addPermanentWidget(self.db_label)

    # --- pages ------------------------------------------------------------------------------

    def _build_page(self, key: str) -> QWidget:
        if key != PAGE_KEYS[0]:
            # only the first page is built before the database is open: the others' modules load
            # the services, so the open (in a worker, importing the same modules) comes first
            self.ctx.open_database()
        module = importlib.import_module(f"ui.pages.{key}")
        page = module.Page(self.ctx)
        page.setObjectName(f"page_{key}")
        if key == "overview":
            page.open_requested.connect(self.open_place)
        index = PAGE_KEYS.index(key)
        placeholder = self.stack.widget(index)
        current = self.stack.currentIndex()
        self.stack.insertWidget(index, page)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.stack.setCurrentIndex(current)
        return page

    def show_page(self, key: str) -> QWidget:
        page = self.pages[key]
        self.nav.setCurrentRow(PAGE_KEYS.index(key))
        return page

    def open_place(self, key: str, course_id: str = "") -> QWidget:
        """Show a page, on a course when given (the overview's lines lead here)."""
        page = self.show_page(key)
        select_course = getattr(page, "select_course", None)
        if course_id and select_course is not None:
            select_course(course_id)
        elif course_id and hasattr(page, "table"):
            page.table.select_id(course_id)
        return page

    def current_key(self) -> str:
        return PAGE_KEYS[max(self.nav.currentRow(), 0)]

    def _on_row_changed(self, row: int) -> None:
        if row < 0:
            return
        self.pages[PAGE_KEYS[row]]  # built on first use; it loads when shown (ui/pages/base.py)
        self.stack.setCurrentIndex(row)

    # --- status bar -------------------------------------------------------------------------

    def _on_changes(self, changes: ChangeSet, _initiator: object) -> None:
        self._sync_timer.start()
        if changes.touches(["settings"]):
            from app.services.settings import get_settings

            lang = get_settings(self.ctx.db).language
            if lang != self.stored_language:
                self.stored_language = lang
                if lang != current_language():
                    self.switch_language(lang)

    def _update_sync_state(self) -> None:
        """Partners, open conflicts and changes not yet published, from the sync service."""
        from app.sync.status import overview

        db = self.ctx.db
        run_read(self, lambda: overview(db), self._show_sync_state)

    def _show_sync_state(self, info) -> None:
        if not self.ctx.db.is_sqlite:  # the server's sync agent syncs (ui/pages/sync.py)
            self.sync_label.setText(_("Sync: by the server's sync agent"))
            return
        if not info.folder and not info.partners:
            self.sync_label.setText(_("Sync: not set up"))
            return
        self.sync_label.setText(
            _("Sync: {partners} partners · {conflicts} conflicts · {pending} changes not yet shared").format(
                partners=len(info.partners), conflicts=info.open_conflicts, pending=info.pending_changes
            )
        )

    def _update_undo(self) -> None:
        can = self.undo.can_undo()
        self.undo_action.setEnabled(can)
        self.undo_button.setVisible(can)
        self.undo_label.setText(self.undo.undo_text())
        self.undo_action.setText(_("&Undo") if not can else _("&Undo: {action}").format(action=self.undo.undo_text()))
        self.undo_button.setText(_("Undo"))
        self.undo_button.setToolTip(_("Undo: {action} (Ctrl+Z)").format(action=self.undo.undo_text()))

    def undo_last(self) -> None:
        try:
            if self.undo.undo():
                self.statusBar().showMessage(_("Undone."), 5000)
        except UserError as exc:
            from ui.forms import show_error

            show_error(self, exc)

    def notify(self, message: str) -> None:
        self.statusBar().showMessage(message, 5000)

    # --- language -----------------------------------------------------------------------------

    def switch_language(self, lang: str) -> MainWindow:
        """Rebuild the whole window in another language (Qt's own dialogs included)."""
        from ui.app import install_qt_translations

        self._save_state()
        set_language(lang)
        install_qt_translations(lang)
        replacement = MainWindow(self.ctx, self.stored_language)
        replacement.show_page(self.current_key())
        replacement.show()
        MainWindow.current = replacement
        self.replaced.emit(replacement)
        try:
            self.ctx.bus.changed.disconnect(self._on_changes)
        except (RuntimeError, TypeError):
            pass
        self._saving_disabled = True
        self.close()
        self.deleteLater()
        return replacement

    # --- state --------------------------------------------------------------------------------

    def _restore_state(self) -> None:
        settings = window_settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:  # fits the screen it opens on (a 1366×768 laptop less its task bar)
            screen = self.screen().availableGeometry()
            self.resize(min(1280, screen.width()), min(800, screen.height()))
        self.show_page(PAGE_KEYS[0])  # the overview: what is due

    def _save_state(self) -> None:
        settings = window_settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.sync()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        MainWindow.current = MainWindow.current or self

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self._start_reading)

    def _start_reading(self) -> None:
        """After the first paint: the database opens (in a worker) unless it is, then the sync
        state and the page on screen load."""
        if not self.ctx.is_open:
            run_read(self, self.ctx.open_database, lambda _db: self._start_reading(), self._not_opened)
            return
        self.ctx.on_screen = True
        self._update_sync_state()
        page = self.stack.currentWidget()
        if page is not None and page.isVisible() and not getattr(page, "fresh", True):
            page.refresh()

    def _not_opened(self, exc: BaseException) -> None:
        """The database could not be opened after all (another program changed it meanwhile):
        say why, and close the window, which has nothing to show."""
        from ui.tasks import show_error

        show_error(self, exc)
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not getattr(self, "_saving_disabled", False):
            self._save_state()
        super().closeEvent(event)
