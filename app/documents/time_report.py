"""The monthly time report, after ESF's "Närvarorapport för deltagare i socialfondsprojekt – PO1":
one page per participant with hours in the month, all in one PDF, to be signed by the participant
and the nearest manager. Its title and PO1 line, the project's case number and name, the
participant's details and age, hours with one decimal, the total, the end-date box (where the
participant declares that their activities in the project are over) and the signature lines.

Two layouts (setting report.time_layout): 'lines', a line per date and course (A4 portrait), or
'grid', ESF's day grid: activities × days 1–31 with a sum per activity (A4 landscape). The footer
sentence (report.time_footer) is 'originals' (only the signed original is valid) or 'none', when the
project verifies time by e-mail as ESF allows.

This is the only document that shows the full personnummer (the funder requires it). A person with
protected personal data gets their own report unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

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
from app.progress import Cancelled, Progress, keep_going
from app.services.reports import Month, ParticipantMonth
from app.validation import birth_date_from_personal_number, esf_personal_number

WIDTH, HEIGHT = PAGE
MARGIN = 18 * mm
LINE = 6.2 * mm
SIGNATURE_BLOCK = 76 * mm  # total, end-date box, attestation and signature lines at the foot of the last page
HEADER = 28 * mm + 7 * mm + 5 * mm + 10 * mm + 4 * 6.5 * mm + 4 * mm  # masthead, title, PO1 line, fields

TITLE = N_("Attendance report for participants in Social Fund projects")
PO1_LINE = N_("Activities within programme area 1 (PO1) – Skills supply")
END_DATE_BOX = N_("State the end date if you have finished your activities in the project")
ORIGINALS_ONLY = N_("Only the signed original is valid; copies and scans are not accepted.")


def _fit(value: str, font: str, size: float, width: float) -> str:
    """Shorten text with '…' so that it fits in `width`."""
    if stringWidth(value, font, size) <= width:
        return value
    while value and stringWidth(value + "…", font, size) > width:
        value = value[:-1]
    return value + "…"


def _pnr(value: str) -> str:
    """As ESF's forms write it: YYYYMMDD-NNNN, a protected identity YYYYMMDD-Tf29."""
    try:
        return esf_personal_number(value)
    except ValueError:
        return value


def _age(p: ParticipantMonth, month: Month) -> str:
    """Age on the 15th of the month, as ESF's summary counts it."""
    try:
        born = birth_date_from_personal_number(p.personal_number)
    except ValueError:
        return ""
    on = date(month.year, month.month, 15)
    return str(on.year - born.year - ((on.month, on.day) < (born.month, born.day)))


MASTHEAD_FORM = "kursdesk-masthead"


class _Writer:
    """Draws the pages. Texts that repeat on every page (translations, dates and hours of the
    month) are formatted once; the funding statement and the logo are drawn once into a PDF form
    that every page shows (a thousand pages then share one emblem and one logo image)."""

    def __init__(self, c, settings, project, month: Month, lang: str, rounding: str):
        self.c = c
        self.s = settings
        self.project = project
        self.month = month
        self.lang = lang
        self.digits = 0 if rounding == "floor" else 1  # ESF's form: tenths of hours
        self.width, self.height = WIDTH, HEIGHT
        self._texts: dict[str, str] = {}
        self._dates: dict[date, str] = {}
        self._hours: dict[object, str] = {}
        self._forms: set[str] = set()

    def page_size(self, grid: bool) -> None:
        self.width, self.height = landscape(PAGE) if grid else PAGE
        self.c.setPageSize((self.width, self.height))

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
        x, height = MARGIN, 11 * mm
        y = self.height - MARGIN - height
        form = f"{MASTHEAD_FORM}-{int(self.width)}"  # one per page orientation
        if form not in self._forms:
            c.beginForm(form)
            self._emblem_width = draw_eu_emblem(c, x, y, height)
            draw_logo(c, self.s.logo_path, self.width - MARGIN - 45 * mm, self.height - MARGIN - 16 * mm, 45 * mm, 16 * mm)
            c.endForm()
            self._forms.add(form)
        c.doForm(form)
        c.setFont(FONT_BOLD, height * 0.42)
        c.drawString(x + self._emblem_width + 2.5 * mm, y + height * 0.32, self.t(FUNDING_STATEMENT))

    def header(self, p: ParticipantMonth, continued: bool) -> float:
        c = self.c
        width = self.width - 2 * MARGIN
        self.masthead()
        y = self.height - MARGIN - 28 * mm
        c.setFont(FONT_BOLD, 14)
        title = self.t(TITLE)
        if continued:
            title += " " + self.t(N_("(continued)"))
        c.drawString(MARGIN, y, _fit(title, FONT_BOLD, 14, width))
        y -= 6 * mm
        c.setFont(FONT, 9.5)
        c.drawString(MARGIN, y, self.t(PO1_LINE))
        c.setFont(FONT, 11)
        c.drawRightString(self.width - MARGIN, y, self.month.label(self.lang))
        y -= 5 * mm
        c.setFont(FONT, 8.5)
        c.setFillColor(colors.HexColor("#444444"))
        c.drawString(MARGIN, y, _fit(f"{self.s.programme_name} · {self.s.organisation_name}", FONT, 8.5, width))
        c.setFillColor(colors.black)
        y -= 9 * mm
        # long values on the left, short ones on the right
        left_w = width * 0.62
        columns = ((MARGIN, 44 * mm, left_w), (MARGIN + left_w, 36 * mm, width - left_w))
        fields = (
            ((N_("Project name"), self.project.project_name or self.s.programme_name),
             (N_("Case number"), self.project.case_number)),
            ((N_("Participant"), p.full_name), (N_("Month"), self.month.label(self.lang))),
            ((N_("Personal identity number"), _pnr(p.personal_number)), (N_("Age"), _age(p, self.month))),
            ((N_("Employer"), p.company_name), (N_("Organisation number"), p.org_number)),
        )
        for row in fields:
            for (x, label_w, column), (label, value) in zip(columns, row):
                c.setFont(FONT, 8.5)
                c.drawString(x, y, self.t(label))
                c.setFont(FONT_BOLD, 10)
                c.drawString(x + label_w, y, _fit(value or "–", FONT_BOLD, 10, column - label_w - 3 * mm))
            y -= 6.5 * mm
        return y - 4 * mm

    def table_head(self, y: float) -> float:
        c = self.c
        c.setFillColor(colors.HexColor("#E8ECF4"))
        c.rect(MARGIN, y - 2 * mm, self.width - 2 * MARGIN, LINE, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.setFont(FONT_BOLD, 10)
        c.drawString(MARGIN + 2 * mm, y, self.t(N_("Date")))
        c.drawString(MARGIN + 32 * mm, y, self.t(N_("Course")))
        c.drawRightString(self.width - MARGIN - 2 * mm, y, self.t(N_("Hours")))
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

    def grid_head(self, y: float, day_w: float, name_w: float, sum_w: float) -> float:
        """ESF's grid: 'Activities' | 1 … 31 | 'Hours per activity'."""
        c = self.c
        c.setFillColor(colors.HexColor("#E8ECF4"))
        c.rect(MARGIN, y - 2 * mm, self.width - 2 * MARGIN, LINE, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.setFont(FONT_BOLD, 8)
        c.drawString(MARGIN + 1.5 * mm, y, self.t(N_("Activity")))
        for day in range(1, 32):
            c.drawCentredString(MARGIN + name_w + (day - 0.5) * day_w, y, str(day))
        # the sum's heading on two lines when it does not fit its column
        heading, right = self.t(N_("Hours per activity")), self.width - MARGIN - 1.5 * mm
        if stringWidth(heading, FONT_BOLD, 8) <= sum_w - 3 * mm or " " not in heading:
            c.drawRightString(right, y, heading)
        else:
            words = heading.split()
            cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
            c.setFont(FONT_BOLD, 7)
            c.drawRightString(right, y + 1.8 * mm, " ".join(words[:cut]))
            c.drawRightString(right, y - 1.2 * mm, " ".join(words[cut:]))
        return y - LINE

    def grid_row(self, y: float, name: str, by_day: dict[int, object], total, day_w: float, name_w: float) -> None:
        c = self.c
        c.setFont(FONT, 8)
        c.drawString(MARGIN + 1.5 * mm, y, _fit(name, FONT, 8, name_w - 3 * mm))
        c.setFont(FONT, 7)
        for day, hours in by_day.items():
            c.drawCentredString(MARGIN + name_w + (day - 0.5) * day_w, y, self.hours(hours))
        c.setFont(FONT_BOLD, 8)
        c.drawRightString(self.width - MARGIN - 1.5 * mm, y, self.hours(total))
        c.setStrokeColor(colors.HexColor("#CCCCCC"))
        c.setLineWidth(0.4)
        c.line(MARGIN, y - 2 * mm, self.width - MARGIN, y - 2 * mm)
        for day in range(0, 32):
            x = MARGIN + name_w + day * day_w
            c.line(x, y - 2 * mm, x, y + LINE - 2 * mm)
        c.setStrokeColor(colors.black)

    def footer(self, page: int, pages: int) -> None:
        c = self.c
        c.setFont(FONT, 7.5)
        c.setFillColor(colors.HexColor("#555555"))
        if self.project.time_report_footer == "originals":
            c.drawString(MARGIN, 10 * mm, self.t(ORIGINALS_ONLY))
        c.drawRightString(
            self.width - MARGIN, 10 * mm, self.t(N_("Page {page} of {pages}")).format(page=page, pages=pages)
        )
        c.setFillColor(colors.black)

    def signatures(self, y: float, p: ParticipantMonth) -> None:
        c = self.c
        right_edge = self.width - MARGIN
        c.setLineWidth(0.8)
        c.line(MARGIN, y + 4 * mm, right_edge, y + 4 * mm)
        c.setFont(FONT_BOLD, 11)
        c.drawString(MARGIN + 2 * mm, y - 1 * mm, self.t(N_("Total hours in the project during the month")))
        c.drawRightString(right_edge - 2 * mm, y - 1 * mm, self.hours(p.hours))
        y -= 10 * mm
        # the end-date box: the participant declares here that their activities are over
        box_w = 32 * mm
        c.setFont(FONT, 9)
        c.drawString(MARGIN, y, _fit(self.t(END_DATE_BOX), FONT, 9, self.width - 2 * MARGIN - box_w - 4 * mm))
        c.setLineWidth(0.6)
        c.rect(right_edge - box_w, y - 2.5 * mm, box_w, 7 * mm, stroke=1, fill=0)
        if self.month.contains(p.end_date):
            c.setFont(FONT_BOLD, 10)
            c.drawCentredString(right_edge - box_w / 2, y, p.end_date.isoformat())
        y -= 10 * mm
        c.setFont(FONT, 9)
        c.drawString(
            MARGIN,
            y,
            _fit(
                self.t(N_("I certify that I took part in the training for the hours stated above.")),
                FONT,
                9,
                self.width - 2 * MARGIN,
            ),
        )
        y -= 18 * mm
        col_w = (self.width - 2 * MARGIN - 10 * mm) / 2
        left, right = MARGIN, MARGIN + col_w + 10 * mm
        c.setLineWidth(0.6)
        for x in (left, right):
            c.line(x, y, x + col_w, y)
        c.setFont(FONT, 8)
        c.drawString(left, y - 4 * mm, self.t(N_("Participant's signature and date")))
        c.drawString(right, y - 4 * mm, self.t(N_("Nearest manager's signature and date")))
        y -= 15 * mm
        c.line(right, y, right + col_w, y)
        c.line(left, y, left + col_w, y)
        c.drawString(left, y - 4 * mm, _fit(p.full_name, FONT, 8, col_w))
        c.drawString(right, y - 4 * mm, self.t(N_("Manager's name in print")))


@dataclass(frozen=True)
class TimeReports:
    """What the month's time reports are drawn from (app/services/time_reports.py reads it)."""

    month: Month
    settings: Any  # OrganisationSettings: organisation, logo, signatory, the rounding of hours
    project: Any  # ProjectSettings: case number, project name, layout
    people: list[ParticipantMonth]


def build_time_reports(data: TimeReports, out_path: str | Path, lang: str | None = None, *,
                       progress: Progress | None = None) -> int:
    """All the month's time reports in one PDF, one page per participant (more only when the
    month has very many lines), written whole or not at all. Returns the number of participants;
    with none, one page says so."""
    m, people = data.month, data.people
    lang = lang or current_language()
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    title = f"{translate_in(lang, N_('Monthly time report'))} {m.key}"
    c = new_canvas(str(tmp), title=title)
    w = _Writer(c, data.settings, data.project, m, lang, data.settings.hours_rounding)
    pages = _grid_pages if data.project.time_report_layout == "grid" else _participant_pages
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
            if not keep_going(progress, done, total):
                raise Cancelled()
            pages(w, p)
        c.save()
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    keep_going(progress, total, total)
    return len(people)


def _paginate(rows: list, height: float) -> list[list]:
    """Rows split into pages: every page has the same header; the last one also the signatures."""
    top = height - MARGIN - HEADER - LINE
    room_last = int((top - SIGNATURE_BLOCK - 14 * mm) // LINE)
    room_full = int((top - 16 * mm) // LINE)
    pages: list[list] = []
    while len(rows) > room_last:
        pages.append(rows[:room_full])
        rows = rows[room_full:]
    pages.append(rows)
    return pages


def _pages(w: _Writer, p: ParticipantMonth, rows: list, head, draw_row) -> None:
    pages = _paginate(rows, w.height)
    for index, chunk in enumerate(pages):
        y = head(w.header(p, continued=index > 0))
        for row in chunk:
            draw_row(y, row)
            y -= LINE
        if index == len(pages) - 1:
            w.signatures(y - 4 * mm, p)
        w.footer(index + 1, len(pages))
        w.c.showPage()


def _participant_pages(w: _Writer, p: ParticipantMonth) -> None:
    """A line per date and course, A4 portrait."""
    w.page_size(grid=False)
    _pages(w, p, list(p.lines), w.table_head,
           lambda y, line: w.line(y, line.date, f"{line.course_code} {line.course_title}", line.hours))


def _grid_pages(w: _Writer, p: ParticipantMonth) -> None:
    """ESF's day grid, A4 landscape: one row per activity (course), the hours of each day of the
    month (one decimal) and the sum per activity."""
    w.page_size(grid=True)
    activities: dict[str, list] = {}
    for line in p.lines:
        row = activities.setdefault(line.course_id, [f"{line.course_code} {line.course_title}", {}, 0])
        row[1][line.date.day] = row[1].get(line.date.day, 0) + line.hours
        row[2] += line.hours
    name_w, sum_w = 56 * mm, 32 * mm
    day_w = (w.width - 2 * MARGIN - name_w - sum_w) / 31
    _pages(w, p, sorted(activities.values(), key=lambda r: r[0].casefold()),
           lambda y: w.grid_head(y, day_w, name_w, sum_w),
           lambda y, row: w.grid_row(y, *row, day_w, name_w))
