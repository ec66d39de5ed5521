"""File dialogs start in the last folder a file was saved to or opened from, on every page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ui import folders


def test_the_last_folder_is_remembered_and_a_save_dialog_starts_there(qtbot, db, tmp_path, monkeypatch):
    from ui.context import AppContext
    from ui.pages.reports import Page

    assert folders.last_folder() == str(Path.home())  # nothing chosen yet
    page = Page(AppContext(db))
    qtbot.addWidget(page)
    reports = tmp_path / "rapporter"
    reports.mkdir()
    starts = []

    def save_dialog(parent, caption, start, pattern):
        starts.append(start)
        return str(reports / "summering.xlsx"), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    assert page._ask_path("Spara", "a.xlsx", "*.xlsx") == reports / "summering.xlsx"
    assert starts == [str(Path.home() / "a.xlsx")]
    assert folders.last_folder() == str(reports)  # remembered, for the next dialog anywhere
    page._ask_path("Spara", "b.pdf", "*.pdf")
    assert starts[-1] == str(reports / "b.pdf")
