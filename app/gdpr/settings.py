"""The data protection settings, each a named value in the settings table (`gdpr.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.db import Database
from app.errors import Problem, ValidationError
from app.i18n import _
from app.services.settings import get_value, set_value

CONTROLLER = "gdpr.controller"  # the controller (personuppgiftsansvarig) named on extracts and notices
RETENTION_UNTIL = "gdpr.retention_until"  # YYYY-MM-DD from the grant decision (beslut om stöd); "" = not set
NONPARTICIPANT_MONTHS = "gdpr.nonparticipant_months"  # people who never took part are kept this long
NOTICE_SV = "gdpr.notice_sv"  # the information notice (Art. 14), "" = the built-in text
NOTICE_EN = "gdpr.notice_en"

KEYS = (CONTROLLER, RETENTION_UNTIL, NONPARTICIPANT_MONTHS, NOTICE_SV, NOTICE_EN)
DEFAULT_NONPARTICIPANT_MONTHS = 6


@dataclass(frozen=True)
class GdprSettings:
    controller: str = ""
    retention_until: date | None = None
    nonparticipant_months: int = DEFAULT_NONPARTICIPANT_MONTHS
    notice_sv: str = ""
    notice_en: str = ""


def get_gdpr_settings(db: Database) -> GdprSettings:
    until = get_value(db, RETENTION_UNTIL)
    months = get_value(db, NONPARTICIPANT_MONTHS)
    try:
        retention = date.fromisoformat(until) if until else None
    except ValueError:
        retention = None
    return GdprSettings(
        controller=get_value(db, CONTROLLER),
        retention_until=retention,
        nonparticipant_months=int(months) if months.isdigit() else DEFAULT_NONPARTICIPANT_MONTHS,
        notice_sv=get_value(db, NOTICE_SV),
        notice_en=get_value(db, NOTICE_EN),
    )


def save_gdpr_settings(db: Database, settings: GdprSettings) -> None:
    if not 0 < int(settings.nonparticipant_months) <= 120:
        raise ValidationError([Problem("nonparticipant_months", _("Enter a number of months between 1 and 120."))])
    values = {
        CONTROLLER: settings.controller.strip(),
        RETENTION_UNTIL: settings.retention_until.isoformat() if settings.retention_until else "",
        NONPARTICIPANT_MONTHS: str(int(settings.nonparticipant_months)),
        NOTICE_SV: settings.notice_sv.strip(),
        NOTICE_EN: settings.notice_en.strip(),
    }
    for key, value in values.items():
        set_value(db, key, value)
