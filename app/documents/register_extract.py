"""The register extract PDF (GDPR Art. 15): A4, platypus, in the person's language. Drawn from an
app.gdpr.extract.Extract, so the PDF and the JSON beside it hold the same data."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.documents.common import FONT, FONT_BOLD, PAGE, draw_funding_statement, register_fonts, text
from app.gdpr.extract import FIELD_LABELS, Extract
from app.i18n import N_, translate_in
from app.validation import format_personal_number

MARGIN = 18 * mm
VALUE_LABELS = {
    "female": N_("Female"), "male": N_("Male"),
    "enrolled": N_("Enrolled"), "waitlisted": N_("Waitlisted"), "completed": N_("Completed"), "withdrawn": N_("Withdrawn"),
    "present": N_("Present"), "late": N_("Late"), "excused": N_("Excused"), "absent": N_("Absent"),
}


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=16, leading=20, spaceAfter=4),
        "h": ParagraphStyle("h", fontName=FONT_BOLD, fontSize=11.5, leading=14, spaceBefore=8, spaceAfter=3),
        "p": ParagraphStyle("p", fontName=FONT, fontSize=9.5, leading=12.5),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8.5, leading=10.5),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=8.5, leading=10.5),
    }


def draw_extract(data: Extract, target: str | Path) -> None:
    register_fonts()
    lang = data.language
    t = lambda m: translate_in(lang, m)  # noqa: E731
    st = _styles()
    width = PAGE[0] - 2 * MARGIN

    def value(v) -> str:
        if v is None or v == "":
            return "–"
        if isinstance(v, str) and len(v) == 19 and v[10:11] == "T" and v[:4].isdigit():  # an ISO date-time (UTC)
            return v.replace("T", " ")
        if isinstance(v, bool):
            return t(N_("Yes")) if v else t(N_("No"))
        return t(VALUE_LABELS[v]) if isinstance(v, str) and v in VALUE_LABELS else str(v)

    def table(head: list[str], rows: list[list], widths: list[float]) -> Table:
        body = [[Paragraph(text(h), st["head"]) for h in head]]
        body += [[Paragraph(text(value(c)), st["cell"]) for c in row] for row in rows]
        tab = Table(body, colWidths=[w * width for w in widths], repeatRows=1)
        tab.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8ECF4")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return tab

    p = data.person
    name = f"{p.get('first_name', '')} {p.get('last_name', '')}".strip()
    story = [
        Paragraph(text(t(N_("Register extract"))), st["title"]),
        Paragraph(text(t(N_("What {organisation} holds about {name} in Kursdesk ({programme}), as of {date}.")).format(
            organisation=data.organisation, name=name, programme=data.programme, date=data.generated_at[:10])), st["p"]),
        Paragraph(text(t(N_("Controller: {controller}")).format(controller=data.controller)), st["p"]),
        Paragraph(text(t(N_("Stored about you"))), st["h"]),
    ]
    rows = []
    for key, v in p.items():
        if key == "company_id":
            v = f"{data.employer['name']} ({data.employer['org_number']})" if data.employer else None
        elif key == "personal_number" and v and v.isdigit():
            v = format_personal_number(v)
        rows.append([t(FIELD_LABELS[key]) if key in FIELD_LABELS else key, v])
    story.append(table([t(N_("Field")), t(N_("Value"))], rows, [0.35, 0.65]))

    story.append(Paragraph(text(t(N_("Enrollments"))), st["h"]))
    story.append(table([t(N_("Course")), t(N_("Status")), t(FIELD_LABELS["created_at"])],
                       [[f"{e['course_code']} {e['course_title']}", e["status"], e["created_at"]] for e in data.enrollments]
                       or [[None, None, None]], [0.55, 0.2, 0.25]))
    story.append(Paragraph(text(t(N_("Attendance"))), st["h"]))
    story.append(table([t(N_("Date")), t(N_("Course")), t(N_("Time")), t(N_("Status")), t(N_("Minutes")), t(N_("Note"))],
                       [[a["date"], a["course_code"], f"{a['start']}–{a['end']}", a["status"], a["minutes"], a["note"]]
                        for a in data.attendance] or [[None] * 6], [0.13, 0.17, 0.15, 0.15, 0.12, 0.28]))
    story.append(Paragraph(text(t(N_("Certificates"))), st["h"]))
    story.append(table([t(N_("Number")), t(N_("Course")), t(N_("Issued")), t(N_("Verification code")), t(N_("Revoked"))],
                       [[c["number"], f"{c['course_code']} {c['course_title']}", c["issued_on"], c["verification_code"],
                         " ".join(x for x in (c["revoked_on"] or "", c["revoke_reason"]) if x) or None]
                        for c in data.certificates] or [[None] * 5], [0.2, 0.3, 0.14, 0.18, 0.18]))
    story.append(Paragraph(text(t(N_("Signed time reports received"))), st["h"]))
    story.append(table([t(N_("Month")), t(N_("Received"))],
                       [[o["month"], o["received_on"]] for o in data.originals_received] or [[None, None]], [0.5, 0.5]))

    def bullets(title: str, items: list[str]) -> None:
        story.append(Paragraph(text(title), st["h"]))
        for item in items:
            story.append(Paragraph("• " + text(item), st["p"]))

    bullets(t(N_("What the data is used for")), data.purposes)
    bullets(t(N_("Who receives it")), data.recipients)
    bullets(t(N_("Where it comes from")), [data.source])
    bullets(t(N_("How long it is kept")), [data.retention])
    bullets(t(N_("Your rights")), data.rights)
    story.append(Spacer(1, 4 * mm))

    def page(canvas, doc) -> None:
        draw_funding_statement(canvas, MARGIN, 8 * mm, lang, height=8 * mm)
        canvas.setFont(FONT, 8)
        canvas.drawRightString(PAGE[0] - MARGIN, 10 * mm, t(N_("Page {page}")).format(page=doc.page))

    doc = SimpleDocTemplate(str(target), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + 6 * mm, title=t(N_("Register extract")), creator="Kursdesk",
                            initialFontName=FONT)
    doc.build(story, onFirstPage=page, onLaterPages=page)
