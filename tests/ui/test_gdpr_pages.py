"""Data protection in the window: the participant's informed date, register extract and erasure;
the Settings section (retention date, notices, erasing those due, the audit log)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.gdpr import audit
from app.gdpr.notice import informed_on
from app.gdpr.settings import get_gdpr_settings
from app.models import Participant
from app.services.participants import ParticipantData, create_participant
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages.participants import Page as ParticipantsPage
from ui.pages.settings import Page as SettingsPage


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


@pytest.fixture
def person(ctx):
    return create_participant(ctx.db, ParticipantData("Åsa", "Öberg", "19800501-1237", email="asa@example.se"))


def _select(qtbot, ctx, pid):
    page = ParticipantsPage(ctx)
    qtbot.addWidget(page)
    page.show()  # a visible page reloads after a change it did not start (the erasure)
    load(qtbot, page)
    page.table.select_id(pid)
    settle(qtbot, page)  # the selected participant is read in a worker
    assert page.current_id == pid
    return page


def test_informed_today_and_back(qtbot, ctx, person):
    page = _select(qtbot, ctx, person)
    box = page.privacy
    assert "Ännu inte informerad" in box.informed_label.text() and not box.not_informed_button.isEnabled()
    box.informed_button.click()
    assert informed_on(ctx.db, person) == date.today()
    assert "Ännu inte" not in box.informed_label.text() and box.not_informed_button.isEnabled()
    box.not_informed_button.click()
    assert informed_on(ctx.db, person) is None


def test_register_extract_button_writes_the_pdf_and_the_json(qtbot, ctx, person, tmp_path, monkeypatch):
    page = _select(qtbot, ctx, person)
    target = tmp_path / "utdrag"  # the dialog may return a name without .pdf
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    page.privacy.extract_button.click()
    qtbot.waitUntil(lambda: (tmp_path / "utdrag.json").exists() and (tmp_path / "utdrag.pdf").exists(), timeout=10000)
    data = json.loads((tmp_path / "utdrag.json").read_text(encoding="utf-8"))
    assert data["person"]["email"] == "asa@example.se"
    qtbot.waitUntil(lambda: [e.action for e in audit.entries(ctx.db)] == ["extract"], timeout=5000)


def _answer_erase(monkeypatch, reason: str | None, seen: list):
    """The erasure dialog answered: its records noted, the reason typed, Erase clicked (None: Cancel)."""
    from ui.gdpr_erase import EraseDialog

    def answer(dialog):
        seen.append([dialog.records.item(i).text() for i in range(dialog.records.count())])
        assert not dialog.erase_button.isEnabled()  # the reason is required
        if reason is None:
            dialog.reject()
        else:
            dialog.reason_edit.setPlainText(reason)
            dialog.erase_button.click()
        return dialog.result()

    monkeypatch.setattr(EraseDialog, "exec", answer)


def test_erase_asks_for_the_reason_and_then_the_person_is_gone(qtbot, ctx, person, monkeypatch):
    page = _select(qtbot, ctx, person)
    seen: list = []
    _answer_erase(monkeypatch, None, seen)
    page.privacy.erase_button.click()
    with ctx.db.read() as s:
        assert s.get(Participant, person) is not None
    assert seen == [["Åsa Öberg, 19800501-****"]]
    _answer_erase(monkeypatch, "  Asked   by e-mail ", seen)
    page.privacy.erase_button.click()  # never took part: no retention question
    with ctx.db.read() as s:
        assert s.get(Participant, person) is None
    assert not page.privacy.isEnabled()
    (entry,) = audit.entries(ctx.db)
    assert (entry.action, entry.people, entry.detail) == ("erasure", 1, "request Asked by e-mail")
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=5000)  # the list reloads in a worker


def test_erase_lists_and_erases_every_record_of_the_person(qtbot, ctx, person, monkeypatch):
    from app.models import utcnow

    with ctx.db.write() as s:  # an earlier registration of her, deleted (not erased): its data is still held
        earlier = Participant(first_name="Åsa", last_name="Öberg", personal_number="198005011237", deleted_at=utcnow())
        s.add(earlier)
    create_participant(ctx.db, ParticipantData("åsa ", "ÖBERG", "19800501-TF29"))  # no number, same name and birth date
    other = create_participant(ctx.db, ParticipantData("Åsa", "Öberg", "19800502-1236"))  # another person
    page = _select(qtbot, ctx, person)
    seen: list = []
    _answer_erase(monkeypatch, "request by letter", seen)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.privacy.erase_button.click()
    assert seen == [["Åsa Öberg, 19800501-****", "åsa ÖBERG, 19800501-****", "Åsa Öberg, 19800501-****, borttagen"]]
    with ctx.db.read() as s:
        left = {p.id for p in s.query(Participant)}
    assert left == {other}  # her three records are gone
    assert [(e.action, e.people, e.detail) for e in audit.entries(ctx.db)] == [("erasure", 1, "request request by letter")]


def test_settings_section_saves_checks_the_date_and_shows_the_log(qtbot, ctx, person):
    audit.record(ctx.db, "time-reports", 12, "2026-10")
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    load(qtbot, page)
    box = page.privacy
    qtbot.waitUntil(lambda: "0 personer" in box.due_label.text(), timeout=10000)
    assert box.audit_model.rowCount() == 1 and box.notice_sv.toPlainText().startswith("Behandling av personuppgifter")
    box.retention_until.setText("31/12/2030")
    assert not box.save()
    assert "ÅÅÅÅ-MM-DD" in box.form._errors["retention_until"].text()
    assert get_gdpr_settings(ctx.db).retention_until is None
    box.retention_until.setText("2030-12-31")
    box.controller.setText("Västerviks kommun")
    box.notice_en.setPlainText("Our own notice for {controller}.")
    assert box.save()
    saved = get_gdpr_settings(ctx.db)
    assert saved.retention_until == date(2030, 12, 31) and saved.controller == "Västerviks kommun"
    assert saved.notice_sv == "" and saved.notice_en == "Our own notice for {controller}."
    box.copy_button.click()
    from PySide6.QtWidgets import QApplication

    copied = QApplication.clipboard().text()
    assert copied.startswith("Behandling av personuppgifter") and "Västerviks kommun är personuppgiftsansvarig" in copied
    assert copied.endswith("Our own notice for Västerviks kommun.") and "2030-12-31" in copied


def test_erase_those_due(qtbot, ctx, person, monkeypatch):
    from app.gdpr.settings import GdprSettings, save_gdpr_settings

    save_gdpr_settings(ctx.db, GdprSettings(retention_until=date(2020, 1, 1)))
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    load(qtbot, page)
    box = page.privacy
    qtbot.waitUntil(lambda: box.purge_button.isEnabled(), timeout=10000)
    assert box.due_label.text() == "1 person ska gallras."
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    box.purge_button.click()
    qtbot.waitUntil(lambda: box.status.text() == "1 person raderad.", timeout=10000)
    with ctx.db.read() as s:
        assert s.get(Participant, person) is None
    qtbot.waitUntil(lambda: box.due_label.text() == "0 personer ska gallras.", timeout=10000)
    assert not box.purge_button.isEnabled() and [r.action for r in audit.entries(ctx.db)] == ["erasure"]


def test_the_audit_log_on_the_settings_page_follows_a_write_made_elsewhere(qtbot, ctx, person):
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    load(qtbot, page)
    box = page.privacy
    assert box.audit_model.rowCount() == 0
    audit.record(ctx.db, "time-reports", 12, "2026-10")  # an export on another page records it
    qtbot.waitUntil(lambda: box.audit_model.rowCount() == 1, timeout=5000)
