"""One sync agent per server: while one `kursdesk sync` runs against a PostgreSQL database, a
second one says so in one line (exit 2) and does nothing, instead of tripping over the first's
batches. Several agents started at once: one syncs at a time, none fails unexpectedly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.services.courses import CourseData, create_course
from app.sync.agent import sync_agent

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgresql_only


def kursdesk(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "app", "--lang", "en", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def done(proc: subprocess.Popen) -> tuple[int, str]:
    _out, err = proc.communicate(timeout=300)
    return proc.returncode, err


@pytest.fixture
def share(tmp_path, db):
    folder, key = tmp_path / "share", tmp_path / "programme.key"
    assert done(kursdesk("sync", "--folder", str(folder), "--setup", "--key", str(key)))[0] == 0
    create_course(db, CourseData(code="SERVER-1", title="On the server"))
    return folder, key


def test_a_second_sync_agent_says_one_is_running_and_does_nothing(db, database_url, share):
    folder, key = share
    with sync_agent(db):
        rc, err = done(kursdesk("--db", database_url, "sync", "--folder", str(folder), "--key", str(key)))
    assert rc == 2
    assert err.strip().splitlines() == [
        "kursdesk: Another sync agent is already syncing this database; nothing was done. "
        "It publishes and imports for everyone on the server: let it finish."]
    assert not list(folder.glob("devices/*/*.batch*"))
    rc, err = done(kursdesk("--db", database_url, "sync", "--folder", str(folder), "--key", str(key)))
    assert (rc, err) == (0, "")
    assert list(folder.glob("devices/*/*.batch"))  # the server published its changes


def test_four_agents_started_at_once_never_trip_over_each_other(database_url, share):
    folder, key = share
    for _round in range(3):
        procs = [kursdesk("--db", database_url, "sync", "--folder", str(folder), "--key", str(key)) for _ in range(4)]
        results = [done(p) for p in procs]
        assert all(rc in (0, 2) for rc, _e in results), results
        assert all(rc == 0 or "Another sync agent" in err for rc, err in results), results
        assert not any("unexpected" in err or "already exists" in err or "Traceback" in err for _rc, err in results)
