"""`kursdesk month close|status` and `kursdesk report check` (issue 13): the text the commands
print. app/cli.py parses the arguments and opens the database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from app.db import Database
from app.i18n import _, format_date, format_datetime
from app.services import month_close as mc
from app.services.reports import to_month

FINDINGS_EXIT = 3  # the control report found something


def month_close(db: Database, month: str, out: Path | None, lang: str | None) -> int:
    m = to_month(month)
    if out is not None:
        v = mc.write_and_close(db, m, out, lang=lang)
    else:
        v = mc.close_month(db, m)
    print(_("{month} closed (version {n}): {people} participants, {hours} hours.").format(
        month=m.label(), n=v.version, people=v.figures.get("participants", 0),
        hours=mc.hours_text(Decimal(v.figures.get("hours", "0")))))
    for name, digest in sorted(v.files.items()):
        print(f"  {name}  SHA-256 {digest}")
    return 0


def _state_text(st: mc.MonthStatus) -> str:
    if st.state == mc.OPEN:
        return _("open")
    when = format_datetime(mc.local_time(st.closed_at))
    if st.state == mc.CHANGED:
        return _("changed after close (closed {when} by {user})").format(when=when, user=st.closed_by or "?")
    return _("closed {when} by {user}").format(when=when, user=st.closed_by or "?")


def month_status(db: Database, as_json: bool) -> int:
    rows = mc.month_status(db)
    if as_json:
        print(json.dumps([st.as_json() for st in rows], ensure_ascii=False, indent=2))
        return 0
    for st in rows:
        line = f"{st.month}  {_state_text(st)}  " + _("SCB due {due}").format(due=format_date(st.due))
        if st.resend:
            line += "  " + _("must be sent to SCB again")
        print(line)
        for d in st.differences:
            print("    " + _("{who}: {before} h before, {after} h now").format(
                who=f"{d.masked_personal_number} {d.name}".strip(), before=mc.hours_text(d.before), after=mc.hours_text(d.after)))
    resend = mc.months_to_resend(rows)
    if resend:
        print(_("To send to SCB again: {months}").format(months=", ".join(resend)))
    return 0


def report_check(db: Database, month: str) -> int:
    from app.services.control_report import control_report

    m = to_month(month)
    findings = control_report(db, m)
    for f in findings:
        print(f.text)
    if not findings:
        print(_("No findings for {month}.").format(month=m.label()))
        return 0
    return FINDINGS_EXIT
