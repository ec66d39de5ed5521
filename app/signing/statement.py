"""The signed statement a certificate's QR code carries: compact binary, then base64url.

    version 1 | kind 1 | issued 2 | born 2 | first 2 | last 2 | attended minutes 3 |
    number, code, holder, course code, course title, issuer (each: 1 length byte + UTF-8) |
    Ed25519 signature 64 (over every byte before it)

Integers are big-endian; dates are days since 2000-01-01 (born: since 1900-01-01), 0xFFFF for
none. The code is kept without its dashes. About 200 bytes for a usual certificate (QR version
11 or 12 with the verifier page's address before a '#'), at most 280 (version 16) for the longest
texts, which are cut to LIMITS. The same
layout is read by the verifier page (resources/verifier/verifier.html): change both together.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from datetime import date, timedelta

from app.signing.key import b64url, unb64url

VERSION = 1
KIND_COURSE = 1  # kursintyg: reached the course's minimum attendance
KIND_PARTICIPATION = 2  # deltagarintyg: attended, whatever the share
KINDS = (KIND_COURSE, KIND_PARTICIPATION)
SIGNATURE_BYTES = 64
_EPOCH = date(2000, 1, 1)
_BIRTH_EPOCH = date(1900, 1, 1)
_NONE = 0xFFFF
_HEAD = struct.Struct(">BBHHHH")
# the longest each text may be in the statement (UTF-8 bytes); longer texts end with "…"
LIMITS = {"number": 24, "code": 14, "holder": 50, "course_code": 20, "course_title": 50, "issuer": 40}
_TEXTS = tuple(LIMITS)


@dataclass(frozen=True)
class Statement:
    kind: int
    number: str
    code: str  # as printed: 'ABCD-EFGH-JKMN'
    holder: str
    birth_date: date | None
    course_code: str
    course_title: str
    attended_minutes: int
    first_date: date | None
    last_date: date | None
    issued_on: date
    issuer: str


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, ending with '…' when cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", "ignore").rstrip() + "…"


def fitted(st: Statement) -> Statement:
    """The statement with every text within its limit (what is signed and what a verifier shows)."""
    return replace(st, **{name: fit(getattr(st, name), LIMITS[name]) for name in _TEXTS})


def _day(value: date | None, epoch: date) -> int:
    if value is None:
        return _NONE
    days = (value - epoch).days
    return days if 0 <= days < _NONE else _NONE


def _date(days: int, epoch: date) -> date | None:
    return None if days == _NONE else epoch + timedelta(days=days)


def body(st: Statement) -> bytes:
    """The signed part of the statement (its texts fitted first)."""
    st = fitted(st)
    out = bytearray(_HEAD.pack(VERSION, st.kind, _day(st.issued_on, _EPOCH), _day(st.birth_date, _BIRTH_EPOCH),
                               _day(st.first_date, _EPOCH), _day(st.last_date, _EPOCH)))
    out += min(max(st.attended_minutes, 0), 0xFFFFFF).to_bytes(3, "big")
    for name in _TEXTS:
        value = getattr(st, name)
        if name == "code":
            value = value.replace("-", "")
        raw = value.encode("utf-8")
        out.append(len(raw))
        out += raw
    return bytes(out)


def sign(st: Statement, key) -> str:
    """The statement signed with `key` (an Ed25519 private key), as base64url."""
    message = body(st)
    return b64url(message + key.sign(message))


def parse(text: str) -> tuple[Statement, bytes, bytes]:
    """(statement, signed bytes, signature) from base64url; ValueError when it is not one."""
    raw = unb64url(text)
    if len(raw) < _HEAD.size + 3 + len(_TEXTS) + SIGNATURE_BYTES:
        raise ValueError("too short")
    message, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    version, kind, issued, born, first, last = _HEAD.unpack_from(message)
    if version != VERSION or kind not in KINDS or issued == _NONE:
        raise ValueError("not a statement of this version")
    at = _HEAD.size
    minutes = int.from_bytes(message[at : at + 3], "big")
    at += 3
    texts = {}
    for name in _TEXTS:
        n = message[at] if at < len(message) else -1
        if n < 0 or at + 1 + n > len(message):
            raise ValueError("cut short")
        texts[name] = message[at + 1 : at + 1 + n].decode("utf-8")  # UnicodeDecodeError is a ValueError
        at += 1 + n
    if at != len(message):
        raise ValueError("trailing bytes")
    code = texts["code"]
    texts["code"] = "-".join(code[i : i + 4] for i in range(0, len(code), 4))
    st = Statement(kind=kind, birth_date=_date(born, _BIRTH_EPOCH), attended_minutes=minutes,
                   first_date=_date(first, _EPOCH), last_date=_date(last, _EPOCH),
                   issued_on=_date(issued, _EPOCH), **texts)
    return st, message, signature


def qr_text(signed: str, verifier_url: str = "") -> str:
    """What the QR code holds: the verifier page's address with the statement after '#' (a phone
    camera opens the page, which reads it), or the statement alone."""
    url = verifier_url.strip()
    if not url:
        return signed
    return f"{url.split('#', 1)[0]}#{signed}"


def statement_text(text: str) -> str:
    """The base64url statement in a scanned or pasted QR text (an address: the part after '#')."""
    text = text.strip()
    return text.rsplit("#", 1)[1].strip() if "#" in text else text
