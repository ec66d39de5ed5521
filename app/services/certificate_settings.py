"""The certificate settings of this laptop's organisation (`certificates.*` in the settings
table): the verifier page's address, whether certificates of participation are offered, the
issuer's contact details printed on every certificate, and the organisation's texts in English."""

from __future__ import annotations

from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from sqlalchemy import select

from app.db import Database
from app.errors import Problem, ValidationError
from app.i18n import _
from app.models import Setting
from app.validation import FieldError, normalize_email, normalize_phone

PREFIX = "certificates."


@dataclass(frozen=True)
class CertificateSettings:
    verifier_url: str = ""  # where the organisation publishes the verifier page (empty: QR holds the statement alone)
    participation: bool = True  # the Certificates page offers certificates of participation (deltagarintyg)
    issuer_address: str = ""
    issuer_phone: str = ""
    issuer_email: str = ""
    issuer_web: str = ""
    organisation_name_en: str = ""  # empty: the Swedish name is printed on English certificates too
    programme_name_en: str = ""
    signatory_title_en: str = ""

    def contact_lines(self) -> str:
        """The issuer's contact details as printed: the address, then telephone, e-mail and web."""
        reach = "  ·  ".join(v for v in (self.issuer_phone, self.issuer_email, self.issuer_web) if v)
        return "\n".join(v for v in (self.issuer_address, reach) if v)


NAMES = tuple(PREFIX + f.name for f in fields(CertificateSettings))
#: the verifier page's address goes into every QR code (and the hint line): kept short
VERIFIER_URL_MAX = 60


def get_certificate_settings(db: Database) -> CertificateSettings:
    with db.read() as s:
        stored = dict(s.execute(select(Setting.key, Setting.value).where(Setting.key.in_(NAMES))).all())
    values = {}
    for f in fields(CertificateSettings):
        raw = stored.get(PREFIX + f.name)
        if raw is not None:
            values[f.name] = raw == "1" if f.type in (bool, "bool") else raw
    return CertificateSettings(**values)


def _web_address(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value if "://" in value else "https://" + value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise FieldError(field, _("{value} is not a web address (such as https://intyg.example.se/).").format(value=value))
    return parts.geturl()


def checked(settings: CertificateSettings) -> CertificateSettings:
    """The settings cleaned, or ValidationError listing every field that is wrong."""
    problems, values = [], {}
    checks = {"verifier_url": lambda v: _web_address("verifier_url", v), "issuer_web": lambda v: _web_address("issuer_web", v),
              "issuer_email": normalize_email, "issuer_phone": normalize_phone}
    for f in fields(CertificateSettings):
        value = getattr(settings, f.name)
        if isinstance(value, str):
            value = " ".join(value.split())
            try:
                value = checks.get(f.name, lambda v: v)(value)
            except FieldError as exc:
                problems.append(Problem(f.name, exc.message))
        values[f.name] = value
    if len(values["verifier_url"]) > VERIFIER_URL_MAX and not any(p.field == "verifier_url" for p in problems):
        problems.append(Problem("verifier_url", _(
            "The verifier page's address may be at most {n} characters long: it goes into every QR code."
        ).format(n=VERIFIER_URL_MAX)))
    if problems:
        raise ValidationError(problems)
    return CertificateSettings(**values)


def save_certificate_settings(db: Database, settings: CertificateSettings) -> CertificateSettings:
    settings = checked(settings)
    with db.write() as s:  # all or nothing
        for f in fields(CertificateSettings):
            value = getattr(settings, f.name)
            row = s.get(Setting, PREFIX + f.name) or Setting(key=PREFIX + f.name)
            row.value = ("1" if value else "0") if isinstance(value, bool) else value
            s.add(row)
    return settings
