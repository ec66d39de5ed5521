"""The coordinator's reads on the large programme in a PostgreSQL database while four other
clients write (processes running tests/concurrency/four_clients.py: marks, enrolments, certificates,
identities, edits of the same records): the course list (course_overview), the register of a
300-participant course (attendance.register) and the 20,000 participants, listed whole and
filtered by a search (list_participants), each repeated; median and max wall time.

Needs a server: `python -m benchmarks.run --only postgresql --db postgresql://ROLE@HOST:PORT/postgres`
(a role that may CREATE DATABASE; or KURSDESK_BENCH_PG_URL). The large SQLite programme is copied
into a database `kursdesk_bench_<scale>` once (COPY, table by table) and kept as a template; each
run works on a fresh copy of it (CREATE DATABASE ... TEMPLATE), dropped at the end."""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPEAT = 15
GOAL = "< 100 ms"
CLIENTS = 4
PAUSE = 0.5  # a client's mean pause between two writes, seconds (a few writes a second in all)
SEARCHES = ["anders", "väst", "1985", "lind", "a"]


def server_url() -> str:
    url = os.environ.get("KURSDESK_BENCH_PG_URL", "")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _admin(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def _url_of(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _counts_sqlite(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in ("participants", "attendance", "courses")}
    finally:
        conn.close()


def _template(url: str, large_db: Path) -> tuple[str, float | None]:
    """The loaded template database's name, and the seconds loading took (None: reused)."""
    from sqlalchemy import text

    from app.db import Database
    from app.migrations import HEAD

    name = f"kursdesk_bench_{large_db.stem.replace('-', '_').replace('.', '_')}"
    want = _counts_sqlite(large_db)
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists:
            db = Database(_url_of(url, name), migrate=False)
            try:
                with db.engine.connect() as conn:
                    rev = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                    have = {t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in want}
            finally:
                db.dispose()
            if rev == HEAD and have == want:
                return name, None
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        started = time.perf_counter()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        db = Database(_url_of(url, name))  # migrated to head
        try:
            _copy_rows(large_db, db)
        finally:
            db.dispose()
        return name, time.perf_counter() - started
    finally:
        admin.dispose()


def _copy_rows(large_db: Path, db) -> None:
    """Every row of the SQLite programme, table by table (parents first), with COPY; columns the
    file does not have (a later migration's) take their defaults."""
    from sqlalchemy import create_engine, select

    from app.models import Base

    source = create_engine(f"sqlite:///file:{large_db}?mode=ro&uri=true")
    raw = db.engine.raw_connection()
    try:
        pg = raw.driver_connection
        for table in reversed(Base.metadata.sorted_tables):  # what opening the new database wrote (schema.written_by)
            pg.execute(f'DELETE FROM "{table.name}"')
        with source.connect() as src:
            for table in Base.metadata.sorted_tables:
                have = {r[1] for r in src.exec_driver_sql(f'PRAGMA table_info("{table.name}")')}
                cols = [c for c in table.columns if c.name in have]
                if not cols:
                    continue
                names = ", ".join(f'"{c.name}"' for c in cols)
                with pg.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in src.execution_options(stream_results=True, yield_per=20_000).execute(select(*cols)):
                        copy.write_row(tuple(row))
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")  # as autovacuum leaves a live server: visibility map set, statistics read
        pg.autocommit = False
    finally:
        raw.close()
        source.dispose()


def _big_course(db) -> str:
    """A course of 300 participants with 20 sessions and a mark for each (the synthetic courses have 12)."""
    from sqlalchemy import insert, select

    from app.models import Attendance, Participant, attendance_id
    from app.services.courses import CourseData, SessionData, add_session, create_course
    from app.services.enrollments import enroll

    course = create_course(db, CourseData(code="BENCH-300", title="Trehundra deltagare", capacity=300))
    start = date.today() - timedelta(days=150)
    sessions = [add_session(db, course, SessionData(start + timedelta(days=7 * i), "09:00", "12:00")) for i in range(20)]
    with db.read() as s:
        people = s.execute(select(Participant.id).where(Participant.deleted_at.is_(None)).limit(300)).scalars().all()
    enroll(db, course, people)
    with db.write() as s:
        s.execute(insert(Attendance), [{"id": attendance_id(x, p), "session_id": x, "participant_id": p, "status": "present"}
                                       for x in sessions for p in people])
    return course


def _timed(fn, repeat: int = REPEAT) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (this process: Python's share; the rest is the server and the wait)."""
    fn()  # warm SQLAlchemy's statement cache and the server's
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return wall, cpu


def _server_ms(db, fn, repeat: int = 5) -> float:
    """The server's own time for what `fn` asks of it, median of `repeat` runs: each SELECT it sent
    run again under EXPLAIN (ANALYZE, TIMING OFF: no clock read per row), their execution times summed (the rest of the wall time is
    this process's CPU and the wait for a CPU of a loaded machine)."""
    from sqlalchemy import event

    sent: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "SET LOCAL")) and "pg_advisory" not in statement:
            sent.append((statement, parameters))  # a SET LOCAL (a planner setting) is replayed as it was

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    totals = []
    raw = db.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            for _ in range(repeat):
                total = 0.0
                for statement, parameters in sent:
                    if statement.lstrip().upper().startswith("SET"):
                        cur.execute(statement, parameters)
                        continue
                    cur.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement, parameters)
                    total += cur.fetchone()[0][0]["Execution Time"]
                totals.append(total)
                raw.driver_connection.rollback()  # one transaction per repetition, as fn's
    finally:
        raw.close()
    return statistics.median(totals)


def _cpu_seconds(pids: list[int]) -> float | None:
    """CPU time (user + system) the processes have used so far, from /proc (Linux; else None)."""
    try:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _write_lock_cost(db, course: str, repeat: int = 300) -> list[tuple[str, float, str, str]]:
    """One small write transaction (an UPDATE) with and without Database.write()'s advisory lock,
    no other writer: what the lock itself costs (one more statement in the transaction)."""
    from app.concurrency import WRITE_LOCK_KEY

    rows = []
    for label, lock in (("without", False), ("with", True)):
        wall, cpu = [], []
        for i in range(repeat):
            started, used = time.perf_counter(), time.process_time()
            with db.engine.begin() as conn:
                if lock:
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
                conn.exec_driver_sql("UPDATE courses SET location = %s WHERE id = %s", (str(i), course))
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        rows.append((f"a one-UPDATE write transaction {label} the write lock, median", statistics.median(wall) * 1000, "ms", ""))
        rows.append((f"a one-UPDATE write transaction {label} the write lock, CPU median", statistics.median(cpu) * 1000, "ms", ""))
    return rows


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    url = server_url()
    if not url:
        return [("skipped: no server given (--db postgresql://... or KURSDESK_BENCH_PG_URL)", "", "", "")]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from app.db import Database
    from app.services.attendance import register
    from app.services.courses import course_overview
    from app.services.participants import list_participants
    from tests.concurrency.four_clients import build, run_client
    from tests.concurrency.racing import _ctx

    template, loaded = _template(url, large_db)
    run = f"{template}_run_{os.getpid()}"
    admin = _admin(url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{run}" TEMPLATE "{template}"')
    rows: list[tuple[str, float, str, str]] = []
    if loaded is not None:
        rows.append(("load the large programme into PostgreSQL (COPY)", loaded, "s", ""))
    db = Database(_url_of(url, run))
    clients = []
    try:
        course = _big_course(db)
        rows += _write_lock_cost(db, course)
        setup = build(db)
        seconds = 600.0  # stopped when the measurements are done
        clients = [_ctx.Process(target=run_client, args=(_url_of(url, run), setup, c, seconds, 0, PAUSE))
                   for c in range(CLIENTS)]
        for p in clients:
            p.start()
        time.sleep(5)  # the clients are writing
        load_before = os.getloadavg()[0]
        started, clients_cpu = time.perf_counter(), _cpu_seconds([p.pid for p in clients])
        calls = {
            "course list (course_overview, 3,000 courses)": [lambda: course_overview(db)],
            "register of a 300-participant course (20 sessions)": [lambda: register(db, course)],
            "all 20,000 participants (list_participants)": [lambda: list_participants(db)],
            "filter 20,000 participants (list_participants search, 5 words)":
                [lambda word=word: list_participants(db, search=word) for word in SEARCHES],
        }
        figures = {}
        for label, fns in calls.items():
            wall, cpu = [], []
            for fn in fns:
                w, c = _timed(fn, REPEAT if len(fns) == 1 else 3)
                wall, cpu = wall + w, cpu + c
            figures[label] = (wall, cpu, statistics.median(_server_ms(db, fn) for fn in fns))
        alive = sum(p.is_alive() for p in clients)
        used = _cpu_seconds([p.pid for p in clients])
        for label, (wall, cpu, server) in figures.items():
            rows.append((f"{label}, median", statistics.median(wall) * 1000, "ms", GOAL))
            rows.append((f"{label}, max", max(wall) * 1000, "ms", GOAL))
            rows.append((f"{label}, CPU median", statistics.median(cpu) * 1000, "ms", ""))
            rows.append((f"{label}, server median (EXPLAIN ANALYZE)", server, "ms", ""))
        rows.append(("clients writing during the measurements", alive, "", f"{CLIENTS}"))
        if used is not None and clients_cpu is not None:
            # what the writers take of the machine's CPUs (their server backends come on top)
            rows.append(("the clients' own CPU while measuring, share of one CPU",
                         (used - clients_cpu) / (time.perf_counter() - started), "", ""))
        rows.append(("load average (1 min) before / after the measurements",
                     f"{load_before:.2f} / {os.getloadavg()[0]:.2f}", "", ""))
    finally:
        for p in clients:
            p.terminate()
            p.join(30)
        db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        admin.dispose()
    return rows


if __name__ == "__main__":
    from benchmarks.synthetic import ensure_large_db

    path, _took = ensure_large_db(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/kursdesk-pg-small.db"), 0.05)
    for row in measure(path, Path("/tmp")):
        print(row)
