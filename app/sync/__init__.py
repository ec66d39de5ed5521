"""Sync through the shared network folder (DESIGN section 8).

Public API: `sync(db, folder, key_file=None, progress=None, confirm_mass_delete=False) -> SyncReport`,
`setup_folder(folder, key_out)`, and for the Sync page the functions in app.sync.status.
"""

from __future__ import annotations

from app.sync.engine import Cancelled, PartnerReport, SyncReport, setup_folder, sync

__all__ = ["sync", "setup_folder", "SyncReport", "PartnerReport", "Cancelled"]
