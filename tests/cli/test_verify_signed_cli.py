"""`kursdesk verify` of signed certificates on another laptop with an empty database and only the
issuer's public key: the QR text, the issued PDF and a scan of the page; valid 0, revoked 3,
forged 5, unknown number 4. Also --export-public-key, --export-revocations and `verifier`."""

from __future__ import annotations

import subprocess

import pytest

from app.cli import main
from app.db import Database
from app.services import certificates as svc
from tests.app.test_certificates import TODAY, make_course


@pytest.fixture
def issued(tmp_path, capsys):
    """Certificates issued on the issuing laptop, one revoked, the public key and list exported."""
    path = tmp_path / "issuer.db"
    db = Database(path)
    built = make_course(db)
    certs = svc.issue_certificates(db, built.course_id, today=TODAY)
    svc.revoke_certificate(db, certs[1].id, "Fel kurs", today=TODAY)
    out = tmp_path / "intyg"
    svc.write_certificate_files(db, [c.id for c in certs], out)
    statements = [svc.certificate_data(db, c.id).statement for c in certs]
    db.dispose()
    pub, rev = tmp_path / "pub.json", tmp_path / "rev.json"
    assert main(["certificates", "--export-public-key", str(pub), "--export-revocations", str(rev), "--db", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "pub.json" in printed and "(1 " in printed
    return certs, statements, sorted(out.glob("SVETS-1 - *.pdf")), pub, rev


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Another laptop: its own folders (no signing key) and an empty database."""
    monkeypatch.setenv("KURSDESK_HOME", str(tmp_path / "elsewhere"))
    return ["--db", str(tmp_path / "empty.db"), "--lang", "en"]


def test_qr_text_on_a_laptop_with_only_the_public_key(issued, elsewhere, capsys):
    certs, statements, _pdfs, pub, rev = issued
    base = ["verify", "--public-key", str(pub), *elsewhere]
    assert main([*base[:1], statements[0], *base[1:]]) == 0
    assert capsys.readouterr().out.startswith(f"Valid: {certs[0].number}: {certs[0].full_name}, SVETS-1")
    # the revoked one is valid until the list is known
    assert main([*base[:1], statements[1], *base[1:]]) == 0
    assert main([*base[:1], statements[1], *base[1:], "--revocations", str(rev)]) == 3
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"Revoked: {certs[1].number}")
    changed = statements[0][:40] + ("x" if statements[0][40] != "x" else "y") + statements[0][41:]
    assert main([*base[:1], "https://intyg.example.se/#" + changed, *base[1:]]) == 5
    assert capsys.readouterr().out.startswith("Forged: the signature does not match")
    assert main(["verify", "2026-0000-0001", *elsewhere]) == 4  # a number: looked up as before


def test_without_a_public_key_a_clear_line(issued, elsewhere, capsys):
    _certs, statements, _pdfs, _pub, _rev = issued
    assert main(["verify", statements[0], *elsewhere]) == 2
    err = capsys.readouterr().err.strip()
    assert "--public-key FILE" in err and len(err.splitlines()) == 1


def test_the_pdf_and_a_scan_of_it(issued, elsewhere, tmp_path, capsys):
    certs, _statements, pdfs, pub, _rev = issued
    pdf = next(p for p in pdfs if certs[0].full_name in p.name)
    assert main(["verify", str(pdf), "--public-key", str(pub), *elsewhere]) == 0
    assert certs[0].number in capsys.readouterr().out
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(pdf), str(tmp_path / "scan")], check=True)
    assert main(["verify", str(tmp_path / "scan.png"), "--public-key", str(pub), *elsewhere]) == 0
    assert certs[0].number in capsys.readouterr().out
    blank = tmp_path / "blank.png"
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-singlefile", "-x", "0", "-y", "0", "-W", "20", "-H", "20",
                    str(pdf), str(tmp_path / "blank")], check=True)
    assert main(["verify", str(blank), "--public-key", str(pub), *elsewhere]) == 2
    assert "No QR code could be read in" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.pdf"), "--public-key", str(pub), *elsewhere]) == 2
    assert "missing.pdf does not exist" in capsys.readouterr().err


def test_a_bad_public_key_file_is_named(issued, elsewhere, tmp_path, capsys):
    _certs, statements, _pdfs, _pub, _rev = issued
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert main(["verify", statements[0], "--public-key", str(bad), *elsewhere]) == 2
    assert "bad.json is not a Kursdesk public key file" in capsys.readouterr().err


def test_verifier_page_is_written(issued, tmp_path, capsys):
    assert main(["verifier", "--out", str(tmp_path / "site"), "--db", str(tmp_path / "issuer.db")]) == 0
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "kursdesk-revocations" in html and "<script src" not in html and "http://" not in html
