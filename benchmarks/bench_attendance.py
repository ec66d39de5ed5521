"""Attendance benchmarks: opening the register of a course of 300 participants x 60 sessions
(service + table model, goal < 0.3 s) and writing a sign-in sheet for 40 participants (< 0.2 s).

measure() copies the large database into the workdir (it never writes to the original) and adds
the two courses there, taking their participants from the programme's existing ones. Without a
large database (or run as a script) it builds the participants itself.

    python -m benchmarks.bench_attendance [WORKDIR]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time as _time
from datetime import date, time, timedelta
from pathlib import Path

from sqlalchemy import insert, select

PARTICIPANTS = 300
SESSIONS = 60
SHEET_PARTICIPANTS = 40
RUNS = 5


def _luhn_pnr(yyyymmdd: str, serial: int) -> str:
    digits = yyyymmdd[2:] + f"{serial % 1000:03d}"
    total = 0
    for i, ch in enumerate(digits):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return digits and yyyymmdd + f"{serial % 1000:03d}" + str((10 - total % 10) % 10)


def _participants(db, needed: int) -> list[str]:
    """Existing participants of the large programme, or new ones when there are too few."""
    from app.models import Company, Participant, new_id

    with db.read() as s:
        ids = list(s.execute(select(Participant.id).where(Participant.deleted_at.is_(None)).limit(needed)).scalars())
    if len(ids) >= needed:
        return ids
    with db.write() as s:
        company_id = new_id()
        s.execute(insert(Company), [{"id": company_id, "name": "Västerviks Mekaniska AB"}])
        rows = []
        for i in range(needed - len(ids)):
            rows.append({
                "id": new_id(),
                "first_name": ["Åsa", "Łukasz", "Nguyễn Thị", "Şükrü", "Erik"][i % 5],
                "last_name": f"Öberg-{i:03d}",
                "personal_number": _luhn_pnr(f"19{60 + i % 40:02d}{1 + i % 12:02d}{1 + i % 28:02d}", i),
                "company_id": company_id,
            })
        s.execute(insert(Participant), rows)
    return ids + [r["id"] for r in rows]


def build_courses(db) -> tuple[str, str]:
    """A course of 300 participants x 60 sessions with marks, and one of 40 participants."""
    from app.models import Attendance, Course, CourseSession, Enrollment, attendance_id, enrollment_id, new_id

    people = _participants(db, PARTICIPANTS)
    big, small = new_id(), new_id()
    start = date.today() - timedelta(weeks=40)
    with db.write() as s:
        s.execute(insert(Course), [
            {"id": big, "code": "BENCH-REG-300", "title": "Produktionsteknik – lång kurs", "min_attendance_percent": 80},
            {"id": small, "code": "BENCH-SHEET-40", "title": "Svetsning <MIG> & MAG", "location": "Campus Västervik",
             "teacher": "Eva Lind", "min_attendance_percent": 80},
        ])
        sessions = [
            {"id": new_id(), "course_id": big, "date": start + timedelta(days=3 * i), "start_time": time(8),
             "end_time": time(12) if i % 4 else time(11, 30), "cancelled": i % 17 == 5}
            for i in range(SESSIONS)
        ]
        sessions.append({"id": new_id(), "course_id": small, "date": date.today(), "start_time": time(8),
                         "end_time": time(16)})
        s.execute(insert(CourseSession), sessions)
        s.execute(insert(Enrollment), [
            {"id": enrollment_id(big, pid), "course_id": big, "participant_id": pid, "status": "enrolled"}
            for pid in people
        ] + [
            {"id": enrollment_id(small, pid), "course_id": small, "participant_id": pid, "status": "enrolled"}
            for pid in people[:SHEET_PARTICIPANTS]
        ])
        statuses = ("present", "present", "present", "late", "present", "excused", "absent")
        marks = []
        for j, session in enumerate(sessions[:SESSIONS - 5]):  # the last five lie ahead
            if session["cancelled"]:
                continue
            for k, pid in enumerate(people):
                status = statuses[(j + k) % len(statuses)]
                marks.append({"id": attendance_id(session["id"], pid), "session_id": session["id"],
                              "participant_id": pid, "status": status,
                              "minutes": 150 if status == "late" else None, "note": ""})
        s.execute(insert(Attendance), marks)
    return big, small


def _best(fn) -> float:
    """Best wall time of RUNS runs (as timeit advises: the others measure the machine's other load)."""
    times = []
    for _ in range(RUNS):
        t0 = _time.perf_counter()
        fn()
        times.append(_time.perf_counter() - t0)
    return min(times)


def run(db, workdir: Path) -> list[tuple[str, float, str, str]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.documents.common import register_fonts
    from app.documents.signin_sheet import write_signin_sheet
    from app.services import attendance
    from ui.register_model import RegisterModel

    _app = QApplication.instance() or QApplication([])
    big, small = build_courses(db)
    register_fonts()
    model = RegisterModel()

    def open_register():
        model.set_register(attendance.register(db, big))
        # what the view asks for the first screen: 30 rows, every column
        for row in range(min(30, model.rowCount())):
            for column in range(model.columnCount()):
                index = model.index(row, column)
                index.data(Qt.ItemDataRole.DisplayRole)
                index.data(Qt.ItemDataRole.BackgroundRole)

    register_s = _best(open_register)
    assert model.rowCount() == PARTICIPANTS and model.columnCount() == SESSIONS + 2
    summary_s = _best(lambda: attendance.course_attendance_summary(db, big))
    out = workdir / "bench-signin-40.pdf"
    sheet_s = _best(lambda: write_signin_sheet(db, small, out, lang="sv"))
    return [
        ("attendance: open register 300 participants x 60 sessions (service + model), best of 5", register_s, "s", "< 0.3 s"),
        ("attendance: course_attendance_summary 300 x 60, best of 5", summary_s, "s", "< 0.3 s"),
        ("attendance: sign-in sheet, 40 participants, best of 5", sheet_s, "s", "< 0.2 s"),
    ]


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from app.sync.capture import open_app_database

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "bench_attendance.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    if large_db and Path(large_db).exists():
        import sqlite3

        src = sqlite3.connect(f"{Path(large_db).resolve().as_uri()}?mode=ro", uri=True)  # never written
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # a consistent copy, safe with WAL
        finally:
            src.close()
            dst.close()
    db = open_app_database(target)
    try:
        return run(db, workdir)
    finally:
        db.dispose()


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-attendance-"))
    os.environ.setdefault("KURSDESK_HOME", str(folder / "home"))
    for label, value, unit, goal in measure(Path(sys.argv[2]) if len(sys.argv) > 2 else None, folder):
        print(f"{label:75} {value:8.3f} {unit}   goal {goal}")
    if len(sys.argv) <= 1:
        shutil.rmtree(folder, ignore_errors=True)
