"""The verifier page in a real browser: Debian's headless Chromium driven by Playwright, the page
opened from a file (no server), as a phone camera opens the QR code's address with the statement
after '#'. Three planted codes: valid, revoked (in the embedded revocation list), forged."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from app.services import certificate_signing as signing
from app.services import certificates as svc
from app.services.certificate_settings import CertificateSettings, save_certificate_settings
from app.signing import statement
from tests.app.test_certificates import TODAY, make_course

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True, args=FLAGS, locale="sv-SE",
        )
        yield context
        context.close()


def _changed(text: str) -> str:
    """One character of the statement's body changed (the holder's name)."""
    i = 60
    return text[:i] + ("B" if text[i] != "B" else "C") + text[i + 1 :]


@pytest.fixture
def planted(db, tmp_path):
    save_certificate_settings(db, CertificateSettings(verifier_url="https://intyg.example.se/"))
    built = make_course(db)
    issued = svc.issue_certificates(db, built.course_id, today=TODAY)
    valid, revoked = issued[0], issued[1]
    svc.revoke_certificate(db, revoked.id, "Fel kurs", today=TODAY)
    page = signing.write_verifier(db, tmp_path / "site", today=TODAY)
    codes = {name: svc.certificate_data(db, c.id).statement for name, c in (("valid", valid), ("revoked", revoked))}
    codes["forged"] = _changed(codes["valid"])
    return page, codes, {"valid": valid, "revoked": revoked}


def _open(browser, page_file, fragment: str = ""):
    tab = browser.new_page()
    tab.goto(page_file.as_uri() + (f"#{fragment}" if fragment else ""))
    tab.evaluate("window.kursdeskReady")
    return tab


def test_three_planted_codes_opened_from_the_qr_address(browser, planted):
    page_file, codes, certs = planted
    for expected, code in codes.items():
        tab = _open(browser, page_file, code)
        try:
            assert tab.get_attribute("#result", "data-status") == expected, expected
            verdict = tab.inner_text("#verdict")
            assert verdict == {"valid": "Giltigt intyg", "revoked": "Återkallat intyg",
                               "forged": "Inte ett äkta intyg"}[expected]
            if expected != "forged":
                assert tab.inner_text("[data-field=number]") == certs[expected].number
                assert tab.inner_text("[data-field=holder]") == certs[expected].full_name
            else:
                assert tab.locator("[data-field]").count() == 0  # nothing shown of a forged text
        finally:
            tab.close()


def test_pasted_text_in_english(browser, planted):
    page_file, codes, certs = planted
    tab = _open(browser, page_file)
    try:
        tab.click("button[data-lang=en]")
        assert tab.inner_text("#title") == "Check a certificate"
        tab.fill("#input", "https://intyg.example.se/#" + codes["valid"])  # the whole QR text pasted
        tab.click("#check")
        tab.wait_for_selector("#result[data-status]")
        assert tab.inner_text("#verdict") == "Valid certificate"
        assert tab.inner_text("[data-field=code]") == certs["valid"].verification_code
        assert tab.inner_text("[data-field=issued]") == "1 April 2026"
        tab.fill("#input", codes["revoked"])
        tab.click("#check")
        tab.wait_for_function("document.querySelector('#result').dataset.status === 'revoked'")
        assert "revoked on 1 April 2026" in tab.inner_text("#explain")
        tab.fill("#input", "not a certificate at all")
        tab.click("#check")
        tab.wait_for_function("document.querySelector('#result').dataset.status === 'forged'")
        tab.click("button[data-lang=sv]")  # the result is shown again in Swedish
        assert tab.inner_text("#verdict") == "Inte ett äkta intyg"
    finally:
        tab.close()


def test_another_programmes_key_is_forged_and_the_page_needs_no_network(browser, planted, tmp_path):
    page_file, codes, _certs = planted
    # the same statement signed with a key of another programme
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    st, _message, _signature = statement.parse(codes["valid"])
    other = statement.sign(st, Ed25519PrivateKey.generate())
    requests = []
    tab = browser.new_page()
    tab.on("request", lambda r: requests.append(r.url))
    try:
        tab.goto(page_file.as_uri() + "#" + other)
        tab.evaluate("window.kursdeskReady")
        assert tab.get_attribute("#result", "data-status") == "forged"
        assert "Återkallelselistan är från 1 april 2026 och omfattar 1 intyg." in tab.inner_text("#listinfo")
    finally:
        tab.close()
    assert all(url.startswith("file://") for url in requests)  # no external script, nothing fetched
