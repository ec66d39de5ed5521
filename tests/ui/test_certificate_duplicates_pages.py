"""The duplicate certificates on the Certificates page and the Sync page, revoking one from the list,
the question before issuing a course another laptop has issued, and the Sync page's list of
changes that could not be applied. Rendered at 1366×768 in Swedish (labels must not clip)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.models import Certificate, SyncParked
from app.services import certificates as svc
from app.sync import setup_folder, sync
from tests.app.test_certificates import make_course
from tests.sync.conftest import fresh_db
from tests.ui.pages import load, settle
from ui.context import AppContext
from ui.pages import certificates as cert_page
from ui.pages import sync as sync_page

SHOTS = Path("/tmp/kursdesk-shots")


def foreign(db, built, participant_id, number="2026-ABCDEF-0001", code="TEST-CODE-0001", day=date(2026, 3, 30)):
    with db.write() as s:
        s.add(Certificate(number=number, verification_code=code, course_id=built.course_id,
                          participant_id=participant_id, issued_on=day))


def shot(widget, name):
    SHOTS.mkdir(exist_ok=True)
    widget.resize(1366, 768)
    widget.show()
    widget.grab().save(str(SHOTS / name))


@pytest.fixture
def no_warnings(monkeypatch):
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: QMessageBox.StandardButton.Ok)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: pytest.fail(f"warning shown: {a[2]}"))


def test_certificates_page_lists_a_duplicate_and_revokes_it(qtbot, db, monkeypatch, no_warnings):
    built = make_course(db)
    mine = svc.issue_certificates(db, built.course_id, [built.participant_ids[0]], today=date(2026, 4, 1))[0]
    foreign(db, built, built.participant_ids[0])
    page = cert_page.Page(AppContext(db))
    qtbot.addWidget(page)
    page.show()
    page.select_course(built.course_id)
    settle(qtbot, page)
    assert page.tabs.tabText(2) == "Dubbletter (1)"
    assert page.duplicate_note.isVisibleTo(page) and "1 deltagare i kursen" in page.duplicate_note.text()
    status = next(cert_page.candidate_status(r) for r in page.candidates.rows() if r.participant_id == mine.participant_id)
    assert status == f"Utfärdat {mine.number} och 2026-ABCDEF-0001 (dubblett)"
    panel = page.duplicates
    assert panel.table.rowCount() == 2
    assert panel.table.item(0, 2).text() == "2026-ABCDEF-0001" and panel.table.item(0, 5).text() == "behåll"
    assert panel.table.item(1, 4).text() == "den här datorn" and panel.table.item(0, 4).text() == "dator ABCDEF"
    page.tabs.setCurrentIndex(2)
    shot(page, "certificates_duplicates.png")
    page.tabs.setCurrentIndex(0)
    shot(page, "certificates_course_duplicate_note.png")
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    assert not panel.revoke_button.isEnabled()
    panel.table.selectRow(1)
    panel.revoke_button.click()
    settle(qtbot, page)
    assert asked and mine.number in asked[0] and "Dubblett av 2026-ABCDEF-0001" in asked[0]
    assert svc.verify(db, mine.number).reason == "Dubblett av 2026-ABCDEF-0001"
    assert page.tabs.tabText(2) == "Dubbletter" and panel.table.rowCount() == 0
    assert not page.duplicate_note.isVisibleTo(page)


def test_issuing_after_another_laptop_asks_first(qtbot, db, monkeypatch, no_warnings):
    built = make_course(db)
    foreign(db, built, built.participant_ids[0])
    page = cert_page.Page(AppContext(db))
    qtbot.addWidget(page)
    page.show()
    page.select_course(built.course_id)
    settle(qtbot, page)
    questions = []
    answer = {"yes": False}

    def ask(box):
        questions.append(box.text())
        return answer["yes"]

    monkeypatch.setattr(cert_page.Page, "_ask", staticmethod(ask))
    page.issue_all_button.click()  # first: how many, which course (the user says no)
    assert len(questions) == 1 and questions[0].startswith("Utfärda intyg till 3 deltagare som uppfyller kraven i SVETS-1")
    assert page.task is None and len(svc.list_certificates(db)) == 1  # cancelled: nothing issued
    assert page.issue_all_button.isEnabled()
    answer["yes"] = True
    page.issue_all_button.click()  # yes, and then the other laptop's certificates are named
    assert len(questions) == 3 and "ABCDEF" in questions[2] and "3 deltagare" in questions[2]
    assert questions[2].endswith("Utfärda ändå?")
    qtbot.waitUntil(lambda: page.task is not None and page.task.done, timeout=20000)
    settle(qtbot, page)
    assert len(page.task.result) == 3 and len(svc.list_certificates(db)) == 4


def test_sync_page_shows_duplicates_and_parked_changes(qtbot, tmp_path, monkeypatch, no_warnings):
    share = tmp_path / "share"
    setup_folder(share, tmp_path / "k.key")
    a, b = fresh_db(tmp_path / "a.db"), fresh_db(tmp_path / "b.db")
    built = make_course(a)
    sync(a, share), sync(b, share)
    svc.issue_certificates(a, built.course_id, today=date(2026, 4, 1))
    svc.issue_certificates(b, built.course_id, today=date(2026, 4, 2))
    sync(a, share), sync(b, share)
    with b.write() as s:
        s.add(SyncParked(device_id="0f1e2d3c-aaaa-bbbb-cccc-000000000001", batch_seq=7, table_name="attendance",
                         record_id="5b6c7d8e-0000-0000-0000-000000000000", change="{}", reason="missing-reference",
                         detail="session_id", parked_at=datetime(2026, 4, 2, 8, 30)))
    ctx = AppContext(b)
    page = sync_page.Page(ctx)
    qtbot.addWidget(page)
    page.show()
    load(qtbot, page)
    assert page.lists.tabText(1) == "Dubbla intyg (4)"
    assert page.duplicates.table.rowCount() == 8
    assert page.lists.tabText(2) == "Ändringar som inte kunde tillämpas (1)"
    cells = [page.parked.item(0, c).text() for c in range(4)]
    assert cells[0] == "attendance 5b6c7d8e"
    assert cells[1] == "en post som den hänvisar till har inte kommit: session_id"
    assert cells[2] == "0f1e2d3c, paket 7" and cells[3]
    page.lists.setCurrentIndex(1)
    shot(page, "sync_duplicates.png")
    page.lists.setCurrentIndex(2)
    shot(page, "sync_parked.png")
    # revoking from the Sync page: announced, and the list and the tab follow
    announced = []
    ctx.bus.changed.connect(lambda changes, _initiator: announced.append(changes))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.duplicates.table.selectRow(1)
    page.duplicates.revoke_button.click()
    settle(qtbot, page)
    assert any(c.touches(["certificates"]) for c in announced)
    assert page.lists.tabText(1) == "Dubbla intyg (3)"
    assert len(svc.duplicate_certificates(b)) == 3


def test_a_warning_after_issuing_is_shown(qtbot, db, monkeypatch):
    """A certificate from another laptop arrived while the batch ran: the page says why the rest waits."""
    built = make_course(db)
    page = cert_page.Page(AppContext(db))
    qtbot.addWidget(page)
    page.show()
    page.select_course(built.course_id)
    settle(qtbot, page)
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    warning = svc.IssueWarning("SVETS-1", ("p1", "p2"), (svc.OtherLaptop("ABCDEF", 1, None),))
    page._issued(svc.Issued([], warning))
    assert shown == [warning.message()] and "2 deltagare" in shown[0]
    page._issued(svc.Issued([]))
    assert len(shown) == 1


def test_sync_report_box_points_to_the_duplicates(qtbot, db):
    built = make_course(db)
    svc.issue_certificates(db, built.course_id, [built.participant_ids[0]], today=date(2026, 4, 1))
    foreign(db, built, built.participant_ids[0])
    page = sync_page.Page(AppContext(db))
    qtbot.addWidget(page)
    page.show()
    load(qtbot, page)

    class Report:
        def lines(self):
            return ["Partner 0f1e2d3c: 1 paket inlästa, till och med paket 1."]

    page.last_report = Report()
    load(qtbot, page)
    assert page.report_box.toPlainText().splitlines() == [
        "Partner 0f1e2d3c: 1 paket inlästa, till och med paket 1.",
        "1 deltagare har två giltiga intyg för samma kurs: se Dubbla intyg.",
    ]
