"""Reports checked against the month computed by hand in tests/fixtures/report_month.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.errors import UserError
from app.services import reports
from app.services.settings import get_settings, save_settings
from tests.fixtures.report_month import ANNA_PNR, BERTIL_PNR, EVIL_COMPANY, EVIL_NAME, TODAY, build

D = Decimal


@pytest.fixture
def month_db(db):
    ids = build(db)
    return db, ids


def _set_rounding(db, rule):
    from dataclasses import replace

    save_settings(db, replace(get_settings(db), hours_rounding=rule))


def test_round_hours_rules():
    assert reports.round_hours(95, "exact") == D("1.58")
    assert reports.round_hours(95, "floor") == D("1.00")
    assert reports.round_hours(239, "floor") == D("3.00")
    assert reports.round_hours(30, "exact") == D("0.50")
    assert reports.round_hours(1, "exact") == D("0.02")  # 0.0166.. half up


def test_month_hours_by_hand_exact(month_db):
    db, ids = month_db
    rows = {r.participant_id: r for r in reports.month_hours(db, "2026-03", today=TODAY)}
    assert set(rows) == {ids["anna"], ids["bertil"]}  # Cecilia has no hours; David is waitlisted
    anna = rows[ids["anna"]]
    assert [(l.date.isoformat(), l.course_code, l.minutes, l.hours) for l in anna.lines] == [
        ("2026-03-02", "SVE-01", 240, D("4.00")),
        ("2026-03-16", "PLC-02", 180, D("3.00")),
        ("2026-03-16", "SVE-01", 95, D("1.58")),  # late: its minutes
        ("2026-03-30", "SVE-01", 150, D("2.50")),  # present with fewer minutes recorded
    ]  # 03-09 was cancelled, 03-23 excused: no lines
    assert anna.hours == D("11.08")
    assert anna.personal_number == ANNA_PNR
    assert anna.company_name == "Verkstad AB" and anna.org_number == "556016-0680"
    assert anna.start_date == date(2026, 3, 2)
    assert anna.end_date == date(2026, 4, 6)  # her last course (SVE-01) ends in April
    assert anna.hourly_wage_cost == D("300.00")  # the company's default
    assert anna.co_financing == D("3324.00")
    bertil = rows[ids["bertil"]]
    assert bertil.hours == D("4.00")
    assert bertil.hourly_wage_cost == D("250.50")  # his own rate
    assert bertil.co_financing == D("1002.00")
    assert bertil.gender == "male"  # derived from the personnummer


def test_month_hours_floor_rounds_each_line_down(month_db):
    db, ids = month_db
    _set_rounding(db, "floor")
    anna = next(r for r in reports.month_hours(db, "2026-03", today=TODAY) if r.participant_id == ids["anna"])
    assert [l.hours for l in anna.lines] == [D(4), D(3), D(1), D(2)]
    assert anna.hours == D(10)


def test_course_spanning_two_months_counts_in_each(month_db):
    db, ids = month_db
    april = reports.month_hours(db, "2026-04", today=TODAY)
    assert [(r.participant_id, r.hours) for r in april] == [(ids["anna"], D("4.00"))]


def test_participant_ids_limit_the_reports(month_db):
    db, ids = month_db
    rows = reports.month_hours(db, "2026-03", [ids["bertil"]], today=TODAY)
    assert [r.participant_id for r in rows] == [ids["bertil"]]


def test_summary_includes_start_and_end_months_even_with_zero_hours(month_db):
    db, ids = month_db
    march = reports.monthly_summary(db, "2026-03", today=TODAY)
    by_id = {r.participant_id: r for r in march}
    assert set(by_id) == {ids["anna"], ids["bertil"], ids["cecilia"]}
    cecilia = by_id[ids["cecilia"]]
    assert cecilia.hours == D("0.00") and cecilia.start_date is None and cecilia.end_date == date(2026, 3, 23)
    # sorted by employer so each company's rows are together
    assert [r.company_name for r in march] == [EVIL_COMPANY, "Verkstad AB", "Verkstad AB"]
    # before the course is over there is no end date and no end-month row
    early = reports.monthly_summary(db, "2026-03", today=date(2026, 3, 20))
    assert ids["cecilia"] not in {r.participant_id for r in early}
    assert all(r.end_date is None for r in early)


def test_bad_month_is_a_user_error(db):
    with pytest.raises(UserError):
        reports.month_hours(db, "2026-13")
    with pytest.raises(UserError):
        reports.month_hours(db, "March")


def test_deleted_records_are_skipped(month_db):
    from app.models import utcnow, Course

    db, ids = month_db
    with db.write() as s:
        s.get(Course, ids["plc"]).deleted_at = utcnow()
    rows = {r.participant_id: r for r in reports.month_hours(db, "2026-03", today=TODAY)}
    assert set(rows) == {ids["anna"]}
    assert rows[ids["anna"]].hours == D("8.08")


def _sheet_values(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_summary_xlsx_cells(month_db, tmp_path):
    db, ids = month_db
    out = tmp_path / "sum.xlsx"
    assert reports.write_summary(db, "2026-03", out, lang="en", today=TODAY) == 3
    wb = load_workbook(out)
    ws = wb["Summary"]
    rows = _sheet_values(ws)
    assert rows[0][:8] == [
        "Last name", "First name", "Personal identity number", "Gender", "Employer",
        "Organisation number", "Municipality", "Hours",
    ]
    assert rows[1][:8] == [EVIL_NAME, "Bertil", BERTIL_PNR, "Male", EVIL_COMPANY, "556677-8899", "Kalmar", 4.0]
    assert rows[2][:8] == ["Andersson", "Anna", ANNA_PNR, "Female", "Verkstad AB", "556016-0680", "Västervik", 11.08]
    assert rows[2][8].date() == date(2026, 3, 2) and rows[2][9].date() == date(2026, 4, 6)
    assert rows[3][0] == "Ceder" and rows[3][7] == 0 and rows[3][8] is None
    # co-financing: a real formula hours * rate
    assert rows[1][10] == 250.5 and rows[1][11] == "=H2*K2"
    assert rows[2][10] == 300 and rows[2][11] == "=H3*K3"
    # user text that looks like a formula is stored as text, never as a formula
    assert ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    assert ws["E2"].data_type == "s" and ws["E2"].quotePrefix
    assert not ws["A3"].quotePrefix
    cof = _sheet_values(wb["Co-financing"])
    assert cof[0] == ["Employer", "Organisation number", "Month", "Participants", "Hours", "Co-financing (SEK)"]
    assert cof[1] == [EVIL_COMPANY, "556677-8899", "2026-03", 1, "=SUM('Summary'!H2:H2)", "=SUM('Summary'!L2:L2)"]
    assert cof[2] == ["Verkstad AB", "556016-0680", "2026-03", 2, "=SUM('Summary'!H3:H4)", "=SUM('Summary'!L3:L4)"]
    assert cof[3] == ["Total", None, "2026-03", "=SUM(D2:D3)", "=SUM(E2:E3)", "=SUM(F2:F3)"]
    assert wb["Co-financing"]["A2"].quotePrefix


def test_summary_sheet_names_follow_the_language(month_db, tmp_path):
    db, _ids = month_db
    out = tmp_path / "sum.xlsx"
    reports.write_summary(db, "2026-03", out, lang="sv", today=TODAY)
    wb = load_workbook(out)
    assert wb.sheetnames == ["Sammanställning", "Medfinansiering", "Om rapporten"]
    assert wb["Medfinansiering"]["E2"].value == "=SUM('Sammanställning'!H2:H2)"


def test_statistics_by_hand(month_db, tmp_path):
    db, ids = month_db
    stats = reports.statistics(db, date(2026, 3, 1), date(2026, 3, 31), lang="en")
    assert stats.participants == 2 and stats.hours == D("15.08")
    assert {(r.label, r.participants, r.hours) for r in stats.by_gender} == {("Female", 1, D("11.08")), ("Male", 1, D("4.00"))}
    assert {(r.label, r.participants, r.hours) for r in stats.by_course} == {
        ("SVE-01 Svetsning grund", 1, D("8.08")),
        ("PLC-02 PLC-programmering", 2, D("7.00")),
    }
    assert {(r.label, r.hours) for r in stats.by_municipality} == {("Västervik", D("11.08")), ("Kalmar", D("4.00"))}
    assert {(r.label, r.hours) for r in stats.by_company} == {("Verkstad AB", D("11.08")), (EVIL_COMPANY, D("4.00"))}
    whole = reports.statistics(db, date(2026, 3, 1), date(2026, 4, 30))
    assert whole.hours == D("19.08")
    with pytest.raises(UserError):
        reports.statistics(db, date(2026, 4, 1), date(2026, 3, 1))
    out = tmp_path / "stats.xlsx"
    reports.write_statistics(db, date(2026, 3, 1), date(2026, 3, 31), out, lang="en")
    wb = load_workbook(out)
    assert wb.sheetnames == ["Gender", "Municipality", "Employer", "Course"]
    company = _sheet_values(wb["Employer"])
    assert company[1] == ["Verkstad AB", 1, 11.08]
    assert company[2] == [EVIL_COMPANY, 1, 4.0]
    assert wb["Employer"]["A3"].data_type == "s" and wb["Employer"]["A3"].quotePrefix
    assert company[3] == ["Total", 2, "=SUM(C2:C3)"]


def test_write_only_sheet_keeps_text_as_text_and_types_the_rest(tmp_path):
    from app.interchange.spreadsheet import Formula, Money, Sheet, new_workbook, save_workbook

    wb = new_workbook()
    ws = Sheet(wb, "Test")
    risky = ["=1+1", "+46 70", "-5", "@SUM(A1)", "\tx", "#N/A", "#DIV/0!", "plain"]
    last = ws.table(
        ["Text", "Decimal", "Date", "Money", "Formula", "Int"],
        [(text, D("1.5"), date(2026, 3, 2), Money(D("1234.5")), Formula("=B2*2", "0.00"), 7) for text in risky],
        widths=(20, 9),
    )
    assert last == len(risky) + 1
    assert ws.append(("Total", None, None, Money(None))) == last + 1
    out = save_workbook(wb, tmp_path / "t.xlsx")
    sheet = load_workbook(out)["Test"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["A1"].alignment.wrap_text and not sheet["A2"].font.b
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (20, 9)
    for row, text in enumerate(risky, start=2):
        cell = sheet.cell(row, 1)
        assert (cell.value, cell.data_type) == (text, "s")  # never a formula nor an error value
        assert cell.quotePrefix == text.startswith(("=", "+", "-", "@", "\t"))
    assert (sheet["B2"].value, sheet["B2"].number_format) == (1.5, "0.00")
    assert sheet["C2"].value.date() == date(2026, 3, 2) and sheet["C2"].number_format == "yyyy-mm-dd"
    assert (sheet["D2"].value, sheet["D2"].number_format) == (1234.5, "#,##0.00")
    assert (sheet["E2"].value, sheet["E2"].data_type, sheet["E2"].number_format) == ("=B2*2", "f", "0.00")
    assert sheet["F2"].value == 7
    assert [c.value for c in sheet[last + 1]][:4] == ["Total", None, None, None]
