"""A look into a database file before it is opened, with the standard library's sqlite3 only.

The window is on screen before SQLAlchemy, the models and sync capture are loaded (more than half
a second): ui/app.py reads here what the window shows at once (its language, whether it is the
demo database) and opens the database itself after the first paint. That is only right for a
file already at this program's schema: anything else (no file yet, a migration due, a newer
Kursdesk's schema, a server) gives None, and the database is opened first, as before.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.migrations import HEAD

# the keys of app/services/settings.py (_KEY) and app/demo.py (DEMO_KEY); a test keeps them equal
ORGANISATION_KEY = "organisation"
DEMO_KEY = "demo_database"


def file_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a database file (app/db.py make_url uses it)."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


@dataclass(frozen=True)
class StartFacts:
    path: Path
    language: str  # "" when the organisation's settings do not name one
    demo: bool


def peek(path_or_url: str | Path) -> StartFacts | None:
    """What the window shows before the database at `path_or_url` is opened, or None when it must
    be opened first (see above)."""
    if "://" in str(path_or_url):
        return None
    path = Path(file_url(path_or_url).removeprefix("sqlite:///"))
    if not path.is_file():
        return None
    try:
        # read-only: this look must never create or change anything
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if revision is None or revision[0] != HEAD:
            return None
        values = dict(conn.execute("SELECT key, value FROM settings WHERE key IN (?, ?)", (ORGANISATION_KEY, DEMO_KEY)))
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    try:
        stored = json.loads(values.get(ORGANISATION_KEY) or "{}")
    except ValueError:
        return None
    language = stored.get("language", "") if isinstance(stored, dict) else ""
    return StartFacts(path=path, language=language if isinstance(language, str) else "", demo=values.get(DEMO_KEY) == "1")
