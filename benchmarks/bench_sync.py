"""Sync benchmarks: first sync of the large programme (publish on one laptop, with the snapshot it
writes; a new laptop joining from that snapshot), an incremental sync of 10 changes on it (three
rounds; the worst counts), the cost of change capture on a bulk insert, "Undo last sync" of the
incremental import, and a simulated year of daily use by three laptops with the shared folder's
size at the end of each month (bounded: the folder forgets what a snapshot covers). Wall time, with
the process's CPU time alongside (several benchmarks may share the machine).

    measure(large_db, workdir, parts=PARTS) -> [(label, value, unit, goal)]

`python -m benchmarks.run --only sync:join` runs the first sync, the join and the incremental
syncs alone (a few minutes); `sync:year` the simulated year alone (about half an hour on 2 cores).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

CPU: dict[str, float] = {}  # label -> CPU seconds of the last _timed call under that label


def _timed(fn, label: str = ""):
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    if label:
        CPU[label] = time.process_time() - c0
    return time.perf_counter() - t0, result


def _open(path: Path):
    """A copy of the large database; tables newer than the file (same migration revision) are added."""
    from app.models import Base
    from app.sync.capture import open_app_database

    db = open_app_database(path)
    Base.metadata.create_all(db.engine, checkfirst=True)
    return db


PARTS = ("join", "capture", "year")


def measure(large_db: Path, workdir: Path, parts=PARTS) -> list[tuple[str, float, str, str]]:
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; the parts are {', '.join(PARTS)}")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    rows = _join(large_db, Path(workdir)) if "join" in parts else []
    if "capture" in parts:
        rows.append(_capture_overhead(Path(workdir)))
    if "year" in parts:
        rows.extend(year_of_daily_use(Path(workdir)))
    return rows


def _join(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from sqlalchemy import select

    from app.models import Participant, SyncAudit
    from app.sync import setup_folder, sync
    from app.sync.capture import open_app_database

    os.environ.setdefault("KURSDESK_HOME", str(workdir / "home"))
    share, key = workdir / "sync-share", workdir / "sync.key"
    for p in (share, key):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    setup_folder(share, key)
    a_path, b_path = workdir / "sync-a.db", workdir / "sync-b.db"
    shutil.copyfile(large_db, a_path)  # never modify the given file
    empty = open_app_database(workdir / "sync-empty.db")
    empty.dispose()
    shutil.copyfile(workdir / "sync-empty.db", b_path)
    a, b = _open(a_path), _open(b_path)
    publish_s, _r = _timed(lambda: sync(a, share, key_file=key), "pub")
    snap_bytes = sum(p.stat().st_size for p in (share / "snapshots").rglob("*.snap"))
    import_s, _r = _timed(lambda: sync(b, share), "imp")
    # a second new laptop joins the same way (the machine is shared: the lower of two counts)
    shutil.copyfile(workdir / "sync-empty.db", workdir / "sync-c.db")
    c = _open(workdir / "sync-c.db")
    import2_s, _r = _timed(lambda: sync(c, share), "imp2")
    for db in (b, c):
        with db.read() as s:
            if s.scalar(select(SyncAudit.id).where(SyncAudit.event == "snapshot-loaded")) is None:
                raise RuntimeError("the new laptop did not start from a snapshot")
    c.dispose()
    inc_pub = inc_imp = inc_pub_cpu = inc_imp_cpu = 0.0
    for round_ in range(3):
        with a.write() as s:
            for p in s.scalars(select(Participant).limit(10)):
                p.phone = f"0490-1234{round_}"
        took, _r = _timed(lambda: sync(a, share), "ipub")
        inc_pub, inc_pub_cpu = max(inc_pub, took), max(inc_pub_cpu, CPU["ipub"])
        took, _r = _timed(lambda: sync(b, share), "iimp")
        inc_imp, inc_imp_cpu = max(inc_imp, took), max(inc_imp_cpu, CPU["iimp"])
    from app.sync.restore import restore_before_last_sync

    undo_s, _r = _timed(lambda: restore_before_last_sync(b), "undo")
    load = os.getloadavg()[0]
    rows = [
        ("sync: first publish of the large programme, with its snapshot", publish_s, "s", "-"),
        ("sync: first publish, CPU", CPU["pub"], "s", "-"),
        ("sync: snapshot of the large programme, size", snap_bytes / 1e6, "MB", "-"),
        ("sync: a new laptop joins from the snapshot (lower of 2)", min(import_s, import2_s), "s", "< 10 s (replay ~70 s)"),
        ("sync: a new laptop joins from the snapshot, CPU (lower of 2)", min(CPU["imp"], CPU["imp2"]), "s", "< 10 s"),
        ("sync: incremental, 10 changes, publish (worst of 3)", inc_pub, "s", "< 0.5 s"),
        ("sync: incremental, 10 changes, publish, CPU", inc_pub_cpu, "s", "< 0.5 s"),
        ("sync: incremental, 10 changes, import (worst of 3)", inc_imp, "s", "< 0.5 s"),
        ("sync: incremental, 10 changes, import, CPU", inc_imp_cpu, "s", "< 0.5 s"),
        ("sync: undo last sync (10 changes)", undo_s, "s", "-"),
        ("sync: load average (1 min) during the run", load, "", "2 cores"),
    ]
    a.dispose()
    b.dispose()
    return rows


def year_of_daily_use(workdir: Path, days: int = 365, scale: float = 0.005) -> list[tuple[str, float, str, str]]:
    """Three laptops on a small programme (scale 0.005 of the large one), each changing some
    attendance marks and a phone number every day and syncing once a day, for a year of simulated
    days (the snapshot clock moves a day per round). Rows: the share's size at the end of each month,
    and what the batches written in the year add up to (what the share would hold if it never forgot)."""
    import random
    from datetime import timedelta

    from sqlalchemy import select

    from app.models import Attendance, Participant, utcnow
    from app.sync import setup_folder, snapshot, sync
    from app.sync.capture import open_app_database
    from benchmarks.synthetic import generate

    workdir = Path(workdir) / "year"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    share, key = workdir / "share", workdir / "year.key"
    setup_folder(share, key)
    generate(workdir / "a.db", scale=scale)
    empty = open_app_database(workdir / "empty.db")
    empty.dispose()
    for name in ("b", "c"):
        shutil.copyfile(workdir / "empty.db", workdir / f"{name}.db")
    laptops = [_open(workdir / f"{n}.db") for n in "abc"]
    rng = random.Random(14)
    start, real_now = utcnow(), snapshot.now
    written: dict[str, int] = {}  # every batch file seen, with its size
    rows = []
    try:
        for day in range(days):
            snapshot.now = lambda day=day: start + timedelta(days=day)
            for i, db in enumerate(laptops):
                if day:
                    with db.write() as s:
                        marks = s.scalars(select(Attendance).order_by(Attendance.id)
                                          .offset(rng.randrange(2500)).limit(10)).all()
                        for m in marks:
                            m.status = rng.choice(["present", "absent", "excused"])
                        p = s.scalars(select(Participant).offset(rng.randrange(100)).limit(1)).first()
                        if p is not None:
                            p.phone = f"0490-{day:03d}{i}"
                sync(db, share, key_file=key if day == 0 else None, confirm_mass_delete=True)
                for f in (share / "devices").rglob("*.batch"):
                    written.setdefault(str(f), f.stat().st_size)
            if (day + 1) % 30 == 0 or day + 1 == days:
                size = sum(f.stat().st_size for f in share.rglob("*") if f.is_file())
                rows.append((f"sync: year of daily use, share size after day {day + 1}", size / 1e6, "MB", "bounded"))
    finally:
        snapshot.now = real_now
        for db in laptops:
            db.dispose()
    rows.append(("sync: year of daily use, batches written in all", sum(written.values()) / 1e6, "MB",
                 "what the share would hold without forgetting"))
    return rows


def _capture_overhead(workdir: Path, n: int = 100_000) -> tuple[str, float, str, str]:
    """Seconds per 100,000 rows that change capture adds to an ORM bulk insert."""
    from sqlalchemy import insert

    from app.models import Company, new_id
    from app.sync.capture import open_app_database

    rows = [{"id": new_id(), "name": f"Företag {i}", "org_number": ""} for i in range(n)]
    times = {}
    for label in ("on", "off"):
        path = workdir / f"sync-capture-{label}.db"
        path.unlink(missing_ok=True)
        db = open_app_database(path)
        if label == "off":
            from app.sync.capture import APPLYING

            def run():
                with db.write() as s:
                    s.info[APPLYING] = True
                    s.execute(insert(Company), rows)
        else:
            def run():
                with db.write() as s:
                    s.execute(insert(Company), rows)
        times[label], _r = _timed(run)
        db.dispose()
    return ("sync: capture overhead per 100k bulk-inserted rows", times["on"] - times["off"], "s", "600k import < 60 s")


if __name__ == "__main__":
    import tempfile
    from datetime import date
    from datetime import time as dtime

    from sqlalchemy import insert

    from app.models import Attendance, Course, CourseSession, Participant, attendance_id, new_id
    from app.sync.capture import APPLYING, open_app_database

    work = Path(tempfile.mkdtemp())
    os.environ["KURSDESK_HOME"] = str(work / "home")
    db = open_app_database(work / "large.db")
    n_people, n_sessions = 2000, 100
    people = [{"id": new_id(), "first_name": "A", "last_name": f"B{i}", "personal_number": f"19800101{i:04d}"} for i in range(n_people)]
    course = {"id": new_id(), "code": "X", "title": "X"}
    sessions = [{"id": new_id(), "course_id": course["id"], "date": date(2026, 1, 1 + i % 28), "start_time": dtime(8), "end_time": dtime(12)} for i in range(n_sessions)]
    marks = [{"id": attendance_id(s["id"], p["id"]), "session_id": s["id"], "participant_id": p["id"], "status": "present"} for s in sessions for p in people]
    with db.write() as s:
        s.info[APPLYING] = True  # a database made without capture: the first sync takes a baseline
        s.execute(insert(Participant), people)
        s.execute(insert(Course), [course])
        s.execute(insert(CourseSession), sessions)
        s.execute(insert(Attendance), marks)
    db.dispose()
    for label, value, unit, goal in measure(work / "large.db", work):
        print(f"{label:60s} {value:8.2f} {unit}  {goal}")
