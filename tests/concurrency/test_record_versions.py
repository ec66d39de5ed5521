"""Record versions: a form remembers the version it opened, and saving a record a colleague
saved since does not overwrite their values; it raises StaleEdit with both values of each field.
Two Database objects on one database stand for two coordinators (two processes)."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select

from app.concurrency import StaleEdit, laptop_user
from app.db import Database
from app.models import Company
from app.services.companies import CompanyData, create_company, get_company, update_company
from app.services.courses import CourseData, create_course, get_course, update_course
from app.services.participants import ParticipantData, create_participant, get_participant, update_participant

pytestmark = pytest.mark.usefixtures("english")  # the messages compared are English


def test_a_record_starts_at_version_1_and_every_save_moves_it_on(db):
    cid = create_company(db, CompanyData(name="Verkstad AB", org_number="556036-0793"))
    assert get_company(db, cid).version == 1
    update_company(db, cid, CompanyData(name="Verkstad AB (Västervik)", org_number="556036-0793"))
    update_company(db, cid, CompanyData(name="Verkstad i Västervik AB", org_number="556036-0793"))
    assert get_company(db, cid).version == 3


def test_saving_a_company_a_colleague_changed_since_raises_both_values_and_writes_nothing(db, colleague):
    cid = create_company(db, CompanyData(name="Verkstad AB", org_number="556036-0793", industry="Metall"))
    opened = get_company(db, cid)
    # the colleague saves a new name; this coordinator, from the form opened before, a new industry
    update_company(colleague, cid, CompanyData(name="Verkstad Nord AB", org_number="556036-0793", industry="Metall"),
                   version=get_company(colleague, cid).version)
    mine = CompanyData(name="Verkstad AB", org_number="556036-0793", industry="Trä")
    with pytest.raises(StaleEdit) as caught:
        update_company(db, cid, mine, version=opened.version)
    clashes = {c.field: (c.mine, c.theirs) for c in caught.value.clashes}
    assert clashes == {"name": ("Verkstad AB", "Verkstad Nord AB"), "industry": ("Trä", "Metall")}
    assert caught.value.version == 2
    assert caught.value.changed_by == current_writer_of(colleague)
    assert "name, industry" in str(caught.value) and "nothing was saved" in str(caught.value)
    assert (get_company(db, cid).data.name, get_company(db, cid).data.industry) == ("Verkstad Nord AB", "Metall")
    # "keep mine": saved again from the version the prompt showed
    update_company(db, cid, mine, version=caught.value.version)
    assert (get_company(db, cid).data.name, get_company(db, cid).version) == ("Verkstad AB", 3)


def test_a_save_equal_to_the_colleagues_values_is_no_clash(db, colleague):
    cid = create_company(db, CompanyData(name="Verkstad AB", org_number="556036-0793"))
    opened = get_company(db, cid).version
    same = CompanyData(name="Verkstad Syd AB", org_number="556036-0793")
    update_company(colleague, cid, same, version=opened)
    update_company(db, cid, same, version=opened)  # nothing of anyone's is lost: no prompt
    assert get_company(db, cid).data.name == "Verkstad Syd AB"


def test_participants_and_courses_are_protected_the_same_way(db, colleague):
    pid = create_participant(db, ParticipantData("Åsa", "Öberg", "198112189876", email="asa@example.se"))
    opened = get_participant(db, pid)
    update_participant(colleague, pid, ParticipantData("Åsa", "Öberg", "198112189876", email="asa.oberg@example.se"))
    with pytest.raises(StaleEdit) as caught:
        update_participant(db, pid, ParticipantData("Åsa", "Öberg-Lind", "198112189876", email="asa@example.se"),
                           version=opened.version)
    assert {c.field for c in caught.value.clashes} == {"last_name", "email"}
    assert get_participant(db, pid).data.last_name == "Öberg"

    course = create_course(db, CourseData(code="SVETS-1", title="Svetsning", capacity=10))
    opened = get_course(db, course).version
    update_course(colleague, course, CourseData(code="SVETS-1", title="Svetsning", capacity=12))
    with pytest.raises(StaleEdit) as caught:
        update_course(db, course, CourseData(code="SVETS-1", title="Svetsning grund", capacity=10), version=opened)
    assert {(c.field, c.mine, c.theirs) for c in caught.value.clashes} == {
        ("title", "Svetsning grund", "Svetsning"), ("capacity", 10, 12)}
    assert get_course(db, course).data.capacity == 12


def current_writer_of(db: Database) -> str:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT current_user").scalar() if not db.is_sqlite else getpass.getuser()


def test_every_write_records_its_writer(db):
    cid = create_company(db, CompanyData(name="Verkstad AB", org_number="556036-0793"))
    with db.read() as s:
        assert s.execute(select(Company.changed_by).where(Company.id == cid)).scalar() == current_writer_of(db)
    with db.write() as s:  # a bulk statement (imports, sync) records it too
        s.execute(Company.__table__.update().values(changed_by="nobody"))
        s.execute(Company.__table__.update().values(industry="Metall"))
    with db.read() as s:
        assert s.execute(select(Company.changed_by)).scalar() == current_writer_of(db)
    assert laptop_user() == getpass.getuser()


def test_a_change_arriving_by_sync_moves_the_version_on_so_an_open_form_asks(tmp_path):
    from app.sync import setup_folder, sync
    from tests.sync.conftest import fresh_db

    share = tmp_path / "share"
    setup_folder(share, tmp_path / "programme.key")
    here, there = fresh_db(tmp_path / "here.db"), fresh_db(tmp_path / "there.db")
    try:
        cid = create_company(here, CompanyData(name="Verkstad AB", org_number="556036-0793"))
        sync(here, share), sync(there, share)
        opened = get_company(there, cid)  # a form open on the other laptop
        update_company(here, cid, CompanyData(name="Verkstad Nord AB", org_number="556036-0793"))
        sync(here, share), sync(there, share)
        assert get_company(there, cid).version > opened.version
        with pytest.raises(StaleEdit) as caught:
            update_company(there, cid, CompanyData(name="Verkstad Syd AB", org_number="556036-0793"),
                           version=opened.version)
        assert [(c.field, c.mine, c.theirs) for c in caught.value.clashes] == [
            ("name", "Verkstad Syd AB", "Verkstad Nord AB")]
    finally:
        here.dispose()
        there.dispose()
