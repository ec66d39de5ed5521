"""Sync: publish this laptop's changes, then import the partners' batches.

    report = sync(db, folder, key_file=None, progress=None, confirm_mass_delete=False)
    setup_folder(folder, key_out)

Publish writes the unpublished change log into the next numbered batch of this laptop's folder
and marks it published only once the file is verified. Import applies each partner's batches in
sequence order, one transaction per batch with the cursor; a gap, a damaged file or a batch that
waits for another partner stops that partner's stream only. A restore point is taken before the
first batch is applied (app/sync/restore.py: prior states of what the import changes, or a full copy
of the database for a large import).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import config
from app.db import Database
from app.errors import UserError
from app.i18n import _, ngettext
from app.models import Setting, SyncAudit, SyncChange, SyncPeer, utcnow
from app.sync import folder as share
from app.sync import restore
from app.sync.capture import APPLYING, MODELS_BY_TABLE, state_of
from app.sync.clock import stamp_ms
from app.sync.crypto import ProgrammeKey, read_key_file, remember_key, remembered_key, write_key_file
from app.sync.merge import Merger

log = logging.getLogger(__name__)

BATCH_MAX = 20_000  # change lines per batch: bounds memory and the size of one import transaction
MASS_DELETE_SHARE = 0.2  # a batch deleting more than a fifth of a table waits for confirmation ...
MASS_DELETE_MIN = 10  # ... when it deletes at least this many records
SKEW_WARN_MS = 5 * 60 * 1000
SKEW_HOLD_MS = 24 * 3600 * 1000

Progress = Callable[[int, int], "bool | None"]


class Cancelled(Exception):
    pass


@dataclass
class PartnerReport:
    device: str
    applied: int = 0  # batches applied in this run
    seq: int = 0  # last batch applied (cursor)
    state: str = "ok"  # ok | stopped | waiting | confirm
    message: str = ""


@dataclass
class SyncReport:
    published: list[int] = field(default_factory=list)
    partners: list[PartnerReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    conflicts: int = 0
    waiting_confirmation: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    restore_point: str = ""

    @property
    def all_in(self) -> bool:
        return all(p.state == "ok" for p in self.partners)

    def problems(self) -> list[str]:
        return [p.message for p in self.partners if p.state != "ok"]

    def lines(self) -> list[str]:
        out = [ngettext("Published {n} batch.", "Published {n} batches.", len(self.published)).format(n=len(self.published))]
        for p in self.partners:
            if p.state == "ok":
                out.append(_("Partner {device}: {n} batches applied, up to batch {seq}.").format(device=p.device[:8], n=p.applied, seq=p.seq))
            else:
                out.append(p.message)
        if self.conflicts:
            out.append(ngettext("{n} conflict kept for review on the Sync page.", "{n} conflicts kept for review on the Sync page.", self.conflicts).format(n=self.conflicts))
        if self.ignored:
            out.append(_("Ignored files the app did not write: {files}").format(files=", ".join(self.ignored)))
        out.extend(self.warnings)
        return out

    def as_json(self) -> dict:
        return {
            "published": self.published,
            "partners": [p.__dict__ for p in self.partners],
            "ignored": self.ignored,
            "conflicts": self.conflicts,
            "waiting_confirmation": self.waiting_confirmation,
            "warnings": self.warnings,
            "restore_point": self.restore_point,
        }


# --- small helpers ------------------------------------------------------------------------------

def _get(s, key: str, default: str = "") -> str:
    row = s.get(Setting, key)
    return row.value if row is not None else default


def _set(s, key: str, value: str) -> None:
    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=value))
    else:
        row.value = value


def _audit(s, event: str, device: str = "", seq: int | None = None, detail: str = "") -> None:
    s.add(SyncAudit(event=event, device_id=device, seq=seq, detail=detail))


def _key(key_file: Path | None) -> ProgrammeKey:
    if key_file is not None:
        key = read_key_file(key_file)
        remember_key(key)
        return key
    key = remembered_key()
    if key is None:
        raise UserError(_("No programme key on this laptop yet: run sync once with --key FILE (the key file from the colleague who set up the shared folder)."))
    return key


def setup_folder(folder: Path, key_out: Path) -> ProgrammeKey:
    """Make an empty folder the programme's shared folder and write a new key file to hand out."""
    folder, key_out = Path(folder), Path(key_out)
    if folder.exists() and any(folder.iterdir()):
        share.setup_folder(folder, ProgrammeKey.generate())  # raises the precise error
    key = ProgrammeKey.generate()
    write_key_file(key_out, key)
    share.setup_folder(folder, key)
    remember_key(key)
    return key


# --- publish ------------------------------------------------------------------------------------

def _devices_dir(folder: Path) -> Path:
    return Path(folder) / "devices"


def baseline(db: Database) -> int:
    """Records written before change capture existed (an older database, a raw copy) enter the
    change log once, as inserts, so that the first publish carries the whole programme."""
    from sqlalchemy import exists

    from app.models import SYNCED_MODELS, SyncClock
    from app.sync.capture import CHUNK, FIELDS, record_local

    state = state_of(db)
    count = 0
    with db.write() as s:
        if _get(s, "sync_baseline"):
            return 0
        conn = s.connection()
        state.ensure(conn)
        clk = SyncClock.__table__
        for model in SYNCED_MODELS:
            t, name = model.__table__, model.__tablename__
            ids = [r[0] for r in conn.execute(select(t.c.id).where(~exists().where(clk.c.table_name == name, clk.c.record_id == t.c.id)))]
            cols = [t.c[k] for k in FIELDS[name]]
            for i in range(0, len(ids), CHUNK * 10):
                part = ids[i : i + CHUNK * 10]
                rows = []
                for j in range(0, len(part), CHUNK):
                    rows.extend(conn.execute(select(*cols).where(t.c.id.in_(part[j : j + CHUNK]))).mappings())
                record_local(conn, state, name, [(r["id"], dict(r), True) for r in rows])
                count += len(rows)
        _set(s, "sync_baseline", "1")
    return count


def publish(db: Database, folder: Path, key: ProgrammeKey) -> list[int]:
    state = state_of(db)
    baseline(db)
    with db.write() as s:
        state.ensure(s.connection())
    device = state.device
    own_dir = _devices_dir(folder) / device
    published: list[int] = []
    while True:
        with db.read() as s:
            rows = s.execute(
                select(SyncChange).where(SyncChange.batch_id.is_(None)).order_by(SyncChange.seq).limit(BATCH_MAX)
            ).scalars().all()
            if not rows:
                break
            seq = int(_get(s, "sync_seq", "0")) + 1
            prev = _get(s, "sync_prev_hash")
            deps = {p.device_id: p.seq for p in s.scalars(select(SyncPeer)) if p.seq > 0}
        changes = [
            {"t": r.table_name, "id": r.record_id, "op": r.op, "h": r.hlc, "f": json.loads(r.fields),
             "b": json.loads(r.base) if r.base else {}}
            for r in rows
        ]
        header = {
            "format": share.FORMAT_VERSION, "schema": share.SCHEMA_VERSION, "device": device, "seq": seq,
            "prev": prev, "key_id": key.key_id, "count": len(changes), "hlc_max": max(r.hlc for r in rows),
            "deps": deps, "app": config.version(),
        }
        data, body_hash = share.encode_batch(header, changes, key)
        target = own_dir / share.batch_name(seq)
        try:
            own_dir.mkdir(exist_ok=True)
            if target.exists():
                file_hash = _adopt(target, key, device, seq, prev, body_hash)
            else:
                share.write_new_file(target, data)
                file_hash = share.sha256(data)
        except PermissionError:
            raise UserError(_("The shared folder {folder} cannot be written to (permission denied). Nothing was lost: the changes are published at the next sync.").format(folder=folder)) from None
        except FileNotFoundError:
            raise UserError(_("The shared folder {folder} disappeared while publishing. Nothing was lost: the changes are published at the next sync.").format(folder=folder)) from None
        except OSError as exc:
            raise UserError(_("Could not write batch {seq} to the shared folder ({error}). Nothing was lost: the changes are published at the next sync.").format(seq=seq, error=type(exc).__name__)) from None
        share._hook("before_mark")
        with db.write() as s:
            s.execute(
                update(SyncChange)
                .where(SyncChange.seq >= rows[0].seq, SyncChange.seq <= rows[-1].seq, SyncChange.batch_id.is_(None))
                .values(batch_id=seq)
            )
            _set(s, "sync_seq", str(seq))
            _set(s, "sync_prev_hash", file_hash)
            _audit(s, "published", device, seq, f"{len(changes)} changes")
        published.append(seq)
    return published


def _adopt(target: Path, key: ProgrammeKey, device: str, seq: int, prev: str, body_hash: str) -> str:
    """A batch with our next number exists: a previous run stopped after writing it."""
    data = target.read_bytes()
    try:
        batch = share.decode_batch(data, key, device=device, seq=seq)
    except share.BatchError:
        batch = None
    if batch is not None and batch.header.get("prev") == prev:
        lines = b"".join(json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n" for c in batch.changes)
        if share.sha256(lines) == body_hash:
            return batch.file_hash
    raise UserError(_("Batch {seq} of this laptop already exists in the shared folder with other contents (was this database restored from a backup?). Nothing was changed.").format(seq=seq))


# --- import -------------------------------------------------------------------------------------

def _mass_deletes(s, changes: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in changes:
        if ch.get("op") == "delete" and ch.get("t") in MODELS_BY_TABLE:
            counts[ch["t"]] = counts.get(ch["t"], 0) + 1
    heavy = {}
    for table, n in counts.items():
        model = MODELS_BY_TABLE[table]
        live = s.scalar(select(func.count()).select_from(model).where(model.deleted_at.is_(None))) or 0
        if n >= MASS_DELETE_MIN and n > live * MASS_DELETE_SHARE:
            heavy[table] = n
    return heavy


def import_batches(db: Database, folder: Path, key: ProgrammeKey, report: SyncReport, *,
                   confirm_mass_delete: bool = False, progress: Progress | None = None,
                   wall: Callable[[], int] | None = None) -> None:
    state = state_of(db)
    own = state.device
    listing = share.list_folder(folder)
    report.ignored.extend(listing.ignored)
    with db.read() as s:
        cursors = {p.device_id: (p.seq, p.hash) for p in s.scalars(select(SyncPeer))}
    partners = {dev: PartnerReport(dev, seq=cursors.get(dev, (0, ""))[0]) for dev in listing.batches if dev != own}
    report.partners = [partners[d] for d in sorted(partners)]
    total = sum(max(0, len(files) - cursors.get(dev, (0, ""))[0]) for dev, files in listing.batches.items() if dev != own)
    done = 0
    finished: set[str] = set()
    wall = wall or (lambda: int(time.time() * 1000))
    point: tuple[int, bool] | None = None  # the run's restore point (id, row-level), taken before the first batch
    moved = True
    while moved:
        moved = False
        for dev in sorted(partners):
            if dev in finished:
                continue
            pr = partners[dev]
            cur_seq, cur_hash = cursors.get(dev, (0, ""))
            nxt = cur_seq + 1
            files = listing.batches[dev]
            if nxt not in files:
                if any(sq > nxt for sq in files):
                    _stop(pr, "stopped", _("Partner {device}: waiting for batch {seq}, which is missing from the shared folder (later batches are there); it is applied once it arrives.").format(device=dev[:8], seq=nxt))
                finished.add(dev)
                continue
            try:
                batch = share.decode_batch(files[nxt].read_bytes(), key, device=dev, seq=nxt)
            except share.BatchError as exc:
                _stop(pr, "stopped", _("Partner {device}, batch {seq}: {reason}.").format(device=dev[:8], seq=nxt, reason=exc.reason))
                _audit_now(db, "rejected", dev, nxt, exc.reason)
                finished.add(dev)
                continue
            except OSError as exc:
                _stop(pr, "stopped", _("Partner {device}, batch {seq}: the file cannot be read ({error}); tried again at the next sync.").format(device=dev[:8], seq=nxt, error=type(exc).__name__))
                finished.add(dev)
                continue
            header = batch.header
            if header.get("prev", "") != cur_hash:
                _stop(pr, "stopped", _("Partner {device}, batch {seq}: it does not follow the batch applied before (chain broken); rejected.").format(device=dev[:8], seq=nxt))
                _audit_now(db, "rejected", dev, nxt, "chain")
                finished.add(dev)
                continue
            deps = header.get("deps") or {}
            missing = [(d, n) for d, n in deps.items() if d != own and cursors.get(d, (0, ""))[0] < int(n)]
            if missing:
                d, n = missing[0]
                _stop(pr, "waiting", _("Partner {device}, batch {seq}: waits for batch {dep_seq} of partner {dep}.").format(device=dev[:8], seq=nxt, dep_seq=n, dep=d[:8]))
                continue  # may move once the other partner's stream moves
            ahead = stamp_ms(header.get("hlc_max", "")) - wall()
            if ahead > SKEW_HOLD_MS and not confirm_mass_delete:
                _stop(pr, "confirm", _("Partner {device}, batch {seq}: its clock is more than a day ahead; it waits for your confirmation.").format(device=dev[:8], seq=nxt))
                report.waiting_confirmation.append(pr.message)
                finished.add(dev)
                continue
            if ahead > SKEW_WARN_MS:
                msg = _("Partner {device}'s clock is {minutes} minutes ahead; ask them to set the time.").format(device=dev[:8], minutes=ahead // 60000)
                if msg not in report.warnings:
                    report.warnings.append(msg)
            with db.read() as s:
                heavy = _mass_deletes(s, batch.changes)
            if heavy and not confirm_mass_delete:
                what = ", ".join(f"{t} {n}" for t, n in sorted(heavy.items()))
                _stop(pr, "confirm", _("Partner {device}, batch {seq}: would delete many records ({what}); it waits for your confirmation.").format(device=dev[:8], seq=nxt, what=what))
                report.waiting_confirmation.append(pr.message)
                finished.add(dev)
                continue
            if point is None:
                # a full copy only when it is cheap next to the import: this laptop's first import,
                # a large batch, or a full batch (BATCH_MAX changes) still pending behind this one
                large = (not any(c[0] for c in cursors.values())
                         or len(batch.changes) >= restore.FULL_COPY_CHANGES
                         or any(len(fs) - cursors.get(d, (0, ""))[0] > 1 for d, fs in listing.batches.items() if d != own))
                point = restore.open_point(db, large=large)
                report.restore_point = str(point[0])
            try:
                conflicts = _apply(db, state, dev, nxt, batch, point)
            except IntegrityError as exc:
                log.warning("sync: batch %s of %s not applied (%s)", nxt, dev, type(exc.orig).__name__)
                _stop(pr, "stopped", _("Partner {device}, batch {seq}: cannot be applied (a record it refers to is missing); tried again at the next sync.").format(device=dev[:8], seq=nxt))
                finished.add(dev)
                continue
            report.conflicts += conflicts
            cursors[dev] = (nxt, batch.file_hash)
            pr.seq, pr.applied, pr.state, pr.message = nxt, pr.applied + 1, "ok", ""
            moved = True
            done += 1
            if progress is not None and progress(done, max(total, done)) is False:
                raise Cancelled()
    with db.write() as s:
        for pr in partners.values():
            row = s.get(SyncPeer, pr.device)
            if row is None:
                row = SyncPeer(device_id=pr.device, seq=pr.seq)
                s.add(row)
            row.status = pr.message
            row.updated_at = utcnow()


def _stop(pr: PartnerReport, state: str, message: str) -> None:
    pr.state, pr.message = state, message


def _audit_now(db: Database, event: str, device: str, seq: int, detail: str) -> None:
    with db.write() as s:
        _audit(s, event, device, seq, detail)


def _apply(db: Database, state, dev: str, seq: int, batch: share.Batch, point: tuple[int, bool] | None = None) -> int:
    share._hook("before_apply")
    with db.write() as s:
        s.info[APPLYING] = True
        merger = Merger(s, state)
        if point is not None and point[1]:
            merger.restore = []
        merger.apply(batch.changes)
        if point is not None:
            restore.keep_rows(s, point[0], dev, seq, merger.restore, len(batch.changes))
        share._hook("mid_apply")
        row = s.get(SyncPeer, dev)
        if row is None:
            row = SyncPeer(device_id=dev)
            s.add(row)
        row.seq, row.hash, row.updated_at, row.status = seq, batch.file_hash, utcnow(), ""
        _audit(s, "applied", dev, seq, f"{len(batch.changes)} changes, {len(merger.conflicts)} conflicts")
        state.clock.observe(batch.header.get("hlc_max", ""))
        state.persist(s.connection())
    return len(merger.conflicts)


# --- the whole round ----------------------------------------------------------------------------

def sync(db: Database, folder: Path, key_file: Path | None = None, progress: Progress | None = None,
         confirm_mass_delete: bool = False) -> SyncReport:
    folder = Path(folder)
    key = _key(key_file)
    info = share.check_folder(folder)
    if info.get("key_id") != key.key_id:
        raise UserError(_("The programme key on this laptop does not belong to the shared folder {folder}; import the right key with --key FILE.").format(folder=folder))
    state = state_of(db)
    with db.write() as s:
        state.ensure(s.connection())
        own_seq = int(_get(s, "sync_seq", "0"))
    own_dir = _devices_dir(folder) / state.device
    if own_seq and not (own_dir.is_dir() and any(own_dir.iterdir())):
        raise UserError(_("This laptop's published batches are missing from {folder} (another folder, or it was emptied?). Nothing was changed.").format(folder=folder))
    report = SyncReport()
    report.published = publish(db, folder, key)
    try:
        import_batches(db, folder, key, report, confirm_mass_delete=confirm_mass_delete, progress=progress)
    except FileNotFoundError:
        raise UserError(_("The shared folder {folder} disappeared during the sync. Nothing was lost; sync again once it is back.").format(folder=folder)) from None
    with db.write() as s:
        _set(s, "sync_last_report", json.dumps(report.as_json()))
        _set(s, "sync_folder", str(folder))
    return report
