"""Every write decides inside the lock: two writers (two Database objects on one file, as two
processes have) that check an identity or free places at the same moment never both win; and
should the database's unique index still refuse a row, the user gets the form's message."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from stdnum import luhn

from app import i18n
from app.db import Database, copy_database_file
from app.errors import UserError, ValidationError
from app.interchange import participant_list
from app.models import Company, Enrollment, Participant
from app.services import companies, participants
from app.services.companies import CompanyData, create_company, delete_company, restore_company
from app.services.courses import CourseData, create_course
from app.services.enrollments import enroll
from app.services.participants import ParticipantData, create_participant
from app.validation import normalize_org_number


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")


def org_number(i: int) -> str:
    body = f"556{i:06d}"
    return body + luhn.calc_check_digit(body)


def personal_number(i: int) -> str:
    body = f"8501{(i % 28) + 1:02d}{i % 1000:03d}"
    return "19" + body + luhn.calc_check_digit(body)


@pytest.fixture
def two(tmp_path, migrated_template):
    """Two handles on one database file, like two Kursdesk processes."""
    path = tmp_path / "kursdesk.db"
    copy_database_file(migrated_template, path)
    a, b = Database(path), Database(path)
    yield a, b
    a.dispose()
    b.dispose()


def _race(fns):
    """Run the callables at the same moment; their results or exceptions."""
    barrier = threading.Barrier(len(fns))
    out: list = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _unique_index(db: Database, name: str, table: str, column: str) -> None:
    """The partial unique index over live rows (migration 0003 adds it to the schema)."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({column}) WHERE deleted_at IS NULL"
        )


def test_the_same_organisation_number_at_once_is_created_once(two):
    a, b = two
    for i in range(12):
        org = org_number(i)
        out = _race([lambda db=db, n=n: create_company(db, CompanyData(name=f"AB {n}", org_number=org)) for n, db in enumerate((a, b))])
        won = [r for r in out if isinstance(r, str)]
        lost = [r for r in out if isinstance(r, ValidationError)]
        assert len(won) == 1 and len(lost) == 1, out
        assert "already registered" in lost[0].by_field["org_number"]
    with a.read() as s:
        assert s.scalar(select(func.count()).select_from(Company)) == 12


def test_the_same_person_at_once_is_registered_once(two):
    a, b = two
    for i in range(12):
        pnr = personal_number(i)
        out = _race([lambda db=db: create_participant(db, ParticipantData("Åsa", "Lind", pnr)) for db in (a, b)])
        assert sum(isinstance(r, str) for r in out) == 1, out
        assert sum(isinstance(r, ValidationError) for r in out) == 1, out
    with a.read() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 12


def test_two_enrolments_at_once_never_overbook_a_course(two):
    a, b = two
    course = create_course(a, CourseData(code="CNC-1", title="CNC", capacity=4))
    people = [create_participant(a, ParticipantData("P", str(i), personal_number(100 + i))) for i in range(10)]
    out = _race([lambda: enroll(a, course, people[:5]), lambda: enroll(b, course, people[5:])])
    assert all(not isinstance(r, Exception) for r in out), out
    assert sum(len(r.enrolled) for r in out) == 4
    assert sum(len(r.waitlisted) for r in out) == 6
    with a.read() as s:
        taken = s.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course, Enrollment.status == "enrolled")
        )
    assert taken == 4


def _miss_once(monkeypatch, module, name, missing):
    """The identity check misses the clash once (as if the other record arrived unchecked)."""
    real = getattr(module, name)
    calls = []

    def fake(*args, **kwargs):
        calls.append(1)
        return missing if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(module, name, fake)
    return calls


def test_the_unique_index_behind_a_missed_personnummer_check_gives_the_forms_message(db, monkeypatch):
    _unique_index(db, "uq_test_participants_pnr", "participants", "personal_number")
    create_participant(db, ParticipantData("Åsa", "Lind", personal_number(1)))
    _miss_once(monkeypatch, participants, "_same_person", None)
    with pytest.raises(ValidationError) as err:
        create_participant(db, ParticipantData("Åsa", "Lindqvist", personal_number(1)))
    assert "is already registered as Åsa Lind" in err.value.by_field["personal_number"]


def test_the_unique_index_behind_a_missed_org_number_check_gives_the_forms_message(db, monkeypatch):
    _unique_index(db, "uq_test_companies_org", "companies", "org_number")
    create_company(db, CompanyData(name="Verkstad AB", org_number=org_number(1)))
    _miss_once(monkeypatch, companies, "_same_org", [])
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData(name="Verkstaden", org_number=org_number(1)))
    assert "is already registered for Verkstad AB" in err.value.by_field["org_number"]


def test_a_unique_refusal_the_recheck_cannot_explain_is_still_a_clear_message(db, monkeypatch):
    _unique_index(db, "uq_test_companies_org", "companies", "org_number")
    create_company(db, CompanyData(name="Verkstad AB", org_number=org_number(1)))
    monkeypatch.setattr(companies, "_same_org", lambda *a, **k: [])
    with pytest.raises(ValidationError) as err:
        create_company(db, CompanyData(name="Verkstaden", org_number=org_number(1)))
    assert "same identity at the same moment" in str(err.value)


def test_restoring_a_company_whose_number_is_registered_again_is_refused(db):
    first = create_company(db, CompanyData(name="Verkstad AB", org_number=org_number(2)))
    delete_company(db, first)
    with db.write() as s:  # e.g. from a partner's laptop through sync
        s.add(Company(name="Nya Verkstad AB", org_number=normalize_org_number(org_number(2))))
    with pytest.raises(UserError) as err:
        restore_company(db, first)
    assert "Nya Verkstad AB" in str(err.value)


def test_a_list_import_refused_by_the_unique_index_names_the_rows_and_imports_nothing(db, tmp_path, monkeypatch):
    _unique_index(db, "uq_test_participants_pnr", "participants", "personal_number")
    course = create_course(db, CourseData(code="SV-1", title="Svets"))
    lst = tmp_path / "lista.csv"
    lst.write_text(
        f"Förnamn;Efternamn;Personnummer\nÅsa;Lind;{personal_number(5)}\nBo;Ek;{personal_number(6)}\n",
        encoding="utf-8",
    )
    preview = participant_list.preview_import(db, lst, course)
    create_participant(db, ParticipantData("Åsa", "Lind", personal_number(5)))  # arrives meanwhile
    _miss_once(monkeypatch, participant_list, "_existing_people", {})
    with pytest.raises(UserError) as err:
        participant_list.apply_import(db, preview)
    text = str(err.value)
    assert "Line 2:" in text and "already registered as Åsa Lind" in text and "Nothing was imported" in text
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 1
        assert s.scalar(select(func.count()).select_from(Enrollment)) == 0
    # imported again, the person is matched
    result = participant_list.apply_import(db, participant_list.preview_import(db, lst, course))
    assert (result.created, result.matched, result.enrolled) == (1, 1, 2)
