"""The course certificate (kursintyg): one A4 page, drawn on a reportlab canvas.

The page is built from a `CertificateData` (plain values, already looked up), so the same data
always gives the same bytes (`invariant=True`: no creation date, no random document id). The
service stores those bytes when the certificate is issued; a reprint never re-renders.

The QR code is encoded with segno (UTF-8) and drawn as ONE path of run-length rectangles:
reportlab's own QrCodeWidget draws every dark module as its own shape and cost about 70 % of
the time of a page (research/ecosystem.md, addendum).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepInFrame, Paragraph

from app.documents.common import (
    FONT,
    FONT_BOLD,
    PAGE,
    draw_funding_statement,
    draw_logo,
    new_canvas,
    register_fonts,
    text,
)
from app.i18n import N_, format_date, format_hours, format_percent, translate_in

QR_PREFIX = "KURSDESK"

# Document texts (source English; translated per certificate language with translate_in).
T_TITLE = N_("Certificate")
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
T_PROGRAMME = N_("Issued within {programme}")
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
    logo_path: str = ""
    qr_payload: str = ""  # empty: "KURSDESK:<number>:<code>"

    @property
    def qr_text(self) -> str:
        return self.qr_payload or qr_payload(self.number, self.verification_code)


def qr_payload(number: str, code: str, url_template: str = "") -> str:
    """What the QR code carries: a verification URL when the organisation has one
    (`{number}` and `{code}` are filled in), otherwise `KURSDESK:<number>:<code>`."""
    if url_template:
        return url_template.replace("{number}", number).replace("{code}", code)
    return f"{QR_PREFIX}:{number}:{code}"


# --- QR code ---------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The module matrix (True = dark), without the quiet zone. UTF-8, error correction M."""
    code = segno.make_qr(payload, error="m", encoding="utf-8", boost_error=False)
    return tuple(tuple(bool(v) for v in row) for row in code.matrix)


def draw_qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """The QR code with its lower left corner at (x, y), `size` wide including a 4-module quiet
    zone, drawn as one filled path (a rectangle per horizontal run of dark modules)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    module = size / (n + 8)
    top = y + size - 4 * module
    left = x + 4 * module
    path = c.beginPath()
    for r, row in enumerate(matrix):
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                path.rect(left + start * module, top - (r + 1) * module, (col - start) * module, module)
            else:
                col += 1
    c.saveState()
    c.setFillColor(colors.white)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColor(colors.black)
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


# --- the page -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    return {
        "name": ParagraphStyle("name", fontName=FONT_BOLD, fontSize=22, leading=27, alignment=TA_CENTER),
        "course": ParagraphStyle("course", fontName=FONT_BOLD, fontSize=15, leading=19, alignment=TA_CENTER),
        "label": ParagraphStyle("label", fontName=FONT_BOLD, fontSize=10, leading=13, alignment=TA_LEFT),
        "body": ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13, alignment=TA_LEFT),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=7.5, leading=9.5, alignment=TA_LEFT),
    }


def _multiline(value: str) -> str:
    """User text escaped for Paragraph markup, its line breaks kept."""
    return "<br/>".join(text(line) for line in value.strip().splitlines())


def draw_certificate(c: Canvas, d: CertificateData) -> None:
    """Draw one certificate on the current page of `c` (the caller ends the page)."""
    lang = d.lang

    def t(message: str) -> str:
        return translate_in(lang, message)

    styles = _styles()
    width, height = PAGE
    margin = 22 * mm
    inner = width - 2 * margin

    # header: logo left, organisation right
    draw_logo(c, d.logo_path, margin, height - margin - 18 * mm, 50 * mm, 18 * mm)
    c.setFillColor(colors.black)
    c.setFont(FONT_BOLD, 11)
    c.drawRightString(width - margin, height - margin - 5 * mm, d.organisation_name)
    if d.programme_name:
        c.setFont(FONT, 9)
        c.drawRightString(width - margin, height - margin - 10 * mm, d.programme_name)

    # title
    y = height - 62 * mm
    c.setFont(FONT_BOLD, 30)
    c.drawCentredString(width / 2, y, t(T_TITLE).upper())
    c.setStrokeColor(colors.HexColor("#003399"))
    c.setLineWidth(1.2)
    c.line(width / 2 - 40 * mm, y - 5 * mm, width / 2 + 40 * mm, y - 5 * mm)

    y -= 16 * mm
    c.setFont(FONT, 11)
    c.drawCentredString(width / 2, y, t(T_CERTIFY))
    y -= 4 * mm
    name = Paragraph(text(d.full_name), styles["name"])
    _, h = name.wrapOn(c, inner, 60 * mm)
    y -= h
    name.drawOn(c, margin, y)
    if d.birth_date is not None:
        y -= 6 * mm
        c.setFont(FONT, 11)
        c.drawCentredString(width / 2, y, t(T_BORN).format(date=format_date(d.birth_date, "long", lang=lang)))
    y -= 9 * mm
    c.setFont(FONT, 11)
    c.drawCentredString(width / 2, y, t(T_PARTICIPATED))
    y -= 3 * mm
    course = Paragraph(text(d.course_title), styles["course"])
    _, h = course.wrapOn(c, inner, 40 * mm)
    y -= h
    course.drawOn(c, margin, y)

    # facts: label / value rows
    y -= 9 * mm
    dates = ""
    if d.first_date is not None:
        first = format_date(d.first_date, "long", lang=lang)
        last = format_date(d.last_date, "long", lang=lang) if d.last_date else first
        dates = first if first == last else f"{first} – {last}"
    percent = d.attended_minutes / d.scheduled_minutes if d.scheduled_minutes else 0.0
    rows = [
        (T_DATES, dates),
        (T_SCHEDULED, format_hours(d.scheduled_minutes, lang=lang)),
        (
            T_ATTENDED,
            t(T_ATTENDED_VALUE).format(
                hours=format_hours(d.attended_minutes, lang=lang), percent=format_percent(percent, lang=lang)
            ),
        ),
        (T_PROVIDER, d.provider_name),
        (T_LOCATION, d.location),
    ]
    label_w = 45 * mm
    for label, value in rows:
        if not value:
            continue
        para = Paragraph(text(value), styles["body"])
        _, h = para.wrapOn(c, inner - label_w, 30 * mm)
        y -= max(h, 13)
        c.setFont(FONT_BOLD, 10)
        c.drawString(margin, y + h - 10, t(label))
        para.drawOn(c, margin + label_w, y)
        y -= 1.5 * mm

    # description and learning outcomes: shrunk to fit the space left above the signature
    bottom_of_text = 96 * mm
    flow = []
    if d.description.strip():
        flow += [Paragraph(text(t(T_DESCRIPTION)), styles["label"]), Paragraph(_multiline(d.description), styles["body"])]
    if d.learning_outcomes.strip():
        flow += [Paragraph(text(t(T_OUTCOMES)), styles["label"]), Paragraph(_multiline(d.learning_outcomes), styles["body"])]
    if flow:
        y -= 4 * mm
        box_h = max(y - bottom_of_text, 20 * mm)
        frame = KeepInFrame(inner, box_h, flow, mode="shrink")
        _, h = frame.wrapOn(c, inner, box_h)
        frame.drawOn(c, margin, y - h)

    # place, date and signature (left); number, code and QR code (right)
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

    qr_size = 32 * mm
    qr_x = width - margin - qr_size + 4 * mm  # the quiet zone may reach into the margin
    qr_y = 40 * mm
    draw_qr(c, d.qr_text, qr_x, qr_y, qr_size)
    right = qr_x - 1 * mm
    c.setFont(FONT, 8)
    c.drawRightString(right, qr_y + 24 * mm, t(T_NUMBER))
    c.drawRightString(right, qr_y + 12 * mm, t(T_CODE))
    c.setFont(FONT_BOLD, 10.5)
    c.drawRightString(right, qr_y + 19 * mm, d.number)
    c.drawRightString(right, qr_y + 7 * mm, d.verification_code)

    # funding statement and verification hint along the bottom
    c.setStrokeColor(colors.HexColor("#999999"))
    c.setLineWidth(0.4)
    c.line(margin, 34 * mm, width - margin, 34 * mm)
    draw_funding_statement(c, margin, 20 * mm, lang)
    c.setFont(FONT, 7)
    c.setFillColor(colors.HexColor("#444444"))
    c.drawString(margin, 13 * mm, t(T_VERIFY_HINT))
    c.setFillColor(colors.black)


def document_title(d: CertificateData) -> str:
    return translate_in(d.lang, T_DOC_TITLE).format(number=d.number)


def render_certificate(d: CertificateData) -> bytes:
    """One certificate as PDF bytes; the same data gives the same bytes."""
    buf = io.BytesIO()
    c = new_canvas(buf, title=document_title(d), invariant=True)
    draw_certificate(c, d)
    c.showPage()
    c.save()
    return buf.getvalue()


def write_certificates_pdf(items: list[CertificateData], target: Path | io.BytesIO, title: str) -> None:
    """Several certificates as the pages of one file (one font subset for all of them)."""
    c = new_canvas(str(target) if isinstance(target, Path) else target, title=title, invariant=True)
    for d in items:
        draw_certificate(c, d)
        c.showPage()
    c.save()
