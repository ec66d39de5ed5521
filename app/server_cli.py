"""The command line's part of working with a database server: `kursdesk backup` and the password
prompt when nothing else supplies one (a server's failures as one line: app/server.failure_message)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from app import config
from app.i18n import _


def add_parser(sub, common) -> None:
    bk = sub.add_parser("backup", parents=[common], help="a copy of the whole database (SQLite file, pg_dump or bundle)")
    bk.add_argument("--out", metavar="FILE", type=Path, required=True)


def cmd_backup(args, open_db) -> int:
    from app.backup import backup

    db = open_db(args)
    result = backup(db, args.out)
    kinds = {
        "sqlite": _("a copy of the database file"),
        "pg_dump": _("a pg_dump archive (restore with pg_restore)"),
        "bundle": _("a JSON bundle (pg_dump is not installed; restore with kursdesk import --json)"),
    }
    print(_("Backup written to {path}: {kind}.").format(path=result.path, kind=kinds[result.kind]))
    return 0


def database_argument(value):
    """--db as the database to open: a server URL without any password gets one from a prompt
    when nothing else supplies it (credential store, PGPASSWORD, ~/.pgpass) and a terminal is
    there to ask; kept in the credential store when there is one, else for this run only."""
    from app import server  # here: the window's start does not load SQLAlchemy (ui/app.py)

    if value is None:
        value = config.server_url() or None
    if not server.is_server_url(value):
        return value
    url = server.keep_password_from_url(str(value))
    if not server.needs_password_prompt(url) or not sys.stdin or not sys.stdin.isatty():
        return url
    password = getpass.getpass(_("Password for {user} on {server}: ").format(user=url.username or "", server=server.display_name(url)))
    if server.has_credential_store():
        server.store_password(url, password)
        print("kursdesk: " + _("The password is kept in this computer's credential store."), file=sys.stderr)
        return url
    print("kursdesk: " + _("To be asked no more: set PGPASSWORD, or write the password into ~/.pgpass (as for psql)."), file=sys.stderr)
    return url.set(password=password)

