"""Signed certificates in the window: the certificate settings and the public key on the Settings
page (a wrong address is shown beside its field and nothing is saved), the Certificates page's
note on missing English texts and its certificates of participation."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.models import Course
from app.services import certificates as svc
from app.services.certificate_settings import CertificateSettings, get_certificate_settings, save_certificate_settings
from app.signing.key import read_public_keys
from tests.app.test_certificates import make_course
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages import certificates as certificates_page
from ui.pages import settings as settings_page


@pytest.fixture
def settings(qtbot, db):
    p = settings_page.Page(AppContext(db))
    qtbot.addWidget(p)
    p.resize(1366, 768)
    load(qtbot, p)  # pages load in a worker
    return p


def test_certificate_settings_are_saved_with_the_page(settings, db):
    box = settings.certificates
    assert box.fingerprint.text().startswith("Ingen signeringsnyckel ännu")  # looking makes no key
    box.edits["verifier_url"].setText("intyg example se")
    box.edits["issuer_email"].setText("intyg@campus.se")
    assert settings.save() is False
    assert "är ingen webbadress" in box.form.error_text("verifier_url")
    assert get_certificate_settings(db).issuer_email == ""  # nothing saved
    box.edits["verifier_url"].setText("https://intyg.campus.se/" + "k" * 40)
    assert settings.save() is False
    assert "högst 60 tecken" in box.form.error_text("verifier_url")
    box.edits["verifier_url"].setText("intyg.campus.se/kontroll")
    box.participation.setChecked(False)
    assert settings.save() is True
    saved = get_certificate_settings(db)
    assert (saved.verifier_url, saved.issuer_email, saved.participation) == (
        "https://intyg.campus.se/kontroll", "intyg@campus.se", False)
    assert box.edits["verifier_url"].text() == "https://intyg.campus.se/kontroll"


def test_public_key_export_from_settings(settings, db, tmp_path, monkeypatch):
    target = tmp_path / "nyckel.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    settings.certificates.export_button.click()
    assert len(read_public_keys(target).keys) == 1
    assert "Publik nyckel för intygens signaturer: " in settings.certificates.fingerprint.text()


@pytest.fixture
def certificates(qtbot, db, monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: pytest.fail(f"warning shown: {a[2]}"))
    built = make_course(db)
    p = certificates_page.Page(AppContext(db))
    qtbot.addWidget(p)
    p.resize(1366, 768)
    p.select_course(built.course_id)
    settle(qtbot, p)
    p.built = built
    return p


def test_missing_english_texts_are_named_before_issuing(certificates, db, qtbot):
    assert certificates.english_note.isHidden()
    with db.write() as s:
        s.get(Course, certificates.built.course_id).certificate_language = "en"
    load(qtbot, certificates)
    assert not certificates.english_note.isHidden()
    assert "kursens titel" in certificates.english_note.text() and "lärandemålen" in certificates.english_note.text()


def test_certificates_of_participation_from_the_page(certificates, db, qtbot):
    assert not certificates.participation_button.isHidden() and certificates.participation_button.isEnabled()
    certificates.participation_button.click()
    qtbot.waitUntil(lambda: certificates.task is not None and certificates.task.done, timeout=20000)
    settle(qtbot, certificates)  # the page reloads after issuing
    rows = svc.certificate_overview(db, certificates.built.course_id)
    assert sum(1 for r in rows if r.participation is not None) == 6  # everyone who attended
    assert all(r.certificate is None for r in rows)  # no course certificate issued by it
    assert not certificates.participation_button.isEnabled()  # nobody left to issue to
    m = certificates.candidates
    col = [c.key for c in m.columns].index("participation")
    assert all(m.data(m.index(i, col)).startswith("Utfärdat 20") for i in range(m.rowCount()))
    r = certificates.register
    kind = [c.key for c in r.columns].index("kind")
    assert {r.data(r.index(i, kind)) for i in range(r.rowCount())} == {"Deltagarintyg"}
    save_certificate_settings(db, CertificateSettings(participation=False))
    load(qtbot, certificates)
    assert certificates.participation_button.isHidden()
