"""Long work off the UI thread (the one background-task helper).

    run_task(parent, work, on_done, title=_("Issuing certificates"))

`work(progress)` runs in a worker thread and receives data, never widgets. It may call
`progress(done, total)`; that returns False once the user pressed Cancel, and the work should
then stop (raising `Cancelled`, or returning what it has). `on_done(result)` and `on_error(exc)`
run on the UI thread. A UserError is shown as a warning with its message; anything else as a
short error (details go to the log, without personal data).
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from app.errors import UserError
from app.i18n import _

log = logging.getLogger(__name__)

Progress = Callable[[int, int], bool]


class Cancelled(Exception):
    """Raised by work that stops because the user cancelled."""


class TaskHandle(QObject):
    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cancel = threading.Event()
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int) -> bool:
        self.progressed.emit(done, total)
        return not self._cancel.is_set()


class _Runner(QRunnable):
    def __init__(self, handle: TaskHandle, work: Callable[[Progress], Any]):
        super().__init__()
        self.handle = handle
        self.work = work

    def run(self) -> None:
        try:
            result = self.work(self.handle.report)
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread
            if not isinstance(exc, (UserError, Cancelled)):
                log.error("background task failed: %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
            self.handle.failed.emit(exc)
        else:
            self.handle.succeeded.emit(result)


_running: set[TaskHandle] = set()
_pool: QThreadPool | None = None


def running_tasks() -> int:
    return len(_running)


def _thread_pool() -> QThreadPool:
    """Our own pool: the global one stops taking work once an event loop has quit (smoke runs)."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(4)
    return _pool


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    if isinstance(exc, Cancelled):
        return
    if isinstance(exc, UserError):
        QMessageBox.warning(parent, "Kursdesk", str(exc))
    else:
        QMessageBox.critical(
            parent, "Kursdesk", _("Something went wrong ({kind}). Nothing was lost; details are in the log.").format(kind=type(exc).__name__)
        )


def run_task(
    parent: QWidget | None,
    work: Callable[[Progress], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    *,
    title: str = "",
    cancellable: bool = True,
    show_progress: bool = True,
) -> TaskHandle:
    handle = TaskHandle()
    dialog: QProgressDialog | None = None
    if show_progress:
        dialog = QProgressDialog(title or _("Working…"), _("Cancel") if cancellable else "", 0, 0, parent)
        dialog.setWindowTitle(title or "Kursdesk")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(400)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        if not cancellable:
            dialog.setCancelButton(None)
        dialog.canceled.connect(handle.cancel)

        def _progress(done: int, total: int) -> None:
            dialog.setMaximum(max(total, 0))
            dialog.setValue(done)

        handle.progressed.connect(_progress)

    def _finish() -> None:
        handle.done = True
        _running.discard(handle)
        if dialog is not None:
            dialog.close()
            dialog.deleteLater()

    def _ok(result: Any) -> None:
        handle.result = result
        _finish()
        if on_done is not None:
            on_done(result)

    def _failed(exc: BaseException) -> None:
        handle.error = exc
        _finish()
        (on_error or (lambda e: show_error(parent, e)))(exc)

    handle.succeeded.connect(_ok)
    handle.failed.connect(_failed)
    _running.add(handle)
    _thread_pool().start(_Runner(handle, work))
    return handle
