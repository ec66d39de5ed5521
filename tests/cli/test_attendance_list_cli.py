"""`kursdesk attendance-list CODE --out FILE.pdf [--session YYYY-MM-DD]`."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, time

import pytest
from pypdf import PdfReader

from app.cli import main
from app.config import source_root
from tests.app.attendance_builders import build_course

SESSIONS = (
    (date(2026, 3, 2), time(8, 0), time(12, 0), False),
    (date(2026, 3, 9), time(13, 0), time(16, 0), False),
    (date(2026, 3, 16), time(8, 0), time(12, 0), True),
)


@pytest.fixture
def built(db):
    return build_course(db, sessions=SESSIONS)


def _text(path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


def test_every_session(db, built, tmp_path, capsys):
    out = tmp_path / "lista.pdf"
    assert main(["attendance-list", built.code, "--out", str(out), "--db", db.url]) == 0
    text = _text(out)
    assert "2 mars 2026" in text and "9 mars 2026" in text and "Datum: 16 mars 2026" not in text
    assert "Łukasz Świątek" in text
    assert str(out) in capsys.readouterr().out


def test_one_session_in_english(db, built, tmp_path):
    out = tmp_path / "list.pdf"
    code = main(["attendance-list", built.code, "--out", str(out), "--session", "2026-03-09", "--db", db.url,
                 "--lang", "en"])
    assert code == 0
    text = _text(out)
    assert "9 March 2026" in text and "2 March 2026" not in text and "Sign-in sheet" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["NOPE"], "NOPE"),
        (["SVETS-1", "--session", "2026-03-03"], "2026-03-03"),
        (["SVETS-1", "--session", "3 mars"], "3 mars"),
        (["SVETS-1", "--session", "2026-03-16"], "inställt"),
    ],
)
def test_user_errors_exit_2_with_one_line(db, built, tmp_path, capsys, args, expected):
    out = tmp_path / "x.pdf"
    assert main(["attendance-list", *args, "--out", str(out), "--db", db.url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not out.exists()


def test_subprocess_exit_code(db, built, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "app", "attendance-list", "NOPE", "--out", str(tmp_path / "x.pdf"), "--db", db.url],
        capture_output=True, text=True, cwd=source_root(), timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["kursdesk: Kursen NOPE hittades inte."]
