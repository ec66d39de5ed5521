"""Closing a month, the status of every month and the control report on the large programme
(issue 13).

- closing the busiest month (its hours and figures recorded; the files are benchmarked in
  bench_reports)                                                               goal < 2 s
- `month status` with every month but the last closed and one mark changed afterwards: today's
  hours of every month of the project against the closes                         goal < 2 s
- the control report of the busiest month                                       goal < 2 s

The closes and the change go into a copy of the large database in `workdir`. Each figure is wall
time followed by the CPU time of this process.

    python -m benchmarks.bench_month_close [LARGE_DB]   (without a path: a scale-0.25 programme)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.bench_reports import _busiest_month, _timed


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from sqlalchemy import select, update

    from app.sync.capture import open_app_database
    from app.models import Attendance, CourseSession
    from app.services import month_close as mc
    from app.services.control_report import control_report

    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "month-close.db"
    shutil.copyfile(large_db, copy)
    db = open_app_database(copy, migrate=False)
    results = []
    try:
        busiest = _busiest_month(db)
        t0, c0 = time.perf_counter(), time.process_time()
        v = mc.close_month(db, busiest)
        results += _timed(f"close {busiest} ({v.figures['participants']} participants)", t0, c0, "< 2 s")

        months = [m for m in mc.project_months(db) if m.last < date.today()]
        for m in months[:-1]:
            if m.key != busiest:
                mc.close_month(db, m)
        with db.write() as s:  # a correction in the first closed month
            first = months[0]
            mark = s.execute(
                select(Attendance.id).join(CourseSession, CourseSession.id == Attendance.session_id)
                .where(CourseSession.date >= first.first, CourseSession.date <= first.last, Attendance.status == "present")
                .limit(1)
            ).scalar_one()
            s.execute(update(Attendance).where(Attendance.id == mark).values(status="absent"))
        t0, c0 = time.perf_counter(), time.process_time()
        rows = mc.month_status(db)
        changed = sum(st.state == mc.CHANGED for st in rows)
        resend = len(mc.months_to_resend(rows))
        results += _timed(f"month status, {len(rows)} months ({changed} changed, {resend} to resend)", t0, c0, "< 2 s")

        t0, c0 = time.perf_counter(), time.process_time()
        findings = control_report(db, busiest)
        results += _timed(f"control report {busiest} ({len(findings)} findings)", t0, c0, "< 2 s")
    finally:
        db.dispose()
        copy.unlink(missing_ok=True)
    return results


def main(argv: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-month-close-"))
    if argv:
        large = Path(argv[0])
    else:
        from benchmarks.synthetic import generate

        large = work / "large.db"
        generate(large, scale=0.25)
    for label, value, unit, goal in measure(large, work / "out"):
        print(f"{label:<60} {value:8.2f} {unit}   goal {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
