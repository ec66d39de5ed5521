"""The sign-in sheet (närvarolista): one page group per session, A4 portrait, built with platypus.

Every page carries the organisation (name, logo), the EU funding statement with the emblem, the
course (title, code) and the session (date, time, location, teacher), the table header (repeated
on every page) and "Sida 1 av 2" numbered within the session. The table has one row per enrolled
participant, sorted by last name: name, employer, birth date (never the personnummer), time of
arrival / leave and signature (a person with protected personal data: the name only); then a few
empty rows for walk-ins.

The file is written to a temporary name in the target folder and renamed into place, so a
half-written sheet never lies where the user expects the finished one.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, PageBreak, PageTemplate, Paragraph, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from sqlalchemy import select

from app.db import Database
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
from app.errors import UserError, ValidationError, Problem
from app.i18n import N_, current_language, format_date, format_time, translate_in
from app.services import attendance as attendance_service
from app.services.attendance import CourseInfo, SessionRow
from app.models import Participant
from app.services.settings import get_settings

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
NO_SESSIONS = N_("Course {code} has no sessions to print.")
NOT_OF_COURSE = N_("The session is not a session of course {code}.")
CANCELLED = N_("The session on {date} is cancelled.")
SIGN_NOTE = N_("By signing I confirm that I attended the session at the times given.")

MARGIN = 15 * mm
HEADER_H = 45 * mm
FOOTER_H = 14 * mm
ROW_H = 10 * mm


@dataclass(frozen=True)
class _SheetRow:
    name: str
    employer: str
    birth_date: str


class _GroupMarker(Flowable):
    """Zero-size flowable at the start of each session's pages: tells the page decorations
    which session they are drawing for."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def wrap(self, aw, ah):
        return 0, 0

    def draw(self):
        self.canv._kd_group = self.index


def _numbered_canvas(lang: str):
    label = translate_in(lang, PAGE_OF)

    class NumberedCanvas(Canvas):
        """Keeps every page until save(), then writes "Page n of m" counted within each session."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._kd_group = 0
            self._kd_pages: list[dict] = []

        def showPage(self):
            self._kd_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
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
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas


def _styles():
    return {
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=10.5),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=8.5, leading=10),
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=15, leading=18),
        "course": ParagraphStyle("course", fontName=FONT_BOLD, fontSize=11.5, leading=14),
        "info": ParagraphStyle("info", fontName=FONT, fontSize=9.5, leading=12.5),
        "org": ParagraphStyle("org", fontName=FONT_BOLD, fontSize=10, leading=12),
        "small": ParagraphStyle("small", fontName=FONT, fontSize=8, leading=10),
        "right": ParagraphStyle("right", fontName=FONT, fontSize=8, leading=10, alignment=TA_RIGHT),
    }


def _load(db: Database, course_id: str, session_ids: list[str] | None, lang: str):
    with db.read() as s:
        course = attendance_service._course_info(s, course_id)
        sessions = attendance_service._sessions(s, course_id)
        people = attendance_service._people(s, course_id)
        # protected personal data: the sheet passes from hand to hand, so the name only
        protected = _protected_ids(s, [row[0] for row in people])
    by_id = {x.id: x for x in sessions}
    if session_ids is None:
        chosen = [x for x in sessions if not x.cancelled]
    else:
        chosen = []
        for sid in session_ids:
            session = by_id.get(sid)
            if session is None:
                raise ValidationError(Problem("session", translate_in(lang, NOT_OF_COURSE).format(code=course.code)))
            if session.cancelled:
                raise ValidationError(
                    Problem("session", translate_in(lang, CANCELLED).format(date=format_date(session.date, "short", lang)))
                )
            chosen.append(session)
        chosen.sort(key=lambda x: (x.date, x.start))
    if not chosen:
        raise UserError(translate_in(lang, NO_SESSIONS).format(code=course.code))
    people = sorted(people, key=lambda r: attendance_service.participant_sort_key(r[3], r[2]))
    rows = []
    for pid, _eid, first, last, pnr, company, _status in people:
        born = None if pid in protected else attendance_service._birth_date(pnr)
        employer = "" if pid in protected else company or ""
        rows.append(_SheetRow(f"{first} {last}".strip(), employer, format_date(born, "short", lang) if born else ""))
    return course, chosen, rows


def _protected_ids(s, participant_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(participant_ids), 500):
        batch = participant_ids[i : i + 500]
        found.update(s.execute(select(Participant.id).where(Participant.id.in_(batch), Participant.protected)).scalars())
    return found


def write_signin_sheet(
    db: Database,
    course_id: str,
    out_path: str | os.PathLike,
    session_ids: list[str] | None = None,
    lang: str | None = None,
) -> Path:
    """Write the sign-in sheet of the given sessions (default: every session that is not
    cancelled), one page group per session, and return the path written."""
    lang = lang or current_language()
    out_path = Path(out_path)
    register_fonts()
    settings = get_settings(db)
    course, sessions, rows = _load(db, course_id, session_ids, lang)
    styles = _styles()
    t = lambda msg: translate_in(lang, msg)  # noqa: E731 - messages are marked with N_ above

    width, height = PAGE
    frame = Frame(MARGIN, MARGIN + FOOTER_H, width - 2 * MARGIN, height - 2 * MARGIN - HEADER_H - FOOTER_H,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body")

    def decorate(canv: Canvas, doc) -> None:
        session = sessions[getattr(canv, "_kd_group", 0)]
        _draw_page(canv, settings, course, session, styles, lang)

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
            title=f"{t(SHEET_TITLE)} {course.code}",
            creator="Kursdesk",
            initialFontName=FONT,
        )
        doc.addPageTemplates([PageTemplate(id="sheet", frames=[frame], onPageEnd=decorate)])
        story: list = []
        usable = width - 2 * MARGIN
        col_widths = [8 * mm, 50 * mm, 40 * mm, 27 * mm, 24 * mm]
        col_widths.append(usable - sum(col_widths))
        header = [
            Paragraph("#", styles["head"]),
            Paragraph(text(t(COL_NAME)), styles["head"]),
            Paragraph(text(t(COL_EMPLOYER)), styles["head"]),
            Paragraph(text(t(COL_BIRTH_DATE)), styles["head"]),
            Paragraph(text(t(COL_ARRIVAL)), styles["head"]),
            Paragraph(text(t(COL_SIGNATURE)), styles["head"]),
        ]
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
        body += [[Paragraph(str(len(rows) + k), styles["cell"]), "", "", "", "", ""] for k in range(1, WALK_IN_ROWS + 1)]
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


def _draw_page(canv: Canvas, settings, course: CourseInfo, session: SessionRow, styles, lang: str) -> None:
    t = lambda msg: translate_in(lang, msg)  # noqa: E731
    width, height = PAGE
    top = height - MARGIN
    canv.saveState()
    # organisation (logo, name, programme) on the left, the funding statement on the right
    x = MARGIN
    if settings.logo_path and draw_logo(canv, settings.logo_path, MARGIN, top - 12 * mm, 35 * mm, 12 * mm):
        x = MARGIN + 38 * mm
    org = Paragraph(
        f"{text(settings.organisation_name)}<br/><font name='{FONT}' size='8'>{text(settings.programme_name)}</font>",
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
    course_p = Paragraph(f"{text(course.title)} ({text(course.code)})", styles["course"])
    _w, h = course_p.wrap(width - 2 * MARGIN, 15 * mm)
    course_p.drawOn(canv, MARGIN, y - h)
    y -= h + 1.5 * mm
    when = f"{format_time(session.start)}–{format_time(session.end)}"
    location = session.location or course.location
    teacher = session.teacher or course.teacher
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
    note.drawOn(canv, MARGIN, MARGIN + FOOTER_H - h - 3 * mm)
    canv.restoreState()
