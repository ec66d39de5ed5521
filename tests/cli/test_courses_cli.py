"""`kursdesk courses [--json]`: the course overview on the command line."""

import json
from datetime import date, timedelta

from app.cli import main
from app.db import Database
from app.services.courses import CourseData, SessionData, add_session, cancel_session, create_course
from app.services.enrollments import enroll
from app.services.participants import ParticipantData, create_participant
from app.services.providers import create_provider
from tests.app.test_services_participants import pnr12


def _programme(path):
    db = Database(path)
    prov = create_provider(db, "Campus Västervik")
    weld = create_course(db, CourseData("SV-1", "Svetsning grund", provider_id=prov, capacity=1))
    create_course(db, CourseData("EX-1", "Excel för produktionsledare"))
    today = date.today()
    add_session(db, weld, SessionData(today - timedelta(days=3), "09:00", "12:00"))
    add_session(db, weld, SessionData(today + timedelta(days=4), "09:00", "12:00"))
    cancel_session(db, add_session(db, weld, SessionData(today + timedelta(days=40), "09:00", "12:00")))
    a = create_participant(db, ParticipantData("Åsa", "Öberg", pnr12("19850312", "238")))
    b = create_participant(db, ParticipantData("Bo", "Ek", pnr12("19790704", "191")))
    enroll(db, weld, [a, b])
    db.dispose()
    return today


def test_courses_json(tmp_path, capsys):
    path = tmp_path / "k.db"
    today = _programme(path)
    assert main(["courses", "--db", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["code"] for c in out] == ["EX-1", "SV-1"]
    ex, sv = out
    assert ex == ex | {"status": "planned", "sessions": 0, "participants": 0, "first_date": None}
    assert sv["status"] == "running"
    assert sv["first_date"] == (today - timedelta(days=3)).isoformat()
    assert sv["last_date"] == (today + timedelta(days=4)).isoformat()
    assert (sv["sessions"], sv["enrolled"], sv["waitlisted"], sv["participants"], sv["certificates"]) == (2, 1, 1, 1, 0)
    assert (sv["provider_name"], sv["capacity"], sv["title"]) == ("Campus Västervik", 1, "Svetsning grund")


def test_courses_table_in_swedish_and_english(tmp_path, capsys):
    path = tmp_path / "k.db"
    _programme(path)
    assert main(["courses", "--db", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Kod", "Titel", "Kurstillfällen", "Deltagare", "Intyg"]
    assert lines[1].split()[0] == "EX-1"
    assert lines[2].split() == ["SV-1", "Svetsning", "grund", "2", "1", "0"]
    assert main(["courses", "--db", str(path), "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["Code", "Title", "Sessions", "Participants", "Certificates"]


def test_courses_on_an_empty_database(tmp_path, capsys):
    assert main(["courses", "--db", str(tmp_path / "empty.db"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
