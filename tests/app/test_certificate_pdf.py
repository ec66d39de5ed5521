"""The certificate PDF read back: texts with pypdf, the QR code decoded from the rendered page
(pdftoppm + zbarimg, as a phone or a scanner would read it)."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from app.documents.certificate import CertificateData, qr_matrix, qr_payload, render_certificate
from app.services import certificates as svc
from app.services.certificate_settings import CertificateSettings, save_certificate_settings
from tests.app.test_certificates import TODAY, make_course

NAMES = ["Kalle <Kula> Karlsson & Son", "Łukasz Świątek", "Nguyễn Thị Ánh", "Şükrü Çelik", "Åsa Öberg"]


def sample(**kw) -> CertificateData:
    values = dict(
        lang="sv",
        number="2026-7F3A-0042",
        verification_code="ABCD-EFGH-JKMN",
        full_name="Åsa Öberg",
        birth_date=date(1985, 3, 12),
        course_code="SVETS1",
        course_title="Svetsning MIG/MAG <grund> & fortsättning",
        description="Säkerhet, utrustning & fogberedning.",
        learning_outcomes="Svetsa kälfog i PA och PB",
        first_date=date(2026, 2, 3),
        last_date=date(2026, 3, 24),
        scheduled_minutes=1800,
        attended_minutes=1530,
        provider_name="Campus Västervik",
        location="Verkstaden, Västervik",
        organisation_name="Campus Västervik",
        programme_name="Kompetenslyft Kalmar län",
        place="Västervik",
        issued_on=date(2026, 3, 25),
        signatory_name="Anna Lindqvist",
        signatory_title="Projektledare",
    )
    values.update(kw)
    return CertificateData(**values)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    # the no-break space of Swedish numbers shares the space's glyph, so it reads back as a space
    return reader.pages[0].extract_text().replace("\xa0", " ")


def decode_qr(pdf: bytes, tmp_path) -> list[str]:
    src = tmp_path / "cert.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(src), str(tmp_path / "page")], check=True)
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_swedish_certificate_texts():
    text = text_of(render_certificate(sample()))
    for expected in (
        "KURSINTYG",
        "Härmed intygas att",
        "Åsa Öberg",
        "född 12 mars 1985",
        "Svetsning MIG/MAG <grund> & fortsättning",
        "3 februari 2026 – 24 mars 2026",
        "Schemalagda timmar",
        "30,0",
        "25,5 (85 % av de schemalagda timmarna)",
        "Campus Västervik",
        "Verkstaden, Västervik",
        "Säkerhet, utrustning & fogberedning.",
        "Lärandemål",
        "Västervik den 25 mars 2026",
        "Anna Lindqvist",
        "Projektledare",
        "2026-7F3A-0042",
        "ABCD-EFGH-JKMN",
        "Medfinansieras av Europeiska unionen",
    ):
        assert expected in text, expected


def test_english_certificate_texts():
    text = text_of(render_certificate(sample(lang="en")))
    for expected in ("CERTIFICATE", "born 12 March 1985", "3 February 2026 – 24 March 2026",
                     "25.5 (85% of the scheduled hours)", "Co-funded by the European Union", "Västervik, 25 March 2026"):
        assert expected in text, expected
    assert "Medfinansieras" not in text


@pytest.mark.parametrize("name", NAMES)
def test_names_print_exactly(name):
    assert name in text_of(render_certificate(sample(full_name=name)))


def test_same_data_same_bytes():
    assert render_certificate(sample()) == render_certificate(sample())
    assert render_certificate(sample()) != render_certificate(sample(full_name="Åsa Öberg-Lind"))


def test_long_texts_are_wrapped_and_stay_on_one_page():
    long = " ".join(["Fogberedning, svetsning i olika lägen & kvalitetskontroll."] * 80)
    text = text_of(render_certificate(sample(description=long, learning_outcomes=long)))
    assert "…" in text  # cut with an ellipsis rather than running into the signature
    assert "Anna Lindqvist" in text and "Medfinansieras av Europeiska unionen" in text


def test_qr_code_decodes_to_number_and_code(tmp_path):
    pdf = render_certificate(sample(full_name="Nguyễn Thị Ánh"))
    assert decode_qr(pdf, tmp_path) == ["KURSDESK:2026-7F3A-0042:ABCD-EFGH-JKMN"]


def test_qr_code_with_a_verification_address_in_utf8(tmp_path):
    url = qr_payload("2026-7F3A-0042", "ABCD-EFGH-JKMN", "https://intyg.example.se/kontroll/{number}?kod={code}&å=1")
    assert decode_qr(render_certificate(sample(qr_payload=url)), tmp_path) == [
        "https://intyg.example.se/kontroll/2026-7F3A-0042?kod=ABCD-EFGH-JKMN&å=1"
    ]


def test_qr_matrix_is_square_with_finder_patterns():
    m = qr_matrix("KURSDESK:2026-7F3A-0042:ABCD-EFGH-JKMN")
    n = len(m)
    assert all(len(row) == n for row in m) and (n - 17) % 4 == 0
    assert all(m[0][:7]) and all(m[6][:7]) and not any(m[1][1:6])  # top-left finder


def test_issued_certificate_reads_back_and_its_qr_matches(db, tmp_path):
    built = make_course(db)
    issued = svc.issue_certificates(db, built.course_id, today=TODAY)
    cert = next(c for c in issued if c.full_name == "Kalle <Kula> Karlsson & Son")
    pdf = svc.certificate_pdf(db, cert.id)
    text = text_of(pdf)
    for expected in ("Kalle <Kula> Karlsson & Son", "Svetsning MIG/MAG – grund", "8,5", cert.number,
                     cert.verification_code, "Medfinansieras av Europeiska unionen", "Campus Västervik",
                     "Grunderna i MIG/MAG-svetsning <stål> & aluminium."):
        assert expected in text, expected
    assert decode_qr(pdf, tmp_path) == [svc.certificate_data(db, cert.id).statement]  # the signed statement
    pnr = built.personal_numbers[5]
    assert pnr not in text and pnr[2:] not in text  # the birth date only, never the personnummer


def test_verifier_address_from_the_settings(db, tmp_path):
    save_certificate_settings(db, CertificateSettings(verifier_url="https://intyg.example.se/kontroll"))
    built = make_course(db)
    cert = svc.issue_certificates(db, built.course_id, today=TODAY)[0]
    pdf = svc.certificate_pdf(db, cert.id)
    assert decode_qr(pdf, tmp_path) == ["https://intyg.example.se/kontroll#" + svc.certificate_data(db, cert.id).statement]
    assert "öppna https://intyg.example.se/kontroll" in text_of(pdf)  # the hint names the page
