"""Issue 11 "Safe on one laptop", the bundle's input: every field within app.limits, JSON within its
limits, one live record per identity; a refused bundle writes nothing and says what and where."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from app import limits
from app.errors import ValidationError
from app.interchange.bundle import export_bundle, import_bundle
from app.models import Company, Course, Participant, new_id
from tests.app.test_bundle import PNR, company, load, minimal, participant, record_counts, session, write


def refused(db, tmp_path, data, raw: bytes | None = None):
    """Import must fail with a ValidationError, write nothing; the problems."""
    path = tmp_path / "in.json"
    if raw is not None:
        path.write_bytes(raw)
    else:
        write(tmp_path, data)
    counts = record_counts(db)
    export_bundle(db, tmp_path / "before.json")
    with pytest.raises(ValidationError) as info:
        import_bundle(db, path)
    assert record_counts(db) == counts
    export_bundle(db, tmp_path / "after.json")
    assert load(tmp_path / "before.json") == load(tmp_path / "after.json")
    for problem in info.value.problems:
        assert "\n" not in str(problem) and len(str(problem)) < 400
    return info.value.problems


def fields(problems):
    return [(p.record_type, p.field) for p in problems]


# --- numbers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("literal", ["1e999999", "-1e999999", "NaN", "Infinity", "-Infinity", "9" * 5000])
def test_json_numbers_that_are_no_number_are_refused_where_they_are(db, tmp_path, literal):
    rec = {"id": new_id(), "code": "K-1", "title": "Kurs", "capacity": 0}
    text = json.dumps(minimal(courses=[rec])).replace('"capacity": 0', f'"capacity": {literal}')
    problems = refused(db, tmp_path, None, raw=text.encode())
    assert [(p.record_type, p.record_id, p.field) for p in problems] == [("courses", rec["id"], "capacity")]


@pytest.mark.parametrize("capacity", [10**30, 10**29, 10_001, -1, "10"])
def test_capacity_within_ten_thousand(db, tmp_path, capacity):
    rec = {"id": new_id(), "code": "K-1", "title": "Kurs", "capacity": capacity}
    assert fields(refused(db, tmp_path, minimal(courses=[rec]))) == [("courses", "capacity")]


def test_capacity_of_ten_thousand_is_fine(db, tmp_path):
    rec = {"id": new_id(), "code": "K-1", "title": "Kurs", "capacity": 10_000}
    import_bundle(db, write(tmp_path, minimal(courses=[rec])))
    with db.read() as s:
        assert s.get(Course, rec["id"]).capacity == 10_000


def _course_with_session(start="09:00", end="12:00"):
    course = {"id": new_id(), "code": "K-1", "title": "Kurs"}
    sess = session(course_id=course["id"], start=start, end=end)
    return course, sess


def test_minutes_within_the_session(db, tmp_path):
    course, sess = _course_with_session()  # 180 minutes
    person = participant()
    mark = {"id": new_id(), "session_id": sess["id"], "participant_id": person["id"], "status": "late", "minutes": 181}
    data = minimal(courses=[course], sessions=[sess], participants=[person], attendance=[mark])
    assert fields(refused(db, tmp_path, data)) == [("attendance", "minutes")]
    mark["minutes"] = 180
    import_bundle(db, write(tmp_path, data))
    # against a session already in the database, too
    again = dict(mark, id=new_id(), minutes=500, participant_id=new_id())
    second = participant(personal_number="199001011239", pid=again["participant_id"])
    assert fields(refused(db, tmp_path, minimal(participants=[second], attendance=[again]))) == [("attendance", "minutes")]


# --- text ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Åsa\x00", "Å\x07sa", "Åsa\tLund", "Åsa\nLund", "\x85Åsa", "Å\ud800sa", "Åsa\u2028"])
def test_control_characters_in_a_name_are_refused(db, tmp_path, name):
    raw = json.dumps(minimal(participants=[participant(first_name=name)])).encode()  # \ud800 as JSON writes it
    problems = refused(db, tmp_path, None, raw=raw)
    assert fields(problems) == [("participants", "first_name")]
    assert "styrtecken" in problems[0].message


def test_tab_and_newline_are_fine_in_multi_line_fields_only(db, tmp_path):
    rec = {"id": new_id(), "code": "K-1", "title": "Kurs", "description": "Rad 1\n\tRad 2"}
    import_bundle(db, write(tmp_path, minimal(courses=[rec])))
    bad = {"id": new_id(), "code": "K-2", "title": "Kurs", "description": "Rad 1\r\x1bRad 2"}
    assert fields(refused(db, tmp_path, minimal(courses=[bad]))) == [("courses", "description")]


def test_a_two_megabyte_name_is_refused_at_once(db, tmp_path):
    started = time.perf_counter()
    problems = refused(db, tmp_path, minimal(participants=[participant(first_name="A" * 2_000_000)]))
    assert fields(problems) == [("participants", "first_name")]
    assert problems[0].message == "längre än 100 tecken"
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("field,limit", [("first_name", 100), ("last_name", 100), ("email", 200), ("phone", 50)])
def test_lengths_are_those_of_the_forms(db, tmp_path, field, limit):
    value = {"email": "a" * (limit - 5) + "@x.se", "phone": "0" * limit}.get(field, "Å" * limit)
    import_bundle(db, write(tmp_path, minimal(participants=[participant(**{field: value})])))
    longer = {"email": "a" * (limit - 4) + "@x.se", "phone": "0" * (limit + 1)}.get(field, "Å" * (limit + 1))
    problems = refused(db, tmp_path, minimal(participants=[participant(personal_number="199001011239", **{field: longer})]))
    assert fields(problems) == [("participants", field)]


def test_a_huge_or_odd_value_is_never_quoted_whole(db, tmp_path):
    rec = {"id": new_id(), "session_id": new_id(), "participant_id": new_id(), "status": "x" * 100_000}
    problems = refused(db, tmp_path, minimal(attendance=[rec]))
    assert all(len(str(p)) < 400 for p in problems)
    bad_id = {"id": "a\nb" * 1000, "name": "X"}
    problems = refused(db, tmp_path, minimal(providers=[bad_id]))
    assert [str(p) for p in problems] == ["providers #1: id: " + problems[0].message]


# --- JSON's own limits ---------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_nesting_is_refused_before_json_recurses(db, tmp_path, depth):
    raw = b'{"format": "kursdesk-bundle", "version": 1,\n"x": ' + b"[" * depth + b"]" * depth + b"}"
    problems = refused(db, tmp_path, None, raw=raw)
    assert len(problems) == 1 and "64" in problems[0].message and "rad 2" in problems[0].message


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(db, tmp_path):
    rec = company(name="[[[[" * 40 + '\\"]]' * 10)
    data = minimal(companies=[rec])
    data["extra"] = json.loads("[" * 60 + "]" * 60)
    import_bundle(db, write(tmp_path, data))
    assert limits.json_depth_exceeded(b'["]]]]]]", ' + b"[" * 64 + b"]" * 64 + b"]") == 1
    assert limits.json_depth_exceeded(b'["\\\\", "[[[[", ' + b"[" * 63 + b"]" * 63 + b"]") is None


def test_not_utf8_names_the_line(db, tmp_path):
    raw = json.dumps(minimal(companies=[company()]), indent=1, ensure_ascii=False).encode().replace("Påryds".encode(), "Påryds".encode("cp1252"))
    problems = refused(db, tmp_path, None, raw=raw)
    assert len(problems) == 1 and "UTF-8" in problems[0].message and "rad " in problems[0].message


# --- identities ----------------------------------------------------------------------------------

def test_a_second_participant_with_a_known_personnummer_is_refused(db, tmp_path):
    first = participant()
    import_bundle(db, write(tmp_path, minimal(participants=[first])))
    second = participant(first_name="Någon", last_name="Annan")
    problems = refused(db, tmp_path, minimal(participants=[second]))
    assert [(p.record_type, p.record_id, p.field) for p in problems] == [("participants", second["id"], "personal_number")]
    assert first["id"] in problems[0].message and "19811218-****" in problems[0].message
    assert "9876" not in str(problems[0])
    # the same record again (matched by id) is an update
    import_bundle(db, write(tmp_path, minimal(participants=[dict(first, first_name="Åsa")])))
    with db.read() as s:
        assert s.get(Participant, first["id"]).first_name == "Åsa"


def test_twice_within_the_bundle_is_refused_once_per_extra_record(db, tmp_path):
    people = [participant(), participant(personal_number="811218-9876"), participant(personal_number="8112189876")]
    problems = refused(db, tmp_path, minimal(participants=people))
    assert sorted(p.record_id for p in problems) == sorted(p["id"] for p in people[1:])


def test_a_deleted_participant_or_one_deleted_by_the_bundle_leaves_the_number_free(db, tmp_path):
    first = participant(deleted_at="2026-01-01T00:00:00")
    import_bundle(db, write(tmp_path, minimal(participants=[first])))
    second = participant()
    import_bundle(db, write(tmp_path, minimal(participants=[second])))
    # a bundle that moves the number from one live record to a new one, deleting the old, is fine
    third = participant()
    import_bundle(db, write(tmp_path, minimal(participants=[dict(second, deleted_at="2026-02-01T00:00:00"), third])))
    with db.read() as s:
        live = [p.id for p in s.query(Participant).filter(Participant.deleted_at.is_(None))]
    assert live == [third["id"]]


def test_changing_a_participants_number_to_anothers_is_refused(db, tmp_path):
    a, b = participant(), participant(personal_number="199001011239")
    import_bundle(db, write(tmp_path, minimal(participants=[a, b])))
    problems = refused(db, tmp_path, minimal(participants=[dict(b, personal_number=PNR)]))
    assert [p.record_id for p in problems] == [b["id"]]


def test_a_second_company_with_a_known_organisation_number_is_refused(db, tmp_path):
    first = company()
    import_bundle(db, write(tmp_path, minimal(companies=[first])))
    problems = refused(db, tmp_path, minimal(companies=[company(name="Annat AB", org_number="5560360793")]))
    assert fields(problems) == [("companies", "org_number")] and first["id"] in problems[0].message
    twice = [company(org_number="556016-0680"), company(org_number="5560160680")]
    assert len(refused(db, tmp_path, minimal(companies=twice))) == 1
    # companies without an organisation number are many
    import_bundle(db, write(tmp_path, minimal(companies=[company(org_number=""), company(org_number="")])))
    with db.read() as s:
        assert s.query(Company).count() == 3


def test_clashes_the_database_already_had_do_not_block_a_restore(db, tmp_path):
    with db.write() as s:  # two live records with one number (a database from before migration 0003)
        s.execute(text("DROP INDEX uq_participants_personal_number_live"))
        s.add_all([Participant(first_name="A", last_name="B", personal_number=PNR),
                   Participant(first_name="C", last_name="D", personal_number=PNR)])
    export_bundle(db, tmp_path / "all.json")
    import_bundle(db, tmp_path / "all.json")
