"""Two processes on one database, as on a coordinator's laptop: the window open while a scheduled
`kursdesk sync` or an import runs, or a program started twice. For about 25 seconds pairs of
processes run at the same moment: list imports of the same new people, enrolments into a
course with few places and attendance marks, the same new organisation number, and syncs
through a shared folder. Afterwards: no personnummer or organisation number twice among live
rows, no course over its capacity, every exit code 0 or 2 (2 = a clear user message, e.g. busy)
and no "unexpected error" or traceback on any stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from stdnum import luhn

from app.db import Database, copy_database_file
from app.models import Certificate, Company, Course, Enrollment, Participant
from app.services.courses import CourseData, SessionData, add_session, create_course

ROOT = Path(__file__).resolve().parents[2]
DURATION_S = 25  # new rounds start until then; a round's processes may finish a little later
BIG_CAPACITY = 150
SMALL_CAPACITY = 4

# Certificates are issued in the rounds too (`certificates CODE --out DIR` from both processes);
# no certificate number may be held twice.
CERTIFICATES = True

SERVICES = r'''
import random, sys
from app.db import Database
from app.errors import UserError, ValidationError
from app.services.attendance import register, set_mark
from app.services.companies import CompanyData, create_company
from app.services.enrollments import enroll, list_enrollments, withdraw
from app.services.participants import list_participants

path, org, course_id, tag = sys.argv[1:5]
db = Database(path)
try:
    try:
        create_company(db, CompanyData(name="Samma AB " + tag, org_number=org))
        print("company created")
    except ValidationError as exc:
        assert "org_number" in exc.by_field, exc
        print("company refused")
    rng = random.Random(tag)
    people = [p.id for p in list_participants(db)]
    enroll(db, course_id, rng.sample(people, min(8, len(people))))
    reg = register(db, course_id)
    for person in reg.participants[:6]:
        for session in reg.sessions:
            set_mark(db, session.id, person.participant_id, rng.choice(["present", "present", "present", "absent"]))
    enrolled = [e for e in list_enrollments(db, course_id) if e.status == "enrolled"]
    if enrolled:
        withdraw(db, rng.choice(enrolled).id)
except UserError as exc:
    for line in str(exc).splitlines():
        print("kursdesk: " + line, file=sys.stderr)
    raise SystemExit(2)
finally:
    db.dispose()
'''


def personal_number(i: int) -> str:
    body = f"{60 + i // 28000 % 40:02d}{i // 2800 % 12 + 1:02d}{i // 100 % 28 + 1:02d}{i % 100:02d}1"
    return "19" + body + luhn.calc_check_digit(body)


def org_number(i: int) -> str:
    body = f"556{i:06d}"
    return body + luhn.calc_check_digit(body)


def _list(path: Path, first: int, n: int) -> Path:
    lines = ["Förnamn;Efternamn;Personnummer"]
    lines += [f"Person{i};Efternamn{i};{personal_number(i)}" for i in range(first, first + n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Lab:
    def __init__(self, root: Path, migrated_template: Path):
        self.root = root
        self.db_path = root / "kursdesk.db"
        self.share = root / "share"
        self.key = root / "programme.key"
        self.env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}
        self.results: list[tuple[str, int, str]] = []
        copy_database_file(migrated_template, self.db_path)
        db = Database(self.db_path)
        today = date.today()
        self.big = create_course(db, CourseData(code="BIG-1", title="Stor kurs", capacity=BIG_CAPACITY))
        self.small = create_course(db, CourseData(code="SMALL-1", title="Liten kurs", capacity=SMALL_CAPACITY))
        for course in (self.big, self.small):
            add_session(db, course, SessionData(today - timedelta(days=2), "09:00", "12:00"))
            add_session(db, course, SessionData(today - timedelta(days=1), "09:00", "12:00"))
        db.dispose()
        self.script = root / "services_worker.py"
        self.script.write_text(SERVICES, encoding="utf-8")
        # a shared folder with a partner laptop's batch in it, for the syncs to import
        self.check(self.run_now("sync", "--folder", str(self.share), "--setup", "--key", str(self.key), db=False))
        partner = root / "partner.db"
        copy_database_file(migrated_template, partner)
        pdb = Database(partner)
        create_course(pdb, CourseData(code="PARTNER-1", title="Partnerns kurs"))
        pdb.dispose()
        self.check(self.run_now("sync", "--folder", str(self.share), "--key", str(self.key), db=partner))

    def app_cmd(self, *args: str, db: Path | bool | None = None) -> list[str]:
        cmd = [sys.executable, "-m", "app", "--lang", "en"]
        if db is not False:
            cmd += ["--db", str(db or self.db_path)]
        return cmd + list(args)

    def run_now(self, *args: str, db: Path | bool | None = None) -> tuple[str, int, str]:
        done = subprocess.run(
            self.app_cmd(*args, db=db), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=180
        )
        return " ".join(args[:2]), done.returncode, done.stderr

    @staticmethod
    def check(result: tuple[str, int, str]) -> None:
        name, rc, err = result
        assert rc == 0, f"{name}: {err}"

    def pair(self, name: str, a: list[str], b: list[str]) -> None:
        """Start both at the same moment, wait for both, keep their outcomes."""
        procs = [
            subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for cmd in (a, b)
        ]
        for proc in procs:
            try:
                _out, err = proc.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, err = proc.communicate()
                err += "\n(timed out)"
            self.results.append((name, proc.returncode, err))

    def services(self, org: str, tag: str) -> list[str]:
        return [sys.executable, str(self.script), str(self.db_path), org, self.small, tag]


def test_two_processes_on_one_database(tmp_path, migrated_template):
    lab = Lab(tmp_path, migrated_template)
    sync = ["sync", "--folder", str(lab.share)]
    started = time.monotonic()
    rounds = 0
    next_person = 0
    while rounds < 4 or time.monotonic() - started < DURATION_S:  # every kind at least once, however slow the machine
        kind = rounds % 4
        if kind == 0:  # the same new people imported twice at once
            people = _list(tmp_path / f"list{rounds}.csv", next_person, 300)
            next_person += 300
            cmd = lab.app_cmd("import", "participants", str(people), "--course", "BIG-1", "--skip-invalid")
            lab.pair("import+import", cmd, cmd)
        elif kind == 1:  # the same new organisation number, enrolments into few places, marks
            org = org_number(rounds)
            lab.pair("services+services", lab.services(org, f"a{rounds}"), lab.services(org, f"b{rounds}"))
        elif kind == 2:  # a long write (a large import) while the other process syncs
            people = _list(tmp_path / f"list{rounds}.csv", next_person, 600)
            next_person += 600
            lab.pair(
                "import+sync",
                lab.app_cmd("import", "participants", str(people), "--course", "BIG-1", "--skip-invalid"),
                lab.app_cmd(*sync),
            )
        else:  # two syncs at once, or a sync beside the services
            lab.pair("sync+services", lab.app_cmd(*sync), lab.services(org_number(rounds), f"c{rounds}"))
            if CERTIFICATES:
                out = tmp_path / f"certs{rounds}"
                cmd = lab.app_cmd("certificates", "SMALL-1", "--out", str(out))
                lab.pair("certificates+certificates", cmd, cmd)
        rounds += 1
    print(f"{rounds} rounds, {len(lab.results)} processes; exit codes:",
          {rc: sum(1 for r in lab.results if r[1] == rc) for rc in {r[1] for r in lab.results}})
    for name, rc, err in lab.results:
        if rc:
            print(f"  {name}: {rc}: {err.strip()[:300]}")

    problems = [
        f"{name}: exit {rc}: {err.strip()[-2000:]}"
        for name, rc, err in lab.results
        if rc not in (0, 2) or "unexpected error" in err or "Traceback" in err
    ]
    assert problems == []

    db = Database(tmp_path / "kursdesk.db")
    try:
        with db.read() as s:
            twice_pnr = s.execute(
                select(Participant.personal_number)
                .where(Participant.deleted_at.is_(None))
                .group_by(Participant.personal_number)
                .having(func.count() > 1)
            ).all()
            twice_org = s.execute(
                select(Company.org_number)
                .where(Company.deleted_at.is_(None), Company.org_number != "")
                .group_by(Company.org_number)
                .having(func.count() > 1)
            ).all()
            over = s.execute(
                select(Course.code, Course.capacity, func.count(Enrollment.id))
                .join(Enrollment, Enrollment.course_id == Course.id)
                .join(Participant, Participant.id == Enrollment.participant_id)
                .where(
                    Course.capacity.is_not(None),
                    Enrollment.deleted_at.is_(None),
                    Participant.deleted_at.is_(None),
                    Enrollment.status.in_(("enrolled", "completed")),
                )
                .group_by(Course.id)
                .having(func.count(Enrollment.id) > Course.capacity)
            ).all()
            twice_number = s.execute(
                select(Certificate.number).group_by(Certificate.number).having(func.count() > 1)
            ).all()
            people = s.scalar(select(func.count()).select_from(Participant).where(Participant.deleted_at.is_(None)))
            companies = s.scalar(select(func.count()).select_from(Company).where(Company.deleted_at.is_(None)))
    finally:
        db.dispose()
    assert twice_pnr == []
    assert twice_org == []
    assert over == []
    assert twice_number == []
    assert people == next_person  # every listed person registered exactly once
    assert companies >= 1
