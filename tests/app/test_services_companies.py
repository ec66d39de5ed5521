"""Companies: create, edit, validate, list with counts, search, soft delete and restore."""


import pytest
from stdnum import luhn

from app import i18n
from app.errors import NotFound, ValidationError
from app.services.companies import (
    CompanyData,
    create_company,
    delete_company,
    get_company,
    list_companies,
    restore_company,
    update_company,
)
from app.services.courses import CourseData, create_course
from app.services.enrollments import enroll, list_enrollments, withdraw
from app.services.needs import NeedData, create_need
from app.services.participants import (
    ParticipantData,
    create_participant,
    delete_participant,
    get_participant,
)


def org(nine: str) -> str:
    return f"{nine[:6]}-{nine[6:]}{luhn.calc_check_digit(nine)}"


def pnr(yymmdd: str, serial: str) -> str:
    return f"19{yymmdd}-{serial}{luhn.calc_check_digit(yymmdd + serial)}"


ORG_A = org("556036079")
ORG_B = org("556677889")


def test_create_normalises_and_get_returns_the_data(db):
    cid = create_company(
        db,
        CompanyData(
            name="  Kalmar   Stål AB ",
            org_number=ORG_A.replace("-", ""),
            municipality="kalmar kommun",
            industry="Verkstad",
            contact_name="Åsa Lind",
            contact_email="Asa.Lind@KalmarStal.SE",
            contact_phone="0480-12 34 56",
            organisation_type="private",
        ),
    )
    detail = get_company(db, cid)
    assert detail.id == cid
    assert detail.data.name == "Kalmar Stål AB"
    assert detail.data.org_number == ORG_A
    assert detail.data.municipality == "Kalmar"
    assert detail.data.contact_email == "Asa.Lind@kalmarstal.se"
    assert detail.data.contact_phone == "0480-12 34 56"
    assert detail.data.organisation_type == "private"
    assert detail.participants == [] and detail.needs == []


def test_every_problem_is_reported_at_once_and_nothing_is_written(db):
    with pytest.raises(ValidationError) as err:
        create_company(
            db,
            CompanyData(
                name=" ",
                org_number="556036-0794",
                contact_email="nobody@",
                contact_phone="call me",
                organisation_type="aktiebolag",
            ),
        )
    fields = err.value.by_field
    assert set(fields) == {"name", "org_number", "contact_email", "contact_phone", "organisation_type"}
    assert fields["name"] == "Ange företagets namn."
    assert "kontrollsiffra" in fields["org_number"]
    assert "nobody@" in fields["contact_email"]
    assert list_companies(db) == []


def test_an_organisation_number_is_required(db):
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData(name="Utan Nummer AB", org_number=""))
    assert set(err.value.by_field) == {"org_number"}


def test_messages_follow_the_language(db):
    i18n.set_language("en")
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData(name="", org_number=ORG_A))
    assert err.value.by_field == {"name": "Enter the company's name."}


def test_the_same_organisation_number_is_refused_naming_the_company(db):
    create_company(db, CompanyData("Kalmar Stål AB", ORG_A))
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData("Annat Namn AB", ORG_A.replace("-", "")))
    assert "Kalmar Stål AB" in err.value.by_field["org_number"]
    assert len(list_companies(db)) == 1


def test_update_changes_the_record_and_keeps_its_own_org_number(db):
    cid = create_company(db, CompanyData("Kalmar Stål AB", ORG_A))
    update_company(db, cid, CompanyData("Kalmar Stål & Svets AB", ORG_A, municipality="Nybro"))
    data = get_company(db, cid).data
    assert (data.name, data.municipality) == ("Kalmar Stål & Svets AB", "Nybro")


def test_a_failed_update_writes_nothing(db):
    cid = create_company(db, CompanyData("Kalmar Stål AB", ORG_A))
    with pytest.raises(ValidationError):
        update_company(db, cid, CompanyData("Nytt Namn AB", "123"))
    assert get_company(db, cid).data.name == "Kalmar Stål AB"


def test_unknown_company(db):
    with pytest.raises(NotFound):
        get_company(db, "no-such-id")
    with pytest.raises(NotFound):
        update_company(db, "no-such-id", CompanyData("X AB", ORG_A))


def test_list_counts_participants_and_courses(db):
    a = create_company(db, CompanyData("Alfa Verkstad AB", ORG_A))
    create_company(db, CompanyData("Beta Trä AB", ORG_B, municipality="Vimmerby"))
    p1 = create_participant(db, ParticipantData("Anna", "Ek", pnr("800101", "002"), company_id=a))
    p2 = create_participant(db, ParticipantData("Bo", "Al", pnr("800102", "013"), company_id=a))
    p3 = create_participant(db, ParticipantData("Cia", "Ås", pnr("800103", "024"), company_id=a))
    k1 = create_course(db, CourseData("K1", "Svets"))
    k2 = create_course(db, CourseData("K2", "Lean"))
    k3 = create_course(db, CourseData("K3", "Truck"))
    enroll(db, k1, [p1, p2])
    enroll(db, k2, [p1])
    enroll(db, k3, [p3])
    withdraw(db, list_enrollments(db, k3)[0].id)  # withdrawn: no longer a course of theirs
    delete_participant(db, p2)
    rows = {r.name: r for r in list_companies(db)}
    assert (rows["Alfa Verkstad AB"].participants, rows["Alfa Verkstad AB"].courses) == (2, 2)
    assert (rows["Beta Trä AB"].participants, rows["Beta Trä AB"].courses) == (0, 0)
    assert rows["Beta Trä AB"].municipality == "Vimmerby"
    assert [r.name for r in list_companies(db)] == ["Alfa Verkstad AB", "Beta Trä AB"]


def test_search_matches_every_word_in_name_number_municipality_and_industry(db):
    create_company(db, CompanyData("Alfa Verkstad AB", ORG_A, municipality="Kalmar", industry="Metall"))
    create_company(db, CompanyData("Beta Trä AB", ORG_B, municipality="Västervik", industry="Trä"))
    assert [r.name for r in list_companies(db, "alfa")] == ["Alfa Verkstad AB"]
    assert [r.name for r in list_companies(db, "METALL kalmar")] == ["Alfa Verkstad AB"]
    assert [r.name for r in list_companies(db, ORG_B[:6])] == ["Beta Trä AB"]
    assert [r.name for r in list_companies(db, "västervik")] == ["Beta Trä AB"]
    assert [r.name for r in list_companies(db, "TRÄ")] == ["Beta Trä AB"]
    assert list_companies(db, "gamma") == []
    assert list_companies(db, "100%") == []


def test_soft_delete_hides_and_restore_brings_back(db):
    cid = create_company(db, CompanyData("Alfa Verkstad AB", ORG_A))
    pid = create_participant(db, ParticipantData("Anna", "Ek", pnr("800101", "002"), company_id=cid))
    delete_company(db, cid)
    assert list_companies(db) == []
    with pytest.raises(NotFound):
        get_company(db, cid)
    assert get_participant(db, pid).company_name == ""
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData("Alfa Igen AB", ORG_A))
    assert err.value.by_field["org_number"] == (
        f"{ORG_A} tillhör det borttagna företaget Alfa Verkstad AB: återställ det i stället."
    )
    restore_company(db, cid)
    assert [r.id for r in list_companies(db)] == [cid]
    assert get_participant(db, pid).company_name == "Alfa Verkstad AB"
    with pytest.raises(NotFound):
        delete_company(db, "no-such-id")


def test_detail_lists_the_employees_and_needs(db):
    cid = create_company(db, CompanyData("Alfa Verkstad AB", ORG_A))
    create_participant(db, ParticipantData("Anna", "Ek", pnr("800101", "002"), company_id=cid))
    create_participant(db, ParticipantData("Bo", "Al", pnr("800102", "013")))
    create_need(db, NeedData(cid, "2026-02-01", "Svetsbehörighet"))
    detail = get_company(db, cid)
    assert [p.full_name for p in detail.participants] == ["Anna Ek"]
    assert [n.description for n in detail.needs] == ["Svetsbehörighet"]


def test_validate_without_saving(db):
    from app.services.companies import validate_company

    validate_company(db, CompanyData("Alfa AB", ORG_A))
    with pytest.raises(ValidationError) as err:
        validate_company(db, CompanyData("Alfa AB", "1"))
    assert set(err.value.by_field) == {"org_number"}
    assert list_companies(db) == []


def test_texts_must_fit_their_columns(db):
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData("N" * 201, ORG_A, industry="I" * 201, contact_name="C" * 201))
    assert set(err.value.by_field) == {"name", "industry", "contact_name"}


def test_company_choices_are_names_in_swedish_order_without_deleted(db):
    from app.services.companies import CompanyData, company_choices, create_company, delete_company

    a = create_company(db, CompanyData(name="Östra Verkstad AB", org_number="556036-0793"))
    b = create_company(db, CompanyData(name="Alfa Plåt AB", org_number="556016-0680"))
    gone = create_company(db, CompanyData(name="Borta AB", org_number="212000-0142"))
    delete_company(db, gone)
    assert company_choices(db) == [(b, "Alfa Plåt AB"), (a, "Östra Verkstad AB")]
