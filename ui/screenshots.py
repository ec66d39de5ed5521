"""Screenshots of every page on the demo database, to look at (clipped labels, untranslated
strings):

    QT_QPA_PLATFORM=offscreen python -m ui.screenshots OUTDIR [--lang sv|en]

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
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    window.grab().save(str(path))


def take(outdir: Path, lang: str = "sv", size: tuple[int, int] = (1280, 800)) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="kursdesk-shots-"))
    os.environ["KURSDESK_HOME"] = str(home)
    from PySide6.QtWidgets import QApplication

    from app.db import Database
    from app.demo import fill_demo
    from app.i18n import set_language
    from ui.app import install_qt_translations
    from ui.context import AppContext
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    db = Database(home / "demo.db")
    fill_demo(db)
    set_language(lang)
    install_qt_translations(lang)
    window = MainWindow(AppContext(db=db))
    window.resize(*size)
    window.show()
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, key in enumerate(window.pages, start=1):
        page = window.show_page(key)
        page.refresh()
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
    window.close()
    db.dispose()
    app.processEvents()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--lang", choices=("sv", "en"), default="sv")
    args = parser.parse_args(argv)
    for path in take(args.outdir, args.lang):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
