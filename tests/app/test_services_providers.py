"""Providers (utbildningsanordnare)."""

import pytest

from app.errors import NotFound, ValidationError
from app.services.providers import (
    create_provider,
    delete_provider,
    list_providers,
    restore_provider,
    update_provider,
)


def test_create_list_and_update(db):
    nova = create_provider(db, "Nova", "2120000837")
    campus = create_provider(db, "  Campus   Västervik ")
    rows = list_providers(db)
    assert [(r.name, r.org_number) for r in rows] == [("Campus Västervik", ""), ("Nova", "212000-0837")]
    update_provider(db, nova, "Nova Oskarshamn", "")
    assert {r.id: r.name for r in list_providers(db)}[nova] == "Nova Oskarshamn"
    assert campus in {r.id for r in list_providers(db)}


def test_validation(db):
    create_provider(db, "Nova")
    with pytest.raises(ValidationError) as err:
        create_provider(db, "", "123")
    assert set(err.value.by_field) == {"name", "org_number"}
    with pytest.raises(ValidationError) as err:
        create_provider(db, "NOVA")
    assert err.value.by_field["name"] == "Det finns redan en utbildningsanordnare som heter NOVA."
    assert len(list_providers(db)) == 1


def test_soft_delete_and_restore(db):
    pid = create_provider(db, "Nova")
    delete_provider(db, pid)
    assert list_providers(db) == []
    restore_provider(db, pid)
    assert [r.id for r in list_providers(db)] == [pid]
    with pytest.raises(NotFound):
        delete_provider(db, "no-such-id")
