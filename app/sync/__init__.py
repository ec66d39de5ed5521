"""Sync through the shared network folder (DESIGN section 8).

Public API: `sync(db, folder, key_file=None, progress=None, confirm_mass_delete=False) -> SyncReport`,
`setup_folder(folder, key_out)`, and for the Sync page the functions in app.sync.status.
"""

from __future__ import annotations

from typing import Any

__all__ = ["sync", "setup_folder", "SyncReport", "PartnerReport", "Cancelled"]


def __getattr__(name: str) -> Any:
    """The engine (and cryptography, the folder layout) load on first use, not with
    `app.sync.capture`, which every opener of the database imports."""
    if name in __all__:
        from app.sync import engine

        return getattr(engine, name)
    raise AttributeError(name)
