"""The month's time reports as a use case: read what they show, draw them (app/documents/
time_report.py draws from that data only) and log them in the GDPR audit log (they carry full
personnummer)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from app.db import Database
from app.documents.time_report import TimeReports, build_time_reports
from app.progress import Progress
from app.services.reports import Month, month_hours, to_month
from app.services.settings import get_project_settings, get_settings


def time_report_data(db: Database, month: str | Month, participant_ids: Iterable[str] | None = None, *,
                     today: date | None = None) -> TimeReports:
    m = to_month(month)
    settings = get_settings(db)
    people = month_hours(db, m, participant_ids, rounding=settings.hours_rounding, today=today, with_dates=False)
    return TimeReports(m, settings, get_project_settings(db), people)


def write_time_reports(db: Database, month: str | Month, out_path: str | Path,
                       participant_ids: Iterable[str] | None = None, lang: str | None = None, *,
                       today: date | None = None, progress: Progress | None = None) -> int:
    """All monthly time reports of the month (or of the given participants) in one PDF; the
    number of participants. Nothing is written when the user cancels."""
    from app.gdpr import audit

    data = time_report_data(db, month, participant_ids, today=today)
    written = build_time_reports(data, out_path, lang, progress=progress)
    audit.record(db, "time-reports", written, data.month.key)  # full personnummer (GDPR audit log)
    return written
