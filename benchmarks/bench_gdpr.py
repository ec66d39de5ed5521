"""Data protection on the large programme (on a copy in `workdir`):

- a register extract (PDF and JSON) of the participant with the most marks      goal < 3 s
- who is due for erasure (everyone: the retention date has passed)                goal < 5 s
- erasing one person: records, bookkeeping, rewriting the file, three backups     goal < 30 s
- a partner's batch applied after erasures of 200 people (the merge's screening)  goal < 2 s
- erasing everyone once the retention date has passed (the purge, in bulk)        goal < 120 s

    python -m benchmarks.bench_gdpr [LARGE_DB]   (without a path: a scale-0.25 programme is built)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.bench_reports import _timed


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from sqlalchemy import func, select

    from app.gdpr import erasure, retention
    from app.gdpr.extract import write_extract
    from app.gdpr.settings import GdprSettings, save_gdpr_settings
    from app.models import Attendance, Participant
    from app.sync.capture import open_app_database
    from app.sync.merge import Merger

    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "gdpr.db"
    shutil.copyfile(large_db, copy)
    results = []
    db = open_app_database(copy)
    try:
        with db.read() as s:
            busiest = s.execute(select(Attendance.participant_id).group_by(Attendance.participant_id)
                                .order_by(func.count().desc()).limit(1)).scalar_one()
            others = s.scalars(select(Participant.id).where(Participant.id != busiest).limit(200)).all()
        t0, c0 = time.perf_counter(), time.process_time()
        write_extract(db, busiest, workdir / "extract.pdf", lang="sv")
        results += _timed("register extract, PDF and JSON (busiest participant)", t0, c0, "< 3 s")

        t0, c0 = time.perf_counter(), time.process_time()
        due = retention.due_for_erasure(db, date(2100, 1, 1))
        results += _timed(f"who never took part and is due ({len(due)} people)", t0, c0, "< 5 s")

        for _ in range(3):
            db.backup("bench")
        t0, c0 = time.perf_counter(), time.process_time()
        erasure.erase(db, busiest, "request", forced=True)
        results += _timed("erase one person (file rewritten, 3 backups edited)", t0, c0, "< 30 s")

        with db.write() as s:  # 200 erased ids for the merge to screen against, without rewriting the file
            erasure._remove(s.connection(), erasure._person_ids(s.connection(), {"sync_aliases", *erasure.CHILD_TABLES}, set(others)), {})
        lines = [{"t": "participants", "id": pid, "op": "upsert", "h": "9" * 16 + "-00000-bench", "f": {"phone": "070-1"}, "b": {}}
                 for pid in others[:100]]
        t0, c0 = time.perf_counter(), time.process_time()
        with db.write() as s:
            from app.sync.capture import APPLYING

            s.info[APPLYING] = True
            Merger(s, None).apply(lines * 20, device="bench", seq=1)
        results += _timed("a 2,000-line batch, all for erased people, screened", t0, c0, "< 2 s")

        save_gdpr_settings(db, GdprSettings(retention_until=date(2000, 1, 1)))
        t0, c0 = time.perf_counter(), time.process_time()
        n = len(retention.purge(db))
        results += _timed(f"purge everyone after the retention date ({n} people)", t0, c0, "< 120 s")
    finally:
        db.dispose()
        copy.unlink(missing_ok=True)
    return results


def main(argv: list[str]) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-gdpr-"))
    import os

    os.environ.setdefault("KURSDESK_HOME", str(work / "home"))
    if argv:
        large = Path(argv[0])
    else:
        from benchmarks.synthetic import generate

        large = work / "large.db"
        generate(large, scale=0.25)
    for label, value, unit, goal in measure(large, work / "out"):
        print(f"{label:<60} {value:8.2f} {unit}   goal {goal}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
