"""Writing a file the user named, safely: a temporary file next to the target (owner-only, 0600),
renamed over the target only when complete; removed on every failure (an exception, Ctrl+C).
A temporary file left behind by a killed run (its name `.kursdesk-<kind>-*.tmp`, untouched for
STALE_SECONDS) is removed the next time a file is written to that folder.

    with atomic_file(target, "export") as tmp:   # a Path; write it, close it
        ...
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.errors import UserError
from app.i18n import _

PREFIX = ".kursdesk-"
SUFFIX = ".tmp"
STALE_SECONDS = 5 * 60

# errno -> what the user is told (the environment's fault, not Kursdesk's)
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "disk full",
    errno.EROFS: "read-only",
    errno.EACCES: "no permission",
}
if hasattr(errno, "EDQUOT"):
    _ENVIRONMENT_ERRORS[errno.EDQUOT] = "disk full"


def environment_message(exc: OSError, path: str | os.PathLike) -> str | None:
    """A translated line for an OSError that is the environment's doing (a full or read-only disk,
    no permission), else None."""
    kind = _ENVIRONMENT_ERRORS.get(exc.errno or 0)
    if kind == "disk full":
        return _("Cannot write {file}: the disk is full (or your quota is used up).").format(file=path)
    if kind == "read-only":
        return _("Cannot write {file}: the disk or folder is read-only.").format(file=path)
    if kind == "no permission":
        return _("Cannot use {file}: you do not have permission (to read or write it there).").format(file=path)
    return None


def write_error(exc: OSError, path: str | os.PathLike) -> UserError:
    """The UserError to raise for an OSError while writing `path`."""
    message = environment_message(exc, path)
    if message is None:
        message = _("Cannot write {file}: {reason}. Nothing was written.").format(
            file=path, reason=exc.strerror or type(exc).__name__
        )
    return UserError(message)


def remove_stale(folder: Path, now: float | None = None) -> int:
    """Remove Kursdesk's temporary files in `folder` untouched for STALE_SECONDS; how many."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                continue
            os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    return removed


def _temporary(folder: Path, kind: str, suffix: str) -> Path:
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{kind}-", suffix=suffix + SUFFIX, dir=folder)  # mode 0600
    os.close(fd)
    return Path(name)


@contextmanager
def atomic_file(target: str | os.PathLike, kind: str, *, make_folder: bool = False) -> Iterator[Path]:
    """A temporary path next to `target`; renamed over it when the block ends without an exception,
    removed otherwise. OSErrors become UserErrors that name the target."""
    target = Path(target)
    folder = target.resolve().parent
    if make_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, target) from None
    if not folder.is_dir():
        raise UserError(_("The folder {folder} does not exist.").format(folder=folder))
    remove_stale(folder)
    try:
        tmp = _temporary(folder, kind, target.suffix)
    except OSError as exc:
        raise write_error(exc, target) from None
    try:
        try:
            yield tmp
            os.replace(tmp, target)
        except OSError as exc:
            raise write_error(exc, target) from None
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise
