"""An English certificate read back (pdftotext) holds no Swedish course or organisation text when
the English texts are set, and the page is told which ones are missing; certificates of
participation go to everyone with attended minutes, numbered, frozen and signed like the
course certificates; the issuer's contact details print on the page."""

from __future__ import annotations

import subprocess

import pytest

from app.errors import UserError
from app.models import Course
from app.services import certificate_signing as signing
from app.services import certificates as svc
from app.services.certificate_settings import CertificateSettings, save_certificate_settings
from app.services.courses import get_course, update_course
from app.signing import statement
from tests.app.attendance_builders import build_course
from tests.app.test_certificates import TODAY, make_course

SWEDISH = ("Svetsning MIG/MAG – grund", "Grunderna i MIG/MAG-svetsning", "Ställa in maskinen", "Svetsa kälfog",
           "Projektledare", "Kompetenslyft Kalmar län", "KURSINTYG", "Härmed intygas")


def pdftotext(pdf: bytes, tmp_path) -> str:
    src = tmp_path / "cert.pdf"
    src.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(src), "-"], capture_output=True, text=True, check=True).stdout


def _contacts(db, **kw):
    save_certificate_settings(db, CertificateSettings(
        issuer_address="Box 123, 593 22 Västervik", issuer_phone="0490-25 40 00", issuer_email="intyg@campus.se",
        issuer_web="www.campus.se", **kw))


def test_english_certificate_holds_no_swedish_course_text(db, tmp_path):
    built = make_course(db)
    with db.write() as s:
        s.get(Course, built.course_id).certificate_language = "en"
    assert set(svc.missing_english_texts(db, built.course_id)) == {
        "kursens titel", "kursbeskrivningen", "lärandemålen", "undertecknarens titel", "programmets namn"}
    data = get_course(db, built.course_id).data
    from dataclasses import replace

    update_course(db, built.course_id, replace(data, title_en="MIG/MAG welding – basics",
                                               description_en="The basics of MIG/MAG welding <steel> & aluminium.",
                                               learning_outcomes_en="Set up the machine\nWeld a fillet weld"))
    _contacts(db, signatory_title_en="Project manager", programme_name_en="Skills Boost Kalmar County",
              organisation_name_en="Campus Vastervik College")
    assert svc.missing_english_texts(db, built.course_id) == ()
    cert = svc.issue_certificates(db, built.course_id, today=TODAY)[0]
    text = pdftotext(svc.certificate_pdf(db, cert.id), tmp_path)
    for swedish in SWEDISH:
        assert swedish not in text, swedish
    for english in ("CERTIFICATE", "MIG/MAG welding – basics", "The basics of MIG/MAG welding <steel> & aluminium.",
                    "Weld a fillet weld", "Project manager", "Skills Boost Kalmar County", "Campus Vastervik College",
                    "Box 123, 593 22 Västervik", "0490-25 40 00", "intyg@campus.se", "https://www.campus.se",
                    "Co-funded by the European Union"):
        assert english in text, english
    st, _m, _s = statement.parse(svc.certificate_data(db, cert.id).statement)
    assert (st.course_title, st.issuer) == ("MIG/MAG welding – basics", "Campus Vastervik College")


def test_a_swedish_course_needs_no_english_texts(db):
    built = make_course(db)
    assert svc.missing_english_texts(db, built.course_id) == ()


def test_certificates_of_participation_for_everyone_who_attended(db, tmp_path):
    built = make_course(db)
    _contacts(db)
    course = svc.issue_certificates(db, built.course_id, today=TODAY)
    issued = svc.issue_certificates(db, built.course_id, today=TODAY, kind=svc.KIND_PARTICIPATION)
    assert len(course) == 4 and len(issued) == 6  # the two below the minimum get one too
    assert not {c.number for c in course} & {c.number for c in issued}
    assert svc.issue_certificates(db, built.course_id, today=TODAY, kind=svc.KIND_PARTICIPATION) == []  # once
    below = next(c for c in issued if c.full_name == "En Minutunder")
    text = pdftotext(svc.certificate_pdf(db, below.id), tmp_path)
    assert "DELTAGARINTYG" in text and "Närvarodagar" in text and "6,8" in text  # 407 minutes
    assert "Box 123, 593 22 Västervik" in text
    st, _m, _s = statement.parse(svc.certificate_data(db, below.id).statement)
    assert (st.kind, st.attended_minutes) == (statement.KIND_PARTICIPATION, 407)
    assert signing.verify_signed(svc.certificate_data(db, below.id).statement,
                                 signing.programme_public_keys(db)).status == "valid"
    overview = {c.full_name: c for c in svc.certificate_overview(db, built.course_id)}
    assert overview["En Minutunder"].certificate is None and overview["En Minutunder"].participation.status == "valid"
    # a re-issue keeps the kind; the participant still holds one course certificate
    again = svc.reissue_certificate(db, below.id, "Namnet")
    assert "DELTAGARINTYG" in pdftotext(svc.certificate_pdf(db, again.id), tmp_path)
    assert svc.duplicate_certificates(db) == []


def test_participation_needs_attended_minutes(db):
    built = build_course(db, people=[("Ingen", "Närvaro", "")])  # no marks: no attended minutes
    with pytest.raises(UserError, match="Ingen Närvaro har inte deltagit"):
        svc.issue_certificates(db, built.course_id, built.participant_ids[-1:], today=TODAY, kind=svc.KIND_PARTICIPATION)


def test_english_texts_and_the_kind_survive_a_bundle(db, tmp_path):
    from app.db import Database
    from app.interchange.bundle import export_bundle, import_bundle

    built = make_course(db)
    with db.write() as s:
        course = s.get(Course, built.course_id)
        course.title_en, course.description_en, course.learning_outcomes_en = "Welding", "About welding", "To weld"
    issued = svc.issue_certificates(db, built.course_id, today=TODAY, kind=svc.KIND_PARTICIPATION)
    export_bundle(db, tmp_path / "b.json")
    other = Database(tmp_path / "other.db")
    try:
        import_bundle(other, tmp_path / "b.json")
        data = get_course(other, built.course_id).data
        assert (data.title_en, data.description_en, data.learning_outcomes_en) == ("Welding", "About welding", "To weld")
        kinds = {r.participation.number for r in svc.certificate_overview(other, built.course_id) if r.participation}
        assert kinds == {c.number for c in issued}
    finally:
        other.dispose()


def test_english_certificate_of_participation_title_fits(tmp_path):
    from reportlab.lib.units import mm

    from app.documents.certificate import render_certificate
    from tests.app.test_certificate_pdf import sample

    pdf = render_certificate(sample(lang="en", kind="participation"))
    src = tmp_path / "p.pdf"
    src.write_bytes(pdf)
    box = subprocess.run(["pdftotext", "-bbox", str(src), "-"], capture_output=True, text=True, check=True).stdout
    words = [line for line in box.splitlines() if ">CERTIFICATE<" in line or ">PARTICIPATION<" in line]
    assert len(words) == 2 and "Days attended" in pdftotext(pdf, tmp_path)
    x_min = float(words[0].split('xMin="')[1].split('"')[0])
    x_max = float(words[1].split('xMax="')[1].split('"')[0])
    assert 22 * mm <= x_min and x_max <= 210 * mm - 22 * mm  # within the page's margins
