"""Needs analyses: validation, linked courses, edits of the links, soft delete and restore."""

from datetime import date

import pytest

from app.errors import NotFound, ValidationError
from app.models import NeedCourse
from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, create_course, delete_course
from app.services.needs import NeedData, create_need, delete_need, get_need, list_needs, restore_need, update_need


@pytest.fixture
def company(db):
    return create_company(db, CompanyData("Kalmar Stål AB", "556036-0793"))


def test_create_with_linked_courses(db, company):
    weld = create_course(db, CourseData("SV-1", "Svetsning"))
    lean = create_course(db, CourseData("LEAN-1", "Lean"))
    nid = create_need(
        db, NeedData(company, "2026-02-01", " Svetsbehörighet för\nfem operatörer ", "Operatörer", (weld, lean, weld))
    )
    row = get_need(db, nid)
    assert row.date == date(2026, 2, 1)
    assert row.description == "Svetsbehörighet för\nfem operatörer"
    assert row.target_groups == "Operatörer"
    assert row.course_codes == ("LEAN-1", "SV-1")
    assert row.course_ids == (lean, weld)


def test_validation_lists_every_problem_and_writes_nothing(db, company):
    with pytest.raises(ValidationError) as err:
        create_need(db, NeedData("no-such-company", "1 feb", " ", course_ids=("no-such-course",)))
    assert set(err.value.by_field) == {"company_id", "date", "description", "course_ids"}
    assert err.value.by_field["description"] == "Beskriv de identifierade behoven."
    assert list_needs(db, company) == []


def test_update_replaces_the_links_and_reuses_a_removed_one(db, company):
    weld = create_course(db, CourseData("SV-1", "Svetsning"))
    lean = create_course(db, CourseData("LEAN-1", "Lean"))
    nid = create_need(db, NeedData(company, date(2026, 2, 1), "Svets", course_ids=(weld,)))
    update_need(db, nid, NeedData(company, date(2026, 2, 2), "Svets och lean", course_ids=(lean,)))
    row = get_need(db, nid)
    assert (row.date, row.description, row.course_codes) == (date(2026, 2, 2), "Svets och lean", ("LEAN-1",))
    update_need(db, nid, NeedData(company, date(2026, 2, 2), "Svets och lean", course_ids=(weld, lean)))
    assert get_need(db, nid).course_codes == ("LEAN-1", "SV-1")
    with db.read() as s:
        assert s.query(NeedCourse).count() == 2  # the weld link was reactivated, not duplicated
    with pytest.raises(ValidationError):
        update_need(db, nid, NeedData(company, "", "x"))
    assert get_need(db, nid).date == date(2026, 2, 2)


def test_newest_first_and_deleted_courses_hidden(db, company):
    weld = create_course(db, CourseData("SV-1", "Svetsning"))
    old = create_need(db, NeedData(company, "2025-09-01", "Gammal"))
    new = create_need(db, NeedData(company, "2026-01-15", "Ny", course_ids=(weld,)))
    assert [n.id for n in list_needs(db, company)] == [new, old]
    delete_course(db, weld)
    assert get_need(db, new).course_codes == ()


def test_soft_delete_and_restore(db, company):
    nid = create_need(db, NeedData(company, "2026-01-15", "Ny"))
    delete_need(db, nid)
    assert list_needs(db, company) == []
    with pytest.raises(NotFound):
        get_need(db, nid)
    with pytest.raises(NotFound):
        update_need(db, nid, NeedData(company, "2026-01-15", "Ny"))
    restore_need(db, nid)
    assert [n.id for n in list_needs(db, company)] == [nid]
