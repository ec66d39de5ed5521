"""Logging to a rotating file in the platform's log folder. Lines name record ids and counts,
never names, personnummer or e-mail addresses; CR/LF in messages are neutralised."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from app import config


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        head, sep, tail = line.partition("\nTraceback")
        return head.replace("\r", "\\r").replace("\n", "\\n") + (sep + tail if sep else "")


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_kursdesk", False) for h in root.handlers):
        return
    handler = RotatingFileHandler(config.log_dir() / "kursdesk.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(_OneLine("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._kursdesk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
