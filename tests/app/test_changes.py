"""Change sets from the write path: every committed write says which tables and rows it changed."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, update

from app.changes import ChangeSet, initiated_by
from app.models import Company, Course
from app.services import attendance as A
from tests.app.attendance_builders import build_course


@pytest.fixture
def feed(db):
    got: list[tuple[ChangeSet, object]] = []
    stop = db.changes.listen(lambda changes, initiator: got.append((changes, initiator)))
    yield got
    stop()


def test_an_orm_write_reports_its_table_and_ids(db, feed):
    with db.write() as s:
        company = Company(name="Verkstad AB", org_number="5560000001")
        s.add(company)
        s.flush()
    assert len(feed) == 1
    changes, initiator = feed[0]
    assert changes.ids("companies") == {company.id}
    assert initiator is None
    assert not changes.touches(["courses"])


def test_bulk_statements_report_inserted_ids_and_updated_tables(db, feed):
    with db.write() as s:
        s.execute(insert(Course), [{"id": "c-1", "code": "A1", "title": "A"}, {"id": "c-2", "code": "A2", "title": "B"}])
    with db.write() as s:
        s.execute(update(Course).where(Course.code == "A1").values(location="Kalmar"))
    assert feed[0][0].ids("courses") == {"c-1", "c-2"}
    assert feed[1][0].ids("courses") is None  # which rows a WHERE clause hit is not known: all of them
    assert feed[1][0].touches(["courses"])


def test_a_rolled_back_write_reports_nothing(db, feed):
    with pytest.raises(RuntimeError), db.write() as s:
        s.add(Company(name="Verkstad AB", org_number="5560000001"))
        s.flush()
        raise RuntimeError("stop")
    assert feed == []


def test_a_mark_reports_attendance_with_its_initiator_and_batches_merge(db, feed):
    built = build_course(db)
    feed.clear()
    page = object()
    with initiated_by(page), db.changes.batched():
        A.set_mark(db, built.session_ids[0], built.participant_ids[0], "present")
        A.set_mark(db, built.session_ids[0], built.participant_ids[1], "absent")
    assert len(feed) == 1
    changes, initiator = feed[0]
    assert initiator is page
    assert changes.touches(["attendance"]) and len(changes.ids("attendance")) == 2


@pytest.mark.sqlite_only  # puts a copy of the file back
def test_restoring_the_file_reports_everything(db, feed, tmp_path):
    backup = db.backup("test", tmp_path)
    db.restore(backup)
    assert feed[-1][0].all_tables and feed[-1][0].touches(["anything"])


def test_a_sync_import_reports_what_it_applied(tmp_path):
    from app.sync import sync
    from tests.sync.conftest import Lab, add_company

    lab = Lab(tmp_path, n=2)
    try:
        a, b = lab.laptops
        sync(a, lab.share, key_file=lab.key)
        sync(b, lab.share, key_file=lab.key)
        company_id = add_company(a)
        sync(a, lab.share)
        got: list[ChangeSet] = []
        b.changes.listen(lambda changes, _initiator: got.append(changes))
        with b.changes.batched():
            sync(b, lab.share)
        assert len(got) == 1
        ids = got[0].ids("companies")
        assert ids is None or company_id in ids
        assert got[0].touches(["companies"])
    finally:
        lab.close()


def test_a_bulk_update_by_primary_key_reports_exactly_those_ids(db, feed):
    rows = [{"id": f"c-{i}", "code": f"A{i}", "title": "A"} for i in range(3)]
    with db.write() as s:
        s.execute(insert(Course), rows)
    with db.write() as s:  # the ORM's bulk UPDATE by primary key (as a sync applies changes)
        s.execute(update(Course), [{"id": "c-0", "location": "Kalmar"}, {"id": "c-2", "title": "B"}])
    assert feed[-1][0].ids("courses") == {"c-0", "c-2"}
    with db.read() as s:
        assert {c.id: (c.location, c.title) for c in s.query(Course)} == {
            "c-0": ("Kalmar", "A"), "c-1": ("", "A"), "c-2": ("", "B")}


def test_core_updates_still_report_the_whole_table(db, feed):
    from sqlalchemy import bindparam

    courses = Course.__table__
    with db.write() as s:
        s.execute(insert(Course), [{"id": "c-1", "code": "A1", "title": "A"}])
    with db.write() as s:  # a Core UPDATE with a WHERE clause
        s.execute(courses.update().where(courses.c.code == "A1").values(location="Kalmar"))
    with db.write() as s:  # a Core executemany: its WHERE clause is not read for ids
        s.connection().execute(courses.update().where(courses.c.id == bindparam("b_id")), [{"b_id": "c-1", "title": "B"}])
    with db.write() as s:  # the ORM statement run as plain Core: each row's values go to every row
        s.execute(update(Course), [{"title": "C"}], execution_options={"dml_strategy": "core_only"})
    assert [changes.ids("courses") for changes, _initiator in feed[1:]] == [None, None, None]


def test_a_sync_applying_a_changed_mark_reports_its_id_and_bumps_only_its_month(tmp_path, monkeypatch):
    from datetime import date

    from sqlalchemy import delete, select

    from app.models import Attendance, CourseSession, MonthCheck
    from app.services import month_close as mc
    from app.services import month_stamps
    from app.sync import sync
    from tests.fixtures.report_month import build
    from tests.sync.conftest import Lab

    later = date(2026, 6, 1)
    lab = Lab(tmp_path, n=2)
    try:
        a, b = lab.laptops
        ids = build(a)
        for _ in range(2):
            for laptop in (a, b):
                sync(laptop, lab.share, key_file=lab.key)
        mc.month_status(b, today=later)  # B keeps its computation of March and April
        with a.read() as s:
            day = s.execute(select(CourseSession.id).where(CourseSession.course_id == ids["plc"],
                                                           CourseSession.date == date(2026, 3, 23))).scalar_one()
        A.set_mark(a, day, ids["bertil"], "absent")  # Bertil has marks in March only
        with a.read() as s:
            mark = s.execute(select(Attendance.id).where(Attendance.session_id == day,
                                                         Attendance.participant_id == ids["bertil"])).scalar_one()
        sync(a, lab.share)
        got: list[ChangeSet] = []
        b.changes.listen(lambda changes, _initiator: got.append(changes))
        with b.read() as s:
            before = month_stamps.stamps(s)
        with b.changes.batched():
            sync(b, lab.share)
        assert len(got) == 1 and got[0].ids("attendance") == {mark}
        with b.read() as s:
            after = month_stamps.stamps(s)
        assert {m for m in after if after[m] != before.get(m, 0)} == {"2026-03"}
        computed: list[list[str]] = []
        real = mc.current
        monkeypatch.setattr(mc, "current", lambda s, months, *args: computed.append([m.key for m in months]) or real(s, months, *args))
        kept = [st.as_json() for st in mc.month_status(b, today=later)]
        assert computed == [["2026-03"]]
        with b.write() as s:
            s.execute(delete(MonthCheck))
        assert kept == [st.as_json() for st in mc.month_status(b, today=later)]
    finally:
        lab.close()
