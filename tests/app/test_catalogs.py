"""The catalogs: every message in the code is translated into Swedish, with the same
placeholders; English is the source language and so complete by construction."""

import re

from babel.messages.pofile import read_po

from app import i18n

PLACEHOLDER = re.compile(r"\{[a-z_0-9]*\}")


def _catalog_entries():
    for po in sorted((i18n.TRANSLATIONS / "sv").glob("*.po")):
        with open(po, "rb") as fh:
            for message in read_po(fh, locale="sv"):
                if message.id:
                    yield po.name, message


def test_every_message_is_translated_into_swedish():
    missing = i18n.missing_translations("sv")
    assert missing == [], "\n".join(f"{f}:{n}: {m!r}" for m, f, n in missing)


def test_translations_keep_their_placeholders():
    wrong = []
    for name, message in _catalog_entries():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        want = sorted(PLACEHOLDER.findall(ids[0]))
        for s in strings:
            if s and sorted(PLACEHOLDER.findall(s)) != want:
                wrong.append(f"{name}: {ids[0]!r} -> {s!r}")
    assert wrong == []


def test_no_message_is_defined_twice_with_different_translations():
    seen: dict = {}
    clashes = []
    for name, message in _catalog_entries():
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in seen and seen[key][1] != message.string:
            clashes.append(f"{key!r}: {seen[key][0]} vs {name}")
        seen.setdefault(key, (name, message.string))
    assert clashes == []


def test_swedish_is_the_default_and_english_switches(kursdesk_home):
    assert i18n.current_language() == "sv"
    assert i18n._("Courses") == "Kurser"
    i18n.set_language("en")
    assert i18n._("Courses") == "Courses"


def test_compiled_catalogs_give_the_same_translations(tmp_path, monkeypatch):
    i18n.compile_catalogs()
    i18n._catalogs.clear()
    assert i18n.translate_in("sv", "Co-funded by the European Union") == "Medfinansieras av Europeiska unionen"


def test_swedish_number_formatting_uses_decimal_comma():
    assert i18n.format_hours(90, "sv") == "1,5"
    assert i18n.format_hours(90, "en") == "1.5"
    assert i18n.format_decimal(1234.5, 1, "sv") == "1\xa0234,5"


def test_translate_in_leaves_the_current_language_alone():
    i18n.set_language("sv")
    assert i18n.translate_in("en", "Courses") == "Courses"
    assert i18n.translate_in("sv", "Courses") == "Kurser"
    assert i18n.current_language() == "sv" and i18n._("Courses") == "Kurser"
    i18n.set_language("en")
    assert i18n.translate_in("sv", "Courses") == "Kurser"
    assert i18n._("Courses") == "Courses"
