"""Screenshots of every page on the demo database, to look at (clipped labels, untranslated
strings):

    QT_QPA_PLATFORM=offscreen python -m ui.screenshots OUTDIR [--lang sv|en] [--size 1366x768]

At 125 % scaling: QT_SCALE_FACTOR=1.25 with the same --size (the physical screen; the window gets
size / 1.25 in Qt's logical pixels, as on such a laptop).

Writes OUTDIR/<lang>-<nn>-<page>.png, plus the course, company and participant pages with a
record selected and each detail tab open. Uses a temporary database and KURSDESK_HOME, so it
never touches the user's data or window settings.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def _grab(window, path: Path) -> None:
    import time

    from PySide6.QtWidgets import QApplication

    from ui.tasks import running_tasks

    def busy() -> bool:  # a load running in a worker, or due after the window's first paint
        page = window.stack.currentWidget() if hasattr(window, "stack") else None
        return bool(running_tasks()) or bool(getattr(page, "loading", False))

    deadline = time.monotonic() + 30  # pages load in a worker: shoot what the user sees
    while busy() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.01)
    QApplication.processEvents()
    window.grab().save(str(path))


def take(outdir: Path, lang: str = "sv", size: tuple[int, int] = (1366, 768)) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="kursdesk-shots-"))
    os.environ["KURSDESK_HOME"] = str(home)
    from PySide6.QtWidgets import QApplication

    from app.demo import fill_demo
    from app.i18n import set_language
    from app.services.settings import get_settings
    from app.sync.capture import open_app_database
    from ui.app import install_qt_translations
    from ui.context import AppContext
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    db = open_app_database(home / "demo.db")  # as the window opens it
    fill_demo(db)
    set_language(lang)
    install_qt_translations(lang)
    window = MainWindow(AppContext(db=db), get_settings(db).language)
    scale = float(os.environ.get("QT_SCALE_FACTOR", "1") or 1)
    window.resize(int(size[0] / scale), int(size[1] / scale))
    window.show()
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, key in enumerate(window.pages, start=1):
        page = window.show_page(key)
        path = outdir / f"{lang}-{number:02d}-{key}.png"
        _grab(window, path)
        written.append(path)
        table = getattr(page, "table", None)
        tabs = getattr(page, "tabs", None)
        if table is not None and tabs is not None and table.proxy.rowCount():
            table.selectRow(0)
            for tab in range(tabs.count()):
                tabs.setCurrentIndex(tab)
                path = outdir / f"{lang}-{number:02d}-{key}-tab{tab + 1}.png"
                _grab(window, path)
                written.append(path)
            tabs.setCurrentIndex(0)
    # the series dialog with its holiday warning
    courses = window.show_page("courses")
    if courses.table.proxy.rowCount():
        courses.table.selectRow(0)
        dialog = courses.open_series_dialog()
        from PySide6.QtCore import QDate

        dialog.weekday.setCurrentIndex(3)
        dialog.first.setDate(QDate(2026, 5, 1))
        dialog.last.setDate(QDate(2026, 6, 30))
        dialog.adjustSize()
        QApplication.processEvents()
        path = outdir / f"{lang}-series-dialog.png"
        dialog.grab().save(str(path))
        written.append(path)
        dialog.reject()
        courses.tabs.setCurrentIndex(1)
        for name, make in (("session-dialog", courses.open_session_dialog),):
            dialog = make()
            dialog.adjustSize()
            path = outdir / f"{lang}-{name}.png"
            _grab(dialog, path)
            written.append(path)
            # the question when a colleague saved the session after the dialog opened it
            from datetime import time

            from app.concurrency import FieldClash, StaleEdit
            from ui.stale_edit import StaleEditDialog

            clashes = (FieldClash("start_time", time(9, 0), time(8, 30)),
                       FieldClash("location", "Campus Västervik, sal 3", "Verkstadshallen, Gamlebyvägen 12"))
            stale = StaleEditDialog(StaleEdit("session", "", clashes, 2, "anna.lindqvist"), dialog.form, window)
            path = outdir / f"{lang}-stale-edit-dialog.png"
            _grab(stale, path)
            written.append(path)
            stale.reject()
            dialog.reject()
    companies = window.show_page("companies")
    _grab(window, outdir / "_")
    if companies.table.proxy.rowCount():
        companies.table.selectRow(0)
        dialog = companies.open_need_dialog(None)
        dialog.adjustSize()
        path = outdir / f"{lang}-need-dialog.png"
        _grab(dialog, path)
        written.append(path)
        dialog.reject()
    register = window.show_page("attendance")
    _grab(window, outdir / "_")
    session = next((s for s in register.model.sessions if not s.cancelled), None)
    if session is not None and register.model.rowCount():
        from ui.pages.attendance import MarkDialog

        dialog = MarkDialog(session, register.model.participants[0].full_name, None, register)
        dialog.show()
        path = outdir / f"{lang}-mark-dialog.png"
        _grab(dialog, path)
        written.append(path)
        dialog.reject()
    (outdir / "_").unlink(missing_ok=True)
    window.close()
    db.dispose()
    app.processEvents()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--lang", choices=("sv", "en"), default="sv")
    parser.add_argument("--size", default="1366x768", help="the screen, WIDTHxHEIGHT in physical pixels")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    for path in take(args.outdir, args.lang, (width, height)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
