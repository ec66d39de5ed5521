"""Translations and locale formatting for both app/ and ui/.

Source strings are English. Each area keeps its Swedish catalog in translations/sv/<area>.po
(so that work on different areas never edits the same file); all of a language's catalogs are
merged at load. `python -m app.i18n --compile` writes .mo files to translations/compiled/;
without them the .po files are read directly, so a fresh checkout works too.
"""

from __future__ import annotations

import gettext
import io
import math
import sys
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers

from app.config import TRANSLATIONS

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
_LOCALES = {"sv": "sv_SE", "en": "en_GB"}

_current = DEFAULT_LANGUAGE
_catalogs: dict[str, gettext.NullTranslations] = {}


def _compiled_dir(lang: str):
    return TRANSLATIONS / "compiled" / lang


def _load(lang: str) -> gettext.NullTranslations:
    """All catalogs of one language chained into one translations object."""
    merged = gettext.NullTranslations()
    po_files = sorted((TRANSLATIONS / lang).glob("*.po"))
    for po in po_files:
        mo = _compiled_dir(lang) / (po.stem + ".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            with open(mo, "rb") as fh:
                part = gettext.GNUTranslations(fh)
        else:  # not compiled (a fresh checkout): babel's catalog reader, only then
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            with open(po, "rb") as fh:
                catalog = read_po(fh, locale=lang)
            buf = io.BytesIO()
            write_mo(buf, catalog)
            buf.seek(0)
            part = gettext.GNUTranslations(buf)
        if isinstance(merged, gettext.GNUTranslations):
            part.add_fallback(merged)
        merged = part
    return merged


def _translations(lang: str | None = None) -> gettext.NullTranslations:
    lang = lang or _current
    catalog = _catalogs.get(lang)
    if catalog is None:
        catalog = _catalogs[lang] = _load(lang) if lang != "en" else gettext.NullTranslations()
    return catalog


def set_language(lang: str) -> None:
    global _current
    if lang not in LANGUAGES:
        raise ValueError(lang)
    _current = lang


def current_language() -> str:
    return _current


def locale_name(lang: str | None = None) -> str:
    return _LOCALES[lang or _current]


def _(message: str) -> str:
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a string for extraction; translate it later with _()."""
    return message


def translate_in(lang: str, message: str) -> str:
    """Translate into a given language without switching the current one (documents per course).
    Touches no shared state, so documents drawn off the UI thread cannot disturb the window."""
    return _translations(lang).gettext(message)


# --- formatting ---------------------------------------------------------------------------

def format_date(value: date | datetime | None, fmt: str = "short", lang: str | None = None) -> str:
    if value is None:
        return ""
    return babel_dates.format_date(value, fmt, locale=locale_name(lang))


def format_time(value: time | None, lang: str | None = None) -> str:
    if value is None:
        return ""
    return value.strftime("%H:%M")


def format_datetime(value: datetime | None, fmt: str = "short", lang: str | None = None) -> str:
    if value is None:
        return ""
    return babel_dates.format_datetime(value, fmt, locale=locale_name(lang))


def format_decimal(value: float | Decimal | int, digits: int = 1, lang: str | None = None) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=locale_name(lang))


def format_hours(minutes: int | float, lang: str | None = None) -> str:
    """Minutes as hours with one decimal, e.g. 90 -> '1,5' in Swedish."""
    return format_decimal(minutes / 60, 1, lang)


def format_percent(ratio: float, lang: str | None = None) -> str:
    return babel_numbers.format_percent(ratio, locale=locale_name(lang))


def format_attendance(percent: float, lang: str | None = None) -> str:
    """An attendance percent (0..100) the same on every page: one decimal, rounded DOWN, so that
    79.96 % never shows as 80 % next to a minimum of 80 %; in the locale's percent format."""
    locale = Locale.parse(locale_name(lang))
    pattern = locale.percent_formats[None].pattern.replace("0", "0.0", 1)  # "#,##0 %" -> "#,##0.0 %"
    floored = math.floor(percent * 10 + 1e-9) / 10
    return babel_numbers.format_percent(floored / 100, format=pattern, locale=locale)


def month_name(month: int, lang: str | None = None) -> str:
    return Locale.parse(locale_name(lang)).months["format"]["wide"][month]


# --- catalog maintenance ------------------------------------------------------------------

def extract_messages():
    """Every translatable message in app/ and ui/ (msgid, file, line)."""
    from babel.messages.extract import extract_from_dir

    from app.config import source_root

    keywords = {"_": None, "N_": None, "ngettext": (1, 2), "translate_in": (2,)}
    found = []
    for folder in ("app", "ui"):
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
            source_root() / folder, method_map=[("**.py", "python")], keywords=keywords
        ):
            found.append((message, f"{folder}/{filename}", lineno))
    return found


def compile_catalogs() -> list[str]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for lang in LANGUAGES:
        for po in sorted((TRANSLATIONS / lang).glob("*.po")):
            out = _compiled_dir(lang) / (po.stem + ".mo")
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(po, "rb") as fh:
                catalog = read_po(fh, locale=lang)
            tmp = out.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                write_mo(fh, catalog)
            tmp.replace(out)
            written.append(str(out))
    return written


def write_pot() -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project="Kursdesk")
    for message, filename, lineno in extract_messages():
        catalog.add(message, locations=[(filename, lineno)])
    with open(TRANSLATIONS / "messages.pot", "wb") as fh:
        write_po(fh, catalog, sort_output=True, omit_header=False)


def missing_translations(lang: str = "sv") -> list[tuple[str, str, int]]:
    """Messages used in the code that the language's catalogs do not translate."""
    from babel.messages.pofile import read_po

    known: dict = {}
    for po in (TRANSLATIONS / lang).glob("*.po"):
        with open(po, "rb") as fh:
            for m in read_po(fh, locale=lang):
                if m.id and m.string and not m.fuzzy:
                    known[m.id if isinstance(m.id, str) else m.id[0]] = m.string
    missing = []
    for message, filename, lineno in extract_messages():
        key = message if isinstance(message, str) else message[0]
        if key not in known:
            missing.append((key, filename, lineno))
    return missing


# --- Swedish collation: one order for tables, services, documents and exports ------------------
#
# ICU's Swedish collation (CLDR): å ä ö after z, ł with l, é with e, ü with y, case and accents
# ignored first. It comes from PyICU as packaged by `pyicu-wheels` (ICU bundled in the wheel, for
# Linux, macOS and Windows; PyInstaller collects it like any extension). Where it is not
# installed, a small fallback gives the same order for the letters of Swedish and of the names
# Kursdesk meets (the alphabet, å ä ö after z, accents and ł ß đ ı folded).

_FALLBACK_ORDER = str.maketrans({"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}", "ü": "y",
                                 "ł": "l", "ß": "ss", "đ": "d", "ı": "i"})
_collator = None


def _icu_collator():
    global _collator
    if _collator is None:
        try:
            import icu  # PyICU (the pyicu-wheels package)
        except ImportError:
            _collator = False
        else:
            _collator = icu.Collator.createInstance(icu.Locale("sv_SE"))
    return _collator


def collation_library() -> str:
    """What sorts: "ICU <version>" or "fallback" (shown by the self-check)."""
    if _icu_collator():
        import icu

        return f"ICU {icu.ICU_VERSION}"
    return "fallback"


@lru_cache(maxsize=65536)  # names repeat: 20,000 people have far fewer distinct names
def sort_key(text: str) -> str | bytes:
    """The key that orders `text` the Swedish way, the same everywhere."""
    collator = _icu_collator()
    if collator:
        return collator.getSortKey(text)
    folded = unicodedata.normalize("NFC", text.casefold())
    if folded.isascii():
        return folded
    folded = folded.translate(_FALLBACK_ORDER)
    return "".join(ch for ch in unicodedata.normalize("NFD", folded) if not unicodedata.combining(ch))


def main(argv: list[str]) -> int:
    if "--compile" in argv:
        print("\n".join(compile_catalogs()))
    if "--pot" in argv:
        write_pot()
    if "--missing" in argv:
        for message, filename, lineno in missing_translations():
            print(f"{filename}:{lineno}: {message!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
