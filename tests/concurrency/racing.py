"""Run one function in several processes (not threads: each has its own Database, as separate
Kursdesk windows or jobs have) at the same moment; collect what each returned or raised."""

from __future__ import annotations

import multiprocessing
import traceback

_ctx = multiprocessing.get_context("spawn")


def _run(fn, args, barrier, out, i):
    try:
        barrier.wait(60)
        out.put((i, "ok", fn(*args)))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        from app.errors import UserError

        kind = "user" if isinstance(exc, UserError) else "unexpected"
        out.put((i, kind, f"{type(exc).__name__}: {exc}\n{traceback.format_exc() if kind != 'user' else ''}"))


def race(fn, argsets: list[tuple], timeout: float = 120) -> list[tuple[str, object]]:
    """fn(*args) for each argset, in as many processes, released together by a barrier.
    Returns [(kind, value)] in argset order: kind "ok" (value returned), "user" (a UserError's
    message) or "unexpected" (anything else, with its traceback)."""
    barrier = _ctx.Barrier(len(argsets))
    out = _ctx.Queue()
    procs = [_ctx.Process(target=_run, args=(fn, a, barrier, out, i)) for i, a in enumerate(argsets)]
    for p in procs:
        p.start()
    results: dict[int, tuple[str, object]] = {}
    for _ in procs:
        i, kind, value = out.get(timeout=timeout)
        results[i] = (kind, value)
    for p in procs:
        p.join(timeout)
    return [results[i] for i in range(len(argsets))]
