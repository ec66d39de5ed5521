"""PySide6 6.12.0 on Python 3.11 leaks references to None/True/False on every void call and
emit; ui/__init__ makes those objects immortal so that a long session does not abort."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_long_session_of_void_calls_and_emits_does_not_abort():
    script = textwrap.dedent(
        """
        import ui  # noqa: F401 - the fix
        from PySide6.QtCore import QObject, Signal
        from PySide6.QtWidgets import QApplication, QLabel

        class Emitter(QObject):
            flag = Signal(bool)

        app = QApplication([])
        label, emitter = QLabel(), Emitter()
        for i in range(300_000):
            label.setText("x")
            emitter.flag.emit(i % 2 == 0)
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-500:]
    assert result.stdout.strip() == "ok"
