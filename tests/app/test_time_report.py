"""The monthly time report PDF, read back with pypdf and checked against the hand-computed month."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pypdf import PdfReader

from app.progress import Cancelled
from app.services.settings import get_settings, save_settings
from app.services.time_reports import write_time_reports
from tests.fixtures.report_month import TODAY, build


def _pages(path):
    """Each page's text, one printed line per line (layout mode), runs of spaces collapsed."""
    pages = []
    for page in PdfReader(str(path)).pages:
        lines = (" ".join(line.split()) for line in page.extract_text(extraction_mode="layout").splitlines())
        pages.append("\n".join(line for line in lines if line))
    return pages


@pytest.fixture
def month_db(db):
    return db, build(db)


def test_floor_rounding_prints_whole_hours(month_db, tmp_path):
    db, ids = month_db
    save_settings(db, replace(get_settings(db), hours_rounding="floor"))
    out = tmp_path / "mars.pdf"
    write_time_reports(db, "2026-03", out, [ids["anna"]], lang="en", today=TODAY)
    (anna,) = _pages(out)
    assert "March 2026" in anna and "Co-funded by the European Union" in anna
    assert "02/03/2026 SVE-01 Svetsning grund 4" in anna
    assert "16/03/2026 SVE-01 Svetsning grund 1" in anna
    assert "Total hours in the project during the month 10" in anna


def test_many_lines_continue_on_a_second_page(db, tmp_path):
    from datetime import date, time

    from app.models import Attendance, Course, CourseSession, Participant, attendance_id

    with db.write() as s:
        p = Participant(first_name="Lång", last_name="Månad", personal_number="198503120027")
        s.add(p)
        courses = [Course(code=f"K{i}", title=f"Kurs {i}") for i in range(3)]
        s.add_all(courses)
        s.flush()
        for day in range(1, 31):
            for c in courses:
                sess = CourseSession(course_id=c.id, date=date(2026, 4, day), start_time=time(8), end_time=time(9))
                s.add(sess)
                s.flush()
                s.add(Attendance(id=attendance_id(sess.id, p.id), session_id=sess.id, participant_id=p.id, status="present"))
    out = tmp_path / "april.pdf"
    assert write_time_reports(db, "2026-04", out, today=TODAY) == 1
    pages = _pages(out)
    assert len(pages) >= 2
    text = "\n".join(pages)
    assert sum(1 for line in text.splitlines() if line.startswith("2026-04-")) == 90
    assert "Sida 1 av" in pages[0] and "(forts.)" in pages[1]
    total = "Totalt antal timmar i projektet under månaden"
    assert total in pages[-1] and total not in pages[0]
    assert "90,0" in pages[-1]


def test_cancelled_by_progress_writes_nothing(month_db, tmp_path):
    db, _ids = month_db
    out = tmp_path / "mars.pdf"
    with pytest.raises(Cancelled):
        write_time_reports(db, "2026-03", out, today=TODAY, progress=lambda done, total: done < 1)
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))


def test_a_month_without_hours_says_so(db, tmp_path):
    out = tmp_path / "tom.pdf"
    assert write_time_reports(db, "2026-05", out) == 0
    (page,) = _pages(out)
    assert "Ingen deltagare har timmar i maj 2026." in page


def test_the_builder_draws_from_data_alone(tmp_path):
    """No database: the builder is handed the month, the settings and the people."""
    from datetime import date
    from decimal import Decimal

    from app.documents.time_report import TimeReports, build_time_reports
    from app.services.reports import HoursLine, ParticipantMonth, to_month
    from app.services.settings import OrganisationSettings, ProjectSettings

    line = HoursLine(date(2026, 3, 2), "c-1", "SVE-01", "Svetsning grund", 240, Decimal("4.0"))
    person = ParticipantMonth("p-1", "Łukasz", "Świątek", "198503120001", "male", None, "Verkstad AB",
                              "5560000001", "Kalmar", "private", False, (line,), Decimal("4.0"), 240,
                              date(2026, 3, 2), None)
    data = TimeReports(to_month("2026-03"), OrganisationSettings(), ProjectSettings(case_number="2020/00123"), [person])
    out = tmp_path / "mars.pdf"
    assert build_time_reports(data, out, "sv") == 1
    (page,) = _pages(out)
    assert "Łukasz Świątek" in page and "19850312-0001" in page and "2020/00123" in page
    assert "Totalt antal timmar i projektet under månaden 4,0" in page
