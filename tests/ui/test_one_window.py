"""One window per database (QLockFile + QLocalServer/QLocalSocket, keyed by a hash of the
database's path), and previews in the per-user cache folder, removed when the window closes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

from app import config
from tests.ui.test_attendance_page import setup  # noqa: F401 - fixture
from tests.ui.test_certificates_page import page  # noqa: F401 - fixture
from ui import previews
from ui.single_instance import SingleInstance, bring_forward, instance_key


def _guard(key: str, tmp_path: Path, server: str) -> SingleInstance:
    return SingleInstance(key, lock_dir=tmp_path, server_name=server)


@pytest.fixture
def key():
    return uuid.uuid4().hex[:32]


def test_the_key_is_a_hash_of_the_resolved_path(tmp_path, monkeypatch):
    path = tmp_path / "Åsa Lindqvist" / "kursdesk.db"
    monkeypatch.chdir(tmp_path)
    k = instance_key(path)
    assert k == instance_key(Path("Åsa Lindqvist") / ".." / "Åsa Lindqvist" / "kursdesk.db")
    assert k != instance_key(tmp_path / "other.db")
    assert len(k) == 32 and all(ch in "0123456789abcdef" for ch in k)  # no name of a person or folder
    assert instance_key(None) == instance_key(config.default_db_path())


def test_a_second_start_finds_the_first_and_brings_it_forward(qtbot, tmp_path, key):
    server = f"kursdesk-test-{key}"
    first = _guard(key, tmp_path, server)
    second = _guard(key, tmp_path, server)
    try:
        assert first.acquire() and first.is_first
        assert not second.acquire() and not second.is_first
        with qtbot.waitSignal(first.activated, timeout=5000):
            assert second.notify_first()
    finally:
        second.release()
        first.release()
    third = _guard(key, tmp_path, server)
    assert third.acquire()  # after the first window closed
    third.release()


def test_different_databases_each_have_their_window(qtbot, tmp_path, key):
    a = _guard(key, tmp_path, f"kursdesk-test-{key}-a")
    b = _guard(key[::-1], tmp_path, f"kursdesk-test-{key}-b")
    try:
        assert a.acquire() and b.acquire()
    finally:
        a.release()
        b.release()


def test_a_lock_left_by_a_window_that_crashed_does_not_lock_anyone_out(qtbot, tmp_path, key):
    lock = tmp_path / f"window-{key}.lock"
    crash = (
        "import os, sys\n"
        "from PySide6.QtCore import QLockFile\n"
        "lock = QLockFile(sys.argv[1]); lock.setStaleLockTime(0)\n"
        "assert lock.tryLock(0)\n"
        "os._exit(0)\n"  # gone without unlocking
    )
    subprocess.run([sys.executable, "-c", crash, str(lock)], check=True, timeout=60)
    assert lock.exists()
    guard = _guard(key, tmp_path, f"kursdesk-test-{key}")
    try:
        assert guard.acquire()
    finally:
        guard.release()


def test_a_second_window_start_on_the_same_database_exits_and_the_first_comes_forward(qtbot, tmp_path, capsys):
    from app import i18n
    from ui.app import run

    i18n.set_language("en")
    db_path = tmp_path / "kursdesk.db"
    first = SingleInstance(instance_key(db_path))
    assert first.acquire()
    try:
        with qtbot.waitSignal(first.activated, timeout=5000):
            assert run(db_path=str(db_path)) == 0
    finally:
        first.release()
    assert "already open on this database: its window was brought forward" in capsys.readouterr().out
    assert not db_path.exists()  # the second start did not even open the database


def test_bring_forward_restores_a_minimised_window(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    window.showMinimized()
    bring_forward(window)
    assert window.isVisible() and not window.isMinimized()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_previews_live_in_the_private_cache_and_go_when_the_window_closes(qtbot):
    folder = previews.start()
    try:
        assert folder.parent == config.preview_dir()
        assert config.preview_dir().is_relative_to(config.cache_dir())
        if os.name == "posix":
            assert _mode(folder) == 0o700 and _mode(config.preview_dir()) == 0o700
        (folder / "sheet.pdf").write_bytes(b"%PDF")
        assert previews.folder() == folder
    finally:
        previews.remove()
    assert not folder.exists()


def test_previews_of_a_window_that_is_gone_are_removed_at_start_but_not_a_running_ones(qtbot, tmp_path):
    root = config.preview_dir()
    gone = root / "0123456789abcdef"
    gone.mkdir()
    (gone / "intyg.pdf").write_bytes(b"%PDF")
    crash = (
        "import os, sys\n"
        "from PySide6.QtCore import QLockFile\n"
        "lock = QLockFile(sys.argv[1]); lock.setStaleLockTime(0)\n"
        "assert lock.tryLock(0)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(gone / previews.LOCK)], check=True, timeout=60)
    (root / "loose.pdf").write_bytes(b"%PDF")
    other = previews.PreviewFolder()  # another window, still running
    other_path = other.start()
    try:
        mine = previews.start()
        assert not gone.exists() and not (root / "loose.pdf").exists()
        assert other_path.exists() and mine.exists()
    finally:
        previews.remove()
        other.remove()


def test_certificate_previews_are_written_to_the_preview_folder(page, qtbot, monkeypatch):  # noqa: F811
    page.issue_all_button.click()
    qtbot.waitUntil(lambda: page.task.done, timeout=20000)
    shown = []
    from ui.pages import certificates as page_module

    monkeypatch.setattr(page_module.PdfPreviewDialog, "exec", lambda dialog: shown.append(dialog.path) or 0)
    try:
        page.preview([c.id for c in page.task.result][:1])
        page.preview([c.id for c in page.task.result])
        assert len(shown) == 2
        assert all(Path(p).parent.parent == config.preview_dir() for p in shown)
        folder = Path(shown[0]).parent
    finally:
        previews.remove()
    assert not folder.exists()


def test_sign_in_sheets_are_written_to_the_preview_folder(setup, qtbot):  # noqa: F811
    page_, _built, _minutes = setup
    page_.sheet_scope.setCurrentIndex(page_.sheet_scope.findData("all"))
    try:
        path = page_.write_sheet()
        assert path is not None and path.parent.parent == config.preview_dir()
        assert not any(p.name.startswith(".signin-") for p in path.parent.iterdir())
    finally:
        previews.remove()
    assert not path.exists()


def test_two_real_starts_one_window_and_the_command_line_beside_it(tmp_path, kursdesk_home):
    """End to end: `kursdesk --db X` twice; the second exits at once (0) and the first window
    logs that it came forward; `kursdesk --db X courses` runs beside the window."""
    import time

    db_path = tmp_path / "kursdesk.db"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-m", "ui", "--db", str(db_path), "--lang", "en"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = kursdesk_home / "log" / "kursdesk.log"
        lock = kursdesk_home / "cache" / f"window-{instance_key(db_path)}.lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and db_path.exists()) and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.2)
        time.sleep(1.0)  # listening
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "brought forward" in second.stdout
        beside = subprocess.run(cmd + ["courses"], env=env, capture_output=True, text=True, timeout=60)
        assert beside.returncode == 0, beside.stderr
        while "comes forward" not in (log.read_text(encoding="utf-8") if log.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert first.poll() is None  # the first window is still open
    finally:
        first.terminate()
        first.wait(30)


def test_closing_the_window_disposes_the_database_removes_previews_and_frees_the_database(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from app.db import Database, _alone_on
    from ui.app import run
    from ui.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "current", MainWindow.current)  # put back afterwards
    db_path = tmp_path / "kursdesk.db"
    seen = {}
    disposed = []
    real_dispose = Database.dispose
    monkeypatch.setattr(Database, "dispose", lambda self: disposed.append(self.path) or real_dispose(self))

    def exec_then_close(*_args):
        window = MainWindow.current
        seen["preview"] = previews.folder()
        seen["alone while open"] = _alone_on(db_path)
        other = SingleInstance(instance_key(db_path))
        seen["second window"] = other.acquire()
        window._saving_disabled = True
        window.close()
        window.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", exec_then_close)
    assert run(db_path=str(db_path)) == 0
    assert seen["alone while open"] is None and seen["second window"] is False
    assert disposed == [db_path]
    assert not seen["preview"].exists()
    alone = _alone_on(db_path)  # nobody has the database open any more
    assert alone is not None
    alone.close()
    again = SingleInstance(instance_key(db_path))
    assert again.acquire()  # the next start gets the window
    again.release()


def test_the_smoke_run_checks_the_one_window_guard(qtbot, tmp_path, monkeypatch, capsys):
    from app import selfcheck
    from ui.app import run

    monkeypatch.setattr(selfcheck, "run_selfcheck", lambda db, workdir: [])
    monkeypatch.setattr(SingleInstance, "acquire", lambda self: False)
    assert run(db_path=tmp_path / "x.db", smoke=True) == 1
    assert "smoke failed: one-window guard: no lock or no local socket" in capsys.readouterr().err
