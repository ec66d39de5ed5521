"""Snapshots: the whole synced state in one encrypted file, so that the shared folder can forget.

    request_snapshot(session)                    the next sync round writes a snapshot (an erasure)
    restart_if_needed(db, key, listing, report)  start again from a snapshot (a new laptop, or one
                                                 whose next batches were removed)
    maybe_write(db, folder, key, listing, report)   now and then, a snapshot of this laptop's state
    compact(db, folder, key, listing, report)    remove this laptop's batches that an acknowledged
                                                 snapshot covers
    inactive_partners(db)                        laptops that no longer hold the history back

A snapshot, `snapshots/<device-id>/00000001.snap`, holds every synced record with its field clocks,
the identity merges (aliases), the parked changes and the forks, as of the batches it names in its
header: `covers` = {device: [seq, chain]}. A laptop that starts from it takes those records in bulk,
sets its cursors to `covers`, applies its own changes that the snapshot does not cover on top (as
its partners apply them from its batches) and goes on with the batches after `covers`.

Once every known, active laptop has acknowledged past a snapshot (its acknowledgement's `applied`
reaches `covers` for every other device), each laptop removes its own batches up to `covers` and
its own snapshots that it dominates. A laptop whose acknowledgement changed last more than
`sync.inactive_days` ago (by this laptop's clock, so a partner's wrong clock does not count) no longer
holds the history back, and its snapshots that such a snapshot dominates are removed by the others
(it is not there to remove them, and they may hold an erased person); when it comes back its next
batches are gone and it starts again from a snapshot, keeping and publishing its own changes.

File: KURSDESK-SYNC-SNAPSHOT line, header JSON line (UUIDs, numbers, hashes), a seal line (AES-GCM
tag over the two lines above, so the header can be trusted without decrypting the body), then
nonce + AES-GCM(zlib(body)) with the three lines as associated data. The body is checked
against the header's hash before anything is written. A laptop on SQLite writes format 3: a whole
SQLite database of its schema, tables and indexes, holding the synced state only
(app/sync/snapshot_db.py); an empty laptop at the same schema puts it in place through SQLite's
backup API, any other copies its rows with INSERT ... SELECT. Elsewhere (PostgreSQL) a laptop writes
format 2, an SQLite image of the synced fields (_state_image), which the joiner attaches and copies;
a joiner on another database reads either in Python. Format-1 bodies (JSON lines of rows, read by
SQLite's json_each) still load when an older snapshot is the one that serves.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import DBAPIError

from app import config
from app.db import ForeignKeyViolation
from app.i18n import _
from app.models import (
    SYNCED_MODELS,
    SyncAlias,
    SyncAudit,
    SyncChange,
    SyncClock,
    SyncFork,
    SyncOutBatch,
    SyncParked,
    SyncPeer,
    utcnow,
)
from app.sync import folder as share
from app.sync import snapshot_db
from app.sync.capture import APPLYING, CHUNK, FIELDS, KINDS, LOCAL_ONLY_FIELDS, _insert_many, decode, state_of
from app.sync.crypto import InvalidTag, ProgrammeKey
from app.sync.stored import get_setting as _get
from app.sync.stored import put_setting as _set

log = logging.getLogger(__name__)

MAGIC = b"KURSDESK-SYNC-SNAPSHOT\n"
# 3: the body is a whole SQLite database of the writer's schema holding the synced state
# (app/sync/snapshot_db.py), written by a laptop on SQLite; 2: an SQLite image of the synced tables'
# fields only (_state_image), written on any other database; 1 (still read): JSON lines of rows
FORMAT = 3
OTHER = "kursdesk_other"  # the image's table of aliases, parked changes and forks (JSON rows)
ROWS_PER_LINE = 5000
REQUESTED = "sync_snapshot_due"  # "1": the next round writes a snapshot (request_snapshot; branch gdpr tests it)
LAST_WRITTEN = "sync_snapshot_last"  # ISO time (this laptop's clock) of its last snapshot
COMPACTED = "sync_compacted"  # JSON {device: seq}: this laptop removed its batches up to seq
ACKS_SEEN = "sync_acks_seen"  # JSON {device: [ack number, ISO time it was first seen here]}
VERIFIED = "sync_snapshots_verified"  # JSON [device/n:content hash]: snapshots decrypted whole once
LAST_NUMBER = "sync_snapshot_n"  # the number of this laptop's last snapshot
INACTIVE_DAYS_KEY = "sync.inactive_days"
INACTIVE_DAYS_DEFAULT = 90
# a snapshot is written when the batches it would cover, not covered by the newest one, reach this
# size (and at least half the newest snapshot's size), or a week after this laptop's last one
MIN_UNCOVERED_BYTES = 256 * 1024
SNAPSHOT_DAYS = 7


def now() -> datetime:
    """This laptop's clock (tests move it)."""
    return utcnow()


class SnapshotError(Exception):
    """A snapshot that cannot be used; `reason` is translated and free of personal data."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SnapshotFile:
    path: Path
    header: dict

    @property
    def device(self) -> str:
        return self.header["device"]

    @property
    def n(self) -> int:
        return int(self.header["n"])

    @property
    def covers(self) -> dict[str, tuple[int, str]]:
        return {d: (int(v[0]), str(v[1])) for d, v in (self.header.get("covers") or {}).items()}

    def rank(self) -> tuple:
        """Newer = more batches covered (vectors of two writers need not be comparable)."""
        return (sum(q for q, _c in self.covers.values()), self.device, self.n)

    def dominates(self, other: SnapshotFile) -> bool:
        mine = self.covers
        return all(mine.get(d, (0, ""))[0] >= q for d, (q, _c) in other.covers.items())


@dataclass(frozen=True)
class InactivePartner:
    device: str
    last_seen: datetime


# --- small helpers ------------------------------------------------------------------------------

def _json(s, key: str, default):
    text = _get(s, key)
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def request_snapshot(session) -> None:
    """The next sync round writes a new snapshot (inside the caller's transaction). Once every
    laptop has acknowledged it, the batches and snapshots before it are removed from the share:
    an erasure calls this after erasing, so that nothing on the share holds the person any more."""
    _set(session, REQUESTED, "1")


def _mine(s) -> set[str]:
    """This laptop's identities: the current one and those it forked away from."""
    return {_get(s, "device_id")} | {f.old_device for f in s.scalars(select(SyncFork).where(SyncFork.local.is_(True)))}


def snapshot_name(n: int) -> str:
    return f"{n:08d}.snap"


# --- the file -----------------------------------------------------------------------------------

def _seal(key: ProgrammeKey, head: bytes) -> bytes:
    return base64.b64encode(key.encrypt(b"", head)) + b"\n"


def encode_snapshot(header: dict, chunks: list[bytes], key: ProgrammeKey) -> bytes:
    head = MAGIC + json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"
    sealed = head + _seal(key, head)
    return sealed + key.encrypt(b"".join(chunks), sealed)


def read_snapshot_header(path: Path, key: ProgrammeKey) -> dict:
    """The header of a snapshot file, authenticated (its seal), without reading the body."""
    with open(path, "rb") as fh:
        start = fh.read(64 * 1024)
    if not start.startswith(MAGIC):
        raise SnapshotError(_("not a Kursdesk snapshot or damaged (start of file)"))
    end = start.find(b"\n", len(MAGIC))
    end2 = start.find(b"\n", end + 1) if end >= 0 else -1
    if end < 0 or end2 < 0:
        raise SnapshotError(_("damaged snapshot (header incomplete)"))
    head = start[: end + 1]
    try:
        key.decrypt(base64.b64decode(start[end + 1 : end2], validate=True), head)
        header = json.loads(start[len(MAGIC) : end])
        if not isinstance(header, dict) or header.get("key_id") != key.key_id:
            raise ValueError
        header["device"], header["n"], header["covers"]  # noqa: B018 - present
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise SnapshotError(_("damaged or altered snapshot (header)")) from None
    if int(header.get("format", 0)) > FORMAT or int(header.get("schema", 0)) > share.SCHEMA_VERSION:
        raise SnapshotError(_("made by a newer Kursdesk; update the app"))
    return header


def _decrypted(path: Path, key: ProgrammeKey) -> bytes:
    """The compressed body, authenticated (AES-GCM over all of it, the three head lines included)."""
    data = path.read_bytes()
    end = data.find(b"\n", len(MAGIC))
    end2 = data.find(b"\n", end + 1)
    sealed = data[: end2 + 1]
    try:
        return key.decrypt(data[end2 + 1 :], sealed)
    except (InvalidTag, ValueError):
        raise SnapshotError(_("damaged or altered snapshot (authentication failed)")) from None


def read_snapshot_image(path: Path, key: ProgrammeKey, header: dict) -> bytes:
    """A format-2 snapshot's body: an SQLite database image, checked against its header's hash."""
    try:
        image = zlib.decompress(_decrypted(path, key))
    except zlib.error:
        raise SnapshotError(_("damaged snapshot (unreadable content)")) from None
    if hashlib.sha256(image).hexdigest() != header.get("body") or not image.startswith(b"SQLite format 3\x00"):
        raise SnapshotError(_("damaged snapshot (content does not match its header)"))
    return image


def read_snapshot_body(path: Path, key: ProgrammeKey, header: dict):
    """An older (format 1) snapshot's JSON lines (bytes), one at a time; raises SnapshotError
    before the first one when the file is damaged (AES-GCM authenticates all of it)."""
    packed = _decrypted(path, key)
    inflate = zlib.decompressobj()
    digest = hashlib.sha256()
    rest = b""
    lines: list[bytes] = []

    def pieces():
        step = 4 * 1024 * 1024
        for i in range(0, len(packed), step):
            yield inflate.decompress(packed[i : i + step])
        yield inflate.flush()

    try:
        for piece in pieces():
            digest.update(piece)
            rest += piece
            *lines, rest = rest.split(b"\n")
            yield from lines
    except zlib.error:
        raise SnapshotError(_("damaged snapshot (unreadable content)")) from None
    if rest or digest.hexdigest() != header.get("body"):
        raise SnapshotError(_("damaged snapshot (content does not match its header)"))


def check_snapshot(path: Path, key: ProgrammeKey, header: dict) -> None:
    """Read a snapshot whole: SnapshotError when its body is damaged."""
    if int(header.get("format", 1)) >= 2:
        read_snapshot_image(path, key, header)
    else:
        for _line in read_snapshot_body(path, key, header):
            pass


_HEADERS: dict[tuple, dict] = {}  # (path, size, mtime, key id) -> header: read once per file, not thrice a round


def list_snapshots(listing: share.Listing, key: ProgrammeKey) -> tuple[list[SnapshotFile], list[str]]:
    """Every snapshot on the share whose header is sound (newest first), and the problems found."""
    found, problems = [], []
    for dev, files in sorted(listing.snapshots.items()):
        for n, path in sorted(files.items()):
            try:
                st = path.stat()
                known = (str(path), st.st_size, st.st_mtime_ns, key.key_id)
                header = _HEADERS.get(known) or read_snapshot_header(path, key)
                _HEADERS[known] = header
                if header.get("device") != dev or int(header.get("n", 0)) != n:
                    raise SnapshotError(_("its header names another laptop or number than its file name"))
                found.append(SnapshotFile(path, header))
            except SnapshotError as exc:
                problems.append(_("Snapshot {n} of laptop {device}: {reason}.").format(n=n, device=dev[:8], reason=exc.reason))
            except OSError:
                continue  # removed meanwhile, or not readable now: tried again at the next sync
    found.sort(key=SnapshotFile.rank, reverse=True)
    return found, problems


def usable(snap: SnapshotFile, listing: share.Listing) -> bool:
    """Whether the batches after the snapshot are all still there (none removed before them)."""
    covers = snap.covers
    for dev, files in listing.batches.items():
        if files and min(files) > covers.get(dev, (0, ""))[0] + 1:
            return False
    return True


# --- writing ------------------------------------------------------------------------------------

def _other_objects(s):
    """The identity merges (aliases), the parked changes and the forks, as JSON objects."""
    aliases = [list(r) for r in s.execute(select(SyncAlias.table_name, SyncAlias.loser_id, SyncAlias.survivor_id))]
    if aliases:
        yield {"aliases": aliases}
    p = SyncParked.__table__
    parked = [[r.device_id, r.batch_seq, r.table_name, r.record_id, r.change, r.reason, r.detail, r.parked_at.isoformat()]
              for r in s.connection().execute(select(p).order_by(p.c.id))]
    if parked:
        yield {"parked": parked}
    forks = [[f.old_device, f.new_device, f.upto_seq, f.upto_chain] for f in s.scalars(select(SyncFork))]
    if forks:
        yield {"forks": forks}


def _storer(table, fields, dialect):
    """rows (with a clock last) -> tuples of the fields as SQLAlchemy stores them on SQLite, column
    by column (values that repeat, like dates, converted once)."""
    steps = {}
    for i, f in enumerate(fields):
        proc = table.c[f].type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None and KINDS[table.name].get(f) in ("date", "time"):
            memo: dict = {None: None}
            steps[i] = lambda v, memo=memo, proc=proc: memo[v] if v in memo else memo.setdefault(v, proc(v))
        elif proc is not None:
            steps[i] = proc

    def store(rows) -> list[tuple]:
        cols = list(zip(*rows))[: len(fields)]
        for i, convert in steps.items():
            cols[i] = map(convert, cols[i])
        return list(zip(*cols))

    return store


def _q(name: str) -> str:
    """A table or column name quoted for the image (SQLite's own quoting)."""
    return '"' + name.replace('"', '""') + '"'


def _state_image(s) -> bytes:
    """The synced state as an SQLite database image (sqlite3 serialize): per synced table one table
    of its synced fields, as SQLAlchemy stores them on SQLite, with neither types nor indexes (the
    joiner copies the rows as they are and builds its indexes once); `sync_clocks`; and the
    aliases, parked changes and forks as JSON rows of OTHER."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    conn = s.connection()
    clk = SyncClock.__table__
    img = sqlite3.connect(":memory:")
    try:
        img.execute("CREATE TABLE sync_clocks (table_name, record_id, data)")
        img.execute(f"CREATE TABLE {OTHER} (data)")
        for model in SYNCED_MODELS:
            t, name = model.__table__, model.__tablename__
            fields = FIELDS[name]
            img.execute(f"CREATE TABLE {_q(name)} ({', '.join(map(_q, fields))})")
            insert = f"INSERT INTO {_q(name)} VALUES ({', '.join('?' * len(fields))})"
            store = _storer(t, fields, dialect)
            at = fields.index("id")
            q = (select(*[t.c[f] for f in fields], clk.c.data)
                 .select_from(t.outerjoin(clk, and_(clk.c.table_name == name, clk.c.record_id == t.c.id)))
                 .order_by(t.c.id))
            for part in conn.execution_options(yield_per=ROWS_PER_LINE).execute(q).partitions():
                img.executemany(insert, store(part))
                img.executemany("INSERT INTO sync_clocks VALUES (?, ?, ?)",
                                [(name, r[at], r[-1]) for r in part if r[-1] is not None])
        img.executemany(f"INSERT INTO {OTHER} VALUES (?)",
                        [(json.dumps(obj, ensure_ascii=False),) for obj in _other_objects(s)])
        img.commit()
        return img.serialize()
    finally:
        img.close()


def _read_state(db, device: str) -> tuple[dict | None, str, bytes, int]:
    """(covers, hlc, image, format) read in one transaction, so that the state and what it covers
    agree. On SQLite the image is the whole database (format 3), elsewhere the synced fields (2)."""
    if not db.is_sqlite:
        with db.read() as s:
            covers = _covers(s, device)
            return (covers, _get(s, "sync_hlc"), _state_image(s) if covers is not None else b"", 2)
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute(f"ATTACH ':memory:' AS {snapshot_db.SCHEMA}")
        try:
            with db.Session(bind=conn) as s:
                covers = _covers(s, device)
                if covers is None:
                    return None, "", b"", FORMAT
                hlc = _get(s, "sync_hlc")
                return covers, hlc, snapshot_db.whole_image(raw), FORMAT  # its last read, then its end
        finally:
            if conn.in_transaction():
                conn.rollback()
            raw.execute(f"DETACH {snapshot_db.SCHEMA}")


def _covers(s, device: str) -> dict[str, list] | None:
    """What this laptop's state holds: its cursors and its own written batches; None while it has
    changes not yet in a written batch (the window may be writing)."""
    if s.scalar(select(SyncChange.seq).where(SyncChange.batch_id.is_(None)).limit(1)) is not None:
        return None
    if s.scalar(select(SyncOutBatch.id).where(SyncOutBatch.written_at.is_(None)).limit(1)) is not None:
        return None
    covers = {p.device_id: [p.seq, p.hash] for p in s.scalars(select(SyncPeer)) if p.seq > 0}
    for dev in _mine(s):
        last = s.scalars(select(SyncOutBatch).where(SyncOutBatch.device_id == dev)
                         .order_by(SyncOutBatch.seq.desc()).limit(1)).first()
        if last is not None:
            covers[dev] = [last.seq, last.chain]
    return covers


def _due(db, listing: share.Listing, snaps: list[SnapshotFile]) -> bool:
    with db.write() as s:
        if _get(s, REQUESTED) == "1":
            return True
        last = _get(s, LAST_WRITTEN)
        if not last:  # the week starts with this laptop's first sync
            _set(s, LAST_WRITTEN, now().isoformat())
    newest = snaps[0] if snaps else None
    covers = newest.covers if newest else {}
    uncovered = 0
    for dev, files in listing.batches.items():
        for q, path in files.items():
            if q > covers.get(dev, (0, ""))[0]:
                try:
                    uncovered += path.stat().st_size
                except OSError:
                    pass
    if not uncovered:
        return False
    try:
        size = newest.path.stat().st_size if newest is not None else 0
    except OSError:
        size = 0
    if uncovered >= max(MIN_UNCOVERED_BYTES, size // 2):
        return True
    try:
        return bool(last) and abs(now() - datetime.fromisoformat(last)) >= timedelta(days=SNAPSHOT_DAYS)
    except ValueError:
        return True


def maybe_write(db, folder: Path, key: ProgrammeKey, listing: share.Listing, report) -> int | None:
    """Write a snapshot of this laptop's state when one is due (see the module's docstring) and this
    laptop is in step with every partner. Returns its number, or None."""
    if any(p.state not in ("ok", "ended") for p in report.partners):
        return None
    listing = share.list_folder(folder)  # with the batches this round published
    snaps, _problems = list_snapshots(listing, key)
    device = state_of(db).device or ""
    if not _due(db, listing, snaps):
        return None
    covers, hlc, image, fmt = _read_state(db, device)
    if covers is None:
        return None
    own_dir = Path(folder) / "snapshots" / device
    present = sorted(int(m.group(1)) for p in (own_dir.iterdir() if own_dir.is_dir() else []) if (m := share.SNAP_RE.match(p.name)))
    with db.read() as s:  # a number is never used twice, even after its file was removed
        n = max(present + [int(_get(s, LAST_NUMBER) or 0)]) + 1
    header = {"format": fmt, "schema": share.SCHEMA_VERSION, "device": device, "n": n,
              "key_id": key.key_id, "covers": covers, "hlc_max": hlc, "body": hashlib.sha256(image).hexdigest(),
              "app": config.version(), "created": now().isoformat(timespec="seconds")}
    data = encode_snapshot(header, [zlib.compress(image, 1)], key)
    size = len(image)
    del image
    try:
        own_dir.mkdir(parents=True, exist_ok=True)
        for stale in own_dir.glob(".*.tmp"):  # a write that was killed half-way
            stale.unlink(missing_ok=True)
        share.write_new_file(own_dir / snapshot_name(n), data)
        read_snapshot_header(own_dir / snapshot_name(n), key)
    except (OSError, SnapshotError) as exc:
        report.warnings.append(_("A snapshot could not be written to the shared folder ({error}); it is written at a later sync.").format(error=type(exc).__name__))
        return None
    written = SnapshotFile(own_dir / snapshot_name(n), header)
    with db.write() as s:
        _set(s, REQUESTED, "")
        _set(s, LAST_WRITTEN, now().isoformat())
        verified = _json(s, VERIFIED, [])
        verified.append(_verified_id(written))
        _set(s, LAST_NUMBER, str(n))
        _set(s, VERIFIED, json.dumps(verified[-20:]))
        s.add(SyncAudit(event="snapshot", device_id=device, seq=n, detail=f"{size} bytes"))
    for old in snaps:  # this laptop's older snapshots that the new one covers are not needed any more
        if old.device == device and written.dominates(old):
            _remove(old.path)
    return n


def _verified_id(snap: SnapshotFile) -> str:
    return f"{snap.device}/{snap.n}:{snap.header.get('body', '')}"  # the hash of its content


def _remove(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
        return True
    except OSError:  # held open by a laptop reading it (Windows): removed at a later sync
        return False


# --- starting again from a snapshot -------------------------------------------------------------

def restart_if_needed(db, key: ProgrammeKey, listing: share.Listing, report) -> SnapshotFile | None:
    """A laptop that has never imported anything, or whose next batch of some partner was removed
    (it was away longer than the kept history), starts again from the newest usable snapshot that
    takes it further. A damaged snapshot is passed over for an older one, or the batches."""
    with db.read() as s:
        mine = _mine(s)
        cursors = {p.device_id: p.seq for p in s.scalars(select(SyncPeer))}
    fresh = not any(cursors.get(d, 0) for d in listing.batches if d not in mine)
    snaps, problems = list_snapshots(listing, key)
    report.warnings.extend(problems)
    for snap in snaps:
        if not usable(snap, listing):
            continue
        ahead = [d for d, (q, _c) in snap.covers.items() if d not in mine and q > cursors.get(d, 0)]
        if not ahead:
            continue
        gone = [d for d in ahead if cursors.get(d, 0) + 1 not in listing.batches.get(d, {})]
        if not fresh and not gone:
            continue
        try:
            load(db, key, snap)
        except SnapshotError as exc:
            report.warnings.append(_("Snapshot {n} of laptop {device}: {reason}.").format(n=snap.n, device=snap.device[:8], reason=exc.reason))
            continue
        except OSError as exc:
            report.warnings.append(_("Snapshot {n} of laptop {device} cannot be read ({error}); tried again at the next sync.").format(n=snap.n, device=snap.device[:8], error=type(exc).__name__))
            continue
        if fresh:
            report.warnings.append(_("This laptop took the shared records from snapshot {n} of laptop {device} and the batches after it.").format(n=snap.n, device=snap.device[:8]))
        else:
            report.warnings.append(_("This laptop started again from snapshot {n} of laptop {device}; its own changes were kept and are published.").format(n=snap.n, device=snap.device[:8]))
        return snap
    return None


def load(db, key: ProgrammeKey, snap: SnapshotFile) -> None:
    """Replace the synced state with the snapshot's, in one transaction, and apply this laptop's
    own changes that it does not cover on top. Nothing is changed when the file is damaged: it is
    decrypted and checked whole before the transaction starts."""
    from app.sync import restore
    from app.sync.engine import baseline

    baseline(db)  # records from before change capture become changes first, so they are kept
    fmt = int(snap.header.get("format", 1))
    if fmt >= 2:
        held = [read_snapshot_image(snap.path, key, snap.header)]  # handed over: freed once SQLite holds a copy
        if fmt >= 3 and db.is_sqlite and _empty(db) and _put_whole_in_place(db, snap, held):
            return
        fill = lambda conn, s, stamp: _fill_from_image(db, conn, s, held.pop(), stamp)  # noqa: E731
    else:  # an older snapshot still on a share
        body = read_snapshot_body(snap.path, key, snap.header)
        first = next(body, None)  # authenticated and readable: only now is anything changed
        fill = lambda conn, s, stamp: _fill_from_lines(db, conn, s, snap, first, body, stamp)  # noqa: E731
    with db.read() as s:
        had_records = any(s.scalar(select(m.id).limit(1)) is not None for m in SYNCED_MODELS)
    if had_records:
        restore.open_point(db, large=True)
    try:
        _replace(db, state_of(db), snap, fill)
    except ForeignKeyViolation:
        raise SnapshotError(_("damaged snapshot (records refer to records it does not hold)")) from None


def _empty(db) -> bool:
    """No synced record, clock, change or batch: nothing of this laptop's needs merging into a
    snapshot, so its whole database can be put in place."""
    with db.read() as s:
        return all(s.scalar(select(m.__table__.c[next(iter(m.__table__.primary_key.columns)).key]).limit(1)) is None
                   for m in (*SYNCED_MODELS, SyncClock, SyncAlias, SyncParked, SyncChange, SyncOutBatch))


def _put_whole_in_place(db, snap: SnapshotFile, held: list[bytes]) -> bool:
    """A format-3 image written over an empty laptop's database, with the laptop's own tables
    (device id, settings, audit) copied into it first: one step of SQLite's backup API. False
    (nothing done, the image still in `held`) when the two schemas differ."""
    from app.db import BUSY_TIMEOUT_MS, DatabaseBusy

    con = snapshot_db.open_image(held[0])
    try:
        try:
            snapshot_db.attach_laptop(con, db.path)
            if not snapshot_db.same_schema(con, "main", snapshot_db.HERE):
                return False
            missing = snapshot_db.refers_to_missing(con)
        except sqlite3.DatabaseError:  # sound bytes (the hash matched) but not a database this app wrote
            raise SnapshotError(_("damaged snapshot (unreadable content)")) from None
        if missing:
            raise SnapshotError(_("damaged snapshot (records refer to records it does not hold)"))
        size = len(held.pop())
        state = state_of(db)

        def finish(s):
            conn = s.connection()
            state.ensure(conn)
            _finish(s, conn, state, snap, f"whole database put in place, {size} bytes", [])

        with db._write_lock:
            try:
                snapshot_db.put_in_place(db, con, finish, BUSY_TIMEOUT_MS)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise DatabaseBusy() from None
                raise
        return True
    finally:
        con.close()


def _replace(db, state, snap: SnapshotFile, fill) -> None:
    covers = snap.covers
    with db.bulk_load() as s:
        s.info[APPLYING] = True
        conn = s.connection()
        state.ensure(conn)
        uncovered = [b.id for b in s.scalars(select(SyncOutBatch)) if b.seq > covers.get(b.device_id, (0, ""))[0]]
        own = s.execute(select(SyncChange.table_name, SyncChange.record_id, SyncChange.op, SyncChange.hlc,
                               SyncChange.fields, SyncChange.base)
                        .where(SyncChange.batch_id.is_(None) | SyncChange.batch_id.in_(uncovered))
                        .order_by(SyncChange.seq)).all()
        own_lines = [{"t": t, "id": rid, "op": op, "h": h, "f": json.loads(f), "b": json.loads(b) if b else {}}
                     for t, rid, op, h, f, b in own]
        keep = _local_only(s)
        for model in reversed(SYNCED_MODELS):
            conn.execute(delete(model.__table__))
        for model in (SyncClock, SyncAlias, SyncParked):
            conn.execute(delete(model.__table__))
        # the tables are empty now: their indexes are built once at the end (twice as fast as row by row)
        indexes = [ix for m in (*SYNCED_MODELS, SyncClock) for ix in m.__table__.indexes]
        for ix in indexes:
            ix.drop(conn, checkfirst=True)
        detail = fill(conn, s, utcnow())
        for ix in indexes:
            ix.create(conn)
        _restore_local_only(s, keep)
        _finish(s, conn, state, snap, detail, own_lines)


def _finish(s, conn, state, snap: SnapshotFile, detail: str, own_lines: list[dict]) -> None:
    """After the snapshot's records are in: the cursors at what it covers, this laptop's own
    changes applied on top, the clock, and the audit event."""
    from app.sync.merge import Merger

    covers, mine = snap.covers, _mine(s)
    for dev in set(covers) | {p.device_id for p in s.scalars(select(SyncPeer))}:
        if dev in mine:
            continue
        peer = s.get(SyncPeer, dev) or SyncPeer(device_id=dev)
        peer.seq, peer.hash = covers.get(dev, (0, ""))
        peer.status, peer.want, peer.updated_at = "", "[]", utcnow()
        s.add(peer)
    s.flush()
    if own_lines:  # as the partners apply them from this laptop's batches
        merger = Merger(s, state)
        merger.apply(own_lines, device=state.device or "", seq=0)
    state.clock.observe(snap.header.get("hlc_max", ""))
    state.persist(conn)
    verified = _json(s, VERIFIED, [])  # read whole just now
    _set(s, VERIFIED, json.dumps((verified + [_verified_id(snap)])[-20:]))
    s.add(SyncAudit(event="snapshot-loaded", device_id=snap.device, seq=snap.n,
                    detail=f"{detail}, {len(own_lines)} own changes kept"))


def _image_columns(execute, schema: str, table) -> list[str]:
    """The image's columns of a table that are synced fields here ([]: the writer had no such
    table). A column this laptop does not know refuses the snapshot: it is never dropped silently
    (a format-3 image also holds the local-only columns, empty, and updated_at)."""
    cols = [r[1] for r in execute(f'PRAGMA {schema}.table_info("{table.name}")')]
    if cols and (not set(cols) <= set(table.c.keys()) or "id" not in cols):
        raise SnapshotError(_("damaged snapshot (unreadable content)"))
    return [c for c in cols if c in FIELDS[table.name]]


def _image_others(execute, schema: str):
    """The aliases, parked changes and forks of an image, as _load_other() takes them: JSON rows of
    OTHER (format 2) or the image's own sync tables (format 3)."""
    tables = {r[0] for r in execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}
    if OTHER in tables:
        return [json.loads(data) for (data,) in execute(f"SELECT data FROM {schema}.{OTHER} ORDER BY rowid")]
    parked = [[*r[:7], datetime.fromisoformat(r[7]).isoformat()] for r in execute(
        f"SELECT device_id, batch_seq, table_name, record_id, change, reason, detail, parked_at FROM {schema}.sync_parked ORDER BY id")]
    return [obj for obj in (
        {"aliases": [list(r) for r in execute(f"SELECT table_name, loser_id, survivor_id FROM {schema}.sync_aliases")]},
        {"parked": parked},
        {"forks": [list(r) for r in execute(f"SELECT old_device, new_device, upto_seq, upto_chain FROM {schema}.sync_forks")]},
    ) if next(iter(obj.values()))]


def _fill_from_image(db, conn, s, image: bytes, stamp: datetime) -> str:
    """The synced tables, clocks, aliases, parked changes and forks from a snapshot's SQLite image.
    On SQLite the image is attached in memory and each table copied by one INSERT ... SELECT;
    elsewhere its rows are read here and inserted through SQLAlchemy."""
    schema = db.attach_image(conn, image)
    if schema is None:
        return _fill_generic(conn, s, image, stamp)
    size = len(image)
    del image
    quote = conn.dialect.identifier_preparer.quote

    def execute(sql, params=()):
        return conn.exec_driver_sql(sql, params).fetchall()

    try:
        for model in SYNCED_MODELS:
            t, name = model.__table__, model.__tablename__
            cols = _image_columns(execute, schema, t)
            if not cols:
                continue
            names = ", ".join(quote(c) for c in cols)
            if "updated_at" in t.c and "updated_at" not in cols:
                proc = t.c.updated_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
                conn.exec_driver_sql(f"INSERT INTO main.{quote(name)} ({names}, updated_at) "
                                     f"SELECT {names}, ? FROM {schema}.{quote(name)}", (proc(stamp) if proc else stamp,))
            else:
                conn.exec_driver_sql(f"INSERT INTO main.{quote(name)} ({names}) SELECT {names} FROM {schema}.{quote(name)}")
        conn.exec_driver_sql(f"INSERT INTO main.sync_clocks (table_name, record_id, data) "  # in key order: appended
                             f"SELECT table_name, record_id, data FROM {schema}.sync_clocks ORDER BY table_name, record_id")
        for obj in _image_others(execute, schema):
            _load_other(conn, s, obj)
        clocks = execute(f"SELECT count(*) FROM {schema}.sync_clocks")[0][0]
    except (DBAPIError, ValueError, TypeError, KeyError):
        raise SnapshotError(_("damaged snapshot (unreadable content)")) from None
    return f"{size} bytes, {clocks} records with clocks"


def _fill_generic(conn, s, image: bytes, stamp: datetime) -> str:
    """_fill_from_image() on any database: the image read with Python's sqlite3, each value turned
    back into what SQLAlchemy reads from SQLite and inserted through SQLAlchemy."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    img = sqlite3.connect(":memory:")
    try:
        img.deserialize(image)
        records = 0
        for model in SYNCED_MODELS:
            t, name = model.__table__, model.__tablename__
            cols = _image_columns(lambda q: img.execute(q).fetchall(), "main", t)
            if not cols:
                continue
            procs = [t.c[c].type.dialect_impl(dialect).result_processor(dialect, None) for c in cols]
            extra = {"updated_at": stamp} if "updated_at" in t.c and "updated_at" not in cols else {}
            rows = [{c: (p(v) if p else v) for c, p, v in zip(cols, procs, r)} | extra
                    for r in img.execute(f"SELECT {', '.join(map(_q, cols))} FROM {_q(name)}")]
            if any(fk.column.table is t for fk in t.foreign_keys):
                rows = _parents_first(t, rows)
            for i in range(0, len(rows), CHUNK):
                conn.execute(t.insert(), rows[i : i + CHUNK])
            records += len(rows)
        clocks = [{"table_name": a, "record_id": b, "data": c}
                  for a, b, c in img.execute("SELECT table_name, record_id, data FROM sync_clocks")]
        for i in range(0, len(clocks), CHUNK):
            conn.execute(SyncClock.__table__.insert(), clocks[i : i + CHUNK])
        for obj in _image_others(lambda q: img.execute(q).fetchall(), "main"):
            _load_other(conn, s, obj)
    except (DBAPIError, sqlite3.DatabaseError, ValueError, TypeError, KeyError):
        raise SnapshotError(_("damaged snapshot (unreadable content)")) from None
    finally:
        img.close()
    return f"{len(image)} bytes, {records} records"


def _parents_first(t, rows: list[dict]) -> list[dict]:
    """Rows of a table that refers to itself (a certificate that supersedes another) with each
    referred row before the rows that refer to it, so that a database checking each row's
    foreign keys never meets a missing parent."""
    cols = [fk.parent.key for fk in t.foreign_keys if fk.column.table is t]
    by_id = {r["id"]: r for r in rows}
    depth: dict[str, int] = {}

    def depth_of(rid: str, seen=()) -> int:
        if rid not in depth:
            row = by_id[rid]
            parents = [row[c] for c in cols if row.get(c) in by_id and row[c] not in seen]
            depth[rid] = 1 + max((depth_of(p, seen + (rid,)) for p in parents), default=-1)
        return depth[rid]

    return sorted(rows, key=lambda r: depth_of(r["id"]))


def _fill_from_lines(db, conn, s, snap: SnapshotFile, first, body, stamp: datetime) -> str:
    """The state from an older (format 1) snapshot: JSON lines, a line naming a table and its
    fields followed by a line of its rows."""
    lines = 0
    table = None
    try:
        for raw in itertools.chain([first] if first is not None else [], body):
            lines += 1
            if table is not None:
                _load_rows(db, conn, table, raw, stamp)
                table = None
                continue
            obj = json.loads(raw)
            if "t" in obj:
                table = obj
            else:
                _load_other(conn, s, obj)
    except (ValueError, TypeError, KeyError, IndexError):
        raise SnapshotError(_("damaged snapshot (unreadable content)")) from None
    if lines != int(snap.header.get("lines", lines)):
        raise SnapshotError(_("damaged snapshot (content does not match its header)"))
    return f"{lines} lines"


def _row_loader(conn, table: str, fields: list[str], stamp: datetime):
    """(INSERT statement, rows -> parameter tuples) for the driver: each value decoded from the
    snapshot's JSON form and then through its column type's own bind processor for this database,
    as SQLAlchemy would, but column by column (values that repeat, like dates, converted once)."""
    t = next(m for m in SYNCED_MODELS if m.__tablename__ == table).__table__
    kinds = KINDS[table]
    extra = ["updated_at"] if "updated_at" in t.c and "updated_at" not in fields else []
    columns = list(fields) + extra

    def processor(column: str):
        return t.c[column].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)

    def converter(kind: str, proc):
        memo: dict = {None: None}

        def convert(v):
            if v not in memo:
                memo[v] = proc(decode(kind, v)) if proc else decode(kind, v)
            return memo[v]

        return convert if kind else (lambda v: None if v is None else proc(v))

    steps = {i: converter(kinds.get(f, ""), processor(f)) for i, f in enumerate(fields)
             if kinds.get(f) or processor(f)}
    fixed = [p(stamp) if (p := processor(c)) else stamp for c in extra]
    quote = conn.dialect.identifier_preparer.quote
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle, "?")
    sql = (f"INSERT INTO {quote(t.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")

    def params(rows: list[list]) -> list[tuple]:
        cols = list(zip(*rows))[: len(fields)]
        for i, convert in steps.items():
            cols[i] = list(map(convert, cols[i]))
        cols.extend([value] * len(rows) for value in fixed)
        return list(zip(*cols))

    return sql, params


def _load_rows(db, conn, table: dict, raw: bytes, stamp: datetime) -> None:
    """One line of rows of `table` (its preceding line: name and fields), and their clocks."""
    name, fields = table["t"], table["f"]
    model = next(m for m in SYNCED_MODELS if m.__tablename__ == name)
    text = raw.decode("utf-8")
    extra = {"updated_at": stamp} if "updated_at" in model.__table__.c and "updated_at" not in fields else {}
    positions = {f: i for i, f in enumerate(fields)}
    if db.insert_json_rows(conn, model.__table__, positions, KINDS[name], text, extra):
        db.insert_json_rows(conn, SyncClock.__table__, {"record_id": positions["id"], "data": len(fields)}, {}, text,
                            {"table_name": name}, required="data")
        return
    rows = json.loads(text)
    if not rows:
        return
    sql, params = _row_loader(conn, name, fields, stamp)
    conn.exec_driver_sql(sql, params(rows))
    at = positions["id"]
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle, "?")
    clocks = [(name, r[at], r[-1]) for r in rows if r[-1] is not None]
    if clocks:
        conn.exec_driver_sql(f"INSERT INTO {SyncClock.__tablename__} (table_name, record_id, data) "
                             f"VALUES ({mark}, {mark}, {mark})", clocks)


def _load_other(conn, s, obj: dict) -> None:
    """Aliases (identity merges), parked changes and forks."""
    if "aliases" in obj:
        _insert_many(conn, SyncAlias.__table__, [{"table_name": t, "loser_id": lo, "survivor_id": su, "created_at": utcnow()}
                                                 for t, lo, su in obj["aliases"]])
    elif "parked" in obj:
        conn.execute(SyncParked.__table__.insert(), [
            {"device_id": d, "batch_seq": q, "table_name": t, "record_id": rid, "change": ch, "reason": why,
             "detail": detail, "parked_at": datetime.fromisoformat(at)}
            for d, q, t, rid, ch, why, detail, at in obj["parked"]])
    elif "forks" in obj:
        for old, new, upto, chain in obj["forks"]:
            if s.get(SyncFork, (old, new)) is None:
                s.add(SyncFork(old_device=old, new_device=new, upto_seq=upto, upto_chain=chain, reason="partner",
                               local=False, shown=True))


def _local_only(s) -> dict[str, list[dict]]:
    """Fields a laptop keeps to itself that a start from a snapshot must not lose (a certificate
    deleted on this laptop only)."""
    keep = {}
    for model in SYNCED_MODELS:
        name = model.__tablename__
        cols = [c for c in model.__table__.columns if c.key not in FIELDS[name] and c.key not in LOCAL_ONLY_FIELDS]
        if cols:
            t = model.__table__
            keep[name] = [dict(r._mapping) for r in s.connection().execute(
                select(t.c.id, *cols).where(or_(*[c.is_not(None) for c in cols])))]
    return keep


def _restore_local_only(s, keep: dict[str, list[dict]]) -> None:
    from sqlalchemy import bindparam, update

    for name, rows in keep.items():
        if not rows:
            continue
        t = next(m for m in SYNCED_MODELS if m.__tablename__ == name).__table__
        cols = [k for k in rows[0] if k != "id"]
        s.connection().execute(update(t).where(t.c.id == bindparam("id_")).values({c: bindparam(c) for c in cols}),
                               [{"id_": r["id"], **{c: r[c] for c in cols}} for r in rows])


# --- acknowledgements and removing what every laptop has ------------------------------------------

def note_ack(s, device: str, n: int, body: dict) -> None:
    """A partner's newest acknowledgement (app/sync/engine.py _read_acks): when its number changes,
    the partner has synced; the time is this laptop's own."""
    seen = _json(s, ACKS_SEEN, {})
    if not isinstance(seen.get(device), list) or seen[device][0] != n:
        seen[device] = [n, now().isoformat()]
    applied = body.get("applied")
    seen[device] = seen[device][:2] + [applied if isinstance(applied, dict) else {}]
    _set(s, ACKS_SEEN, json.dumps(seen, sort_keys=True))


def _inactive_days(s) -> int:
    try:
        return max(1, int(_get(s, INACTIVE_DAYS_KEY) or INACTIVE_DAYS_DEFAULT))
    except ValueError:
        return INACTIVE_DAYS_DEFAULT


def _partners(s, listing: share.Listing | None) -> tuple[dict[str, list], list[InactivePartner]]:
    """The known partners that hold the history back ({device: [ack n, seen, applied]}, seen "" =
    no acknowledgement yet) and those that have been away too long."""
    mine = _mine(s)
    seen = _json(s, ACKS_SEEN, {})
    ended = {f.old_device for f in s.scalars(select(SyncFork))}
    known = set(seen) | {p.device_id for p in s.scalars(select(SyncPeer))}
    if listing is not None:
        known |= set(listing.batches) | set(listing.acks)
    limit = now() - timedelta(days=_inactive_days(s))
    first = _json(s, "sync_devices_first_seen", {})
    active, inactive = {}, []
    for dev in sorted(known - mine - ended):
        entry = seen.get(dev)
        since = entry[1] if entry else first.get(dev, "")
        try:
            last = datetime.fromisoformat(since) if since else None
        except ValueError:
            last = None
        if last is not None and last < limit:
            inactive.append(InactivePartner(dev, last))
        else:
            active[dev] = entry or [0, "", {}]
    return active, inactive


def inactive_partners(db) -> list[InactivePartner]:
    """Laptops that have not synced for `sync.inactive_days`: they no longer hold the shared
    folder's history back, and start again from a snapshot when they come back (the Sync page)."""
    with db.read() as s:
        return _partners(s, None)[1]


def _acknowledged(snap: SnapshotFile, active: dict[str, list]) -> bool:
    for dev, entry in active.items():
        applied = entry[2] if len(entry) > 2 else {}
        if not entry[1]:
            return False
        for d, (q, _c) in snap.covers.items():
            if d != dev and int(applied.get(d, 0) or 0) < q:
                return False
    return True


def compact(db, folder: Path, key: ProgrammeKey, listing: share.Listing, report) -> int:
    """Remove this laptop's batches (and its own snapshots) that the newest snapshot every active
    laptop has acknowledged covers, and the snapshots of laptops that no longer sync that it covers
    (the one exception to "each laptop removes only its own files"). Returns how many files were
    removed."""
    with db.write() as s:
        first = _json(s, "sync_devices_first_seen", {})
        for dev in set(listing.batches) | set(listing.acks):
            first.setdefault(dev, now().isoformat())
        _set(s, "sync_devices_first_seen", json.dumps(first, sort_keys=True))
    listing = share.list_folder(folder)  # this round's own batches and snapshot are there too
    snaps, _problems = list_snapshots(listing, key)
    with db.read() as s:
        mine = _mine(s)
        active, inactive = _partners(s, listing)
        cursors = {p.device_id: p.seq for p in s.scalars(select(SyncPeer))}
        compacted = _json(s, COMPACTED, {})
        verified = set(_json(s, VERIFIED, []))
    own_files = {d: set(listing.batches.get(d, {})) for d in mine}
    away = {p.device for p in inactive}
    target = None
    for snap in snaps:
        if not _acknowledged(snap, active):
            continue
        if any(d not in mine and cursors.get(d, 0) < q for d, (q, _c) in snap.covers.items()):
            continue  # this laptop has not got that far itself
        # this laptop's own snapshots, and those of laptops that stopped syncing (they never come
        # back to remove theirs, which would hold an erased person for ever)
        removable = any(q <= snap.covers.get(d, (0, ""))[0] for d, qs in own_files.items() for q in qs) or any(
            o.device in mine | away and o is not snap and snap.dominates(o) and not o.dominates(snap) for o in snaps)
        if not removable:
            return 0
        if not _verify_once(snap, key, verified, db):
            continue
        target = snap
        break
    if target is None:
        return 0
    done = {dev: max(target.covers.get(dev, (0, ""))[0], int(compacted.get(dev, 0) or 0)) for dev in mine}
    if done != {d: int(compacted.get(d, 0) or 0) for d in mine}:
        # noted before any file goes, so that a run stopped half-way never republishes a removed batch
        with db.write() as s:
            batches = [b.id for b in s.scalars(select(SyncOutBatch)) if b.seq <= int(done.get(b.device_id, 0))]
            for i in range(0, len(batches), CHUNK):  # their changes are in the snapshot now
                s.execute(delete(SyncChange).where(SyncChange.batch_id.in_(batches[i : i + CHUNK])))
            _set(s, COMPACTED, json.dumps(done, sort_keys=True))
            s.add(SyncAudit(event="compacted", device_id=target.device, seq=target.n,
                            detail=json.dumps(done, sort_keys=True)))
    removed = 0
    for dev in mine:
        for q, path in sorted(listing.batches.get(dev, {}).items()):
            if q <= done[dev] and _remove(path):
                removed += 1
    for snap in snaps:  # the snapshots the target covers more than (an equal one may be newer: an erasure)
        if (snap.device in mine or snap.device in away) and snap is not target and target.dominates(snap) \
                and not snap.dominates(target) and _remove(snap.path):
            removed += 1
    return removed


def _verify_once(snap: SnapshotFile, key: ProgrammeKey, verified: set[str], db) -> bool:
    """A snapshot is read whole once before batches are removed on its strength."""
    try:
        ident = _verified_id(snap)
        if ident in verified:
            return True
        check_snapshot(snap.path, key, snap.header)
    except (SnapshotError, OSError):
        return False
    with db.write() as s:
        known = _json(s, VERIFIED, [])
        known.append(ident)
        _set(s, VERIFIED, json.dumps(known[-20:]))
    return True


def compacted_upto(s, device: str) -> int:
    """Up to which batch this laptop removed its own batches of `device` (0 = none)."""
    return int(_json(s, COMPACTED, {}).get(device, 0) or 0)


def asked_for_removed(s, wanted: set[tuple[str, int]]) -> bool:
    """A partner asks for a batch this laptop removed: it starts again from a snapshot, and a fresh
    one is written in case the ones on the share cannot be read."""
    done = _json(s, COMPACTED, {})
    return any(q <= int(done.get(d, 0) or 0) for d, q in wanted)


