"""The folder where the window writes the PDFs it previews, opens or prints (sign-in sheets,
certificates): under the per-user cache folder (app.config.preview_dir, owner-only), one
sub-folder per running window, removed when the window closes; at start the folders of windows
that are gone (crashed, killed) are removed too. A folder is in use while its QLockFile is
held (QLockFile notices a lock whose process is gone). Nothing is left in the system's temp folder.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from PySide6.QtCore import QLockFile

from app import config

log = logging.getLogger(__name__)

LOCK = ".in-use.lock"


def _lock(folder: Path) -> QLockFile:
    lock = QLockFile(str(folder / LOCK))
    lock.setStaleLockTime(0)  # stale only when its process is gone, never by age
    return lock


def clean_stale(root: Path) -> int:
    """Remove the preview folders under `root` that no running window holds; how many went."""
    removed = 0
    if not root.is_dir():
        return 0
    for child in root.iterdir():
        try:
            if child.is_dir():
                lock = _lock(child)
                if not lock.tryLock(0):
                    continue  # another window's
                lock.unlock()
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()
            removed += 1
        except OSError:
            log.debug("could not remove an old preview")
    return removed


class PreviewFolder:
    """This window's preview folder: `start()` cleans up after windows that are gone and makes
    it, `remove()` empties and removes it."""

    def __init__(self, root: Path | None = None):
        self.root = root or config.preview_dir()
        self.path: Path | None = None
        self._lock: QLockFile | None = None

    def start(self) -> Path:
        clean_stale(self.root)
        path = config.private_dir(self.root / uuid.uuid4().hex[:16])
        lock = _lock(path)
        lock.tryLock(0)
        self.path, self._lock = path, lock
        return path

    def remove(self) -> None:
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


_current: PreviewFolder | None = None


def folder() -> Path:
    """This window's preview folder (started on first use)."""
    global _current
    if _current is None or _current.path is None or _current.root != config.preview_dir() or not _current.path.is_dir():
        if _current is not None and _current.root != config.preview_dir():
            _current.remove()
        _current = PreviewFolder()
        _current.start()
    assert _current.path is not None
    return _current.path


def start() -> Path:
    """At the window's start: previews of windows that are gone go, this window gets its folder."""
    remove()
    return folder()


def remove() -> None:
    """At the window's close: its previews go."""
    global _current
    if _current is not None:
        _current.remove()
        _current = None
