"""Storage figures: generating the large programme, the database size, `export --json` and
`import --json` of the whole set, and the time from process start to the main window.

Export, import and the window run as separate processes (`python -m app ...`, `python -c ...`)
so each figure is what a user waits for, interpreter start included. The large database is
copied first; it is never opened for writing.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: process start -> QApplication -> MainWindow shown -> events processed
# (the window figure), then on until the first page's data is on screen (the database opened in a
# worker after the first paint, the overview's read). Prints seconds since the process started and
# the process's CPU seconds at both points.
WINDOW_SCRIPT = r"""
import time
_t0 = time.perf_counter()
import os, sys

def since_process_start():
    try:  # field 22 of /proc/self/stat: start time in clock ticks after boot
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None

def elapsed():
    from_start = since_process_start()
    return from_start if from_start is not None else time.perf_counter() - _t0

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from ui.launch import open_window  # the path `kursdesk` takes to the window

def shown():
    window_at, window_cpu = elapsed(), time.process_time()
    from PySide6.QtWidgets import QApplication
    from ui.main_window import MainWindow

    page = MainWindow.current.pages["overview"]
    deadline = time.monotonic() + 120
    while (page.loading or not page.fresh) and time.monotonic() < deadline:
        QApplication.instance().processEvents()
        time.sleep(0.002)
    QApplication.instance().processEvents()
    print(f"{window_at:.3f} {window_cpu:.3f} {elapsed():.3f} {time.process_time():.3f}", flush=True)
    os._exit(0)

open_window(db_path=sys.argv[1], on_shown=shown)
"""


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["KURSDESK_HOME"] = str(workdir / "home")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _children_cpu() -> float:
    try:
        import resource  # Unix only
    except ImportError:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: list[str], workdir: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a child process."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(args, cwd=ROOT, env=_env(workdir), capture_output=True, text=True)
    took = time.perf_counter() - started, _children_cpu() - cpu
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(args[2:5])} exited {done.returncode}: {' | '.join(tail)}")
    return took


def _copy(src: Path, dst: Path) -> Path:
    """A consistent copy (SQLite's backup API: safe even if a -wal file exists)."""
    source = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()
    return dst


def _scale_of(large_db: Path) -> float:
    conn = sqlite3.connect(f"{large_db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        participants = conn.execute("SELECT COUNT(*) FROM participants").fetchone()[0]
    finally:
        conn.close()
    return participants / 20_000


def window_start(db_path: Path, workdir: Path, runs: int = 3) -> dict[str, list[float]]:
    """Seconds from process start to the main window shown (offscreen) and to the first page's
    data on screen, with the process's CPU seconds at both points and the child's CPU time in all
    (getrusage), per run, sorted. One run before them is not counted: it reads the database file
    into the page cache and writes the sources' bytecode, as an installed Kursdesk has it."""
    env = _env(workdir)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    figures: dict[str, list[float]] = {"window": [], "window cpu": [], "data": [], "data cpu": [], "child cpu": []}
    for run in range(runs + 1):
        cpu = _children_cpu()
        done = subprocess.run([sys.executable, "-c", WINDOW_SCRIPT, str(db_path)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-3:]
            raise RuntimeError("window did not start: " + " | ".join(tail))
        if run == 0:
            continue
        window, window_cpu, data, data_cpu = (float(v) for v in done.stdout.split()[-4:])
        for key, value in zip(figures, (window, window_cpu, data, data_cpu, _children_cpu() - cpu)):
            figures[key].append(value)
    return {key: sorted(values) for key, values in figures.items()}


def measure(large_db: Path, workdir: Path) -> list[tuple[str, float, str, str]]:
    from benchmarks.synthetic import generate

    workdir.mkdir(parents=True, exist_ok=True)
    large_db = Path(large_db)
    rows: list[tuple[str, float, str, str]] = []

    scale = _scale_of(large_db)
    fresh = workdir / "generated.db"
    started = time.perf_counter()
    generate(fresh, scale)
    rows.append(("generate + load the large programme", time.perf_counter() - started, "s", ""))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)

    rows.append(("database size", large_db.stat().st_size / 1e6, "MB", ""))

    source = _copy(large_db, workdir / "source.db")
    bundle = workdir / "large.json"
    took, cpu = _run([sys.executable, "-m", "app", "--db", str(source), "export", "--json", str(bundle)], workdir)
    rows.append(("export --json (whole set)", took, "s", ""))
    rows.append(("  the same, CPU time", cpu, "s CPU", ""))
    rows.append(("bundle size", bundle.stat().st_size / 1e6, "MB", ""))

    empty = workdir / "imported.db"
    took, cpu = _run([sys.executable, "-m", "app", "--db", str(empty), "import", "--json", str(bundle)], workdir)
    rows.append(("import --json into an empty database", took, "s", "< 60 s"))
    rows.append(("  the same, CPU time", cpu, "s CPU", ""))
    rows.append(("database size after import", empty.stat().st_size / 1e6, "MB", ""))
    bundle.unlink()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{empty}{suffix}").unlink(missing_ok=True)

    start = window_start(source, workdir)
    median = statistics.median
    rows.append(("process start to main window shown (median of 3)", median(start["window"]), "s", "<= 1.0 s"))
    rows.append(("  the same, fastest of 3", start["window"][0], "s", ""))
    rows.append(("  CPU time of the process until shown, median", median(start["window cpu"]), "s CPU", "<= 0.7 s"))
    rows.append(("process start to the overview's data on screen (median)", median(start["data"]), "s", ""))
    rows.append(("  CPU time of the process until then, median", median(start["data cpu"]), "s CPU", ""))
    rows.append(("  child CPU time of the whole run (getrusage), median", median(start["child cpu"]), "s CPU", ""))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from benchmarks.synthetic import generate

    work = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
    generate(work / "large.db", scale)
    for label, value, unit, goal in measure(work / "large.db", work / "out"):
        print(f"{label:55s} {value:9.3f} {unit:3s} {goal}")
