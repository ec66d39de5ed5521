"""Certificates: eligibility edge cases (hand-computed), numbering, issuing once, freezing,
re-issue, revoke, verify, the register and the files written."""

from __future__ import annotations

import hashlib
import re
from datetime import date, time

import pytest
from sqlalchemy import func, select

from app.errors import NotFound, UserError, ValidationError
from app.models import Attendance, Certificate, Course, Enrollment, Participant, Provider, attendance_id
from app.services import certificates as svc
from app.services.settings import OrganisationSettings, save_settings
from tests.app.attendance_builders import build_course, luhn_pnr

TODAY = date(2026, 4, 1)

# Sessions: 180 + 180 + 150 = 510 scheduled minutes; the cancelled 180 does not count.
# 80 % of 510 = 408 minutes is the minimum.
SESSIONS = (
    (date(2026, 3, 2), time(9, 0), time(12, 0), False),
    (date(2026, 3, 9), time(9, 0), time(12, 0), False),
    (date(2026, 3, 16), time(13, 0), time(15, 30), False),
    (date(2026, 3, 23), time(9, 0), time(12, 0), True),
)

PEOPLE = [
    ("Exakt", "Gränsen", "Kalmar Verkstad AB"),  # 180 + 180 + late 48 = 408 -> eligible
    ("En", "Minutunder", "Kalmar Verkstad AB"),  # 180 + 180 + late 47 = 407 -> not eligible
    ("Inställd", "Räknas", ""),  # all three + the cancelled one: 510/510 (not 690)
    ("Giltig", "Frånvaro", ""),  # 180 + 180 + excused = 360 -> not eligible
    ("Sen", "Ankomst", ""),  # 180 + 180 + late 60 = 420 -> eligible
    ("Kalle <Kula>", "Karlsson & Son", "AT&T <Sverige> AB"),  # all present -> eligible
]

MARKS = [
    [("present", None), ("present", None), ("late", 48), None],
    [("present", None), ("present", None), ("late", 47), None],
    [("present", None), ("present", None), ("present", None), ("present", None)],
    [("present", None), ("present", None), ("excused", None), None],
    [("present", None), ("present", None), ("late", 60), None],
    [("present", None), ("present", None), ("present", None), None],
]


def make_course(db, **kw):
    built = build_course(db, people=PEOPLE, sessions=SESSIONS, **kw)
    with db.write() as s:
        provider = Provider(name="Campus Västervik")
        s.add(provider)
        s.flush()
        course = s.get(Course, built.course_id)
        course.provider_id = provider.id
        course.description = "Grunderna i MIG/MAG-svetsning <stål> & aluminium."
        course.learning_outcomes = "Ställa in maskinen\nSvetsa kälfog"
        for pid, marks in zip(built.participant_ids, MARKS):
            for sid, mark in zip(built.session_ids, marks):
                if mark is not None:
                    s.add(Attendance(id=attendance_id(sid, pid), session_id=sid, participant_id=pid,
                                     status=mark[0], minutes=mark[1]))
    save_settings(db, OrganisationSettings(signatory_name="Anna Lindqvist", signatory_title="Projektledare"))
    return built


@pytest.fixture
def course(db):
    return make_course(db)


def by_name(rows):
    return {r.full_name: r for r in rows}


def issue_exact(db, course):
    """Issue the course's certificates; return the one of "Exakt Gränsen"."""
    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    return next(c for c in issued if c.participant_id == course.participant_ids[0])


# --- eligibility -------------------------------------------------------------------------------

def test_overview_edge_cases_are_hand_computed(db, course):
    rows = by_name(svc.certificate_overview(db, course.course_id))
    assert len(rows) == 6
    exact = rows["Exakt Gränsen"]
    assert (exact.scheduled_minutes, exact.attended_minutes, exact.eligible) == (510, 408, True)
    assert exact.percent == pytest.approx(80.0)
    under = rows["En Minutunder"]
    assert (under.attended_minutes, under.eligible) == (407, False)
    cancelled = rows["Inställd Räknas"]
    assert (cancelled.scheduled_minutes, cancelled.attended_minutes, cancelled.eligible) == (510, 510, True)
    excused = rows["Giltig Frånvaro"]
    assert (excused.attended_minutes, excused.eligible) == (360, False)
    late = rows["Sen Ankomst"]
    assert (late.attended_minutes, late.eligible) == (420, True)
    assert all(r.certificate is None for r in rows.values())
    assert exact.masked_personal_number.endswith("-****")
    assert exact.language == "sv"


def test_issue_all_eligible_then_again_creates_nothing(db, course):
    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    assert sorted(c.full_name for c in issued) == sorted(
        ["Exakt Gränsen", "Inställd Räknas", "Sen Ankomst", "Kalle <Kula> Karlsson & Son"]
    )
    assert svc.issue_certificates(db, course.course_id, today=TODAY) == []
    # naming them explicitly does not make a second one either
    assert svc.issue_certificates(db, course.course_id, [issued[0].participant_id], today=TODAY) == []
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Certificate)).scalar_one() == 4
    rows = by_name(svc.certificate_overview(db, course.course_id))
    assert rows["Exakt Gränsen"].certificate.status == "valid"
    assert rows["En Minutunder"].certificate is None


def test_issuing_to_a_participant_under_the_minimum_is_refused(db, course):
    under = course.participant_ids[1]
    with pytest.raises(UserError, match="Minutunder"):
        svc.issue_certificates(db, course.course_id, [under], today=TODAY)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Certificate)).scalar_one() == 0


def test_numbers_are_year_device_running_and_codes_random(db, course):
    from app.device import device_short

    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    dev = device_short(db)
    assert [c.number for c in issued] == [f"2026-{dev}-{i:04d}" for i in range(1, 5)]
    for c in issued:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", c.verification_code)
    assert len({c.verification_code for c in issued}) == 4
    # the running number continues after a revoke and in the next batch; a new year restarts
    svc.revoke_certificate(db, issued[0].id, "Fel kurs")
    again = svc.issue_certificates(db, course.course_id, [issued[0].participant_id], today=TODAY)
    assert again[0].number == f"2026-{dev}-0005"
    other = make_course(db, code="CNC-2")
    nxt = svc.issue_certificates(db, other.course_id, today=date(2027, 1, 10))
    assert nxt[0].number == f"2027-{dev}-0001"


def test_running_number_continues_from_existing_certificates_when_the_counter_is_missing(db, course):
    from app.device import device_short
    from app.models import Setting

    svc.issue_certificates(db, course.course_id, today=TODAY)
    dev = device_short(db)
    with db.write() as s:
        s.delete(s.get(Setting, f"certificate_seq:2026-{dev}"))
    other = make_course(db, code="CNC-2")
    nxt = svc.issue_certificates(db, other.course_id, today=TODAY)
    assert nxt[0].number == f"2026-{dev}-0005"


def test_verification_code_normalisation():
    assert svc.normalize_code(" abcd efgh jkmn ") == "ABCD-EFGH-JKMN"
    assert svc.normalize_code("O1IL-0000-0000") == "0111-0000-0000"
    assert svc.normalize_code("ABCD-EFGH-JKM") == ""
    assert svc.normalize_code("ABCD-EFGH-JKMU") == ""  # U is not in Crockford's alphabet


# --- frozen ------------------------------------------------------------------------------------

def test_pdf_is_frozen_with_its_hash_and_reprint_is_identical_after_changes(db, course, tmp_path):
    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    first = issued[0]
    pdf = svc.certificate_pdf(db, first.id)
    with db.read() as s:
        assert s.get(Certificate, first.id).pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    logo = tmp_path / "logo.png"
    from PIL import Image

    Image.new("RGB", (40, 20), "red").save(logo)
    with db.write() as s:
        p = s.get(Participant, first.participant_id)
        p.first_name, p.last_name = "Helt", "Annat Namn"
        s.get(Course, course.course_id).title = "Ny titel"
    save_settings(db, OrganisationSettings(organisation_name="Annan organisation", logo_path=str(logo)))
    assert svc.certificate_pdf(db, first.id) == pdf
    out = svc.write_certificate_files(db, [first.id], tmp_path / "out")
    assert out[0].read_bytes() == pdf


def test_frozen_data_redraws_the_stored_pdf_byte_for_byte(db, course):
    from app.documents.certificate import render_certificate

    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    for c in issued:
        data = svc.certificate_data(db, c.id)
        assert render_certificate(data) == svc.certificate_pdf(db, c.id)


def test_a_damaged_stored_pdf_is_reported(db, course):
    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    with db.write() as s:
        s.get(Certificate, issued[0].id).pdf = b"%PDF-1.4 tampered"
    with pytest.raises(UserError, match="damaged|skadad"):
        svc.certificate_pdf(db, issued[0].id)


# --- language ----------------------------------------------------------------------------------

def test_language_per_course_overridden_per_participant_and_by_argument(db, course):
    with db.write() as s:
        s.get(Course, course.course_id).certificate_language = "en"
        enr = s.execute(select(Enrollment).where(Enrollment.participant_id == course.participant_ids[0])).scalar_one()
        enr.certificate_language = "sv"
    issued = {c.participant_id: c for c in svc.issue_certificates(db, course.course_id, today=TODAY)}
    assert issued[course.participant_ids[0]].language == "sv"
    assert issued[course.participant_ids[2]].language == "en"
    other = make_course(db, code="CNC-2")
    forced = svc.issue_certificates(db, other.course_id, lang="en", today=TODAY)
    assert {c.language for c in forced} == {"en"}
    with pytest.raises(ValidationError):
        svc.issue_certificates(db, other.course_id, lang="de", today=TODAY)


# --- cancel ------------------------------------------------------------------------------------

def test_cancel_through_progress_keeps_what_was_issued(db, course):
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done < 2  # cancel after the second certificate

    issued = svc.issue_certificates(db, course.course_id, progress=progress, today=TODAY)
    assert len(issued) == 2
    assert calls == [(0, 4), (1, 4), (2, 4)]
    with db.read() as s:
        rows = s.execute(select(Certificate)).scalars().all()
        assert len(rows) == 2 and all(r.pdf_sha256 for r in rows)
    rest = svc.issue_certificates(db, course.course_id, today=TODAY)
    assert len(rest) == 2


# --- revoke, re-issue, verify ------------------------------------------------------------------

def test_revoke_needs_a_reason_and_verify_reports_it(db, course):
    c = svc.issue_certificates(db, course.course_id, today=TODAY)[0]
    assert svc.verify(db, c.number).status == "valid"
    with pytest.raises(ValidationError):
        svc.revoke_certificate(db, c.id, "  ")
    svc.revoke_certificate(db, c.id, "Utfärdat av misstag", today=date(2026, 4, 2))
    v = svc.verify(db, c.verification_code)
    assert (v.status, v.number, v.revoked_on, v.reason) == ("revoked", c.number, date(2026, 4, 2), "Utfärdat av misstag")
    with pytest.raises(UserError):
        svc.revoke_certificate(db, c.id, "igen")
    with db.read() as s:  # never deleted
        row = s.get(Certificate, c.id)
        assert row is not None and row.deleted_at is None


def test_reissue_supersedes_and_the_old_one_stays_on_record(db, course):
    c = issue_exact(db, course)
    old_pdf = svc.certificate_pdf(db, c.id)
    with db.write() as s:
        s.get(Participant, c.participant_id).last_name = "Gränsén"
    new = svc.reissue_certificate(db, c.id, "Namnet rättat", today=date(2026, 4, 3))
    assert new.number != c.number and new.verification_code != c.verification_code
    with db.read() as s:
        old_row, new_row = s.get(Certificate, c.id), s.get(Certificate, new.id)
        assert new_row.supersedes_id == c.id
        assert old_row.revoked_on == date(2026, 4, 3)
        assert old_row.revoke_reason == f"Ersatt av {new.number}: Namnet rättat"
    assert svc.certificate_pdf(db, c.id) == old_pdf
    assert svc.certificate_data(db, new.id).full_name == "Exakt Gränsén"
    assert svc.verify(db, c.number).status == "revoked"
    assert svc.verify(db, new.number).holder_name == "Exakt Gränsén"
    # still one live certificate for the participant and course
    assert svc.issue_certificates(db, course.course_id, [c.participant_id], today=TODAY) == []
    rows = {r.number: r for r in svc.list_certificates(db)}
    assert rows[new.number].supersedes_number == c.number
    assert rows[c.number].status == "revoked"
    with pytest.raises(UserError):
        svc.reissue_certificate(db, c.id, "")


def test_verify_by_number_code_and_qr_text(db, course):
    c = issue_exact(db, course)
    for value in (c.number, c.verification_code, c.verification_code.lower().replace("-", " "),
                  f"KURSDESK:{c.number}:{c.verification_code}"):
        v = svc.verify(db, value)
        assert (v.status, v.number, v.holder_name, v.course_code, v.issued_on) == (
            "valid", c.number, "Exakt Gränsen", "SVETS-1", TODAY)
        assert v.course_title == "Svetsning MIG/MAG – grund"
    assert svc.verify(db, f"KURSDESK:{c.number}:ABCD-EFGH-JKMN").status == "unknown"
    assert svc.verify(db, "2026-0000-9999").status == "unknown"
    assert svc.verify(db, "nonsense").status == "unknown"
    assert svc.verify(db, "").status == "unknown"


def test_code_is_not_derived_from_the_number(db, course):
    """Two laptops' first certificates share nothing in their codes (60 random bits each)."""
    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    codes = {c.verification_code for c in issued}
    assert len(codes) == len(issued)
    assert all(c.number.split("-")[2] not in c.verification_code.replace("-", "") for c in issued)


# --- the register and the files ----------------------------------------------------------------

def test_register_lists_and_searches(db, course):
    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    rows = svc.list_certificates(db)
    assert len(rows) == 4
    assert {r.status for r in rows} == {"valid"}
    assert [r.holder_name for r in svc.list_certificates(db, "kula")] == ["Kalle <Kula> Karlsson & Son"]
    assert [r.number for r in svc.list_certificates(db, issued[1].number)] == [issued[1].number]
    assert len(svc.list_certificates(db, "svets-1")) == 4
    assert svc.list_certificates(db, "finns inte") == []


def test_files_are_named_by_course_and_name_and_the_combined_file_has_every_page(db, course, tmp_path):
    from pypdf import PdfReader

    issued = svc.issue_certificates(db, course.course_id, today=TODAY)
    paths = svc.write_certificate_files(db, [c.id for c in issued], tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert "SVETS-1 - Exakt Gränsen.pdf" in names
    assert "SVETS-1 - Kalle _Kula_ Karlsson & Son.pdf" in names
    assert not list((tmp_path / "out").glob(".kursdesk-*"))
    combined = svc.write_combined_pdf(db, [c.id for c in issued], tmp_path / "out" / "alla.pdf")
    reader = PdfReader(combined)
    assert len(reader.pages) == 4
    for page, c in zip(reader.pages, issued):
        assert c.number in page.extract_text()


def test_same_name_twice_gets_a_number(db, course, tmp_path):
    c = issue_exact(db, course)
    new = svc.reissue_certificate(db, c.id, "Rättelse")
    paths = svc.write_certificate_files(db, [c.id, new.id], tmp_path)
    assert [p.name for p in paths] == ["SVETS-1 - Exakt Gränsen.pdf", "SVETS-1 - Exakt Gränsen (2).pdf"]


def test_safe_file_name():
    assert svc.safe_file_name('A/B: "C" <D>?*|') == "A_B_ _C_ _D____"
    assert svc.safe_file_name("Łukasz Świątek. ") == "Łukasz Świątek"
    assert svc.safe_file_name("CON") == "_CON"


def test_unknown_course_and_certificate(db):
    with pytest.raises(NotFound, match="NOPE"):
        svc.course_id_by_code(db, "NOPE")
    with pytest.raises(NotFound):
        svc.certificate_pdf(db, "no-such-id")
    with pytest.raises(NotFound):
        svc.certificate_overview(db, "no-such-id")


def test_birth_date_printed_from_the_personal_number(db, course):
    c = issue_exact(db, course)
    pnr = course.personal_numbers[0]
    assert svc.certificate_data(db, c.id).birth_date == date(int(pnr[:4]), int(pnr[4:6]), int(pnr[6:8]))
    assert luhn_pnr  # the builder's numbers are valid personnummer
