"""Who changed a record, across the sync: a change line names its writer (the laptop's user name,
or the database role on a server), and the partner that applies it records that person in
`changed_by` rather than whoever ran the sync there. Lines without a writer (older versions)
still apply, and take the applying side's writer as before."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Participant
from app.sync import sync
from app.sync.capture import APPLYING, open_app_database, state_of
from app.sync.merge import Merger
from tests.sync.conftest import add_participant, edit
from tests.sync.test_change_before_creation import _lines


def _as(monkeypatch, user: str) -> None:
    monkeypatch.setattr("app.concurrency.laptop_user", lambda: user)


def _changed_by(db, pid: str) -> str:
    with db.read() as s:
        return s.execute(select(Participant.changed_by).where(Participant.id == pid)).scalar_one()


def test_the_partner_records_the_person_who_made_the_change(lab, monkeypatch):
    a, b, _c = lab.laptops
    _as(monkeypatch, "anna")
    pid = add_participant(a, first="Mira", pnr="199001011239")
    sync(a, lab.share)
    _as(monkeypatch, "bert")
    sync(b, lab.share)
    assert _changed_by(b, pid) == "anna"
    edit(b, Participant, pid, phone="0480-123 45")
    assert _changed_by(b, pid) == "bert"
    sync(b, lab.share)
    _as(monkeypatch, "anna")
    sync(a, lab.share)
    assert _changed_by(a, pid) == "bert"


def _apply(db, lines):
    with db.write() as s:
        s.info[APPLYING] = True
        Merger(s, state_of(db)).apply(lines, device="partner", seq=1)


@pytest.mark.parametrize("writer", [None, "", 42, "x" * 500], ids=["none", "empty", "not-text", "too-long"])
def test_a_line_without_a_usable_writer_still_applies(lab, monkeypatch, writer):
    a, b, _c = lab.laptops
    _as(monkeypatch, "anna")
    pid = add_participant(a, first="Mira", pnr="199001011239")
    line = _lines(a, pid)[0]
    assert line["w"] == "anna"
    if writer is None:
        del line["w"]  # a batch written before lines named their writer
    else:
        line["w"] = writer
    _as(monkeypatch, "bert")
    _apply(b, [line])
    assert _changed_by(b, pid) == ("x" * 100 if writer == "x" * 500 else "bert")


@pytest.mark.postgresql_only
def test_the_server_records_the_laptop_user_and_the_laptop_the_servers_role(lab, pg_database_url, monkeypatch):
    laptop = lab.laptops[0]
    _as(monkeypatch, "anna")
    pid = add_participant(laptop, first="Mira", pnr="199001011239")
    sync(laptop, lab.share)
    server = open_app_database(pg_database_url)  # as the sync agent and the window open it
    try:
        sync(server, lab.share)  # the sync agent's run
        assert _changed_by(server, pid) == "anna"
        edit(server, Participant, pid, phone="0480-123 45")  # a coordinator working on the server
        with server.read() as s:
            role = s.connection().exec_driver_sql("SELECT current_user").scalar()
        assert _changed_by(server, pid) == role != "anna"
        sync(server, lab.share)
        sync(laptop, lab.share)
        assert _changed_by(laptop, pid) == role
    finally:
        server.dispose()
