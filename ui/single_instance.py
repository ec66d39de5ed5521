"""One window per database. The first window on a database holds a lock file and listens on a
local socket (QLockFile + QLocalServer); a second start on the same database finds the lock,
tells the first window to come forward (QLocalSocket) and exits. Both are keyed by a hash of
the database's resolved path: no name of a person or a folder appears in the lock's or the
socket's name. The command line is not guarded: a scheduled `kursdesk sync` or an import runs
beside the window (the database's write lock keeps them apart).

    guard = SingleInstance(instance_key(db_path))
    if not guard.acquire():
        guard.notify_first()      # the first window comes forward
        ...exit...
    guard.activated.connect(lambda: bring_forward(window))
    ...
    guard.release()
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

from app import config
from app.db_peek import file_url

log = logging.getLogger(__name__)

ACTIVATE = b"kursdesk-activate\n"


def instance_key(db_path: str | Path | None) -> str:
    """A hash of the database's resolved path (or URL): the same for every way of naming it."""
    target = db_path or config.default_db_path()
    if "://" in str(target):  # a server's URL (app/db.py, which loads SQLAlchemy, knows its form)
        from app.db import make_url

        url = make_url(target)
    else:
        url = file_url(target)
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


class SingleInstance(QObject):
    """The guard of one database's window. `activated` fires in the first window when a later
    start on the same database asked it to come forward."""

    activated = Signal()

    def __init__(self, key: str, parent: QObject | None = None, *, lock_dir: Path | None = None,
                 server_name: str | None = None):
        super().__init__(parent)
        self.key = key
        self.server_name = server_name or f"kursdesk-{key}"
        folder = lock_dir or config.cache_dir()
        self.lock_path = folder / f"window-{key}.lock"
        self._lock = QLockFile(str(self.lock_path))
        # never stale by age (a window stays open for days); a lock whose process is gone is
        # stale all the same (QLockFile checks the process id it wrote)
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None

    @property
    def is_first(self) -> bool:
        return self._server is not None

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    def acquire(self) -> bool:
        """True when this is the first window on the database; it then listens for later starts."""
        if not self._lock.tryLock(0):
            return False
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self.server_name)  # a socket left behind by a crash
        if not server.listen(self.server_name):
            log.warning("the window cannot listen for a second start (%s)", server.errorString())
        server.newConnection.connect(self._accept)
        self._server = server
        return True

    def _accept(self) -> None:
        server = self._server
        while server is not None and server.hasPendingConnections():
            sock = server.nextPendingConnection()  # a child of the server
            sock.readyRead.connect(self._read)
            sock.disconnected.connect(sock.deleteLater)
            self._read(sock)

    def _read(self, sock: QLocalSocket | None = None) -> None:
        sock = sock or self.sender()
        if isinstance(sock, QLocalSocket) and ACTIVATE.strip() in bytes(sock.readAll().data()):
            log.info("a second start on this database: the window comes forward")
            self.activated.emit()

    def notify_first(self, timeout_ms: int = 3000) -> bool:
        """Ask the first window to come forward; False when it does not answer."""
        sock = QLocalSocket()
        sock.connectToServer(self.server_name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(ACTIVATE)
        ok = sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        if sock.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            sock.waitForDisconnected(timeout_ms)
        return ok

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()


def bring_forward(window: QWidget) -> None:
    """Show the window in front: restored if minimised, raised, activated."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
