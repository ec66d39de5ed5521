"""A database server (PostgreSQL) as Kursdesk's database: the URL a user gives, the driver chosen
for them, the password from the operating system's credential store, the name shown on screen,
and one clear line for each way connecting can fail.

The password never goes into a file, a log, an error message or onto the screen: it lives in the
credential store (the `keyring` library; service "Kursdesk", key user@host:port/db), or in
PGPASSWORD / ~/.pgpass as libpq reads them, and is handed to the driver when it connects.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url as sa_make_url
from sqlalchemy.exc import ArgumentError

from app.errors import UserError
from app.i18n import _

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Kursdesk"
DRIVER = "psycopg"  # psycopg 3, the driver Kursdesk carries
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_PORT = 5432


def is_server_url(value: str | Path | None) -> bool:
    text = str(value or "")
    return "://" in text and not text.startswith("sqlite")


def sqlalchemy_url(value: str) -> URL:
    """A user's URL (postgresql://... or postgres://..., with or without a driver) as the URL
    SQLAlchemy opens: with psycopg 3 chosen, and any password taken out (it is looked up when
    connecting, see connect_args)."""
    try:
        url = sa_make_url(value)
    except ArgumentError:
        raise UserError(_("Not a database address: {url}").format(url=redacted(value))) from None
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend != "postgresql":
        raise UserError(_("Kursdesk works with a database file or a PostgreSQL server, not {kind}.").format(kind=backend))
    query = dict(url.query)
    user = query.pop("user", None)
    if isinstance(user, tuple):  # ?user=a&user=b: libpq takes the last
        user = user[-1]
    if user and not url.username:
        url = url.set(username=user)
    return url.set(drivername=f"postgresql+{DRIVER}", query=query)


def redacted(value: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa_make_url(value).render_as_string(hide_password=True)
    except ArgumentError:
        return "…"


def credential_key(url: URL) -> str:
    """The credential store's key for a server: user@host:port/db."""
    return f"{url.username or ''}@{url.host or 'localhost'}:{url.port or DEFAULT_PORT}/{url.database or ''}"


def display_name(url: str | URL) -> str:
    """What the status bar says about a server: host and database, never user or password."""
    url = sa_make_url(str(url)) if isinstance(url, str) else url
    host = url.host or "localhost"
    if url.port and url.port != DEFAULT_PORT:
        host = f"{host}:{url.port}"
    return f"{host}/{url.database or ''}"


# --- the credential store -----------------------------------------------------------------------

def _keyring():
    """The keyring module when a real backend is available, else None (headless Linux has only
    keyring.backends.fail)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken backend is no backend
        return None
    return None if isinstance(backend, fail.Keyring) else keyring


def has_credential_store() -> bool:
    return _keyring() is not None


def stored_password(url: URL) -> str | None:
    store = _keyring()
    if store is None:
        return None
    try:
        password = store.get_password(KEYRING_SERVICE, credential_key(url))
        return None if password is None else str(password)
    except Exception:  # noqa: BLE001 - a locked or broken store: as if nothing were stored
        log.info("the credential store could not be read")
        return None


def store_password(url: URL, password: str) -> None:
    store = _keyring()
    if store is None:
        raise UserError(
            _("This computer has no credential store for the password: set PGPASSWORD or write it into ~/.pgpass (as for psql).")
        )
    try:
        if password:
            store.set_password(KEYRING_SERVICE, credential_key(url), password)
        else:
            try:
                store.delete_password(KEYRING_SERVICE, credential_key(url))
            except Exception:  # noqa: BLE001 - nothing stored: nothing to delete
                pass
    except Exception:  # noqa: BLE001
        raise UserError(_("The password could not be stored in the credential store.")) from None


def keep_password_from_url(value: str) -> URL:
    """A URL given with a password in it: the password goes to the credential store (when there
    is one; else it is used for this run only), the URL without it is returned."""
    url = sqlalchemy_url(value)
    if url.password is not None and has_credential_store():
        store_password(url._replace(password=None), str(url.password))
        return url._replace(password=None)
    return url


def needs_password_prompt(url: URL) -> bool:
    """True when nothing supplies a password: no credential, no PGPASSWORD, no ~/.pgpass."""
    return (
        url.password is None
        and stored_password(url) is None
        and not os.environ.get("PGPASSWORD")
        and not _pgpass_file().is_file()
    )


def _pgpass_file() -> Path:
    if os.environ.get("PGPASSFILE"):
        return Path(os.environ["PGPASSFILE"])
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", "")) / "postgresql" / "pgpass.conf"
    return Path.home() / ".pgpass"


def connect_args(url: URL) -> dict:
    """What the driver gets at every connection: the stored password, looked up then (never kept
    in the URL, so it cannot reach a message or a log). Without one libpq reads PGPASSWORD and
    ~/.pgpass itself."""
    args: dict = {"connect_timeout": 10, "application_name": "Kursdesk"}
    if url.password is None:
        password = stored_password(url)
        if password is not None:
            args["password"] = password
    return args


def require_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise UserError(
            _("This Kursdesk cannot connect to a PostgreSQL server: its database driver (psycopg) is missing. Install the complete Kursdesk package.")
        ) from None


# --- errors --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectionProblem:
    kind: str  # password, unreachable, no_database, permission, dropped
    message: str


def _server_of(orig) -> str:
    """host/database of the connection a psycopg error came from, or "" (a name for the user)."""
    pgconn = getattr(orig, "pgconn", None)
    if pgconn is None:
        return ""
    try:
        host, database = pgconn.host.decode(), pgconn.db.decode()
    except Exception:  # noqa: BLE001 - no connection, or one already gone
        return ""
    return f"{host}/{database}" if host and database else ""


def connection_problem(exc: BaseException, url: URL | None) -> ConnectionProblem | None:
    """A connection failure as one line for the user, or None when `exc` is not one. psycopg
    gives SQLSTATE codes for what the server said, and only a message for what the network did."""
    orig = getattr(exc, "orig", exc)
    try:
        import psycopg
    except ImportError:
        return None
    if not isinstance(orig, psycopg.Error):
        return None
    sqlstate = getattr(orig, "sqlstate", None) or ""
    known = display_name(url) if url is not None else _server_of(orig)
    where = known or _("the database server")
    text = str(orig).lower()
    if sqlstate in ("28P01", "28000") or "password authentication failed" in text or "no password supplied" in text:
        return ConnectionProblem("password", _("The server {server} refused the user name or password: check them in the connection settings.").format(server=where))
    if sqlstate == "42501":
        return ConnectionProblem("permission", _("The server {server} does not let this user read or change Kursdesk's tables: ask its administrator for the rights.").format(server=where))
    if sqlstate == "3D000" or ("database" in text and "does not exist" in text):
        return ConnectionProblem("no_database", _("The server {server} has no such database: check the database name in the connection settings.").format(server=where))
    if sqlstate.startswith(("57P01", "57P02", "08")) or "terminat" in text or "server closed the connection" in text:
        if not known:
            return ConnectionProblem("dropped", _("The connection to the database server was lost: try again. Nothing was changed."))
        return ConnectionProblem("dropped", _("The connection to the server {server} was lost: try again. Nothing was changed.").format(server=where))
    if isinstance(orig, psycopg.OperationalError) and not sqlstate:  # no answer from a server at all
        return ConnectionProblem("unreachable", _("The server {server} cannot be reached: check the host and port in the connection settings and the network.").format(server=where))
    return None


_TOO_LONG = re.compile(r"character varying\((\d+)\)")


def failure_message(exc: BaseException) -> str | None:
    """One line for a server's failure in the middle of the work (the command line's last
    resort and the window's error dialog), or None when `exc` is not one."""
    from sqlalchemy.exc import DataError

    problem = connection_problem(exc, None)
    if problem is not None:
        return problem.message
    if isinstance(exc, DataError):
        match = _TOO_LONG.search(str(exc.orig))
        if match:
            return _("A value is longer than its field allows (at most {n} characters). Nothing was changed.").format(n=match.group(1))
        return _("The database refused a value that does not fit its field. Nothing was changed.")
    return None


def connection_settings_url(host: str, port: int | str | None, database: str, user: str, sslmode: str = "") -> str:
    """The URL for the connection dialog's fields (no password)."""
    url = URL.create(
        "postgresql",
        username=user or None,
        host=host or None,
        port=int(port) if port else None,
        database=database or None,
        query={"sslmode": sslmode} if sslmode else {},
    )
    return url.render_as_string(hide_password=False)
