"""Closing a month, the status of every month and the control report on the large programme
(issue 13).

- closing the busiest month (its hours and figures recorded; the files are benchmarked in
  bench_reports)                                                               goal < 2 s
- `month status` with every month but the last closed and one mark changed afterwards in the
  register (set_mark): the changed months are computed again, the others come from the status's
  last computation (app/services/month_stamps.py)                                goal < 2 s
- `month status` when every month must be computed again (the project settings saved), and once
  more with nothing changed
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


def _status(mc, db, label: str, goal: str) -> list[tuple[str, float, str, str]]:
    t0, c0 = time.perf_counter(), time.process_time()
    rows = mc.month_status(db)
    changed = sum(st.state == mc.CHANGED for st in rows)
    resend = len(mc.months_to_resend(rows))
    return _timed(f"month status, {len(rows)} months ({changed} changed, {resend} to resend), {label}", t0, c0, goal)


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from sqlalchemy import select

    from app.models import Attendance, CourseSession
    from app.services import month_close as mc
    from app.services.attendance import set_mark
    from app.services.control_report import control_report
    from app.services.settings import get_project_settings, save_project_settings
    from app.sync.capture import open_app_database

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
        with db.read() as s:  # a correction in the first closed month, in the register
            first = months[0]
            session_id, participant_id = s.execute(
                select(Attendance.session_id, Attendance.participant_id).join(CourseSession, CourseSession.id == Attendance.session_id)
                .where(CourseSession.date >= first.first, CourseSession.date <= first.last, Attendance.status == "present",
                       Attendance.deleted_at.is_(None))
                .limit(1)
            ).one()
        set_mark(db, session_id, participant_id, "absent")
        results += _status(mc, db, "after a mark", "< 2 s")
        save_project_settings(db, get_project_settings(db))  # a project setting: every month may change
        results += _status(mc, db, "every month computed", "")
        results += _status(mc, db, "nothing changed since", "")

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
