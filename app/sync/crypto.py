"""The programme key: AES-256-GCM, shared by the coordinators, kept outside the share.

`--setup --key FILE` writes a new key file to hand out; `--key FILE` imports it once and the app
remembers it in config_dir(). The key id (a hash of the key) goes into format.json and every batch
header so a batch made with another key is recognised before decryption is attempted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app import config
from app.errors import UserError
from app.i18n import _

KEY_FORMAT = "kursdesk-sync-key"
NONCE_BYTES = 12


@dataclass(frozen=True)
class ProgrammeKey:
    key: bytes

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"kursdesk-key-id:" + self.key).hexdigest()[:16]

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.key).encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Raises InvalidTag when the data or its header was changed, or the key is wrong."""
        return AESGCM(self.key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)

    @staticmethod
    def generate() -> ProgrammeKey:
        return ProgrammeKey(AESGCM.generate_key(bit_length=256))

    def to_json(self) -> str:
        return json.dumps({"format": KEY_FORMAT, "version": 1, "key_id": self.key_id,
                           "key": base64.b64encode(self.key).decode("ascii")}, indent=2)


__all__ = ["ProgrammeKey", "InvalidTag", "read_key_file", "write_key_file", "remembered_key", "remember_key"]


def read_key_file(path: Path) -> ProgrammeKey:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != KEY_FORMAT:
            raise ValueError
        key = ProgrammeKey(base64.b64decode(data["key"]))
        if len(key.key) != 32:
            raise ValueError
    except FileNotFoundError:
        raise UserError(_("The key file {file} does not exist.").format(file=path)) from None
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise UserError(_("{file} is not a Kursdesk programme key file.").format(file=path)) from None
    return key


def write_key_file(path: Path, key: ProgrammeKey) -> None:
    path = Path(path)
    if path.exists():
        raise UserError(_("The key file {file} already exists; choose a new file name.").format(file=path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key.to_json())
        fh.flush()
        os.fsync(fh.fileno())


def _remembered_path() -> Path:
    return config.config_dir() / "sync-key.json"


def remembered_key() -> ProgrammeKey | None:
    path = _remembered_path()
    return read_key_file(path) if path.exists() else None


def remember_key(key: ProgrammeKey) -> None:
    path = _remembered_path()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
