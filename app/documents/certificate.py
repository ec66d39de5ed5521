"""The course certificate (kursintyg): one A4 page, drawn on a reportlab canvas.

The page is built from a `CertificateData` (plain values, already looked up), so the same data
always gives the same bytes (`invariant=True`: no creation date, no random document id). The
service stores those bytes when the certificate is issued; a reprint never re-renders.

The QR code is encoded with segno (UTF-8) and drawn as ONE path of run-length rectangles:
reportlab's own QrCodeWidget draws every dark module as its own shape and cost about 70 % of
the time of a page (research/ecosystem.md, addendum).
"""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass, fields, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

import segno
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from app.documents.common import (
    EU_BLUE,
    FONT,
    FONT_BOLD,
    PAGE,
    draw_funding_statement,
    draw_logo,
    new_canvas,
    register_fonts,
)
from app.i18n import N_, format_hours, format_percent, translate_in
from app.i18n import format_date as _format_date
from app.signing.scan import pdf_keywords

# babel formatting is the slowest call on the page; a batch prints the same few dates and hours
# again and again
format_date = lru_cache(maxsize=512)(_format_date)


@lru_cache(maxsize=1024)
def _hours(minutes: int, lang: str) -> str:
    return format_hours(minutes, lang=lang)


@lru_cache(maxsize=1024)
def _percent(share: float, lang: str) -> str:
    return format_percent(share, lang=lang)

QR_PREFIX = "KURSDESK"
#: the mask pattern of every QR code issued now. segno otherwise draws the code with all eight
#: masks and scores each (ISO 18004 penalty rules): ~2.5 ms of a ~10 ms page. Every mask gives a
#: valid code; the score only avoids patterns that some readers find harder. Kept in the frozen
#: data, so a redraw uses the mask the certificate was issued with.
QR_MASK = 5

# Document texts (source English; translated per certificate language with translate_in).
T_TITLE = N_("Certificate")
T_TITLE_PARTICIPATION = N_("Certificate of participation")
T_DATES_ATTENDED = N_("Days attended")
T_CERTIFY = N_("This is to certify that")
T_BORN = N_("born {date}")
T_PARTICIPATED = N_("has taken part in the course")
T_DATES = N_("Dates")
T_SCHEDULED = N_("Scheduled hours")
T_ATTENDED = N_("Attended hours")
T_ATTENDED_VALUE = N_("{hours} ({percent} of the scheduled hours)")
T_PROVIDER = N_("Course provider")
T_LOCATION = N_("Location")
T_DESCRIPTION = N_("Course description")
T_OUTCOMES = N_("Learning outcomes")
T_PLACE_DATE = N_("{place}, {date}")
T_NUMBER = N_("Certificate number")
T_CODE = N_("Verification code")
T_VERIFY_HINT = N_("Scan the code or give the number to the issuer to check this certificate.")
# signed certificates: the QR code holds the signed statement (after the verifier page's address)
T_VERIFY_HINT_URL = N_("To check this certificate, scan the QR code or open {url} and enter the text of the QR code.")
T_VERIFY_HINT_SIGNED = N_("The QR code holds this certificate's details, signed by the issuer; the issuer's verifier page checks them.")
T_DOC_TITLE = N_("Certificate {number}")


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on one certificate, as plain values."""

    lang: str
    number: str
    verification_code: str
    full_name: str
    birth_date: date | None
    course_code: str
    course_title: str
    description: str
    learning_outcomes: str
    first_date: date | None
    last_date: date | None
    scheduled_minutes: int
    attended_minutes: int
    provider_name: str
    location: str
    organisation_name: str
    programme_name: str
    place: str
    issued_on: date
    signatory_name: str
    signatory_title: str
    logo_png: bytes = b""  # the logo file's bytes as they were at issue (empty: no logo)
    qr_payload: str = ""  # empty: "KURSDESK:<number>:<code>"
    layout: int = 1  # LAYOUT when the certificate was issued
    # the QR code's mask pattern (0-7); None: chosen by segno's mask evaluation, as certificates
    # frozen before the mask was fixed were drawn (their frozen data has no such field)
    qr_mask: int | None = QR_MASK
    # the QR code's modules as drawn (`modules_text`); empty: encoded from qr_text when drawn.
    # Frozen at issue, so a redraw (a combined file) needs no encoding and no segno of the same
    # version to give the same page.
    qr_modules: str = ""
    kind: str = "course"  # 'course' (kursintyg) or 'participation' (deltagarintyg)
    contact: str = ""  # the issuer's contact details: "address\nphone  ·  e-mail  ·  web"
    statement: str = ""  # the signed statement (base64url) the QR code carries; empty: not signed
    verifier_url: str = ""  # the verifier page's address, named in the hint

    @property
    def qr_text(self) -> str:
        return self.qr_payload or qr_payload(self.number, self.verification_code)

    @property
    def logo(self):
        return io.BytesIO(self.logo_png) if self.logo_png else ""

    # frozen form: the exact data, kept with the issued PDF, to draw the same page again
    def to_json(self) -> str:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, bytes):
                value = base64.b64encode(value).decode("ascii")
            out[f.name] = value
        return json.dumps(out, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> CertificateData:
        stored = json.loads(raw)
        values = {"qr_mask": None}  # frozen before the mask was fixed: segno chose it
        for f in fields(cls):
            if f.name not in stored:
                continue
            value = stored[f.name]
            if f.name in _DATE_FIELDS and value:
                value = date.fromisoformat(value)
            elif f.name == "logo_png":
                value = base64.b64decode(value)
            values[f.name] = value
        return cls(**values)


#: bumped whenever the drawing of the page changes; frozen data of another layout is never
#: redrawn (its stored PDF is the certificate).
LAYOUT = 1
_DATE_FIELDS = ("birth_date", "first_date", "last_date", "issued_on")


def qr_payload(number: str, code: str, url_template: str = "") -> str:
    """What the QR code carries: a verification URL when the organisation has one
    (`{number}` and `{code}` are filled in), otherwise `KURSDESK:<number>:<code>`."""
    if url_template:
        return url_template.replace("{number}", number).replace("{code}", code)
    return f"{QR_PREFIX}:{number}:{code}"


# --- QR code ---------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def qr_matrix(payload: str, mask: int | None = None) -> tuple[tuple[bool, ...], ...]:
    """The module matrix (True = dark), without the quiet zone. Error correction M. Text beyond
    ASCII is UTF-8 with an ECI header (without it zbar guessed Shift JIS for "å"). `mask` None:
    segno picks the best-scoring mask."""
    eci = not payload.isascii()
    code = segno.make_qr(
        payload, error="m", encoding="utf-8" if eci else None, eci=eci, boost_error=False, mask=mask
    )
    return tuple(tuple(bool(v) for v in row) for row in code.matrix)


def _bit_rows(modules: str) -> list[str]:
    """The rows of `modules_text` as strings of '0' and '1'."""
    rows = modules.split(".")
    n = len(rows)
    shift = (n + 3) // 4 * 4 - n
    return [format(int(row, 16) >> shift, f"0{n}b") for row in rows]


def _runs(rows: list[str]) -> str:
    """The dark modules as PDF rectangle operators in module units (row 0 at the top, y down):
    one `x y w 1 re` per horizontal run of dark modules, integers only."""
    ops = []
    for r, line in enumerate(rows):
        for m in _RUN.finditer(line):
            ops.append(f"{m.start()} {r} {m.end() - m.start()} 1 re")
    return "\n".join(ops)


_RUN = re.compile("1+")


def modules_text(matrix: tuple[tuple[bool, ...], ...]) -> str:
    """A module matrix as text: each row as hexadecimal digits (dark = 1, left first), rows
    separated by '.'."""
    n = len(matrix)
    digits = (n + 3) // 4
    return ".".join(
        format(int("".join("1" if v else "0" for v in row), 2) << (digits * 4 - n), f"0{digits}x") for row in matrix
    )


def modules_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The matrix of `modules_text`."""
    rows = text.split(".")
    n = len(rows)
    digits = (n + 3) // 4
    return tuple(
        tuple(ch == "1" for ch in format(int(row, 16) >> (digits * 4 - n), f"0{n}b")) for row in rows
    )


def with_qr(d: CertificateData) -> CertificateData:
    """The data with its QR modules frozen (encoded now if not yet)."""
    if d.qr_modules:
        return d
    return replace(d, qr_modules=modules_text(qr_matrix(d.qr_text, d.qr_mask)))


def _stencil(modules: str) -> str:
    """The rows of `modules_text` as the hexadecimal data of a 1-bit image (each row padded to
    whole bytes, dark = 1): the same digits, a '0' added to rows of an odd number of digits."""
    rows = modules.split(".")
    return "".join(rows) if len(rows[0]) % 2 == 0 else "0".join(rows) + "0"


def draw_qr(c: Canvas, payload: str, x: float, y: float, size: float, mask: int | None = None,
            modules: str = "", stencil: bool = False) -> None:
    """The QR code with its lower left corner at (x, y), `size` wide including a 4-module quiet
    zone, drawn as one filled path (a rectangle per horizontal run of dark modules), in module
    units under a transformation: a few short integers per run instead of four formatted floats.

    `stencil` (signed certificates, whose QR codes have ~1,000 runs): the modules as one 1-bit
    inline image mask painted black, as PostScript barcode writers draw matrix codes; a few hundred
    bytes that need no formatting per run (the runs took a third of a combined file's time)."""
    if stencil:
        modules = modules or modules_text(qr_matrix(payload, mask))
        n = len(modules.split("."))
        module = size / (n + 8)
        c.saveState()
        c.setFillColor(colors.white)
        c.rect(x, y, size, size, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.transform(n * module, 0, 0, n * module, x + 4 * module, y + 4 * module)  # the unit square: the modules
        c.addLiteral(f"BI /IM true /W {n} /H {n} /BPC 1 /D [1 0] /F /AHx ID\n{_stencil(modules)}>\nEI")
        c.restoreState()
        return
    if modules:
        rows = _bit_rows(modules)
    else:
        rows = ["".join("1" if v else "0" for v in row) for row in qr_matrix(payload, mask)]
    n = len(rows)
    module = size / (n + 8)
    c.saveState()
    c.setFillColor(colors.white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColor(colors.black)
    # origin at the top left module, one unit per module, y growing downwards
    c.transform(module, 0, 0, -module, x + 4 * module, y + size - 4 * module)
    c.addLiteral(_runs(rows) + "\nf")  # the path operators, then fill (nonzero winding)
    c.restoreState()


# --- the page -------------------------------------------------------------------------------
# User text is drawn with canvas text operators (drawString), never through Paragraph markup, so
# `<`, `&` and every other character print exactly as typed; wrapping uses reportlab's simpleSplit
# (measured: Paragraph layout was a third of the page's time).

BODY = 10.0


@lru_cache(maxsize=1024)  # a batch wraps the same course texts on every page
def _wrap(value: str, font: str, size: float, width: float) -> tuple[str, ...]:
    lines: list[str] = []
    for paragraph in value.strip().splitlines():
        lines.extend(simpleSplit(paragraph, font, size, width) or [""])
    return tuple(lines)


@lru_cache(maxsize=1024)
def _translated(lang: str, message: str) -> str:
    return translate_in(lang, message)


def _centred_lines(c: Canvas, value: str, font: str, size: float, leading: float, y: float, width: float,
                   page_width: float, max_lines: int) -> float:
    """Draw centred wrapped lines from the baseline y down; returns the last baseline."""
    lines = _wrap(value, font, size, width)
    while len(lines) > max_lines and size > 9:
        size -= 1
        leading = size * 1.22
        lines = _wrap(value, font, size, width)
    c.setFont(font, size)
    for i, line in enumerate(lines[:max_lines]):
        if i:
            y -= leading
        c.drawCentredString(page_width / 2, y, line)
    return y


@lru_cache(maxsize=256)
def _text_block(lang: str, description: str, outcomes: str, width: float,
                height: float) -> tuple[float, tuple[tuple[str, str], ...]]:
    """Description and learning outcomes as (font, line) pairs, at the largest size from 10 pt
    down to 7 pt that fits the height; what still does not fit ends with an ellipsis."""
    sections = [(_translated(lang, T_DESCRIPTION), description), (_translated(lang, T_OUTCOMES), outcomes)]
    sections = [(label, value) for label, value in sections if value.strip()]
    size = BODY
    while True:
        lines: list[tuple[str, str]] = []
        for label, value in sections:
            lines.append((FONT_BOLD, label))
            lines.extend((FONT, line) for line in _wrap(value, FONT, size, width))
        if len(lines) * size * 1.3 <= height or size <= 7:
            break
        size -= 0.5
    fit = int(height // (size * 1.3))
    if len(lines) > fit:
        lines = lines[:fit]
        if lines:
            font, last = lines[-1]
            lines[-1] = (font, last.rstrip() + " …")
    return size, tuple(lines)


def _draw_lines(c: Canvas, size: float, lines: tuple[tuple[str, str], ...], x: float, y: float) -> None:
    for font, line in lines:
        y -= size * 1.3
        c.setFont(font, size)
        c.drawString(x, y, line)


def _fixed_key(d: CertificateData) -> tuple:
    """What the fixed-position parts of a page depend on (the same for a whole batch)."""
    return (d.lang, d.organisation_name, d.programme_name, d.logo_png, d.place, d.issued_on,
            d.signatory_name, d.signatory_title, d.kind, d.contact, bool(d.statement), d.verifier_url)


def _draw_fixed(c: Canvas, d: CertificateData, t) -> None:
    """The parts at fixed positions that do not depend on the holder: header, title, the place
    and date, the signature, the labels beside the QR code, the funding statement and the hint."""
    width, height = PAGE
    margin = 22 * mm
    lang = d.lang

    # header: logo left, organisation right
    draw_logo(c, d.logo, margin, height - margin - 18 * mm, 50 * mm, 18 * mm)
    c.setFillColor(colors.black)
    c.setFont(FONT_BOLD, 11)
    c.drawRightString(width - margin, height - margin - 5 * mm, d.organisation_name)
    if d.programme_name:
        c.setFont(FONT, 9)
        c.drawRightString(width - margin, height - margin - 10 * mm, d.programme_name)
    if d.contact:  # the address on one line, telephone, e-mail and web on the next
        c.setFont(FONT, 8)
        for i, line in enumerate(d.contact.splitlines()[:2]):
            c.drawRightString(width - margin, height - margin - (14.5 + 4 * i) * mm, line)

    # title
    y = height - 62 * mm
    title = t(T_TITLE_PARTICIPATION if d.kind == "participation" else T_TITLE).upper()
    size = 30.0
    while size > 18 and pdfmetrics.stringWidth(title, FONT_BOLD, size) > width - 2 * margin:
        size -= 1  # "CERTIFICATE OF PARTICIPATION" would reach the margins at 30 pt
    c.setFont(FONT_BOLD, size)
    c.drawCentredString(width / 2, y, title)
    c.setStrokeColor(EU_BLUE)
    c.setLineWidth(1.2)
    c.line(width / 2 - 40 * mm, y - 5 * mm, width / 2 + 40 * mm, y - 5 * mm)
    c.setFont(FONT, 11)
    c.drawCentredString(width / 2, y - 16 * mm, t(T_CERTIFY))

    # place, date and signature (left); the labels of number and code (right)
    y = 88 * mm
    c.setFont(FONT, 10.5)
    c.drawString(margin, y, t(T_PLACE_DATE).format(place=d.place, date=format_date(d.issued_on, "long", lang=lang)))
    y -= 18 * mm
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.6)
    c.line(margin, y, margin + 75 * mm, y)
    c.setFont(FONT, 10)
    if d.signatory_name:
        c.drawString(margin, y - 5 * mm, d.signatory_name)
    if d.signatory_title:
        c.setFont(FONT, 9)
        c.drawString(margin, y - 9.5 * mm, d.signatory_title)
    right = _QR_X - 1 * mm
    c.setFont(FONT, 8)
    c.drawRightString(right, _QR_Y + 24 * mm, t(T_NUMBER))
    c.drawRightString(right, _QR_Y + 12 * mm, t(T_CODE))

    # funding statement and verification hint along the bottom
    c.setStrokeColor(colors.HexColor("#999999"))
    c.setLineWidth(0.4)
    c.line(margin, 34 * mm, width - margin, 34 * mm)
    draw_funding_statement(c, margin, 20 * mm, lang)
    c.setFont(FONT, 7)
    c.setFillColor(colors.HexColor("#444444"))
    if not d.statement:
        hint = t(T_VERIFY_HINT)
    elif d.verifier_url:
        hint = t(T_VERIFY_HINT_URL).format(url=d.verifier_url)
    else:
        hint = t(T_VERIFY_HINT_SIGNED)
    c.drawString(margin, 13 * mm, hint)
    c.setFillColor(colors.black)


_QR_SIZE = 32 * mm
_QR_X = PAGE[0] - 22 * mm - _QR_SIZE + 4 * mm  # the quiet zone may reach into the margin
_QR_Y = 40 * mm


def draw_certificate(c: Canvas, d: CertificateData, forms: dict | None = None) -> None:
    """Draw one certificate on the current page of `c` (the caller ends the page).

    `forms` (the pages of one file): the fixed-position parts are drawn once per file as a PDF
    form (per distinct `_fixed_key`) that each page shows; the page looks the same as when
    they are drawn on it directly (one certificate per file)."""
    lang = d.lang

    def t(message: str) -> str:
        return _translated(lang, message)

    width, height = PAGE
    margin = 22 * mm
    inner = width - 2 * margin

    if forms is None:
        _draw_fixed(c, d, t)
    else:
        key = _fixed_key(d)
        name = forms.get(key)
        if name is None:
            name = forms[key] = f"KursdeskFixed{len(forms)}"
            c.beginForm(name)
            _draw_fixed(c, d, t)
            c.endForm()
        c.doForm(name)
    c.setFillColor(colors.black)

    y = height - 62 * mm - 16 * mm  # the title and "This is to certify that" are fixed
    y -= 11 * mm
    y = _centred_lines(c, d.full_name, FONT_BOLD, 22, 27, y, inner, width, 2)
    if d.birth_date is not None:
        y -= 7 * mm
        c.setFont(FONT, 11)
        c.drawCentredString(width / 2, y, t(T_BORN).format(date=format_date(d.birth_date, "long", lang=lang)))
    y -= 9 * mm
    c.setFont(FONT, 11)
    c.drawCentredString(width / 2, y, t(T_PARTICIPATED))
    y -= 8.5 * mm
    y = _centred_lines(c, d.course_title, FONT_BOLD, 15, 19, y, inner, width, 3)

    # facts: label / value rows
    y -= 6 * mm
    dates = ""
    if d.first_date is not None:
        first = format_date(d.first_date, "long", lang=lang)
        last = format_date(d.last_date, "long", lang=lang) if d.last_date else first
        dates = first if first == last else f"{first} – {last}"
    percent = d.attended_minutes / d.scheduled_minutes if d.scheduled_minutes else 0.0
    rows = [
        (T_DATES_ATTENDED if d.kind == "participation" else T_DATES, dates),
        (T_SCHEDULED, _hours(d.scheduled_minutes, lang)),
        (
            T_ATTENDED,
            t(T_ATTENDED_VALUE).format(
                hours=_hours(d.attended_minutes, lang), percent=_percent(percent, lang)
            ),
        ),
        (T_PROVIDER, d.provider_name),
        (T_LOCATION, d.location),
    ]
    # the widest label in this language, and a clear gap before the values
    label_w = max(45 * mm, max(pdfmetrics.stringWidth(t(label), FONT_BOLD, BODY) for label, _v in rows) + 5 * mm)
    for label, value in rows:
        if not value:
            continue
        lines = _wrap(value, FONT, BODY, inner - label_w)[:2]
        y -= BODY * 1.3
        c.setFont(FONT_BOLD, BODY)
        c.drawString(margin, y, t(label))
        c.setFont(FONT, BODY)
        for i, line in enumerate(lines):
            if i:
                y -= BODY * 1.3
            c.drawString(margin + label_w, y, line)
        y -= 1.5 * mm

    # description and learning outcomes: in the space left above the place and date (in a file of
    # many pages, one form per course text and position: the same lines on every page)
    height = y - 6 * mm - 96 * mm
    size, lines = _text_block(lang, d.description, d.learning_outcomes, inner, height)
    if lines and forms is None:
        _draw_lines(c, size, lines, margin, y - 6 * mm)
    elif lines:
        key = ("text", lang, d.description, d.learning_outcomes, inner, height)  # height fixes y
        name = forms.get(key)
        if name is None:
            name = forms[key] = f"KursdeskText{len(forms)}"
            c.beginForm(name)
            _draw_lines(c, size, lines, margin, y - 6 * mm)
            c.endForm()
        c.doForm(name)

    # number, code and QR code (right)
    draw_qr(c, d.qr_text, _QR_X, _QR_Y, _QR_SIZE, d.qr_mask, d.qr_modules, stencil=bool(d.statement))
    right = _QR_X - 1 * mm
    c.setFont(FONT_BOLD, 10.5)
    c.drawRightString(right, _QR_Y + 19 * mm, d.number)
    c.drawRightString(right, _QR_Y + 7 * mm, d.verification_code)


def document_title(d: CertificateData) -> str:
    return translate_in(d.lang, T_DOC_TITLE).format(number=d.number)


def render_certificate(d: CertificateData) -> bytes:
    """One certificate as PDF bytes; the same data gives the same bytes."""
    buf = io.BytesIO()
    c = new_canvas(buf, title=document_title(d), invariant=True)
    if d.statement:  # what `kursdesk verify FILE.pdf` reads (app/signing/scan.py)
        c.setKeywords(pdf_keywords(d.statement))
    draw_certificate(c, d)
    c.showPage()
    c.save()
    return buf.getvalue()


def render_certificates(items: list[CertificateData]) -> list[tuple[CertificateData, bytes]]:
    """Each certificate (its QR modules frozen first) as its own PDF: the work a process-pool
    worker does for a batch."""
    out = []
    for d in items:
        d = with_qr(d)
        out.append((d, render_certificate(d)))
    return out


def warm_up() -> None:
    """Load the fonts once in a new worker process (before its first page)."""
    register_fonts()


def write_certificates_pdf(items: list[CertificateData], target: Path | io.BytesIO, title: str) -> None:
    """Several certificates as the pages of one file (one font subset for all of them)."""
    c = new_canvas(str(target) if isinstance(target, Path) else target, title=title, invariant=True)
    forms: dict = {}
    for d in items:
        draw_certificate(c, d, forms)
        c.showPage()
    c.save()
