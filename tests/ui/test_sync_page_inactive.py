"""The Sync page names the laptops that no longer hold the shared folder's history back."""

from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.sync import setup_folder, snapshot, sync
from app.sync.capture import state_of
from tests.sync.conftest import add_participant, fresh_db
from tests.ui.pages import load


def test_sync_page_lists_a_laptop_away_longer_than_the_inactive_days(qtbot, tmp_path, monkeypatch):
    from app import i18n
    from ui.context import AppContext
    from ui.pages import sync as page_mod

    share = tmp_path / "share"
    setup_folder(share, tmp_path / "k.key")
    a, b, c = (fresh_db(tmp_path / f"{n}.db") for n in "abc")
    add_participant(a)
    for db in (a, b, c, a):
        sync(db, share)
    ctx = AppContext(a)
    page = page_mod.Page(ctx)
    qtbot.addWidget(page)
    load(qtbot, page)  # pages load in a worker
    assert page.inactive_label.isHidden()  # everyone synced today
    monkeypatch.setattr(snapshot, "now", lambda: utcnow() + timedelta(days=91))
    sync(b, share)
    sync(a, share)  # has seen b's acknowledgement of "today"; c's is 91 days old
    i18n.set_language("sv")
    load(qtbot, page)
    assert not page.inactive_label.isHidden()
    text = page.inactive_label.text()
    assert state_of(c).device[:8] in text and state_of(b).device[:8] not in text
    assert text.startswith("Har inte synkat på länge")
    states = {page.partners.item(r, 0).text(): page.partners.item(r, 2).text() for r in range(page.partners.rowCount())}
    day = i18n.format_date(utcnow().date())  # c's acknowledgement was first seen by a "today"
    assert states == {state_of(b).device[:8]: "aktuell", state_of(c).device[:8]: f"inaktiv, synkade senast {day}"}
    page.resize(1366, 768)
    page.show()
    page.grab().save(str(tmp_path.parent / "sync_page_inactive.png"))
    page.hide()
