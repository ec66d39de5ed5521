"""STAND-IN (branch gdpr) until the snapshot engineer's module (branch snapshots) replaces it:
only what an erasure needs, the mark that the next sync round must write a new snapshot."""

from __future__ import annotations

from app.models import Setting


def request_snapshot(session) -> None:
    """The next sync round writes a snapshot (setting `sync_snapshot_due` = "1"); in the caller's transaction."""
    row = session.get(Setting, "sync_snapshot_due") or Setting(key="sync_snapshot_due")
    row.value = "1"
    session.add(row)
