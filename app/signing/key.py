"""The programme's Ed25519 signing key, and the public-key file anyone may hold.

Where the key comes from (one rule, the same on every laptop):
- A laptop that holds the programme key (`sync --setup` made it, `sync --key FILE` imported it)
  derives the signing key from it (HKDF-SHA256, its own label): every coordinator of the
  programme signs with the same key, handed over the same way as the programme key, and nothing
  new has to be carried to a second laptop.
- A laptop without sync makes its own key at its first signature and keeps it owner-only in the
  configuration folder beside the sync key (`signing-key.json`). When it later joins a programme,
  the programme's key signs from then on.
- Every public key a laptop has signed with is kept (`signing-public-keys.json`) and exported
  with the current one, so what it signed before a change of key still verifies.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app import config
from app.errors import UserError
from app.i18n import _

OWN_KEY_FORMAT = "kursdesk-signing-key"
PUBLIC_KEY_FORMAT = "kursdesk-public-key"
USED_KEYS_FORMAT = "kursdesk-signing-public-keys"
_HKDF_INFO = b"kursdesk certificate signing key v1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Raises ValueError on anything that is not base64url."""
    text = text.strip()
    if not text or any(ch not in _B64URL for ch in text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:  # the last character's unused bits set: another text for the same bytes
        raise ValueError("not canonical base64url")
    return raw


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(public: bytes) -> str:
    """A short, readable form of a public key to compare by eye (Settings, the verifier page)."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public)
    hexed = digest.finalize().hex()[:20].upper()
    return " ".join(hexed[i : i + 4] for i in range(0, 20, 4))


@dataclass(frozen=True)
class PublicKeys:
    """The keys a signature may verify against: the one signing now first, then earlier ones."""

    keys: tuple[bytes, ...]
    issuer: str = ""

    def verifies(self, signature: bytes, message: bytes) -> bool:
        for raw in self.keys:
            try:
                Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
                return True
            except InvalidSignature:
                continue
        return False

    def to_json(self) -> str:
        return json.dumps({"format": PUBLIC_KEY_FORMAT, "version": 1, "issuer": self.issuer,
                           "keys": [b64url(k) for k in self.keys]}, ensure_ascii=False, indent=2)


def read_public_keys(path: Path) -> PublicKeys:
    """A file written by `certificates --export-public-key`; UserError naming the file otherwise."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != PUBLIC_KEY_FORMAT:
            raise ValueError
        keys = tuple(unb64url(k) for k in data["keys"])
        for k in keys:
            Ed25519PublicKey.from_public_bytes(k)
        if not keys:
            raise ValueError
        return PublicKeys(keys, str(data.get("issuer") or ""))
    except FileNotFoundError:
        raise UserError(_("The public key file {file} does not exist.").format(file=path)) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise UserError(_("{file} is not a Kursdesk public key file.").format(file=path)) from None


def _own_path() -> Path:
    return config.config_dir() / "signing-key.json"


def _own_key(create: bool) -> Ed25519PrivateKey | None:
    path = _own_path()
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != OWN_KEY_FORMAT:
                raise ValueError
            return Ed25519PrivateKey.from_private_bytes(unb64url(data["key"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UserError(_("{file} is not a Kursdesk signing key file.").format(file=path)) from None
    if not create:
        return None
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    text = json.dumps({"format": OWN_KEY_FORMAT, "version": 1, "key": b64url(seed)})
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-", suffix=".tmp")  # owner-only, one per process
    tmp = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _own_key(create=False)


def _programme_key() -> Ed25519PrivateKey | None:
    from app.sync.crypto import remembered_key

    programme = remembered_key()
    if programme is None:
        return None
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(programme.key)
    return Ed25519PrivateKey.from_private_bytes(seed)


def _used_path() -> Path:
    return config.config_dir() / "signing-public-keys.json"


def _used_keys() -> list[bytes]:
    """The public keys this laptop has signed with, oldest first (a new programme key, or
    joining a programme, changes the signing key; what it signed before must still verify)."""
    try:
        return [unb64url(k) for k in json.loads(_used_path().read_text(encoding="utf-8"))["keys"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):
        raise UserError(_("{file} is not a Kursdesk public key file.").format(file=_used_path())) from None


def _remember_used(public: bytes) -> None:
    used = _used_keys()
    if public in used:
        return
    text = json.dumps({"format": USED_KEYS_FORMAT, "keys": [b64url(k) for k in [*used, public]]})
    # owner-only like the keys, and a temporary file of its own per process (two processes that
    # issue at once both get here with the same key)
    fd, tmp = tempfile.mkstemp(dir=_used_path().parent, prefix=".signing-public-keys-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, _used_path())


def signing_key() -> Ed25519PrivateKey:
    """The key that signs now: the programme's, else this laptop's own (made at first use)."""
    key = _programme_key() or _own_key(create=True)
    _remember_used(raw_public(key.public_key()))
    return key


def public_keys(issuer: str = "") -> PublicKeys:
    """This laptop's public keys: the one that signs now first, then every earlier one it signed
    with (newest first). Nothing is made here: a laptop that never signed may have none."""
    current = _programme_key() or _own_key(create=False)
    keys = [raw_public(current.public_key())] if current is not None else []
    keys += [k for k in reversed(_used_keys()) if k not in keys]
    return PublicKeys(tuple(keys), issuer)
