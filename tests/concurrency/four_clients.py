"""Four coordinators writing at once (tests/concurrency/test_four_clients.py, and the benchmarks'
background load): each client is a process of its own with its own Database, and for `seconds`
does what coordinators do, at random: marks attendance, enrols into (and withdraws from) a course
with few places, issues and reissues certificates, registers companies and participants whose
numbers other clients register too, and edits the same course texts through the form's path
(open, change, save with the opened version; on StaleEdit take theirs and try again).

An edit appends its own token to the course description, so a save that overwrote a colleague's
unasked would lose their token: the test compares every token saved with what is stored."""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from stdnum import luhn

SMALL_CAPACITY = 5
PEOPLE = 40
SHARED_NUMBERS = 12  # organisation numbers and personnummer every client tries to register


def org_number(i: int) -> str:
    body = f"559{i:06d}"
    return body + luhn.calc_check_digit(body)


def personal_number(i: int) -> str:
    body = f"{60 + i // 2800 % 40:02d}{i // 280 % 12 + 1:02d}{i // 10 % 28 + 1:02d}{i % 10:02d}3"
    return "19" + body + luhn.calc_check_digit(body)


@dataclass
class Setup:
    small: str  # the course with few places
    cert: str  # the course certificates are issued in
    edited: list[str]  # the courses whose descriptions everyone edits
    sessions: dict[str, list[str]]  # course id -> session ids
    people: list[str]


def build(db) -> Setup:
    from app.services.attendance import set_mark
    from app.services.courses import CourseData, SessionData, add_session, create_course
    from app.services.enrollments import enroll
    from app.services.participants import ParticipantData, create_participant

    past = date.today() - timedelta(days=7)
    small = create_course(db, CourseData(code="FEW-1", title="Few places", capacity=SMALL_CAPACITY))
    cert = create_course(db, CourseData(code="CERT-1", title="Certificates", min_attendance_percent=50))
    edited = [create_course(db, CourseData(code=f"EDIT-{i}", title=f"Edited {i}")) for i in range(2)]
    sessions = {c: [add_session(db, c, SessionData(past + timedelta(days=d), "09:00", "12:00")) for d in range(3)]
                for c in (small, cert)}
    people = [create_participant(db, ParticipantData("Deltagare", f"Nummer{i}", personal_number(i))) for i in range(PEOPLE)]
    enroll(db, cert, people)
    for pid in people:
        set_mark(db, sessions[cert][0], pid, "present")
        set_mark(db, sessions[cert][1], pid, "present")
    return Setup(small, cert, edited, sessions, people)


@dataclass
class Outcome:
    client: int
    writes: Counter = field(default_factory=Counter)
    stale: int = 0
    refusals: Counter = field(default_factory=Counter)  # UserError class names
    said: dict[str, str] = field(default_factory=dict)  # one message of each kind of refusal
    unexpected: list[str] = field(default_factory=list)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # course id -> tokens saved
    numbers: list[str] = field(default_factory=list)  # certificate numbers issued


def run_client(url: str, setup: Setup, client: int, seconds: float, seed: int = 0, pause: float = 0.0) -> Outcome:
    """`pause`: seconds between two actions on average (0: as fast as it goes, the test's load;
    the benchmark's clients pause like people who read what they did)."""
    from app import i18n
    from app.concurrency import StaleEdit
    from app.db import Database
    from app.errors import UserError
    from app.services import certificates, enrollments
    from app.services.attendance import set_mark
    from app.services.companies import CompanyData, create_company
    from app.services.courses import get_course, update_course
    from app.services.participants import ParticipantData, create_participant

    i18n.set_language("en")
    rng = random.Random(f"{seed}:{client}")
    out = Outcome(client)
    db = Database(url)
    n = 0

    def mark():
        course = rng.choice((setup.small, setup.cert))
        set_mark(db, rng.choice(setup.sessions[course]), rng.choice(setup.people),
                 rng.choice(("present", "present", "absent", "excused")))

    def places():
        if rng.random() < 0.6:
            enrollments.enroll(db, setup.small, rng.sample(setup.people, 2))
        else:
            rows = [r for r in enrollments.list_enrollments(db, setup.small) if r.status in ("enrolled", "waitlisted")]
            if rows:
                enrollments.withdraw(db, rng.choice(rows).id)

    def certificate():
        pid = rng.choice(setup.people)
        live = [c for c in certificates.list_certificates(db, course_id=setup.cert)
                if c.participant_id == pid and c.status == "valid"]
        if live:
            out.numbers.append(certificates.reissue_certificate(db, live[0].id, today=date.today()).number)
        else:
            out.numbers.extend(c.number for c in certificates.issue_certificates(
                db, setup.cert, [pid], workers=0, confirm=True))

    def identity():
        i = rng.randrange(SHARED_NUMBERS)
        if rng.random() < 0.5:
            create_company(db, CompanyData(name=f"Företag {i} ({client})", org_number=org_number(i)))
        else:
            create_participant(db, ParticipantData("Ny", f"Person{i}", personal_number(1000 + i)))

    def edit():
        nonlocal n
        course = rng.choice(setup.edited)
        token = f"c{client}n{n}"
        n += 1
        for _attempt in range(20):
            opened = get_course(db, course)
            time.sleep(rng.uniform(0.05, 0.3))  # the coordinator types
            data = opened.data
            new = type(data)(**{**data.__dict__, "description": f"{data.description} {token}".strip()})
            try:
                update_course(db, course, new, version=opened.version)
            except StaleEdit:
                out.stale += 1  # "take theirs": open it again, type again
                continue
            out.tokens.setdefault(course, []).append(token)
            return
        raise AssertionError("an edit found the record changed 20 times in a row")

    actions = {"mark": mark, "places": places, "certificate": certificate, "identity": identity, "edit": edit}
    weights = {"mark": 4, "places": 3, "certificate": 2, "identity": 2, "edit": 3}
    names = list(actions)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            name = rng.choices(names, [weights[k] for k in names])[0]
            try:
                actions[name]()
                out.writes[name] += 1
                if pause:
                    time.sleep(rng.uniform(0, 2 * pause))
            except UserError as exc:
                out.refusals[f"{name}: {type(exc).__name__}"] += 1
                out.said.setdefault(f"{name}: {type(exc).__name__}", str(exc).splitlines()[0][:160])
            except Exception:  # noqa: BLE001 - what the test must not see
                out.unexpected.append(traceback.format_exc()[-3000:])
    finally:
        db.dispose()
    return out
