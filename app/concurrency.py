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
from typing import Any
from weakref import WeakKeyDictionary

from app.errors import UserError
from app.i18n import _

log = logging.getLogger(__name__)

# pg_advisory locks are per database; the keys are Kursdesk's own (64-bit, arbitrary but fixed)
WRITE_LOCK_KEY = 0x4B_44_57_52  # "KDWR"
SYNC_AGENT_KEY = 0x4B_44_53_59  # "KDSY"
LOCK_TIMEOUT = "55P03"  # PostgreSQL's lock_not_available: the write lock was not free in time


# --- who writes --------------------------------------------------------------------------------

_roles: WeakKeyDictionary = WeakKeyDictionary()  # engine -> its PostgreSQL role


def laptop_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no user name in the environment (a service account)
        return ""


def current_writer(context) -> str:
    """Who writes (the column default of Record.changed_by, given the statement's execution
    context): the database role (current_user) on PostgreSQL, read once per engine; the laptop's
    user name on SQLite."""
    return writer_of(getattr(context, "root_connection", None))


def writer_of(connection) -> str:
    """Who writes through `connection` (a SQLAlchemy Connection, or None): see current_writer."""
    if connection is None or connection.dialect.name == "sqlite":
        return laptop_user()[:100]
    engine = connection.engine
    role = _roles.get(engine)
    if role is None:
        role = _roles[engine] = str(connection.exec_driver_sql("SELECT current_user").scalar() or "")[:100]
    return role


# --- record versions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldClash:
    """One field of a stale edit: the value in the form and the value saved since."""

    field: str
    mine: Any
    theirs: Any


class StaleEdit(UserError):
    """The record was saved by someone else (a colleague on the server, another window, a sync)
    after the form opened it, and the form's values differ from the saved ones in `clashes`:
    nothing was written. Saving again with `version` keeps the form's values."""

    def __init__(self, record_type: str, record_id: str, clashes: tuple[FieldClash, ...], version: int,
                 changed_by: str):
        self.record_type = record_type
        self.record_id = record_id
        self.clashes = clashes
        self.version = version
        self.changed_by = changed_by
        fields = ", ".join(c.field for c in clashes)
        who = changed_by or _("someone else")
        super().__init__(
            _("{who} saved this record after you opened it ({fields} differ); nothing was saved. "
              "Open it again to see their values.").format(who=who, fields=fields)
        )


def check_version(record, opened: int | None, values: dict[str, Any], record_type: str) -> None:
    """Inside the save's write transaction (so nobody saves in between): when `record` has moved
    on from the version the form `opened` and the form's `values` differ from the saved ones,
    raise StaleEdit. `opened` None: no check (a script or import that read no form)."""
    if opened is None or record.version == opened:
        return
    clashes = tuple(
        FieldClash(field, value, getattr(record, field))
        for field, value in values.items()
        if getattr(record, field) != value
    )
    if clashes:
        raise StaleEdit(record_type, record.id, clashes, record.version, record.changed_by)
