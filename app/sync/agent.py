"""One sync agent per server: `kursdesk sync` against a PostgreSQL database holds a session-level
advisory lock (app/concurrency.py SYNC_AGENT_KEY) for its whole run, on a connection of its own, so
a second agent (a scheduled job started twice, a colleague's) stops at once with one clear line
instead of tripping over the first one's batches. On SQLite, where one laptop's processes already
take turns through the write lock, nothing is held."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from app.concurrency import SYNC_AGENT_KEY
from app.errors import UserError
from app.i18n import _

log = logging.getLogger(__name__)


class SyncAgentRunning(UserError):
    def __init__(self) -> None:
        super().__init__(_("Another sync agent is already syncing this database; nothing was done. "
                           "It publishes and imports for everyone on the server: let it finish."))


@contextmanager
def sync_agent(db) -> Iterator[None]:
    """Held while a sync runs; SyncAgentRunning when another agent holds it."""
    if db.is_sqlite:
        yield
        return
    with db.engine.connect() as conn:
        held = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({SYNC_AGENT_KEY})").scalar()
        conn.commit()  # the lock belongs to the session, not to this little transaction
        if not held:
            raise SyncAgentRunning()
        try:
            yield
        finally:
            try:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({SYNC_AGENT_KEY})")
                conn.commit()
            except Exception:  # noqa: BLE001 - closing the session lets go of it anyway
                log.debug("sync agent lock: unlock failed; the connection is closed instead")
                conn.invalidate()
