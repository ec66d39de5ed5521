"""The main window: navigation on the left, one page per area, a status bar."""

from __future__ import annotations

import importlib

from PySide6.QtWidgets import QHBoxLayout, QListWidget, QMainWindow, QStackedWidget, QWidget

from ui.context import AppContext
from ui.pages import PAGE_KEYS


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle("Kursdesk")
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for key in PAGE_KEYS:
            module = importlib.import_module(f"ui.pages.{key}")
            page = module.Page(ctx)
            self.pages[key] = page
            self.nav.addItem(page.title())
            self.stack.addWidget(page)
        self.nav.setFixedWidth(180)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage(str(ctx.db.path or ctx.db.url))
        self.nav.setCurrentRow(0)
        self.resize(1200, 800)

    def show_page(self, key: str) -> QWidget:
        self.nav.setCurrentRow(list(self.pages).index(key))
        return self.pages[key]
