"""Reports and participant-list import on the large programme.

- the month's figures for ESF (month_figures) and its summary workbook (ESF's
  Sammanställning deltagare PO1, .xlsx) for all participants of the busiest month  goal < 5 s
- 1,000 monthly time reports in one PDF                                       goal < 10 s
- importing a 5,000-row participant list (preview + enrol, 1,000 known people) goal < 5 s

The large database is only read; the import runs on a copy in `workdir`. Each figure is wall
time (the goal) followed by the CPU time of this process (time.process_time), which other work
on a busy machine disturbs less.

    python -m benchmarks.bench_reports [LARGE_DB]   (without a path: a scale-0.25 programme is built)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path


def _busiest_month(db) -> str:
    from sqlalchemy import func, select

    from app.models import Attendance, CourseSession

    month = func.strftime("%Y-%m", CourseSession.date)
    with db.read() as s:
        return s.execute(
            select(month)
            .join(Attendance, Attendance.session_id == CourseSession.id)
            .group_by(month)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()


def _write_list(db, path: Path, rows: int = 5000, known: int = 1000) -> None:
    from sqlalchemy import select
    from stdnum import luhn

    from app.models import Company, Participant

    with db.read() as s:
        companies = s.execute(select(Company.name, Company.org_number).where(Company.deleted_at.is_(None)).limit(200)).all()
        people = s.execute(select(Participant.personal_number).limit(known)).scalars().all()
    lines = ["Förnamn;Efternamn;Personnummer;Företag;E-post;Telefon"]
    for i in range(rows):
        if i < len(people):
            pnr = people[i]
        else:  # new people born in 1950 (the synthetic programme has none of these)
            base = f"500{(i % 12) + 1:02d}{(i % 28) + 1:02d}"[-6:] + f"{i % 1000:03d}"
            pnr = "19" + base + luhn.calc_check_digit(base)
        name, org = companies[i % len(companies)]
        lines.append(f"Förnamn{i};Efternamn{i};{pnr};{org if i % 2 else name};p{i}@example.se;070-{i:07d}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def _timed(label: str, t0: float, c0: float, goal: str) -> list[tuple[str, float, str, str]]:
    """Wall time against the goal, then the CPU time of the same work."""
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return [(label, wall, "s", goal), ("  the same, CPU time of this process", cpu, "s CPU", "")]


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from app.db import Database
    from app.documents.esf_summary import write_esf_summary
    from app.interchange.participant_list import apply_import, preview_import
    from app.services.reports import month_figures, month_hours
    from app.services.time_reports import write_time_reports
    from app.sync.capture import open_app_database

    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    db = Database(large_db, migrate=False)
    try:
        month = _busiest_month(db)
        t0, c0 = time.perf_counter(), time.process_time()
        figures = month_figures(db, month)
        results += _timed(f"month figures for ESF ({figures.participant_count} participants)", t0, c0, "< 5 s")
        t0, c0 = time.perf_counter(), time.process_time()
        n = write_esf_summary(db, month, workdir / f"summary-{month}.xlsx").participant_count
        results += _timed(f"month summary .xlsx, ESF's four sheets ({n} participants)", t0, c0, "< 5 s")

        ids = [r.participant_id for r in month_hours(db, month)][:1000]
        t0, c0 = time.perf_counter(), time.process_time()
        pages = write_time_reports(db, month, workdir / f"time-reports-{month}.pdf", ids)
        results += _timed(f"{pages} monthly time reports in one PDF", t0, c0, "< 10 s")
    finally:
        db.dispose()

    copy = workdir / "reports-import.db"
    shutil.copyfile(large_db, copy)
    db = open_app_database(copy, migrate=False)
    try:
        from sqlalchemy import select

        from app.models import Course

        with db.read() as s:
            course_id = s.execute(select(Course.id).limit(1)).scalar_one()
        listing = workdir / "participants-5000.csv"
        _write_list(db, listing)
        t0, c0 = time.perf_counter(), time.process_time()
        preview = preview_import(db, listing, course_id)
        result = apply_import(db, preview, skip_invalid=True)
        results += _timed(
            f"import 5,000-row list ({result.created} new, {result.matched} known, {len(preview.invalid)} bad)", t0, c0, "< 5 s"
        )
    finally:
        db.dispose()
        copy.unlink(missing_ok=True)
    return results


def main(argv: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
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
