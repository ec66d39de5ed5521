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
