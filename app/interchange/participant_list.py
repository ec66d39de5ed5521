"""Participant lists from companies (.xlsx, or .csv as Excel writes it on a Swedish machine):
read, preview every row with its problem, then enrol the valid rows in one transaction.

Reading:
- .xlsx / .xlsm: the first (active) sheet, values only (formulas are never evaluated by us).
- .csv / .txt: UTF-8 with or without BOM, else Windows-1252 (what Excel's "CSV" writes on a
  Swedish Windows); UTF-16 with BOM (Excel's "Unicode text"). Separator sniffed from the header
  line: `;` (Swedish Excel), `,` or tab.
- The header row is the first row (of the first ten) that names at least the first name, last
  name and personnummer columns; columns are found by their header in Swedish or English, in any
  order; other columns are ignored; blank rows are skipped. Line numbers are the file's own
  (the spreadsheet row, or the CSV line on which the record starts).

Nothing is written by `preview_import`; `apply_import` writes all or nothing.
"""

from __future__ import annotations

import csv
import io
import sys
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.db import Database, is_unique_violation
from app.errors import NotFound, Problem, UserError, ValidationError
from app.i18n import N_, _
from app.models import Company, Course, Enrollment, Participant, new_id, utcnow
from app.services.enrollments import enroll_in_session
from app.validation import (
    FieldError,
    gender_from_personal_number,
    mask_personal_number,
    normalize_email,
    normalize_gender,
    normalize_org_number,
    normalize_personal_number,
    normalize_phone,
)

Progress = Callable[[int, int], object] | None

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


class ImportCancelled(Exception):
    """The progress callback returned False: nothing was written."""


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawList:
    columns: dict[str, int]  # field -> column index
    rows: list[tuple[int, list[str]]]  # (line in the file, cells)


def _read_cells(path: Path) -> list[tuple[int, list[str]]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path.read_bytes())
    raise UserError(
        _("{file}: save the list as an Excel workbook (.xlsx) or as CSV (.csv).").format(file=path.name)
    )


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a damaged or foreign file is the user's to fix
        raise UserError(_("{file} is not a readable Excel workbook.").format(file=path.name)) from None
    try:
        ws = wb.active
        return [(i, [_cell_text(v) for v in row]) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


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


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    text = decode_text(data)
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    start = 1
    try:
        for cells in reader:
            rows.append((start, [_cell_text(c) for c in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise UserError(_("Line {line}: the file is not valid CSV ({reason}).").format(line=start, reason=str(exc))) from None
    return rows


def read_list(path: str | Path) -> RawList:
    """The columns and data rows of a participant list; a UserError if it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(_("File not found: {file}").format(file=path))
    rows = _read_cells(path)
    nonblank = [(line, cells) for line, cells in rows if any(cells)]
    for index, (line, cells) in enumerate(nonblank[:10]):
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

    @property
    def valid(self) -> tuple[ListRow, ...]:
        return tuple(r for r in self.rows if r.ok)

    @property
    def invalid(self) -> tuple[ListRow, ...]:
        return tuple(r for r in self.rows if not r.ok)

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


def _existing_people(s, numbers: list[str]) -> dict[str, str]:
    """personnummer -> id of the (oldest) participant with it."""
    found: dict[str, str] = {}
    for batch in _chunks(sorted(set(numbers))):
        rows = s.execute(
            select(Participant.personal_number, Participant.id)
            .where(Participant.personal_number.in_(batch), Participant.deleted_at.is_(None))
            .order_by(Participant.created_at)
        )
        for pnr, pid in rows:
            found.setdefault(pnr, pid)
    return found


def _course(s, course_id: str) -> Course:
    course = s.get(Course, course_id)
    if course is None or course.deleted_at is not None:
        raise NotFound(_("The course was not found."))
    return course


def find_course_id(db: Database, code: str) -> str:
    with db.read() as s:
        cid = s.execute(select(Course.id).where(Course.code == code, Course.deleted_at.is_(None))).scalar_one_or_none()
    if cid is None:
        raise NotFound(_("Course {code} not found").format(code=code))
    return cid


def preview_import(
    db: Database, path: str | Path, course_id: str, *, today: date | None = None, progress: Progress = None
) -> ImportPreview:
    """Read the list and check every row against the database; writes nothing."""
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
        for batch in _chunks(sorted(set(existing.values()))):
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
        first, last = get(cells, "first_name"), get(cells, "last_name")
        if not first:
            problems.append(_("The first name is missing."))
        if not last:
            problems.append(_("The last name is missing."))
        if pnr_problem:
            problems.append(pnr_problem)
        if pnr:
            if pnr in first_line:
                problems.append(_("Duplicate: the same person as on line {line}.").format(line=first_line[pnr]))
            else:
                first_line[pnr] = line
        # the employer: an organisation number (its own column or in the company column) or a name
        company_text = get(cells, "org_number") or get(cells, "company")
        company_id, company_name = None, ""
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
        try:
            email = normalize_email(get(cells, "email"))
        except FieldError as exc:
            problems.append(exc.message)
        try:
            phone = normalize_phone(get(cells, "phone"))
        except FieldError as exc:
            problems.append(exc.message)
        try:
            gender = normalize_gender(get(cells, "gender"))
        except FieldError as exc:
            problems.append(exc.message)
        if not gender and pnr:
            gender = gender_from_personal_number(pnr)
        pid = existing.get(pnr) if pnr else None
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
            names = {
                pid: f"{first} {last}"
                for pid, first, last in s.execute(
                    select(Participant.id, Participant.first_name, Participant.last_name).where(
                        Participant.id.in_(list(known.values())[:500])
                    )
                )
            }
        lines = [
            _("Line {line}: {number} is already registered as {name}. A person is registered only once.").format(
                line=r.line, number=r.masked_personal_number, name=names.get(known[r.personal_number], "")
            )
            for r in new
            if r.personal_number in known
        ][:20]
        lines.append(_("Nothing was imported: import the list again and these people are matched instead."))
        raise UserError("\n".join(lines)) from None


def apply_import(
    db: Database, preview: ImportPreview, *, skip_invalid: bool = False, progress: Progress = None
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
        existing = _existing_people(s, [r.personal_number for r in valid])
        now = utcnow()
        new_people = []
        for done, r in enumerate(valid):
            if progress is not None and done % 500 == 0 and progress(done, total) is False:
                raise ImportCancelled()
            pid = existing.get(r.personal_number)
            if pid is None:
                pid = new_id()
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


def import_participants_cli(db: Database, file: str | Path, course_code: str, skip_invalid: bool = False) -> int:
    """`kursdesk import participants FILE --course CODE [--skip-invalid]`.

    Bad rows are listed (line, reason); without --skip-invalid nothing is written and the exit
    code is 2; with it the good rows are enrolled and the exit code is 0."""
    course_id = find_course_id(db, course_code)
    preview = preview_import(db, file, course_id)
    bad = preview.problem_lines()
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

