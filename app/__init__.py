"""Kursdesk core: domain, storage, documents, interchange and sync. Never imports PySide6."""

__version__ = "0.1.0"
