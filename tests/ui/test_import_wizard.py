"""The import wizard: file -> preview with a problem column -> confirm; nothing before confirming."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.models import Company, Course, Enrollment, Participant
from ui.context import AppContext
from ui.import_wizard import ImportWizard

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _setup(qtbot, db):
    with db.write() as s:
        s.add_all([Company(name="Verkstad AB", org_number="556016-0680"), Company(name="Kalmar Plåt AB", org_number="559123-4561")])
        course = Course(code="SVE-01", title="Svetsning")
        s.add(course)
        s.flush()
        cid = course.id
    ctx = AppContext(db)
    wizard = ImportWizard(ctx, cid)
    qtbot.addWidget(wizard)
    wizard.show()
    return ctx, wizard


def _count(db, model):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_bad_rows_preview_skip_and_confirm(qtbot, db):
    ctx, w = _setup(qtbot, db)
    assert not w.button(w.WizardButton.NextButton).isEnabled()  # no file yet
    w.file_page.path.setText(str(FIXTURES / "participants_bad_rows.csv"))
    assert w.button(w.WizardButton.NextButton).isEnabled()
    w.next()
    assert w.currentPage() is w.preview_page
    model = w.preview_page.model
    assert model.rowCount() == 7
    problems = {model.index(r, 0).data(): model.index(r, 6).data() for r in range(7)}
    assert problems["2"] == "" and problems["4"] == "Okänt företag: Okänt Företag AB."
    assert "7 rader, 2 klara att importera, 5 med fel" in w.preview_page.counts.text()
    assert not w.button(w.WizardButton.NextButton).isEnabled()  # bad rows: must choose to skip
    w.preview_page.skip.setChecked(True)
    assert w.button(w.WizardButton.NextButton).isEnabled()
    w.next()
    assert "Anmäla 2 deltagare till SVE-01" in w.confirm_page.text.text()
    assert _count(db, Participant) == 0  # nothing written before confirming
    with qtbot.waitSignal(ctx.bus.changed, timeout=2000):
        w.button(w.WizardButton.FinishButton).click()
    assert w.result.enrolled == 2
    assert (_count(db, Participant), _count(db, Enrollment)) == (2, 2)


def test_cancel_writes_nothing(qtbot, db):
    _ctx, w = _setup(qtbot, db)
    w.file_page.path.setText(str(FIXTURES / "participants_extra_columns.xlsx"))
    w.next()
    w.next()
    assert w.currentPage() is w.confirm_page
    w.reject()
    assert _count(db, Participant) == 0 and _count(db, Enrollment) == 0


def test_unreadable_file_stays_on_the_first_page(qtbot, db, tmp_path):
    _ctx, w = _setup(qtbot, db)
    bad = tmp_path / "list.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    w.file_page.path.setText(str(bad))
    w.next()
    assert w.currentPage() is w.file_page
    assert "ingen rubrikrad" in w.file_page.error.text()


def test_a_person_known_under_another_name_is_enrolled_only_when_confirmed(qtbot, db, tmp_path):
    ctx, w = _setup(qtbot, db)
    with db.write() as s:
        s.add(Participant(first_name="Åsa", last_name="Öberg", personal_number="197004051129", gender="female"))
    listed = tmp_path / "list.csv"
    listed.write_text("Förnamn;Efternamn;Personnummer\nSven;Nilsson;700405-1129\n", encoding="utf-8")
    w.file_page.path.setText(str(listed))
    w.next()
    page = w.preview_page
    assert page.accept_known.isVisibleTo(page)
    problem = page.model.index(0, 6).data()
    assert "Åsa Öberg" in problem and "19700405-****" in problem and "1129" not in problem
    assert not w.button(w.WizardButton.NextButton).isEnabled()
    page.accept_known.setChecked(True)
    assert page.model.index(0, 6).data() == "" and page.model.index(0, 5).data() == "Känd deltagare"
    assert w.button(w.WizardButton.NextButton).isEnabled()
    w.next()
    with qtbot.waitSignal(ctx.bus.changed, timeout=2000):
        w.button(w.WizardButton.FinishButton).click()
    assert (w.result.matched, w.result.created, _count(db, Participant), _count(db, Enrollment)) == (1, 0, 1, 1)
