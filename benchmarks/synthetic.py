"""A large synthetic programme for the benchmarks.

At scale 1.0: 3 providers, 1,500 companies (each with a needs analysis linked to two courses),
20,000 participants, 3,000 courses of 20 weekly sessions each (60,000 sessions), 12 enrollments
per course (10 who attend, 2 on the waiting list or withdrawn: 36,000), 600,000 attendance marks
(10 participants x 20 sessions x 3,000 courses) and 2,500 certificates (without PDFs).

Every value is valid for `import --json`: personnummer and samordningsnummer with correct check
digits, organisation numbers of limited companies, sessions that end after they start. Dates lie
in the two years before today, so every session has taken place and carries its marks.

Rows are written with SQLAlchemy Core bulk inserts into a freshly migrated database; this
bypasses the sync change log on purpose (the data set stands for a laptop's existing records,
not for edits waiting to be published).

    python -m benchmarks.synthetic PATH [--scale 1.0]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time as _time
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

from stdnum import luhn

SESSIONS_PER_COURSE = 20
ATTENDING_PER_COURSE = 10
WAITING_PER_COURSE = 2
CERTIFICATE_EVERY_NTH_COURSE = 6


def expected_counts(scale: float = 1.0) -> dict[str, int]:
    courses = max(2, round(3000 * scale))
    certified_courses = len(range(0, courses, CERTIFICATE_EVERY_NTH_COURSE))
    companies = max(1, round(1500 * scale))
    return {
        "providers": 3,
        "companies": companies,
        "needs": companies,
        "need_courses": companies * 2,
        "participants": max(ATTENDING_PER_COURSE + WAITING_PER_COURSE, round(20000 * scale)),
        "courses": courses,
        "sessions": courses * SESSIONS_PER_COURSE,
        "enrollments": courses * (ATTENDING_PER_COURSE + WAITING_PER_COURSE),
        "attendance": courses * SESSIONS_PER_COURSE * ATTENDING_PER_COURSE,
        "certificates": certified_courses * ATTENDING_PER_COURSE // 2,
    }


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _personal_number(index: int) -> str:
    """A unique, valid 12-digit personnummer (every 50th a samordningsnummer) for an index."""
    born = date(1965, 1, 1) + timedelta(days=index % 12_700)  # up to 1999
    day = born.day + (60 if index % 50 == 7 else 0)
    serial = index // 12_700  # 0..99
    gender = (index * 7) % 10
    nine = f"{born:%y%m}{day:02d}{serial:02d}{gender}"
    return f"{born.year}{nine[2:]}{luhn.calc_check_digit(nine)}"


def _org_number(index: int) -> str:
    body = f"556{index:06d}"
    digits = body + luhn.calc_check_digit(body)
    return f"{digits[:6]}-{digits[6:]}"


FIRST = ("Anna", "Erik", "Åsa", "Lars", "Märta", "Jörgen", "Łukasz", "Şükrü", "Nguyễn Thị", "Aleksandra",
         "Mohammed", "Sara", "Björn", "Fatima", "Piotr", "Ingrid", "Omar", "Kristina", "Håkan", "Zeynep")
LAST = ("Andersson", "Öberg", "Åkesson", "Świątek", "Çelik", "Nowak", "Al-Hassan", "Nilsson", "Ängström",
        "Karlsson", "Lindqvist", "Yılmaz", "Petrović", "Johansson", "Bäckström", "Korhonen", "Haddad")
MUNICIPALITIES = ("Borgholm", "Emmaboda", "Hultsfred", "Högsby", "Kalmar", "Mönsterås", "Mörbylånga",
                  "Nybro", "Oskarshamn", "Torsås", "Vimmerby", "Västervik")
TITLES = ("MIG/MAG-svetsning", "Lean produktion", "Truckkort A+B", "Hydraulik grund",
          "Ledarskap för produktionsledare", "Arbetsmiljö (BAM)", "Excel för produktionsplanering",
          "CNC-programmering", "Industriell ellära", "Kvalitetsarbete ISO 9001", "Underhållsteknik",
          "Svenska för industrin")
SLOTS = ((time(8, 0), time(12, 0)), (time(13, 0), time(16, 30)), (time(8, 30), time(15, 30)))


def _rows(scale: float, seed: int, today: date):
    """(model, rows) in insertion order."""
    from app import models as m

    rng = random.Random(seed)
    n = expected_counts(scale)
    now = datetime.now().replace(microsecond=0)
    stamps = {"created_at": now, "updated_at": now, "deleted_at": None}

    providers = [
        {"id": _uuid(rng), "name": name, "org_number": org, **stamps}
        for name, org in (("Campus Västervik", "212000-0845"), ("Nova Oskarshamn", "212000-0803"),
                          ("IUC Kalmar län", "556570-9655"))
    ]
    yield m.Provider, providers

    companies = [
        {"id": _uuid(rng), "name": f"Industri {i:04d} AB", "org_number": _org_number(i),
         "municipality": MUNICIPALITIES[i % len(MUNICIPALITIES)], "industry": "Tillverkning",
         "contact_name": f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
         "contact_email": f"kontakt{i}@industri{i}.se", "contact_phone": f"0480-{i:06d}",
         "organisation_type": "municipality" if i % 10 == 0 else "private", **stamps}
        for i in range(n["companies"])
    ]
    yield m.Company, companies

    participants = [
        {"id": _uuid(rng), "first_name": FIRST[i % len(FIRST)], "last_name": LAST[(i // 3) % len(LAST)],
         "personal_number": (pnr := _personal_number(i)),
         "gender": "female" if int(pnr[10]) % 2 == 0 else "male",
         "email": f"deltagare{i}@example.se", "phone": "",
         "company_id": companies[i % len(companies)]["id"], "protected": i % 500 == 7, **stamps}
        for i in range(n["participants"])
    ]
    yield m.Participant, participants

    courses, sessions, enrollments, marks, certificates = [], [], [], [], []
    span = SESSIONS_PER_COURSE * 7
    for c in range(n["courses"]):
        first_day = today - timedelta(days=span + 1 + rng.randrange(730 - span))
        course = {
            "id": _uuid(rng), "code": f"K{c:05d}", "title": TITLES[c % len(TITLES)],
            "description": "Syntetisk kurs för prestandamätning.", "learning_outcomes": "",
            "provider_id": providers[c % 3]["id"], "location": "Kalmar", "teacher": "Lärare",
            "min_attendance_percent": 80, "certificate_language": "sv", "capacity": 12, **stamps,
        }
        courses.append(course)
        start, end = SLOTS[c % len(SLOTS)]
        course_sessions = []
        for k in range(SESSIONS_PER_COURSE):
            course_sessions.append({
                "id": _uuid(rng), "course_id": course["id"], "date": first_day + timedelta(days=7 * k),
                "start_time": start, "end_time": end, "location": "Kalmar", "teacher": "Lärare",
                "cancelled": False, **stamps,
            })
        sessions.extend(course_sessions)
        people = rng.sample(participants, ATTENDING_PER_COURSE + WAITING_PER_COURSE)
        certified = c % CERTIFICATE_EVERY_NTH_COURSE == 0
        for k, person in enumerate(people):
            attending = k < ATTENDING_PER_COURSE
            status = ("completed" if certified else "enrolled") if attending else ("waitlisted", "withdrawn")[k % 2]
            enrollments.append({
                "id": m.enrollment_id(course["id"], person["id"]), "course_id": course["id"],
                "participant_id": person["id"], "status": status, "certificate_language": "", **stamps,
            })
            if not attending:
                continue
            for session in course_sessions:
                roll = rng.random()
                minutes = None
                if roll < 0.88:
                    status = "present"
                elif roll < 0.93:
                    status, minutes = "late", 150
                elif roll < 0.97:
                    status = "excused"
                else:
                    status = "absent"
                marks.append({
                    "id": m.attendance_id(session["id"], person["id"]), "session_id": session["id"],
                    "participant_id": person["id"], "status": status, "minutes": minutes, "note": "",
                    **stamps,
                })
            if certified and k % 2 == 0:
                number = len(certificates) + 1
                certificates.append({
                    "id": _uuid(rng), "number": f"KD-{number:06d}", "verification_code": f"{rng.getrandbits(48):012X}",
                    "course_id": course["id"], "participant_id": person["id"],
                    "issued_on": course_sessions[-1]["date"] + timedelta(days=3), "language": "sv",
                    "revoked_on": None, "revoke_reason": "", "supersedes_id": None, "pdf": None, "pdf_sha256": "",
                    **stamps,
                })
    yield m.Course, courses

    needs, links = [], []
    for i, company in enumerate(companies):
        need = {"id": _uuid(rng), "company_id": company["id"], "date": today - timedelta(days=800 + i % 60),
                "description": "Kompetensbehov i produktionen.", "target_groups": "Operatörer", **stamps}
        needs.append(need)
        first, second = i % len(courses), (i * 7 + 1) % len(courses)
        if second == first:
            second = (first + 1) % len(courses)
        for course in (courses[first], courses[second]):
            links.append({"id": _uuid(rng), "need_id": need["id"], "course_id": course["id"], **stamps})
    yield m.NeedsAnalysis, needs
    yield m.NeedCourse, links
    yield m.CourseSession, sessions
    yield m.Enrollment, enrollments
    yield m.Attendance, marks
    yield m.Certificate, certificates


def generate(path: str | Path, scale: float = 1.0, seed: int = 1, *, today: date | None = None) -> dict[str, int]:
    """Write the synthetic programme into a NEW database at `path` (an old file is replaced)."""
    from app.db import Database

    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(path)
    counts: dict[str, int] = {}
    try:
        with db.engine.begin() as conn:
            for model, rows in _rows(scale, seed, today or date.today()):
                for chunk in range(0, len(rows), 50_000):
                    conn.execute(model.__table__.insert(), rows[chunk:chunk + 50_000])
                counts[model.__tablename__] = len(rows)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.dispose()
    return counts


def row_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        conn.close()


def _revision(path: Path) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _schema_fits(path: Path) -> bool:
    """Every table and column of the models is in the file (until the first release the initial
    migration is regenerated in place, so its revision id alone does not tell a change)."""
    from app.models import Base

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for name, table in Base.metadata.tables.items():
            have = {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
            if have != {c.name for c in table.columns}:
                return False
        return True
    finally:
        conn.close()


def ensure_large_db(path: str | Path, scale: float = 1.0, seed: int = 1) -> tuple[Path, float | None]:
    """Reuse `path` when it holds the expected rows at the current schema; else generate it.
    Returns the path and the generation time in seconds (None when reused)."""
    from app.db import head_revision

    path = Path(path)
    if path.exists():
        try:
            counts = row_counts(path)
            fits = _revision(path) == head_revision() and _schema_fits(path) and all(
                counts.get(table) == n for table, n in expected_counts(scale).items()
            )
        except sqlite3.Error:
            fits = False
        if fits:
            return path, None
    path.parent.mkdir(parents=True, exist_ok=True)
    started = _time.perf_counter()
    generate(path, scale, seed)
    return path, _time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the synthetic benchmark database.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = _time.perf_counter()
    counts = generate(args.path, args.scale, args.seed)
    print(", ".join(f"{k} {v}" for k, v in counts.items()), f"in {_time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
