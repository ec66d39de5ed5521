"""The QR text of a certificate from what a verifier was handed: a scanned image or the PDF.

- A PDF that Kursdesk issued carries the same signed statement as its QR code in its document
  information (`/Keywords (kursdesk-statement:<base64url>)`), read from the file's bytes: no PDF
  library and no rendering. The signature, not the PDF, is what is trusted.
- A scan or photo (PNG, JPEG, ...) is decoded with zxing-cpp (wheels for Windows, macOS and
  Linux, no system library), the image read by Pillow (reportlab's own dependency).
"""

from __future__ import annotations

import re
from pathlib import Path

from app.errors import UserError
from app.i18n import _

PDF_MARK = "kursdesk-statement:"
_PDF_STATEMENT = re.compile(rb"/Keywords \(" + re.escape(PDF_MARK.encode()) + rb"([A-Za-z0-9_-]+)\)")


def pdf_keywords(signed: str) -> str:
    """What the certificate PDF's /Keywords holds."""
    return PDF_MARK + signed


def text_from_pdf(path: Path) -> str:
    data = _read(path)
    found = _PDF_STATEMENT.search(data)
    if found is None:
        raise UserError(_("{file} holds no signed Kursdesk certificate (scan its QR code instead).").format(file=path))
    return found.group(1).decode("ascii")


def text_from_image(path: Path) -> str:
    try:
        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - both are dependencies of the bundle
        raise UserError(_("Reading QR codes from images is not available in this installation.")) from None
    try:
        with Image.open(path) as img:
            img.load()
            results = zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    except FileNotFoundError:
        raise UserError(_("The file {file} does not exist.").format(file=path)) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise UserError(_("{file} is neither a PDF nor an image Kursdesk can read.").format(file=path)) from None
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise UserError(_("No QR code could be read in {file}; scan it again, larger and sharper.").format(file=path))
    return texts[0]


def text_from_file(path: Path) -> str:
    path = Path(path)
    if _read(path, 5) == b"%PDF-":
        return text_from_pdf(path)
    return text_from_image(path)


def _read(path: Path, limit: int = -1) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except FileNotFoundError:
        raise UserError(_("The file {file} does not exist.").format(file=path)) from None
    except OSError as exc:
        raise UserError(_("Cannot read {file}: {reason}.").format(file=path, reason=exc.strerror or type(exc).__name__)) from None
