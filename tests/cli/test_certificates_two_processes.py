"""Two `kursdesk certificates CODE` processes on one database at the same time (issue 11): each
participant gets one certificate, numbers stay unique, and neither process ends in exit 1
("unexpected error (IntegrityError)"). Both exit 0, or 2 with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, time

from sqlalchemy import select

from app.db import Database
from app.models import Attendance, Certificate, attendance_id
from tests.app.attendance_builders import build_course

PEOPLE = [(f"Deltagare{i}", f"Efternamn{i}", "Kalmar Verkstad AB") for i in range(12)]
SESSIONS = ((date(2026, 3, 2), time(8, 0), time(12, 0), False),)


def _course(path):
    db = Database(path)
    built = build_course(db, people=PEOPLE, sessions=SESSIONS)
    with db.write() as s:
        for pid in built.participant_ids:
            sid = built.session_ids[0]
            s.add(Attendance(id=attendance_id(sid, pid), session_id=sid, participant_id=pid, status="present"))
    db.dispose()
    return built


def _start(path, out, home):
    env = {**os.environ, "KURSDESK_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--db", str(path), "certificates", "SVETS-1", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_two_processes_issuing_one_course_give_one_certificate_each(tmp_path, kursdesk_home):
    for round_ in range(4):
        path = tmp_path / f"round{round_}.db"
        built = _course(path)
        # the same output folder for both, as a scheduled job and a coordinator would use
        procs = [_start(path, tmp_path / f"out{round_}", kursdesk_home) for _ in range(2)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code in (0, 2), (code, out, err)
            assert "unexpected" not in err and "oväntat" not in err, err
            if code == 2:
                assert len(err.strip().splitlines()) == 1 and err.startswith("kursdesk: "), err
        db = Database(path)
        with db.read() as s:
            rows = s.execute(select(Certificate.participant_id, Certificate.number)).all()
        db.dispose()
        assert sorted(pid for pid, _ in rows) == sorted(built.participant_ids)  # one each
        assert len({number for _, number in rows}) == len(rows)  # unique numbers
        issued_lines = [line for _, out, _ in results for line in out.splitlines() if line.startswith("20")]
        assert len(issued_lines) == len(built.participant_ids)  # each reported once, by one of them
