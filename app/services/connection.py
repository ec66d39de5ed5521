"""The connection settings of a database server (Settings > Database server): read, checked,
tried and saved. The fields go to the app's config (app/config.py), the password only to the
operating system's credential store (app/server.py); Kursdesk uses them at its next start."""

from __future__ import annotations

from dataclasses import dataclass

from app import config, server
from app.errors import Problem, UserError, ValidationError
from app.i18n import _


@dataclass(frozen=True)
class ConnectionSettings:
    host: str = ""
    port: int = server.DEFAULT_PORT
    database: str = ""
    user: str = ""
    sslmode: str = "prefer"

    @property
    def url(self) -> str:
        return server.connection_settings_url(self.host, self.port, self.database, self.user, self.sslmode)


def connection_settings() -> ConnectionSettings | None:
    """The saved server, or None when Kursdesk works on this computer's own file."""
    values = config.server_settings()
    if not values.get("host") and not values.get("database"):
        return None
    port = values.get("port") or ""
    return ConnectionSettings(values["host"], int(port) if port.isdigit() else server.DEFAULT_PORT,
                              values["database"], values["user"], values.get("sslmode") or "prefer")


def _checked(settings: ConnectionSettings) -> ConnectionSettings:
    problems = []
    host, database, user = settings.host.strip(), settings.database.strip(), settings.user.strip()
    if not host:
        problems.append(Problem("host", _("Enter the server's name or address.")))
    if not 1 <= int(settings.port) <= 65535:
        problems.append(Problem("port", _("A port is a number from 1 to 65535.")))
    if not database:
        problems.append(Problem("database", _("Enter the database's name.")))
    if not user:
        problems.append(Problem("user", _("Enter the user name.")))
    if settings.sslmode not in server.SSL_MODES:
        problems.append(Problem("sslmode", _("Choose a TLS mode from the list.")))
    for field, value in (("host", host), ("database", database), ("user", user)):
        if len(value) > 200 or any(ch.isspace() or ord(ch) < 32 for ch in value):
            problems.append(Problem(field, _("no spaces or control characters, at most 200 characters")))
    if problems:
        raise ValidationError(problems)
    return ConnectionSettings(host, int(settings.port), database, user, settings.sslmode)


def try_connection(settings: ConnectionSettings, password: str = "") -> str:
    """Connect once with these settings (and the password typed, else the stored one): the
    server's version on success; a UserError in one line saying what is wrong."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    settings = _checked(settings)
    server.require_driver()
    url = server.sqlalchemy_url(settings.url)
    args = server.connect_args(url)
    if password:
        args["password"] = password
    engine = create_engine(url, poolclass=NullPool, connect_args=args)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
    except DBAPIError as exc:
        problem = server.connection_problem(exc, url)
        raise UserError(problem.message if problem else _("The server {server} refused the connection.").format(server=server.display_name(url))) from None
    finally:
        engine.dispose()
    return str(version)


def save_connection(settings: ConnectionSettings | None, password: str = "") -> None:
    """Save the server's settings (None: back to this computer's own database file); a password
    typed goes to the credential store, never to the config."""
    if settings is None:
        config.save_server_settings(None)
        return
    settings = _checked(settings)
    if password:
        server.store_password(server.sqlalchemy_url(settings.url), password)
    config.save_server_settings({"host": settings.host, "port": str(settings.port), "database": settings.database,
                                 "user": settings.user, "sslmode": settings.sslmode})


def has_credential_store() -> bool:
    return server.has_credential_store()
