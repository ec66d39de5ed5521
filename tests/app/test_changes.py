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
