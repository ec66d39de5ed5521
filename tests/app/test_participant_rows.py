"""list_participants builds its 20,000 rows by slicing the stored number (not through the
validation functions) and sorts them with two stable sorts: the same rows, the same order, as
the validation functions and one sort on (last name, first name, birth date) give."""

from __future__ import annotations

import gc

import pytest

from app.i18n import sort_key
from app.services.participants import ParticipantData, create_participant, list_participants
from app.validation import birth_date_from_personal_number, mask_personal_number
from tests.app.test_services_participants import pnr12

PEOPLE = [
    ("Åsa", "Öberg", pnr12("19811218", "987")),
    ("Per", "Berg", pnr12("19850312", "238")),
    ("Per", "Berg", pnr12("19790704", "191")),  # the same name: the older first
    ("Olle", "Berg", pnr12("19920191", "420")),  # samordningsnummer: born 31 January
    ("Ärla", "Zetterlund", "19900101TF29"),  # ESF's protected form
    ("Anna", "Ek", pnr12("19700105", "022")),
    ("Örjan", "Berg", pnr12("19880229", "111")),
    ("Zacke", "Berg", pnr12("19600861", "212")),  # samordningsnummer: born 1 August
]


@pytest.fixture
def people(db):
    return {create_participant(db, ParticipantData(first, last, pnr)): pnr for first, last, pnr in PEOPLE}


def test_each_row_carries_what_the_validation_functions_give(db, people):
    rows = list_participants(db)
    assert {r.id for r in rows} == set(people)
    for row in rows:
        pnr = people[row.id]
        assert row.masked_personal_number == mask_personal_number(pnr)
        assert row.birth_date == birth_date_from_personal_number(pnr)
        assert row.full_name == f"{row.first_name} {row.last_name}"
    olle = next(r for r in rows if r.first_name == "Olle")
    assert (olle.birth_date.isoformat(), olle.masked_personal_number) == ("1992-01-31", "19920191-****")


def test_the_order_is_last_name_first_name_then_birth_date_the_swedish_way(db, people):
    rows = list_participants(db)
    expected = sorted(rows, key=lambda r: (sort_key(r.last_name), sort_key(r.first_name), r.birth_date))
    assert rows == expected
    assert [r.full_name for r in rows] == [
        "Olle Berg", "Per Berg", "Per Berg", "Zacke Berg", "Örjan Berg", "Anna Ek", "Ärla Zetterlund", "Åsa Öberg"]
    assert [r.birth_date.year for r in rows[1:3]] == [1979, 1985]
    # a search narrows the same rows (a word with å/ä/ö is matched in Python)
    assert [r.full_name for r in list_participants(db, search="berg")] == [
        "Olle Berg", "Per Berg", "Per Berg", "Zacke Berg", "Örjan Berg", "Åsa Öberg"]
    assert [r.full_name for r in list_participants(db, search="ör")] == ["Örjan Berg"]


def test_the_garbage_collector_runs_again_after_the_list_even_when_reading_fails(db, people, monkeypatch):
    assert gc.isenabled()
    list_participants(db)
    assert gc.isenabled()

    def broken(*_args, **_kwargs):
        raise RuntimeError("the server went away")

    monkeypatch.setattr(db, "read", broken)
    with pytest.raises(RuntimeError):
        list_participants(db)
    assert gc.isenabled()
