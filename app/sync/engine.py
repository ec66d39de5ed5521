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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DataError, IntegrityError

from app import config
from app.db import Database
from app.errors import UserError
from app.i18n import _, ngettext
from app.models import SyncAlias, SyncAudit, SyncChange, SyncFork, SyncOutBatch, SyncPeer, utcnow
from app.progress import Cancelled, Progress
from app.sync import folder as share
from app.sync import restore, snapshot
from app.sync.agent import sync_agent
from app.sync.capture import APPLYING, MODELS_BY_TABLE, state_of
from app.sync.clock import stamp_ms
from app.sync.crypto import ProgrammeKey, read_key_file, remember_key, remembered_key, write_key_file
from app.sync.merge import Merger
from app.sync.stored import get_setting as _get
from app.sync.stored import put_setting as _set

log = logging.getLogger(__name__)

BATCH_MAX = 20_000  # change lines per batch: bounds memory and the size of one import transaction
MASS_DELETE_SHARE = 0.2  # a batch deleting more than a fifth of a table waits for confirmation ...
MASS_DELETE_MIN = 10  # ... when it deletes at least this many records
SKEW_WARN_MS = 5 * 60 * 1000
SKEW_HOLD_MS = 24 * 3600 * 1000



@dataclass
class PartnerReport:
    device: str
    applied: int = 0  # batches applied in this run
    seq: int = 0  # last batch applied (cursor)
    state: str = "ok"  # ok | stopped | waiting | confirm | ended (the partner forked: a new identity goes on)
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
    forked: str = ""  # the new identity, when this laptop forked in this run

    @property
    def all_in(self) -> bool:
        return all(p.state == "ok" for p in self.partners)

    def problems(self) -> list[str]:
        return [p.message for p in self.partners if p.state not in ("ok", "ended")]

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
            "forked": self.forked,
        }


# --- small helpers ------------------------------------------------------------------------------

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
    """Make an empty folder the programme's shared folder and write a new key file to hand out.

    Everything is checked before anything is written, and a failure leaves neither the folder's
    files nor the key behind: the key must never end up inside the shared folder."""
    folder, key_out = Path(folder).absolute(), Path(key_out).absolute()
    if key_out.resolve().is_relative_to(folder.resolve()):
        raise UserError(_("The key file must not be inside the shared folder: hand it to colleagues another way. Choose a key file outside {folder}.").format(folder=folder))
    if key_out.exists():
        raise UserError(_("The key file {file} already exists; choose a new file name.").format(file=key_out))
    if folder.exists() and any(folder.iterdir()):
        share.setup_folder(folder, ProgrammeKey.generate())  # raises the precise error, writes nothing
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    key = ProgrammeKey.generate()
    try:
        share.setup_folder(folder, key)
        write_key_file(key_out, key)
    except (OSError, UserError) as exc:
        for path in (folder / "format.json", folder / "devices"):
            try:
                path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)
            except OSError:
                pass
        for path in created:  # the folders this set-up made, innermost first
            try:
                path.rmdir()
            except OSError:
                break
        if isinstance(exc, UserError):
            raise
        raise UserError(_("The shared folder could not be set up ({error}); nothing was left behind.").format(error=type(exc).__name__)) from None
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


def _own_batches(s, device: str) -> list[SyncOutBatch]:
    return list(s.scalars(select(SyncOutBatch).where(SyncOutBatch.device_id == device).order_by(SyncOutBatch.seq)))


_LINE_COLUMNS = (SyncChange.table_name, SyncChange.record_id, SyncChange.op, SyncChange.hlc, SyncChange.fields,
                 SyncChange.base, SyncChange.changed_by)


def _line(t: str, rid: str, op: str, h: str, f: str, b: str, w: str = "") -> dict:
    """A change line of a batch, from a sync_changes row (_LINE_COLUMNS); "w" names who made it
    (lines of older versions have none: the partner then records its own writer)."""
    line = {"t": t, "id": rid, "op": op, "h": h, "f": json.loads(f), "b": json.loads(b) if b else {}}
    if w:
        line["w"] = w
    return line


def _change_lines(s, batch_id: int) -> list[dict]:
    rows = s.execute(select(*_LINE_COLUMNS).where(SyncChange.batch_id == batch_id).order_by(SyncChange.seq)).all()
    return [_line(*r) for r in rows]


def _last_batch(s, device: str) -> SyncOutBatch | None:
    return s.scalars(select(SyncOutBatch).where(SyncOutBatch.device_id == device)
                     .order_by(SyncOutBatch.seq.desc()).limit(1)).first()


def _reserve(db: Database, key: ProgrammeKey, device: str) -> dict[int, tuple[list[dict], bytes]]:
    """Fix the next batches in the database before any file is written: their numbers, change lines,
    chain and header, in one transaction with the changes they carry. Returns {id: (changes, lines)}
    of the batches reserved now, so that writing them needs no second read."""
    reserved: dict[int, tuple[list[dict], bytes]] = {}
    while True:
        with db.write() as s:
            rows = s.execute(
                select(SyncChange.seq, *_LINE_COLUMNS)
                .where(SyncChange.batch_id.is_(None)).order_by(SyncChange.seq).limit(BATCH_MAX)
            ).all()
            if not rows:
                return reserved
            last = _last_batch(s, device)
            seq = (last.seq if last else 0) + 1
            prev = last.chain if last else ""
            changes = [_line(*r[1:]) for r in rows]
            lines = share.encode_lines(changes)
            body = share.sha256(lines)
            header = _header(s, key, device, seq, prev, body, len(changes), max(c["h"] for c in changes), _deps(s))
            out = SyncOutBatch(device_id=device, seq=seq, header=json.dumps(header, sort_keys=True), body=body,
                               chain=share.next_chain(prev, body), count=len(changes))
            s.add(out)
            s.flush()
            s.execute(update(SyncChange).where(SyncChange.seq >= rows[0][0], SyncChange.seq <= rows[-1][0],
                                               SyncChange.batch_id.is_(None)).values(batch_id=out.id))
            reserved[out.id] = (changes, lines)


def _header(s, key: ProgrammeKey, device: str, seq: int, prev: str, body: str, count: int, hlc_max: str,
            deps: dict) -> dict:
    header = {
        "format": share.FORMAT_VERSION, "schema": share.SCHEMA_VERSION, "device": device, "seq": seq,
        "prev": prev, "body": body, "key_id": key.key_id, "count": count, "hlc_max": hlc_max, "deps": deps,
        "app": config.version(),
    }
    if seq == 1:  # the first batch of an identity this laptop forked to names where it comes from
        fork = s.scalars(select(SyncFork).where(SyncFork.new_device == device, SyncFork.local.is_(True))).first()
        if fork is not None:
            header["fork_of"] = {"device": fork.old_device, "upto": fork.upto_seq, "chain": fork.upto_chain}
    return header


def _deps(s) -> dict[str, int]:
    return {p.device_id: p.seq for p in s.scalars(select(SyncPeer)) if p.seq > 0}


def _reserve_heal(s, key: ProgrammeKey, device: str, original: SyncOutBatch) -> int:
    """A new batch that carries again the change lines of `original` (damaged or lost on the share):
    its header names the number it replaces and that number's chain, so a partner stopped there
    can apply it in its place."""
    last = _last_batch(s, device)
    seq, prev = (last.seq + 1, last.chain) if last is not None else (1, "")
    source = original.source_id or original.id
    changes = _change_lines(s, source)
    lines = share.encode_lines(changes)
    body = share.sha256(lines)
    old = json.loads(original.header) if original.header else {}
    header = _header(s, key, device, seq, prev, body, len(changes), max((c["h"] for c in changes), default=""),
                     old.get("deps", {}))
    # a heal of a heal also stands in for everything the lost one stood in for
    more = [{"device": d, "seq": q, "chain": c} for d, q, c in _targets(old)] if original.source_id is not None else []
    header.update({"replaces": original.seq, "replaces_chain": original.chain, "replaces_device": original.device_id,
                   "replaces_more": more})
    s.add(SyncOutBatch(device_id=device, seq=seq, header=json.dumps(header, sort_keys=True), body=body,
                       chain=share.next_chain(prev, body), count=len(changes), source_id=source))
    s.flush()
    _audit(s, "healed", device, original.seq, f"republished as {seq}")
    return seq


def _file_state(path: Path, key: ProgrammeKey, out: SyncOutBatch) -> str:
    """'same' when the file is exactly the reserved batch, else 'missing' or 'foreign'."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    try:
        batch = share.decode_batch(data, key, device=out.device_id, seq=out.seq)
    except share.BatchError:
        return "foreign"
    header = json.loads(out.header) if out.header else {}
    if header.get("body"):
        same = batch.header.get("prev") == header.get("prev") and batch.body_hash == out.body
    else:  # a batch written before reservations existed: only the last one's file hash is known
        same = not out.chain or batch.file_hash == out.chain
    return "same" if same else "foreign"


def _holds_another_batch(path: Path, key: ProgrammeKey, out: SyncOutBatch) -> bool:
    """The file of this laptop's written batch `out` now holds another laptop's batch. A damaged or
    unreadable file does not count: a partner asks for it again and it is healed."""
    try:
        share.decode_batch(path.read_bytes(), key, device=out.device_id, seq=out.seq)
    except (OSError, share.BatchError):
        return False
    return _file_state(path, key, out) == "foreign"


def _fork(db: Database, device: str, seq: int, reason: str) -> str:
    """This laptop stops using `device` at `seq` (a foreign file holds that number: a copied
    database, a restored backup, a file a sync tool put there) and goes on as a new identity.
    Its batches from `seq` on are reserved again under the new identity, and `device`'s stream
    becomes a partner stream from seq - 1, so whatever another laptop wrote there is imported."""
    import uuid

    new = str(uuid.uuid4())
    with db.write() as s:
        current = _get(s, "device_id")
        if current != device:  # another process forked already
            return current
        before = s.scalars(select(SyncOutBatch).where(SyncOutBatch.device_id == device, SyncOutBatch.seq == seq - 1)).first()
        upto_chain = before.chain if before is not None else ""
        later = [b.id for b in s.scalars(select(SyncOutBatch).where(SyncOutBatch.device_id == device, SyncOutBatch.seq >= seq))]
        if later:
            s.execute(update(SyncChange).where(SyncChange.batch_id.in_(later)).values(batch_id=None))
            s.execute(delete(SyncOutBatch).where(SyncOutBatch.id.in_(later)))
        s.add(SyncFork(old_device=device, new_device=new, upto_seq=seq - 1, upto_chain=upto_chain, reason=reason,
                       local=True, shown=False))
        peer = s.get(SyncPeer, device)
        if peer is None:
            s.add(SyncPeer(device_id=device, seq=seq - 1, hash=upto_chain))
        else:
            peer.seq, peer.hash = seq - 1, upto_chain
        _set(s, "device_id", new)
        _audit(s, "forked", device, seq, f"continues as {new} ({reason})")
    log.warning("sync: a foreign batch holds this laptop's number %s; continuing as a new identity", seq)
    return new


def _diverged_at(own: list[SyncOutBatch], files: dict[int, Path], at: int) -> int:
    """Where this laptop's stream and another laptop's under the same identity part, at `at` or
    earlier. A foreign batch from `at` on that does not follow this laptop's batch before it shows
    that the other laptop wrote an earlier number too (this laptop's file there was lost or
    damaged when it wrote its own): the identity is this laptop's only up to the last batch the
    other one's chain goes through, or up to none."""
    chain_of = {0: "", **{b.seq: b.chain for b in own}}
    chains = {c: q for q, c in chain_of.items() if c or q == 0}  # (batches from before reservations: no chain)
    for q in sorted(q for q in files if q >= at and q - 1 in chain_of):
        try:
            header, _head, _blob = share.read_header(files[q].read_bytes())
            if int(header.get("seq", 0)) != q:
                continue  # a copied-in old batch (replay) tells nothing about the other chain
            prev = str(header.get("prev", ""))
        except (share.BatchError, OSError, TypeError, ValueError):
            continue
        if prev != chain_of[q - 1]:  # (else it follows this laptop's batch q - 1: parted at q >= at)
            at = min(at, chains.get(prev, 0) + 1)
    return at


def _write_reserved(db: Database, folder: Path, key: ProgrammeKey, device: str,
                    fresh: dict[int, tuple[list[dict], bytes]]) -> tuple[list[int], int | None]:
    """Write every reserved batch of `device` that is not yet on the share (or adopt the file a
    stopped run wrote). Returns the numbers written, and the number at which a foreign file was
    found (the caller forks), if any."""
    own_dir = _devices_dir(folder) / device
    written: list[int] = []
    with db.read() as s:
        pending = [b for b in _own_batches(s, device) if b.written_at is None]
    for out in pending:
        target = own_dir / share.batch_name(out.seq)
        state = _file_state(target, key, out)
        if state in ("foreign", "unreadable"):
            if state == "unreadable":
                raise UserError(_("Batch {seq} of this laptop cannot be read in the shared folder; nothing was lost, sync again later.").format(seq=out.seq))
            return written, out.seq
        if state == "missing":
            if out.id in fresh:
                changes, lines = fresh[out.id]
            else:
                with db.read() as s:
                    changes = _change_lines(s, out.source_id or out.id)
                lines = share.encode_lines(changes)
            data, _body = share.encode_batch(json.loads(out.header), changes, key, lines)
            try:
                own_dir.mkdir(parents=True, exist_ok=True)
                share.write_new_file(target, data)
            except FileExistsError:  # appeared meanwhile: decide on what is there now
                if _file_state(target, key, out) != "same":
                    return written, out.seq
            except PermissionError:
                raise UserError(_("The shared folder {folder} cannot be written to (permission denied). Nothing was lost: the changes are published at the next sync.").format(folder=folder)) from None
            except FileNotFoundError:
                raise UserError(_("The shared folder {folder} disappeared while publishing. Nothing was lost: the changes are published at the next sync.").format(folder=folder)) from None
            except OSError as exc:
                raise UserError(_("Could not write batch {seq} to the shared folder ({error}). Nothing was lost: the changes are published at the next sync.").format(seq=out.seq, error=type(exc).__name__)) from None
        share._hook("before_mark")
        with db.write() as s:
            row = s.get(SyncOutBatch, out.id)
            if row is not None and row.written_at is None:
                row.written_at = utcnow()
                _audit(s, "published", device, out.seq, f"{out.count} changes")
        written.append(out.seq)
    return written, None


def _targets(header: dict) -> list[tuple[str, int, str]]:
    """What a heal batch stands in for: (device, seq, chain) of each batch it carries again."""
    if not header.get("replaces"):
        return []
    out = [(header.get("replaces_device") or header.get("device", ""), header["replaces"], header.get("replaces_chain", ""))]
    for t in header.get("replaces_more") or []:
        if isinstance(t, dict):
            out.append((str(t.get("device", "")), int(t.get("seq", 0) or 0), str(t.get("chain", ""))))
    return out


def _heal_own(db: Database, key: ProgrammeKey, device: str, files: dict[int, Path], wanted: set[tuple[str, int]]) -> None:
    """Reserve a heal batch, once, for each written batch of this laptop that is missing from the
    share or that a partner asked for again (damaged, or lost on its way), also for the batches of
    an identity this laptop forked away from (up to where its chain was its own). A heal batch that
    is lost in turn is healed like any other."""
    with db.write() as s:
        mine = s.scalars(select(SyncOutBatch).order_by(SyncOutBatch.device_id, SyncOutBatch.seq)).all()
        healed = {(d, q) for b in mine if b.source_id is not None for d, q, _c in _targets(json.loads(b.header))}
        upto = {f.old_device: f.upto_seq for f in s.scalars(select(SyncFork).where(SyncFork.local.is_(True)))}
        for out in mine:
            key_ = (out.device_id, out.seq)
            if out.written_at is None or key_ in healed or out.seq <= snapshot.compacted_upto(s, out.device_id):
                continue  # (a removed batch is answered by the snapshot that covers it)
            if out.device_id == device:
                due = out.seq not in files or key_ in wanted
            else:
                due = key_ in wanted and out.seq <= upto.get(out.device_id, 0)
            if due:
                _reserve_heal(s, key, device, out)
                healed.add(key_)


def publish(db: Database, folder: Path, key: ProgrammeKey, wanted: set[tuple[str, int]] | None = None,
            report: SyncReport | None = None, listing: share.Listing | None = None) -> list[int]:
    """Publish what is not yet on the share. Never stops for good: a foreign file under this
    laptop's number makes it fork (a new identity) and publish there instead."""
    state = state_of(db)
    baseline(db)
    with db.write() as s:
        state.ensure(s.connection())
    published: list[int] = []
    for _attempt in range(5):  # each fork needs one more round; more would be a defect
        device = _current_device(db)
        files = (listing or share.list_folder(folder)).batches.get(device, {})
        listing = None  # after a fork the folder is read again
        with db.read() as s:
            own = _own_batches(s, device)
        top = max((b.seq for b in own), default=0)
        if any(q > top for q in files):  # a number this laptop never reserved: someone else's file
            unwritten = [b.seq for b in own if b.written_at is None]
            at = _diverged_at(own, files, min(unwritten + [top + 1]))
            _note_fork(report, _fork(db, device, at, "foreign-file"))
            continue
        newest = max((b for b in own if b.written_at is not None), key=lambda b: b.seq, default=None)
        if newest is not None and newest.seq in files and _holds_another_batch(files[newest.seq], key, newest):
            # a copy of this laptop (same identity) wrote that number after this laptop's file was lost
            _note_fork(report, _fork(db, device, _diverged_at(own, files, newest.seq), "foreign-file"))
            continue
        _heal_own(db, key, device, files, wanted or set())
        _settle_local(db)
        fresh = _reserve(db, key, device)
        written, foreign_at = _write_reserved(db, folder, key, device, fresh)
        published.extend(written)
        if foreign_at is None:
            return published
        with db.read() as s:
            own = _own_batches(s, device)
        files = share.list_folder(folder).batches.get(device, {})
        _note_fork(report, _fork(db, device, _diverged_at(own, files, foreign_at), "foreign-file"))
    raise UserError(_("Publishing stopped after several new identities in a row; nothing was lost. Check the shared folder and sync again."))


def _settle_local(db: Database) -> None:
    """Before publishing: this laptop's unpublished changes are settled here as the partners will
    settle them (identity merges, changes to merged-away records), so that all end the same."""
    from app.sync.identity import FOREIGN_KEYS
    from app.sync.merge import Merger

    tables = ["participants", "companies"]
    with db.write() as s:
        if s.scalar(select(SyncAlias.loser_id).limit(1)) is not None:
            tables = list(FOREIGN_KEYS)
        rows = s.execute(select(*_LINE_COLUMNS)
                         .where(SyncChange.batch_id.is_(None), SyncChange.table_name.in_(tables))
                         .order_by(SyncChange.seq)).all()
        if not rows:
            return
        s.info[APPLYING] = True
        try:
            Merger(s, state_of(db)).settle_local([_line(*r) for r in rows])
        finally:
            s.info.pop(APPLYING, None)


def _current_device(db: Database) -> str:
    with db.read() as s:
        return _get(s, "device_id")


def _note_fork(report: SyncReport | None, new_device: str) -> None:
    if report is not None:
        report.forked = new_device


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


def _earliest_forks(forks: list[SyncFork]) -> dict[str, SyncFork]:
    """old identity -> its fork (the one that ended it earliest)."""
    out: dict[str, SyncFork] = {}
    for f in sorted(forks, key=lambda f: f.upto_seq):
        out.setdefault(f.old_device, f)
    return out


def _find_heal(listing: share.Listing, dev: str, nxt: int, cursor_hash: str, key: ProgrammeKey,
               forks: list[SyncFork]) -> share.Batch | None:
    """A batch that carries again the changes of `dev`'s batch `nxt` (see _reserve_heal): a later one
    in `dev`'s folder, or one of the identities `dev`'s laptop continued as, however many forks on
    (a copy of a copy heals the first one's batches under its own, newest identity)."""
    places = [dev]
    for place in places:  # grows while it is walked: the forks of the forks, each identity once
        places.extend(f.new_device for f in forks if f.old_device == place and f.new_device not in places)
    for place in places:
        files = listing.batches.get(place, {})
        for seq in sorted(q for q in files if q > (nxt if place == dev else 0)):
            try:
                data = files[seq].read_bytes()
                header, _head, _blob = share.read_header(data)
                chains = [c for d, q, c in _targets(header) if (d, q) == (dev, nxt)]
                if not chains:
                    continue
                batch = share.decode_batch(data, key, device=place, seq=seq)
            except (share.BatchError, OSError, TypeError, ValueError):
                continue
            expected = chains[0]
            if not expected or not cursor_hash or share.next_chain(cursor_hash, batch.body_hash) == expected:
                return batch
    return None


def import_batches(db: Database, folder: Path, key: ProgrammeKey, report: SyncReport, *,
                   confirm_mass_delete: bool = False, progress: Progress | None = None,
                   wall: Callable[[], int] | None = None, listing: share.Listing | None = None) -> None:
    state = state_of(db)
    own = _current_device(db)
    listing = listing or share.list_folder(folder)
    report.ignored.extend(listing.ignored)
    with db.read() as s:
        peers = {p.device_id: p for p in s.scalars(select(SyncPeer))}
        cursors = {d: (p.seq, p.hash) for d, p in peers.items()}
        heads = {d: p.head_seq for d, p in peers.items()}
        all_forks = list(s.scalars(select(SyncFork)))
        forks = _earliest_forks(all_forks)
    partners = {dev: PartnerReport(dev, seq=cursors.get(dev, (0, ""))[0]) for dev in listing.batches if dev != own}
    report.partners = [partners[d] for d in sorted(partners)]
    total = sum(max(0, len(files) - cursors.get(dev, (0, ""))[0]) for dev, files in listing.batches.items() if dev != own)
    done = 0
    finished: set[str] = set()
    wants: dict[str, list[int]] = {}
    ended: set[str] = set()
    wall = wall or (lambda: int(time.time() * 1000))
    point: tuple[int, bool] | None = None  # the run's restore point (id, row-level), taken before the first batch
    # partner -> the number up to which its own batches are taken again from their heals only: the
    # ones applied were a copy's under the same identity (see rewind below)
    rewound: dict[str, int] = {}
    moved = True

    def blocked(dev: str, pr: PartnerReport, nxt: int, message: str) -> None:
        """The stream cannot go on at `nxt`: ended (its laptop forked before it), or ask again."""
        fork = forks.get(dev)
        if fork is not None and fork.upto_seq < nxt and nxt > rewound.get(dev, 0):
            ended.add(dev)
            # asked for all the same: when a copy forked, the original still writes as `dev` and
            # republishes it (a laptop that forked away itself has no such batch and stays silent)
            wants.setdefault(dev, []).append(nxt)
            _stop(pr, "ended", _("Partner {device} continues as {new}; its earlier identity ends at batch {seq}.").format(device=dev[:8], new=fork.new_device[:8], seq=fork.upto_seq))
        else:
            wants.setdefault(dev, []).append(nxt)
            _stop(pr, "stopped", message + " " + _("It is asked for again; the partner republishes it at its next sync."))
        finished.add(dev)

    while moved:
        moved = False
        for dev in sorted(partners):
            if dev in finished:
                continue
            pr = partners[dev]
            cur_seq, cur_hash = cursors.get(dev, (0, ""))
            nxt = cur_seq + 1
            files = listing.batches[dev]
            batch: share.Batch | None = None
            problem = ""
            if nxt <= rewound.get(dev, 0):  # the file there is the copy's: only the owner's heal will do
                problem = _("Partner {device}, batch {seq}: it does not follow the batch applied before (chain broken); rejected.").format(device=dev[:8], seq=nxt)
            elif nxt not in files:
                if any(sq > nxt for sq in files):
                    problem = _("Partner {device}: batch {seq} is missing from the shared folder (later batches are there).").format(device=dev[:8], seq=nxt)
                elif heads.get(dev, 0) >= nxt:
                    problem = _("Partner {device}: its last batch {seq} is missing from the shared folder.").format(device=dev[:8], seq=nxt)
                else:
                    finished.add(dev)
                    continue
            else:
                try:
                    batch = share.decode_batch(files[nxt].read_bytes(), key, device=dev, seq=nxt)
                    fork = forks.get(dev)
                    if (cur_hash and batch.header.get("prev", "") != cur_hash and fork is not None
                            and fork.upto_seq < cur_seq and dev not in rewound):
                        # a copy of that laptop wrote numbers after the fork point too (the original's
                        # files there were lost), and those are what was applied: the original's
                        # stream goes on from another chain, so take it again from the fork point
                        rewound[dev] = cur_seq
                        cursors[dev] = (fork.upto_seq, fork.upto_chain)
                        moved = True
                        continue
                    if cur_hash and batch.header.get("prev", "") != cur_hash:
                        _audit_now(db, "rejected", dev, nxt, "chain")
                        batch = None
                        problem = _("Partner {device}, batch {seq}: it does not follow the batch applied before (chain broken); rejected.").format(device=dev[:8], seq=nxt)
                except share.BatchError as exc:
                    if exc.keep_waiting:
                        _stop(pr, "stopped", _("Partner {device}, batch {seq}: {reason}.").format(device=dev[:8], seq=nxt, reason=exc.reason))
                        finished.add(dev)
                        continue
                    _audit_now(db, "rejected", dev, nxt, exc.reason)
                    problem = _("Partner {device}, batch {seq}: {reason}.").format(device=dev[:8], seq=nxt, reason=exc.reason)
                except OSError as exc:
                    _stop(pr, "stopped", _("Partner {device}, batch {seq}: the file cannot be read ({error}); tried again at the next sync.").format(device=dev[:8], seq=nxt, error=type(exc).__name__))
                    finished.add(dev)
                    continue
            chain = batch.chain if batch is not None else ""
            if batch is None:
                batch = _find_heal(listing, dev, nxt, cur_hash, key, all_forks)
                if batch is None:
                    blocked(dev, pr, nxt, problem)
                    continue
                chain = next(c for d, q, c in _targets(batch.header) if (d, q) == (dev, nxt))
            header = batch.header
            deps = header.get("deps") or {}
            missing = [(d, n) for d, n in deps.items()
                       if d != own and d not in ended and cursors.get(d, (0, ""))[0] < int(n)
                       and not (d in forks and forks[d].upto_seq < int(n) and cursors.get(d, (0, ""))[0] >= forks[d].upto_seq)]
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
                conflicts = _apply(db, state, dev, nxt, batch, chain, point)
            except (IntegrityError, DataError) as exc:
                log.warning("sync: batch %s of %s not applied (%s)", nxt, dev, type(exc.orig).__name__)
                _stop(pr, "stopped", _("Partner {device}, batch {seq}: the database refused it ({error}); tried again at the next sync.").format(device=dev[:8], seq=nxt, error=type(exc.orig).__name__))
                finished.add(dev)
                continue
            fork_of = header.get("fork_of")
            if isinstance(fork_of, dict) and fork_of.get("device"):
                _record_fork(db, fork_of, dev, forks)
            report.conflicts += conflicts
            cursors[dev] = (nxt, chain)
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
            row.want = json.dumps(wants.get(pr.device, []))
            if pr.device in ended:
                row.ended_by = forks[pr.device].new_device
            row.updated_at = utcnow()


def _record_fork(db: Database, fork_of: dict, new_device: str, forks: dict[str, SyncFork]) -> None:
    old = str(fork_of.get("device", ""))
    with db.write() as s:
        if s.get(SyncFork, (old, new_device)) is None:
            row = SyncFork(old_device=old, new_device=new_device, upto_seq=int(fork_of.get("upto", 0) or 0),
                           upto_chain=str(fork_of.get("chain", "")), reason="partner", local=False, shown=True)
            s.add(row)
            s.flush()
            known = forks.get(old)
            if known is None or row.upto_seq < known.upto_seq:
                forks[old] = row


def _stop(pr: PartnerReport, state: str, message: str) -> None:
    pr.state, pr.message = state, message


def _audit_now(db: Database, event: str, device: str, seq: int, detail: str) -> None:
    with db.write() as s:
        _audit(s, event, device, seq, detail)


def _apply(db: Database, state, dev: str, seq: int, batch: share.Batch, chain: str,
           point: tuple[int, bool] | None = None) -> int:
    share._hook("before_apply")
    with db.write() as s:
        s.info[APPLYING] = True
        merger = Merger(s, state)
        if point is not None and point[1]:
            merger.restore = []
        merger.apply(batch.changes, device=dev, seq=seq)
        merger.retry_parked()
        if point is not None:
            restore.keep_rows(s, point[0], dev, seq, merger.restore, len(batch.changes))
        share._hook("mid_apply")
        row = s.get(SyncPeer, dev)
        if row is None:
            row = SyncPeer(device_id=dev)
            s.add(row)
        row.seq, row.hash, row.updated_at, row.status, row.want = seq, chain, utcnow(), "", "[]"
        _audit(s, "applied", dev, seq, f"{len(batch.changes)} changes, {len(merger.conflicts)} conflicts")
        state.clock.observe(batch.header.get("hlc_max", ""))
        state.persist(s.connection())
    return len(merger.conflicts)


# --- acknowledgements -------------------------------------------------------------------------

ACKS_KEPT = 2  # own acknowledgement files left on the share (the newest is the one that counts)


def _read_acks(db: Database, key: ProgrammeKey, listing: share.Listing, own: str) -> set[tuple[str, int]]:
    """Take in the partners' newest acknowledgements: their last batch (so a lost last batch is
    noticed), their forks, and which of this laptop's batches they ask for again."""
    wanted: set[tuple[str, int]] = set()
    with db.write() as s:
        mine = {own} | {f.old_device for f in s.scalars(select(SyncFork).where(SyncFork.local.is_(True)))}
        for dev, files in sorted(listing.acks.items()):
            if dev == own:
                continue
            body = None
            for n in sorted(files, reverse=True):
                try:
                    body = share.decode_ack(files[n].read_bytes(), key, device=dev)
                except OSError:
                    body = None
                if body is not None:
                    break
            if body is None:
                continue
            snapshot.note_ack(s, dev, n, body)
            try:
                head = int((body.get("head") or {}).get("seq", 0))
                asked = [(d, int(q)) for d, qs in (body.get("want") or {}).items() if d in mine for q in qs]
                forks = [(str(f["device"]), str(f.get("new") or dev), int(f.get("upto", 0)), str(f.get("chain", "")))
                         for f in body.get("forks") or []]
            except (TypeError, ValueError, KeyError, AttributeError):
                continue
            peer = s.get(SyncPeer, dev)
            if peer is None:
                peer = SyncPeer(device_id=dev, seq=0)
                s.add(peer)
            peer.head_seq = head
            wanted.update(asked)
            if snapshot.asked_for_removed(s, set(asked)):
                snapshot.request_snapshot(s)
            for old, new, upto, chain in forks:
                if old != new and s.get(SyncFork, (old, new)) is None:
                    s.add(SyncFork(old_device=old, new_device=new, upto_seq=upto, upto_chain=chain, reason="partner",
                                   local=False, shown=True))
    return wanted


def _write_ack(db: Database, folder: Path, key: ProgrammeKey, report: SyncReport) -> None:
    """Publish this laptop's acknowledgement (a new file when it changed; older ones removed)."""
    with db.read() as s:
        device = _get(s, "device_id")
        written = [b for b in _own_batches(s, device) if b.written_at is not None]
        body = {
            "head": {"seq": written[-1].seq if written else 0, "chain": written[-1].chain if written else ""},
            "applied": {p.device_id: p.seq for p in s.scalars(select(SyncPeer)) if p.seq},
            "want": {p.device_id: json.loads(p.want) for p in s.scalars(select(SyncPeer)) if p.want not in ("", "[]")},
            "forks": [{"device": f.old_device, "new": f.new_device, "upto": f.upto_seq, "chain": f.upto_chain}
                      for f in s.scalars(select(SyncFork).where(SyncFork.local.is_(True)))],
            "day": snapshot.now().date().isoformat(),  # a new acknowledgement each day this laptop syncs
        }
        last = _get(s, "sync_ack_body")
    ack_dir = Path(folder) / "acks" / device
    text = json.dumps(body, sort_keys=True)
    present = sorted(int(m.group(1)) for p in (ack_dir.iterdir() if ack_dir.is_dir() else []) if (m := share.ACK_RE.match(p.name)))
    if text == last and present:
        return
    n = (present[-1] if present else 0) + 1
    try:
        ack_dir.mkdir(parents=True, exist_ok=True)
        for _attempt in range(10):
            try:
                share.write_new_file(ack_dir / share.ack_name(n), share.encode_ack(device, n, body, key))
                break
            except FileExistsError:
                n += 1
        for old in present[:-(ACKS_KEPT - 1) or None] if ACKS_KEPT > 1 else present:
            (ack_dir / share.ack_name(old)).unlink(missing_ok=True)
    except OSError as exc:
        report.warnings.append(_("The acknowledgement of this laptop could not be written to the shared folder ({error}); it is written at the next sync.").format(error=type(exc).__name__))
        return
    with db.write() as s:
        _set(s, "sync_ack_body", text)


# --- the whole round ----------------------------------------------------------------------------

def sync(db: Database, folder: Path, key_file: Path | None = None, progress: Progress | None = None,
         confirm_mass_delete: bool = False) -> SyncReport:
    """One sync round; on a server only one agent at a time (app/sync/agent.py)."""
    with sync_agent(db):
        return _sync(db, folder, key_file, progress, confirm_mass_delete)


def _sync(db: Database, folder: Path, key_file: Path | None, progress: Progress | None,
          confirm_mass_delete: bool) -> SyncReport:
    folder = Path(folder)
    key = _key(key_file)
    info = share.check_folder(folder)
    if info.get("key_id") != key.key_id:
        raise UserError(_("The programme key on this laptop does not belong to the shared folder {folder}; import the right key with --key FILE.").format(folder=folder))
    state = state_of(db)
    with db.write() as s:
        state.ensure(s.connection())
    report = SyncReport()
    try:
        listing = share.list_folder(folder)  # one reading of the folder serves the whole round
        wanted = _read_acks(db, key, listing, state.device or "")
        snapshot.restart_if_needed(db, key, listing, report)
        report.published = publish(db, folder, key, wanted, report, listing)
        import_batches(db, folder, key, report, confirm_mass_delete=confirm_mass_delete, progress=progress,
                       listing=listing)
        snapshot.maybe_write(db, folder, key, listing, report)
        _write_ack(db, folder, key, report)
        snapshot.compact(db, folder, key, listing, report)
    except FileNotFoundError:
        raise UserError(_("The shared folder {folder} disappeared during the sync. Nothing was lost; sync again once it is back.").format(folder=folder)) from None
    with db.write() as s:
        for fork in s.scalars(select(SyncFork).where(SyncFork.local.is_(True), SyncFork.shown.is_(False))):
            report.warnings.append(_("A batch from another copy of this database was found under this laptop's number in the shared folder (a copied database, a restored backup, or a file put there by a sync tool). This laptop now continues under a new identity; nothing was lost, and its unshared changes are published again."))
            fork.shown = True
        _set(s, "sync_last_report", json.dumps(report.as_json()))
        _set(s, "sync_folder", str(folder))
    return report
