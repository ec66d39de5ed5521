"""The command-line face (DESIGN section 6). `kursdesk` with no command opens the window.

User errors exit 2 with one line per problem on stderr; other failures exit 1 with one line
(the details go to the log file, never a traceback in the user's face).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from app import config
from app.errors import UserError
from app.i18n import LANGUAGES, N_, _, ngettext, set_language

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors are user errors: exit 2, one line
        self.exit(2, f"kursdesk: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand that does not repeat --db/--lang must not reset the value given
    # before it (`kursdesk --db x.db demo`); the top-level parser has the defaults.
    common.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="database file (or SQLAlchemy URL)")
    common.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help="language: sv or en")

    top = argparse.ArgumentParser(add_help=False)
    top.add_argument("--db", metavar="PATH", help="database file (or SQLAlchemy URL)")
    top.add_argument("--lang", choices=LANGUAGES, help="language: sv or en")

    p = _Parser(prog="kursdesk", parents=[top], description="Kursdesk")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    p.add_argument("--smoke", action="store_true", help="start the application, open every page once, exit")
    p.add_argument("--demo-if-empty", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    sub.add_parser("demo", parents=[common], help="fill an empty database with demo data")

    exp = sub.add_parser("export", parents=[common], help="export the database")
    exp.add_argument("--json", metavar="FILE", required=True, type=Path)

    imp = sub.add_parser("import", parents=[common], help="import a JSON bundle or a participant list")
    imp.add_argument("--json", metavar="FILE", type=Path)
    imp.add_argument("what", nargs="?", choices=["participants"])
    imp.add_argument("file", nargs="?", type=Path)
    imp.add_argument("--course", metavar="CODE")
    imp.add_argument("--skip-invalid", action="store_true")
    imp.add_argument(
        "--accept-known", action="store_true",
        help="enrol the registered person where the list gives another name for a known personnummer",
    )

    courses = sub.add_parser("courses", parents=[common], help="list courses")
    courses.add_argument("--json", action="store_true")

    al = sub.add_parser("attendance-list", parents=[common], help="write sign-in sheets")
    al.add_argument("code")
    al.add_argument("--out", required=True, type=Path)
    al.add_argument("--session", metavar="YYYY-MM-DD")

    cert = sub.add_parser("certificates", parents=[common], help="issue certificates and write PDFs")
    # CODE and --out are required to issue (checked in cmd_certificates: --duplicates and
    # --revoke-duplicate need neither)
    cert.add_argument("code", nargs="?")
    cert.add_argument("--out", type=Path)
    cert.add_argument("--confirm", action="store_true", help="issue even when another laptop has issued the course")
    cert.add_argument("--duplicates", action="store_true",
                      help="list participants with two valid certificates of one course (exit 3 when there are some)")
    cert.add_argument("--revoke-duplicate", metavar="NUMBER", help="revoke NUMBER as a duplicate of the other valid one")
    cert.add_argument("--participation", action="store_true",
                      help="certificates of participation, to everyone with attended minutes")
    cert.add_argument("--export-public-key", metavar="FILE", type=Path, help="write the programme's public key")
    cert.add_argument("--export-revocations", metavar="FILE", type=Path, help="write the signed revocation list")

    ver = sub.add_parser("verify", parents=[common], help="verify a certificate")
    ver.add_argument("number_or_code", metavar="NUMBER_CODE_QR_TEXT_OR_FILE")
    ver.add_argument("--public-key", metavar="FILE", type=Path, help="the issuer's public key (else this laptop's)")
    ver.add_argument("--revocations", metavar="FILE", type=Path, help="the issuer's signed revocation list")

    vpage = sub.add_parser("verifier", parents=[common], help="write the verifier page to publish")
    vpage.add_argument("--out", metavar="DIR", required=True, type=Path)

    rep = sub.add_parser("report", parents=[common], help="reports for the funder; check: the control report")
    rep.add_argument("kind", choices=["month", "check"])
    rep.add_argument("month", metavar="YYYY-MM")
    rep.add_argument("--out", type=Path)  # required for month (checked in cmd_report)

    mon = sub.add_parser("month", parents=[common], help="close a month, or list every month's state")
    mon.add_argument("action", choices=["close", "status"])
    mon.add_argument("month", metavar="YYYY-MM", nargs="?")
    mon.add_argument("--out", metavar="DIR", type=Path, help="close: write the summary and time reports into DIR first")
    mon.add_argument("--json", action="store_true", help="status: as JSON")

    st = sub.add_parser("settings", parents=[common], help="print the settings, or set one (settings set NAME VALUE)")
    st.add_argument("action", nargs="?", choices=["set"])
    st.add_argument("name", nargs="?")
    st.add_argument("value", nargs="?")

    from app.gdpr.cli import add_parser as add_gdpr_parser

    add_gdpr_parser(sub, common)  # kursdesk gdpr extract|erase|purge|log

    from app.server_cli import add_parser as add_backup_parser

    add_backup_parser(sub, common)  # kursdesk backup --out FILE

    syn = sub.add_parser("sync", parents=[common], help="sync through the shared folder")
    syn.add_argument("--folder", required=True, type=Path)
    syn.add_argument("--key", type=Path)
    syn.add_argument("--setup", action="store_true")
    syn.add_argument("--yes", action="store_true", help="apply batches that delete many records")
    return p


_OPENED: list = []  # the databases this command opened, disposed when it ends


def _open(args):
    """The database named by --db (or the default); without --lang, its language setting applies.
    It is disposed when the command ends (see _closing)."""
    from app.server_cli import database_argument
    from app.services.settings import get_settings
    from app.sync.capture import open_app_database

    db = open_app_database(database_argument(args.db))
    _OPENED.append(db)
    for notice in db.notices:  # a copy taken before a migration: where it is
        print(f"kursdesk: {notice}", file=sys.stderr)
    if not args.lang:
        set_language(get_settings(db).language)
    return db


def close_opened() -> None:
    """Dispose every database the command opened: the WAL is folded into the .db file (a copy of
    that file alone then holds every record) and the in-use marker is let go."""
    while _OPENED:
        db = _OPENED.pop()
        try:
            db.dispose()
        except Exception:  # noqa: BLE001 - the command's own outcome matters more
            log.debug("could not close the database")


def _closing(handler):
    """The handler, disposing the databases it opened when it returns or fails."""
    def run(args) -> int:
        try:
            return handler(args)
        finally:
            close_opened()

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


# --- handlers: each returns the exit code --------------------------------------------------

def cmd_demo(args) -> int:
    from app.demo import fill_demo

    db = _open(args)
    counts = fill_demo(db)
    summary = ", ".join(f"{_(RECORD_LABELS.get(kind, kind))} {n}" for kind, n in counts.items())
    print(_("Demo data created: {summary}").format(summary=summary))
    return 0


# names of the record types, as counts are reported ("companies 15")
RECORD_LABELS = {
    "providers": N_("providers"),
    "companies": N_("companies"),
    "participants": N_("participants"),
    "courses": N_("courses"),
    "sessions": N_("sessions"),
    "enrollments": N_("enrollments"),
    "attendance": N_("attendance marks"),
    "needs": N_("needs analyses"),
    "certificates": N_("certificates"),
}


def cmd_export(args) -> int:
    from app.interchange.bundle import export_bundle

    db = _open(args)
    counts = export_bundle(db, args.json)
    print(_("Exported {n} records to {file}").format(n=sum(counts.values()), file=args.json))
    return 0


def cmd_import(args) -> int:
    if args.json and args.what:
        raise UserError(_("Give either --json FILE or 'participants FILE', not both."))
    if args.json:
        from app.interchange.bundle import import_bundle

        db = _open(args)
        notices: list[str] = []
        counts = import_bundle(db, args.json, notices=notices)
        print(_("Imported {n} records from {file}").format(n=sum(counts.values()), file=args.json))
        for notice in notices:
            print(notice)
        return 0
    if args.what == "participants":
        if not args.file or not args.course:
            raise UserError(_("Usage: kursdesk import participants FILE --course CODE [--skip-invalid] [--accept-known]"))
        from app.interchange.participant_list import import_participants_cli

        return import_participants_cli(
            _open(args), args.file, args.course, skip_invalid=args.skip_invalid, accept_known=args.accept_known
        )
    raise UserError(_("Nothing to import: give --json FILE or 'participants FILE --course CODE'."))


def cmd_courses(args) -> int:
    from app.services.courses import course_overview

    rows = course_overview(_open(args))
    if args.json:
        print(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return 0
    header = (_("Code"), _("Title"), _("Sessions"), _("Participants"), _("Certificates"))
    table = [header] + [
        (r.code, r.title, str(r.sessions), str(r.participants), str(r.certificates)) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_attendance_list(args) -> int:
    from datetime import date as _date

    from app.services.attendance import course_id_by_code, course_sessions
    from app.services.signin_sheets import write_signin_sheet

    db = _open(args)
    course_id = course_id_by_code(db, args.code)
    session_ids = None
    if args.session:
        try:
            day = _date.fromisoformat(args.session.strip())
        except ValueError:
            raise UserError(_("Invalid date {date}: use YYYY-MM-DD.").format(date=args.session)) from None
        on_day = [x for x in course_sessions(db, course_id) if x.date == day]
        session_ids = [x.id for x in on_day if not x.cancelled]
        if on_day and not session_ids:
            raise UserError(
                _("The session of course {code} on {date} is cancelled.").format(code=args.code, date=day.isoformat())
            )
        if not session_ids:
            raise UserError(
                _("Course {code} has no session on {date}.").format(code=args.code, date=day.isoformat())
            )
    path = write_signin_sheet(db, course_id, args.out, session_ids=session_ids)
    print(_("Sign-in sheet written to {file}").format(file=path))
    return 0


def cmd_certificates(args) -> int:
    """Issue to every eligible participant not yet issued; write their PDFs and one combined file.
    --lang, when given, is also the language of the certificates (else each course's/participant's).
    Another laptop has issued the course: nobody is issued without --confirm (exit 2, one line).
    --duplicates lists participants with two valid certificates of a course (exit 0 none, 3 some);
    --revoke-duplicate NUMBER revokes one of them, naming the one kept."""
    from app.services import certificates as certs

    if args.export_public_key or args.export_revocations:
        return _export_signing(args)
    if args.duplicates and args.revoke_duplicate:
        raise UserError(_("Give either --duplicates or --revoke-duplicate NUMBER, not both."))
    if args.duplicates:
        return _print_duplicates(certs, _open(args), args.code)
    if args.revoke_duplicate:
        db = _open(args)
        done = certs.revoke_duplicate(db, certs.certificate_id_by_number(db, args.revoke_duplicate))
        print(_("Certificate {number} revoked: {reason}").format(number=done.number, reason=done.reason))
        return 0
    if not args.code or args.out is None:
        raise UserError(_("Usage: kursdesk certificates CODE --out DIR [--confirm] | --duplicates [CODE] | --revoke-duplicate NUMBER"))
    db = _open(args)
    course_id = certs.course_id_by_code(db, args.code)
    kind = certs.KIND_PARTICIPATION if args.participation else certs.KIND_COURSE
    issued = certs.issue_certificates(db, course_id, lang=args.lang, confirm=args.confirm, kind=kind)
    if issued:
        ids = [c.id for c in issued]
        paths = certs.write_certificate_files(db, ids, args.out)
        for cert, path in zip(issued, paths):
            print(f"{cert.number}  {path.name}")
        combined = args.out / certs.safe_file_name(_("{code} - all certificates").format(code=issued[0].course_code) + ".pdf")
        certs.write_combined_pdf(db, ids, combined)
        print(_("{n} certificates issued; all of them for printing in {file}").format(n=len(issued), file=combined.name))
    if issued.warning is not None:
        raise UserError(issued.warning.message() + " " + _("To issue anyway: --confirm."))
    if not issued:
        print(_("No new certificates for {code}: everyone eligible already has one.").format(code=args.code))
    return 0


def _print_duplicates(certs, db, code: str | None) -> int:
    """The duplicate list, like a check: exit 0 when there is none, 3 when there are some."""
    from app.i18n import format_date

    course_id = certs.course_id_by_code(db, code) if code else None
    groups = certs.duplicate_certificates(db, course_id)
    if not groups:
        print(_("No duplicate certificates."))
        return 0
    print(ngettext(
        "{n} participant has more than one valid certificate of the same course. Revoke the duplicate "
        "(kursdesk certificates --revoke-duplicate NUMBER):",
        "{n} participants have more than one valid certificate of the same course. Revoke the duplicates "
        "(kursdesk certificates --revoke-duplicate NUMBER):",
        len(groups),
    ).format(n=len(groups)))
    for g in groups:
        print(f"{g.course_code}  {g.holder_name} {g.masked_personal_number}".rstrip())
        for m in g.members:
            laptop = _("this laptop") if m.here else _("laptop {device}").format(device=m.device)
            note = "  " + _("(keep)") if m.keep else ""
            print(f"  {m.number}  " + _("issued {date}").format(date=format_date(m.issued_on)) + f"  {laptop}{note}")
    return 3


def _export_signing(args) -> int:
    from app.services import certificate_signing as signing

    db = _open(args)
    if args.export_public_key:
        signing.export_public_key(db, args.export_public_key)
        print(_("Public key written to {file} (fingerprint {fingerprint})").format(
            file=args.export_public_key, fingerprint=signing.public_key_fingerprint(db)))
    if args.export_revocations:
        n = signing.export_revocations(db, args.export_revocations)
        print(_("Signed revocation list ({n} revoked) written to {file}").format(n=n, file=args.export_revocations))
    return 0


def cmd_verifier(args) -> int:
    from app.services.certificate_signing import write_verifier

    path = write_verifier(_open(args), args.out)
    print(_("Verifier page written to {file}; publish it at the verifier address of the certificate settings.").format(file=path))
    return 0


_SCAN_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")


def _verify_signed(args, db, text: str) -> int:
    """A signed statement: valid (0), revoked (3) or forged (5), by its signature alone."""
    from app.i18n import format_date
    from app.services import certificate_signing as signing
    from app.signing.key import read_public_keys
    from app.signing.revocations import read_list

    keys = read_public_keys(args.public_key) if args.public_key else signing.local_public_keys(db)
    revoked = read_list(args.revocations, keys) if args.revocations else None
    v = signing.verify_signed(text, keys, revoked, db)
    if v.status == "forged":
        print(_("Forged: the signature does not match (the text was changed, or it was not signed with this key)."))
        return 5
    st = v.statement
    details = _("{number}: {holder}, {code} {title}, issued {date}").format(
        number=st.number, holder=st.holder, code=st.course_code, title=st.course_title, date=format_date(st.issued_on))
    if v.status == "revoked":
        print(_("Revoked: {details}").format(details=details))
        return 3
    print(_("Valid: {details}").format(details=details))
    return 0


def cmd_verify(args) -> int:
    """valid (exit 0), revoked (3) or unknown (4), with holder, course and date. A signed QR text,
    a scan of the QR code or the issued PDF is checked by its signature: forged exits 5."""
    from app.i18n import format_date
    from app.services.certificate_signing import is_signed_text
    from app.services.certificates import verify
    from app.signing.scan import text_from_file

    value = args.number_or_code
    db = _open(args)
    if os.path.isfile(value) or value.lower().endswith(_SCAN_SUFFIXES):
        value = text_from_file(Path(value))  # a missing file is named, not "unknown certificate"
    if is_signed_text(value):
        return _verify_signed(args, db, value)
    v = verify(db, value)
    if v.status == "unknown":
        print(_("Unknown: no certificate {value}").format(value=args.number_or_code.strip()))
        return 4
    details = _("{number}: {holder}, {code} {title}, issued {date}").format(
        number=v.number, holder=v.holder_name, code=v.course_code, title=v.course_title, date=format_date(v.issued_on)
    )
    if v.status == "revoked":
        print(_("Revoked: {details}").format(details=details))
        print(_("Revoked {date}: {reason}").format(date=format_date(v.revoked_on), reason=v.reason))
        return 3
    print(_("Valid: {details}").format(details=details))
    return 0


def cmd_report(args) -> int:
    from app.services.reports import to_month

    month = to_month(args.month)  # a bad month is a UserError (exit 2)
    if args.kind == "check":
        from app.month_commands import report_check

        return report_check(_open(args), args.month)
    if args.out is None:
        raise UserError(_("report month needs --out FILE.pdf or --out FILE.xlsx."))
    suffix = args.out.suffix.lower()
    if suffix not in (".pdf", ".xlsx"):
        raise UserError(_("Write the report to a .pdf (time reports) or .xlsx (summary) file, not {file}.").format(file=args.out.name))
    db = _open(args)
    if suffix == ".pdf":
        from app.services.time_reports import write_time_reports

        n = write_time_reports(db, month, args.out, lang=args.lang)
        print(_("{n} monthly time reports for {month} written to {file}").format(n=n, month=month.key, file=args.out))
    else:
        from app.documents.esf_summary import write_esf_summary

        n = write_esf_summary(db, month, args.out).participant_count
        print(_("Summary of {month} ({n} participants) written to {file}").format(n=n, month=month.key, file=args.out))
    return 0


def cmd_settings(args) -> int:
    from app.services.settings import set_setting, setting_values

    db = _open(args)
    if args.action == "set":
        if args.name is None or args.value is None:
            raise UserError(_("Usage: kursdesk settings set NAME VALUE"))
        print(f"{args.name} = {set_setting(db, args.name, args.value)}")
        return 0
    for spec, value in setting_values(db):
        print(f"{spec.name} = {value}    # {_(spec.label)}")
    return 0
def cmd_month(args) -> int:
    from app import month_commands

    if args.action == "status":
        return month_commands.month_status(_open(args), args.json)
    if not args.month:
        raise UserError(_("month close needs the month, as YYYY-MM."))
    return month_commands.month_close(_open(args), args.month, args.out, args.lang)


def cmd_sync(args) -> int:
    from app.sync import setup_folder, sync

    if args.setup:
        if not args.key:
            raise UserError(_("--setup needs --key FILE: where to write the new programme key."))
        setup_folder(args.folder, args.key)
        print(_("The shared folder {folder} is set up. Hand the key file {key} to your colleagues (not through the shared folder).").format(folder=args.folder, key=args.key))
        return 0
    report = sync(_open(args), args.folder, key_file=args.key, confirm_mass_delete=args.yes)
    for line in report.lines():
        print(line)
    problems = report.problems()
    if problems:
        raise UserError(problems[0] if len(problems) == 1 else _("{n} partners could not be synced completely: {first}").format(n=len(problems), first=problems[0]))
    return 0


def cmd_gdpr(args) -> int:
    from app.gdpr.cli import cmd_gdpr as run

    return run(args, _open)


def cmd_backup(args) -> int:
    from app.server_cli import cmd_backup as run

    return run(args, _open)


HANDLERS = {
    name: _closing(handler)
    for name, handler in {
        "demo": cmd_demo,
        "export": cmd_export,
        "import": cmd_import,
        "courses": cmd_courses,
        "attendance-list": cmd_attendance_list,
        "certificates": cmd_certificates,
        "verify": cmd_verify,
        "verifier": cmd_verifier,
        "report": cmd_report,
        "settings": cmd_settings,
        "month": cmd_month,
        "sync": cmd_sync,
        "gdpr": cmd_gdpr,
        "backup": cmd_backup,
    }.items()
}


CONSOLE_FILE = "console.txt"


def _ensure_streams() -> None:
    """A windowed Windows build has no stdout/stderr (they are None): send the output of this run
    (`--version`, "smoke ok", error lines) to <log dir>/console.txt instead, so it can be read."""
    if sys.stdout is not None and sys.stderr is not None:
        return
    stream = open(config.log_dir() / CONSOLE_FILE, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream


def main(argv: list[str] | None = None, *, open_window: Callable[..., int] | None = None) -> int:
    """The command line. Without a command it opens the window through `open_window` (given by
    ui/launch.py: the core never names the GUI); `python -m app` alone has none and says so."""
    from app.applog import setup_logging

    _ensure_streams()
    args = build_parser().parse_args(argv)
    setup_logging()
    set_language(args.lang or "sv")
    if args.version:
        print(f"Kursdesk {config.version()}")
        return 0
    try:
        if args.command:
            return HANDLERS[args.command](args)
        if open_window is None:
            raise UserError(_("No command given: the window opens with `kursdesk` (or `python -m ui`); see --help."))
        return open_window(db_path=args.db, lang=args.lang, smoke=args.smoke, demo_if_empty=args.demo_if_empty)
    except UserError as exc:
        for line in str(exc).splitlines() or [""]:
            print(f"kursdesk: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `kursdesk courses | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for the user
        # the environment's fault (a full or read-only disk, no permission): the user's to fix, exit 2
        line = _environment_line(exc)
        if line is not None:
            print(f"kursdesk: {line}", file=sys.stderr)
            return 2
        return _unexpected(exc, args)


def _environment_line(exc: BaseException) -> str | None:
    """One line for a failure the environment caused (disk full, read-only, no permission), or None.
    SQLite reports these as its own errors, wrapped by SQLAlchemy."""
    if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
        from app.interchange.files import environment_message

        return environment_message(exc, exc.filename or _("the file"))
    from app.db import is_unique_violation

    if is_unique_violation(exc):  # a constraint refused what another client saved at the same moment
        return _("Another Kursdesk window or job saved a record with the same identity at the same moment; nothing was saved. Check the list and try again.")

    from app.server import failure_message

    line = failure_message(exc)  # a database server's: unreachable, refused, dropped, a value too long
    if line is not None:
        return line
    orig = getattr(exc, "orig", None)
    text = str(orig).lower() if orig is not None else ""
    if "database or disk is full" in text or getattr(orig, "sqlite_errorcode", None) == 13:
        return _("The disk is full: the database cannot be written. Nothing was changed.")
    if "readonly database" in text:
        return _("The database cannot be written: its disk or folder is read-only. Nothing was changed.")
    if "unable to open database file" in text:
        return _("The database file cannot be opened: its folder is missing, a folder has its name, or you lack permission.")
    if "file is not a database" in text:
        return _("The database file is not a Kursdesk database, or it is damaged.")
    return None


def _errnos() -> frozenset[int]:
    import errno

    names = ("ENOSPC", "EROFS", "EACCES", "EDQUOT")
    return frozenset(getattr(errno, n) for n in names if hasattr(errno, n))


_ENVIRONMENT_ERRNOS = _errnos()


def _unexpected(exc: BaseException, args) -> int:
    # the exception's text may hold record values (SQL parameters): log its type and frames only
    log.error(
        "unexpected %s in %s\n%s",
        type(exc).__name__,
        args.command or "window",
        "".join(traceback.format_tb(exc.__traceback__)),
    )
    print(
        _("kursdesk: unexpected error ({kind}); details are in {log}").format(
            kind=type(exc).__name__, log=config.log_dir() / "kursdesk.log"
        ),
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
