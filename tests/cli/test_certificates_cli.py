"""`kursdesk certificates CODE --out DIR [--lang en]` and `kursdesk verify X`, in-process."""

from __future__ import annotations

from pypdf import PdfReader

from app.cli import main
from app.db import Database
from app.services import certificates as svc
from tests.app.test_certificates import make_course


def setup_db(tmp_path):
    path = tmp_path / "k.db"
    db = Database(path)
    built = make_course(db)
    return path, db, built


def test_certificates_issues_writes_files_and_a_combined_file(tmp_path, capsys):
    path, db, built = setup_db(tmp_path)
    out = tmp_path / "intyg"
    assert main(["certificates", "SVETS-1", "--out", str(out), "--db", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    numbers = [line.split("  ")[0] for line in lines[:4]]
    assert all(n.startswith("20") for n in numbers)
    assert "SVETS-1 - Exakt Gränsen.pdf" in "\n".join(lines)
    assert not any(pnr in "\n".join(lines) for pnr in built.personal_numbers)
    assert not any(pnr[2:8] in "\n".join(lines) for pnr in built.personal_numbers)
    files = sorted(p.name for p in out.glob("*.pdf"))
    assert len(files) == 5
    combined = out / "SVETS-1 - alla intyg.pdf"
    assert combined.exists() and len(PdfReader(combined).pages) == 4
    assert "KURSINTYG" in PdfReader(out / "SVETS-1 - Exakt Gränsen.pdf").pages[0].extract_text()
    # again: nothing new
    assert main(["certificates", "SVETS-1", "--out", str(out), "--db", str(path)]) == 0
    assert capsys.readouterr().out.startswith("Inga nya intyg för SVETS-1")
    assert len(svc.list_certificates(db)) == 4


def test_lang_en_gives_english_certificates_and_output(tmp_path, capsys):
    path, db, _ = setup_db(tmp_path)
    out = tmp_path / "out"
    assert main(["certificates", "SVETS-1", "--out", str(out), "--db", str(path), "--lang", "en"]) == 0
    assert "all of them for printing" in capsys.readouterr().out
    text = PdfReader(out / "SVETS-1 - Exakt Gränsen.pdf").pages[0].extract_text()
    assert "CERTIFICATE" in text and "Co-funded by the European Union" in text
    assert {r.language for r in svc.list_certificates(db)} == {"en"}
    assert main(["certificates", "SVETS-1", "--out", str(out), "--db", str(path), "--lang", "en"]) == 0
    assert "No new certificates for SVETS-1" in capsys.readouterr().out


def test_unknown_course_is_exit_2_with_one_line(tmp_path, capsys):
    path, _, _ = setup_db(tmp_path)
    assert main(["certificates", "NOPE", "--out", str(tmp_path / "o"), "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["kursdesk: Kursen NOPE hittades inte."]
    assert not (tmp_path / "o").exists()


def test_verify_valid_revoked_unknown_exit_codes(tmp_path, capsys):
    path, db, built = setup_db(tmp_path)
    issued = svc.issue_certificates(db, built.course_id)
    cert = next(c for c in issued if c.participant_id == built.participant_ids[0])
    assert main(["verify", cert.number, "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Giltigt:") and "Exakt Gränsen" in out and "SVETS-1" in out
    assert main(["verify", cert.verification_code, "--db", str(path), "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("Valid:")
    svc.revoke_certificate(db, cert.id, "Fel person")
    assert main(["verify", cert.verification_code, "--db", str(path)]) == 3
    out = capsys.readouterr().out
    assert out.startswith("Återkallat:") and "Fel person" in out
    assert main(["verify", "2026-XXXX-0001", "--db", str(path)]) == 4
    assert capsys.readouterr().out.startswith("Okänt:")
