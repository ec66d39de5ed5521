"""The sign-in sheet (närvarolista): one page group per session, A4 portrait, built with platypus
from plain data (SheetData; app/services/signin_sheets.py reads it): this module never reads the
database.

Every page carries the organisation (name, logo), the EU funding statement with the emblem, the
ESF case number when there is one, the course (title, code) and the session (date, time,
location, teacher), the table header (repeated on every page) and "Sida 1 av 2" numbered within
the session. The table has one row per enrolled participant, sorted by last name: name,
employer, birth date (never the personnummer), time of arrival / leave and a wide signature
column; then up to WALK_IN_ROWS empty rows for walk-ins, as many as fit on the last page (never
a page of only empty rows). The last page of each session has a line for the teacher's signature.

The file is written to a temporary name in the target folder and renamed into place, so a
half-written sheet never lies where the user expects the finished one.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, PageBreak, PageTemplate, Paragraph, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from app.documents.common import (
    FONT,
    FONT_BOLD,
    FUNDING_STATEMENT,
    PAGE,
    draw_funding_statement,
    draw_logo,
    register_fonts,
    text,
)
from app.i18n import N_, format_date, format_time, translate_in


@dataclass(frozen=True)
class SheetRow:
    name: str
    employer: str
    birth_date: str  # formatted


@dataclass(frozen=True)
class SheetSession:
    course_code: str
    course_title: str
    date: date
    start: time
    end: time
    location: str
    teacher: str
    rows: tuple[SheetRow, ...]


@dataclass(frozen=True)
class SheetData:
    organisation_name: str
    programme_name: str
    logo_path: str
    case_number: str  # ESF ärendenummer, "" when not set
    sessions: tuple[SheetSession, ...]
    lang: str


WALK_IN_ROWS = 5

SHEET_TITLE = N_("Sign-in sheet")
COL_NAME = N_("Name")
COL_EMPLOYER = N_("Employer")
COL_BIRTH_DATE = N_("Date of birth")
COL_ARRIVAL = N_("Arrival / leave (time)")
COL_SIGNATURE = N_("Signature")
LABEL_COURSE = N_("Course")
LABEL_DATE = N_("Date")
LABEL_TIME = N_("Time")
LABEL_LOCATION = N_("Location")
LABEL_TEACHER = N_("Teacher")
PAGE_OF = N_("Page {page} of {pages}")
CASE_NUMBER = N_("ESF case number")
TEACHER_SIGNATURE = N_("Teacher's signature")
NAME_CLARIFICATION = N_("Name in block letters")
SIGN_NOTE = N_("By signing I confirm that I attended the session at the times given.")

MARGIN = 15 * mm
HEADER_H = 45 * mm
FOOTER_H = 24 * mm  # the signature note, and the teacher's line on a session's last page
ROW_H = 10 * mm
# #, name, employer, birth date, arrival / leave; the signature column takes the rest (40 mm, was 31)
COLUMN_WIDTHS_MM = (8, 52, 36, 26, 18)


class _GroupMarker(Flowable):
    """Zero-size flowable at the start of each session's pages: tells the page decorations
    which session they are drawing for."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._kd_group = self.index


def _numbered_canvas(lang: str) -> type[Canvas]:
    label = translate_in(lang, PAGE_OF)
    teacher = translate_in(lang, TEACHER_SIGNATURE)
    clarification = translate_in(lang, NAME_CLARIFICATION)

    class NumberedCanvas(Canvas):
        """Keeps every page until save(), then writes "Page n of m" counted within each session."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._kd_group = 0
            self._kd_pages: list[dict] = []

        def showPage(self) -> None:
            self._kd_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            totals = Counter(state["_kd_group"] for state in self._kd_pages)
            seen: Counter = Counter()
            for state in self._kd_pages:
                self.__dict__.update(state)
                group = state["_kd_group"]
                seen[group] += 1
                self.setFont(FONT, 8)
                width, _height = self._pagesize
                self.drawRightString(
                    width - MARGIN, MARGIN - 4 * mm, label.format(page=seen[group], pages=totals[group])
                )
                if seen[group] == totals[group]:  # the session's last page: the teacher signs
                    _draw_teacher_line(self, teacher, clarification)
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=10.5),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=8, leading=9.5),
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=18),
        "course": ParagraphStyle("course", fontName=FONT_BOLD, fontSize=11.5, leading=14),
        "info": ParagraphStyle("info", fontName=FONT, fontSize=9.5, leading=12.5),
        "org": ParagraphStyle("org", fontName=FONT_BOLD, fontSize=10, leading=12),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=8, leading=10),
        "right": ParagraphStyle("right", fontName=FONT, fontSize=8, leading=10, alignment=TA_RIGHT),
    }


def _draw_teacher_line(canv: Canvas, teacher: str, clarification: str) -> None:
    width, _height = PAGE
    y = MARGIN + 2 * mm
    half = (width - 2 * MARGIN - 10 * mm) / 2
    canv.setFont(FONT, 8)
    canv.setLineWidth(0.5)
    for x, label in ((MARGIN, teacher), (MARGIN + half + 10 * mm, clarification)):
        canv.line(x, y + 4 * mm, x + half, y + 4 * mm)
        canv.drawString(x, y, label)


def _walk_in_rows(people: int, header_h: float, body_h: float) -> int:
    """Empty rows for walk-ins: up to WALK_IN_ROWS, as many as fit on the page the participants
    end on, so that no page holds only empty rows (a sheet with nobody enrolled gets them all)."""
    per_page = max(1, int((body_h - header_h) / ROW_H + 1e-6))
    if people == 0:
        return min(WALK_IN_ROWS, per_page)
    used = people % per_page
    return 0 if used == 0 else min(WALK_IN_ROWS, per_page - used)


def draw_signin_sheet(data: SheetData, out_path: str | os.PathLike) -> Path:
    """Draw the sheets of `data.sessions`, one page group each, to `out_path`; returns it."""
    lang, sessions = data.lang, data.sessions
    out_path = Path(out_path)
    register_fonts()
    styles = _styles()
    t = lambda msg: translate_in(lang, msg)  # noqa: E731 - messages are marked with N_ above

    width, height = PAGE
    body_h = height - 2 * MARGIN - HEADER_H - FOOTER_H
    frame = Frame(MARGIN, MARGIN + FOOTER_H, width - 2 * MARGIN, body_h,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")

    def decorate(canv: Canvas, doc: Any) -> None:
        _draw_page(canv, data, sessions[getattr(canv, "_kd_group", 0)], styles)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".signin-", suffix=".pdf.tmp", dir=out_path.parent)
    os.close(fd)
    try:
        doc = BaseDocTemplate(
            tmp_name,
            pagesize=PAGE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=f"{t(SHEET_TITLE)} {sessions[0].course_code if sessions else ''}".strip(),
            creator="Kursdesk",
            initialFontName=FONT,
        )
        doc.addPageTemplates([PageTemplate(id="sheet", frames=[frame], onPageEnd=decorate)])
        story: list = []
        usable = width - 2 * MARGIN
        col_widths = [w * mm for w in COLUMN_WIDTHS_MM]
        col_widths.append(usable - sum(col_widths))
        header = [
            Paragraph("#", styles["head"]),
            Paragraph(text(t(COL_NAME)), styles["head"]),
            Paragraph(text(t(COL_EMPLOYER)), styles["head"]),
            Paragraph(text(t(COL_BIRTH_DATE)), styles["head"]),
            Paragraph(text(t(COL_ARRIVAL)), styles["head"]),
            Paragraph(text(t(COL_SIGNATURE)), styles["head"]),
        ]
        _w, header_h = Table([header], colWidths=col_widths).wrap(usable, body_h)
        table_style = TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E6EBF5")),
                ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
                ("VALIGN", (0, 1), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
        for index, session in enumerate(sessions):
            if index:
                story.append(PageBreak())
            story.append(_GroupMarker(index))
            rows = session.rows
            body = [
                [
                    Paragraph(str(i), styles["cell"]),
                    Paragraph(text(row.name), styles["cell"]),
                    Paragraph(text(row.employer), styles["cell"]),
                    Paragraph(text(row.birth_date), styles["cell"]),
                    "",
                    "",
                ]
                for i, row in enumerate(rows, start=1)
            ]
            walk_ins = _walk_in_rows(len(rows), header_h, body_h)
            body += [[Paragraph(str(len(rows) + k), styles["cell"]), "", "", "", "", ""] for k in range(1, walk_ins + 1)]
            table = Table(
                [header] + body,
                colWidths=col_widths,
                rowHeights=[None] + [ROW_H] * len(body),
                repeatRows=1,
                style=table_style,
            )
            story.append(table)
        doc.build(story, canvasmaker=_numbered_canvas(lang))
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out_path


def _draw_page(canv: Canvas, data: SheetData, session: SheetSession, styles: dict[str, ParagraphStyle]) -> None:
    lang = data.lang
    t = lambda msg: translate_in(lang, msg)  # noqa: E731
    width, height = PAGE
    top = height - MARGIN
    canv.saveState()
    # organisation (logo, name, programme) on the left, the funding statement on the right
    x = MARGIN
    if data.logo_path and draw_logo(canv, data.logo_path, MARGIN, top - 12 * mm, 35 * mm, 12 * mm):
        x = MARGIN + 38 * mm
    case = (f"<br/><font name='{FONT}' size='8'>{text(t(CASE_NUMBER))}: {text(data.case_number)}</font>"
            if data.case_number else "")
    org = Paragraph(
        f"{text(data.organisation_name)}<br/><font name='{FONT}' size='8'>{text(data.programme_name)}</font>{case}",
        styles["org"],
    )
    _w, h = org.wrap(85 * mm, 14 * mm)
    org.drawOn(canv, x, top - h)
    # the statement is measured first so it can be right-aligned
    label_w = stringWidth(translate_in(lang, FUNDING_STATEMENT), FONT_BOLD, 10 * mm * 0.42)
    emblem_w = 10 * mm * 1.5 + 2.5 * mm
    draw_funding_statement(canv, width - MARGIN - emblem_w - label_w, top - 10 * mm, lang)
    # title, course and session
    y = top - 16 * mm
    title = Paragraph(text(t(SHEET_TITLE)), styles["title"])
    _w, h = title.wrap(width - 2 * MARGIN, 10 * mm)
    title.drawOn(canv, MARGIN, y - h)
    y -= h + 1.5 * mm
    course_p = Paragraph(f"{text(session.course_title)} ({text(session.course_code)})", styles["course"])
    _w, h = course_p.wrap(width - 2 * MARGIN, 15 * mm)
    course_p.drawOn(canv, MARGIN, y - h)
    y -= h + 1.5 * mm
    when = f"{format_time(session.start)}–{format_time(session.end)}"
    location, teacher = session.location, session.teacher
    info = Paragraph(
        f"<b>{text(t(LABEL_DATE))}:</b> {text(format_date(session.date, 'long', lang))}&nbsp;&nbsp;&nbsp; "
        f"<b>{text(t(LABEL_TIME))}:</b> {text(when)}<br/>"
        f"<b>{text(t(LABEL_LOCATION))}:</b> {text(location)}&nbsp;&nbsp;&nbsp; "
        f"<b>{text(t(LABEL_TEACHER))}:</b> {text(teacher)}",
        styles["info"],
    )
    _w, h = info.wrap(width - 2 * MARGIN, 14 * mm)
    info.drawOn(canv, MARGIN, y - h)
    # footer: what the signature means
    note = Paragraph(text(t(SIGN_NOTE)), styles["small"])
    _w, h = note.wrap(width - 2 * MARGIN - 35 * mm, FOOTER_H)
    note.drawOn(canv, MARGIN, MARGIN + FOOTER_H - h - 2 * mm)
    canv.restoreState()
