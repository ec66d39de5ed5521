"""Every path the application uses, from one place (platformdirs), with one override for tests:
KURSDESK_HOME puts data, config, logs and backups under one folder."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

import platformdirs

APP_NAME = "Kursdesk"
APP_AUTHOR = "Kompetenslyft"


def source_root() -> Path:
    """The folder holding resources/ and translations/: the checkout, or the bundle when frozen."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parent.parent


RESOURCES = source_root() / "resources"
FONTS = RESOURCES / "fonts"
TRANSLATIONS = source_root() / "translations"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _home() -> Path | None:
    home = os.environ.get("KURSDESK_HOME")
    return Path(home) if home else None


def private_dir(path: Path) -> Path:
    """mkdir -p with owner-only permissions (POSIX; on Windows the per-user profile already is)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
    return path


def _dir(kind: str, create: bool = True) -> Path:
    home = _home()
    if home is not None:
        path = home / kind
    else:
        path = Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, APP_AUTHOR))
    return private_dir(path) if create else path


def data_dir(create: bool = True) -> Path:
    return _dir("data", create)


def config_dir() -> Path:
    return _dir("config")


def log_dir() -> Path:
    return _dir("log")


def cache_dir() -> Path:
    """The per-user cache folder (platformdirs user_cache_dir), owner-only."""
    return _dir("cache")


def preview_dir() -> Path:
    """Where the window writes the PDFs it previews (sign-in sheets, certificates): owner-only,
    emptied when the window closes and when it starts (ui/previews.py)."""
    return private_dir(cache_dir() / "previews")


def backup_dir(create: bool = True) -> Path:
    path = data_dir(create) / "backups"
    return private_dir(path) if create else path


def default_db_path() -> Path:
    return data_dir() / "kursdesk.db"


@lru_cache(maxsize=1)
def version() -> str:
    from app import __version__

    return __version__


# --- the database server (Settings > Database server; no password: that is in the credential store)

SERVER_FILE = "server.json"
SERVER_FIELDS = ("host", "port", "database", "user", "sslmode")


def server_settings() -> dict[str, str]:
    """The connection dialog's fields as saved; empty when Kursdesk works on its own file."""
    import json

    path = config_dir() / SERVER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(data.get(k, "") or "") for k in SERVER_FIELDS}


def save_server_settings(values: dict[str, str] | None) -> None:
    """Save the connection dialog's fields (None: back to the local database file)."""
    import json

    from app.interchange.files import atomic_file

    path = config_dir() / SERVER_FILE
    if not values:
        path.unlink(missing_ok=True)
        return
    with atomic_file(path, "config") as tmp:
        tmp.write_text(json.dumps({k: str(values.get(k, "") or "") for k in SERVER_FIELDS}, indent=1), encoding="utf-8")


def server_url() -> str:
    """The saved server as a postgresql:// URL, or "" when none is saved."""
    values = server_settings()
    if not values.get("host") and not values.get("database"):
        return ""
    from app.server import connection_settings_url

    return connection_settings_url(values["host"], values["port"], values["database"], values["user"], values["sslmode"])
