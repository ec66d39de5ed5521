"""The sign-in sheet, read back with pypdf."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from pypdf import PdfReader

from app.errors import UserError, ValidationError
from app.services.settings import OrganisationSettings, save_settings
from app.services.signin_sheets import write_signin_sheet
from tests.app.attendance_builders import NAMES, build_course, enrol

SESSIONS = (
    (date(2026, 3, 2), time(8, 0), time(12, 0), False),
    (date(2026, 3, 9), time(13, 0), time(16, 30), False),
    (date(2026, 3, 16), time(8, 0), time(12, 0), True),
)
MANY = NAMES + [(f"Person{i}", f"Efternamn{i:02d}", "Mönsterås Bruk AB") for i in range(30)]


def _pages(path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


@pytest.fixture
def course(db):
    return build_course(db, people=MANY, sessions=SESSIONS, title="Svetsning <MIG> & MAG", code="SV&1")


def test_every_name_course_data_and_funding_statement(db, course, tmp_path):
    out = write_signin_sheet(db, course.course_id, tmp_path / "sheet.pdf", lang="sv")
    assert out == tmp_path / "sheet.pdf"
    pages = _pages(out)
    text = "\n".join(pages)
    flat = re.sub(r"\s+", " ", text)  # a long employer may wrap inside its cell
    for first, last, company in MANY:
        assert f"{first} {last}" in text, f"{first} {last}"
        if company:
            assert company in flat, company
    for name in ("Łukasz Świątek", "Nguyễn Thị Ánh", "Şükrü Çelik", "Åsa Öberg", "Kalle <Kula> Karlsson & Son"):
        assert name in text
    assert "AT&T <Sverige> AB" in text
    assert "Svetsning <MIG> & MAG (SV&1)" in text
    assert "Campus Västervik, sal 3" in text and "Eva Lind" in text
    assert "2 mars 2026" in text and "9 mars 2026" in text
    assert "08:00–12:00" in text and "13:00–16:30" in text
    assert "16 mars 2026" not in text  # the cancelled session has no sheet
    assert "Campus Västervik" in text and "Kompetenslyft Kalmar län" in text
    for page in pages:  # every page: funding statement, title, header row, course
        assert "Medfinansieras av Europeiska unionen" in page
        assert "Närvarolista" in page
        assert "Namnteckning" in page and "Födelsedatum" in page and "Arbetsgivare" in page
        assert "SV&1" in page


def test_birth_dates_but_never_the_personnummer(db, course, tmp_path):
    text = "\n".join(_pages(write_signin_sheet(db, course.course_id, tmp_path / "s.pdf", lang="sv")))
    compact = re.sub(r"\s", "", text)
    for pnr in course.personal_numbers:
        assert pnr not in compact
        assert pnr[2:] not in compact  # nor the 10-digit form
        assert f"{pnr[:8]}-{pnr[8:]}" not in text and f"{pnr[2:8]}-{pnr[8:]}" not in text
        assert f"{pnr[:4]}-{pnr[4:6]}-{pnr[6:8]}" in text  # the birth date is printed


def test_page_numbers_count_within_each_session(db, course, tmp_path):
    pages = _pages(write_signin_sheet(db, course.course_id, tmp_path / "s.pdf", lang="sv"))
    numbers = [re.search(r"Sida (\d+) av (\d+)", p).groups() for p in pages]
    per_session = len(pages) // 2
    assert per_session >= 2  # 36 participants + 5 walk-in rows do not fit one page
    expected = [(str(i), str(per_session)) for i in range(1, per_session + 1)] * 2
    assert numbers == expected
    # each group carries its own session's date on every page
    assert all("2 mars 2026" in p for p in pages[:per_session])
    assert all("9 mars 2026" in p for p in pages[per_session:])


def test_walk_in_rows_follow_the_participants_and_no_page_is_only_blank(db, course, tmp_path):
    pages = _pages(write_signin_sheet(db, course.course_id, tmp_path / "s.pdf", session_ids=[course.session_ids[0]]))
    n = len(MANY)
    numbers = [[int(x) for x in re.findall(r"^(\d+)\s*$", p, re.M)] for p in pages]
    walk_ins = [x for x in numbers[-1] if x > n]
    assert walk_ins == list(range(n + 1, n + 1 + len(walk_ins))) and len(walk_ins) <= 5
    for page_numbers in numbers:  # every page holds participants, never only empty rows
        assert any(x <= n for x in page_numbers), page_numbers


def test_walk_in_rows_fit_the_last_page():
    from app.documents.signin_sheet import ROW_H, _walk_in_rows

    per_page = 20
    body = per_page * ROW_H + ROW_H / 2  # 20 rows and half a row for the header
    header = ROW_H / 2
    assert _walk_in_rows(per_page, header, body) == 0  # the page is full: no page of empty rows
    assert _walk_in_rows(per_page - 2, header, body) == 2
    assert _walk_in_rows(per_page + 3, header, body) == 5
    assert _walk_in_rows(0, header, body) == 5  # nobody enrolled yet: the sheet is for walk-ins


def test_signature_column_is_wide_and_the_teacher_signs_each_session(db, course, tmp_path):
    from app.documents.signin_sheet import COLUMN_WIDTHS_MM

    assert 180 - sum(COLUMN_WIDTHS_MM) >= 40  # A4 less margins, in mm (it was 31 mm)
    pages = _pages(write_signin_sheet(db, course.course_id, tmp_path / "s.pdf", lang="sv"))
    per_session = len(pages) // 2
    signed = ["Lärarens underskrift" in p for p in pages]
    assert signed == ([False] * (per_session - 1) + [True]) * 2


def test_esf_case_number_when_set(db, course, tmp_path):
    from app.services.settings import set_setting

    first = _pages(write_signin_sheet(db, course.course_id, tmp_path / "a.pdf", session_ids=[course.session_ids[0]]))
    assert not any("ESF-ärendenummer" in p for p in first)
    set_setting(db, "esf.case_number", "2023/00456")
    pages = _pages(write_signin_sheet(db, course.course_id, tmp_path / "b.pdf", session_ids=[course.session_ids[0]]))
    assert all("ESF-ärendenummer: 2023/00456" in p for p in pages)


def test_sorted_by_last_name(db, course, tmp_path):
    text = "\n".join(_pages(write_signin_sheet(db, course.course_id, tmp_path / "s.pdf",
                                               session_ids=[course.session_ids[0]])))
    order = ["Anna Andersson", "Nguyễn Thị Ánh", "Şükrü Çelik", "Person0 Efternamn00", "Kalle <Kula> Karlsson & Son",
             "Łukasz Świątek", "Åsa Öberg"]
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions)


def test_english_one_session(db, course, tmp_path):
    pages = _pages(write_signin_sheet(db, course.course_id, tmp_path / "en.pdf",
                                      session_ids=[course.session_ids[1]], lang="en"))
    text = "\n".join(pages)
    assert "Co-funded by the European Union" in text
    assert "Sign-in sheet" in text and "Signature" in text
    assert "9 March 2026" in text and "2 March 2026" not in text
    assert re.search(r"Page 1 of \d", pages[0])


def test_only_active_participants(db, course, tmp_path):
    enrol(db, course.course_id, "Wera", "Väntelista", "waitlisted")
    enrol(db, course.course_id, "Wilma", "Avhopp", "withdrawn")
    enrol(db, course.course_id, "Klara", "Klar", "completed")
    text = "\n".join(_pages(write_signin_sheet(db, course.course_id, tmp_path / "s.pdf")))
    assert "Väntelista" not in text and "Avhopp" not in text
    assert "Klara Klar" in text


def test_fonts_embedded_and_no_helvetica(db, course, tmp_path):
    out = write_signin_sheet(db, course.course_id, tmp_path / "s.pdf", session_ids=[course.session_ids[0]])
    fonts = set()
    for page in PdfReader(out).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts.add(str(font["/BaseFont"]))
            assert "/FontFile2" in font["/FontDescriptor"].get_object() if "/FontDescriptor" in font else True
    assert fonts and all("DejaVu" in f for f in fonts), fonts


def test_logo_and_organisation_from_settings(db, course, tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (10, 80, 160)).save(logo)
    save_settings(db, OrganisationSettings(organisation_name="Nova & <Partner>", logo_path=str(logo)))
    out = write_signin_sheet(db, course.course_id, tmp_path / "s.pdf", session_ids=[course.session_ids[0]])
    reader = PdfReader(out)
    assert "Nova & <Partner>" in reader.pages[0].extract_text()
    assert reader.pages[0].images  # the logo is drawn


def test_written_atomically_no_temp_files_left(db, course, tmp_path):
    out = tmp_path / "out" / "sheet.pdf"
    write_signin_sheet(db, course.course_id, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["sheet.pdf"]
    with pytest.raises(ValidationError):
        write_signin_sheet(db, course.course_id, tmp_path / "out" / "bad.pdf", session_ids=[course.session_ids[2]])
    assert sorted(p.name for p in out.parent.iterdir()) == ["sheet.pdf"]


def test_errors(db, course, tmp_path):
    other = build_course(db, code="EMPTY", people=[], sessions=[(date(2026, 1, 1), time(8), time(9), True)])
    with pytest.raises(UserError, match="EMPTY"):
        write_signin_sheet(db, other.course_id, tmp_path / "x.pdf")
    with pytest.raises(ValidationError):
        write_signin_sheet(db, course.course_id, tmp_path / "x.pdf", session_ids=other.session_ids)
