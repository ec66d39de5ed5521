"""Reading workbooks back through LibreOffice (headless conversion to CSV, formulas recalculated):
the helper the ESF summary's tests (tests/app/test_esf_summary.py) use."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path


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
