"""The window on screen before its database is opened (ui/app.py, app/db_peek.py): what it shows
first is read with sqlite3, SQLAlchemy loads after the first paint, and a write made from the
window is still captured for sync."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from app import demo
from app.db_peek import DEMO_KEY, ORGANISATION_KEY, StartFacts, peek
from app.models import ProjectSetting, SyncChange, project_setting_id
from app.services import settings as settings_service
from ui import collector
from ui.app import open_window_before_database
from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def _database(template: Path, folder: Path, **settings: str) -> Path:
    path = folder / "kursdesk.db"
    shutil.copyfile(template, path)
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", settings.items())
    conn.close()
    return path


def test_the_keys_it_reads_are_the_services_keys():
    assert ORGANISATION_KEY == settings_service._KEY
    assert DEMO_KEY == demo.DEMO_KEY


def test_a_file_at_the_head_gives_its_language_and_demo_flag(tmp_path, migrated_template):
    path = _database(migrated_template, tmp_path, organisation=json.dumps({"language": "en", "place": "Kalmar"}),
                     demo_database="1")
    assert peek(str(path)) == StartFacts(path=path.resolve(), language="en", demo=True)
    (tmp_path / "plain").mkdir()
    plain = _database(migrated_template, tmp_path / "plain")
    assert peek(plain) == StartFacts(path=plain.resolve(), language="", demo=False)


@pytest.mark.parametrize("revision", ["0008", "9999"])
def test_a_file_not_at_the_head_is_opened_first(tmp_path, migrated_template, revision):
    """A migration is due (0008) or a newer Kursdesk wrote it (9999): the database is opened
    before the window, which migrates with its copy or refuses with "update Kursdesk"."""
    path = _database(migrated_template, tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()
    assert peek(path) is None


def test_no_file_a_server_or_not_a_database_is_opened_first(tmp_path):
    assert peek(tmp_path / "missing.db") is None
    assert not (tmp_path / "missing.db").exists()  # the look creates nothing
    assert peek("postgresql://kursdesk@server/kursdesk") is None
    junk = tmp_path / "junk.db"
    junk.write_text("not a database", encoding="utf-8")
    assert peek(junk) is None


def _sync_changes(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(SyncChange)).scalar_one()


def test_the_window_opens_its_database_after_the_first_paint_with_capture(qtbot, tmp_path, migrated_template):
    path = _database(migrated_template, tmp_path, demo_database="1")
    window = open_window_before_database(peek(path), "en")
    qtbot.addWidget(window)
    ctx = window.ctx
    try:
        assert not ctx.is_open
        assert window.windowTitle() == "Kursdesk – demo database (not your data)"
        assert str(path.resolve()) in window.db_label.text()
        overview = window.pages["overview"]
        assert overview.tree.topLevelItem(0).text(0) == "Loading…" and not overview.print_button.isEnabled()
        window.show()
        with qtbot.waitSignal(overview.loaded, timeout=20_000):
            qtbot.waitExposed(window)
        assert ctx.is_open and overview.data is not None
        assert overview.tree.topLevelItem(0).text(0) == "0 sessions in the next 7 days"
        assert getattr(ctx.db, "_sync_capture_installed", False)
        before = _sync_changes(ctx.db)
        with qtbot.waitSignal(ctx.bus.changed, timeout=5_000):  # the window hears of the write
            with ctx.db.write() as s:
                s.add(ProjectSetting(id=project_setting_id("case_number"), key="case_number", value="2024/00123"))
        assert _sync_changes(ctx.db) == before + 1  # captured for the partners
    finally:
        collector.take_over(QApplication.instance()).stop()
        MainWindow.current = None
        window.close()
        if ctx.opened_db is not None:
            ctx.opened_db.dispose()


def test_a_page_other_than_the_first_opens_the_database_before_it_is_built(qtbot, tmp_path, migrated_template):
    window = open_window_before_database(peek(_database(migrated_template, tmp_path)), "en")
    qtbot.addWidget(window)
    try:
        assert not window.ctx.is_open
        window.pages["courses"]
        assert window.ctx.is_open
    finally:
        collector.take_over(QApplication.instance()).stop()
        MainWindow.current = None
        window.ctx.db.dispose()


SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from ui.launch import open_window
    from ui.main_window import MainWindow
    from PySide6.QtWidgets import QApplication

    def shown():
        seen = {"sqlalchemy": "sqlalchemy" in sys.modules, "models": "app.models" in sys.modules}
        window = MainWindow.current
        overview = window.pages["overview"]
        deadline = time.monotonic() + 60
        while (not overview.fresh or overview.loading) and time.monotonic() < deadline:
            QApplication.instance().processEvents()
            time.sleep(0.01)
        seen["loaded"] = overview.data is not None
        seen["capture"] = getattr(window.ctx.db, "_sync_capture_installed", False)
        print(json.dumps(seen), flush=True)
        window.ctx.db.dispose()
        os._exit(0)

    open_window(db_path=sys.argv[1], lang="en", on_shown=shown)
""")


def test_kursdesk_shows_its_window_before_sqlalchemy_and_the_models_load(tmp_path, migrated_template, kursdesk_home):
    path = _database(migrated_template, tmp_path)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "KURSDESK_HOME": str(kursdesk_home)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"sqlalchemy": False, "models": False, "loaded": True, "capture": True}


def test_kursdesk_on_a_newer_kursdesks_database_still_says_update_and_opens_no_window(tmp_path, migrated_template,
                                                                                    kursdesk_home):
    written_by = json.dumps({"revision": "9999", "version": "3.0"})
    path = _database(migrated_template, tmp_path, **{"schema.written_by": written_by})
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "KURSDESK_HOME": str(kursdesk_home)}
    done = subprocess.run([sys.executable, "-m", "ui", "--db", str(path), "--lang", "en"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "kursdesk: This database was updated by a newer Kursdesk: update Kursdesk to version 3.0 or later. Nothing was changed."]
