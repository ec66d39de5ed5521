"""The monthly summary for the funder (`kursdesk report month YYYY-MM --out F.xlsx`): ESF's
"Sammanställning deltagare PO1", from app.services.reports.month_figures.

Always in Swedish, whatever the UI language: it goes to the funder, and its sheet names and column
headings are ESF's, verbatim (research/esf-templates/Sammanställning_deltagare_PO1.xlsx). Four sheets:

- Register_deltag_organisationer: organisation, organisation number, type, hours (=SUM over the
  organisation's rows of Deltagarförteckning, which are kept together);
- Deltagarförteckning: one row per participant with hours in the month;
- SCB: ESF's block L-V in its order, ready to paste into SCB's template (whole hours);
- Intyg för närvarotid: every figure of ESF's attestation as formulas over the other sheets, the
  unit cost and co-financing = hours × unit cost (in total and per type of organisation), the
  attestation sentence and the signature line for the project's authorised representative.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from app.db import Database
from app.i18n import month_name, translate_in
from app.interchange.spreadsheet import Formula, Sheet, new_workbook, save_workbook, sheet_ref
from app.progress import Cancelled
from app.services.project_data import ORGANISATION_TYPE_LABELS
from app.services.reports import Month, MonthFigures, Progress, month_figures, to_month

# ESF's form text, verbatim (Swedish on purpose: the workbook goes to the funder)
REGISTER = "Register_deltag_organisationer"
PARTICIPANTS = "Deltagarförteckning"
SCB = "SCB"
ATTESTATION = "Intyg för närvarotid"

PO1 = "Insatser inom programområde 1 (PO1) - Kompetensförsörjning"
REGISTER_INTRO = (
    "Register över organisationer som kompetensutvecklar sin personal genom socialfondsprojekt, inom "
    "programområde 1 (PO1) - Kompetensförsörjning. \nTiden i aktiviteter/kompetensutveckling räknas som "
    "medfinansiering i projektet."
)
REGISTER_HEADER = ("Organisationsnamn", "Organisationsnummer", "Typ av organisation", "Antal timmar")
PARTICIPANTS_TITLE = "Sammanställning av närvarotid för deltagare i socialfondsprojekt"
PARTICIPANTS_HEADER = (
    "Namn",
    "Personnummer  ÅÅÅÅMMDD-NNNN",
    "Ålder",
    "Kön",
    "Organisationsnamn",
    "Organisationsnummer NNNNNN-NNNN",
    "Aktiviteter/kompetensutvecklings-timmar per deltagare och månad",
    "Startdatum",
    "Avsluts-datum",
)
SCB_TITLE = "Deltagarredovisning Indikatorer - uppgifter kopieras till SCB-mallen"
SCB_INSTRUCTION = "Markera cellerna från rad 4 och nedåt till höger, kopiera och klistra in dem i SCB-mallen."
SCB_HEADER = (
    "Deltagarens personnummer",
    "Antal timmar under månaden",
    "Startdatum",
    "Deltagaren från målgruppen",
    "Deltagaren anvisad från",
    "Avsluts-datum",
    "Avsluts-orsak",
    "Har deltagaren erhållit någon formell kvalifikation, certifiering eller motsvarande genom sitt projektdeltagande",
    "Deltagarens status vid avslut",
    "Anställnings-villkor",
    "Anställningens omfattning",
)
ATTESTATION_TITLE = "Intyg för närvarotid för deltagare i socialfondsprojekt"
BASIS = (
    "Timmar som utgör grund för medfinansiering. Registreras i ansökan om utbetalning under medfinansiering i "
    "annat än pengar under posten Personal."
)
MISSING_TYPE = "Typ av organisation saknas på en eller flera aktörer se flik Register_deltag_organisationer"
ATTEST = "Härmed intygas att redovisade timmar motsvarar den faktiska tiden för deltagare i projektet under månaden."
OWNER_NOTE = (
    "Information till projektägaren: Blanketten skickas till Svenska ESF-rådet i samband med ansökan om "
    "utbetalning av stöd för ovanstående redovisningsperiod. Övrig dokumentation (närvarotid för deltagare, "
    "deltagarförteckning och register över deltagande organisation/er) sparas hos projektägaren."
)
# Kursdesk's own lines on the attestation (ESF's form leaves the amount to the application)
UNIT_COST = "Enhetskostnad per timme, Lönegrupp 1 (kr)"
CO_FINANCING = "Medfinansiering, timmar × enhetskostnad (kr)"
CO_FINANCING_COLUMN = "Medfinansiering (kr)"
NO_TYPE = "Typ av organisation saknas"
SIGNATURE_LINE = "_______________________________________"

HOURS = "0.00"
MONEY = "#,##0.00"
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_WRAP = Alignment(wrap_text=True, vertical="top")


def _styled(ws, value, font=None, wrap=False):
    c = WriteOnlyCell(ws, value)
    c.data_type = "s"
    if font is not None:
        c.font = font
    if wrap:
        c.alignment = _WRAP
    return c


def _widths(sheet: Sheet, widths: tuple[int, ...]) -> None:
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(widths, start=1):
        sheet.ws.column_dimensions[get_column_letter(i)].width = width


def _month_head(sheet: Sheet, f: MonthFigures) -> None:
    ws = sheet.ws
    sheet.ws.append([_styled(ws, "Diarienummer", _BOLD), f.case_number, None, "Redovisningsmånad", _month(f.month)])
    sheet.ws.append([_styled(ws, "Projektnamn", _BOLD), f.project_name, None, "År", f.month.year])
    sheet.rows += 2


def _month(m: Month) -> str:
    return month_name(m.month, "sv").capitalize()


def _type(key: str) -> str:
    return translate_in("sv", ORGANISATION_TYPE_LABELS[key]) if key else ""


def _header(sheet: Sheet, titles: tuple[str, ...]) -> None:
    sheet.ws.append([_styled(sheet.ws, t, _BOLD, wrap=True) for t in titles])
    sheet.rows += 1


def _title(sheet: Sheet, *lines: str) -> None:
    for i, line in enumerate(lines):
        sheet.ws.append([_styled(sheet.ws, line, _TITLE if i == 0 else None)])
        sheet.rows += 1


def write_esf_summary(
    db: Database, month: str | Month, out_path: str | Path, *, progress: Progress = None
) -> MonthFigures:
    """Write the month's summary; returns the figures it was written from (nothing is written when
    the progress callback cancels)."""
    m = to_month(month)
    f = month_figures(db, m)
    if progress is not None and progress(0, len(f.participants)) is False:
        raise Cancelled()
    wb = new_workbook()
    register = Sheet(wb, REGISTER)
    listing = Sheet(wb, PARTICIPANTS)
    scb = Sheet(wb, SCB)
    attestation = Sheet(wb, ATTESTATION)

    # Deltagarförteckning: an organisation's rows together (so the register can sum a range), then
    # those without an employer
    people = sorted(
        f.participants,
        key=lambda p: (p.company_id is None, p.organisation_name.casefold(), p.org_number, p.company_id or "", p.name.casefold()),
    )
    _widths(listing, (28, 18, 7, 6, 28, 18, 18, 12, 12))
    _title(listing, PARTICIPANTS_TITLE, PO1)
    _month_head(listing, f)
    listing.append(())
    _header(listing, PARTICIPANTS_HEADER)
    first_row = listing.rows + 1
    ranges: dict[str, list[int]] = {}
    for p in people:
        row = listing.append(
            (p.name, p.personal_number, p.age, p.gender, p.organisation_name, p.org_number, p.hours, p.start, p.end)
        )
        if p.company_id is not None:
            ranges.setdefault(p.company_id, [row, row])[1] = row
    last_row = listing.rows
    total_row = listing.append(
        ("Summa", None, None, None, None, None, Formula(f"=SUM(G{first_row}:G{last_row})", HOURS) if people else 0)
    )

    # Register_deltag_organisationer
    ref = sheet_ref(PARTICIPANTS)
    _widths(register, (32, 20, 32, 14))
    register.ws.append([_styled(register.ws, "Diarienummer", _BOLD), f.case_number])
    register.ws.append([_styled(register.ws, "Projektnamn", _BOLD), f.project_name])
    register.ws.append([_styled(register.ws, REGISTER_INTRO, wrap=True)])
    register.rows += 3
    _header(register, REGISTER_HEADER)
    org_first = register.rows + 1
    for org in f.organisations:
        top, bottom = ranges[org.company_id]
        register.append(
            (org.name, org.org_number, _type(org.organisation_type) or NO_TYPE, Formula(f"=SUM({ref}!G{top}:G{bottom})", HOURS))
        )
    org_last = register.rows

    # SCB: ESF's block L-V, in its order
    _widths(scb, (16, 10, 12, 10, 10, 12, 8, 14, 10, 10, 10))
    _title(scb, SCB_TITLE, SCB_INSTRUCTION)
    _header(scb, SCB_HEADER)
    for p in people:
        qualification = None if p.formal_qualification is None else ("Ja" if p.formal_qualification else "Nej")
        scb.append(
            (p.scb_personal_number, p.scb_hours, p.start, 1, None, p.end, p.exit_reason, qualification,
             p.exit_status, p.employment_terms, p.employment_extent)
        )

    # Intyg för närvarotid: formulas over the other sheets
    a = attestation
    _widths(a, (58, 10, 18, 20))
    _title(a, ATTESTATION_TITLE, PO1)
    a.append(())
    _month_head(a, f)
    a.append(())
    a.ws.append([_styled(a.ws, BASIS, wrap=True)])
    a.rows += 1
    a.append(("Timlönegrupp", 1, "Totalt antal närvarotimmar under månaden"))
    hours_row = a.append(
        ("Medfinansiering, närvarotid i aktiviteter/kompetensutvecklingsinsatser", None, Formula(f"={ref}!G{total_row}", HOURS))
    )
    a.append(())
    hours_range = f"{ref}!G{first_row}:G{max(first_row, last_row)}"
    genders = f"{ref}!D{first_row}:D{max(first_row, last_row)}"
    reg = sheet_ref(REGISTER)
    people_row = a.append(("Totalt antal deltagare under månaden", None, Formula(f'=COUNTIF({hours_range},">0")')))
    orgs_row = a.append(
        ("Totalt antal deltagande organisationer under månaden", None,
         Formula(f"=COUNTA({reg}!A{org_first}:A{max(org_first, org_last)})"))
    )
    total = a.append(("Totalt antal utbildningstimmar under månaden", None, Formula(f"=C{hours_row}", HOURS)))
    a.append(("Antal timmar i snitt per deltagare", None, Formula(f'=IFERROR(C{total}/C{people_row},"")', HOURS)))
    a.append(("Antal timmar i snitt per organisation", None, Formula(f'=IFERROR(C{total}/C{orgs_row},"")', HOURS)))
    a.append(("Antal kvinnor", None, Formula(f'=COUNTIF({genders},"K")')))
    a.append(("Antal män", None, Formula(f'=COUNTIF({genders},"M")')))
    # the unit cost's row, below: the header, one row per type, the warning, a blank row
    unit_row = total + 5 + len(f.types) + (1 if f.missing_type else 0) + 2
    a.ws.append([_styled(a.ws, "Nedanstående timmar ska rapporteras i ansökan om utbetalning:", _BOLD), None, None,
                 _styled(a.ws, CO_FINANCING_COLUMN, _BOLD)])
    a.rows += 1
    types_range = f"{reg}!C{org_first}:C{max(org_first, org_last)}"
    org_hours = f"{reg}!D{org_first}:D{max(org_first, org_last)}"
    for t in f.types:
        label = _type(t.organisation_type) or NO_TYPE
        row = a.rows + 1
        a.append((label, None, Formula(f"=SUMIF({types_range},A{row},{org_hours})", HOURS), Formula(f"=C{row}*$C${unit_row}", MONEY)))
    if f.missing_type:
        a.append((MISSING_TYPE,))
    a.append(())
    a.append((UNIT_COST, None, f.unit_cost))
    a.append((CO_FINANCING, None, Formula(f"=C{total}*C{unit_row}", MONEY)))
    a.append(())
    a.ws.append([_styled(a.ws, ATTEST, wrap=True)])
    a.rows += 1
    a.append(())
    a.append(())
    a.append((SIGNATURE_LINE, None, SIGNATURE_LINE))
    a.append(("Underskrift", None, "Namnförtydligande"))
    a.append(("Behörig företrädare för projektet",))
    a.append(())
    a.ws.append([_styled(a.ws, OWNER_NOTE, wrap=True)])
    a.rows += 1

    wb.active = 3  # opens on the attestation
    save_workbook(wb, out_path)
    from app.gdpr import audit

    audit.record(db, "summary", len(people), m.key)  # full personnummer (GDPR audit log)
    if progress is not None:
        progress(len(people), len(people))
    return f

