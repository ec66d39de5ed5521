"""`kursdesk report month YYYY-MM --out FILE.pdf|FILE.xlsx`."""

from __future__ import annotations

from openpyxl import load_workbook
from pypdf import PdfReader

from app.cli import main
from app.db import Database
from tests.fixtures.report_month import build


def _db(tmp_path):
    path = tmp_path / "k.db"
    db = Database(path)
    build(db)
    db.dispose()
    return path


def test_pdf_and_xlsx(tmp_path, capsys):
    path = _db(tmp_path)
    pdf = tmp_path / "mars.pdf"
    assert main(["report", "month", "2026-03", "--out", str(pdf), "--db", str(path)]) == 0
    assert "3 närvarorapporter för 2026-03" in capsys.readouterr().out
    assert len(PdfReader(str(pdf)).pages) == 3
    xlsx = tmp_path / "mars.xlsx"
    assert main(["report", "month", "2026-03", "--out", str(xlsx), "--db", str(path), "--lang", "en"]) == 0
    assert "Summary of 2026-03 (3 participants)" in capsys.readouterr().out
    wb = load_workbook(xlsx)  # ESF's workbook, in Swedish whatever the language
    assert wb.sheetnames == ["Register_deltag_organisationer", "Deltagarförteckning", "SCB", "Intyg för närvarotid"]
    assert wb["Deltagarförteckning"]["B8"].value == "19850312-0027"


def test_bad_month_or_extension_is_one_line_exit_2(tmp_path, capsys):
    path = _db(tmp_path)
    assert main(["report", "month", "2026-13", "--out", str(tmp_path / "x.pdf"), "--db", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2026-13" in err[0]
    assert main(["report", "month", "2026-03", "--out", str(tmp_path / "x.docx"), "--db", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.docx" in err[0]
    assert not (tmp_path / "x.pdf").exists()
