"""Start the window: QApplication, translations, the database, the main window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QLibraryInfo, QLocale, QTimer, QTranslator
from PySide6.QtWidgets import QApplication

from app.db import open_database
from app.i18n import locale_name, set_language
from app.services.settings import get_settings
from ui.context import AppContext


def _install_qt_translations(app: QApplication, lang: str) -> None:
    """Qt's own strings (standard buttons, file and print dialogs) in the chosen language."""
    translator = QTranslator(app)
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if translator.load(QLocale(locale_name(lang)), "qtbase", "_", path):
        app.installTranslator(translator)
    QLocale.setDefault(QLocale(locale_name(lang)))


def run(db_path=None, lang: str | None = None, smoke: bool = False, demo_if_empty: bool = False) -> int:
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Kursdesk")
    app.setOrganizationName("Kompetenslyft")
    db = open_database(db_path)
    if demo_if_empty:
        from app.demo import fill_demo_if_empty

        fill_demo_if_empty(db)
    lang = lang or get_settings(db).language
    set_language(lang)
    _install_qt_translations(app, lang)
    window = MainWindow(AppContext(db=db))
    window.show()
    if smoke:
        return smoke_test(app, window)
    return app.exec()


def smoke_test(app: QApplication, window) -> int:
    """Open every page once; any exception fails the run."""
    failures = []
    for key in window.pages:
        try:
            window.show_page(key).refresh()
            app.processEvents()
        except Exception as exc:  # noqa: BLE001 - reported as the smoke result
            failures.append(f"{key}: {type(exc).__name__}")
    QTimer.singleShot(0, app.quit)
    app.exec()
    if failures:
        print("smoke failed: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("smoke ok")
    return 0
