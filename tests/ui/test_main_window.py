"""The main window: navigation and shortcuts, status bar, remembered geometry and page, undo,
and the language switch that rebuilds the window (Qt's own strings included)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, Qt

from app.i18n import current_language
from tests.ui.pages import settle
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.pages import PAGE_KEYS
from ui.undo import undo_stack


@pytest.fixture
def ctx(db):
    return AppContext(db=db)


@pytest.fixture
def window(qtbot, ctx):
    from ui.app import install_qt_translations

    install_qt_translations("sv")
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    MainWindow.current = None


def nav_titles(w):
    return [w.nav.item(i).text() for i in range(w.nav.count())]


def test_navigation_in_order_in_swedish(window):
    assert list(window.pages) == list(PAGE_KEYS)
    assert nav_titles(window) == [
        "Översikt", "Kurser", "Deltagare", "Företag", "Närvaro", "Intyg", "Rapporter", "Synkronisering", "Inställningar"
    ]
    assert window.nav.accessibleName() == "Navigering"


def test_ctrl_number_opens_pages(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    assert window.current_key() == "overview"  # the first page at start
    qtbot.keyClick(window.nav, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "companies"
    assert window.stack.currentWidget() is window.pages["companies"]
    qtbot.keyClick(window.nav, Qt.Key.Key_9, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "settings"
    qtbot.keyClick(window.nav, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "overview"


def test_status_bar_shows_database_and_sync_state(qtbot, window, ctx):
    assert str(ctx.db.path) in window.db_label.text()
    assert window.db_label.text().startswith("Databas:")
    qtbot.waitUntil(lambda: window.sync_label.text() == "Synk: inte konfigurerad")
    from app.services.companies import CompanyData, create_company
    from app.services.settings import set_value

    set_value(ctx.db, "sync_folder", "/share/kursdesk")
    create_company(ctx.db, CompanyData(name="Verkstad AB", org_number="556036-0793"))
    # read again once after the burst of writes, without anyone announcing anything
    qtbot.waitUntil(lambda: window.sync_label.text() == "Synk: 0 partner · 0 konflikter · 1 ändringar ej delade ännu",
                    timeout=5000)


def test_pages_are_built_when_first_opened(window):
    assert window.pages.is_built(window.current_key())
    assert not window.pages.is_built("reports")
    page = window.show_page("reports")
    assert window.pages.is_built("reports") and window.stack.currentWidget() is page
    assert window.stack.count() == len(PAGE_KEYS)


def test_geometry_is_remembered_and_the_window_opens_on_the_overview(qtbot, ctx, window):
    window.show_page("participants")
    window.resize(window.width(), 540)
    qtbot.wait(10)
    window.close()
    again = MainWindow(ctx)
    qtbot.addWidget(again)
    assert again.current_key() == "overview"
    assert again.height() == 540  # the width is clamped to the (offscreen) screen by Qt


def test_undo_from_status_bar_and_ctrl_z(qtbot, window, ctx):
    calls = []
    stack = undo_stack(ctx)
    assert window.undo_button.isHidden()
    from app.services.companies import CompanyData, create_company, delete_company, restore_company

    company_id = create_company(ctx.db, CompanyData(name="Acme AB", org_number="556036-0793"))
    delete_company(ctx.db, company_id)
    stack.push("Företaget Acme borttaget", lambda: calls.append(restore_company(ctx.db, company_id) or "restored"))
    assert not window.undo_button.isHidden()
    assert window.undo_label.text() == "Företaget Acme borttaget"
    with qtbot.waitSignal(ctx.bus.changed) as announced:
        window.activateWindow()
        qtbot.waitUntil(lambda: window.isActiveWindow())
        qtbot.keyClick(window.nav, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert calls == ["restored"]
    assert announced.args[0].ids("companies") == {company_id}  # the restore reported itself
    assert window.undo_button.isHidden() and not stack.can_undo()
    stack.push("Kurs borttagen", lambda: calls.append("again"))
    window.undo_button.click()
    assert calls == ["restored", "again"]


def test_language_switch_rebuilds_the_window_in_english(qtbot, window, ctx):
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Avbryt"
    settings_page = window.show_page("settings")
    settle(qtbot, settings_page)
    settings_page.language.setCurrentIndex(settings_page.language.findData("en"))
    assert settings_page.save()
    new = MainWindow.current
    assert new is not None and new is not window
    qtbot.addWidget(new)
    assert current_language() == "en"
    assert nav_titles(new)[:3] == ["Overview", "Courses", "Participants"]
    assert new.current_key() == "settings"
    assert new.pages["settings"].save_button.text() == "Save"
    assert new.db_label.text().startswith("Database:")
    # Qt's own dialogs follow
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
    # and back to Swedish
    page = new.pages["settings"]
    # loaded inline: waiting in an event loop would delete the first window under the fixture
    page.show_data(page.query()())
    page.language.setCurrentIndex(page.language.findData("sv"))
    assert page.save()
    newest = MainWindow.current
    qtbot.addWidget(newest)
    assert nav_titles(newest)[:2] == ["Översikt", "Kurser"]
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Avbryt"


def test_smoke_opens_every_page(qtbot, window, capsys):
    from PySide6.QtWidgets import QApplication

    from ui.app import smoke_test

    assert smoke_test(QApplication.instance(), window) == 0
    assert "smoke ok" in capsys.readouterr().out


def test_splitter_and_column_widths_are_remembered_per_page(qtbot, ctx, window):
    from PySide6.QtWidgets import QSplitter

    page = window.show_page("courses")
    qtbot.wait(10)
    splitter = page.findChild(QSplitter)
    splitter.setSizes([300, 700])
    header = page.table.horizontalHeader()
    header.resizeSection(1, 333)
    window.show_page("overview")  # hiding the page keeps its layout
    window.close()
    again = MainWindow(ctx)
    qtbot.addWidget(again)
    again.show()
    page = again.show_page("courses")
    qtbot.wait(10)
    assert page.table.horizontalHeader().sectionSize(1) == 333
    assert page.findChild(QSplitter).sizes()[0] < page.findChild(QSplitter).sizes()[1]


def test_a_demo_database_says_so_in_the_title(qtbot, ctx):
    from app.demo import fill_demo

    plain = MainWindow(ctx)
    qtbot.addWidget(plain)
    assert plain.windowTitle() == "Kursdesk"
    fill_demo(ctx.db)
    demo = MainWindow(ctx)
    qtbot.addWidget(demo)
    assert demo.windowTitle() == "Kursdesk – demodatabas (inte dina uppgifter)"


def test_a_window_shown_in_another_language_than_stored_keeps_it_when_a_setting_is_written(qtbot, ctx):
    """`kursdesk --lang en` on a Swedish database: a write to the settings (a device id made by a
    page's load, another setting saved) does not switch it back; a change of the stored language does."""
    from dataclasses import replace

    from app.i18n import set_language
    from app.services.settings import get_settings, save_settings, set_value

    set_language("en")
    w = MainWindow(ctx, stored_language="sv")
    qtbot.addWidget(w)
    set_value(ctx.db, "some_setting", "1")
    assert MainWindow.current in (None, w) and current_language() == "en"
    save_settings(ctx.db, replace(get_settings(ctx.db), language="sv", place="Kalmar"))  # still "sv"
    assert current_language() == "en"
    save_settings(ctx.db, replace(get_settings(ctx.db), language="en"))
    assert w.stored_language == "en" and current_language() == "en"
    MainWindow.current = None
