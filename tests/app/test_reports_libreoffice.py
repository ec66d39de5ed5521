"""The summary .xlsx opened by LibreOffice (headless conversion to CSV) shows the same values:
formulas computed, user text that looks like a formula kept as text."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path


from app.services import reports
from tests.fixtures.report_month import ANNA_PNR, EVIL_COMPANY, EVIL_NAME, TODAY, build


def _soffice() -> str:
    for candidate in ("/usr/bin/soffice", "/usr/bin/libreoffice"):
        if Path(candidate).exists():
            return candidate
    found = shutil.which("soffice") or shutil.which("libreoffice")
    assert found, "LibreOffice is needed: apt-get install -y libreoffice-calc-nogui"
    return found


def _convert(xlsx: Path, outdir: Path, home: Path) -> dict[str, list[list[str]]]:
    # 44 = ',', 34 = '"', 76 = UTF-8, values not "as shown", -1 = every sheet to its own file
    filt = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    subprocess.run(
        [_soffice(), f"-env:UserInstallation=file://{home}", "--headless", "--convert-to", filt, "--outdir", str(outdir), str(xlsx)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sheets = {}
    for path in outdir.glob(f"{xlsx.stem}-*.csv"):
        with open(path, encoding="utf-8", newline="") as fh:
            sheets[path.stem.removeprefix(xlsx.stem + "-")] = list(csv.reader(fh))
    return sheets


def test_summary_opens_in_libreoffice_with_the_same_values(db, tmp_path):
    build(db)
    xlsx = tmp_path / "summary.xlsx"
    reports.write_summary(db, "2026-03", xlsx, lang="en", today=TODAY)
    sheets = _convert(xlsx, tmp_path / "csv", tmp_path / "lo-profile")
    summary = sheets["Summary"]
    assert summary[1][:8] == [EVIL_NAME, "Bertil", "197901010137", "Male", EVIL_COMPANY, "556677-8899", "Kalmar", "4"]
    assert summary[1][8:] == ["2026-03-16", "2026-03-23", "250.5", "1002"]
    assert summary[2] == [
        "Andersson", "Anna", ANNA_PNR, "Female", "Verkstad AB", "556016-0680", "Västervik",
        "11.08", "2026-03-02", "2026-04-06", "300", "3324",
    ]
    assert summary[3][0] == "Ceder" and summary[3][7] == "0" and summary[3][9] == "2026-03-23"
    cof = sheets["Co-financing"]
    assert cof[1] == [EVIL_COMPANY, "556677-8899", "2026-03", "1", "4", "1002"]
    assert cof[2] == ["Verkstad AB", "556016-0680", "2026-03", "2", "11.08", "3324"]
    assert cof[3] == ["Total", "", "2026-03", "3", "15.08", "4326"]
