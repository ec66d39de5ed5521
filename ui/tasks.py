"""Work off the UI thread: one helper to read, one to write, on one task runner.

    run_read(page, query, show)                      # query() in a worker, show(result) on the UI thread
    run_read(panel, query, show, on_hidden=stale)    # ... cancelled when the panel is hidden
    run_write(page, db, work, on_done, title=...)    # work(progress) in the write worker
    run_task(parent, work, on_done, title=_("Issuing certificates"))   # what both are made of

`work(progress)` runs in a worker thread and receives data, never widgets. It may call
`progress(done, total)` (app/progress.py); that returns False once the user pressed Cancel, and
the work should then stop (raising `Cancelled`, or returning what it has). `on_done(result)` and `on_error(exc)`
run on the UI thread. A UserError is shown as a warning with its message; anything else as a
short error (details go to the log, without personal data); `Cancelled` shows nothing.

A read's handle can be cancelled (`handle.cancel()`): it stops at its next SQL statement, or
inside a long one on SQLite (app/progress.py `stopped_by`), and neither its result nor its failure
is handed on. A page that is hidden cancels its read (ui/pages/base.py): the worker gives up the
interpreter lock that the UI thread needs while the user works on another page, and the page
loads again when shown.

A write's commits are published as one ChangeSet with its initiator (the page, unless told
otherwise) through `AppContext.bus.changed`, before `on_done` runs, so the page that wrote can
leave out its own change while every other page learns of it.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget
from shiboken6 import isValid

from app.changes import initiated_by
from app.errors import UserError
from app.i18n import _
from app.progress import Cancelled, Progress, stopped_by

log = logging.getLogger(__name__)

__all__ = ["Cancelled", "Progress", "TaskHandle", "run_read", "run_task", "run_write", "running_tasks", "show_error"]


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
    def __init__(self, handle: TaskHandle, work: Callable[[Progress], Any], stoppable: bool = False):
        super().__init__()
        self.handle = handle
        self.work = work
        self.stoppable = stoppable

    def run(self) -> None:
        try:
            try:
                if self.stoppable:
                    with stopped_by(self.handle._cancel):
                        result = self.work(self.handle.report)
                else:
                    result = self.work(self.handle.report)
            except BaseException as exc:  # noqa: BLE001 - handed to the UI thread
                # a read stopped from outside, however it surfaced (Cancelled, SQLite's "interrupted")
                failure = Cancelled() if self.stoppable and self.handle.cancelled else exc
                if not isinstance(failure, (UserError, Cancelled)):
                    log.error("background task failed: %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
                self.handle.failed.emit(failure)
            else:
                self.handle.succeeded.emit(result)
        except RuntimeError:  # the handle went with its window (closed while this ran): nobody to tell
            pass


_running: set[TaskHandle] = set()
_pools: dict[str, QThreadPool] = {}


def running_tasks() -> int:
    return len(_running)


def _thread_pool(kind: str = "read") -> QThreadPool:
    """Our own pools (the global one stops taking work once an event loop has quit: smoke runs):
    four threads for reads, one for writes, so that writes run in the order they were started."""
    pool = _pools.get(kind)
    if pool is None:
        pool = _pools[kind] = QThreadPool()
        pool.setMaxThreadCount(4 if kind == "read" else 1)
    return pool


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    if isinstance(exc, Cancelled):
        return
    from app.server import failure_message

    server_line = None if isinstance(exc, UserError) else failure_message(exc)  # a server: what to do
    if isinstance(exc, UserError) or server_line is not None:
        QMessageBox.warning(parent, "Kursdesk", server_line or str(exc))
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
    pool: str = "read",
    stoppable: bool = False,
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

    def _finish() -> bool:
        """Done; False when the parent widget went away meanwhile (then nobody is told)."""
        handle.done = True
        _running.discard(handle)
        if dialog is not None and isValid(dialog):
            dialog.close()
            dialog.deleteLater()
        return parent is None or isValid(parent)

    def _ok(result: Any) -> None:
        handle.result = result
        if _finish() and on_done is not None:
            on_done(result)

    def _failed(exc: BaseException) -> None:
        handle.error = exc
        if _finish():
            (on_error or (lambda e: show_error(parent, e)))(exc)

    handle.succeeded.connect(_ok)
    handle.failed.connect(_failed)
    _running.add(handle)
    _thread_pool(pool).start(_Runner(handle, work, stoppable))
    return handle


def run_read(
    parent: QWidget,
    query: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException], None] | None = None,
    *,
    on_hidden: Callable[[], None] | None = None,
) -> TaskHandle:
    """`query()` in a worker (it gets data, never widgets), `on_done(result)` on the UI thread;
    no progress dialog (reads are short). Once the handle is cancelled nothing more is heard of
    the read. With `on_hidden`, it is cancelled when `parent` is hidden, and `on_hidden()` is
    called (the widget reads again when it is shown)."""

    def done(result: Any) -> None:
        if not handle.cancelled:
            on_done(result)

    def failed(exc: BaseException) -> None:
        if not handle.cancelled:
            (on_error or (lambda e: show_error(parent, e)))(exc)

    handle = run_task(parent, lambda _progress: query(), done, failed, cancellable=False, show_progress=False,
                      stoppable=True)
    if on_hidden is not None:
        _CancelWhenHidden(parent, handle, on_hidden)
    return handle


class _CancelWhenHidden(QObject):
    """Cancels a read when its widget is hidden (its page too: Qt hides the children with it)."""

    def __init__(self, widget: QWidget, handle: TaskHandle, on_hidden: Callable[[], None]):
        super().__init__(handle)
        self._widget, self._handle, self._on_hidden = widget, handle, on_hidden
        widget.installEventFilter(self)
        handle.succeeded.connect(self._stop)
        handle.failed.connect(self._stop)

    def _stop(self, *_args: object) -> None:
        if isValid(self._widget):
            self._widget.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.Hide and not self._handle.done and not self._handle.cancelled:
            self._handle.cancel()
            self._stop()
            self._on_hidden()
        return False


def run_write(
    parent: QWidget,
    db: Any,
    work: Callable[[Progress], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    *,
    initiator: object | None = None,
    title: str = "",
    cancellable: bool = True,
    show_progress: bool = True,
) -> TaskHandle:
    """`work(progress)` in the write worker, its commits published as one ChangeSet initiated by
    `initiator` (default: `parent`)."""
    who = parent if initiator is None else initiator

    def write(progress: Progress) -> Any:
        with initiated_by(who), db.changes.batched():
            return work(progress)

    return run_task(parent, write, on_done, on_error, title=title, cancellable=cancellable,
                    show_progress=show_progress, pool="write")
