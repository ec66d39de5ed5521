"""A read inside `stopped_by(event)` stops once the event is set: before its next statement
(Cancelled) or, on SQLite, inside the statement running (app/progress.py, app/db.py); outside the
block, or with the event clear, nothing changes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.db import Database
from app.progress import Cancelled, stopped_by
from app.services.settings import get_value, set_value

ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"


def test_a_set_event_stops_the_next_statement(db):
    set_value(db, "k", "v")
    event = threading.Event()
    with stopped_by(event):
        assert get_value(db, "k") == "v"  # clear: reads as ever
        event.set()
        with pytest.raises(Cancelled):
            get_value(db, "k")
    assert get_value(db, "k") == "v"  # outside the block the database reads as ever


def entered(db: Database, sql: str) -> threading.Event:
    """Set once `sql` has passed the check before its statement and is running."""
    flag = threading.Event()
    sa_event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: statement == sql and flag.set())
    return flag


def test_a_long_statement_is_interrupted_on_sqlite(tmp_path):
    db = Database(tmp_path / "kursdesk.db")
    running = entered(db, ENDLESS)
    event = threading.Event()
    outcome = []

    def read() -> None:
        try:
            with stopped_by(event), db.read() as s:
                s.execute(text(ENDLESS)).scalar_one()
        except OperationalError as exc:
            outcome.append("interrupted" in str(exc))

    worker = threading.Thread(target=read)
    worker.start()
    assert running.wait(10)
    event.set()
    worker.join(30)
    db.dispose()
    assert not worker.is_alive() and outcome == [True]
