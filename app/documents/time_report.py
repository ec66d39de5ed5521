"""The monthly time report (närvarorapport / intyg för närvarotid): one page per participant
with hours in the month, all in one PDF, to be signed by the participant and the nearest manager
and sent to the funder as an original.

This is the only document that shows the full personnummer (the funder requires it).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from app.db import Database
from app.documents.common import (
    FONT,
    FONT_BOLD,
    FUNDING_STATEMENT,
    PAGE,
    draw_eu_emblem,
    draw_funding_statement,
    draw_logo,
    new_canvas,
)
from app.i18n import N_, current_language, format_date, format_decimal, translate_in
from app.services.reports import Cancelled, Month, ParticipantMonth, Progress, month_hours, to_month
from app.validation import format_personal_number

WIDTH, HEIGHT = PAGE
MARGIN = 18 * mm
LINE = 6.2 * mm
SIGNATURE_BLOCK = 62 * mm  # total, attestation and signature lines at the foot of the last page


def _fit(value: str, font: str, size: float, width: float) -> str:
    """Shorten text with '…' so that it fits in `width`."""
    if stringWidth(value, font, size) <= width:
        return value
    while value and stringWidth(value + "…", font, size) > width:
        value = value[:-1]
    return value + "…"


def _pnr(value: str) -> str:
    try:
        return format_personal_number(value)
    except ValueError:
        return value


MASTHEAD_FORM = "kursdesk-masthead"


class _Writer:
    """Draws the pages. Texts that repeat on every page (translations, dates and hours of the
    month) are formatted once; the funding statement and the logo are drawn once into a PDF form
    that every page shows (a thousand pages then share one emblem and one logo image)."""

    def __init__(self, c, settings, month: Month, lang: str, rounding: str):
        self.c = c
        self.s = settings
        self.month = month
        self.lang = lang
        self.digits = 0 if rounding == "floor" else 2
        self._texts: dict[str, str] = {}
        self._dates: dict[date, str] = {}
        self._hours: dict[object, str] = {}
        self._masthead = False

    def t(self, message: str) -> str:
        text = self._texts.get(message)
        if text is None:
            text = self._texts[message] = translate_in(self.lang, message)
        return text

    def hours(self, value) -> str:
        text = self._hours.get(value)
        if text is None:
            text = self._hours[value] = format_decimal(value, self.digits, self.lang)
        return text

    def day(self, value: date) -> str:
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = format_date(value, "short", self.lang)
        return text

    def masthead(self) -> None:
        """The funding statement (EU emblem and 'Medfinansieras av Europeiska unionen', laid out
        as common.draw_funding_statement does) and the logo. The emblem and the logo are a form
        drawn once; the statement's text is on each page itself, so it stays extractable text."""
        c = self.c
        x, y, height = MARGIN, HEIGHT - MARGIN - 11 * mm, 11 * mm
        if not self._masthead:
            c.beginForm(MASTHEAD_FORM)
            self._emblem_width = draw_eu_emblem(c, x, y, height)
            draw_logo(c, self.s.logo_path, WIDTH - MARGIN - 45 * mm, HEIGHT - MARGIN - 16 * mm, 45 * mm, 16 * mm)
            c.endForm()
            self._masthead = True
        c.doForm(MASTHEAD_FORM)
        c.setFont(FONT_BOLD, height * 0.42)
        c.drawString(x + self._emblem_width + 2.5 * mm, y + height * 0.32, self.t(FUNDING_STATEMENT))

    def header(self, p: ParticipantMonth, continued: bool) -> float:
        c = self.c
        top = HEIGHT - MARGIN
        self.masthead()
        y = top - 28 * mm
        c.setFont(FONT_BOLD, 16)
        title = self.t(N_("Monthly time report"))
        if continued:
            title += " " + self.t(N_("(continued)"))
        c.drawString(MARGIN, y, title)
        c.setFont(FONT, 11)
        c.drawRightString(WIDTH - MARGIN, y, self.month.label(self.lang))
        y -= 7 * mm
        c.setFont(FONT, 9)
        c.setFillColor(colors.HexColor("#444444"))
        c.drawString(
            MARGIN, y, _fit(f"{self.s.programme_name} · {self.s.organisation_name}", FONT, 9, WIDTH - 2 * MARGIN)
        )
        c.setFillColor(colors.black)
        y -= 10 * mm
        label_w = 48 * mm
        fields = (
            (N_("Participant"), p.full_name),
            (N_("Personal identity number"), _pnr(p.personal_number)),
            (N_("Employer"), p.company_name),
            (N_("Organisation number"), p.org_number),
            (N_("Month"), self.month.label(self.lang)),
        )
        for label, value in fields:
            c.setFont(FONT, 9)
            c.drawString(MARGIN, y, self.t(label))
            c.setFont(FONT_BOLD, 11)
            c.drawString(MARGIN + label_w, y, _fit(value or "–", FONT_BOLD, 11, WIDTH - 2 * MARGIN - label_w))
            y -= 6.5 * mm
        return y - 4 * mm

    def table_head(self, y: float) -> float:
        c = self.c
        c.setFillColor(colors.HexColor("#E8ECF4"))
        c.rect(MARGIN, y - 2 * mm, WIDTH - 2 * MARGIN, LINE, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.setFont(FONT_BOLD, 10)
        c.drawString(MARGIN + 2 * mm, y, self.t(N_("Date")))
        c.drawString(MARGIN + 32 * mm, y, self.t(N_("Course")))
        c.drawRightString(WIDTH - MARGIN - 2 * mm, y, self.t(N_("Hours")))
        return y - LINE

    def line(self, y: float, day: date, course: str, hours) -> None:
        c = self.c
        c.setFont(FONT, 10)
        c.drawString(MARGIN + 2 * mm, y, self.day(day))
        c.drawString(MARGIN + 32 * mm, y, _fit(course, FONT, 10, WIDTH - 2 * MARGIN - 55 * mm))
        c.drawRightString(WIDTH - MARGIN - 2 * mm, y, self.hours(hours))
        c.setStrokeColor(colors.HexColor("#CCCCCC"))
        c.setLineWidth(0.4)
        c.line(MARGIN, y - 2 * mm, WIDTH - MARGIN, y - 2 * mm)
        c.setStrokeColor(colors.black)

    def footer(self, page: int, pages: int) -> None:
        c = self.c
        c.setFont(FONT, 7.5)
        c.setFillColor(colors.HexColor("#555555"))
        c.drawString(MARGIN, 10 * mm, self.t(N_("Only the signed original is valid; copies and scans are not accepted.")))
        c.drawRightString(
            WIDTH - MARGIN, 10 * mm, self.t(N_("Page {page} of {pages}")).format(page=page, pages=pages)
        )
        c.setFillColor(colors.black)

    def signatures(self, y: float, p: ParticipantMonth) -> None:
        c = self.c
        c.setLineWidth(0.8)
        c.line(MARGIN, y + 4 * mm, WIDTH - MARGIN, y + 4 * mm)
        c.setFont(FONT_BOLD, 11)
        c.drawString(MARGIN + 2 * mm, y - 1 * mm, self.t(N_("Total hours in the month")))
        c.drawRightString(WIDTH - MARGIN - 2 * mm, y - 1 * mm, self.hours(p.hours))
        y -= 10 * mm
        c.setFont(FONT, 9)
        c.drawString(
            MARGIN,
            y,
            _fit(
                self.t(N_("I certify that I took part in the training for the hours stated above.")),
                FONT,
                9,
                WIDTH - 2 * MARGIN,
            ),
        )
        y -= 20 * mm
        col_w = (WIDTH - 2 * MARGIN - 10 * mm) / 2
        left, right = MARGIN, MARGIN + col_w + 10 * mm
        c.setLineWidth(0.6)
        for x in (left, right):
            c.line(x, y, x + col_w, y)
        c.setFont(FONT, 8)
        c.drawString(left, y - 4 * mm, self.t(N_("Participant's signature and date")))
        c.drawString(right, y - 4 * mm, self.t(N_("Nearest manager's signature and date")))
        y -= 17 * mm
        c.line(right, y, right + col_w, y)
        c.line(left, y, left + col_w, y)
        c.drawString(left, y - 4 * mm, _fit(p.full_name, FONT, 8, col_w))
        c.drawString(right, y - 4 * mm, self.t(N_("Manager's name in print")))


def write_time_reports(
    db: Database,
    month: str | Month,
    out_path: str | Path,
    participant_ids: Iterable[str] | None = None,
    lang: str | None = None,
    *,
    today: date | None = None,
    progress: Progress = None,
) -> int:
    """All monthly time reports of the month (or of the given participants) in one PDF, one
    page per participant (more only when the month has very many lines). Returns the number of
    participants. Nothing is written when there is no one to report."""
    from app.services.settings import get_settings

    m = to_month(month)
    lang = lang or current_language()
    settings = get_settings(db)
    people = month_hours(db, m, participant_ids, rounding=settings.hours_rounding, today=today, with_dates=False)
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    title = f"{translate_in(lang, N_('Monthly time report'))} {m.key}"
    c = new_canvas(str(tmp), title=title)
    w = _Writer(c, settings, m, lang, settings.hours_rounding)
    try:
        total = len(people)
        if not people:
            c.setFont(FONT, 12)
            draw_funding_statement(c, MARGIN, HEIGHT - MARGIN - 11 * mm, lang, height=11 * mm)
            c.drawString(
                MARGIN,
                HEIGHT - 50 * mm,
                translate_in(lang, N_("No participant has hours in {month}.")).format(month=m.label(lang)),
            )
            c.showPage()
        for done, p in enumerate(people):
            if progress is not None and progress(done, total) is False:
                raise Cancelled()
            _participant_pages(w, p)
        c.save()
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(total, total)
    from app.gdpr import audit

    audit.record(db, "time-reports", len(people), m.key)  # full personnummer (GDPR audit log)
    return len(people)


def _participant_pages(w: _Writer, p: ParticipantMonth) -> None:
    c = w.c
    lines = list(p.lines)
    # how many lines fit: first page and continuation pages have the same header
    pages: list[list] = []
    while True:
        probe_top = HEIGHT - MARGIN - 28 * mm - 7 * mm - 10 * mm - 5 * 6.5 * mm - 4 * mm - LINE
        room_last = int((probe_top - SIGNATURE_BLOCK - 14 * mm) // LINE)
        room_full = int((probe_top - 16 * mm) // LINE)
        if len(lines) <= room_last:
            pages.append(lines)
            break
        pages.append(lines[:room_full])
        lines = lines[room_full:]
    for index, chunk in enumerate(pages):
        y = w.header(p, continued=index > 0)
        y = w.table_head(y)
        for line in chunk:
            w.line(y, line.date, f"{line.course_code} {line.course_title}", line.hours)
            y -= LINE
        if index == len(pages) - 1:
            w.signatures(y - 4 * mm, p)
        w.footer(index + 1, len(pages))
        c.showPage()
