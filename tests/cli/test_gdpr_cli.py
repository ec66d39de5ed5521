"""`kursdesk gdpr extract|erase|purge|log` end to end."""

from __future__ import annotations

import json
from datetime import date

from app.cli import main
from app.db import Database
from app.gdpr.settings import GdprSettings, save_gdpr_settings
from tests.fixtures.report_month import ANNA_PNR, DAVID_PNR, build


def _db(tmp_path, retention_until=date(2030, 12, 31)):
    path = tmp_path / "k.db"
    db = Database(path)
    build(db)
    save_gdpr_settings(db, GdprSettings(controller="Campus Västervik", retention_until=retention_until))
    db.dispose()
    return str(path)


def test_extract_writes_the_pdf_and_the_json_beside_it(tmp_path, capsys):
    path = _db(tmp_path)
    out = tmp_path / "utdrag.pdf"
    assert main(["gdpr", "extract", "850312-0027", "--out", str(out), "--db", path, "--lang", "en"]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    data = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["person"]["personal_number"] == ANNA_PNR and data["controller"] == "Campus Västervik"
    assert "Register extract written" in capsys.readouterr().out


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    path = _db(tmp_path)
    assert main(["gdpr", "extract", "19900101-0008", "--out", str(tmp_path / "x.pdf"), "--db", path, "--lang", "en"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "19900101-****" in err[0] and "0008" not in err[0]
    assert main(["gdpr", "extract", "1985", "--out", str(tmp_path / "x.pdf"), "--db", path]) == 2
    assert main(["gdpr", "erase", ANNA_PNR, "--reason", "begäran", "--db", path, "--lang", "en"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--force" in err[-1] and len([l for l in err if "force" in l]) == 1
    assert not (tmp_path / "x.pdf").exists()


def test_erase_with_force_then_log_and_purge(tmp_path, capsys):
    path = _db(tmp_path)
    assert main(["gdpr", "erase", ANNA_PNR, "--reason", "begäran per telefon", "--force", "--db", path, "--lang", "en"]) == 0
    assert "Erased: 10 records" in capsys.readouterr().out
    assert main(["gdpr", "erase", ANNA_PNR, "--reason", "igen", "--db", path, "--lang", "en"]) == 2  # gone
    capsys.readouterr()
    assert main(["gdpr", "log", "--json", "--db", path]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["action"] == "erasure" and entry["people"] == 1 and entry["detail"] == "request forced begäran per telefon"
    assert main(["gdpr", "log", "--db", path, "--lang", "sv"]) == 0
    assert "Person raderad" in capsys.readouterr().out
    db = Database(path)
    save_gdpr_settings(db, GdprSettings(retention_until=date(2026, 1, 1)))
    db.dispose()
    assert main(["gdpr", "purge", "--dry-run", "--db", path, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "5 people are due" in out and DAVID_PNR not in out and "20010215-****" in out
    assert main(["gdpr", "purge", "--db", path, "--lang", "en"]) == 0
    assert "5 people erased" in capsys.readouterr().out
    assert ANNA_PNR.encode() not in open(path, "rb").read() and DAVID_PNR.encode() not in open(path, "rb").read()


def test_erase_finds_every_record_of_a_person_registered_twice(tmp_path, capsys):
    """Two ids that never merged (a deleted earlier registration, and one in ESF's protected form
    with the same name and birth date): all go, another person of the same name stays."""
    from sqlalchemy import select

    from app.models import Participant, utcnow

    path = _db(tmp_path)
    db = Database(path)
    with db.write() as s:
        anna = s.scalars(select(Participant).where(Participant.personal_number == ANNA_PNR)).one()
        first, last, born = anna.first_name, anna.last_name, ANNA_PNR[:8]
        s.add(Participant(first_name=first, last_name=last, personal_number=ANNA_PNR, deleted_at=utcnow()))
        s.add(Participant(first_name=first.upper(), last_name=f" {last}", personal_number=f"{born}TF29"))
        s.add(Participant(first_name=first, last_name=last, personal_number=f"{int(born) + 1}TF29"))  # born a day later
        before = len(s.scalars(select(Participant)).all())
    db.dispose()
    assert main(["gdpr", "erase", ANNA_PNR, "--reason", "begäran", "--force", "--db", path, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Erased 3 registrations of this person." in out
    db = Database(path)
    with db.read() as s:
        left = s.scalars(select(Participant)).all()
    db.dispose()
    assert len(left) == before - 3 and not [p for p in left if p.personal_number in (ANNA_PNR, f"{born}TF29")]
    assert [p.personal_number for p in left if p.first_name == first and p.last_name == last] == [f"{int(born) + 1}TF29"]
    assert main(["gdpr", "log", "--json", "--db", path]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["people"] == 1 and entry["detail"] == "request forced begäran"  # one person, three records
