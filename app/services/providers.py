"""Utbildningsanordnare: the organisations that run courses."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.concurrency import check_version
from app.db import Database
from app.errors import NotFound
from app.i18n import _
from app.limits import check_into
from app.models import Provider, utcnow
from app.services._checks import Checker, alive, one_line, sort_key
from app.validation import normalize_org_number


@dataclass(frozen=True)
class ProviderRow:
    id: str
    name: str
    org_number: str
    version: int = 0  # what a form opened (update_provider's `version`)


def list_providers(db: Database) -> list[ProviderRow]:
    with db.read() as s:
        rows = s.execute(
            select(Provider.id, Provider.name, Provider.org_number, Provider.version)
            .where(alive(Provider))
        ).all()
    return sorted((ProviderRow(*row) for row in rows), key=lambda r: sort_key(r.name))


def _validated(s: Session, name: str, org_number: str, provider_id: str = "") -> tuple[str, str]:
    check = Checker("provider", provider_id)
    name = check.limit("name", check.required("name", name, _("Enter the provider's name.")), 200)
    org = ""
    if one_line(org_number):
        org = check.run(normalize_org_number, org_number) or ""
    check_into(check, "providers", {"name": name})  # first: PostgreSQL refuses a NUL even in a query
    if name and not check.has("name"):
        clash = s.execute(
            select(Provider.id).where(
                alive(Provider), func.lower(Provider.name) == name.lower(), Provider.id != provider_id
            )
        ).first()
        if clash is not None:
            check.add("name", _("There is already a provider named {name}.").format(name=name))
    check.done()
    return name, org


def create_provider(db: Database, name: str, org_number: str = "") -> str:
    with db.write() as s:
        name, org = _validated(s, name, org_number)
        provider = Provider(name=name, org_number=org)
        s.add(provider)
        s.flush()
        return provider.id


def update_provider(db: Database, provider_id: str, name: str, org_number: str = "", version: int | None = None) -> None:
    """`version` (ProviderRow.version): StaleEdit when a colleague saved other values since."""
    with db.write() as s:
        name, org = _validated(s, name, org_number, provider_id)
        provider = s.get(Provider, provider_id)
        if provider is None or provider.deleted_at is not None:
            raise NotFound(_("The provider was not found."))
        check_version(provider, version, {"name": name, "org_number": org}, "provider")
        if (provider.name, provider.org_number) != (name, org):
            provider.name, provider.org_number = name, org


def delete_provider(db: Database, provider_id: str) -> None:
    _set_deleted(db, provider_id, True)


def restore_provider(db: Database, provider_id: str) -> None:
    _set_deleted(db, provider_id, False)


def _set_deleted(db: Database, provider_id: str, deleted: bool) -> None:
    with db.write() as s:
        provider = s.get(Provider, provider_id)
        if provider is None:
            raise NotFound(_("The provider was not found."))
        provider.deleted_at = utcnow() if deleted else None
