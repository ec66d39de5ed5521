"""Data protection: the register extract read back, retention and purge, erasure on request,
the information notice and informed date, and the audit log (no personal data in it)."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from app.errors import UserError
from app.gdpr import audit, erasure, retention
from app.gdpr.extract import write_extract
from app.gdpr.notice import notice_text, set_informed, uninformed_participants
from app.gdpr.settings import GdprSettings, get_gdpr_settings, save_gdpr_settings
from app.models import Attendance, AuditEntry, Certificate, Enrollment, OriginalReceived, Participant
from tests.fixtures.report_month import ANNA_PNR, BERTIL_PNR, CECILIA_PNR, DAVID_PNR, build


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def month(db):
    ids = build(db)
    with db.write() as s:  # Anna also has a signed original and a certificate
        s.add(OriginalReceived(participant_id=ids["anna"], month="2026-03", received_on=date(2026, 4, 2)))
        s.add(Certificate(number="2026-ABCDEF-0001", verification_code="K7QM-2XHD-9FTA", course_id=ids["plc"],
                          participant_id=ids["anna"], issued_on=date(2026, 3, 24), language="sv"))
        s.execute(update(Participant).where(Participant.id == ids["anna"]).values(
            email="anna.andersson@verkstad.se", phone="070-111 22 33", gender="female", informed_on=date(2026, 2, 20)))
    save_gdpr_settings(db, GdprSettings(controller="Västerviks kommun", retention_until=date(2030, 12, 31)))
    return ids


def test_the_extract_pdf_read_back_holds_every_field_of_that_person_and_nobody_elses(db, month, tmp_path):
    out = tmp_path / "utdrag.pdf"
    pdf, js = write_extract(db, month["anna"], out, lang="sv")
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["format"] == "kursdesk-register-extract" and data["language"] == "sv"
    with db.read() as s:
        anna = s.get(Participant, month["anna"])
        stored = {c.key: getattr(anna, c.key) for c in Participant.__table__.columns}
    assert set(data["person"]) == set(stored)  # every stored field, new ones included
    assert len(data["enrollments"]) == 2 and len(data["attendance"]) == 7
    assert len(data["certificates"]) == 1 and data["originals_received"][0]["month"] == "2026-03"
    text = " ".join(pdf_text(pdf).split())
    for value in ("Anna", "Andersson", "19850312-0027", "anna.andersson@verkstad.se", "070-111 22 33", "Kvinna",
                  "Verkstad AB (556016-0680)", "2026-02-20", anna.id, "SVE-01", "PLC-02", "2026-03-30", "150",
                  "2026-ABCDEF-0001", "K7QM-2XHD-9FTA", "2026-04-02", "Västerviks kommun", "2030-12-31",
                  "ESF-rådet", "SCB", "Integritetsskyddsmyndigheten", "Medfinansieras av Europeiska unionen"):
        assert value in text, value
    for other in ("Bertil", "Cecilia", "Ceder", "David", "Dahl", BERTIL_PNR[:8], CECILIA_PNR[:8], DAVID_PNR[:8]):
        assert other not in text and other not in js.read_text(encoding="utf-8"), other
    [entry] = audit.entries(db)
    assert entry.action == "extract" and entry.people == 1


def test_the_extract_in_english(db, month, tmp_path):
    pdf, _js = write_extract(db, month["anna"], tmp_path / "extract.pdf", lang="en")
    text = " ".join(pdf_text(pdf).split())
    assert "Register extract" in text and "Your rights" in text and "Female" in text and "Co-funded by the European Union" in text


def test_a_bad_extract_file_name_writes_nothing(db, month, tmp_path):
    with pytest.raises(UserError, match=".pdf"):
        write_extract(db, month["anna"], tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists() and not (tmp_path / "x.json").exists()
    assert audit.entries(db) == []


def test_nobody_is_due_before_the_retention_date_except_people_who_never_took_part(db, month):
    assert retention.due_for_erasure(db, date(2026, 4, 15)) == []  # David changed today: not yet
    later = date.today().replace(year=date.today().year + 1)
    due = {d.participant_id: d for d in retention.due_for_erasure(db, later)}
    assert set(due) == {month["david"], month["erik"]}  # waitlisted; withdrawn with no minutes
    assert {d.reason for d in due.values()} == {"never-participated"}
    assert due[month["david"]].masked_personal_number == "20010215-****"
    everyone = retention.due_for_erasure(db, date(2031, 1, 1))
    assert {d.participant_id for d in everyone} == {month["anna"], month["bertil"], month["cecilia"], month["david"], month["erik"], month["fatima"]}
    assert {d.reason for d in everyone} == {"retention"}


def test_purge_dry_run_erases_nothing_and_purge_erases_the_due(db, month):
    later = date.today().replace(year=date.today().year + 1)
    assert len(retention.purge(db, dry_run=True, today=later)) == 2
    with db.read() as s:
        assert s.get(Participant, month["david"]) is not None
    retention.purge(db, today=later)
    with db.read() as s:
        assert s.get(Participant, month["david"]) is None and s.get(Participant, month["erik"]) is None
        assert s.scalar(select(Enrollment.id).where(Enrollment.participant_id == month["david"])) is None
        assert s.get(Participant, month["anna"]) is not None
    [entry] = audit.entries(db)
    assert entry.action == "erasure" and entry.people == 2 and entry.detail == "never-participated"


def test_past_months_totals_stay_after_everyone_is_erased(db, month):
    before = {m: erasure.month_totals(db, m) for m in ("2026-03", "2026-04")}
    assert before["2026-03"] == {month["verk"]: 240 + 95 + 150 + 180, month["evil"]: 60 + 180, month["kommun"]: 240 + 210}
    retention.purge(db, today=date(2031, 1, 1))
    with db.read() as s:
        assert s.scalar(select(Participant.id)) is None and s.scalar(select(Attendance.id)) is None
    assert {m: erasure.month_totals(db, m) for m in ("2026-03", "2026-04")} == before


def test_erasure_on_request_is_refused_while_the_funders_retention_applies_unless_forced(db, month):
    with pytest.raises(UserError, match="2030"):
        retention.erase_on_request(db, month["anna"], "asked by phone", today=date(2026, 5, 1))
    with db.read() as s:
        assert s.get(Participant, month["anna"]) is not None
    # a person who never took part has no such basis: erased without --force
    retention.erase_on_request(db, month["david"], "asked by e-mail", today=date(2026, 5, 1))
    done = retention.erase_on_request(db, month["anna"], "asked 19850312-0027 anna@x.se", force=True, today=date(2026, 5, 1))
    assert done.people == 1 and done.records == 1 + 2 + 7 + 1 + 1
    with db.read() as s:
        from app.models import Erasure

        forced = {e.participant_id: e.forced for e in s.scalars(select(Erasure))}
    assert forced == {month["david"]: False, month["anna"]: True}
    details = [e.detail for e in audit.entries(db)]
    assert details[0].startswith("request forced") and "0027" not in details[0] and "@" not in details[0]


def test_find_person_by_any_written_form(db, month):
    assert retention.find_person(db, "850312-0027") == month["anna"]
    with pytest.raises(UserError, match="19900101-\\*\\*\\*\\*"):
        retention.find_person(db, "19900101-0008")


def test_the_notice_and_who_has_hours_but_was_not_informed(db, month):
    sv = notice_text(db, "sv")
    assert "Västerviks kommun" in sv and "till och med 2030-12-31" in sv and "Kompetenslyft Kalmar län" in sv
    assert "{" not in notice_text(db, "en") and "Swedish ESF Council" in notice_text(db, "en")
    save_gdpr_settings(db, GdprSettings(controller="X", retention_until=None, notice_sv="Hej {controller}, {okänt}"))
    assert notice_text(db, "sv") == "Hej X, {okänt}"
    assert get_gdpr_settings(db).notice_sv == "Hej {controller}, {okänt}"
    assert {u.participant_id for u in uninformed_participants(db, "2026-03")} == {month["bertil"], month["fatima"]}
    set_informed(db, [month["bertil"], month["fatima"]], date(2026, 3, 1))
    assert uninformed_participants(db, "2026-03") == []


def test_the_audit_log_records_full_personnummer_documents_without_personal_data(db, month, tmp_path):
    from app.documents.esf_summary import write_esf_summary
    from app.interchange.bundle import export_bundle
    from app.services.time_reports import write_time_reports

    write_time_reports(db, "2026-03", tmp_path / "t.pdf", today=date(2026, 4, 15))
    write_esf_summary(db, "2026-03", tmp_path / "s.xlsx")
    export_bundle(db, tmp_path / "b.json")
    rows = audit.entries(db)
    assert [(r.action, r.people, r.detail) for r in rows] == [
        ("bundle-export", 6, ""), ("summary", 3, "2026-03"), ("time-reports", 3, "2026-03")]
    assert all(r.device and isinstance(r.at, datetime) for r in rows)
    with db.read() as s:
        dumped = json.dumps([[e.action, e.device, e.user, e.people, e.detail] for e in s.scalars(select(AuditEntry))])
    for secret in (ANNA_PNR, "Anna", "Andersson", "anna.andersson", BERTIL_PNR):
        assert secret not in dumped


def test_gdpr_settings_are_checked(db):
    from app.errors import ValidationError

    with pytest.raises(ValidationError):
        save_gdpr_settings(db, GdprSettings(nonparticipant_months=0))
    save_gdpr_settings(db, GdprSettings(controller=" Campus ", nonparticipant_months=3))
    assert get_gdpr_settings(db) == GdprSettings(controller="Campus", nonparticipant_months=3)


def test_a_protected_identity_is_listed_and_erased_like_anyone(db, month, tmp_path):
    with db.write() as s:
        s.add(Participant(first_name="Skyddad", last_name="Person", personal_number="19800101TF29"))
    due = retention.due_for_erasure(db, date(2031, 1, 1))
    assert "19800101-****" in {d.masked_personal_number for d in due}
    pid = next(d.participant_id for d in due if d.masked_personal_number == "19800101-****")
    _pdf, js = write_extract(db, pid, tmp_path / "x.pdf", lang="sv")
    assert json.loads(js.read_text(encoding="utf-8"))["person"]["personal_number"] == "19800101TF29"
    retention.purge(db, today=date(2031, 1, 1))
    with db.read() as s:
        assert s.get(Participant, pid) is None


@pytest.mark.sqlite_only  # the file's bytes and its file copies
def test_a_large_erasure_removes_the_backup_copies_instead_of_editing_them(db, month, monkeypatch):
    from app import config

    small = db.backup("manual")
    erasure.erase(db, month["david"], "request")
    assert small.exists() and ANNA_PNR.encode() in small.read_bytes()  # edited: the others stay in it
    monkeypatch.setattr(erasure, "COPY_EDIT_LIMIT", 3)
    retention.purge(db, today=date(2031, 1, 1))
    assert list(config.backup_dir().glob("*.db")) == []
    assert ANNA_PNR.encode() not in db.path.read_bytes()
