"""The audit log (GDPR Art. 32; research/esf-po1.md table d): every export of a document with full
personnummer (time reports, the summary, a register extract, the JSON bundle) and every erasure.
What, when, which laptop and user, how many people, and a detail such as the month: never a name,
personnummer or e-mail. Local to this laptop, never synced."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from app.db import Database
from app.i18n import N_
from app.models import AuditEntry, Setting, utcnow

# action codes and their labels
ACTIONS = {
    "time-reports": N_("Monthly time reports written"),
    "summary": N_("Monthly summary written"),
    "extract": N_("Register extract written"),
    "bundle-export": N_("JSON bundle exported"),
    "erasure": N_("Person erased"),
    "erasure-received": N_("Erasure received from a colleague"),
}
# what a free text may carry into the log: no personnummer-like digit runs, no e-mail addresses
_DIGITS = re.compile(r"\d[\d\s-]{8,}\d")
_EMAIL = re.compile(r"\S+@\S+")


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    action: str
    device: str
    user: str
    people: int
    detail: str

    @property
    def local_at(self) -> datetime:
        """`at` (stored in UTC) in this computer's time zone, for showing."""
        return self.at.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def _user() -> str:
    try:
        return getpass.getuser()[:100]
    except Exception:  # noqa: BLE001 - no login name (a service account): the log still counts
        return ""


def clean_detail(text: str) -> str:
    """A free text (a reason for an erasure) as the log keeps it: numbers and addresses removed."""
    return _EMAIL.sub("…", _DIGITS.sub("…", text)).strip()[:200]


def record_in(session, action: str, people: int, detail: str = "") -> None:
    """An entry, in the caller's transaction."""
    assert action in ACTIONS, action
    device = session.get(Setting, "device_id")
    session.add(AuditEntry(at=utcnow(), action=action, device=device.value if device else "", user=_user(),
                           people=people, detail=clean_detail(detail)))


def record(db: Database, action: str, people: int, detail: str = "") -> None:
    with db.write() as s:
        record_in(s, action, people, detail)


def entries(db: Database, limit: int | None = None) -> list[AuditRow]:
    """Newest first."""
    with db.read() as s:
        q = select(AuditEntry).order_by(AuditEntry.id.desc())
        if limit:
            q = q.limit(limit)
        return [AuditRow(e.id, e.at, e.action, e.device, e.user, e.people, e.detail) for e in s.scalars(q)]
