"""Signed certificates: the QR code read back from the printed page (pdftoppm + zbarimg) verifies
with the public key alone; one changed character or another programme's key is forged; a revoked
one is revoked once the signed list is known; the signing key is the programme's when sync is set
up; the statement stays small enough for a modest QR code."""

from __future__ import annotations

import json
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.errors import UserError
from app.services import certificate_signing as signing
from app.services import certificates as svc
from app.services.certificate_settings import CertificateSettings, save_certificate_settings
from app.signing import key as keys
from app.signing import revocations, statement
from app.signing.scan import text_from_file
from app.sync.crypto import ProgrammeKey, remember_key
from app.validation import birth_date_from_personal_number
from tests.app.test_certificate_pdf import decode_qr
from tests.app.test_certificates import TODAY, make_course


def _issue(db, **kw):
    built = make_course(db)
    return built, svc.issue_certificates(db, built.course_id, today=TODAY, **kw)


def _flip(text: str, i: int) -> str:
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


def test_printed_qr_verifies_with_the_public_key_alone(db, tmp_path):
    built, issued = _issue(db)
    cert = next(c for c in issued if c.full_name == "Kalle <Kula> Karlsson & Son")
    public = tmp_path / "programme.pub.json"
    signing.export_public_key(db, public)
    [scanned] = decode_qr(svc.certificate_pdf(db, cert.id), tmp_path)
    v = signing.verify_signed(scanned, keys.read_public_keys(public))  # no database
    assert v.status == "valid"
    st = v.statement
    assert (st.number, st.code, st.holder, st.kind) == (cert.number, cert.verification_code, cert.full_name,
                                                        statement.KIND_COURSE)
    assert st.birth_date == birth_date_from_personal_number(built.personal_numbers[5])
    assert (st.course_code, st.course_title, st.attended_minutes, st.issued_on) == (
        "SVETS-1", "Svetsning MIG/MAG – grund", 510, TODAY)
    assert st.issuer == "Campus Västervik"


def test_one_changed_character_or_another_key_is_forged(db):
    _built, issued = _issue(db)
    signed = svc.certificate_data(db, issued[0].id).statement
    mine = signing.programme_public_keys(db)
    assert signing.verify_signed(signed, mine).status == "valid"
    for i in range(len(signed)):  # every position: a body byte, a length byte or the signature
        assert signing.verify_signed(_flip(signed, i), mine).status == "forged", i
    for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":  # the last character's spare bits too
        if ch != signed[-1]:
            assert signing.verify_signed(signed[:-1] + ch, mine).status == "forged", ch
    st, _message, _signature = statement.parse(signed)
    other = keys.PublicKeys((keys.raw_public(Ed25519PrivateKey.generate().public_key()),))
    assert signing.verify_signed(signed, other).status == "forged"
    assert signing.verify_signed(statement.sign(st, Ed25519PrivateKey.generate()), mine).status == "forged"
    assert signing.verify_signed("not a statement", mine).status == "forged"


def test_revoked_once_the_signed_list_is_known(db, tmp_path):
    _built, issued = _issue(db)
    cert = issued[0]
    signed = svc.certificate_data(db, cert.id).statement
    public = signing.programme_public_keys(db)
    svc.revoke_certificate(db, cert.id, "Fel person", today=date(2026, 4, 3))
    assert signing.verify_signed(signed, public).status == "valid"  # the list is not known yet
    listed = tmp_path / "revoked.json"
    assert signing.export_revocations(db, listed, today=date(2026, 4, 3)) == 1
    known = revocations.read_list(listed, public)
    v = signing.verify_signed(signed, public, known)
    assert (v.status, v.revoked_on) == ("revoked", date(2026, 4, 3))
    assert "Fel person" not in listed.read_text(encoding="utf-8")  # numbers and dates only
    # a list signed by another key, or edited, is refused with a line naming the file
    outer = json.loads(listed.read_text(encoding="utf-8"))
    outer["list"] = outer["list"].replace(cert.number, "2026-0000-0001")
    listed.write_text(json.dumps(outer), encoding="utf-8")
    with pytest.raises(UserError, match="revoked.json"):
        revocations.read_list(listed, public)
    # on the issuing laptop its own database knows the revocation
    assert signing.verify_signed(signed, public, db=db).status == "revoked"


def test_the_pdf_carries_the_statement(db, tmp_path):
    _built, issued = _issue(db)
    path = svc.write_certificate_files(db, [issued[0].id], tmp_path)[0]
    assert text_from_file(path) == svc.certificate_data(db, issued[0].id).statement
    plain = tmp_path / "other.pdf"
    plain.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with pytest.raises(UserError, match="other.pdf"):
        text_from_file(plain)


def test_the_signing_key_is_the_programmes_once_sync_is_set_up(db, kursdesk_home):
    own = signing.programme_public_keys(db).keys
    assert len(own) == 1  # made at first use, owner-only beside the sync key
    key_file = next((kursdesk_home / "config").glob("signing-key.json"))
    assert key_file.stat().st_mode & 0o077 == 0
    programme = ProgrammeKey.generate()
    remember_key(programme)
    now = signing.programme_public_keys(db).keys
    assert now[1:] == own and now[0] != own[0]  # the programme's signs; the earlier key still verifies
    # a second laptop holding the same programme key derives the same signing key
    from app.signing.key import _programme_key

    assert keys.raw_public(_programme_key().public_key()) == now[0]
    # a new programme key: the keys signed with before stay among the public keys
    remember_key(ProgrammeKey.generate())
    assert signing.programme_public_keys(db).keys[1:] == now


def test_the_statement_fits_a_modest_qr_code(db):
    save_certificate_settings(db, CertificateSettings(verifier_url="https://intyg.campusvastervik.se/kontroll/"))
    long = statement.Statement(
        kind=statement.KIND_PARTICIPATION, number="2026-7F3A9C12-12345", code="ABCD-EFGH-JKMN",
        holder="Maria-Josefina Åkesson-Östlund von Wachenfeldt Nguyễn Thị Ánh", birth_date=date(1961, 12, 31),
        course_code="SVETS-MIG-MAG-2026-HÖST", course_title="Svetsning MIG/MAG " * 10, attended_minutes=123456,
        first_date=date(2026, 1, 2), last_date=date(2026, 12, 30), issued_on=date(2026, 12, 31),
        issuer="Kompetenscentrum för industriell utveckling i Kalmar län ekonomisk förening",
    )
    signed = statement.sign(long, Ed25519PrivateKey.generate())
    st, _m, _s = statement.parse(signed)
    assert st.course_title.endswith("…") and len(st.course_title.encode()) <= statement.LIMITS["course_title"]
    assert (st.attended_minutes, st.first_date, st.birth_date) == (123456, date(2026, 1, 2), date(1961, 12, 31))
    from app.documents.certificate import qr_matrix

    side = len(qr_matrix(statement.qr_text(signed, "https://intyg.campusvastervik.se/kontroll/")))
    assert (side - 17) // 4 <= 16  # version 16 at most, even for the longest texts
    _built, issued = _issue(db)
    usual = svc.certificate_data(db, issued[0].id)
    assert (len(qr_matrix(usual.qr_text)) - 17) // 4 <= 12  # a usual certificate, with the address


@pytest.mark.parametrize("length", [200, 240, 280, 320, 360])
def test_the_qr_stencil_decodes_at_every_size(length, tmp_path):
    """The signed QR code is drawn as a 1-bit image mask: rows of an odd and an even number of
    hex digits (QR versions 10 to 14) read back as the text they hold."""
    from app.documents.certificate import qr_matrix, render_certificate
    from tests.app.test_certificate_pdf import sample

    text = ("AQec-_9z" * 60)[:length]  # byte mode, as base64url is
    versions = (len(qr_matrix(text, 5)) - 17) // 4
    pdf = render_certificate(sample(qr_payload=text, statement=text))
    assert decode_qr(pdf, tmp_path) == [text], versions


def test_the_combined_file_shows_the_issued_pages(db, tmp_path):
    """The combined print file draws the fixed parts and the course texts once, as forms; each of
    its pages still renders pixel for pixel like the certificate's frozen PDF."""
    import subprocess

    _built, issued = _issue(db)
    combined = svc.write_combined_pdf(db, [c.id for c in issued], tmp_path / "alla.pdf")
    for i, cert in enumerate(issued, start=1):
        single = tmp_path / f"{i}.pdf"
        single.write_bytes(svc.certificate_pdf(db, cert.id))
        subprocess.run(["pdftoppm", "-gray", "-r", "50", "-singlefile", str(single), str(tmp_path / f"s{i}")], check=True)
        subprocess.run(["pdftoppm", "-gray", "-r", "50", "-singlefile", "-f", str(i), "-l", str(i), str(combined),
                        str(tmp_path / f"c{i}")], check=True)
        assert (tmp_path / f"s{i}.pgm").read_bytes() == (tmp_path / f"c{i}.pgm").read_bytes(), cert.number
