"""Several coordinators on one database at once (a PostgreSQL server, or processes on one laptop).

- Writes take turns: Database.write() takes WRITE_LOCK_KEY's transaction-level advisory lock on
  PostgreSQL as its first statement, as BEGIN IMMEDIATE does on SQLite, so what a write reads to
  decide on (an identity, free places, the next number) stays true until it commits.
- One sync agent per server: SYNC_AGENT_KEY, held for the whole `kursdesk sync` run.
- Records carry a version that every UPDATE moves on (models.Record.version); a form remembers the
  version it opened, and a save of a record changed since raises StaleEdit with both values of
  each field instead of overwriting a colleague's edit.
- Every written record names who wrote it (models.Record.changed_by, current_writer()).
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from app.errors import UserError
from app.i18n import _

log = logging.getLogger(__name__)

# pg_advisory locks are per database; the keys are Kursdesk's own (64-bit, arbitrary but fixed)
WRITE_LOCK_KEY = 0x4B_44_57_52  # "KDWR"
SYNC_AGENT_KEY = 0x4B_44_53_59  # "KDSY"
