"""`kursdesk month close|status` and `kursdesk report check` (issue 13)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.cli import main
from app.db import Database
from app.models import CourseSession
from app.services.attendance import set_mark
from app.services.originals import mark_original_received
from tests.fixtures.report_month import ANNA_PNR, build


def _db(tmp_path):
    path = tmp_path / "k.db"
    db = Database(path)
    ids = build(db)
    db.dispose()
    return path, ids


def _status(capsys, path) -> dict:
    assert main(["month", "status", "--json", "--db", str(path)]) == 0
    return {row["month"]: row for row in json.loads(capsys.readouterr().out)}


def test_close_writes_the_files_records_their_checksums_and_status_follows_a_change(tmp_path, capsys):
    path, ids = _db(tmp_path)
    out = tmp_path / "sent"
    out.mkdir()
    assert main(["month", "close", "2026-03", "--out", str(out), "--db", str(path), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    # the fixture's March: Anna 11.1 + Bertil 4.0 + Fatima 7.5
    assert "March 2026 closed (version 1): 3 participants, 22.6 hours." in printed
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["summary-2026-03.xlsx", "time-reports-2026-03.pdf"]
    for f in files:
        assert f"{f.name}  SHA-256 {hashlib.sha256(f.read_bytes()).hexdigest()}" in printed
    # ESF's workbook (issue 12): Anna on the second row of the participant list, after Bertil
    assert load_workbook(files[0])["Deltagarförteckning"]["B8"].value == ANNA_PNR[:8] + "-" + ANNA_PNR[8:]
    pages = [page.extract_text() for page in PdfReader(str(files[1])).pages]
    assert len(pages) == 3  # a time report for each of the three participants
    assert [any(name in text for text in pages) for name in ("Anna Andersson", "Bertil", "Fatima Protected")] == [True] * 3
    # closing again: a second version, its own files beside the first ones
    sent = [f.read_bytes() for f in files]
    assert main(["month", "close", "2026-03", "--out", str(out), "--db", str(path), "--lang", "en"]) == 0
    assert "(version 2)" in capsys.readouterr().out
    assert sorted(f.name for f in out.iterdir()) == [
        "summary-2026-03-v2.xlsx", "summary-2026-03.xlsx", "time-reports-2026-03-v2.pdf", "time-reports-2026-03.pdf"]
    assert [f.read_bytes() for f in files] == sent  # the files of version 1 untouched

    status = _status(capsys, path)
    march = status["2026-03"]
    assert (march["state"], march["resend"], march["differences"]) == ("closed", False, [])
    assert march["closed_on"] == datetime.now(UTC).date().isoformat()  # the close's UTC date
    assert status["2026-04"]["state"] == "open" and status["2026-04"]["closed_on"] is None

    db = Database(path)
    with db.read() as s:
        sve1 = s.execute(select(CourseSession.id).where(CourseSession.date == date(2026, 3, 2))).scalar_one()
    set_mark(db, sve1, ids["anna"], "late", 60)
    db.dispose()
    march = _status(capsys, path)["2026-03"]
    assert march["state"] == "changed" and march["resend"] is True
    # 03-02: 4.0 h present, now 1.0 h late
    assert march["differences"] == [{"personal_number": "19850312-****", "hours_before": "11.10", "hours_after": "8.10"}]
    assert main(["month", "status", "--db", str(path), "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert "2026-03  changed after close" in text and "must be sent to SCB again" in text
    assert "19850312-**** Anna Andersson: 11.1 h before, 8.1 h now" in text
    assert "198503120027" not in text


def test_report_check_exits_3_with_findings_and_0_without(tmp_path, capsys):
    path, ids = _db(tmp_path)
    assert main(["month", "close", "2026-03", "--db", str(path)]) == 0
    capsys.readouterr()
    assert main(["report", "check", "2026-03", "--db", str(path), "--lang", "en"]) == 3
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all("no signed original" in line for line in lines)  # Anna, Bertil, Fatima
    db = Database(path)
    for who in ("anna", "bertil", "fatima"):
        mark_original_received(db, ids[who], "2026-03")
    db.dispose()
    assert main(["report", "check", "2026-03", "--db", str(path), "--lang", "en"]) == 0
    assert capsys.readouterr().out.strip() == "No findings for March 2026."


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    path, _ids = _db(tmp_path)
    for argv in (["month", "close", "2026-13"], ["month", "close"], ["month", "close", "2999-01"],
                 ["report", "check", "03-2026"], ["month", "close", "2026-03", "--out", str(tmp_path / "none")],
                 ["report", "month", "2026-03"]):
        assert main(argv + ["--db", str(path)]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, (argv, err)
    assert _status(capsys, path)["2026-03"]["state"] == "open"
