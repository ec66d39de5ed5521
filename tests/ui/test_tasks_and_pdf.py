"""The background-task helper and the PDF open/preview/print helpers."""

import threading
from pathlib import Path

from pypdf import PdfReader
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QMessageBox

from app.documents.common import new_canvas
from app.errors import UserError
from ui import pdf as pdfmod
from ui.tasks import Cancelled, run_task


def _two_page_pdf(path: Path) -> Path:
    c = new_canvas(str(path), title="test")
    c.drawString(100, 700, "Sida ett – Åsa Öberg")
    c.showPage()
    c.drawString(100, 700, "Sida två")
    c.showPage()
    c.save()
    return path


def test_work_runs_off_the_ui_thread_and_result_arrives_on_it(qtbot):
    main = threading.get_ident()
    seen = {}

    def work(progress):
        seen["worker"] = threading.get_ident()
        for i in range(3):
            progress(i + 1, 3)
        return 42

    def done(result):
        seen["done"] = (result, threading.get_ident())

    handle = run_task(None, work, done, show_progress=False)
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert seen["worker"] != main
    assert seen["done"] == (42, main)


def test_cancel_stops_work_through_progress(qtbot):
    started = threading.Event()
    steps = []

    def work(progress):
        started.set()
        for i in range(1000):
            if not progress(i, 1000):
                raise Cancelled()
            steps.append(i)
            threading.Event().wait(0.002)
        return "finished"

    errors = []
    handle = run_task(None, work, on_error=errors.append, show_progress=False)
    started.wait(2)
    handle.cancel()
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert isinstance(errors[0], Cancelled)
    assert len(steps) < 1000


def test_user_error_is_shown_as_a_warning(qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))

    def work(progress):
        raise UserError("Kursen SVETS1 finns inte.")

    handle = run_task(None, work, show_progress=False)
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert shown == ["Kursen SVETS1 finns inte."]


def test_unexpected_error_shows_no_details(qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append(text))

    def work(progress):
        raise RuntimeError("secret 198112189876")

    handle = run_task(None, work, show_progress=False)
    qtbot.waitUntil(lambda: handle.done, timeout=3000)
    assert len(shown) == 1 and "198112189876" not in shown[0] and "RuntimeError" in shown[0]


def test_preview_shows_every_page(qtbot, tmp_path):
    path = _two_page_pdf(tmp_path / "a.pdf")
    dialog = pdfmod.PdfPreviewDialog(path)
    qtbot.addWidget(dialog)
    assert dialog.page_count() == 2


def test_open_pdf_asks_the_system_viewer(monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(pdfmod.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    path = _two_page_pdf(tmp_path / "b.pdf")
    assert pdfmod.open_pdf(path)
    assert opened == [str(path)]


def test_print_renders_every_page(qtbot, tmp_path):
    source = _two_page_pdf(tmp_path / "c.pdf")
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    assert pdfmod.print_pdf(source, printer=printer, ask=False)
    assert len(PdfReader(out).pages) == 2


def test_one_cancelled_a_cancelled_sync_or_import_shows_nothing(qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from app.interchange.participant_list import ImportCancelled
    from app.progress import Cancelled as CoreCancelled
    from app.sync import Cancelled as SyncCancelled
    from ui.tasks import show_error

    assert SyncCancelled is CoreCancelled is Cancelled and ImportCancelled is Cancelled
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a))
    show_error(None, SyncCancelled())  # was "Something went wrong (Cancelled)"
    assert shown == []
