"""The log file never holds personal data: names, personnummer or e-mail addresses, not even
when a command fails unexpectedly with such data in the exception's text."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNR = re.compile(r"(19|20)?\d{6}[-+]?\d{4}")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def _run(home: Path, *args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, KURSDESK_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-m", "ui", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if check_rc is not None:
        assert result.returncode == check_rc, result.stderr
    return result


def test_commands_and_failures_leave_no_personal_data_in_the_log(tmp_path):
    home, db = tmp_path / "home", str(tmp_path / "k.db")
    _run(home, "--db", db, "demo")
    _run(home, "--db", db, "export", "--json", str(tmp_path / "a.json"))
    bundle = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    people = bundle["participants"]
    code = bundle["courses"][0]["code"]
    _run(home, "--db", db, "attendance-list", code, "--out", str(tmp_path / "sheet.pdf"))
    _run(home, "--db", db, "certificates", code, "--out", str(tmp_path / "certs"))
    # a bundle with a wrong personnummer: a user error, reported on stderr only
    people[0]["personal_number"] = people[0]["personal_number"][:-1] + str((int(people[0]["personal_number"][-1]) + 1) % 10)
    (tmp_path / "bad.json").write_text(json.dumps(bundle), encoding="utf-8")
    _run(home, "--db", str(tmp_path / "empty.db"), "import", "--json", str(tmp_path / "bad.json"), check_rc=2)
    # a database that is not a database: the user's file (exit 2), its content in no message
    (tmp_path / "broken.db").write_text(f"{people[1]['first_name']} {people[1]['personal_number']}", encoding="utf-8")
    refused = _run(home, "--db", str(tmp_path / "broken.db"), "courses", check_rc=2)
    assert people[1]["personal_number"] not in refused.stderr
    # a schema revision no Kursdesk knows, carrying personal data: "update Kursdesk" (exit 2), the
    # revision in no message
    import shutil
    import sqlite3

    foreign = sqlite3.connect(tmp_path / "foreign.db")
    foreign.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
    foreign.execute("INSERT INTO alembic_version VALUES (?)", (f"{people[1]['first_name']} {people[1]['personal_number']}",))
    foreign.commit()
    foreign.close()
    newer = _run(home, "--db", str(tmp_path / "foreign.db"), "courses", check_rc=2)
    assert "Kursdesk" in newer.stderr and people[1]["personal_number"] not in newer.stderr
    # an unexpected failure whose text carries personal data: a session's date that is none
    shutil.copyfile(db, tmp_path / "damaged.db")
    damaged = sqlite3.connect(tmp_path / "damaged.db")
    damaged.execute("UPDATE sessions SET date = ? WHERE rowid = (SELECT min(rowid) FROM sessions)",
                    (f"{people[1]['first_name']} {people[1]['personal_number']}",))
    damaged.commit()
    damaged.close()
    failed = _run(home, "--db", str(tmp_path / "damaged.db"), "courses", check_rc=1)
    assert "Traceback" not in failed.stderr and people[1]["personal_number"] not in failed.stderr

    logs = "".join(p.read_text(encoding="utf-8") for p in (home / "log").glob("*.log*"))
    assert "unexpected" in logs  # the failure was logged
    assert not PNR.search(logs)
    assert not EMAIL.search(logs)
    for person in people:
        assert f"{person['first_name']} {person['last_name']}" not in logs
