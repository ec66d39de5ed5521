"""Writing spreadsheets safely: the one place every .xlsx (and any CSV) the app writes goes through.

Formula injection (OWASP, CVE-2021-41270): a cell whose text begins with `=`, `+`, `-`, `@`, a tab
or a carriage return may be run as a formula by Excel or LibreOffice. Such text comes from users
(a participant's or company's name typed as `=HYPERLINK(...)`).

How it is neutralised:

- **.xlsx** (`put`, `write_table`): text is always stored with the *string* cell type (openpyxl
  would otherwise turn text that starts with `=` into a formula), and risky text additionally gets
  the cell style's `quotePrefix` flag, which is exactly what typing a leading apostrophe does in
  Excel: the cell shows the text as typed (no apostrophe is added to the value, so pasting it into
  another template copies the real name), and it stays text even when someone edits the cell.
  Only formulas the app itself writes (`Formula(...)`) become formulas.
- **CSV / plain text** (`neutralise`): risky text is prefixed with `'`, the OWASP rule.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")

DATE_FORMAT = "yyyy-mm-dd"
HOURS_FORMAT = "0.00"
MONEY_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class Formula:
    """A formula the app writes on purpose, e.g. Formula("=SUM(H2:H9)")."""

    text: str
    number_format: str = ""


@dataclass(frozen=True)
class Money:
    """A number shown with two decimals and thousands separators."""

    value: Decimal | float | int | None


def is_risky(value: str) -> bool:
    return bool(value) and value.startswith(RISKY_STARTS)


def neutralise(value: object) -> str:
    """Text for a CSV or any plain-text export: risky text gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if is_risky(text) else text


def put(ws: Worksheet, row: int, column: int, value: object):
    """Write one cell: text always as text (never a formula), numbers and dates typed."""
    cell = ws.cell(row=row, column=column)
    if value is None:
        return cell
    if isinstance(value, Formula):
        cell.value = value.text
        if value.number_format:
            cell.number_format = value.number_format
        return cell
    if isinstance(value, Money):
        if value.value is not None:
            cell.value = float(value.value)
            cell.number_format = MONEY_FORMAT
        return cell
    if isinstance(value, bool):
        cell.value = value
    elif isinstance(value, (int, float)):
        cell.value = value
    elif isinstance(value, Decimal):
        cell.value = float(value)
        cell.number_format = HOURS_FORMAT
    elif isinstance(value, datetime):
        cell.value = value
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        text = str(value)
        cell.value = text
        cell.data_type = "s"  # never let openpyxl read user text as a formula
        if is_risky(text):
            cell.quotePrefix = True
    return cell


def write_table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    start_row: int = 1,
    widths: Sequence[int] | None = None,
) -> int:
    """A bold header row and the data rows under it; returns the last row written."""
    bold = Font(bold=True)
    for col, title in enumerate(header, start=1):
        put(ws, start_row, col, title).font = bold
    row_no = start_row
    for row_no, row in enumerate(rows, start=start_row + 1):
        for col, value in enumerate(row, start=1):
            put(ws, row_no, col, value)
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    for col, title in enumerate(header, start=1):
        width = widths[col - 1] if widths and col - 1 < len(widths) else max(10, len(str(title)) + 2)
        ws.column_dimensions[get_column_letter(col)].width = width
        ws.cell(row=start_row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    return row_no


def column(index: int) -> str:
    """1 -> 'A'."""
    return get_column_letter(index)


def sheet_ref(title: str) -> str:
    """A sheet name as formulas quote it: 'Sammanställning' -> "'Sammanställning'"."""
    return "'" + title.replace("'", "''") + "'"


def new_workbook() -> Workbook:
    return Workbook()


def save_workbook(workbook: Workbook, path: str | os.PathLike) -> Path:
    """Write atomically: a temporary file in the same folder, renamed over the target."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kursdesk-", suffix=".xlsx.tmp", dir=target.parent)
    os.close(fd)
    try:
        workbook.save(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
