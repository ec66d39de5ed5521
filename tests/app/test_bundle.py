"""The JSON bundle: lossless round trip, updates by id, and the refusals (whole bundle or nothing)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import date, datetime, time

import pytest

from app.db import Database, table_counts
from app.demo import fill_demo
from app.errors import UserError, ValidationError
from app.interchange import bundle
from app.interchange.bundle import export_bundle, import_bundle, need_course_id
from app.models import (
    Attendance,
    Certificate,
    Course,
    CourseSession,
    NeedCourse,
    NeedsAnalysis,
    OriginalReceived,
    Participant,
    attendance_id,
    new_id,
)

TODAY = date(2026, 3, 18)
PNR = "198112189876"  # Skatteverket's well-known example number (valid check digit)


def load(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("exported_at")
    return data


def record_counts(db):
    # records only: not sync's bookkeeping, the settings, the audit log (an export is logged) or the
    # month status's own (app/services/month_stamps.py)
    return {k: v for k, v in table_counts(db).items()
            if not k.startswith("sync_") and k not in ("settings", "gdpr_audit", "month_stamps", "month_checks")}


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """The demo filled once per module; each test gets its own copy."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    database = Database(path)
    fill_demo(database, today=TODAY)
    with database.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def demo_db(demo_template, tmp_path):
    path = tmp_path / "demo.db"
    shutil.copyfile(demo_template, path)
    database = Database(path)
    yield database
    database.dispose()


@pytest.fixture
def fresh(tmp_path):
    databases = []

    def make(name="other.db"):
        database = Database(tmp_path / name)
        databases.append(database)
        return database

    yield make
    for database in databases:
        database.dispose()


def minimal(**lists):
    data = {"format": "kursdesk-bundle", "version": 1, "exported_at": "2026-01-01T00:00:00Z"}
    data.update(lists)
    return data


def write(tmp_path, data, name="in.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def company(cid=None, **extra):
    rec = {"id": cid or new_id(), "name": "Påryds Verkstäder AB", "org_number": "556036-0793",
           "municipality": "Kalmar"}
    rec.update(extra)
    return rec


def participant(pid=None, company_id=None, **extra):
    rec = {"id": pid or new_id(), "first_name": "Łukasz", "last_name": "Świątek", "personal_number": PNR,
           "gender": "", "email": "", "phone": "", "company_id": company_id}
    rec.update(extra)
    return rec


def course(cid=None, code="SVETS-1", **extra):
    rec = {"id": cid or new_id(), "code": code, "title": "MIG/MAG-svetsning", "provider_id": None}
    rec.update(extra)
    return rec


def session(sid=None, course_id=None, **extra):
    rec = {"id": sid or new_id(), "course_id": course_id, "date": "2026-02-03", "start": "08:00", "end": "12:00",
           "location": "", "teacher": "", "cancelled": False}
    rec.update(extra)
    return rec


# --- round trip -------------------------------------------------------------------------------

def test_round_trip_of_the_demo_gives_the_same_records(demo_db, fresh, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    counts = export_bundle(demo_db, a)
    other = fresh()
    assert import_bundle(other, a) == counts
    export_bundle(other, b)
    assert load(a) == load(b)
    assert record_counts(other) == record_counts(demo_db)
    assert counts["participants"] == 120 and counts["attendance"] > 300


def test_export_is_deterministic_and_sorted_by_id(demo_db, tmp_path):
    export_bundle(demo_db, tmp_path / "1.json")
    export_bundle(demo_db, tmp_path / "2.json")
    one = (tmp_path / "1.json").read_text(encoding="utf-8").splitlines()
    two = (tmp_path / "2.json").read_text(encoding="utf-8").splitlines()
    assert one[1:] == two[1:]  # only the first line (with exported_at) may differ
    data = load(tmp_path / "1.json")
    assert data["format"] == "kursdesk-bundle" and data["version"] == 1
    assert list(data)[2:] == [t.key for t in bundle.TYPES]
    for key in ("participants", "attendance", "sessions"):
        ids = [r["id"] for r in data[key]]
        assert ids == sorted(ids)


def test_values_are_written_in_the_documented_forms(demo_db, tmp_path):
    export_bundle(demo_db, tmp_path / "a.json")
    data = load(tmp_path / "a.json")
    s = data["sessions"][0]
    assert set(s) >= {"id", "course_id", "date", "start", "end", "location", "teacher", "cancelled"}
    assert len(s["date"]) == 10 and s["date"][4] == "-" and len(s["start"]) == 5 and s["start"][2] == ":"
    assert isinstance(s["cancelled"], bool)
    p = data["participants"][0]
    assert len(p["personal_number"]) == 12 and p["personal_number"].isdigit()
    assert p["gender"] in ("female", "male")
    c = data["courses"][0]
    assert {"learning_outcomes", "capacity", "certificate_language", "min_attendance_percent"} <= set(c)
    assert {"course_ids", "date", "target_groups"} <= set(data["needs"][0])
    assert all(n["course_ids"] for n in data["needs"])
    assert {"certificate_language", "status"} <= set(data["enrollments"][0])
    assert {"organisation_type", "contact_email"} <= set(data["companies"][0])
    assert "hourly_wage_cost" not in data["companies"][0] and "hourly_wage_cost" not in p
    assert {"protected", "project_start", "project_end", "exit_reason", "exit_status", "employment_terms",
            "employment_extent", "formal_qualification"} <= set(p)
    statuses = {m["status"] for m in data["attendance"]}
    assert statuses == {"present", "late", "excused", "absent"}
    assert all(m["minutes"] is not None for m in data["attendance"] if m["status"] == "late")


def test_soft_deleted_records_and_frozen_pdfs_survive_the_round_trip(demo_db, fresh, tmp_path):
    pdf = b"%PDF-1.4\n\xe5\xe4\xf6 frozen certificate\n%%EOF\n"
    with demo_db.write() as s:
        person = s.query(Participant).order_by(Participant.id).first()
        person.deleted_at = datetime(2026, 3, 1, 12, 0, 0)
        crs = s.query(Course).order_by(Course.id).first()
        first = Certificate(id=new_id(), number="KD-2026-0001", verification_code="ABCD-1234", course_id=crs.id,
                            participant_id=person.id, issued_on=date(2026, 2, 1), language="sv",
                            revoked_on=date(2026, 2, 10), revoke_reason="Fel namn", pdf=pdf,
                            pdf_sha256=hashlib.sha256(pdf).hexdigest())
        s.add(first)
        s.flush()
        s.add(Certificate(id=new_id(), number="KD-2026-0002", verification_code="EFGH-5678", course_id=crs.id,
                          participant_id=person.id, issued_on=date(2026, 2, 10), language="en",
                          supersedes_id=first.id, pdf=pdf + b" ", pdf_sha256=""))
        s.add(OriginalReceived(participant_id=person.id, month="2026-02", received_on=date(2026, 3, 5)))
        deleted_id, first_id = person.id, first.id
    export_bundle(demo_db, tmp_path / "a.json")
    data = load(tmp_path / "a.json")
    exported = {c["number"]: c for c in data["certificates"]}
    assert base64.b64decode(exported["KD-2026-0001"]["pdf"]) == pdf
    assert exported["KD-2026-0002"]["supersedes_id"] == first_id
    other = fresh()
    import_bundle(other, tmp_path / "a.json")
    with other.read() as s:
        assert s.get(Participant, deleted_id).deleted_at == datetime(2026, 3, 1, 12, 0, 0)
        restored = s.query(Certificate).filter_by(number="KD-2026-0001").one()
        assert restored.pdf == pdf and restored.revoke_reason == "Fel namn"
        assert s.query(OriginalReceived).filter_by(participant_id=deleted_id).one().month == "2026-02"
    export_bundle(other, tmp_path / "b.json")
    assert load(tmp_path / "a.json") == load(tmp_path / "b.json")


# --- updates and written forms ------------------------------------------------------------------

def test_records_are_matched_by_id_and_updated(demo_db, tmp_path):
    export_bundle(demo_db, tmp_path / "a.json")
    data = load(tmp_path / "a.json")
    data["participants"][0]["last_name"] = "Öberg-Świątek"
    data["courses"][0]["capacity"] = 99
    before = record_counts(demo_db)
    import_bundle(demo_db, write(tmp_path, data))
    assert record_counts(demo_db) == before
    with demo_db.read() as s:
        assert s.get(Participant, data["participants"][0]["id"]).last_name == "Öberg-Świątek"
        assert s.get(Course, data["courses"][0]["id"]).capacity == 99


def test_needs_links_follow_course_ids(demo_db, tmp_path):
    export_bundle(demo_db, tmp_path / "a.json")
    data = load(tmp_path / "a.json")
    need = data["needs"][0]
    dropped, kept = need["course_ids"][0], need["course_ids"][1:]
    extra = next(c["id"] for c in data["courses"] if c["id"] not in need["course_ids"])
    need["course_ids"] = kept + [extra]
    import_bundle(demo_db, write(tmp_path, data))
    with demo_db.read() as s:
        links = {l.course_id: l for l in s.query(NeedCourse).filter_by(need_id=need["id"])}
    assert links[dropped].deleted_at is not None
    assert links[extra].deleted_at is None and links[extra].id == need_course_id(need["id"], extra)
    assert all(links[k].deleted_at is None for k in kept)


def test_written_personnummer_forms_are_stored_as_twelve_digits_and_gender_derived(db, tmp_path):
    c = company()
    # three people (one personnummer is one person), each written in another form
    people = [participant(company_id=c["id"], personal_number=form)
              for form in ("19811218-9876", "900101-1239", "8506152340")]
    import_bundle(db, write(tmp_path, minimal(companies=[c], participants=people)))
    with db.read() as s:
        stored = {(p.personal_number, p.gender) for p in s.query(Participant)}
    assert stored == {(PNR, "male"), ("199001011239", "male"), ("198506152340", "female")}


def test_minimal_records_get_the_defaults(db, tmp_path):
    cid = new_id()
    data = minimal(courses=[{"id": cid, "code": "LEAN-1", "title": "Lean produktion"}])
    import_bundle(db, write(tmp_path, data))
    with db.read() as s:
        c = s.get(Course, cid)
    assert (c.min_attendance_percent, c.certificate_language, c.description, c.capacity) == (80, "sv", "", None)


# --- refusals ------------------------------------------------------------------------------------

def refused(db, tmp_path, data):
    """Import must fail, write nothing, and return the problems."""
    path = data if not isinstance(data, dict) else write(tmp_path, data)
    counts = record_counts(db)
    export_bundle(db, tmp_path / "before.json")
    with pytest.raises(ValidationError) as info:
        import_bundle(db, path)
    assert record_counts(db) == counts
    export_bundle(db, tmp_path / "after.json")
    assert load(tmp_path / "before.json") == load(tmp_path / "after.json")
    return info.value.problems


def test_invalid_personnummer_is_refused_with_its_record(demo_db, tmp_path):
    bad = participant(personal_number="19811218-9875")
    problems = refused(demo_db, tmp_path, minimal(participants=[bad]))
    assert [(p.record_type, p.record_id, p.field) for p in problems] == [("participants", bad["id"], "personal_number")]
    assert "9875" not in str(problems[0])  # messages mask the number


def test_unknown_foreign_key_is_refused(demo_db, tmp_path):
    ghost = new_id()
    rec = session(course_id=ghost)
    problems = refused(demo_db, tmp_path, minimal(sessions=[rec]))
    assert [(p.record_type, p.record_id, p.field) for p in problems] == [("sessions", rec["id"], "course_id")]
    assert ghost in problems[0].message


def test_foreign_keys_resolve_against_the_database(demo_db, tmp_path):
    with demo_db.read() as s:
        course_id = s.query(Course.id).first()[0]
    rec = session(course_id=course_id)
    import_bundle(demo_db, write(tmp_path, minimal(sessions=[rec])))
    with demo_db.read() as s:
        assert s.get(CourseSession, rec["id"]).start_time == time(8, 0)


def test_session_ending_before_it_starts_is_refused(demo_db, tmp_path):
    c = course()
    rec = session(course_id=c["id"], start="13:00", end="12:00")
    problems = refused(demo_db, tmp_path, minimal(courses=[c], sessions=[rec]))
    assert [(p.record_type, p.record_id, p.field) for p in problems] == [("sessions", rec["id"], "end")]


def test_malformed_json_names_line_and_column(demo_db, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "kursdesk-bundle",\n "version": 1,\n "providers": [}\n', encoding="utf-8")
    problems = refused(demo_db, tmp_path, path)
    assert len(problems) == 1
    assert " 3" in problems[0].message and " 16" in problems[0].message  # line 3, column 16


def test_missing_file_is_a_user_error(db, tmp_path):
    with pytest.raises(UserError):
        import_bundle(db, tmp_path / "nothing.json")


def test_wrong_format_and_version_are_refused(db, tmp_path):
    problems = refused(db, tmp_path, {"format": "other", "version": 2})
    assert {p.field for p in problems} == {"format", "version"}


def test_every_problem_is_listed_at_once(demo_db, tmp_path):
    c = company(org_number="556036-0794", contact_email="inte en adress")
    p = participant(company_id=c["id"], gender="okänd")
    del p["first_name"]
    p["last_name"] = 7
    crs = course(min_attendance_percent=120, certificate_language="de")
    enr = {"id": new_id(), "course_id": crs["id"], "participant_id": p["id"], "status": "maybe"}
    mark = {"id": new_id(), "session_id": new_id(), "participant_id": p["id"], "status": "late", "minutes": None}
    problems = refused(demo_db, tmp_path, minimal(companies=[c], participants=[p], courses=[crs],
                                                 enrollments=[enr], attendance=[mark]))
    got = {(p.record_type, p.field) for p in problems}
    assert got == {
        ("companies", "org_number"), ("companies", "contact_email"),
        ("participants", "first_name"), ("participants", "last_name"), ("participants", "gender"),
        ("courses", "min_attendance_percent"), ("courses", "certificate_language"),
        ("enrollments", "status"), ("attendance", "minutes"), ("attendance", "session_id"),
    }


def test_bad_types_and_dates_are_refused(db, tmp_path):
    c = course()
    recs = [session(course_id=c["id"], date="2026-02-30"), session(course_id=c["id"], start=800),
            session(course_id=c["id"], cancelled="no"), session(course_id=c["id"], created_at="igår")]
    problems = refused(db, tmp_path, minimal(courses=[c], sessions=recs, providers="none"))
    got = sorted((p.record_type, p.field) for p in problems)
    assert got == [("providers", ""), ("sessions", "cancelled"), ("sessions", "created_at"),
                   ("sessions", "date"), ("sessions", "start")]


def test_duplicates_are_refused(demo_db, tmp_path):
    with demo_db.read() as s:
        existing_code = s.query(Course.code).first()[0]
        mark = s.query(Attendance).first()
        mark_session, mark_person = mark.session_id, mark.participant_id
    same = new_id()
    a, b = course(cid=same, code="X-1"), course(cid=same, code="X-2")
    c1, c2 = course(code="DUP"), course(code="DUP")
    c3 = course(code=existing_code)
    p = participant()
    e1 = {"id": new_id(), "course_id": c1["id"], "participant_id": p["id"], "status": "enrolled"}
    e2 = {"id": new_id(), "course_id": c1["id"], "participant_id": p["id"], "status": "waitlisted"}
    m = {"id": new_id(), "session_id": mark_session, "participant_id": mark_person, "status": "present"}
    problems = refused(demo_db, tmp_path, minimal(courses=[a, b, c1, c2, c3], participants=[p],
                                                  enrollments=[e1, e2], attendance=[m]))
    got = sorted((p.record_type, p.record_id, p.field) for p in problems)
    assert got == sorted([
        ("courses", same, "id"), ("courses", c2["id"], "code"), ("courses", c3["id"], "code"),
        ("enrollments", e2["id"], "participant_id"), ("attendance", m["id"], "participant_id"),
    ])


def test_the_same_mark_under_its_own_id_is_an_update_not_a_duplicate(demo_db, tmp_path):
    with demo_db.read() as s:
        mark = s.query(Attendance).filter_by(status="present").first()
        rec = {"id": mark.id, "session_id": mark.session_id, "participant_id": mark.participant_id,
               "status": "excused", "note": "Sjuk"}
    assert rec["id"] == attendance_id(rec["session_id"], rec["participant_id"])
    import_bundle(demo_db, write(tmp_path, minimal(attendance=[rec])))
    with demo_db.read() as s:
        assert s.get(Attendance, rec["id"]).status == "excused"


def test_pdf_not_matching_its_checksum_is_refused(demo_db, tmp_path):
    with demo_db.read() as s:
        crs, person = s.query(Course.id).first()[0], s.query(Participant.id).first()[0]
    cert = {"id": new_id(), "number": "KD-1", "verification_code": "V-1", "course_id": crs, "participant_id": person,
            "issued_on": "2026-03-01", "pdf": base64.b64encode(b"%PDF").decode(), "pdf_sha256": "0" * 64}
    problems = refused(demo_db, tmp_path, minimal(certificates=[cert]))
    assert [p.field for p in problems] == ["pdf"]


def test_failed_export_leaves_the_old_file_and_no_temporary_file(demo_db, tmp_path, monkeypatch):
    target = tmp_path / "out" / "bundle.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")

    def boom(session, rtype):
        raise RuntimeError("disk full")
        yield  # pragma: no cover

    monkeypatch.setattr(bundle, "_export_records", boom)
    with pytest.raises(RuntimeError):
        export_bundle(demo_db, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert list(target.parent.iterdir()) == [target]


def test_export_into_a_missing_folder_is_a_user_error(db, tmp_path):
    with pytest.raises(UserError):
        export_bundle(db, tmp_path / "missing" / "a.json")


def test_progress_is_reported_per_record_type(demo_db, fresh, tmp_path):
    seen = []
    export_bundle(demo_db, tmp_path / "a.json", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(bundle.TYPES), len(bundle.TYPES)) and len(seen) == len(bundle.TYPES)
    seen.clear()
    import_bundle(fresh(), tmp_path / "a.json", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(bundle.TYPES), len(bundle.TYPES))


def test_needs_round_trip_keeps_links(demo_db, fresh, tmp_path):
    export_bundle(demo_db, tmp_path / "a.json")
    other = fresh()
    import_bundle(other, tmp_path / "a.json")
    with demo_db.read() as s:
        want = sorted((l.need_id, l.course_id) for l in s.query(NeedCourse))
    with other.read() as s:
        got = sorted((l.need_id, l.course_id) for l in s.query(NeedCourse))
        assert s.query(NeedsAnalysis).count() == 6
    assert got == want and len(got) >= 6


def test_an_import_reaches_the_sync_log_by_the_first_publish(demo_db, fresh, tmp_path):
    from sqlalchemy import func, select

    from app.models import SyncChange
    from app.sync.engine import baseline

    counts = export_bundle(demo_db, tmp_path / "a.json")
    other = fresh()
    import_bundle(other, tmp_path / "a.json")

    def logged():
        with other.read() as s:
            return dict(s.execute(select(SyncChange.table_name, func.count()).group_by(SyncChange.table_name)).all())

    assert logged().get("attendance", 0) == 0  # not record by record during the import
    baseline(other)  # what the first publish does
    assert logged()["attendance"] == counts["attendance"]
    assert logged()["participants"] == counts["participants"]


def test_the_synthetic_benchmark_programme_passes_bundle_validation(tmp_path, fresh):
    from benchmarks.synthetic import ensure_large_db, expected_counts, generate, row_counts

    path = tmp_path / "synthetic.db"
    generate(path, scale=0.005)
    counts = row_counts(path)
    assert all(counts[table] == n for table, n in expected_counts(0.005).items())
    assert ensure_large_db(path, scale=0.005) == (path, None)  # reused: nothing regenerated
    source = Database(path)
    try:
        export_bundle(source, tmp_path / "s.json")
    finally:
        source.dispose()
    imported = import_bundle(fresh(), tmp_path / "s.json")
    assert imported["attendance"] == counts["attendance"] and imported["certificates"] == counts["certificates"]
