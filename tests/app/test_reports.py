"""Reports checked against the month computed by hand in tests/fixtures/report_month.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.errors import UserError
from app.services import reports
from app.services.settings import get_settings, save_settings
from tests.fixtures.report_month import ANNA_PNR, EVIL_COMPANY, TODAY, build

D = Decimal


@pytest.fixture
def month_db(db):
    ids = build(db)
    return db, ids


def _set_rounding(db, rule):
    from dataclasses import replace

    save_settings(db, replace(get_settings(db), hours_rounding=rule))


def test_round_hours_rules():
    assert reports.round_hours(95, "exact") == D("1.6")  # tenths, as ESF's time report
    assert reports.round_hours(95, "floor") == D("1")
    assert reports.round_hours(239, "floor") == D("3")
    assert reports.round_hours(30, "exact") == D("0.5")
    assert reports.round_hours(3, "exact") == D("0.1")  # 0.05 half up
    assert reports.round_hours(2, "exact") == D("0.0")


def test_month_hours_by_hand_exact(month_db):
    db, ids = month_db
    rows = {r.participant_id: r for r in reports.month_hours(db, "2026-03", today=TODAY)}
    # Cecilia has no hours; David is waitlisted; Erik withdrew with an excused mark only
    assert set(rows) == {ids["anna"], ids["bertil"], ids["fatima"]}
    anna = rows[ids["anna"]]
    assert [(l.date.isoformat(), l.course_code, l.minutes, l.hours) for l in anna.lines] == [
        ("2026-03-02", "SVE-01", 240, D("4.0")),
        ("2026-03-16", "PLC-02", 180, D("3.0")),
        ("2026-03-16", "SVE-01", 95, D("1.6")),  # late: its minutes
        ("2026-03-30", "SVE-01", 150, D("2.5")),  # present with fewer minutes recorded
    ]  # 03-09 was cancelled, 03-23 excused: no lines
    assert anna.hours == D("11.1")
    assert anna.personal_number == ANNA_PNR
    assert anna.company_name == "Verkstad AB" and anna.org_number == "556016-0680"
    assert anna.organisation_type == "private" and not anna.protected
    assert anna.start_date == date(2026, 3, 2)  # no declared start: her first attended session
    assert anna.end_date is None  # an end date is declared, never inferred
    bertil = rows[ids["bertil"]]
    assert bertil.hours == D("4.0")
    assert (bertil.start_date, bertil.end_date) == (date(2026, 2, 16), date(2026, 3, 23))  # as declared
    assert bertil.gender == "male"  # derived from the personnummer
    fatima = rows[ids["fatima"]]
    assert fatima.personal_number == "19900415TF29" and fatima.protected and fatima.hours == D("7.5")


def test_month_hours_floor_rounds_each_line_down(month_db):
    db, ids = month_db
    _set_rounding(db, "floor")
    anna = next(r for r in reports.month_hours(db, "2026-03", today=TODAY) if r.participant_id == ids["anna"])
    assert [l.hours for l in anna.lines] == [D(4), D(3), D(1), D(2)]
    assert anna.hours == D(10)


def test_course_spanning_two_months_counts_in_each(month_db):
    db, ids = month_db
    april = reports.month_hours(db, "2026-04", today=TODAY)
    assert [(r.participant_id, r.hours) for r in april] == [(ids["anna"], D("4.0"))]


def test_participant_ids_limit_the_reports(month_db):
    db, ids = month_db
    rows = reports.month_hours(db, "2026-03", [ids["bertil"]], today=TODAY)
    assert [r.participant_id for r in rows] == [ids["bertil"]]


def test_bad_month_is_a_user_error(db):
    with pytest.raises(UserError):
        reports.month_hours(db, "2026-13")
    with pytest.raises(UserError):
        reports.month_hours(db, "March")


def test_deleted_records_are_skipped(month_db):
    from app.models import Course, utcnow

    db, ids = month_db
    with db.write() as s:
        s.get(Course, ids["plc"]).deleted_at = utcnow()
    rows = {r.participant_id: r for r in reports.month_hours(db, "2026-03", today=TODAY)}
    assert set(rows) == {ids["anna"], ids["fatima"]}
    assert rows[ids["anna"]].hours == D("8.1")


def _sheet_values(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_statistics_by_hand(month_db, tmp_path):
    db, ids = month_db
    stats = reports.statistics(db, date(2026, 3, 1), date(2026, 3, 31), lang="en")
    assert stats.participants == 3 and stats.hours == D("22.58")  # exact, not rounded per line
    assert {(r.label, r.participants, r.hours) for r in stats.by_gender} == {("Female", 2, D("18.58")), ("Male", 1, D("4.00"))}
    assert {(r.label, r.participants, r.hours) for r in stats.by_course} == {
        ("SVE-01 Svetsning grund", 2, D("15.58")),
        ("PLC-02 PLC-programmering", 2, D("7.00")),
    }
    assert {(r.label, r.hours) for r in stats.by_municipality} == {("Västervik", D("18.58")), ("Kalmar", D("4.00"))}
    assert {(r.label, r.hours) for r in stats.by_company} == {
        ("Verkstad AB", D("11.08")), ("Västerviks kommun", D("7.50")), (EVIL_COMPANY, D("4.00"))}
    whole = reports.statistics(db, date(2026, 3, 1), date(2026, 4, 30))
    assert whole.hours == D("26.58")
    with pytest.raises(UserError):
        reports.statistics(db, date(2026, 4, 1), date(2026, 3, 1))
    out = tmp_path / "stats.xlsx"
    reports.write_statistics(db, date(2026, 3, 1), date(2026, 3, 31), out, lang="en")
    wb = load_workbook(out)
    assert wb.sheetnames == ["Gender", "Municipality", "Employer", "Course"]
    company = _sheet_values(wb["Employer"])
    assert company[1] == ["Verkstad AB", 1, 11.08]
    assert company[2] == ["Västerviks kommun", 1, 7.5]
    assert company[3] == [EVIL_COMPANY, 1, 4.0]
    assert wb["Employer"]["A4"].data_type == "s" and wb["Employer"]["A4"].quotePrefix
    assert company[4] == ["Total", 3, "=SUM(C2:C4)"]


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
