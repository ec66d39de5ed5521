"""The signed revocation list: which certificate numbers are revoked, and since when.

A file (and the block embedded in the verifier page):

    {"format": "kursdesk-revocations", "version": 1, "list": "<JSON text>", "signature": "<base64url>"}

The signature covers the UTF-8 bytes of "list" exactly as written, so nothing has to be put in
a canonical form again to check it. "list" holds {"issued_on": "YYYY-MM-DD", "issuer": ...,
"revoked": [[number, "YYYY-MM-DD"], ...]}: numbers and dates only, never names or reasons (the
list is meant to be published).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.errors import UserError
from app.i18n import _
from app.signing.key import PublicKeys, b64url, unb64url

FORMAT = "kursdesk-revocations"


@dataclass(frozen=True)
class RevocationList:
    issued_on: date
    issuer: str
    revoked: dict[str, date]  # number -> revoked on


def signed_list(revoked: dict[str, date], issuer: str, issued_on: date, key) -> str:
    """The list as the text of a file, signed with `key`."""
    text = json.dumps({"issued_on": issued_on.isoformat(), "issuer": issuer,
                       "revoked": [[n, d.isoformat()] for n, d in sorted(revoked.items())]},
                      ensure_ascii=False, separators=(",", ":"))
    return json.dumps({"format": FORMAT, "version": 1, "list": text,
                       "signature": b64url(key.sign(text.encode("utf-8")))}, ensure_ascii=False, indent=1)


def parse_list(raw: str, keys: PublicKeys, source: str) -> RevocationList:
    """The list in `raw` once its signature verifies; UserError naming `source` otherwise."""
    try:
        outer = json.loads(raw)
        if outer.get("format") != FORMAT:
            raise ValueError
        text, signature = outer["list"], unb64url(outer["signature"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserError(_("{file} is not a Kursdesk revocation list.").format(file=source)) from None
    if not keys.verifies(signature, text.encode("utf-8")):
        raise UserError(_("The revocation list {file} is not signed with the programme's key.").format(file=source))
    inner = json.loads(text)
    return RevocationList(date.fromisoformat(inner["issued_on"]), inner.get("issuer", ""),
                          {n: date.fromisoformat(d) for n, d in inner["revoked"]})


def read_list(path: Path, keys: PublicKeys) -> RevocationList:
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(_("The revocation list {file} does not exist.").format(file=path)) from None
    except (OSError, UnicodeDecodeError):
        raise UserError(_("{file} is not a Kursdesk revocation list.").format(file=path)) from None
    return parse_list(raw, keys, str(path))
