"""Issue 11 on the command line: the user's file or environment at fault exits 2 with one line that
says which, nothing written; exit 1 is left for defects. Exports go through owner-only temporary
files that never outlive a failure."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path

import pytest

from app import cli
from app.cli import main
from app.db import Database
from app.interchange import files
from tests.cli.test_import_participants_cli import _counts, _db

HEADER = "Förnamn;Efternamn;Personnummer;Företag\n"


def err_lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def run(db_path, *args) -> int:
    return main(["--db", str(db_path), *args])


# --- participant lists ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "content,where",
    [
        (HEADER.encode() + "Åsa;Öberg;700405-1129;Verkstad AB\n".encode("cp1252") + "Björn;Ängström;881120-1155;Verkstad AB\n".encode(), "rad 2"),
        (HEADER.encode("cp1252") + "Åsa;Öberg;700405-1129;Verkstad AB\n".encode() + "Björn;Ängström;881120-1155;Verkstad AB\n".encode("cp1252"), "rad 2"),
        (HEADER.encode("cp1252") + "Ã…sa;Öberg;700405-1129;Verkstad AB\n".encode("cp1252"), "rad 2"),
        (b"Fornamn;Efternamn;Personnummer\n" + "山田;太郎;700405-1129\n".encode("shift_jis"), "rad 2"),
    ],
    ids=["utf8-with-a-cp1252-line", "cp1252-with-a-utf8-line", "mojibake", "shift-jis"],
)
def test_a_list_in_mixed_or_unknown_encodings_exits_2_naming_the_line(tmp_path, capsys, content, where):
    path = _db(tmp_path)
    listed = tmp_path / "lista.csv"
    listed.write_bytes(content)
    for extra in ([], ["--skip-invalid"]):
        assert run(path, "import", "participants", str(listed), "--course", "SVE-01", *extra) == 2
        lines = err_lines(capsys)
        assert len(lines) == 1 and "lista.csv" in lines[0] and where in lines[0], lines
    assert _counts(path) == (0, 0)


@pytest.mark.parametrize(
    "rows",
    [
        'Åsa;"Öberg;700405-1129;Verkstad AB\nBjörn;Ängström;881120-1155;Verkstad AB\nMärta;Lööf;950101-1238;Verkstad AB\n',
        'Åsa;"Öberg;700405-1129;Verkstad AB\nBjörn;Ängström;881120-1155;Verkstad AB\nMärta";Lööf;950101-1238;Verkstad AB\n',
        'Åsa;"Öberg;700405-1129;Verkstad AB\nBjörn;Ängström;881120-1155;Verkstad AB\nMärta;"Lööf;950101-1238;Verkstad AB\n',
        'Åsa;Öberg"x;700405-1129;Verkstad AB\n"Björn;Ängström;881120-1155;Verkstad AB\nMärta;Lööf;950101-1238;Verkstad AB\n',
    ],
)
def test_an_unbalanced_quote_stops_the_import_even_with_skip_invalid(tmp_path, capsys, rows):
    path = _db(tmp_path)
    listed = tmp_path / "lista.csv"
    listed.write_text(HEADER + rows, encoding="utf-8")
    assert run(path, "import", "participants", str(listed), "--course", "SVE-01", "--skip-invalid") == 2
    lines = err_lines(capsys)
    assert len(lines) == 1 and "rad " in lines[0] and "lista.csv" in lines[0], lines
    assert _counts(path) == (0, 0)


def test_accept_known_enrols_the_registered_person(tmp_path, capsys):
    path = _db(tmp_path)
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "Åsa;Öberg;700405-1129;Verkstad AB\n", encoding="utf-8")
    assert run(path, "import", "participants", str(first), "--course", "SVE-01") == 0
    capsys.readouterr()
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "Sven;Nilsson;700405-1129;Kalmar Plåt AB\n", encoding="utf-8")
    db = Database(path)
    try:
        from app.services.courses import CourseData, create_course

        create_course(db, CourseData(code="PLC-02", title="PLC"))
    finally:
        db.dispose()
    assert run(path, "import", "participants", str(other), "--course", "PLC-02", "--skip-invalid") == 0
    captured = capsys.readouterr()
    assert "Åsa Öberg" in captured.err and "19700405-****" in captured.err and "--accept-known" in captured.err
    assert "1129" not in captured.err.replace("19700405-****", "")
    assert _counts(path) == (1, 1)  # the row was skipped: Sven is not enrolled as Åsa
    assert run(path, "import", "participants", str(other), "--course", "PLC-02", "--accept-known") == 0
    assert "1 anmälda" in capsys.readouterr().out
    assert _counts(path) == (1, 2)


# --- bundles -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        '{"format": "kursdesk-bundle", "version": 1, "x": ' + "[" * 200_000 + "]" * 200_000 + "}",
        '{"format": "kursdesk-bundle", "version": 1, "courses": [{"id": "6f1c1e52-4c1a-4e0b-9a8e-6b2d0f6c9a11", '
        '"code": "A", "title": "B", "capacity": 1000000000000000000000000000000}]}',
        '{"format": "kursdesk-bundle", "version": ' + "7" * 5000 + "}",
        '{"format": "kursdesk-bundle", "version": 1, "companies": [{"id": "6f1c1e52-4c1a-4e0b-9a8e-6b2d0f6c9a11", '
        '"name": "A", "organisation_type": "1e999999"}]}',
    ],
    ids=["deep", "capacity-10**30", "5000-digits", "unknown-organisation-type"],
)
def test_a_bundle_the_user_must_fix_exits_2_with_one_line(tmp_path, capsys, text):
    bundle = tmp_path / "b.json"
    bundle.write_text(text, encoding="utf-8")
    assert run(tmp_path / "x.db", "import", "--json", str(bundle)) == 2
    lines = err_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("kursdesk: ") and "oväntat" not in lines[0], lines


def test_a_folder_or_unreadable_path_as_the_bundle_exits_2(tmp_path, capsys):
    assert run(tmp_path / "x.db", "import", "--json", str(tmp_path)) == 2
    assert len(err_lines(capsys)) == 1


# --- exports and the environment -------------------------------------------------------------

def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".kursdesk-"))


def test_a_killed_exports_temporary_file_is_removed_by_the_next_export(tmp_path, capsys):
    db = tmp_path / "x.db"
    tmp_path = tmp_path / "exports"  # not the database's folder (its own start cleans that)
    tmp_path.mkdir()
    old = tmp_path / ".kursdesk-export-abc123.json.tmp"
    old.write_text('{"personal_number": "198112189876"}')
    stale = time.time() - files.STALE_SECONDS - 60
    os.utime(old, (stale, stale))
    fresh = tmp_path / ".kursdesk-export-running.json.tmp"  # another export, still writing
    fresh.write_text("{")
    mine = tmp_path / "notes.tmp"  # not Kursdesk's
    mine.write_text("x")
    assert run(db, "export", "--json", str(tmp_path / "out.json")) == 0
    assert _leftovers(tmp_path) == [fresh.name]
    assert mine.exists()


def test_an_export_writes_an_owner_only_temporary_file_and_renames_it(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((Path(src).name, stat.S_IMODE(os.stat(src).st_mode)))
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    assert run(tmp_path / "x.db", "export", "--json", str(tmp_path / "out.json")) == 0
    assert run(tmp_path / "x.db", "report", "month", "2026-01", "--out", str(tmp_path / "m.xlsx")) == 0
    assert [mode for _name, mode in seen] == [0o600, 0o600]
    assert all(name.startswith(".kursdesk-") and name.endswith(".tmp") for name, _mode in seen)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "code,says", [(errno.ENOSPC, "disken är full"), (errno.EROFS, "skrivskyddad"), (errno.EACCES, "behörighet")]
)
def test_a_full_or_read_only_disk_during_an_export_exits_2_and_leaves_nothing(tmp_path, capsys, monkeypatch, code, says):
    target = tmp_path / "out.json"
    target.write_text("the previous export")
    assert run(tmp_path / "x.db", "courses") == 0
    capsys.readouterr()

    def fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr("app.interchange.bundle.os.fsync", fsync)
    assert run(tmp_path / "x.db", "export", "--json", str(target)) == 2
    lines = err_lines(capsys)
    assert len(lines) == 1 and says in lines[0] and str(target) in lines[0], lines
    assert target.read_text() == "the previous export"
    assert _leftovers(tmp_path) == []


def test_ctrl_c_during_an_export_leaves_no_temporary_file(tmp_path, monkeypatch):
    from app.interchange import bundle

    def interrupted(session, rtype):
        raise KeyboardInterrupt

    assert run(tmp_path / "x.db", "courses") == 0
    monkeypatch.setattr(bundle, "_export_records", interrupted)
    assert run(tmp_path / "x.db", "export", "--json", str(tmp_path / "out.json")) == 130
    assert _leftovers(tmp_path) == [] and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    "exc,code",
    [
        (OSError(errno.ENOSPC, "No space left on device", "/media/usb/m.xlsx"), 2),
        (OSError(errno.EROFS, "Read-only file system", "/media/cd/m.pdf"), 2),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/x.pdf"), 2),
        (OSError(errno.EIO, "Input/output error"), 1),
        (ValueError("a defect"), 1),
    ],
)
def test_main_turns_the_environments_errors_into_exit_2_and_keeps_1_for_defects(tmp_path, capsys, monkeypatch, exc, code):
    def handler(args):
        raise exc

    monkeypatch.setitem(cli.HANDLERS, "courses", handler)
    assert run(tmp_path / "x.db", "courses") == code
    lines = err_lines(capsys)
    assert len(lines) == 1 and "Traceback" not in lines[0]
    if code == 2:
        assert exc.filename in lines[0]


def test_a_full_disk_under_sqlite_exits_2(tmp_path, capsys, monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    def handler(args):
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setitem(cli.HANDLERS, "courses", handler)
    assert run(tmp_path / "x.db", "courses") == 2
    assert "Disken är full" in capsys.readouterr().err


def test_a_busy_database_exits_2(tmp_path, capsys, monkeypatch):
    from app.db import DatabaseBusy

    def handler(args):
        raise DatabaseBusy()

    monkeypatch.setitem(cli.HANDLERS, "courses", handler)
    assert run(tmp_path / "x.db", "courses") == 2
    assert len(err_lines(capsys)) == 1


def test_a_missing_or_unreadable_list_exits_2(tmp_path, capsys):
    path = _db(tmp_path)
    assert run(path, "import", "participants", str(tmp_path / "gone.xlsx"), "--course", "SVE-01") == 2
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert run(path, "import", "participants", str(folder), "--course", "SVE-01") == 2
    assert len(err_lines(capsys)) == 2


def test_the_bundle_json_is_still_plain_json(tmp_path):
    assert run(tmp_path / "x.db", "export", "--json", str(tmp_path / "out.json")) == 0
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["format"] == "kursdesk-bundle"


def test_a_database_path_that_is_a_folder_or_not_a_database_exits_2(tmp_path, capsys):
    folder = tmp_path / "folder.db"
    folder.mkdir()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite at all" * 100)
    assert run(folder, "courses") == 2
    assert "kan inte öppnas" in capsys.readouterr().err
    assert run(garbage, "courses") == 2
    assert "ingen Kursdesk-databas" in capsys.readouterr().err


def test_a_reader_that_left_the_pipe_is_no_error(tmp_path, capfd, monkeypatch):
    def handler(args):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")  # an OSError, and not the environment's fault

    monkeypatch.setitem(cli.HANDLERS, "courses", handler)
    assert run(tmp_path / "x.db", "courses") == 0
