"""`kursdesk import participants FILE --course CODE [--skip-invalid]`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.cli import main
from app.db import Database
from app.models import Company, Course, Enrollment, Participant

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _db(tmp_path):
    path = tmp_path / "k.db"
    db = Database(path)
    with db.write() as s:
        s.add_all([Company(name="Verkstad AB", org_number="556016-0680"), Company(name="Kalmar Plåt AB", org_number="559123-4561")])
        s.add(Course(code="SVE-01", title="Svetsning"))
    db.dispose()
    return path


def _counts(path):
    db = Database(path)
    with db.read() as s:
        result = (
            s.execute(select(func.count()).select_from(Participant)).scalar_one(),
            s.execute(select(func.count()).select_from(Enrollment)).scalar_one(),
        )
    db.dispose()
    return result


def test_good_file_enrols_everyone(tmp_path, capsys):
    path = _db(tmp_path)
    code = main(["import", "participants", str(FIXTURES / "participants_swedish_excel.csv"), "--course", "SVE-01", "--db", str(path)])
    assert code == 0
    assert "3 anmälda" in capsys.readouterr().out
    assert _counts(path) == (3, 3)


def test_bad_rows_listed_and_nothing_written(tmp_path, capsys):
    path = _db(tmp_path)
    args = ["import", "participants", str(FIXTURES / "participants_bad_rows.csv"), "--course", "SVE-01", "--db", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1].strip() for line in err[:5]] == ["Rad 3", "Rad 4", "Rad 5", "Rad 6", "Rad 7"]
    assert "Ingenting importerades: 5 av 7 rader" in err[-1]
    assert _counts(path) == (0, 0)
    assert main(args + ["--skip-invalid"]) == 0
    captured = capsys.readouterr()
    assert sum(1 for line in captured.err.splitlines() if line.startswith("kursdesk: Rad ")) == 5
    assert "2 anmälda" in captured.out and "5 rader hoppades över" in captured.out
    assert _counts(path) == (2, 2)


def test_unknown_course_and_missing_file_exit_2(tmp_path, capsys):
    path = _db(tmp_path)
    assert main(["import", "participants", str(FIXTURES / "participants_utf8_bom.csv"), "--course", "NOPE", "--db", str(path)]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert main(["import", "participants", str(tmp_path / "gone.csv"), "--course", "SVE-01", "--db", str(path)]) == 2
    assert "gone.csv" in capsys.readouterr().err
