"""`kursdesk gdpr extract|erase|purge|log` (wired into app/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

from app.i18n import N_, _, format_datetime, ngettext


def add_parser(sub, common) -> None:
    g = sub.add_parser("gdpr", parents=[common], help="data protection: register extract, erasure, audit log")
    gsub = g.add_subparsers(dest="gdpr_command", metavar="extract|erase|purge|log", required=True)
    ex = gsub.add_parser("extract", parents=[common], help="a person's register extract (PDF, and JSON beside it)")
    ex.add_argument("personal_number", metavar="PERSONNUMMER")
    ex.add_argument("--out", required=True, type=Path, metavar="FILE.pdf")
    ex.add_argument("--language", choices=("sv", "en"), help="the extract's language (default: the person's)")
    er = gsub.add_parser("erase", parents=[common], help="erase one person on request, on every laptop")
    er.add_argument("personal_number", metavar="PERSONNUMMER")
    er.add_argument("--reason", required=True, metavar="TEXT", help="why (kept in the audit log; write no names)")
    er.add_argument("--force", action="store_true", help="erase even while the funder's retention applies (recorded)")
    pu = gsub.add_parser("purge", parents=[common], help="erase everyone due under the retention settings")
    pu.add_argument("--dry-run", action="store_true", help="only list who is due")
    lg = gsub.add_parser("log", parents=[common], help="print the audit log")
    lg.add_argument("--json", action="store_true")


def cmd_gdpr(args, open_db) -> int:
    from app.gdpr import audit, retention

    db = open_db(args)
    if args.gdpr_command == "extract":
        from app.gdpr.extract import write_extract

        pid = retention.find_person(db, args.personal_number)
        pdf, js = write_extract(db, pid, args.out, lang=args.language)
        print(_("Register extract written to {pdf} and {json}").format(pdf=pdf, json=js))
        return 0
    if args.gdpr_command == "erase":
        from app.gdpr.same_person import records_of_person

        found = [r.participant_id for r in records_of_person(db, retention.find_person(db, args.personal_number))]
        done = retention.erase_on_request(db, found, args.reason, force=args.force)
        print(ngettext("Erased {n} registration of this person.", "Erased {n} registrations of this person.",
                       done.people).format(n=done.people))
        print(_("Erased: {n} records. Every laptop erases the person at its next sync.").format(n=done.records))
        return 0
    if args.gdpr_command == "purge":
        due = retention.purge(db, dry_run=args.dry_run)
        for d in due:
            print(f"{d.masked_personal_number}\t{_(REASON_LABELS[d.reason])}")
        if args.dry_run:
            print(_("{n} people are due for erasure (nothing was erased).").format(n=len(due)))
        else:
            print(_("{n} people erased.").format(n=len(due)))
        return 0
    rows = audit.entries(db)
    if args.json:
        print(json.dumps([{"at": r.at.isoformat(), "action": r.action, "device": r.device, "user": r.user,
                           "people": r.people, "detail": r.detail} for r in rows], ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        print("\t".join((format_datetime(r.local_at), _(audit.ACTIONS.get(r.action, r.action)), str(r.people), r.user,
                         r.device[:8], r.detail)))
    if not rows:
        print(_("The audit log is empty."))
    return 0


REASON_LABELS = {
    "request": N_("On request"),
    "retention": N_("The retention period has ended"),
    "never-participated": N_("Never took part"),
}
