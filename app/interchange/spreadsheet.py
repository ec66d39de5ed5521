"""Writing spreadsheets safely: the one place every .xlsx (and any CSV) the app writes goes through.

Formula injection (OWASP, CVE-2021-41270): a cell whose text begins with `=`, `+`, `-`, `@`, a tab
or a carriage return may be run as a formula by Excel or LibreOffice. Such text comes from users
(a participant's or company's name typed as `=HYPERLINK(...)`).

How it is neutralised:

- **.xlsx** (`cell`, `Sheet.append`, `Sheet.table`): text is always stored with the *string* cell type (openpyxl
  would otherwise turn text that starts with `=` into a formula), and risky text additionally gets
  the cell style's `quotePrefix` flag, which is exactly what typing a leading apostrophe does in
  Excel: the cell shows the text as typed (no apostrophe is added to the value, so pasting it into
  another template copies the real name), and it stays text even when someone edits the cell.
  Only formulas the app itself writes (`Formula(...)`) become formulas.
- **CSV / plain text** (`neutralise`): risky text is prefixed with `'`, the OWASP rule.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")

DATE_FORMAT = "yyyy-mm-dd"
HOURS_FORMAT = "0.00"
MONEY_FORMAT = "#,##0.00"

_BOLD = Font(bold=True)
_HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="top")


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


def _styled(ws, value, number_format: str, formats: dict | None):
    """A cell with a number format; `formats` caches one style per format (a sheet writes
    thousands of them, and building the style each time costs more than the cell)."""
    if formats is None:
        c = WriteOnlyCell(ws)
        c.number_format = number_format
        c.value = value
        return c
    style = formats.get(number_format)
    if style is None:
        template = WriteOnlyCell(ws)
        template.number_format = number_format
        style = formats[number_format] = template._style
    return Cell(ws, 1, 1, value, style_array=style)  # the style array is copied


def cell(ws, value: object, formats: dict | None = None):
    """What to append for one value: text always as text (never a formula), numbers and dates
    typed; a plain value where openpyxl's own typing is already right (the fast path)."""
    if value is None:
        return None
    if isinstance(value, Formula):
        if value.number_format:
            return _styled(ws, value.text, value.number_format, formats)  # starts with '=': a formula
        return WriteOnlyCell(ws, value.text)
    if isinstance(value, Money):
        return None if value.value is None else _styled(ws, float(value.value), MONEY_FORMAT, formats)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return _styled(ws, float(value), HOURS_FORMAT, formats)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return _styled(ws, value, DATE_FORMAT, formats)
    text = str(value)
    if not is_risky(text) and text not in ERROR_CODES:
        return text  # openpyxl stores it as a string
    c = WriteOnlyCell(ws, text)
    c.data_type = "s"  # never a formula (or an error value such as '#N/A')
    if is_risky(text):
        c.quotePrefix = True
    return c


class Sheet:
    """One sheet of a write-only workbook: rows are appended top to bottom, and column widths
    and the frozen header are set before the first row (openpyxl's write-only mode)."""

    def __init__(self, workbook: Workbook, title: str):
        self.ws = workbook.create_sheet(title=title)
        self.rows = 0  # the last row written (1-based)
        self._formats: dict = {}

    @property
    def title(self) -> str:
        return self.ws.title

    def append(self, values: Sequence[object] = ()) -> int:
        """Write the next row; returns its number."""
        ws, formats = self.ws, self._formats
        ws.append([cell(ws, v, formats) for v in values])
        self.rows += 1
        return self.rows

    def table(
        self,
        header: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        widths: Sequence[int] | None = None,
    ) -> int:
        """A bold header row (frozen) and the data rows under it; returns the last row written.
        Must be the first thing written on the sheet."""
        if self.rows:
            raise ValueError("a table starts a sheet")
        for col, title in enumerate(header, start=1):
            width = widths[col - 1] if widths and col - 1 < len(widths) else max(10, len(str(title)) + 2)
            self.ws.column_dimensions[get_column_letter(col)].width = width
        self.ws.freeze_panes = "A2"
        head = []
        for title in header:
            c = cell(self.ws, title)
            if not isinstance(c, Cell):
                c = WriteOnlyCell(self.ws, c)
            c.font = _BOLD
            c.alignment = _HEADER_ALIGNMENT
            head.append(c)
        self.ws.append(head)
        self.rows = 1
        for row in rows:
            self.append(row)
        return self.rows


def column(index: int) -> str:
    """1 -> 'A'."""
    return get_column_letter(index)


def sheet_ref(title: str) -> str:
    """A sheet name as formulas quote it: 'Sammanställning' -> "'Sammanställning'"."""
    return "'" + title.replace("'", "''") + "'"


def new_workbook() -> Workbook:
    """A write-only workbook (streams its rows: about half the time of a normal one on a large
    summary). Add sheets with Sheet(workbook, title); save once with save_workbook."""
    return Workbook(write_only=True)


def save_workbook(workbook: Workbook, path: str | os.PathLike) -> Path:
    """Write atomically: a temporary file (0600) in the same folder, renamed over the target; removed
    on any failure (app.interchange.files.atomic_file)."""
    from app.interchange.files import atomic_file

    target = Path(path)
    with atomic_file(target, "xlsx", make_folder=True) as tmp:
        workbook.save(tmp)
    return target
