"""The organisation's settings, kept in the database: used on documents and in the window."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from sqlalchemy import select

from app.db import Database
from app.errors import Problem, ValidationError
from app.i18n import LANGUAGES, _
from app.models import Setting


@dataclass(frozen=True)
class OrganisationSettings:
    organisation_name: str = "Campus Västervik"
    programme_name: str = "Kompetenslyft Kalmar län"
    place: str = "Västervik"
    signatory_name: str = ""
    signatory_title: str = ""
    logo_path: str = ""  # a PNG or JPEG on this laptop
    default_min_attendance: int = 80
    language: str = "sv"
    # monthly time report rounding: 'exact' (hours with decimals) or 'floor' (whole hours, down)
    hours_rounding: str = "exact"


_KEY = "organisation"


def get_settings(db: Database) -> OrganisationSettings:
    with db.read() as s:
        row = s.get(Setting, _KEY)
    if row is None or not row.value:
        return OrganisationSettings()
    stored = json.loads(row.value)
    known = {f.name for f in fields(OrganisationSettings)}
    return OrganisationSettings(**{k: v for k, v in stored.items() if k in known})


def save_settings(db: Database, settings: OrganisationSettings) -> OrganisationSettings:
    problems = []
    if not settings.organisation_name.strip():
        problems.append(Problem("organisation_name", _("The organisation's name is required.")))
    if not 0 <= int(settings.default_min_attendance) <= 100:
        problems.append(Problem("default_min_attendance", _("Enter a percentage between 0 and 100.")))
    if settings.language not in LANGUAGES:
        problems.append(Problem("language", _("Unknown language.")))
    if settings.hours_rounding not in ("exact", "floor"):
        problems.append(Problem("hours_rounding", _("Unknown rounding rule.")))
    if problems:
        raise ValidationError(problems)
    with db.write() as s:
        row = s.get(Setting, _KEY) or Setting(key=_KEY)
        row.value = json.dumps(asdict(settings), ensure_ascii=False)
        s.add(row)
    return settings


def get_value(db: Database, key: str, default: str = "") -> str:
    with db.read() as s:
        row = s.execute(select(Setting).where(Setting.key == key)).scalar_one_or_none()
    return row.value if row is not None else default


def set_value(db: Database, key: str, value: str) -> None:
    with db.write() as s:
        row = s.get(Setting, key) or Setting(key=key)
        row.value = value
        s.add(row)
