"""Participants: personnummer rules, one registration per person, masked rows, search,
soft delete and restore."""

from datetime import date

import pytest
from stdnum import luhn

from app import i18n
from app.errors import NotFound, UserError, ValidationError
from app.models import Participant
from app.services.companies import CompanyData, create_company, delete_company
from app.services.courses import CourseData, create_course
from app.services.enrollments import enroll
from app.services.participants import (
    ParticipantData,
    create_participant,
    delete_participant,
    find_by_personal_number,
    get_participant,
    list_participants,
    restore_participant,
    update_participant,
)


def pnr12(yyyymmdd: str, serial: str) -> str:
    return f"{yyyymmdd}{serial}{luhn.calc_check_digit(yyyymmdd[2:] + serial)}"


ANNA = pnr12("19850312", "238")  # second-last digit 8: female
BO = pnr12("19790704", "191")  # 9: male
CIA = pnr12("19920131", "420")
ORG = "556036-0793"


def test_create_stores_12_digits_and_derives_gender(db):
    pid = create_participant(db, ParticipantData(" Anna ", "Ek", f"{ANNA[2:8]}-{ANNA[8:]}"))
    d = get_participant(db, pid)
    assert d.data.personal_number == ANNA
    assert d.data.gender == "female"
    assert d.birth_date == date(1985, 3, 12)
    assert d.masked_personal_number == "19850312-****"
    assert d.data.first_name == "Anna"
    bo = create_participant(db, ParticipantData("Bo", "Al", BO))
    assert get_participant(db, bo).data.gender == "male"


def test_given_gender_wins_and_swedish_words_are_accepted(db):
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA, gender="Man"))
    assert get_participant(db, pid).data.gender == "male"


def test_samordningsnummer_gives_the_real_birth_date(db):
    number = pnr12("19850372", "238")  # day 12 + 60
    pid = create_participant(db, ParticipantData("Ali", "Khan", number))
    row = list_participants(db)[0]
    assert row.id == pid
    assert row.birth_date == date(1985, 3, 12)
    assert row.masked_personal_number == "19850372-****"


def test_every_problem_at_once_and_nothing_written(db):
    with pytest.raises(ValidationError) as err:
        create_participant(
            db,
            ParticipantData(
                first_name="",
                last_name=" ",
                personal_number=ANNA[:-1] + str((int(ANNA[-1]) + 1) % 10),  # wrong check digit
                gender="x",
                email="anna@",
                phone="ring mig",
                company_id="no-such-company",
                exit_reason="many",
            ),
        )
    fields = err.value.by_field
    assert set(fields) == {
        "first_name",
        "last_name",
        "personal_number",
        "gender",
        "email",
        "phone",
        "company_id",
        "exit_reason",
    }
    assert fields["first_name"] == "Ange förnamnet."
    assert fields["company_id"] == "Det valda företaget finns inte."
    assert "kontrollsiffra" in fields["personal_number"]
    assert list_participants(db) == []


def test_a_person_is_registered_once(db):
    create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    with pytest.raises(ValidationError) as err:
        create_participant(db, ParticipantData("Anna", "Eklund", f"{ANNA[2:8]}-{ANNA[8:]}"))
    message = err.value.by_field["personal_number"]
    assert message == "19850312-**** är redan registrerat som Anna Ek. En person registreras bara en gång."
    assert ANNA not in str(err.value)
    assert len(list_participants(db)) == 1


def test_a_deleted_persons_number_asks_for_a_restore(db):
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    delete_participant(db, pid)
    i18n.set_language("en")
    with pytest.raises(ValidationError) as err:
        create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    assert err.value.by_field["personal_number"] == (
        "19850312-**** belongs to a deleted participant. Restore that participant instead."
    )


def test_update_keeps_own_number_and_refuses_anothers(db):
    a = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    create_participant(db, ParticipantData("Bo", "Al", BO))
    update_participant(db, a, ParticipantData("Anna", "Ekström", ANNA, email="anna@example.se"))
    assert get_participant(db, a).data.last_name == "Ekström"
    with pytest.raises(ValidationError):
        update_participant(db, a, ParticipantData("Anna", "Ek", BO))
    assert get_participant(db, a).data.personal_number == ANNA
    with pytest.raises(NotFound):
        update_participant(db, "no-such-id", ParticipantData("X", "Y", CIA))


def test_rows_are_masked_sorted_and_carry_the_employer(db):
    cid = create_company(db, CompanyData("Kalmar Stål AB", ORG))
    create_participant(db, ParticipantData("Bo", "Öst", BO, company_id=cid, email="bo@example.se"))
    create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    rows = list_participants(db)
    assert [r.full_name for r in rows] == ["Anna Ek", "Bo Öst"]
    bo = rows[1]
    assert (bo.company_id, bo.company_name, bo.email) == (cid, "Kalmar Stål AB", "bo@example.se")
    assert bo.masked_personal_number == "19790704-****"
    for row in rows:
        assert ANNA[2:] not in repr(row) and BO[2:] not in repr(row)


def test_search_by_name_employer_and_birth_date(db):
    cid = create_company(db, CompanyData("Kalmar Stål AB", ORG))
    create_participant(db, ParticipantData("Anna", "Ek", ANNA, company_id=cid))
    create_participant(db, ParticipantData("Åsa", "Öberg", BO))
    create_participant(db, ParticipantData("Cia", "Smith", CIA))

    def names(search, **kw):
        return [r.full_name for r in list_participants(db, search, **kw)]

    assert names("anna") == ["Anna Ek"]
    assert names("SMI") == ["Cia Smith"]
    assert names("stål") == ["Anna Ek"]
    assert names("åsa") == ["Åsa Öberg"]
    assert names("ÖBERG") == ["Åsa Öberg"]
    assert names("1985") == ["Anna Ek"]
    assert names("1979-07-04") == ["Åsa Öberg"]
    assert names("kalmar anna") == ["Anna Ek"]
    assert names("kalmar cia") == []
    assert names(f"{ANNA[:8]}-{ANNA[8:]}") == ["Anna Ek"]
    assert names(ANNA[8:]) == []  # the last four digits are never searched
    assert names("", company_id=cid) == ["Anna Ek"]
    assert names("%") == []


def test_find_by_personal_number(db):
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    found = find_by_personal_number(db, f"{ANNA[2:8]}-{ANNA[8:]}")
    assert found is not None and found.id == pid
    assert find_by_personal_number(db, BO) is None
    with pytest.raises(ValidationError):
        find_by_personal_number(db, "12345")
    delete_participant(db, pid)
    assert find_by_personal_number(db, ANNA) is None


def test_soft_delete_and_restore(db):
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    delete_participant(db, pid)
    assert list_participants(db) == []
    with pytest.raises(NotFound):
        get_participant(db, pid)
    restore_participant(db, pid)
    assert [r.id for r in list_participants(db)] == [pid]


def test_restore_is_refused_when_the_number_was_registered_again(db):
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    delete_participant(db, pid)
    with db.write() as s:  # e.g. arrived through sync from another laptop
        s.add(Participant(first_name="Anna", last_name="Ek", personal_number=ANNA, gender="female"))
    with pytest.raises(UserError) as err:
        restore_participant(db, pid)
    assert "19850312-****" in str(err.value)
    assert len(list_participants(db)) == 1


def test_employer_of_a_deleted_company_is_not_shown(db):
    cid = create_company(db, CompanyData("Kalmar Stål AB", ORG))
    create_participant(db, ParticipantData("Anna", "Ek", ANNA, company_id=cid))
    delete_company(db, cid)
    assert list_participants(db)[0].company_name == ""
    with pytest.raises(ValidationError) as err:
        create_participant(db, ParticipantData("Bo", "Al", BO, company_id=cid))
    assert set(err.value.by_field) == {"company_id"}


def test_detail_lists_the_courses(db):
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    k = create_course(db, CourseData("SV-1", "Svetsning"))
    enroll(db, k, [pid])
    d = get_participant(db, pid)
    assert [(e.course_code, e.status) for e in d.enrollments] == [("SV-1", "enrolled")]
    assert d.enrollments[0].masked_personal_number == "19850312-****"


def test_lists_sort_in_swedish_alphabetical_order(db):
    for n, last in enumerate(["Öberg", "Zander", "Åberg", "Ärlig", "de Vries", "Świątek", "Andersson"]):
        create_participant(db, ParticipantData("X", last, pnr12(f"199001{n + 10:02d}", "111")))
    assert [r.last_name for r in list_participants(db)] == [
        "Andersson", "de Vries", "Świątek", "Zander", "Åberg", "Ärlig", "Öberg",
    ]


def test_validate_without_saving(db):
    from app.services.participants import validate_participant

    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    validate_participant(db, ParticipantData("Anna", "Ek", ANNA), pid)  # her own number
    with pytest.raises(ValidationError) as err:
        validate_participant(db, ParticipantData("Anna", "Ek", ANNA))
    assert set(err.value.by_field) == {"personal_number"}


def test_the_full_number_appears_in_no_row_of_any_list(db):
    from app.services.companies import get_company, list_companies
    from app.services.enrollments import list_enrollments

    cid = create_company(db, CompanyData("Kalmar Stål AB", ORG))
    pid = create_participant(db, ParticipantData("Anna", "Ek", ANNA, company_id=cid))
    k = create_course(db, CourseData("SV-1", "Svetsning"))
    enroll(db, k, [pid])
    detail = get_participant(db, pid)
    shown = [
        list_participants(db),
        list_companies(db),
        get_company(db, cid).participants,
        list_enrollments(db, k),
        detail.enrollments,
        detail.masked_personal_number,
        find_by_personal_number(db, ANNA),
    ]
    text = repr(shown)
    assert ANNA not in text and ANNA[2:] not in text and f"-{ANNA[8:]}" not in text
    assert "19850312-****" in text


def test_search_words_with_swedish_letters_match_any_case(db):
    create_participant(db, ParticipantData("Åsa", "Öberg", ANNA))
    create_participant(db, ParticipantData("Bo", "Berg", BO))
    create_participant(db, ParticipantData("Örjan", "Lind", CIA))
    assert [r.full_name for r in list_participants(db, "öBERG")] == ["Åsa Öberg"]
    assert [r.full_name for r in list_participants(db, "ÅSA öberg")] == ["Åsa Öberg"]
    assert [r.full_name for r in list_participants(db, "ö")] == ["Örjan Lind", "Åsa Öberg"]
    assert [r.full_name for r in list_participants(db, "berg")] == ["Bo Berg", "Åsa Öberg"]


def test_rows_are_real_frozen_dataclasses(db):
    import dataclasses

    from app.services.participants import ParticipantRow

    create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    row = list_participants(db)[0]
    built = ParticipantRow(**dataclasses.asdict(row))
    assert row == built and hash(row) == hash(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.first_name = "Bo"


def test_names_must_fit_their_columns(db):
    with pytest.raises(ValidationError) as err:
        create_participant(db, ParticipantData("A" * 101, "B" * 101, ANNA))
    assert set(err.value.by_field) == {"first_name", "last_name"}
    create_participant(db, ParticipantData("A" * 100, "B" * 100, ANNA))


def test_an_active_duplicate_is_named_before_a_deleted_one(db):
    first = create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    delete_participant(db, first)
    with db.write() as s:  # both arrived, e.g. through sync
        s.add(Participant(first_name="Anna", last_name="Lund", personal_number=ANNA, gender="female"))
    with pytest.raises(ValidationError) as err:
        create_participant(db, ParticipantData("Anna", "Ek", ANNA))
    assert "Anna Lund" in err.value.by_field["personal_number"]
