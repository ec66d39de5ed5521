"""The monthly time report after ESF's "Närvarorapport för deltagare i socialfondsprojekt – PO1", on the
hand-computed month (tests/fixtures/report_month.py): every line of every page read back with
pdftotext, in both layouts (a line per date and course; ESF's day grid) and with both footers."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from html import unescape

import pytest

from app.services.settings import get_project_settings, save_project_settings
from app.services.time_reports import write_time_reports
from tests.fixtures.report_month import EVIL_NAME, TODAY, build

HEAD = [
    "Medfinansieras av Europeiska unionen",
    "Närvarorapport för deltagare i socialfondsprojekt",
    "Insatser inom programområde 1 (PO1) - Kompetensförsörjning mars 2026",
    "Kompetenslyft Kalmar län · Campus Västervik",
    "Projektnamn Kompetenslyft Kalmar län Diarienummer 2020/00123",
]
FOOT = [
    "Jag intygar att jag har deltagit i utbildningen under de timmar som anges ovan.",
    "Deltagarens underskrift och datum Närmaste chefens underskrift och datum",
]
ORIGINALS = "Endast det undertecknade originalet gäller; kopior och inskannade exemplar godtas inte. Sida 1 av 1"
END_BOX = "Uppge avslutsdatum om du är klar med dina insatser i projektet"
BERTIL = f"Bertil {EVIL_NAME}"
PEOPLE = (  # (name in the header, personnummer and age, employer and org number)
    ("Deltagare Bertil =HYPERLINK(\"http://e… Månad mars 2026", "Personnummer 19790101-0137 Ålder 47",
     "Arbetsgivare @Evil AB Organisationsnummer 556677-8899"),
    ("Deltagare Anna Andersson Månad mars 2026", "Personnummer 19850312-0027 Ålder 41",
     "Arbetsgivare Verkstad AB Organisationsnummer 556016-0680"),
    ("Deltagare Fatima Protected Månad mars 2026", "Personnummer 19900415-Tf29 Ålder 35",
     "Arbetsgivare Västerviks kommun Organisationsnummer 212000-0845"),
)


def _pdftotext(path) -> list[list[str]]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    pages = []
    for page in out.split("\f"):
        lines = [" ".join(line.split()) for line in page.splitlines()]
        if any(lines):
            pages.append([line for line in lines if line])
    return pages


@pytest.fixture
def month_db(db):
    return db, build(db)


def test_every_line_of_the_lines_layout(month_db, tmp_path):
    db, _ids = month_db
    out = tmp_path / "mars.pdf"
    assert write_time_reports(db, "2026-03", out, today=TODAY) == 3
    bertil, anna, fatima = _pdftotext(out)
    assert bertil == HEAD + list(PEOPLE[0]) + [
        "Datum Kurs Timmar",
        "2026-03-16 PLC-02 PLC-programmering 1,0",
        "2026-03-23 PLC-02 PLC-programmering 3,0",
        "Totalt antal timmar i projektet under månaden 4,0",
        f"{END_BOX} 2026-03-23",  # he ends in March: the declared date in the box
        *FOOT,
        f"{BERTIL} Namnförtydligande",
        ORIGINALS,
    ]
    assert anna == HEAD + list(PEOPLE[1]) + [
        "Datum Kurs Timmar",
        "2026-03-02 SVE-01 Svetsning grund 4,0",
        "2026-03-16 PLC-02 PLC-programmering 3,0",
        "2026-03-16 SVE-01 Svetsning grund 1,6",  # late: 95 minutes
        "2026-03-30 SVE-01 Svetsning grund 2,5",  # present, 150 minutes recorded
        "Totalt antal timmar i projektet under månaden 11,1",
        END_BOX,  # an empty box: she has not ended
        *FOOT,
        "Anna Andersson Namnförtydligande",
        ORIGINALS,
    ]
    # protected personal data: her own report is unchanged (employer, full number, age)
    assert fatima == HEAD + list(PEOPLE[2]) + [
        "Datum Kurs Timmar",
        "2026-03-02 SVE-01 Svetsning grund 4,0",
        "2026-03-16 SVE-01 Svetsning grund 3,5",
        "Totalt antal timmar i projektet under månaden 7,5",
        END_BOX,
        *FOOT,
        "Fatima Protected Namnförtydligande",
        ORIGINALS,
    ]


GRID_HEAD = [
    "Antal timmar",
    "Aktivitet/insats " + " ".join(str(d) for d in range(1, 32)) + " per insats",
]


def test_every_line_of_the_day_grid_without_the_originals_sentence(month_db, tmp_path):
    db, _ids = month_db
    save_project_settings(db, replace(get_project_settings(db), time_report_layout="grid", time_report_footer="none"))
    out = tmp_path / "mars.pdf"
    write_time_reports(db, "2026-03", out, today=TODAY)
    bertil, anna, fatima = _pdftotext(out)
    tail = lambda name: [*FOOT, f"{name} Namnförtydligande", "Sida 1 av 1"]  # noqa: E731
    # landscape: the whole name fits
    assert bertil == HEAD + [f"Deltagare {BERTIL} Månad mars 2026", *PEOPLE[0][1:]] + GRID_HEAD + [
        "PLC-02 PLC-programmering 1,0 3,0 4,0",
        "Totalt antal timmar i projektet under månaden 4,0",
        f"{END_BOX} 2026-03-23",
        *tail(BERTIL),
    ]
    assert anna == HEAD + list(PEOPLE[1]) + GRID_HEAD + [
        "PLC-02 PLC-programmering 3,0 3,0",
        "SVE-01 Svetsning grund 4,0 1,6 2,5 8,1",
        "Totalt antal timmar i projektet under månaden 11,1",
        END_BOX,
        *tail("Anna Andersson"),
    ]
    assert fatima == HEAD + list(PEOPLE[2]) + GRID_HEAD + [
        "SVE-01 Svetsning grund 4,0 3,5 7,5",
        "Totalt antal timmar i projektet under månaden 7,5",
        END_BOX,
        *tail("Fatima Protected"),
    ]


def _words(path, page: int) -> list[tuple[str, float]]:
    """(word, horizontal centre) on one page, from pdftotext's bounding boxes."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [
        (unescape(word), (float(x0) + float(x1)) / 2)
        for x0, x1, word in re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)
    ]


def test_the_grid_puts_each_hour_under_its_day(month_db, tmp_path):
    db, _ids = month_db
    save_project_settings(db, replace(get_project_settings(db), time_report_layout="grid"))
    out = tmp_path / "mars.pdf"
    write_time_reports(db, "2026-03", out, today=TODAY)
    words = _words(out, 2)  # Anna
    days = {}
    for word, x in words:
        if word.isdigit() and 1 <= int(word) <= 31 and int(word) not in days:
            days[int(word)] = x
    last_day = days[31] + (days[31] - days[30]) / 2
    in_grid = [(word, x) for word, x in words if re.fullmatch(r"\d,\d", word) and x < last_day]
    placed = [(word, min(days, key=lambda d: abs(days[d] - x))) for word, x in in_grid]
    # PLC-02: 3,0 on the 16th; SVE-01: 4,0 on the 2nd, 1,6 on the 16th, 2,5 on the 30th
    assert placed == [("3,0", 16), ("4,0", 2), ("1,6", 16), ("2,5", 30)]
