"""Settings, kept in the database: used on documents and in the window.

Two kinds:

- the organisation's (OrganisationSettings): this laptop's name, logo, signatory, language, ...;
  local (the `settings` table is not synced);
- the ESF project's (ProjectSettings): case number, project name, unit cost, project dates and the
  form of the time report. They decide the funder's figures, so they must not differ between
  laptops: each is a synced record (models.ProjectSetting, one per key, newest value wins, a
  concurrent edit lands in the sync conflict list), and the funder's documents print them.

SETTINGS is the registry of named settings behind `kursdesk settings` (one entry per setting:
name, label, where it is kept, how text is read and shown).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.concurrency import check_version
from app.db import Database
from app.errors import Problem, UserError, ValidationError
from app.i18n import LANGUAGES, N_, _
from app.models import ProjectSetting, Setting, project_setting_id
from app.validation import FieldError, parse_date


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
    value = get_value(db, _KEY)
    if not value:
        return OrganisationSettings()
    stored = json.loads(value)
    known = {f.name for f in fields(OrganisationSettings)}
    return OrganisationSettings(**{k: v for k, v in stored.items() if k in known})


def save_settings(db: Database, settings: OrganisationSettings) -> OrganisationSettings:
    problems = _organisation_problems(settings)
    if problems:
        raise ValidationError(problems)
    with db.write() as s:
        row = s.get(Setting, _KEY) or Setting(key=_KEY)
        stored = json.loads(row.value) if row.value else {}
        stored.update(asdict(settings))  # keeps keys this version does not know
        row.value = json.dumps(stored, ensure_ascii=False)
        s.add(row)
    return settings


def _organisation_problems(settings: OrganisationSettings) -> list[Problem]:
    problems = []
    if not settings.organisation_name.strip():
        problems.append(Problem("organisation_name", _("The organisation's name is required.")))
    if not 0 <= int(settings.default_min_attendance) <= 100:
        problems.append(Problem("default_min_attendance", _("Enter a percentage between 0 and 100.")))
    if settings.language not in LANGUAGES:
        problems.append(Problem("language", _("Unknown language.")))
    if settings.hours_rounding not in ("exact", "floor"):
        problems.append(Problem("hours_rounding", _("Unknown rounding rule.")))
    return problems


def get_value(db: Database, key: str, default: str = "") -> str:
    # through the table, not the mapped class: the window reads its language and title with
    # this before it is shown, before the ORM's mappers are configured (a good part of a second)
    table = Setting.__table__
    with db.read() as s:
        value = s.execute(select(table.c.value).where(table.c.key == key)).scalar_one_or_none()
    return value if value is not None else default


def set_value(db: Database, key: str, value: str) -> None:
    with db.write() as s:
        row = s.get(Setting, key) or Setting(key=key)
        row.value = value
        s.add(row)


# --- the ESF project's settings (synced) ------------------------------------------------------

TIME_REPORT_LAYOUTS = ("lines", "grid")  # a line per date and course / ESF's day grid
TIME_REPORT_FOOTERS = ("originals", "none")  # "only the signed original" / none (e-mail verification)


@dataclass(frozen=True)
class ProjectSettings:
    case_number: str = ""  # ESF's diarienummer / ärende-id
    project_name: str = ""
    unit_cost: Decimal | None = None  # SEK per hour, Lönegrupp 1
    project_start: date | None = None
    project_end: date | None = None
    time_report_layout: str = "lines"
    time_report_footer: str = "originals"


def _text_value(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = " ".join(str(text or "").split())
        if len(value) > limit:
            raise FieldError("", _("Use at most {count} characters.").format(count=limit))
        return value

    return parse


def parse_unit_cost(text: str) -> Decimal | None:
    """'291,47' or '291.47' (SEK per hour, more than 0, at most two decimals); '' = not set."""
    value = str(text or "").strip().replace(" ", "").replace("\u00a0", "")
    if not value:
        return None
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount >= 100_000 or amount != amount.quantize(Decimal("0.01")):
        raise FieldError("unit_cost", _("Enter the unit cost in SEK per hour, more than 0 with at most two decimals, e.g. 291,47."))
    return amount.quantize(Decimal("0.01"))


def _optional_date(text: str) -> date | None:
    value = str(text or "").strip()
    return parse_date(value) if value else None


def _choice(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = str(text or "").strip()
        if value not in allowed:
            raise FieldError("", _("Use one of: {choices}.").format(choices=", ".join(allowed)))
        return value

    return parse


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_PROJECT_PARSERS: dict[str, Callable[[str], Any]] = {
    "case_number": _text_value(40),
    "project_name": _text_value(200),
    "unit_cost": parse_unit_cost,
    "project_start": _optional_date,
    "project_end": _optional_date,
    "time_report_layout": _choice(TIME_REPORT_LAYOUTS),
    "time_report_footer": _choice(TIME_REPORT_FOOTERS),
}


def _project_key(attr: str) -> str:
    """The stored key of a project setting: its name in the registry (SETTINGS, below)."""
    return next(spec.name for spec in SETTINGS if spec.scope == "project" and spec.attr == attr)


@dataclass(frozen=True)
class _StoredProject:
    """The project's settings as one record for check_version: the sum of their records' versions
    (every write of one of them, a save, a sync or a delete, moves one record's version on, so the
    sum moves on with any of them) and who wrote the newest."""

    settings: ProjectSettings
    version: int
    changed_by: str
    id: str = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.settings, name)


def get_project_settings(db: Database) -> ProjectSettings:
    return opened_project_settings(db)[0]


def opened_project_settings(db: Database) -> tuple[ProjectSettings, int]:
    """The project's settings and their version (for a form: save_project_settings' `version`),
    read in one transaction."""
    with db.read() as s:
        stored = _stored_project(s)
    return stored.settings, stored.version


def _stored_project(s) -> _StoredProject:
    rows = s.execute(select(ProjectSetting.key, ProjectSetting.value, ProjectSetting.deleted_at, ProjectSetting.version,
                            ProjectSetting.changed_by).order_by(ProjectSetting.updated_at))
    stored, version, writer = {}, 0, ""
    for key, value, deleted_at, row_version, changed_by in rows:
        version, writer = version + row_version, changed_by
        if deleted_at is None:
            stored[key] = value
    values = {}
    for attr, parse in _PROJECT_PARSERS.items():
        text = stored.get(_project_key(attr))
        if text is None:
            continue
        try:
            values[attr] = parse(text)
        except FieldError:
            continue  # a value a newer laptop wrote that this one cannot read: the default
    return _StoredProject(ProjectSettings(**values), version, writer)


def project_problems(settings: ProjectSettings) -> list[Problem]:
    problems = []
    for attr, parse in _PROJECT_PARSERS.items():
        try:
            parse(_show(getattr(settings, attr)))
        except FieldError as exc:
            problems.append(Problem(attr, exc.message))
    if settings.project_start and settings.project_end and settings.project_end < settings.project_start:
        problems.append(Problem("project_end", _("The project ends before it starts.")))
    return problems


def parse_project(texts: dict[str, str]) -> ProjectSettings:
    """ProjectSettings from a form's text (every problem at once, by field, as ValidationError)."""
    values, problems = {}, []
    for attr, parse in _PROJECT_PARSERS.items():
        if attr in texts:
            try:
                values[attr] = parse(texts[attr])
            except FieldError as exc:
                problems.append(Problem(attr, exc.message))
    if problems:
        raise ValidationError(problems)
    return ProjectSettings(**values)


def save_project_settings(db: Database, settings: ProjectSettings, version: int | None = None) -> ProjectSettings:
    """Store the project's settings (synced records; only changed values are written). `version`
    (opened_project_settings'): StaleEdit when a colleague saved other values since."""
    problems = project_problems(settings)
    if problems:
        raise ValidationError(problems)
    with db.write() as s:
        if version is not None:
            check_version(_stored_project(s), version, {attr: getattr(settings, attr) for attr in _PROJECT_PARSERS},
                          "project_settings")
        for attr in _PROJECT_PARSERS:
            key = _project_key(attr)
            text = _show(getattr(settings, attr))
            row = s.get(ProjectSetting, project_setting_id(key))
            if row is None:
                s.add(ProjectSetting(id=project_setting_id(key), key=key, value=text))
            elif row.value != text or row.deleted_at is not None:
                row.value, row.deleted_at = text, None
    return settings


# --- the registry of named settings (kursdesk settings) -------------------------------------------


@dataclass(frozen=True)
class SettingSpec:
    """One named setting: `attr` of OrganisationSettings (scope 'organisation', this laptop) or of
    ProjectSettings (scope 'project', synced); `parse` reads the command line's text (FieldError
    with the reason), `show` writes the value back as text."""

    name: str
    label: str
    scope: str
    attr: str
    parse: Callable[[str], Any]
    show: Callable[[Any], str] = _show


def _percent(text: str) -> int:
    try:
        value = int(str(text).strip().rstrip("%").strip())
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise FieldError("", _("Enter a percentage between 0 and 100."))
    return value


def _unit_cost_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("esf.case_number", N_("ESF case number (diarienummer)"), "project", "case_number", _PROJECT_PARSERS["case_number"]),
    SettingSpec("esf.project_name", N_("Project name"), "project", "project_name", _PROJECT_PARSERS["project_name"]),
    SettingSpec("esf.unit_cost", N_("Unit cost per hour (SEK, Lönegrupp 1)"), "project", "unit_cost", parse_unit_cost, _unit_cost_text),
    SettingSpec("esf.project_start", N_("Project start"), "project", "project_start", _optional_date),
    SettingSpec("esf.project_end", N_("Project end"), "project", "project_end", _optional_date),
    SettingSpec("report.time_layout", N_("Time report layout (lines or grid)"), "project", "time_report_layout", _PROJECT_PARSERS["time_report_layout"]),
    SettingSpec("report.time_footer", N_("Time report footer (originals or none)"), "project", "time_report_footer", _PROJECT_PARSERS["time_report_footer"]),
    SettingSpec("report.rounding", N_("Hours in the time report (exact or floor)"), "organisation", "hours_rounding", _choice(("exact", "floor"))),
    SettingSpec("organisation.name", N_("Organisation"), "organisation", "organisation_name", _text_value(200)),
    SettingSpec("organisation.programme", N_("Programme"), "organisation", "programme_name", _text_value(200)),
    SettingSpec("organisation.place", N_("Place (on documents)"), "organisation", "place", _text_value(100)),
    SettingSpec("organisation.signatory_name", N_("Signatory's name"), "organisation", "signatory_name", _text_value(200)),
    SettingSpec("organisation.signatory_title", N_("Signatory's title"), "organisation", "signatory_title", _text_value(200)),
    SettingSpec("organisation.logo", N_("Logo"), "organisation", "logo_path", lambda text: str(text or "").strip()),
    SettingSpec("attendance.min_percent", N_("Default minimum attendance"), "organisation", "default_min_attendance", _percent),
    SettingSpec("language", N_("Language"), "organisation", "language", _choice(LANGUAGES)),
)


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise FieldError("", _("Enter a whole number between {low} and {high}.").format(low=low, high=high))
        return value

    return parse


def _yes_no(text: str) -> bool:
    value = str(text).strip().casefold()
    if value in ("1", "yes", "ja", "true", "on"):
        return True
    if value in ("0", "no", "nej", "false", "off"):
        return False
    raise FieldError("", _("Use 1 (yes) or 0 (no)."))


def _long_text(text: str) -> str:
    """A text of several lines (a notice): as given, `\\n` on the command line for a new line."""
    value = str(text or "").replace("\\n", "\n").strip()
    if len(value) > 8000:
        raise FieldError("", _("Use at most {count} characters.").format(count=8000))
    return value


def _one_line(value: Any) -> str:
    return _show(value).replace("\n", "\\n")


@dataclass(frozen=True)
class SyncSettings:
    inactive_days: int = 90  # a laptop silent this long no longer holds the shared folder's history back


def get_sync_settings(db: Database) -> SyncSettings:
    text = get_value(db, "sync.inactive_days")
    return SyncSettings(int(text)) if text.isdigit() and int(text) > 0 else SyncSettings()


def save_sync_settings(db: Database, settings: SyncSettings) -> None:
    set_value(db, "sync.inactive_days", str(int(settings.inactive_days)))


SETTINGS += (
    SettingSpec("gdpr.controller", N_("Controller (personuppgiftsansvarig)"), "gdpr", "controller", _text_value(200)),
    SettingSpec("gdpr.retention_until", N_("Kept until (retention date from the grant decision)"), "gdpr", "retention_until",
                _optional_date),
    SettingSpec("gdpr.nonparticipant_months", N_("Months kept for people who never took part"), "gdpr",
                "nonparticipant_months", _int_between(1, 120)),
    SettingSpec("gdpr.notice_sv", N_("Information notice in Swedish (empty: the built-in text)"), "gdpr", "notice_sv",
                _long_text, _one_line),
    SettingSpec("gdpr.notice_en", N_("Information notice in English (empty: the built-in text)"), "gdpr", "notice_en",
                _long_text, _one_line),
    SettingSpec("certificates.verifier_url", N_("Verifier page's address (in every QR code)"), "certificates",
                "verifier_url", _text_value(200)),
    SettingSpec("certificates.participation", N_("Offer certificates of participation (1 or 0)"), "certificates",
                "participation", _yes_no, lambda v: "1" if v else "0"),
    SettingSpec("certificates.issuer_address", N_("Issuer's address"), "certificates", "issuer_address", _text_value(200)),
    SettingSpec("certificates.issuer_phone", N_("Issuer's telephone"), "certificates", "issuer_phone", _text_value(40)),
    SettingSpec("certificates.issuer_email", N_("Issuer's e-mail"), "certificates", "issuer_email", _text_value(200)),
    SettingSpec("certificates.issuer_web", N_("Issuer's web address"), "certificates", "issuer_web", _text_value(200)),
    SettingSpec("certificates.organisation_name_en", N_("Organisation's name in English"), "certificates",
                "organisation_name_en", _text_value(200)),
    SettingSpec("certificates.programme_name_en", N_("Programme's name in English"), "certificates", "programme_name_en",
                _text_value(200)),
    SettingSpec("certificates.signatory_title_en", N_("Signatory's title in English"), "certificates", "signatory_title_en",
                _text_value(200)),
    SettingSpec("sync.inactive_days", N_("Days without sync before a laptop no longer holds the history back"), "sync",
                "inactive_days", _int_between(1, 3650)),
)
BY_NAME = {spec.name: spec for spec in SETTINGS}


def _scopes() -> dict[str, tuple[Callable[[Database], Any], Callable[[Database, Any], Any]]]:
    """Where each scope's settings are read and saved (the data protection and certificate settings
    live beside their features, which import this module)."""
    from app.gdpr.settings import get_gdpr_settings, save_gdpr_settings
    from app.services.certificate_settings import get_certificate_settings, save_certificate_settings

    return {
        "organisation": (get_settings, save_settings),
        "project": (get_project_settings, save_project_settings),
        "gdpr": (get_gdpr_settings, save_gdpr_settings),
        "certificates": (get_certificate_settings, save_certificate_settings),
        "sync": (get_sync_settings, save_sync_settings),
    }


def setting_values(db: Database) -> list[tuple[SettingSpec, str]]:
    """Every named setting with its value as text, in the registry's order."""
    current = {scope: get(db) for scope, (get, _save) in _scopes().items()}
    return [(spec, spec.show(getattr(current[spec.scope], spec.attr))) for spec in SETTINGS]


def set_setting(db: Database, name: str, text: str) -> str:
    """Set one named setting from text; UserError (one line, the reason) when the name is unknown
    or the value is refused. Returns the value as stored, as text."""
    spec = BY_NAME.get(name)
    if spec is None:
        raise UserError(_("Unknown setting {name}: `kursdesk settings` lists them.").format(name=name))
    try:
        value = spec.parse(text)
    except FieldError as exc:
        raise UserError(_("{name}: {reason}").format(name=name, reason=exc.message)) from None
    try:
        get, save = _scopes()[spec.scope]
        save(db, replace(get(db), **{spec.attr: value}))
    except ValidationError as exc:
        raise UserError(_("{name}: {reason}").format(name=name, reason=exc.problems[0].message)) from None
    return spec.show(value)
