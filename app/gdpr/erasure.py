"""Erasure (GDPR Art. 17; gallring): a person goes from every copy this laptop keeps.

`erase(db, participant_id, reason)` erases one person here and records an `Erasure` (a synced
record holding no personal data), so that every laptop erases the same person when it applies it
(`erase_applied`, called by the sync merge and the bundle import). On each laptop the person's
records go for good (participant, also merged-away duplicates of it, enrollments, marks,
certificates with their frozen PDFs, originals, tombstones included), and with them every copy in
the sync bookkeeping (change log, clocks, conflicts, parked changes, restore rows, aliases); then
the database file is rewritten from its live content and the WAL emptied, and the person is erased
inside every backup and restore-point copy (a copy that cannot be edited is removed; after an
erasure of more than COPY_EDIT_LIMIT records, such as the purge at the end of the retention
period, every copy is removed).

The ids of the erased records are kept (`gdpr_erased`: random UUIDs): `screen()` drops every later
change for them, so a laptop that had not seen the erasure cannot bring the person back.

The hours the person leaves in past months stay as anonymous totals per month and company (in the
Erasure, the same on every laptop): `month_totals()` counts them with the live participants'.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.db import Database
from app.errors import UserError
from app.gdpr import audit
from app.i18n import _
from app.models import Attendance, CourseSession, ErasedRecord, Erasure, Participant, Setting, SyncRestorePoint
from app.validation import FieldError

log = logging.getLogger(__name__)

REASONS = ("request", "retention", "never-participated")
# the person's own records, by the column that names them
CHILD_TABLES = ("enrollments", "attendance", "certificates", "originals_received")
# sync bookkeeping that names records by (table, id)
BOOKKEEPING = ("sync_changes", "sync_clocks", "sync_conflicts", "sync_restore_rows", "sync_parked")
CHUNK = 500
_POST_COMMIT = "kursdesk_gdpr_after_commit"
# an erasure of more records than this removes the backup copies instead of editing each
COPY_EDIT_LIMIT = 20_000


class _RemoveCopy(Exception):
    """Raised inside a backup copy's edit: Database.rewrite_backups then removes the copy."""


@dataclass(frozen=True)
class Erased:
    people: int
    records: int  # rows removed from this database


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


# --- what belongs to a person ---------------------------------------------------------------

# the ids being erased, for joins (a temporary table: per connection, never kept)
_IDS = sa.Table("kursdesk_erased_ids", sa.MetaData(), sa.Column("table_name", sa.String(40)), sa.Column("record_id", sa.String(36)))


def _table(name: str, *columns: str):
    """A lightweight table (not the ORM's): the same statements serve this database and older copies."""
    return sa.table(name, *(sa.column(c) for c in columns))


def _person_ids(conn: Connection, tables: set[str], participant_ids: set[str]) -> dict[str, set[str]]:
    """Every record id of these people, in this database: {table: ids}. Duplicates merged into one
    of them (sync_aliases) are the same person: their records go too."""
    pids = set(participant_ids)
    if "sync_aliases" in tables:
        al = _table("sync_aliases", "table_name", "loser_id", "survivor_id")
        for _round in range(3):  # a survivor's losers, and a loser's survivor
            more = set()
            for part in _chunks(sorted(pids)):
                mine = al.c.table_name == "participants"
                more.update(conn.scalars(select(al.c.loser_id).where(mine, al.c.survivor_id.in_(part))))
                more.update(conn.scalars(select(al.c.survivor_id).where(mine, al.c.loser_id.in_(part))))
            if more <= pids:
                break
            pids |= more
    out: dict[str, set[str]] = {"participants": pids}
    for table in CHILD_TABLES:
        if table in tables:
            t = _table(table, "id", "participant_id")
            out[table] = {rid for part in _chunks(sorted(pids))
                          for rid in conn.scalars(select(t.c.id).where(t.c.participant_id.in_(part)))}
    return out


def _remove(conn: Connection, ids: dict[str, set[str]], erased_by: dict[str, str] | None) -> int:
    """Delete these records and every bookkeeping row naming them (Core statements on this
    connection, so that sync's change capture logs nothing: each laptop erases by itself). With
    `erased_by` ({participant id: erasure id}), the ids are remembered as erased. Returns how many
    records went. The ids go into a temporary table first: each table is then cleaned by one
    statement joined to it (the bookkeeping tables are not indexed by record id)."""
    tables = set(inspect(conn).get_table_names())
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_IDS.name} "
                         "(table_name VARCHAR(40), record_id VARCHAR(36), PRIMARY KEY (table_name, record_id))")
    conn.execute(sa.delete(_IDS))
    rows = [{"table_name": table, "record_id": rid} for table, rids in ids.items() for rid in rids]
    for i in range(0, len(rows), 50_000):
        conn.execute(_IDS.insert(), rows[i : i + 50_000])

    def of(table: str):
        return select(_IDS.c.record_id).where(_IDS.c.table_name == table)

    removed = 0
    if "certificates" in tables and ids.get("certificates"):  # a correction names the one it replaced
        t = _table("certificates", "id", "supersedes_id")
        conn.execute(sa.update(t).where(t.c.id.in_(of("certificates"))).values(supersedes_id=None))
    for table in CHILD_TABLES + ("participants",):  # children first (foreign keys)
        if table in tables and ids.get(table):
            t = _table(table, "id")
            removed += conn.execute(sa.delete(t).where(t.c.id.in_(of(table)))).rowcount
    for book in BOOKKEEPING + ("gdpr_erased",):
        if book in tables:
            b = _table(book, "table_name", "record_id")
            conn.execute(sa.delete(b).where(select(_IDS.c.record_id).where(
                _IDS.c.table_name == b.c.table_name, _IDS.c.record_id == b.c.record_id).exists()))
    if "sync_aliases" in tables:
        al = _table("sync_aliases", "table_name", "loser_id", "survivor_id")
        for column in (al.c.loser_id, al.c.survivor_id):
            conn.execute(sa.delete(al).where(select(_IDS.c.record_id).where(
                _IDS.c.table_name == al.c.table_name, _IDS.c.record_id == column).exists()))
    pids = ids.get("participants", set())
    if "sync_parked" in tables and pids:  # a parked line of another record that names the person (few rows)
        parked = _table("sync_parked", "id", "change")
        gone = [pk for pk, change in conn.execute(select(parked.c.id, parked.c.change))
                if any(pid in change for pid in pids)]
        for part in _chunks(gone):
            conn.execute(sa.delete(parked).where(parked.c.id.in_(part)))
    if pids and "month_closes" in tables:
        _scrub_closes(conn, pids)
    if "month_checks" in tables:  # the month status's computations name people: it computes them again
        conn.execute(sa.delete(_table("month_checks")))
    if erased_by is not None and "gdpr_erased" in tables:
        t = ErasedRecord.__table__
        conn.execute(t.insert().from_select(["table_name", "record_id", "erasure_id"],
                                            select(_IDS.c.table_name, _IDS.c.record_id, sa.literal(""))))
        marked = [{"rid": pid, "eid": eid} for pid, eid in erased_by.items() if pid in pids]
        if marked:
            conn.execute(t.update().where(t.c.table_name == "participants", t.c.record_id == sa.bindparam("rid"))
                         .values(erasure_id=sa.bindparam("eid")), marked)
    conn.execute(sa.delete(_IDS))
    return removed


def _scrub_closes(conn: Connection, pids: set[str]) -> None:
    """A closed month keeps the totals that were sent; the person's own entries (their id with
    their hours, gender, age, employer and dates) go (app.services.month_close.without_people)."""
    from app.services.month_close import _dumps, without_people

    t = _table("month_closes", "id", "hours", "figures")
    for rid, hours in conn.execute(select(t.c.id, t.c.hours)).all():
        parsed = json.loads(hours or "{}")
        if not pids.intersection(parsed):
            continue
        figures = json.loads(conn.execute(select(t.c.figures).where(t.c.id == rid)).scalar_one() or "{}")
        scrubbed = without_people(parsed, figures, pids)
        if scrubbed is not None:
            conn.execute(sa.update(t).where(t.c.id == rid).values(hours=_dumps(scrubbed[0]), figures=_dumps(scrubbed[1])))


def _erase_here(session: Session, erasures: dict[str, str]) -> int:
    """Erase {participant id: erasure id} in the caller's transaction, and arrange for the file,
    its WAL and the backups to be cleaned once it commits."""
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA secure_delete=ON")  # freed cells are zeroed, not left behind
    tables = set(inspect(conn).get_table_names())
    ids = _person_ids(conn, tables, set(erasures))
    removed = _remove(conn, ids, erasures)
    if sqlite:
        conn.exec_driver_sql("PRAGMA secure_delete=OFF")
    _refix_unwritten_batches(session)
    _after_commit(session, ids)
    _request_snapshot(session)
    return removed


def _refix_unwritten_batches(session: Session) -> None:
    """This laptop's batches fixed but not yet written (a publish stopped half-way) may have lost
    change lines of the erased person: their content, hash and chain are fixed again, so that the
    file written later is what the header says (else partners would find it damaged)."""
    from app.models import SyncOutBatch
    from app.sync import folder as share
    from app.sync.engine import _change_lines

    pending = session.scalars(select(SyncOutBatch).where(SyncOutBatch.written_at.is_(None))
                              .order_by(SyncOutBatch.device_id, SyncOutBatch.seq)).all()
    chains: dict[str, str] = {}
    for out in pending:
        if out.device_id not in chains:
            before = session.scalars(select(SyncOutBatch.chain).where(
                SyncOutBatch.device_id == out.device_id, SyncOutBatch.seq < out.seq)
                .order_by(SyncOutBatch.seq.desc()).limit(1)).first()
            chains[out.device_id] = before or ""
        prev = chains[out.device_id]
        lines = _change_lines(session, out.source_id or out.id)
        body = share.sha256(share.encode_lines(lines))
        header = json.loads(out.header) if out.header else {}
        if body != out.body or header.get("prev", prev) != prev:
            header.update(prev=prev, body=body, count=len(lines), hlc_max=max((c["h"] for c in lines), default=""))
            out.header, out.body, out.count = json.dumps(header, sort_keys=True), body, len(lines)
            out.chain = share.next_chain(prev, body)
        chains[out.device_id] = out.chain
    session.flush()


def _request_snapshot(session: Session) -> None:
    from app.sync.snapshot import request_snapshot

    request_snapshot(session)


def _after_commit(session: Session, ids: dict[str, set[str]]) -> None:
    """Once the erasure is committed: rewrite the database file, empty its WAL, and erase inside
    every backup and restore-point copy (the person by id, in each copy's own records)."""
    db: Database | None = session.info.get("kursdesk_db")
    if db is None:
        return
    pending = session.info.setdefault(_POST_COMMIT, {})
    first = not pending
    for t, rids in ids.items():
        pending.setdefault(t, set()).update(rids)
    if not first:
        return
    copies = [p for p in session.scalars(select(SyncRestorePoint.backup).where(SyncRestorePoint.backup != ""))]

    def clean(sess) -> None:
        todo = sess.info.pop(_POST_COMMIT, {})
        if todo:
            clean_copies(db, todo, copies)

    event.listen(session, "after_commit", clean, once=True)
    event.listen(session, "after_rollback", lambda sess: sess.info.pop(_POST_COMMIT, None), once=True)


def clean_copies(db: Database, ids: dict[str, set[str]], extra: list[str] = ()) -> tuple[int, int]:
    """The database file rewritten and its WAL emptied; the people erased inside every backup copy
    (by their ids here, and by their records the copy holds). Returns (copies edited, removed)."""
    db.compact()
    pids = set(ids.get("participants", ()))
    large = sum(map(len, ids.values())) > COPY_EDIT_LIMIT

    def edit(conn) -> None:
        if large:  # editing every copy would take as long as the erasure itself, each: the copies go
            raise _RemoveCopy()
        tables = set(inspect(conn).get_table_names())
        found = _person_ids(conn, tables, pids)
        for t, rids in ids.items():  # records the copy holds under ids the live database has lost
            found.setdefault(t, set()).update(rids)
        _remove(conn, found, {})

    return db.rewrite_backups(edit, list(extra))


# --- erasing here, on request or when due ---------------------------------------------------

def _totals(db: Database, pids: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """The hours each of these people counts for in each month (as the reports count them), by
    company: {participant id: {month: {company id: minutes}}}. One report query per month."""
    from app.services.reports import month_hours

    months: set[str] = set()
    with db.read() as s:
        for part in _chunks(sorted(set(pids))):
            months.update(d.strftime("%Y-%m") for d in s.scalars(
                select(CourseSession.date).join(Attendance, Attendance.session_id == CourseSession.id)
                .where(Attendance.participant_id.in_(part)).distinct()))
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    wanted = set(pids)
    many = len(wanted) > 500  # then the whole month in one go is faster than by id
    for month in sorted(months):
        for row in month_hours(db, month, None if many else pids, with_dates=False):
            if row.participant_id not in wanted:
                continue
            if row.minutes:
                out[row.participant_id].setdefault(month, {})[row.company_id or ""] = row.minutes
    return out


def erase(db: Database, participant_ids: list[str] | str, reason: str, *, forced: bool = False,
          detail: str = "", today: date | None = None, one_person: bool = False) -> Erased:
    """Erase these people on this laptop and record one erasure each for the others (one
    transaction). The audit log records it: the reason and how many people (one when the ids are
    `one_person`'s records), no names."""
    assert reason in REASONS, reason
    pids = [participant_ids] if isinstance(participant_ids, str) else list(participant_ids)
    totals = _totals(db, pids)
    today = today or date.today()
    with db.write() as s:
        device = s.get(Setting, "device_id")
        present = {pid for part in _chunks(sorted(set(pids)))
                   for pid in s.scalars(select(Participant.id).where(Participant.id.in_(part)))}
        if not present:
            raise UserError(_("There is no one to erase."))
        rows = [Erasure(participant_id=pid, erased_on=today, reason=reason, forced=forced,
                        device=device.value if device else "", totals=json.dumps(totals.get(pid, {}), sort_keys=True))
                for pid in sorted(present)]
        s.add_all(rows)
        s.flush()
        records = _erase_here(s, {e.participant_id: e.id for e in rows})
        audit.record_in(s, "erasure", 1 if one_person else len(rows),
                        " ".join(p for p in (reason, "forced" if forced else "", detail) if p))
    log.info("%d people erased (%s)", len(rows), reason)
    return Erased(len(rows), records)


# --- erasures that arrive (sync, bundle) ----------------------------------------------------

def erase_applied(session: Session, erasure_ids: list[str]) -> int:
    """Erasures just written into this database by sync or a bundle: erase their people here too
    (those not already gone). Runs in the caller's transaction; returns how many people."""
    if not erasure_ids:
        return 0
    todo: dict[str, str] = {}
    for part in _chunks(sorted(set(erasure_ids))):
        for eid, pid in session.execute(select(Erasure.id, Erasure.participant_id).where(Erasure.id.in_(part))):
            todo[pid] = eid
    done = erased_participants(session)
    todo = {pid: eid for pid, eid in todo.items() if pid not in done}
    if not todo:
        return 0
    # every arriving erasure counts, even of a person this laptop never had: their later changes must stay out
    _erase_here(session, todo)
    audit.record_in(session, "erasure-received", len(todo))
    return len(todo)


def screen(conn: Connection, items: list, line: Callable[[Any], dict]) -> list:
    """The incoming changes without those of erased people: a change of an erased record, or one
    naming an erased participant (a mark recorded on a laptop that had not seen the erasure; its
    record id is remembered as erased too). Erasures themselves pass."""
    t = ErasedRecord.__table__
    if conn.execute(select(t.c.record_id).limit(1)).first() is None:
        return items
    pids = {r[0] for r in conn.execute(select(t.c.record_id).where(t.c.table_name == "participants"))}
    ids = sorted({str(line(it).get("id")) for it in items if isinstance(line(it), dict)})
    known: set[tuple[str, str]] = set()
    for part in _chunks(ids):
        known.update(conn.execute(select(t.c.table_name, t.c.record_id).where(t.c.record_id.in_(part))).all())
    kept, dropped = [], []
    for it in items:
        ch = line(it)
        if not isinstance(ch, dict) or ch.get("t") == "erasures":
            kept.append(it)
            continue
        fields = ch.get("f") if isinstance(ch.get("f"), dict) else {}
        if (ch.get("t"), ch.get("id")) in known:
            continue
        if fields.get("participant_id") in pids:
            dropped.append({"table_name": str(ch.get("t"))[:40], "record_id": str(ch.get("id"))[:36], "erasure_id": ""})
            known.add((ch.get("t"), ch.get("id")))
            continue
        kept.append(it)
    if dropped:
        conn.execute(t.insert(), dropped)
    if len(kept) < len(items):
        log.info("sync: %d changes of erased people dropped", len(items) - len(kept))
    return kept


def erased_participants(session: Session) -> set[str]:
    return set(session.scalars(select(ErasedRecord.record_id).where(ErasedRecord.table_name == "participants")))


# --- the JSON bundle ------------------------------------------------------------------------

def totals_text(value: str) -> str:
    """An erasure's anonymous totals as the bundle carries them (JSON text), checked."""
    try:
        data = json.loads(value)
        ok = isinstance(data, dict) and all(
            isinstance(m, str) and len(m) == 7 and isinstance(v, dict)
            and all(isinstance(c, str) and isinstance(n, int) and 0 <= n < 10**7 for c, n in v.items())
            for m, v in data.items())
    except ValueError:
        ok = False
    if not ok:
        raise FieldError("totals", _("Must be the hours per month and company as JSON text."))
    return json.dumps(data, sort_keys=True)


def leave_out_erased(session: Session, parsed: dict) -> None:
    """Before a bundle is checked: its records of erased people (here, or by its own erasures) go."""
    pids = erased_participants(session) | {v.get("participant_id") for v in parsed["erasures"].records.values()}
    gone = {(t, r) for t, r in session.execute(select(ErasedRecord.table_name, ErasedRecord.record_id))}
    if not pids and not gone:
        return
    for key, part in parsed.items():
        if key == "erasures":
            continue
        part.records = {rid: v for rid, v in part.records.items()
                        if (key, rid) not in gone and not (key == "participants" and rid in pids)
                        and v.get("participant_id") not in pids}


# --- past months' totals --------------------------------------------------------------------

def anonymous_minutes(db: Database, month: str) -> dict[str, int]:
    """Minutes of erased people in the month, by company id ("" = no employer)."""
    out: dict[str, int] = defaultdict(int)
    with db.read() as s:
        for (totals,) in s.execute(select(Erasure.totals).where(Erasure.deleted_at.is_(None))):
            for company, minutes in (json.loads(totals or "{}").get(month) or {}).items():
                out[company] += int(minutes)
    return dict(out)


def month_totals(db: Database, month: str) -> dict[str, int]:
    """Attended minutes in the month by company id: the live participants' and the erased people's
    anonymous totals together, so a past month's figures stay the same after an erasure. (Per type
    of organisation: group these by the company's organisation_type.)"""
    from app.services.reports import month_hours, to_month

    key = to_month(month).key
    out: dict[str, int] = defaultdict(int)
    for row in month_hours(db, key, with_dates=False):
        out[row.company_id or ""] += row.minutes
    for company, minutes in anonymous_minutes(db, key).items():
        out[company] += minutes
    return {k: v for k, v in out.items() if v}
