"""app/limits.py: one set of limits for every field on every way in; here its own rules and the
forms' way in (the services' validators call it)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import limits
from app.errors import ValidationError
from app.models import SYNCED_MODELS
from app.services.companies import CompanyData, create_company
from app.services.courses import CourseData, SessionData, add_session, create_course
from app.services.participants import ParticipantData, create_participant
from app.services.providers import create_provider

FIELDS = [(m.__tablename__, c.key) for m in SYNCED_MODELS for c in m.__table__.columns]


@settings(max_examples=400, deadline=None, database=None)
@given(
    where=st.sampled_from(FIELDS),
    raw=st.booleans(),
    value=st.one_of(
        st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(), st.text(max_size=30),
        st.builds(lambda n: "x" * n, st.sampled_from([11, 12, 36, 37, 100, 101, 200, 201, 10_000, 10_001, 25_000])),
        st.decimals(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(),
        st.just(limits.BadNumber("x")),
    ),
)
def test_the_fast_checker_of_a_field_answers_as_check_value(where, raw, value):
    table, field = where
    assert limits.value_checker(table, field, raw)(value) == limits.check_value(table, field, value, raw=raw)


@pytest.mark.parametrize(
    "table,field,value,ok",
    [
        ("participants", "first_name", "Å" * 100, True),
        ("participants", "first_name", "Å" * 101, False),
        ("participants", "first_name", "Åsa\tLund", False),
        ("courses", "description", "a\n\tb", True),
        ("courses", "description", "a\rb", False),
        ("courses", "description", "x" * 10_001, False),
        ("courses", "capacity", 10_000, True),
        ("courses", "capacity", 10_001, False),
        ("attendance", "minutes", 1441, False),
        ("sessions", "date", date(1899, 12, 31), False),
        ("sessions", "date", date(2026, 3, 3), True),
        ("participants", "created_at", datetime(9999, 1, 1), False),
        ("certificates", "document", "x" * 50_000, True),
        ("participants", "first_name", "😀 山田 =SUM(A1)", True),
    ],
)
def test_the_rules(table, field, value, ok):
    assert (limits.check_value(table, field, value) is None) == ok


def test_raw_text_may_carry_spaces_but_says_the_real_limit():
    assert limits.check_value("participants", "personal_number", "  19811218-9876  ", raw=True) is None
    assert limits.check_value("participants", "personal_number", "1" * 500, raw=True) == "längre än 12 tecken"
    assert limits.check_value("participants", "email", "a@b.se\x00", raw=True) == "innehåller ett styrtecken"


def test_json_limits():
    data = limits.parse_json(b'\xef\xbb\xbf{"a": [1, 2.5, -3], "b": "[[["}')
    assert data == {"a": [1, 2.5, -3], "b": "[[["}
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 31, b"1." + b"1" * 40):
        assert isinstance(limits.parse_json(b'{"x": ' + literal + b"}")["x"], limits.BadNumber), literal
    assert limits.parse_json(b"9" * 30) == int("9" * 30)
    with pytest.raises(ValidationError, match="64"):
        limits.parse_json(b"[" * 65 + b"]" * 65)
    assert limits.parse_json(b"[" * 64 + b"]" * 64) is not None


# --- the forms' way in: the services call app.limits -----------------------------------------------

def test_a_participant_from_the_form_is_held_to_the_limits(db):
    with pytest.raises(ValidationError) as info:
        create_participant(db, ParticipantData("Åsa\x00", "Öberg", "197004051129"))
    assert info.value.by_field == {"first_name": "innehåller ett styrtecken"}


def test_a_company_a_course_a_session_and_a_provider_from_the_forms_too(db):
    with pytest.raises(ValidationError) as info:
        create_company(db, CompanyData("Verkstad\x1b AB", "556016-0680"))
    assert list(info.value.by_field) == ["name"]
    for capacity in ("9" * 5000, 10_001, "20000"):
        with pytest.raises(ValidationError) as info:
            create_course(db, CourseData("K-1", "Kurs", capacity=capacity))
        assert list(info.value.by_field) == ["capacity"]
    with pytest.raises(ValidationError) as info:
        create_course(db, CourseData("K-1", "Kurs", description="x\x00"))
    assert list(info.value.by_field) == ["description"]
    course = create_course(db, CourseData("K-1", "Kurs", description="Rad 1\nRad 2"))
    with pytest.raises(ValidationError) as info:
        add_session(db, course, SessionData("1850-01-01", "08:00", "12:00"))
    assert list(info.value.by_field) == ["date"]
    with pytest.raises(ValidationError) as info:
        create_provider(db, "Campus\x00Västervik")
    assert list(info.value.by_field) == ["name"]
