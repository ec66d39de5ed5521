"""Participant lists from companies (.xlsx, or .csv as Excel writes it on a Swedish machine):
read, preview every row with its problem, then enrol the valid rows in one transaction.

Reading (app/limits.py has the bounds):
- .xlsx / .xlsm: the first (active) sheet, values only (formulas are never evaluated by us), with
  bounded memory: the zip's parts checked before openpyxl opens it (a 3 MB file may unpack to
  gigabytes), read-only mode, at most LIST_MAX_ROWS rows, LIST_MAX_COLUMNS columns and
  CELL_MAX_CHARS per cell (more is refused, naming the row and column).
- .csv / .txt: one encoding per file, as a person would read it: a BOM says it (UTF-8, UTF-16),
  else strict UTF-8, else Windows-1252 (what Excel's "CSV" writes on a Swedish Windows). A file
  that mixes them, text converted twice ('Ã…sa'), UTF-16 without BOM, or bytes that are not
  plausible Windows-1252 (Shift-JIS, ...) is refused naming its lines. Separator sniffed from the
  header line: `;` (Swedish Excel), `,` or tab. A CSV error (a quote left open) stops the import
  with its line, with or without skip_invalid.
- Every field within the forms' limits (app.limits): a row with a too long or control-character
  text has that as its problem.
- A personnummer registered under another name is a problem on its row showing the registered
  name, unless the coordinator confirms it (`accept_known`, `--accept-known`).
- The header row is the first row (of the first ten) that names at least the first name, last
  name and personnummer columns; columns are found by their header in Swedish or English, in any
  order; other columns are ignored; blank rows are skipped. Line numbers are the file's own
  (the spreadsheet row, or the CSV line on which the record starts).

Nothing is written by `preview_import`; `apply_import` writes all or nothing.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app import limits
from app.db import Database, is_unique_violation
from app.errors import NotFound, Problem, UserError, ValidationError
from app.i18n import N_, _
from app.models import Company, Course, Enrollment, Participant, new_id, utcnow
from app.progress import Cancelled, Progress
from app.services.enrollments import enroll_in_session
from app.validation import (
    FieldError,
    gender_from_personal_number,
    is_protected_number,
    mask_personal_number,
    normalize_email,
    normalize_gender,
    normalize_org_number,
    normalize_personal_number,
    normalize_phone,
)

FIELDS = ("first_name", "last_name", "personal_number", "company", "org_number", "email", "phone", "gender")
REQUIRED = ("first_name", "last_name", "personal_number")
FIELD_LABELS = {
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "personal_number": N_("Personal identity number"),
    "company": N_("Company"),
    "org_number": N_("Organisation number"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "gender": N_("Gender"),
}

_ALIASES = {
    "first_name": ("förnamn", "fornamn", "first name", "firstname", "given name", "tilltalsnamn"),
    "last_name": ("efternamn", "last name", "lastname", "surname", "family name"),
    "personal_number": (
        "personnummer",
        "personnr",
        "pnr",
        "personal identity number",
        "personal number",
        "personal id number",
        "person number",
        "samordningsnummer",
        "personnummer/samordningsnummer",
        "personnummer (ååååmmddnnnn)",
        "personnummer (åååammdd-nnnn)",
    ),
    "company": ("företag", "foretag", "företagsnamn", "company", "company name", "arbetsgivare", "employer"),
    "org_number": (
        "organisationsnummer",
        "org.nr",
        "org nr",
        "orgnr",
        "org. nr",
        "organisation number",
        "organization number",
        "org number",
        "org no",
    ),
    "email": ("e-post", "epost", "e-postadress", "epostadress", "email", "e-mail", "mail", "email address", "e-mail address"),
    "phone": ("telefon", "telefonnummer", "tel", "tel.", "mobil", "mobilnummer", "mobiltelefon", "phone", "phone number", "mobile", "telephone"),
    "gender": ("kön", "kon", "gender", "sex"),
}
_HEADER_KEYS = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}


def _header_key(value: object) -> str | None:
    text = unicodedata.normalize("NFC", _cell_text(value)).casefold()
    text = " ".join(text.replace("_", " ").split()).rstrip(":*").strip()
    return _HEADER_KEYS.get(text)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a personnummer typed as a number
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).replace("\u00a0", " ").split())


# the progress callback returned False: nothing was written
ImportCancelled = Cancelled


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawList:
    columns: dict[str, int]  # field -> column index
    rows: list[tuple[int, list[str]]]  # (line in the file, cells)


def _read_cells(path: Path) -> list[tuple[int, list[str]]]:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise UserError(
            _("{file}: save the list as an Excel workbook (.xlsx) or as CSV (.csv).").format(file=path.name)
        )
    try:
        size = path.stat().st_size
        if size > limits.LIST_MAX_BYTES:
            raise UserError(
                _("{file} is larger than {n} MB: a participant list is far smaller. Check that it is the right file.").format(
                    file=path.name, n=limits.LIST_MAX_BYTES // 1024**2
                )
            )
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        return _read_csv(path.read_bytes(), path.name)
    except MemoryError:
        raise UserError(_("{file} is too large to read on this computer.").format(file=path.name)) from None
    except RecursionError:
        raise UserError(_("{file} is not a readable participant list (it nests too deeply).").format(file=path.name)) from None
    except OSError as exc:
        raise UserError(
            _("The file {file} cannot be read: {reason}").format(file=path, reason=exc.strerror or exc)
        ) from None


def _check_zip(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than the limits, before openpyxl reads it (a
    3 MB file can hold a cell of 3 GB). The sizes are the zip's own: reading a part stops there."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UserError(_("{file} is not a readable Excel workbook.").format(file=path.name)) from None
    if len(entries) > limits.XLSX_MAX_ENTRIES:
        raise UserError(_("{file} is not a readable Excel workbook.").format(file=path.name))
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > limits.XLSX_MAX_ENTRY_BYTES or total > limits.XLSX_MAX_TOTAL_BYTES:
            raise UserError(
                _("{file}: the workbook unpacks to more than {n} MB ({part}); a participant list is far smaller.").format(
                    file=path.name, n=limits.XLSX_MAX_ENTRY_BYTES // 1024**2, part=entry.filename[:80]
                )
            )


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    """The first sheet's values, with bounded memory: the zip checked first, read-only mode (rows are
    streamed), at most LIST_MAX_COLUMNS columns, LIST_MAX_ROWS rows and CELL_MAX_CHARS per cell."""
    from openpyxl import load_workbook

    _check_zip(path)
    unreadable = _("{file} is not a readable Excel workbook.").format(file=path.name)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (MemoryError, RecursionError):
        raise
    except Exception:  # noqa: BLE001 - a damaged or foreign file is the user's to fix
        raise UserError(unreadable) from None
    try:
        ws = wb.active
        if ws is None or not hasattr(ws, "iter_rows"):
            raise UserError(unreadable)
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # the sheet's own claim of its size is not trusted
        rows = []
        for i, row in enumerate(ws.iter_rows(max_col=limits.LIST_MAX_COLUMNS, values_only=True), start=1):
            if i > limits.LIST_MAX_ROWS:
                raise UserError(
                    _("{file}: the sheet has more than {n} rows; a participant list has far fewer.").format(
                        file=path.name, n=limits.LIST_MAX_ROWS
                    )
                )
            if not any(row):  # a blank row (openpyxl pads rows to the columns asked for)
                rows.append((i, []))
                continue
            cells = []
            for col, value in enumerate(row, start=1):
                if isinstance(value, str) and len(value) > limits.CELL_MAX_CHARS:
                    raise UserError(
                        _("{file}, row {row}, column {column}: the cell holds more than {n} characters.").format(
                            file=path.name, row=i, column=_column_name(col), n=limits.CELL_MAX_CHARS
                        )
                    )
                cells.append(_cell_text(value))
            while cells and not cells[-1]:
                cells.pop()
            rows.append((i, cells))
        return rows
    except (UserError, MemoryError, RecursionError):
        raise
    except Exception:  # noqa: BLE001 - damaged sheet data
        raise UserError(unreadable) from None
    finally:
        wb.close()


def _column_name(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


# --- encodings ------------------------------------------------------------------------------

# Characters a list in Windows-1252 plausibly holds beyond ASCII: Latin letters, the typographic
# quotes and dashes Excel puts in, no-break space, a few signs. Anything else (ƒ, ‚, ˆ, ‰, ‹, ™, ¤,
# ...) is what another encoding (Shift-JIS, UTF-16 without BOM, ...) looks like when read as it.
_CP1252_PLAUSIBLE = set(
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ"
    "ŠšŽžŒœŸ"
    "\u00a0\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00b4\u00b0\u00a7\u20ac\u00ab\u00bb\u00b7\u00e9"
)
_CONT = re.escape(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore"))
# a UTF-8 sequence of two or three bytes as Windows-1252 shows it: 'Ã…' (Å), 'Ã¶' (ö), 'â€“' (–)
_MOJIBAKE = re.compile(f"[\u00c2-\u00df][{_CONT}]|[\u00e0-\u00ef][{_CONT}]{{2}}")
_ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252"}


def _line_list(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:10])
    if len(lines) > 10:
        shown += " " + _("and {n} more").format(n=len(lines) - 10)
    return shown


def _is_double_encoded(line: str) -> bool:
    """UTF-8 read as Windows-1252 (and saved again): 'Ã…sa', 'LindstrÃ¶m'."""
    for match in _MOJIBAKE.finditer(line):
        try:
            match.group().encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return True
    return False


def decode_text(data: bytes, name: str = "") -> str:
    """The text of a list, as a person would read it, else a UserError naming the lines:

    a BOM (UTF-8, UTF-16) says the encoding; else the file is strict UTF-8, else Windows-1252 (what
    Swedish Excel writes). A file mixing them (UTF-8 lines in a Windows-1252 file or the other way,
    or UTF-8 mis-read as Windows-1252: 'Ã…sa'), a byte no encoding explains, or text that is
    implausible as Windows-1252 (another encoding, e.g. Shift-JIS) is refused."""
    where = f"{name}: " if name else ""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UserError(
                where + _("line {line}: the text is not valid UTF-16 as its start says.").format(
                    line=data[: exc.start].decode("utf-16", errors="replace").count("\n") + 1
                )
            ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        bom = True
    else:
        bom = False
    if data and data.count(b"\x00") * 10 >= len(data):
        raise UserError(
            where + _(
                "the file is not text in UTF-8 or Windows-1252 (every other byte is empty: UTF-16 without its "
                "byte order mark?). Save the list as CSV UTF-8 or as an Excel workbook."
            )
        )
    raw_lines = data.split(b"\n")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        bad = [n for n, line in enumerate(text.split("\n"), start=1) if not line.isascii() and _is_double_encoded(line)]
        if bad:
            raise UserError(
                where + _(
                    "line {lines}: the text was converted twice ('Ã…sa' for 'Åsa'). Ask for the list again, "
                    "saved as CSV UTF-8 or as an Excel workbook."
                ).format(lines=_line_list(bad))
            )
        return text
    utf8, other = [], []
    for n, line in enumerate(raw_lines, start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other.append(n)
        else:
            utf8.append(n)
    if bom or utf8:
        # the file is UTF-8 (its BOM or most lines say so; on a tie its first line that is not
        # ASCII, mostly the header) yet some lines are not, or the other way round
        if bom or len(utf8) > len(other) or (len(utf8) == len(other) and utf8[0] < other[0]):
            differ, enc, rest = other, _("not UTF-8 (probably Windows-1252)"), "UTF-8"
        else:
            differ, enc, rest = utf8, "UTF-8", "Windows-1252"
        raise UserError(
            where + _(
                "the file mixes character encodings: line {lines} is {encoding}, the other lines {rest}. "
                "Save the list again with one encoding (in Excel: CSV UTF-8) or as an Excel workbook."
            ).format(lines=_line_list(differ), encoding=enc, rest=rest)
        )
    out = []
    twice = []
    for n, line in enumerate(raw_lines, start=1):
        try:
            decoded = line.decode("cp1252")
        except UnicodeDecodeError:
            decoded = None
        if decoded is not None and not decoded.isascii() and _is_double_encoded(decoded):
            twice.append(n)
        elif decoded is None or any(ch not in _CP1252_PLAUSIBLE for ch in decoded if ord(ch) > 127):
            raise UserError(
                where + _(
                    "line {line}: the text is neither UTF-8 nor Windows-1252 (Swedish Excel). Save the list "
                    "as CSV UTF-8 or as an Excel workbook."
                ).format(line=n)
            )
        out.append(decoded)
    if twice:
        raise UserError(
            where + _(
                "line {lines}: the text was converted twice ('Ã…sa' for 'Åsa'). Ask for the list again, "
                "saved as CSV UTF-8 or as an Excel workbook."
            ).format(lines=_line_list(twice))
        )
    return "\n".join(out)


def sniff_delimiter(text: str) -> str:
    """The separator of the first non-blank line, counted outside quotes: ';', ',' or tab."""
    for line in text.splitlines():
        if not line.strip():
            continue
        counts = {";": 0, ",": 0, "\t": 0}
        quoted = False
        for ch in line:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch in counts:
                counts[ch] += 1
        best = max(counts, key=lambda k: (counts[k], k == ";"))
        if counts[best]:
            return best
    return ";"


def _read_csv(data: bytes, name: str = "") -> list[tuple[int, list[str]]]:
    """The records of a CSV file with the line each starts on. A field never spans lines in a
    participant list: a quote left open is an error on its line (it would swallow the next rows)."""
    text = decode_text(data, name)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    start = 1
    where = f"{name}: " if name else ""
    try:
        for cells in reader:
            if reader.line_num != start:
                raise UserError(
                    where + _(
                        "line {line}: a quotation mark (\") opens a field that is not closed on the same line. "
                        "Nothing was imported."
                    ).format(line=start)
                )
            if len(rows) >= limits.LIST_MAX_ROWS:
                raise UserError(
                    where + _("the list has more than {n} rows; a participant list has far fewer.").format(n=limits.LIST_MAX_ROWS)
                )
            if any(len(c) > limits.CELL_MAX_CHARS for c in cells):
                raise UserError(
                    where + _("line {line}: a field holds more than {n} characters.").format(line=start, n=limits.CELL_MAX_CHARS)
                )
            rows.append((start, [_cell_text(c) for c in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise UserError(
                where + _("line {line}: a field holds more than {n} characters.").format(line=start, n=limits.CELL_MAX_CHARS)
            ) from None
        if reader.line_num > start:  # a quote opened on `start` ran on to the end of the file
            raise UserError(
                where + _(
                    "line {line}: a quotation mark (\") opens a field that is not closed on the same line. "
                    "Nothing was imported."
                ).format(line=start)
            ) from None
        raise UserError(
            where + _("line {line}: the file is not valid CSV ({reason}). Nothing was imported.").format(
                line=start, reason=str(exc)
            )
        ) from None
    return rows


def read_list(path: str | Path) -> RawList:
    """The columns and data rows of a participant list; a UserError if it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(_("File not found: {file}").format(file=path))
    rows = _read_cells(path)
    nonblank = [(line, cells) for line, cells in rows if any(cells)]
    for index, (_line, cells) in enumerate(nonblank[:10]):
        columns: dict[str, int] = {}
        for col, cell in enumerate(cells):
            key = _header_key(cell)
            if key and key not in columns:
                columns[key] = col
        if all(k in columns for k in REQUIRED):
            return RawList(columns, nonblank[index + 1 :])
    raise UserError(
        _("{file}: no header row with the columns First name, Last name and Personal identity number was found.").format(
            file=path.name
        )
    )


# --- preview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    line: int
    first_name: str
    last_name: str
    personal_number: str  # 12 digits when valid, else ''
    masked_personal_number: str
    company_text: str
    company_id: str | None
    company_name: str
    email: str
    phone: str
    gender: str
    participant_id: str | None  # an existing participant with the same personnummer
    already_enrolled: bool
    problems: tuple[str, ...] = field(default_factory=tuple)
    # the registered name when the personnummer is known under another name ('' otherwise), and the
    # problem that makes (it is among `problems` unless the coordinator confirmed the person)
    known_as: str = ""
    identity_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class ImportPreview:
    course_id: str
    course_code: str
    course_title: str
    source: str  # the file's name
    columns: tuple[str, ...]
    rows: tuple[ListRow, ...]
    accept_known: bool = False  # rows known under another name enrol the registered person

    @property
    def valid(self) -> tuple[ListRow, ...]:
        return tuple(r for r in self.rows if r.ok)

    @property
    def invalid(self) -> tuple[ListRow, ...]:
        return tuple(r for r in self.rows if not r.ok)

    @property
    def name_mismatches(self) -> tuple[ListRow, ...]:
        """Rows whose personnummer is registered under another name."""
        return tuple(r for r in self.rows if r.known_as)

    def accepting_known(self, accept: bool = True) -> ImportPreview:
        """The same preview with the rows known under another name confirmed (or not): confirmed, they
        enrol the registered person (whose record stays as it is)."""
        rows = []
        for r in self.rows:
            if r.identity_problem:
                others = tuple(p for p in r.problems if p != r.identity_problem)
                r = replace(r, problems=others if accept else others + (r.identity_problem,))
            rows.append(r)
        return replace(self, rows=tuple(rows), accept_known=accept)

    def problem_lines(self) -> list[str]:
        """'line 7: reason' for every problem, in file order."""
        return [
            _("Line {line}: {reason}").format(line=r.line, reason=reason) for r in self.invalid for reason in r.problems
        ]


@dataclass(frozen=True)
class ImportResult:
    created: int
    matched: int
    enrolled: int
    waitlisted: int
    already: int
    skipped: int
    participant_ids: tuple[str, ...] = ()


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _company_index(s) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    by_org: dict[str, list[tuple[str, str]]] = {}
    by_name: dict[str, list[tuple[str, str]]] = {}
    for cid, name, org in s.execute(select(Company.id, Company.name, Company.org_number).where(Company.deleted_at.is_(None))):
        if org:
            by_org.setdefault(org, []).append((cid, name))
        by_name.setdefault(" ".join(name.split()).casefold(), []).append((cid, name))
    return by_org, by_name


def _existing_people(s, numbers: list[str]) -> dict[str, tuple[str, str, str]]:
    """personnummer -> (id, first name, last name) of the (oldest) live participant with it. ESF's
    protected form (YYYYMMDDTF29) identifies no one: never matched."""
    found: dict[str, tuple[str, str, str]] = {}
    for batch in _chunks(sorted({n for n in numbers if not is_protected_number(n)})):
        rows = s.execute(
            select(Participant.personal_number, Participant.id, Participant.first_name, Participant.last_name)
            .where(Participant.personal_number.in_(batch), Participant.deleted_at.is_(None))
            .order_by(Participant.created_at)
        )
        for pnr, pid, first, last in rows:
            found.setdefault(pnr, (pid, first, last))
    return found


def _name_key(first: str, last: str) -> str:
    """A name as two people would agree it is the same: case, spaces and hyphens aside."""
    text = unicodedata.normalize("NFC", f"{first} {last}").casefold().replace("-", " ")
    return " ".join(text.split())


def _identity_problem(masked: str, registered: str, listed: str) -> str:
    return _(
        "{number} is registered as {name}, not {listed}. Correct the row, or confirm that it is the same person."
    ).format(number=masked, name=registered, listed=listed)


# list field -> (table, column) whose limits apply to it; `raw`: checked before it is normalised
_LIMITED = {
    "first_name": ("participants", "first_name", False),
    "last_name": ("participants", "last_name", False),
    "company": ("companies", "name", True),
    "org_number": ("companies", "org_number", True),
    "email": ("participants", "email", True),
    "phone": ("participants", "phone", True),
    "gender": ("participants", "gender", True),
    "personal_number": ("participants", "personal_number", True),
}


def _course(s, course_id: str) -> Course:
    course = s.get(Course, course_id)
    if course is None or course.deleted_at is not None:
        raise NotFound(_("The course was not found."))
    return course


def find_course_id(db: Database, code: str) -> str:
    """The course with this code (app/services/lookups.py's one rule)."""
    from app.services.lookups import course_id_by_code

    return course_id_by_code(db, code)


def preview_import(
    db: Database,
    path: str | Path,
    course_id: str,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    accept_known: bool = False,
) -> ImportPreview:
    """Read the list and check every row against the database; writes nothing.

    A row whose personnummer is registered under another name is a problem on that row (showing the
    registered name), unless `accept_known`: then it enrols the registered person."""
    path = Path(path)
    raw = read_list(path)
    cols = raw.columns

    def get(cells: list[str], key: str) -> str:
        idx = cols.get(key)
        return cells[idx].strip() if idx is not None and idx < len(cells) else ""

    with db.read() as s:
        course = _course(s, course_id)
        course_code, course_title = course.code, course.title
        by_org, by_name = _company_index(s)
        parsed = []
        numbers = []
        for line, cells in raw.rows:
            pnr_text = get(cells, "personal_number")
            try:
                pnr = normalize_personal_number(pnr_text, today=today) if pnr_text else ""
            except FieldError as exc:
                pnr = ""
                pnr_problem = exc.message
            else:
                pnr_problem = "" if pnr_text else _("The personal identity number is missing.")
            if pnr:
                numbers.append(pnr)
            parsed.append((line, cells, pnr, pnr_problem))
        existing = _existing_people(s, numbers)
        enrolled_ids = set()
        for batch in _chunks(sorted({pid for pid, _first, _last in existing.values()})):
            enrolled_ids.update(
                s.execute(
                    select(Enrollment.participant_id).where(
                        Enrollment.course_id == course_id,
                        Enrollment.participant_id.in_(batch),
                        Enrollment.deleted_at.is_(None),
                        Enrollment.status != "withdrawn",
                    )
                ).scalars()
            )

    rows: list[ListRow] = []
    first_line: dict[str, int] = {}
    total = len(parsed)
    for done, (line, cells, pnr, pnr_problem) in enumerate(parsed):
        if progress is not None and done % 500 == 0 and progress(done, total) is False:
            raise ImportCancelled()
        problems: list[str] = []
        # lengths and characters as the forms allow, before anything else looks at the text
        bad: set[str] = set()
        for key, (table, column, raw_text) in _LIMITED.items():
            problem = limits.check_value(table, column, get(cells, key), raw=raw_text)
            if problem:
                problems.append(f"{_(FIELD_LABELS[key])}: {problem}")
                bad.add(key)
        if "personal_number" in bad:
            pnr, pnr_problem = "", ""
        first, last = get(cells, "first_name"), get(cells, "last_name")
        if not first:
            problems.append(_("The first name is missing."))
        if not last:
            problems.append(_("The last name is missing."))
        if pnr_problem:
            problems.append(pnr_problem)
        if pnr and not is_protected_number(pnr):  # the protected form is shared by many people
            if pnr in first_line:
                problems.append(_("Duplicate: the same person as on line {line}.").format(line=first_line[pnr]))
            else:
                first_line[pnr] = line
        # the employer: an organisation number (its own column or in the company column) or a name
        company_text = get(cells, "org_number") or get(cells, "company")
        company_id, company_name = None, ""
        if bad & {"company", "org_number"}:
            company_text = ""
        if company_text:
            try:
                org = normalize_org_number(company_text)
            except FieldError:
                org = None
            matches = by_org.get(org, []) if org else by_name.get(" ".join(company_text.split()).casefold(), [])
            if org and not matches and get(cells, "company"):
                matches = by_name.get(" ".join(get(cells, "company").split()).casefold(), [])
            if not matches:
                problems.append(_("Unknown company: {company}.").format(company=company_text))
            elif len(matches) > 1:
                problems.append(_("More than one company is called {company}: give its organisation number.").format(company=company_text))
            else:
                company_id, company_name = matches[0]
        email = phone = gender = ""
        for key, normalize in (("email", normalize_email), ("phone", normalize_phone), ("gender", normalize_gender)):
            if key in bad:
                continue
            try:
                value = normalize(get(cells, key))
            except FieldError as exc:
                problems.append(exc.message)
                continue
            if key == "email":
                email = value
            elif key == "phone":
                phone = value
            else:
                gender = value
        if not gender and pnr:
            gender = gender_from_personal_number(pnr)
        known = existing.get(pnr) if pnr else None
        pid = known[0] if known else None
        known_as = identity_problem = ""
        if known and first and last and _name_key(known[1], known[2]) != _name_key(first, last):
            known_as = f"{known[1]} {known[2]}"
            identity_problem = _identity_problem(mask_personal_number(pnr), known_as, f"{first} {last}")
            if not accept_known:
                problems.append(identity_problem)
        rows.append(
            ListRow(
                line=line,
                first_name=first,
                last_name=last,
                personal_number=pnr,
                masked_personal_number=mask_personal_number(pnr) if pnr else "",
                company_text=company_text,
                company_id=company_id,
                company_name=company_name,
                email=email,
                phone=phone,
                gender=gender,
                participant_id=pid,
                already_enrolled=pid in enrolled_ids if pid else False,
                problems=tuple(problems),
                known_as=known_as,
                identity_problem=identity_problem,
            )
        )
    if not rows:
        raise UserError(_("{file}: the list has no participants.").format(file=path.name))
    if progress is not None:
        progress(total, total)
    return ImportPreview(
        course_id=course_id,
        course_code=course_code,
        course_title=course_title,
        source=path.name,
        columns=tuple(k for k in FIELDS if k in cols),
        rows=tuple(rows),
        accept_known=accept_known,
    )


# --- writing ------------------------------------------------------------------------------


@contextmanager
def _identity_net(db: Database, rows: tuple[ListRow, ...]) -> Iterator[None]:
    """Should the database's unique index on live personnummer refuse the import (a person who
    arrived some other way than through a checked write), the rows whose person is now registered
    are listed with the form's message, and nothing was imported (never an unexpected error)."""
    try:
        yield
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        new = [r for r in rows if r.participant_id is None]  # new when the list was checked
        with db.read() as s:
            known = _existing_people(s, [r.personal_number for r in new])
        lines = [
            _("Line {line}: {number} is already registered as {name}. A person is registered only once.").format(
                line=r.line, number=r.masked_personal_number,
                name=f"{known[r.personal_number][1]} {known[r.personal_number][2]}",
            )
            for r in new
            if r.personal_number in known
        ][:20]
        lines.append(_("Nothing was imported: import the list again and these people are matched instead."))
        raise UserError("\n".join(lines)) from None


def apply_import(
    db: Database, preview: ImportPreview, *, skip_invalid: bool = False, progress: Progress | None = None
) -> ImportResult:
    """Create the new participants and enrol every valid row, in one transaction.

    With invalid rows and skip_invalid False nothing is written (ValidationError listing them).
    A person already known (same personnummer) is matched, never duplicated, and left as stored.
    Enrolment is app.services.enrollments.enroll_in_session inside this transaction, so the list
    enrols exactly as the window does: places taken by live participants only, waitlisted people
    move up into free places first, beyond the capacity newcomers are waitlisted in file order,
    a withdrawn one is re-enrolled."""
    if preview.invalid and not skip_invalid:
        raise ValidationError(
            [Problem("", line) for line in preview.problem_lines()]
        )
    valid = preview.valid
    total = len(valid)
    created = matched = 0
    ids: list[str] = []
    with _identity_net(db, valid), db.write() as s:
        course = _course(s, preview.course_id)
        # match again inside the transaction: the database may have changed since the preview
        known = _existing_people(s, [r.personal_number for r in valid])
        if not preview.accept_known:
            changed = []
            for r in valid:
                person = known.get(r.personal_number)
                if person and _name_key(person[1], person[2]) != _name_key(r.first_name, r.last_name):
                    reason = _identity_problem(r.masked_personal_number, f"{person[1]} {person[2]}", r.full_name)
                    changed.append(Problem("", _("Line {line}: {reason}").format(line=r.line, reason=reason)))
            if changed:
                raise ValidationError(changed)  # registered meanwhile under another name: nothing is written
        existing = {pnr: person[0] for pnr, person in known.items()}
        now = utcnow()
        new_people = []
        for done, r in enumerate(valid):
            if progress is not None and done % 500 == 0 and progress(done, total) is False:
                raise ImportCancelled()
            pid = existing.get(r.personal_number)
            if pid is None:
                pid = new_id()
                if not is_protected_number(r.personal_number):  # a protected form is shared by many
                    existing[r.personal_number] = pid
                new_people.append(
                    {
                        "id": pid,
                        "created_at": now,
                        "updated_at": now,
                        "first_name": r.first_name,
                        "last_name": r.last_name,
                        "personal_number": r.personal_number,
                        "gender": r.gender,
                        "email": r.email,
                        "phone": r.phone,
                        "company_id": r.company_id,
                    }
                )
                created += 1
            else:
                matched += 1
            ids.append(pid)
        if new_people:
            s.execute(insert(Participant), new_people)
        # the same capacity, waitlist and re-enrolment rules as enrolling from the window
        outcome = enroll_in_session(s, course.id, ids)
        enrolled, waitlisted, already = len(outcome.enrolled), len(outcome.waitlisted), len(outcome.already)
        if progress is not None and progress(total, total) is False:
            raise ImportCancelled()
    return ImportResult(
        created=created,
        matched=matched,
        enrolled=enrolled,
        waitlisted=waitlisted,
        already=already,
        skipped=len(preview.invalid),
        participant_ids=tuple(dict.fromkeys(ids)),
    )


def summary_text(result: ImportResult) -> str:
    return _(
        "{enrolled} enrolled, {waitlisted} waitlisted, {already} already enrolled; "
        "{created} new participants, {matched} already known; {skipped} rows skipped."
    ).format(
        enrolled=result.enrolled,
        waitlisted=result.waitlisted,
        already=result.already,
        created=result.created,
        matched=result.matched,
        skipped=result.skipped,
    )


def import_participants_cli(
    db: Database, file: str | Path, course_code: str, skip_invalid: bool = False, accept_known: bool = False
) -> int:
    """`kursdesk import participants FILE --course CODE [--skip-invalid] [--accept-known]`.

    Bad rows are listed (line, reason); without --skip-invalid nothing is written and the exit
    code is 2; with it the good rows are enrolled and the exit code is 0. A file that cannot be
    read as a list (its encoding, a quote left open) is refused whole, also with --skip-invalid.
    --accept-known: rows whose personnummer is registered under another name enrol that person."""
    course_id = find_course_id(db, course_code)
    preview = preview_import(db, file, course_id, accept_known=accept_known)
    bad = preview.problem_lines()
    if any(r.identity_problem in r.problems for r in preview.invalid if r.identity_problem):
        bad.append(_("To enrol the registered people on the rows known under another name, use --accept-known."))
    if bad and not skip_invalid:
        bad.append(
            _("Nothing was imported: {n} of {total} rows have problems (fix them, or use --skip-invalid).").format(
                n=len(preview.invalid), total=len(preview.rows)
            )
        )
        raise UserError("\n".join(bad))
    for line in bad:
        print(f"kursdesk: {line}", file=sys.stderr)
    result = apply_import(db, preview, skip_invalid=True)
    print(_("{course}: {summary}").format(course=preview.course_code, summary=summary_text(result)))
    return 0

