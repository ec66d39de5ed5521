"""The shared folder: layout, batch files, and writing them without ever replacing anything.

    <folder>/format.json                     what this folder is (format, key id)
    <folder>/devices/<device-id>/00000001.batch   numbered batches, written only by their owner
    <folder>/acks/<device-id>/00000001.ack    acknowledgements: what that laptop applied, what it
                                              asks for again, its own last batch and its forks
    <folder>/snapshots/<device-id>/00000001.snap   the whole state as of the batches it names
                                              (app/sync/snapshot.py), written only by its owner

A batch file:

    KURSDESK-SYNC-BATCH\\n
    {header JSON}\\n                            format, schema, device, seq, prev (hash), key id, ...
    nonce + AES-GCM(zlib(change lines + trailer line)), with the two lines above as associated data

A batch's chain hash is sha256(previous chain + ":" + hash of its change lines): it is fixed when
the batch is reserved (before its file is written), so a file found under a laptop's number can be
told apart from a foreign one although every write encrypts with a new nonce. (Batches written
before the header carried "body" chain on the file's own hash.)

Names and headers hold UUIDs, numbers and hashes only: no personal data. The folder is created
only by `setup_folder`; a missing or unrecognised folder is an error, never "no data".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import UserError
from app.i18n import _
from app.sync.crypto import InvalidTag, ProgrammeKey

FORMAT_NAME = "kursdesk-sync"
FORMAT_VERSION = 1  # major version of the folder and batch format
SCHEMA_VERSION = 1  # version of the change lines' meaning (tables and fields)
MAGIC = b"KURSDESK-SYNC-BATCH\n"
ACK_MAGIC = b"KURSDESK-SYNC-ACK\n"
BATCH_RE = re.compile(r"^(\d{8})\.batch$")
ACK_RE = re.compile(r"^(\d{8})\.ack$")
SNAP_RE = re.compile(r"^(\d{8})\.snap$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# test hooks: called at named points of a publish (fault-injection tests kill the process there)
HOOKS: dict[str, object] = {}


def _hook(name: str) -> None:
    fn = HOOKS.get(name)
    if fn is not None:
        fn()  # type: ignore[operator]


class BatchError(Exception):
    """A batch that cannot be used; `reason` is a translated, personal-data-free message."""

    def __init__(self, reason: str, *, keep_waiting: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.keep_waiting = keep_waiting


@dataclass(frozen=True)
class Batch:
    header: dict
    changes: list[dict]
    file_hash: str
    body_hash: str = ""

    @property
    def chain(self) -> str:
        return chain_of(self.header, self.body_hash, self.file_hash)


def batch_name(seq: int) -> str:
    return f"{seq:08d}.batch"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def next_chain(prev: str, body_hash: str) -> str:
    return sha256(f"{prev}:{body_hash}".encode("ascii"))


def chain_of(header: dict, body_hash: str, file_hash: str) -> str:
    """The chain hash a batch stands for (older batches: the file's own hash)."""
    return next_chain(header.get("prev", ""), body_hash) if header.get("body") else file_hash


def encode_lines(changes: list[dict]) -> bytes:
    return b"".join(json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n" for c in changes)


# --- folder -------------------------------------------------------------------------------------

def setup_folder(folder: Path, key: ProgrammeKey) -> None:
    """Make an empty (or new) folder a shared folder for this programme's key."""
    folder = Path(folder)
    if folder.exists() and any(p for p in folder.iterdir() if p.name not in ("desktop.ini", ".DS_Store")):
        if (folder / "format.json").exists():
            raise UserError(_("{folder} is already a shared folder; use it with its key instead of setting it up again.").format(folder=folder))
        raise UserError(_("{folder} is not empty; choose an empty folder for the shared folder.").format(folder=folder))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "devices").mkdir(exist_ok=True)
    info = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "schema": SCHEMA_VERSION, "key_id": key.key_id}
    write_new_file(folder / "format.json", json.dumps(info, indent=2).encode("utf-8"))


def check_folder(folder: Path) -> dict:
    """format.json of a usable shared folder, or a UserError naming what is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(_("The shared folder {folder} cannot be found (is the network drive connected?). Nothing was changed.").format(folder=folder))
    info_path = folder / "format.json"
    try:
        info = json.loads(info_path.read_bytes())
        if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
            raise ValueError
    except FileNotFoundError:
        raise UserError(_("{folder} is not a Kursdesk shared folder (format.json is missing). Nothing was changed; set it up first if it is new.").format(folder=folder)) from None
    except (ValueError, OSError):
        raise UserError(_("{folder} is not a Kursdesk shared folder (format.json is unreadable). Nothing was changed.").format(folder=folder)) from None
    if int(info.get("version", 0)) > FORMAT_VERSION:
        raise UserError(_("The shared folder {folder} was made by a newer Kursdesk; update the app.").format(folder=folder))
    if not (folder / "devices").is_dir():
        raise UserError(_("{folder} is not a complete Kursdesk shared folder (devices is missing). Nothing was changed.").format(folder=folder))
    return info


# --- writing without replacing ------------------------------------------------------------------

def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_new_file(target: Path, data: bytes) -> None:
    """temp name, flush, fsync, rename to a name that did not exist, read back and verify."""
    if target.exists():
        raise FileExistsError(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        _hook("after_open")
        half = len(data) // 2
        fh.write(data[:half])
        fh.flush()
        _hook("mid_write")
        fh.write(data[half:])
        fh.flush()
        os.fsync(fh.fileno())
    _hook("before_rename")
    if target.exists():  # only our own folder: no one else writes here
        tmp.unlink(missing_ok=True)
        raise FileExistsError(target)
    os.rename(tmp, target)
    _fsync_dir(target.parent)
    _hook("after_rename")
    if sha256(target.read_bytes()) != sha256(data):
        raise OSError(f"verification failed: {target.name}")


def encode_batch(header: dict, changes: list[dict], key: ProgrammeKey, lines: bytes | None = None) -> tuple[bytes, str]:
    """The file's bytes, and the hash of its change lines (the same for the same changes)."""
    lines = encode_lines(changes) if lines is None else lines
    body_hash = sha256(lines)
    trailer = json.dumps({"trailer": True, "count": len(changes), "sha256": body_hash}).encode() + b"\n"
    head = MAGIC + json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"
    return head + key.encrypt(zlib.compress(lines + trailer, 6), head), body_hash


def read_header(data: bytes) -> tuple[dict, bytes, bytes]:
    if not data.startswith(MAGIC):
        raise BatchError(_("not a Kursdesk batch or damaged (start of file)"))
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise BatchError(_("damaged batch (header incomplete)"))
    try:
        header = json.loads(data[len(MAGIC) : end])
        if not isinstance(header, dict):
            raise ValueError
    except ValueError:
        raise BatchError(_("damaged batch (header unreadable)")) from None
    return header, data[: end + 1], data[end + 1 :]


def decode_batch(data: bytes, key: ProgrammeKey, *, device: str, seq: int) -> Batch:
    header, head, blob = read_header(data)
    try:
        version = int(header.get("format", 0))
        schema = int(header.get("schema", 0))
    except (TypeError, ValueError):
        raise BatchError(_("damaged batch (header unreadable)")) from None
    if version > FORMAT_VERSION or schema > SCHEMA_VERSION:
        raise BatchError(_("made by a newer Kursdesk (format {version}); update the app, the batch is kept").format(version=f"{version}.{schema}"), keep_waiting=True)
    if header.get("device") != device:
        raise BatchError(_("its header names another laptop than the folder it is in (copied or moved file); rejected"))
    if header.get("seq") != seq:
        raise BatchError(_("its header names another number than its file name; rejected"))
    if header.get("key_id") != key.key_id:
        # not kept waiting: sync() only runs with the folder's own key, so no key can be imported to
        # read it, and a damaged header looks just like this; the owner is asked to publish it again
        raise BatchError(_("encrypted with another programme key; import that key or ask the partner"))
    try:
        plain = zlib.decompress(key.decrypt(blob, head))
    except (InvalidTag, ValueError, zlib.error):
        raise BatchError(_("damaged or altered batch (authentication failed)")) from None
    raw_lines = plain.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    if not raw_lines:
        raise BatchError(_("damaged batch (trailer missing)"))
    try:
        trailer = json.loads(raw_lines[-1])
        changes = [json.loads(line) for line in raw_lines[:-1]]
    except ValueError:
        raise BatchError(_("damaged batch (unreadable change line)")) from None
    body = b"".join(line + b"\n" for line in raw_lines[:-1])
    body_hash = sha256(body)
    if not isinstance(trailer, dict) or not trailer.get("trailer") or trailer.get("count") != len(changes) or trailer.get("sha256") != body_hash:
        raise BatchError(_("damaged batch (trailer does not match)"))
    if header.get("body") and header.get("body") != body_hash:
        raise BatchError(_("damaged batch (trailer does not match)"))
    if not all(isinstance(c, dict) for c in changes):
        raise BatchError(_("damaged batch (unreadable change line)"))
    return Batch(header=header, changes=changes, file_hash=sha256(data), body_hash=body_hash)


# --- acknowledgements ---------------------------------------------------------------------------

def ack_name(n: int) -> str:
    return f"{n:08d}.ack"


def encode_ack(device: str, n: int, body: dict, key: ProgrammeKey) -> bytes:
    head = ACK_MAGIC + json.dumps({"device": device, "n": n, "key_id": key.key_id}, sort_keys=True).encode() + b"\n"
    return head + key.encrypt(json.dumps(body, sort_keys=True).encode("utf-8"), head)


def decode_ack(data: bytes, key: ProgrammeKey, *, device: str) -> dict | None:
    """An acknowledgement's body, or None when it is damaged, foreign or made with another key."""
    if not data.startswith(ACK_MAGIC):
        return None
    end = data.find(b"\n", len(ACK_MAGIC))
    try:
        header = json.loads(data[len(ACK_MAGIC) : end])
        if header.get("device") != device or header.get("key_id") != key.key_id:
            return None
        body = json.loads(key.decrypt(data[end + 1 :], data[: end + 1]))
    except (ValueError, AttributeError, InvalidTag):
        return None
    return body if isinstance(body, dict) else None


# --- listing ------------------------------------------------------------------------------------

@dataclass
class Listing:
    batches: dict[str, dict[int, Path]]  # device -> seq -> file
    ignored: list[str]  # relative paths of files the app did not write
    acks: dict[str, dict[int, Path]] = field(default_factory=dict)  # device -> n -> file
    snapshots: dict[str, dict[int, Path]] = field(default_factory=dict)  # device -> n -> file


def list_folder(folder: Path) -> Listing:
    devices_dir = Path(folder) / "devices"
    batches: dict[str, dict[int, Path]] = {}
    ignored: list[str] = []
    for entry in sorted(devices_dir.iterdir()):
        if not entry.is_dir() or not UUID_RE.match(entry.name):
            ignored.append(f"devices/{entry.name}")
            continue
        files = batches.setdefault(entry.name, {})
        for f in sorted(entry.iterdir()):
            m = BATCH_RE.match(f.name)
            if m and f.is_file():
                files[int(m.group(1))] = f
            else:
                ignored.append(f"devices/{entry.name}/{f.name}")
    acks = _list_numbered(Path(folder) / "acks", ACK_RE, ignored)
    snapshots = _list_numbered(Path(folder) / "snapshots", SNAP_RE, ignored)
    for entry in sorted(Path(folder).iterdir()):
        if entry.name not in ("format.json", "devices", "acks", "snapshots"):
            ignored.append(entry.name)
    return Listing(batches, ignored, acks, snapshots)


def _list_numbered(top: Path, pattern: re.Pattern, ignored: list[str]) -> dict[str, dict[int, Path]]:
    """device -> n -> file under acks/ or snapshots/ (temporary files of a write in progress are not listed)."""
    out: dict[str, dict[int, Path]] = {}
    if not top.is_dir():
        return out
    for entry in sorted(top.iterdir()):
        if not entry.is_dir() or not UUID_RE.match(entry.name):
            ignored.append(f"{top.name}/{entry.name}")
            continue
        files = out.setdefault(entry.name, {})
        for f in sorted(entry.iterdir()):
            m = pattern.match(f.name)
            if m and f.is_file():
                files[int(m.group(1))] = f
            elif not f.name.startswith("."):
                ignored.append(f"{top.name}/{entry.name}/{f.name}")
    return out
