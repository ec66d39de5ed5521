"""The folder file dialogs start in: the last one a file was opened from or saved to (kept in the
window settings, so it is the same for every page and the next start)."""

from __future__ import annotations

from pathlib import Path

KEY = "files/last_folder"


def last_folder() -> str:
    from ui.main_window import window_settings

    folder = window_settings().value(KEY, "")
    return folder if isinstance(folder, str) and folder and Path(folder).is_dir() else str(Path.home())


def in_last_folder(name: str) -> str:
    """A file name in the last folder (the start of a save dialog)."""
    return str(Path(last_folder()) / name)


def remember(path: str | Path) -> None:
    """Remember the folder of a file (or the folder) the user chose."""
    from ui.main_window import window_settings

    if not path:
        return
    chosen = Path(path)
    folder = chosen if chosen.is_dir() else chosen.parent
    settings = window_settings()
    settings.setValue(KEY, str(folder))
    settings.sync()
