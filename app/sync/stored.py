"""Sync's own values in the settings table (clocks, snapshot numbers, device state), read and
written inside the caller's session."""

from __future__ import annotations

from app.models import Setting


def get_setting(s, key: str, default: str = "") -> str:
    row = s.get(Setting, key)
    return row.value if row is not None else default


def put_setting(s, key: str, value: str) -> None:
    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=value))
    else:
        row.value = value
