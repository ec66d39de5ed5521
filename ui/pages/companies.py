"""The Companies page."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.i18n import _
from ui.context import AppContext


class Page(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        self.heading = QLabel(self.title())
        layout.addWidget(self.heading)
        layout.addStretch(1)

    @staticmethod
    def title() -> str:
        return _("Companies")

    def refresh(self) -> None:
        pass
