"""This laptop's identity: a random id made once per database, and a short readable form of it
used where people read it (certificate numbers). Kept in the settings table, never synced."""

from __future__ import annotations

import uuid

from app.db import Database
from app.models import Setting

_KEY = "device_id"


def device_id(db: Database) -> str:
    with db.read() as s:
        row = s.get(Setting, _KEY)
        if row is not None:
            return row.value
    with db.write() as s:
        row = s.get(Setting, _KEY)
        if row is None:
            row = Setting(key=_KEY, value=str(uuid.uuid4()))
            s.add(row)
        return row.value


def device_short(db: Database) -> str:
    """Six upper-case characters from the device id, e.g. '7F3A9C': 16.7 million values, so two
    laptops of one programme practically never share one (certificate numbers rely on it)."""
    return device_id(db).replace("-", "")[:6].upper()
