"""Signed certificates as a verifier sees them: checking a QR text (or a scan, or the PDF) with
the programme's public key alone, the public-key file, the signed revocation list, and the
static verifier page an organisation can publish. The signing itself happens when a
certificate is issued (app/services/certificates.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from app.db import Database
from app.errors import UserError
from app.i18n import _
from app.interchange.files import atomic_file
from app.models import Certificate
from app.services.settings import get_settings
from app.signing import revocations, statement, verifier_page
from app.signing.key import PublicKeys, fingerprint, public_keys, signing_key
from app.signing.revocations import RevocationList


@dataclass(frozen=True)
class SignedVerification:
    status: str  # 'valid' | 'revoked' | 'forged'
    statement: statement.Statement | None = None  # what the signature vouches for (None: forged)
    revoked_on: date | None = None


def is_signed_text(text: str) -> bool:
    """Whether a QR text is (or holds, after '#') a signed statement, perhaps a damaged one,
    rather than a certificate number, a verification code or an old `KURSDESK:` text."""
    return bool(_STATEMENT_SHAPE.match(statement.statement_text(text)))


_STATEMENT_SHAPE = re.compile(r"^[A-Za-z0-9_-]{100,}$")  # shorter than any statement's 82 bytes


def verify_signed(text: str, keys: PublicKeys, revoked: RevocationList | None = None,
                  db: Database | None = None) -> SignedVerification:
    """The QR text checked against `keys`: forged when it is no statement or its signature does
    not match (one changed character, another programme's key); revoked when the revocation list
    (or this laptop's database, when given) names its number; else valid."""
    try:
        st, message, signature = statement.parse(statement.statement_text(text))
    except ValueError:
        return SignedVerification("forged")
    if not keys.verifies(signature, message):
        return SignedVerification("forged")
    revoked_on = revoked.revoked.get(st.number) if revoked is not None else None
    if revoked_on is None and db is not None:
        with db.read() as s:
            revoked_on = s.execute(
                select(Certificate.revoked_on).where(Certificate.number == st.number, Certificate.deleted_at.is_(None))
            ).scalar_one_or_none()
    if revoked_on is not None:
        return SignedVerification("revoked", st, revoked_on)
    return SignedVerification("valid", st)


def local_public_keys(db: Database) -> PublicKeys:
    """This laptop's public keys (none made for asking); UserError when it has none."""
    keys = public_keys(get_settings(db).organisation_name)
    if not keys.keys:
        raise UserError(_("This laptop has no signing key yet: give the issuer's public key with --public-key FILE."))
    return keys


def programme_public_keys(db: Database) -> PublicKeys:
    """The public keys to hand out (the signing key is made now if this laptop has none yet)."""
    signing_key()
    return public_keys(get_settings(db).organisation_name)


def public_key_fingerprint(db: Database) -> str:
    """The signing key's fingerprint, to print in Settings and compare by eye; '' while this
    laptop has none (looking makes none: it is made at the first certificate or export)."""
    keys = public_keys()
    return fingerprint(keys.keys[0]) if keys.keys else ""


def export_public_key(db: Database, path: Path) -> Path:
    text = programme_public_keys(db).to_json()
    with atomic_file(Path(path), "public-key") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _revoked(db: Database) -> dict[str, date]:
    with db.read() as s:
        return dict(s.execute(
            select(Certificate.number, Certificate.revoked_on)
            .where(Certificate.revoked_on.is_not(None), Certificate.deleted_at.is_(None))
        ).all())


def revocation_list_text(db: Database, today: date | None = None, revoked: dict[str, date] | None = None) -> str:
    """Every revoked certificate's number and date, signed with the programme's key."""
    revoked = _revoked(db) if revoked is None else revoked
    return revocations.signed_list(revoked, get_settings(db).organisation_name, today or date.today(), signing_key())


def export_revocations(db: Database, path: Path, today: date | None = None) -> int:
    """Write the signed revocation list; how many certificates it names."""
    revoked = _revoked(db)
    text = revocation_list_text(db, today, revoked)
    with atomic_file(Path(path), "revocations") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return len(revoked)


def write_verifier(db: Database, out_dir: Path, today: date | None = None) -> Path:
    """The verifier page (one static file, `index.html`) with the public keys and the signed
    revocation list of today embedded. Publish it at the address in the certificate settings."""
    html = verifier_page.page(programme_public_keys(db), revocation_list_text(db, today))
    target = Path(out_dir) / "index.html"
    with atomic_file(target, "verifier", make_folder=True) as tmp:
        tmp.write_text(html, encoding="utf-8")
        tmp.chmod(0o644)  # a page to publish, not a private file
    return target
