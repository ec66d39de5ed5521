"""`kursdesk demo`, `export --json` and `import --json` end to end: the issue's acceptance checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.db import Database, table_counts
from app.models import new_id

ROOT = Path(__file__).resolve().parents[2]


def records(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("exported_at")
    return data


def counts(db_path: Path) -> dict:
    db = Database(db_path)
    try:
        return {k: v for k, v in table_counts(db).items() if not k.startswith("sync_") and k != "gdpr_audit"}
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory):
    """A demo database and its export, made once through the command line."""
    folder = tmp_path_factory.mktemp("cli-demo")
    db, bundle = folder / "x.db", folder / "a.json"
    assert main(["--db", str(db), "demo"]) == 0
    assert main(["--db", str(db), "export", "--json", str(bundle)]) == 0
    return db, bundle


def test_demo_export_import_export_gives_the_same_records(demo_bundle, tmp_path, capsys):
    _, a = demo_bundle
    empty, b = tmp_path / "empty.db", tmp_path / "b.json"
    assert main(["--db", str(empty), "import", "--json", str(a)]) == 0
    assert main(["--db", str(empty), "export", "--json", str(b)]) == 0
    assert records(a) == records(b)
    out = capsys.readouterr().out
    assert str(a) in out and str(b) in out


def test_demo_refuses_a_database_with_data(demo_bundle, capsys):
    db, _ = demo_bundle
    before = counts(db)
    assert main(["--db", str(db), "demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kursdesk: ")
    assert counts(db) == before


def _bad_bundles(bundle: Path) -> dict[str, tuple[str, int]]:
    """name -> (file text, number of problems)."""
    data = records(bundle)
    course_id = data["courses"][0]["id"]

    invalid_pnr = json.loads(json.dumps(data))
    invalid_pnr["participants"][0]["personal_number"] = "19811218-9875"
    invalid_pnr["participants"][1]["personal_number"] = "20991301-0000"

    unknown_fk = json.loads(json.dumps(data))
    unknown_fk["attendance"][0]["session_id"] = new_id()

    backwards = json.loads(json.dumps(data))
    backwards["sessions"].append({"id": new_id(), "course_id": course_id, "date": "2026-05-04",
                                  "start": "15:00", "end": "09:00", "location": "", "teacher": "",
                                  "cancelled": False})

    text = bundle.read_text(encoding="utf-8")
    return {
        "invalid personnummer": (json.dumps(invalid_pnr, ensure_ascii=False), 2),
        "unknown foreign key": (json.dumps(unknown_fk, ensure_ascii=False), 1),
        "session ending before start": (json.dumps(backwards, ensure_ascii=False), 1),
        "malformed json": (text[: len(text) // 2], 1),
    }


@pytest.mark.parametrize("case", ["invalid personnummer", "unknown foreign key", "session ending before start",
                                  "malformed json"])
def test_a_bad_bundle_is_refused_whole_with_one_line_per_problem(demo_bundle, tmp_path, capsys, case):
    db_src, bundle = demo_bundle
    text, n_problems = _bad_bundles(bundle)[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    # import into a copy of the demo database and into an empty one: neither changes
    for target in (tmp_path / "copy.db", tmp_path / "empty.db"):
        if target.name == "copy.db":
            target.write_bytes(db_src.read_bytes())
        else:
            Database(target).dispose()
        before_counts = counts(target)
        assert main(["--db", str(target), "export", "--json", str(tmp_path / "before.json")]) == 0
        capsys.readouterr()
        assert main(["--db", str(target), "import", "--json", str(bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == n_problems, err
        assert all(line.startswith("kursdesk: ") for line in err)
        assert "Traceback" not in "\n".join(err)
        assert counts(target) == before_counts
        assert main(["--db", str(target), "export", "--json", str(tmp_path / "after.json")]) == 0
        assert records(tmp_path / "before.json") == records(tmp_path / "after.json")
    if case == "invalid personnummer":
        assert all("personal_number" in line and "****" in line for line in err)
        assert "9875" not in "\n".join(err)


def test_import_of_a_missing_file_exits_2(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "x.db"), "import", "--json", str(tmp_path / "none.json")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_python_dash_m_app_runs_export(demo_bundle, tmp_path):
    db, _ = demo_bundle
    env = dict(os.environ, KURSDESK_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    out = tmp_path / "sub.json"
    run = subprocess.run([sys.executable, "-m", "app", "--db", str(db), "--lang", "en", "export", "--json", str(out)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert records(out)["format"] == "kursdesk-bundle"
    assert "Exported" in run.stdout


@pytest.mark.parametrize("argv", [["--db", "x.db", "demo"], ["demo", "--db", "x.db"],
                                  ["--db", "other.db", "export", "--json", "f.json", "--db", "x.db"]])
def test_db_is_taken_before_or_after_the_command(argv):
    from app.cli import build_parser

    assert build_parser().parse_args(argv).db == "x.db"
