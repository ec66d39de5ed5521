"""Page parts shared by every document: embedded fonts, the EU emblem and funding statement,
the organisation's header, and escaping of user text for reportlab's paragraph markup."""

from __future__ import annotations

import math
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.config import FONTS
from app.i18n import N_, translate_in

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_ITALIC = "DejaVuSans-Oblique"
PAGE = A4

EU_BLUE = colors.HexColor("#003399")
EU_YELLOW = colors.HexColor("#FFCC00")

FUNDING_STATEMENT = N_("Co-funded by the European Union")


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register DejaVu (covers å ä ö, Ł, Ş, ễ ...); the built-in Helvetica cannot print them."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONTS / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_ITALIC, str(FONTS / "DejaVuSans-Oblique.ttf")))
    from reportlab.lib.fonts import addMapping

    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)
    addMapping(FONT, 0, 1, FONT_ITALIC)
    addMapping(FONT, 1, 1, FONT_BOLD)


def text(value: object) -> str:
    """User text made safe for reportlab Paragraph markup (`<`, `&` print as typed)."""
    return escape("" if value is None else str(value))


def new_canvas(target, *, title: str, pagesize=PAGE, invariant: bool = False) -> Canvas:
    """A canvas with the embedded font as its initial font (so no stray Helvetica is listed).

    invariant=True makes the output byte-for-byte reproducible (no creation date or random id).
    """
    register_fonts()
    c = Canvas(target, pagesize=pagesize, initialFontName=FONT, invariant=1 if invariant else 0)
    c.setTitle(title)
    c.setCreator("Kursdesk")
    return c


def draw_eu_emblem(c: Canvas, x: float, y: float, height: float) -> float:
    """The EU flag (12 gold stars on blue, 3:2) with its lower left corner at (x, y); returns its width."""
    width = height * 1.5
    c.saveState()
    c.setFillColor(EU_BLUE)
    c.rect(x, y, width, height, stroke=0, fill=1)
    c.setFillColor(EU_YELLOW)
    cx, cy = x + width / 2, y + height / 2
    ring = height / 3
    star_r = height / 18
    for i in range(12):
        angle = math.radians(90 - i * 30)
        _star(c, cx + ring * math.cos(angle), cy + ring * math.sin(angle), star_r)
    c.restoreState()
    return width


def _star(c: Canvas, x: float, y: float, r: float) -> None:
    path = c.beginPath()
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.382
        angle = math.radians(90 + k * 36)
        px, py = x + radius * math.cos(angle), y + radius * math.sin(angle)
        path.moveTo(px, py) if k == 0 else path.lineTo(px, py)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


def draw_funding_statement(c: Canvas, x: float, y: float, lang: str, height: float = 10 * mm) -> float:
    """Emblem plus 'Medfinansieras av Europeiska unionen' to its right; returns the total width."""
    width = draw_eu_emblem(c, x, y, height)
    c.saveState()
    c.setFont(FONT_BOLD, height * 0.42)
    c.setFillColor(colors.black)
    label = translate_in(lang, FUNDING_STATEMENT)
    c.drawString(x + width + 2.5 * mm, y + height * 0.32, label)
    c.restoreState()
    return width + 2.5 * mm + pdfmetrics.stringWidth(label, FONT_BOLD, height * 0.42)


def draw_logo(c: Canvas, logo_path: str, x: float, y: float, max_w: float, max_h: float) -> bool:
    """The organisation's logo fitted into a box; a missing or unreadable file draws nothing."""
    if not logo_path:
        return False
    try:
        from reportlab.lib.utils import ImageReader

        image = ImageReader(logo_path)
        iw, ih = image.getSize()
    except Exception:  # an unreadable logo must not stop a document
        return False
    scale = min(max_w / iw, max_h / ih)
    c.drawImage(image, x, y, iw * scale, ih * scale, mask="auto")
    return True
