"""Run every benchmark on the large synthetic programme and print one table.

    python -m benchmarks.run [--scale 1.0] [--only NAME[:PART,...]] [--data PATH]

Makes (or reuses, when its row counts and schema still fit) benchmarks/data/large.db, imports
every benchmarks/bench_*.py and calls its `measure(large_db, workdir)`, which returns rows of
(label, value, unit, goal). A module that fails is reported in the table and the run goes on.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def modules(only: str | None = None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        wanted = only if only.startswith("bench_") else f"bench_{only}"
        names = [n for n in names if n == wanted]
    return names


def _fmt(value) -> str:
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def print_table(rows: list[tuple[str, str, str, str, str]], out=sys.stdout) -> None:
    header = ("area", "figure", "value", "unit", "goal")
    table = [header] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                 row[3].ljust(widths[3]), row[4]]
        print("  ".join(cells).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size of the synthetic programme (1.0 = full)")
    parser.add_argument("--only", metavar="NAME[:PART,...]",
                        help="run one module, e.g. storage or bench_storage; sync:join runs only those parts of a "
                             "module that has parts (its measure() takes parts=)")
    parser.add_argument("--data", type=Path, help="the large database (default benchmarks/data/large.db)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--db", metavar="URL", help="a PostgreSQL server for bench_postgresql "
                        "(postgresql://ROLE@HOST:PORT/postgres, a role that may CREATE DATABASE)")
    args = parser.parse_args(argv)
    if args.db:
        os.environ["KURSDESK_BENCH_PG_URL"] = args.db

    sys.path.insert(0, str(ROOT))
    only, _sep, part_list = (args.only or "").partition(":")
    parts = [p for p in part_list.split(",") if p] or None
    names = modules(only or None)
    if not names:
        print(f"no benchmark module matches {args.only!r}", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="kursdesk-bench-"))
    os.environ["KURSDESK_HOME"] = str(work / "home")  # never the user's own data, logs or backups
    from benchmarks.synthetic import ensure_large_db

    default = HERE / "data" / ("large.db" if args.scale == 1.0 else f"large-{args.scale:g}.db")
    print(f"large database: {args.data or default} (scale {args.scale:g}) ...", flush=True)
    large, took = ensure_large_db(args.data or default, args.scale)
    print(f"  generated in {took:.1f} s" if took is not None else "  reused", flush=True)

    rows: list[tuple[str, str, str, str, str]] = []
    failed = 0
    for name in names:
        area = name.removeprefix("bench_")
        print(f"running {name} ...", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            results = module.measure(large, work / area, **({"parts": parts} if parts else {}))
            for label, value, unit, goal in results:
                rows.append((area, str(label), _fmt(value), str(unit), str(goal)))
        except Exception as exc:  # noqa: BLE001 - one broken module must not stop the others
            failed += 1
            detail = str(exc).strip().splitlines()
            rows.append((area, f"FAILED: {type(exc).__name__}: {detail[-1] if detail else ''}"[:160], "", "", ""))
            traceback.print_exc(file=sys.stderr)
        print(f"  {name} took {time.perf_counter() - started:.1f} s", flush=True)

    print()
    print_table(rows)
    if args.keep:
        print(f"\nwork folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
