"""Open, preview and print PDFs that app/documents wrote. reportlab stays the single source of
the layout: the preview renders the PDF (QtPdf), printing rasterises its pages at printer resolution."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QPushButton, QVBoxLayout, QWidget

from app.i18n import _


def open_pdf(path: Path, parent: QWidget | None = None) -> bool:
    """In the system's PDF viewer (which also prints with vector quality)."""
    ok = QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
    if not ok and parent is not None:
        QMessageBox.information(
            parent, "Kursdesk", _("No PDF viewer could be started. The file is saved as {path}").format(path=path)
        )
    return ok


def print_pdf(path: Path, parent: QWidget | None = None, *, printer: QPrinter | None = None, ask: bool = True) -> bool:
    """Print through the print dialog; returns False when the user cancels or nothing printed."""
    document = QPdfDocument()
    if document.load(str(path)) != QPdfDocument.Error.None_:
        return False
    printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
    if ask:
        dialog = QPrintDialog(printer, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
    dpi = min(printer.resolution(), 300)
    painter = QPainter()
    if not painter.begin(printer):
        return False
    try:
        for index in range(document.pageCount()):
            if index:
                printer.newPage()
            points = document.pagePointSize(index)
            size = QSize(int(points.width() / 72 * dpi), int(points.height() / 72 * dpi))
            image = document.render(index, size)
            fitted = size.scaled(painter.viewport().size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(QPointF(0, 0), image.scaled(fitted, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
    finally:
        painter.end()
    return True


class PdfPreviewDialog(QDialog):
    """The document as it will print, with Print and Open buttons."""

    def __init__(self, path: Path, parent: QWidget | None = None, title: str = ""):
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(title or self.path.name)
        self.document = QPdfDocument(self)
        self.document.load(str(self.path))
        self.view = QPdfView(self)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.setDocument(self.document)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        print_button = QPushButton(_("Print…"))
        open_button = QPushButton(_("Open in PDF viewer"))
        buttons.addButton(print_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(open_button, QDialogButtonBox.ButtonRole.ActionRole)
        print_button.clicked.connect(lambda: print_pdf(self.path, self))
        open_button.clicked.connect(lambda: open_pdf(self.path, self))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self.resize(800, 1000)

    def page_count(self) -> int:
        return self.document.pageCount()
