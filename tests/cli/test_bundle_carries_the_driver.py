"""The installed program connects to PostgreSQL: psycopg 3 (with its compiled libpq), SQLAlchemy's
dialect and keyring's backends are in the bundle's hidden imports and import here."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import build_installer as plan

ROOT = Path(__file__).resolve().parents[2]


def test_the_postgresql_driver_and_the_credential_store_are_bundled_and_importable():
    needed = {"psycopg", "psycopg_binary", "sqlalchemy.dialects.postgresql.psycopg", "alembic.ddl.postgresql", "keyring.backends"}
    assert needed <= set(plan.HIDDEN_IMPORTS)
    for name in plan.HIDDEN_IMPORTS:
        importlib.import_module(name)
    assert not any(plan.keep_module(name) is False for name in ("app.server", "app.backup", "app.server_cli"))


def test_psycopg_and_keyring_are_runtime_dependencies():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert "psycopg[binary]>=3.1" in [d.split("#")[0].strip() for d in deps]
    assert any(d.startswith("keyring>=24") for d in deps)
