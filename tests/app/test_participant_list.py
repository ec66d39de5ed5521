"""Participant lists as companies send them (tests/fixtures/participants_*)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import UserError, ValidationError
from app.interchange.participant_list import (
    ImportCancelled,
    apply_import,
    decode_text,
    preview_import,
    read_list,
    sniff_delimiter,
)
from app.models import Company, Course, Enrollment, Participant, enrollment_id

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def course_db(db):
    with db.write() as s:
        s.add_all([Company(name="Verkstad AB", org_number="556016-0680"), Company(name="Kalmar Plåt AB", org_number="559123-4561")])
        course = Course(code="SVE-01", title="Svetsning")
        s.add(course)
        s.flush()
        cid = course.id
    return db, cid


def _count(db, model):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _people(db):
    with db.read() as s:
        return {p.personal_number: p for p in s.execute(select(Participant)).scalars()}


def test_swedish_excel_csv_windows_1252_semicolons(course_db):
    db, cid = course_db
    p = preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid)
    assert [(r.line, r.first_name, r.last_name, r.company_name) for r in p.rows] == [
        (2, "Åsa", "Öberg", "Verkstad AB"),
        (3, "Björn", "Ängström", "Kalmar Plåt AB"),
        (4, "Märta", "Eriksson-Lööf", "Verkstad AB"),
    ]  # the two trailing ';;;;;' rows are blank and skipped
    assert not p.invalid
    assert p.rows[0].personal_number == "197004051129"  # YYMMDD-NNNN normalised
    assert p.rows[0].masked_personal_number == "19700405-****"
    assert p.rows[0].email == "asa.oberg@verkstad.se" and p.rows[0].phone == "070-123 45 67"
    assert _count(db, Participant) == 0  # the preview writes nothing
    result = apply_import(db, p)
    assert (result.created, result.enrolled, result.matched) == (3, 3, 0)
    people = _people(db)
    assert people["197004051129"].first_name == "Åsa" and people["197004051129"].gender == "female"
    with db.read() as s:
        rows = s.execute(select(Enrollment).where(Enrollment.course_id == cid)).scalars().all()
    assert {e.id for e in rows} == {enrollment_id(cid, p.id) for p in people.values()}
    assert {e.status for e in rows} == {"enrolled"}


def test_utf8_bom_csv_with_commas_and_english_headers(course_db):
    db, cid = course_db
    p = preview_import(db, FIXTURES / "participants_utf8_bom.csv", cid)
    assert not p.invalid
    assert p.columns == ("first_name", "last_name", "personal_number", "company", "email", "phone", "gender")
    leila, ngoc, lukasz = p.rows
    assert (leila.first_name, leila.company_name, leila.gender, leila.phone) == ("Leila", "Kalmar Plåt AB", "female", "+46 70 111 22 33")
    assert (ngoc.first_name, ngoc.last_name, ngoc.company_name) == ("Ngọc Ánh", "Trần", "Verkstad AB")  # org number w/o dash
    assert (lukasz.last_name, lukasz.email, lukasz.gender) == ("Wiśniewski, Jr", "łukasz@plat.se", "male")
    assert apply_import(db, p).created == 3


def test_xlsx_with_title_row_extra_columns_blank_rows_and_known_people(course_db):
    db, cid = course_db
    apply_import(db, preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid))
    with db.write() as s:
        other = Course(code="PLC-02", title="PLC")
        s.add(other)
        s.flush()
        other_id = other.id
    p = preview_import(db, FIXTURES / "participants_extra_columns.xlsx", other_id)
    assert [(r.line, r.first_name, r.last_name, r.company_name) for r in p.rows] == [
        (4, "Sven", "Nilsson", "Verkstad AB"),
        (7, "Maria", "Lindqvist", "Verkstad AB"),
        (9, "Siobhán", "O'Brien", "Kalmar Plåt AB"),
    ]
    assert p.rows[0].personal_number == "197004051129"  # typed as a number in Excel
    assert all(r.participant_id for r in p.rows)  # same personnummer as the first list: matched
    # ... but under other names: each row is a problem showing the registered name, until confirmed
    assert [r.known_as for r in p.rows] == ["Åsa Öberg", "Björn Ängström", "Märta Eriksson-Lööf"]
    assert not p.valid and "Åsa Öberg" in p.rows[0].problems[0] and "19700405-****" in p.rows[0].problems[0]
    with pytest.raises(ValidationError):
        apply_import(db, p)
    assert preview_import(db, FIXTURES / "participants_extra_columns.xlsx", other_id, accept_known=True).rows == (
        p.accepting_known().rows
    )
    p = p.accepting_known()
    result = apply_import(db, p)
    assert (result.created, result.matched, result.enrolled) == (0, 3, 3)
    assert _count(db, Participant) == 3  # nobody duplicated
    assert _people(db)["197004051129"].first_name == "Åsa"  # a known person is left as stored
    again = preview_import(db, FIXTURES / "participants_extra_columns.xlsx", other_id, accept_known=True)
    assert all(r.already_enrolled for r in again.rows)
    assert apply_import(db, again).already == 3


def test_bad_rows_are_each_reported_and_nothing_is_written(course_db):
    db, cid = course_db
    p = preview_import(db, FIXTURES / "participants_bad_rows.csv", cid)
    problems = {r.line: r.problems for r in p.invalid}
    assert set(problems) == {3, 4, 5, 6, 7}
    assert "fel kontrollsiffra" in problems[3][0] and "199008177752" not in problems[3][0]
    assert problems[4] == ("Okänt företag: Okänt Företag AB.",)
    assert problems[5] == ("Dubblett: samma person som på rad 2.",)
    assert problems[6] == ("Förnamn saknas.",)
    assert "e-postadress" in problems[7][0]
    assert [r.line for r in p.valid] == [2, 8]
    with pytest.raises(ValidationError) as err:
        apply_import(db, p)
    assert "Rad 4: Okänt företag: Okänt Företag AB." in str(err.value)
    assert _count(db, Participant) == 0 and _count(db, Enrollment) == 0
    result = apply_import(db, p, skip_invalid=True)
    assert (result.created, result.enrolled, result.skipped) == (2, 2, 5)


def test_cancelled_import_writes_nothing(course_db):
    db, cid = course_db
    p = preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid)
    with pytest.raises(ImportCancelled):
        apply_import(db, p, progress=lambda done, total: done < total)  # cancel at the very end
    assert _count(db, Participant) == 0 and _count(db, Enrollment) == 0


def test_capacity_waitlists_and_withdrawn_are_reenrolled(course_db):
    db, cid = course_db
    with db.write() as s:
        s.get(Course, cid).capacity = 2
    p = preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid)
    result = apply_import(db, p)
    assert (result.enrolled, result.waitlisted) == (2, 1)
    with db.write() as s:
        first = s.execute(select(Enrollment).where(Enrollment.status == "enrolled")).scalars().first()
        first.status = "withdrawn"
        withdrawn_pid = first.participant_id
        waiting_pid = s.execute(select(Enrollment.participant_id).where(Enrollment.status == "waitlisted")).scalar_one()
    again = apply_import(db, preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid))
    # as in the window: the waitlisted person moves up into the freed place first, and the
    # withdrawn one comes back at the end of the queue
    assert (again.enrolled, again.waitlisted, again.already) == (0, 1, 2)
    with db.read() as s:
        status = dict(s.execute(select(Enrollment.participant_id, Enrollment.status).where(Enrollment.course_id == cid)).all())
    assert status[waiting_pid] == "enrolled" and status[withdrawn_pid] == "waitlisted"
    assert _count(db, Enrollment) == 3


def test_deleted_participants_take_no_place(course_db):
    db, cid = course_db
    with db.write() as s:
        s.get(Course, cid).capacity = 2
        gone = Participant(first_name="Borta", last_name="Person", personal_number="198503120027")
        s.add(gone)
        s.flush()
        s.add(Enrollment(id=enrollment_id(cid, gone.id), course_id=cid, participant_id=gone.id, status="enrolled"))
        gone.deleted_at = gone.created_at
    result = apply_import(db, preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid))
    assert (result.enrolled, result.waitlisted) == (2, 1)


def test_waitlist_keeps_the_order_of_the_file(course_db):
    db, cid = course_db
    with db.write() as s:
        s.get(Course, cid).capacity = 0
    p = preview_import(db, FIXTURES / "participants_swedish_excel.csv", cid)
    result = apply_import(db, p)
    assert (result.enrolled, result.waitlisted) == (0, 3)
    with db.read() as s:
        queue = s.execute(
            select(Participant.personal_number, Enrollment.created_at)
            .join(Enrollment, Enrollment.participant_id == Participant.id)
            .where(Enrollment.course_id == cid)
            .order_by(Enrollment.created_at)
        ).all()
    assert [pnr for pnr, _at in queue] == [r.personal_number for r in p.rows]
    assert len({at for _pnr, at in queue}) == 3  # one timestamp each: a queue, not a tie


def test_headers_any_order_and_ambiguous_company(course_db, tmp_path):
    db, cid = course_db
    with db.write() as s:
        s.add(Company(name="Verkstad AB", org_number="556677-8899"))
    f = tmp_path / "list.csv"
    f.write_text("Personnummer,Efternamn,Förnamn,Företag\n198503120027,Andersson,Anna,Verkstad AB\n"
                 "197901010137,Berg,Bo,556677-8899\n", encoding="utf-8")
    p = preview_import(db, f, cid)
    assert p.rows[0].problems == ("Flera företag heter Verkstad AB: ange organisationsnumret.",)
    assert p.rows[1].ok and p.rows[1].company_text == "556677-8899"


def test_unusable_files_are_user_errors(course_db, tmp_path):
    db, cid = course_db
    no_header = tmp_path / "x.csv"
    no_header.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    with pytest.raises(UserError, match="ingen rubrikrad"):
        read_list(no_header)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(UserError, match=r"\.xlsx"):
        read_list(xls)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(UserError):
        read_list(broken)
    header_only = tmp_path / "empty.csv"
    header_only.write_text("Förnamn;Efternamn;Personnummer\n;;\n", encoding="utf-8")
    with pytest.raises(UserError, match="inga deltagare"):
        preview_import(db, header_only, cid)


def test_decoding_and_sniffing():
    assert decode_text("Förnamn".encode("cp1252")) == "Förnamn"
    assert decode_text(b"\xef\xbb\xbf" + "Förnamn".encode()) == "Förnamn"
    assert decode_text("Förnamn".encode("utf-16")) == "Förnamn"
    assert sniff_delimiter('"Efternamn, förnamn";Personnummer;Företag\n') == ";"
    assert sniff_delimiter("a,b,c\n") == ","
    assert sniff_delimiter("a\tb\tc\n") == "\t"
