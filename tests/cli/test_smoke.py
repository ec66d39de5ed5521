"""`kursdesk --smoke` (the check the bundle and CI rely on), the core self-check behind it, and the
report of a windowed build that has no stdout."""

from __future__ import annotations

import gettext
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import selfcheck

ROOT = Path(__file__).resolve().parents[2]


def _kursdesk(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KURSDESK_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "ui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


# --- the whole application, as a user (or the bundle check) starts it ------------------------

def test_the_core_alone_opens_no_window(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KURSDESK_HOME=str(tmp_path / "home"))
    result = subprocess.run([sys.executable, "-m", "app", "--lang", "en", "--db", str(tmp_path / "x.db")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kursdesk: No command given: the window opens with `kursdesk` (or `python -m ui`); see --help."]


def test_smoke_on_a_fresh_database(tmp_path):
    db = tmp_path / "fresh.db"
    result = _kursdesk(["--smoke", "--db", str(db)], tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "smoke ok" in result.stdout
    assert db.exists()


def test_smoke_on_a_demo_database(tmp_path):
    db = tmp_path / "demo.db"
    home = tmp_path / "home"
    demo = _kursdesk(["demo", "--db", str(db)], home)
    assert demo.returncode == 0, demo.stderr
    from app.db import Database, table_counts

    database = Database(db)
    counts = table_counts(database)
    database.dispose()
    assert counts["participants"] > 50 and counts["attendance"] > 100  # the pages have real data to show

    result = _kursdesk(["--smoke", "--db", str(db)], home)
    assert result.returncode == 0, result.stderr
    assert "smoke ok" in result.stdout


# --- the core self-check ---------------------------------------------------------------------

def test_selfcheck_passes_on_a_fresh_database_and_writes_a_pdf_with_the_embedded_font(db, tmp_path):
    assert selfcheck.run_selfcheck(db, tmp_path / "work") == []
    data = (tmp_path / "work" / selfcheck.PDF_FILE_NAME).read_bytes()
    assert b"+DejaVuSans" in data and b"Helvetica" not in data

    from pypdf import PdfReader

    text = PdfReader(tmp_path / "work" / selfcheck.PDF_FILE_NAME).pages[0].extract_text()
    assert selfcheck.SWEDISH_FUNDING_STATEMENT in text and "Łukasz Şahin" in text


def test_selfcheck_notices_a_database_behind_the_migration_head(tmp_path):
    from app.db import Database

    database = Database(tmp_path / "old.db", migrate=False)
    try:
        problems = selfcheck.run_selfcheck(database, tmp_path / "work")
    finally:
        database.dispose()
    assert len(problems) == 1 and problems[0].startswith("migrations: database is at None")


def test_selfcheck_notices_a_missing_swedish_catalog(db, tmp_path, monkeypatch):
    from app import i18n

    monkeypatch.setitem(i18n._catalogs, "sv", gettext.NullTranslations())  # as if no catalog was found
    problems = selfcheck.run_selfcheck(db, tmp_path)
    assert any(p.startswith("translations: the Swedish catalog is not loaded") for p in problems)


def test_selfcheck_notices_swedish_formats_missing(db, tmp_path, monkeypatch):
    from app import i18n

    monkeypatch.setattr(i18n, "locale_name", lambda lang=None: "de_DE")  # as if sv data were trimmed away
    problems = selfcheck.run_selfcheck(db, tmp_path)
    assert problems and problems[0].startswith("babel: Swedish long date is '5. März 2026'")


def test_selfcheck_notices_a_pdf_without_the_embedded_font(db, tmp_path, monkeypatch):
    from reportlab.pdfgen.canvas import Canvas

    from app.documents import common

    def helvetica_canvas(target, *, title, **_kw):
        common.register_fonts()
        return Canvas(target)  # no initialFontName: the built-in Helvetica is listed

    monkeypatch.setattr(common, "new_canvas", helvetica_canvas)
    assert selfcheck.run_selfcheck(db, tmp_path) == ["PDF: a built-in Helvetica font is referenced"]


def test_a_crashing_check_is_reported_not_raised(db, tmp_path, monkeypatch):
    import app.db

    def no_scripts():
        raise FileNotFoundError("migrations folder")

    monkeypatch.setattr(app.db, "head_revision", no_scripts)
    assert selfcheck.run_selfcheck(db, tmp_path) == ["migrations: FileNotFoundError: migrations folder"]


# --- the smoke test itself fails on a self-check problem --------------------------------------

def test_smoke_fails_with_one_line_per_problem(qtbot, tmp_path, monkeypatch, capsys):
    from ui.app import run

    monkeypatch.setattr(selfcheck, "run_selfcheck", lambda db, workdir: ["babel: broken", "PDF: broken"])
    assert run(db_path=tmp_path / "x.db", smoke=True) == 1
    captured = capsys.readouterr()
    assert "smoke ok" not in captured.out
    assert captured.err.splitlines() == ["smoke failed: babel: broken", "smoke failed: PDF: broken"]


def test_smoke_fails_when_the_pdf_does_not_read_back(qtbot, tmp_path, monkeypatch, capsys):
    from ui.app import run

    def blank_pdf(db, workdir):
        from reportlab.pdfgen.canvas import Canvas

        canvas = Canvas(str(Path(workdir) / selfcheck.PDF_FILE_NAME))
        canvas.showPage()
        canvas.save()
        return []

    monkeypatch.setattr(selfcheck, "run_selfcheck", blank_pdf)
    assert run(db_path=tmp_path / "x.db", smoke=True) == 1
    assert "smoke failed: QtPdf: the sample PDF does not read back as written" in capsys.readouterr().err


# --- a windowed Windows build has no stdout -----------------------------------------------------

@pytest.fixture
def no_console(monkeypatch, kursdesk_home):
    """Call it inside the test (pytest re-installs its capture between setup and call): stdout and
    stderr become None, as in a windowed Windows program; returns where the CLI should write."""
    def detach() -> Path:
        monkeypatch.setattr(sys, "stdout", None)
        monkeypatch.setattr(sys, "stderr", None)
        return kursdesk_home / "log" / "console.txt"

    yield detach
    for stream in {sys.stdout, sys.stderr}:
        if stream is not None and getattr(stream, "name", "").endswith("console.txt"):
            stream.close()


def test_version_without_a_console_goes_to_the_console_file(no_console):
    from app import __version__
    from app.cli import main

    console = no_console()
    assert main(["--version"]) == 0
    assert console.read_text(encoding="utf-8") == f"Kursdesk {__version__}\n"


def test_a_usage_error_without_a_console_goes_to_the_console_file(no_console):
    from app.cli import main

    console = no_console()
    with pytest.raises(SystemExit) as stop:
        main(["--no-such-option"])
    assert stop.value.code == 2
    assert console.read_text(encoding="utf-8").startswith("kursdesk: unrecognized arguments: --no-such-option")
