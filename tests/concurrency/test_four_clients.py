"""Four clients (processes) writing at once on one database for KURSDESK_CONCURRENCY_SECONDS
(15 s by default; the issue's full run is 60 s): marks, enrolments into a course with few places,
certificates, identities every client registers, edits of the same records. Afterwards: no edit
lost without a question (every token a save reported is stored), no identity twice, no
overbooking, no certificate number twice and no second valid certificate, no unexpected error.

    KURSDESK_TEST_PG_URL=postgresql://kursdesk@127.0.0.1:54332/postgres \\
    KURSDESK_CONCURRENCY_SECONDS=60 python -m pytest -s tests/concurrency/test_four_clients.py
"""

from __future__ import annotations

import os
from collections import Counter

from sqlalchemy import func, select

from app.db import Database
from app.models import Certificate, Company, Course, Enrollment, Participant
from tests.concurrency.four_clients import SMALL_CAPACITY, build, run_client
from tests.concurrency.racing import race

CLIENTS = 4
SECONDS = float(os.environ.get("KURSDESK_CONCURRENCY_SECONDS", "15"))


def test_four_clients_writing_at_once(database_url):
    db = Database(database_url)
    try:
        setup = build(db)
    finally:
        db.dispose()
    results = race(run_client, [(database_url, setup, c, SECONDS) for c in range(CLIENTS)], timeout=SECONDS + 300)
    assert [v for kind, v in results if kind != "ok"] == []
    outcomes = [v for _k, v in results]

    backend = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(f"\n{CLIENTS} clients, {SECONDS:g} s on {backend}")
    print(f"{'client':>6} {'writes':>7} {'marks':>6} {'places':>7} {'certs':>6} {'ident':>6} {'edits':>6} {'stale':>6} {'refused':>8}")
    for o in outcomes:
        w = o.writes
        print(f"{o.client:>6} {sum(w.values()):>7} {w['mark']:>6} {w['places']:>7} {w['certificate']:>6} "
              f"{w['identity']:>6} {w['edit']:>6} {o.stale:>6} {sum(o.refusals.values()):>8}")
    refusals = sum((o.refusals for o in outcomes), Counter())
    print("refusals:", dict(refusals))
    for kind, message in {k: v for o in outcomes for k, v in o.said.items()}.items():
        print(f"  {kind}: {message}")

    assert [u for o in outcomes for u in o.unexpected] == []
    assert all(sum(o.writes.values()) > 0 for o in outcomes)
    # the refusals are the rules at work (a number registered by a colleague first), nothing else
    assert set(refusals) <= {"identity: ValidationError", "mark: ValidationError", "places: ValidationError",
                             "certificate: UserError", "certificate: NotFound", "places: NotFound"}, refusals

    db = Database(database_url)
    try:
        with db.read() as s:
            live = Company.deleted_at.is_(None)
            assert s.execute(select(Company.org_number).where(live).group_by(Company.org_number)
                             .having(func.count() > 1)).all() == []
            assert s.execute(select(Participant.personal_number).where(Participant.deleted_at.is_(None))
                             .group_by(Participant.personal_number).having(func.count() > 1)).all() == []
            statuses = Counter(s.execute(select(Enrollment.status).where(
                Enrollment.course_id == setup.small, Enrollment.deleted_at.is_(None))).scalars())
            taken = statuses["enrolled"] + statuses["completed"]
            assert taken <= SMALL_CAPACITY, statuses
            assert statuses["waitlisted"] == 0 or taken == SMALL_CAPACITY, statuses  # a free place is given on
            numbers = s.execute(select(Certificate.number)).scalars().all()
            issued = [n for o in outcomes for n in o.numbers]
            assert len(set(numbers)) == len(numbers) and sorted(issued) == sorted(numbers)
            assert s.execute(select(Certificate.participant_id).where(Certificate.revoked_on.is_(None))
                             .group_by(Certificate.course_id, Certificate.participant_id)
                             .having(func.count() > 1)).all() == []
            for course in setup.edited:
                stored = s.execute(select(Course.description).where(Course.id == course)).scalar().split()
                saved = [t for o in outcomes for t in o.tokens.get(course, [])]
                assert sorted(stored) == sorted(saved)  # no save overwrote another unasked
    finally:
        db.dispose()
    print(f"edits saved: {sum(o.writes['edit'] for o in outcomes)}, StaleEdits (asked, took theirs): "
          f"{sum(o.stale for o in outcomes)}, certificates: {len(numbers)}, {backend} checks passed")
