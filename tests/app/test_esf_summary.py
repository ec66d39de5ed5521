"""ESF's monthly summary (Sammanställning deltagare PO1) on the hand-computed month of
tests/fixtures/report_month.py: the figures (month_figures), every cell of the four sheets read back
with openpyxl, and the same sheets computed by LibreOffice headless (formulas recalculated)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.documents.esf_summary import write_esf_summary
from app.services import reports
from app.services.settings import get_settings, save_settings
from tests.app.test_reports_libreoffice import _convert
from tests.fixtures.report_month import CASE_NUMBER, EVIL_COMPANY, EVIL_NAME, PROJECT_NAME, build

D = Decimal
PO1 = "Insatser inom programområde 1 (PO1) - Kompetensförsörjning"
BERTIL = f"Bertil {EVIL_NAME}"
MARCH_2 = datetime(2026, 3, 2)
MARCH_23 = datetime(2026, 3, 23)


@pytest.fixture
def month_db(db):
    return db, build(db)


def test_month_figures_by_hand(month_db):
    db, ids = month_db
    f = reports.month_figures(db, "2026-03")
    assert (f.case_number, f.project_name, f.unit_cost) == (CASE_NUMBER, PROJECT_NAME, D("291.47"))
    # who counts: Cecilia (deleted mark), David (waitlisted), Erik (withdrawn, excused only) have no minutes
    assert [p.participant_id for p in f.participants] == [ids["bertil"], ids["anna"], ids["fatima"]]
    bertil, anna, fatima = f.participants
    assert (anna.hours, anna.scb_hours, anna.age, anna.gender, anna.start, anna.end) == (D("11.1"), 11, 41, "K", MARCH_2.date(), None)
    assert (bertil.hours, bertil.scb_hours, bertil.age, bertil.gender, bertil.start, bertil.end) == (
        D("4.0"), 4, 47, "M", None, MARCH_23.date())  # started in February: no start date in March
    assert (bertil.exit_reason, bertil.formal_qualification, bertil.exit_status, bertil.employment_terms,
            bertil.employment_extent) == (1, False, 1, 1, 2)
    assert anna.exit_reason is None  # exit data only in the month the person ends
    assert (fatima.personal_number, fatima.scb_personal_number, fatima.hours, fatima.scb_hours, fatima.age) == (
        "19900415-Tf29", "19900415Tf29", D("7.5"), 8, 35)
    assert (f.hours, f.participant_count, f.organisation_count, f.women, f.men) == (D("22.6"), 3, 3, 2, 1)
    assert (f.hours_per_participant, f.hours_per_organisation) == (D("7.53"), D("7.53"))
    by_type = {t.organisation_type: t for t in f.types}
    assert [t.organisation_type for t in f.types] == [
        "private", "municipality", "county_council", "state", "other_public", "employment_service", "social_insurance"]
    assert by_type["private"].hours == D("15.1") and by_type["municipality"].hours == D("7.5")
    # co-financing = hours × unit cost, in total and per type of organisation
    assert f.co_financing == D("22.6") * D("291.47") == D("6587.222")
    assert by_type["private"].co_financing == D("15.1") * D("291.47") == D("4401.197")
    assert by_type["municipality"].co_financing == D("7.5") * D("291.47") == D("2186.025")
    assert sum(t.co_financing for t in f.types) == f.co_financing
    assert not f.missing_type and f.without_employer == 0


def test_month_figures_floor_rounding_and_a_missing_type(month_db):
    from dataclasses import replace

    from app.models import Company

    db, ids = month_db
    save_settings(db, replace(get_settings(db), hours_rounding="floor"))
    with db.write() as s:
        s.get(Company, ids["kommun"]).organisation_type = ""
    f = reports.month_figures(db, "2026-03")
    assert [p.hours for p in f.participants] == [D(4), D(10), D(7)]
    assert f.hours == D(21) and f.missing_type
    assert [(t.organisation_type, t.hours) for t in f.types if t.hours] == [("private", D(14)), ("", D(7))]


def _rows(ws):
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    return [[v for v in row] for row in rows]


def _trim(rows):
    """Rows without trailing empty cells; empty rows kept (as [])."""
    out = []
    for row in rows:
        row = list(row)
        while row and row[-1] in (None, ""):
            row.pop()
        out.append(row)
    return out


REGISTER = [
    ["Diarienummer", CASE_NUMBER],
    ["Projektnamn", PROJECT_NAME],
    ["Register över organisationer som kompetensutvecklar sin personal genom socialfondsprojekt, inom programområde 1 "
     "(PO1) - Kompetensförsörjning. \nTiden i aktiviteter/kompetensutveckling räknas som medfinansiering i projektet."],
    ["Organisationsnamn", "Organisationsnummer", "Typ av organisation", "Antal timmar"],
    [EVIL_COMPANY, "556677-8899", "Privat aktör", "=SUM('Deltagarförteckning'!G7:G7)"],
    ["Verkstad AB", "556016-0680", "Privat aktör", "=SUM('Deltagarförteckning'!G8:G8)"],
    ["Västerviks kommun", "212000-0845", "Kommun", "=SUM('Deltagarförteckning'!G9:G9)"],
]
LISTING = [
    ["Sammanställning av närvarotid för deltagare i socialfondsprojekt"],
    [PO1],
    ["Diarienummer", CASE_NUMBER, None, "Redovisningsmånad", "Mars"],
    ["Projektnamn", PROJECT_NAME, None, "År", 2026],
    [],
    ["Namn", "Personnummer  ÅÅÅÅMMDD-NNNN", "Ålder", "Kön", "Organisationsnamn", "Organisationsnummer NNNNNN-NNNN",
     "Aktiviteter/kompetensutvecklings-timmar per deltagare och månad", "Startdatum", "Avsluts-datum"],
    [BERTIL, "19790101-0137", 47, "M", EVIL_COMPANY, "556677-8899", 4, None, MARCH_23],
    ["Anna Andersson", "19850312-0027", 41, "K", "Verkstad AB", "556016-0680", 11.1, MARCH_2],
    ["Fatima Protected", "19900415-Tf29", 35, "K", "Västerviks kommun", "212000-0845", 7.5, MARCH_2],
    ["Summa", None, None, None, None, None, "=SUM(G7:G9)"],
]
SCB = [
    ["Deltagarredovisning Indikatorer - uppgifter kopieras till SCB-mallen"],
    ["Markera cellerna från rad 4 och nedåt till höger, kopiera och klistra in dem i SCB-mallen."],
    ["Deltagarens personnummer", "Antal timmar under månaden", "Startdatum", "Deltagaren från målgruppen",
     "Deltagaren anvisad från", "Avsluts-datum", "Avsluts-orsak",
     "Har deltagaren erhållit någon formell kvalifikation, certifiering eller motsvarande genom sitt projektdeltagande",
     "Deltagarens status vid avslut", "Anställnings-villkor", "Anställningens omfattning"],
    ["197901010137", 4, None, 1, None, MARCH_23, 1, "Nej", 1, 1, 2],
    ["198503120027", 11, MARCH_2, 1],
    ["19900415Tf29", 8, MARCH_2, 1],
]
TYPES = ["Privat aktör", "Kommun", "Landstingskommunal", "Annan statlig aktör", "Övrig offentlig icke statlig aktör",
         "Arbetsförmedlingen", "Försäkringskassan"]
REG_C, REG_D = "'Register_deltag_organisationer'!C5:C7", "'Register_deltag_organisationer'!D5:D7"
ATTESTATION = [
    ["Intyg för närvarotid för deltagare i socialfondsprojekt"],
    [PO1],
    [],
    ["Diarienummer", CASE_NUMBER, None, "Redovisningsmånad", "Mars"],
    ["Projektnamn", PROJECT_NAME, None, "År", 2026],
    [],
    ["Timmar som utgör grund för medfinansiering. Registreras i ansökan om utbetalning under medfinansiering i annat "
     "än pengar under posten Personal."],
    ["Timlönegrupp", 1, "Totalt antal närvarotimmar under månaden"],
    ["Medfinansiering, närvarotid i aktiviteter/kompetensutvecklingsinsatser", None, "='Deltagarförteckning'!G10"],
    [],
    ["Totalt antal deltagare under månaden", None, "=COUNTIF('Deltagarförteckning'!G7:G9,\">0\")"],
    ["Totalt antal deltagande organisationer under månaden", None, "=COUNTA('Register_deltag_organisationer'!A5:A7)"],
    ["Totalt antal utbildningstimmar under månaden", None, "=C9"],
    ["Antal timmar i snitt per deltagare", None, '=IFERROR(C13/C11,"")'],
    ["Antal timmar i snitt per organisation", None, '=IFERROR(C13/C12,"")'],
    ["Antal kvinnor", None, "=COUNTIF('Deltagarförteckning'!D7:D9,\"K\")"],
    ["Antal män", None, "=COUNTIF('Deltagarförteckning'!D7:D9,\"M\")"],
    ["Nedanstående timmar ska rapporteras i ansökan om utbetalning:", None, None, "Medfinansiering (kr)"],
    *[[name, None, f"=SUMIF({REG_C},A{19 + i},{REG_D})", f"=C{19 + i}*$C$27"] for i, name in enumerate(TYPES)],
    [],
    ["Enhetskostnad per timme, Lönegrupp 1 (kr)", None, 291.47],
    ["Medfinansiering, timmar × enhetskostnad (kr)", None, "=C13*C27"],
    [],
    ["Härmed intygas att redovisade timmar motsvarar den faktiska tiden för deltagare i projektet under månaden."],
    [],
    [],
    ["_______________________________________", None, "_______________________________________"],
    ["Underskrift", None, "Namnförtydligande"],
    ["Behörig företrädare för projektet"],
    [],
    ["Information till projektägaren: Blanketten skickas till Svenska ESF-rådet i samband med ansökan om utbetalning "
     "av stöd för ovanstående redovisningsperiod. Övrig dokumentation (närvarotid för deltagare, deltagarförteckning och "
     "register över deltagande organisation/er) sparas hos projektägaren."],
]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_cell_of_the_four_sheets(month_db, tmp_path, lang):
    from app import i18n

    db, _ids = month_db
    i18n.set_language(lang)  # Swedish whatever the UI language: it goes to the funder
    out = tmp_path / "sammanstallning.xlsx"
    figures = write_esf_summary(db, "2026-03", out)
    assert figures.participant_count == 3
    wb = load_workbook(out)
    assert wb.sheetnames == ["Register_deltag_organisationer", "Deltagarförteckning", "SCB", "Intyg för närvarotid"]
    assert _trim(_rows(wb["Register_deltag_organisationer"])) == REGISTER
    assert _trim(_rows(wb["Deltagarförteckning"])) == LISTING
    assert _trim(_rows(wb["SCB"])) == SCB
    assert _trim(_rows(wb["Intyg för närvarotid"])) == ATTESTATION
    listing = wb["Deltagarförteckning"]
    # numbers are number cells, identity numbers text, user text that looks like a formula stays text
    assert listing["G8"].data_type == "n" and listing["C8"].data_type == "n" and listing["B8"].data_type == "s"
    assert listing["A7"].data_type == "s" and listing["E7"].data_type == "s" and listing["E7"].quotePrefix
    assert wb["SCB"]["A4"].data_type == "s" and wb["SCB"]["B4"].data_type == "n"
    assert listing["H8"].number_format == "yyyy-mm-dd"
    assert wb["Intyg för närvarotid"]["C27"].data_type == "n"


def test_a_missing_type_is_warned_on_the_attestation(month_db, tmp_path):
    from app.models import Company

    db, ids = month_db
    with db.write() as s:
        s.get(Company, ids["kommun"]).organisation_type = ""
    out = tmp_path / "s.xlsx"
    write_esf_summary(db, "2026-03", out)
    wb = load_workbook(out)
    assert wb["Register_deltag_organisationer"]["C7"].value == "Typ av organisation saknas"
    rows = _trim(_rows(wb["Intyg för närvarotid"]))
    assert rows[25] == ["Typ av organisation saknas", None, f"=SUMIF({REG_C},A26,{REG_D})", "=C26*$C$29"]
    assert rows[26] == ["Typ av organisation saknas på en eller flera aktörer se flik Register_deltag_organisationer"]
    assert rows[28] == ["Enhetskostnad per timme, Lönegrupp 1 (kr)", None, 291.47]


def test_libreoffice_recalculates_every_figure(month_db, tmp_path):
    db, _ids = month_db
    xlsx = tmp_path / "sum.xlsx"
    write_esf_summary(db, "2026-03", xlsx)
    sheets = _convert(xlsx, tmp_path / "csv", tmp_path / "lo-profile")
    register = _trim(sheets["Register_deltag_organisationer"])
    assert register[4:] == [
        [EVIL_COMPANY, "556677-8899", "Privat aktör", "4"],
        ["Verkstad AB", "556016-0680", "Privat aktör", "11.1"],
        ["Västerviks kommun", "212000-0845", "Kommun", "7.5"],
    ]
    listing = _trim(sheets["Deltagarförteckning"])
    assert listing[6:] == [
        [BERTIL, "19790101-0137", "47", "M", EVIL_COMPANY, "556677-8899", "4", "", "2026-03-23"],
        ["Anna Andersson", "19850312-0027", "41", "K", "Verkstad AB", "556016-0680", "11.1", "2026-03-02"],
        ["Fatima Protected", "19900415-Tf29", "35", "K", "Västerviks kommun", "212000-0845", "7.5", "2026-03-02"],
        ["Summa", "", "", "", "", "", "22.6"],
    ]
    scb = _trim(sheets["SCB"])
    assert scb[3:] == [
        ["197901010137", "4", "", "1", "", "2026-03-23", "1", "Nej", "1", "1", "2"],
        ["198503120027", "11", "2026-03-02", "1"],
        ["19900415Tf29", "8", "2026-03-02", "1"],
    ]
    intyg = {row[0]: row[2:] for row in _trim(sheets["Intyg för närvarotid"]) if row and len(row) > 2}
    assert intyg["Medfinansiering, närvarotid i aktiviteter/kompetensutvecklingsinsatser"] == ["22.6"]
    assert intyg["Totalt antal deltagare under månaden"] == ["3"]
    assert intyg["Totalt antal deltagande organisationer under månaden"] == ["3"]
    assert intyg["Totalt antal utbildningstimmar under månaden"] == ["22.6"]
    assert float(intyg["Antal timmar i snitt per deltagare"][0]) == pytest.approx(22.6 / 3)
    assert float(intyg["Antal timmar i snitt per organisation"][0]) == pytest.approx(22.6 / 3)
    assert intyg["Antal kvinnor"] == ["2"] and intyg["Antal män"] == ["1"]
    assert intyg["Privat aktör"] == ["15.1", "4401.197"]
    assert intyg["Kommun"] == ["7.5", "2186.025"]
    for name in TYPES[2:]:
        assert intyg[name] == ["0", "0"]
    assert intyg["Enhetskostnad per timme, Lönegrupp 1 (kr)"] == ["291.47"]
    assert intyg["Medfinansiering, timmar × enhetskostnad (kr)"] == ["6587.222"]
