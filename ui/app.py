"""Start the window: QApplication, translations, the database, the main window."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from app.i18n import DEFAULT_LANGUAGE, LANGUAGES, locale_name, set_language
from ui import collector
from ui.context import AppContext

_qt_translator: QTranslator | None = None


def install_qt_translations(lang: str) -> bool:
    """Qt's own strings (standard buttons, file and print dialogs) in the chosen language,
    replacing the translator installed before. True when qtbase_<lang>.qm was loaded."""
    global _qt_translator
    app = QApplication.instance()
    if app is None:
        return False
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    QLocale.setDefault(QLocale(locale_name(lang)))
    if lang == "en":
        return True
    translator = QTranslator(app)
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load(QLocale(locale_name(lang)), "qtbase", "_", path):
        app.installTranslator(translator)
        _qt_translator = translator
        return True
    return False


def open_window(db, lang: str | None = None):
    """The main window on an opened database as `kursdesk` shows it: in the language of its
    settings (unless `lang`), Qt's own strings translated, garbage collected on the UI thread
    (ui/collector.py). The caller shows it; the first page loads its data after that."""
    from app.services.settings import get_settings

    return _window(AppContext(db=db), get_settings(db).language, lang)


def open_window_before_database(facts, lang: str | None = None):
    """The same window on a database file not opened yet (app/db_peek.py: a file at this
    program's schema). After the first paint the main window opens it in a worker, with sync
    capture (app/sync/capture.py) installed before anything can write."""

    def open_db():
        from app.sync.capture import open_app_database

        return open_app_database(facts.path)

    stored = facts.language if facts.language in LANGUAGES else DEFAULT_LANGUAGE
    return _window(AppContext.opening(facts, open_db), stored, lang)


def _window(ctx: AppContext, stored: str, lang: str | None):
    from ui.main_window import MainWindow

    lang = lang or stored
    set_language(lang)
    install_qt_translations(lang)
    collector.take_over(QApplication.instance())
    window = MainWindow(ctx, stored)
    MainWindow.current = window
    return window


def window_shown() -> None:
    """Start-up is over: what it built is never garbage (ui/collector.py)."""
    collector.take_over(QApplication.instance()).freeze_start_up()


def run(db_path=None, lang: str | None = None, smoke: bool = False, demo_if_empty: bool = False,
        on_shown: Callable[[], None] | None = None) -> int:
    """The window on the database. A second start on the same database brings the first window
    forward and exits (ui/single_instance.py); a smoke run is not guarded. When the window closes
    the database is disposed (its WAL folded into the .db file) and the previews are removed.
    `on_shown()` is called once the window is on screen (the start-up benchmark stops there)."""
    from ui import previews
    from ui.single_instance import SingleInstance, bring_forward, instance_key

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Kursdesk")
    app.setOrganizationName("Kompetenslyft")
    guard = None
    if not smoke:
        guard = SingleInstance(instance_key(db_path))
        if not guard.acquire():
            return _second_start(guard)
    db = ctx = None
    try:
        previews.start()
        # a file at this program's schema: the window first, the database after its first paint
        facts = None if demo_if_empty else _peek(db_path)
        if facts is not None:
            window = open_window_before_database(facts, lang)
            ctx = window.ctx
        else:
            db = _open_or_fix(db_path, smoke)
            if db is None:
                return 2
            if demo_if_empty:
                from app.demo import fill_demo_if_empty

                fill_demo_if_empty(db)
            window = open_window(db, lang)
        if guard is not None:
            guard.activated.connect(lambda: bring_forward(window))
        window.show()
        window_shown()
        if on_shown is not None:
            app.processEvents()
            on_shown()
        if smoke:
            return smoke_test(app, window)
        return app.exec()
    finally:
        close_down(lambda: db or (ctx.opened_db if ctx is not None else None), guard)


def _peek(db_path):
    from app import config
    from app.db_peek import peek

    return peek(db_path or config.server_url() or config.default_db_path())


def _open_or_fix(db_path, smoke: bool):
    """The database; when its server cannot be used, a dialog says why and offers the connection
    settings, and the saved ones are tried (None: the user gave up; the reason is on stderr)."""
    from app.db import ServerUnavailable
    from app.sync.capture import open_app_database

    while True:
        try:
            return open_app_database(db_path)
        except ServerUnavailable as exc:
            from ui.server_dialog import ask_to_fix_connection

            if smoke or not ask_to_fix_connection(None, exc):
                print(f"kursdesk: {exc}", file=sys.stderr)
                return None
            db_path = None  # the settings just saved


def _second_start(guard) -> int:
    from app.i18n import _

    if guard.notify_first():
        print(_("Kursdesk is already open on this database: its window was brought forward."))
        return 0
    print(
        "kursdesk: " + _("Kursdesk is already open on this database, but its window does not answer. Close it and start again."),
        file=sys.stderr,
    )
    return 2


def close_down(database: Callable[[], object], guard=None) -> None:
    """After the window closed: let background work finish (bounded; the database's own open
    among it), dispose the database (`database()`, None when it was never opened), remove the
    previews, let the next start have the database."""
    from ui import previews
    from ui.tasks import running_tasks

    app = QApplication.instance()
    deadline = time.monotonic() + 30
    while running_tasks() and time.monotonic() < deadline:
        if app is not None:
            app.processEvents()
        time.sleep(0.02)
    db = database()
    if db is not None:
        db.dispose()
    previews.remove()
    if guard is not None:
        guard.release()


def smoke_test(app: QApplication, window) -> int:
    """Open every page once, then self-check the core (fonts, PDF, babel, catalogs, migrations)
    and the Qt side (read the sample PDF back with QtPdf, Qt's own Swedish translations).
    Any exception or problem fails the run (exit 1, one line per problem on stderr)."""
    import tempfile
    from pathlib import Path

    from app.selfcheck import PDF_FILE_NAME, PDF_SAMPLE_NAMES, SWEDISH_FUNDING_STATEMENT, run_selfcheck

    failures = []
    for key in window.pages:
        try:
            page = window.show_page(key)
            page.refresh()
            # its load finishes before the next page hides it (a hidden page's load is cancelled)
            deadline = time.monotonic() + 30
            while getattr(page, "loading", False) and time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.005)
            app.processEvents()
        except Exception as exc:  # noqa: BLE001 - reported as the smoke result
            failures.append(f"{key}: {type(exc).__name__}")
    with tempfile.TemporaryDirectory(prefix="kursdesk-smoke-") as tmp:
        failures += run_selfcheck(window.ctx.db, Path(tmp))
        pdf = Path(tmp) / PDF_FILE_NAME
        if pdf.exists():
            try:
                from PySide6.QtPdf import QPdfDocument

                doc = QPdfDocument()
                doc.load(str(pdf))
                text = doc.getAllText(0).text() if doc.pageCount() else ""
                doc.close()
                if SWEDISH_FUNDING_STATEMENT not in text or PDF_SAMPLE_NAMES not in text:
                    failures.append("QtPdf: the sample PDF does not read back as written")
            except Exception as exc:  # noqa: BLE001
                failures.append(f"QtPdf: {type(exc).__name__}")
    # the one-window guard (QtNetwork's local socket, QLockFile) works in this build
    try:
        import uuid

        from ui.single_instance import SingleInstance

        probe = SingleInstance(f"smoke-{uuid.uuid4().hex[:16]}")
        if not probe.acquire() or not probe.listening:
            failures.append("one-window guard: no lock or no local socket")
        probe.release()
    except Exception as exc:  # noqa: BLE001
        failures.append(f"one-window guard: {type(exc).__name__}")
    qt_sv = QTranslator()
    if not qt_sv.load(QLocale("sv_SE"), "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        failures.append("Qt translations: qtbase_sv.qm not found")
    # let the pages' start-up work (loaded off the UI thread) finish; no nested event loop, so
    # the application stays usable after a smoke run inside a test process
    from ui.tasks import running_tasks

    deadline = time.monotonic() + 15
    while running_tasks() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    if running_tasks():
        failures.append("background work did not finish")
    if failures:
        for failure in failures:
            print("smoke failed: " + failure, file=sys.stderr)
        return 1
    print("smoke ok")
    return 0
