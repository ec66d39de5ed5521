"""Tests of app.validation against published test data and Luhn-constructed numbers.

Sources of the identity numbers (test numbers only, never real people's):
- Skatteverket's open data sets "Testpersonnummer" and "Testsamordningsnummer"
  (189001019802, 190001019801, 196408233234, 199001012385, 191401682396, ...).
- python-stdnum's doctests in stdnum/se/personnummer.py (880320-0016, 890102-3286,
  811228-9841) and the widely used examples 811218-9876, 670919-9530, 121212-1212,
  701063-2391 (a samordningsnummer).
- Constructed cases compute their check digit with stdnum.luhn, so that the only thing
  wrong with an invalid one is what the test is about.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.se import orgnr as stdnum_orgnr
from stdnum.se import personnummer as stdnum_pnr

from app import i18n
from app import validation as v
from app.validation import FieldError

TODAY = date(2026, 11, 26)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def english():
    before = i18n.current_language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def pnr(body11: str) -> str:
    """Append the Luhn check digit, computed over the ten-digit form, to YYYYMMDDNNN."""
    assert len(body11) == 11
    return body11 + luhn.calc_check_digit(body11[2:])


def wrong_check_digit(pnr12: str) -> str:
    return pnr12[:-1] + str((int(pnr12[-1]) + 1) % 10)


def norm(value: str) -> str:
    return v.normalize_personal_number(value, today=TODAY)


def pnr_error(value: str) -> FieldError:
    with pytest.raises(FieldError) as info:
        norm(value)
    assert info.value.field == "personal_number"
    return info.value


# --------------------------------------------------------------------------------------
# The module's boundaries
# --------------------------------------------------------------------------------------


def test_module_loads_neither_qt_nor_sqlalchemy():
    script = (
        "import sys, app.validation\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'sqlalchemy'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_field_error_carries_field_and_message():
    e = FieldError("email", "Bad address")
    assert isinstance(e, ValueError)
    assert (e.field, e.message, str(e)) == ("email", "Bad address", "Bad address")


# --------------------------------------------------------------------------------------
# Personnummer: published valid numbers
# --------------------------------------------------------------------------------------

SKATTEVERKET_TEST_NUMBERS = [
    "189001019802",
    "190001019801",
    "196408233234",
    "199001012385",
    "200002292399",  # 29 February 2000
    "202402292383",  # 29 February 2024
]
SKATTEVERKET_COORDINATION_NUMBERS = [
    "191401682396",  # day 68: 8 January 1914
    "202201612393",  # day 61: 1 January 2022
    "202601612381",
]


@pytest.mark.parametrize("value", SKATTEVERKET_TEST_NUMBERS + SKATTEVERKET_COORDINATION_NUMBERS)
def test_skatteverket_test_numbers_are_valid(value):
    assert norm(value) == value
    assert norm(f"{value[:8]}-{value[8:]}") == value


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("811218-9876", "198112189876"),
        ("8112189876", "198112189876"),
        ("19811218-9876", "198112189876"),
        ("198112189876", "198112189876"),
        ("  811218-9876\n", "198112189876"),
        ("811218 9876", "198112189876"),
        ("670919-9530", "196709199530"),
        ("880320-0016", "198803200016"),  # stdnum doctest
        ("890102-3286", "198901023286"),  # stdnum doctest
        ("811228-9841", "198112289841"),  # stdnum doctest
        ("19121212+1212", "191212121212"),  # 12 digits: the century is written out
        ("19121212-1212", "191212121212"),
        ("121212+1212", "191212121212"),  # + : 100 or older this year
        ("121212-1212", "201212121212"),  # - : younger than 100 this year
        ("000101+9801", "190001019801"),
        ("000229-2399", "200002292399"),
        ("900101-2385", "199001012385"),
        ("701063-2391", "197010632391"),  # samordningsnummer
        ("7010632391", "197010632391"),
        ("140168+2396", "191401682396"),
    ],
)
def test_written_forms_normalise_to_twelve_digits(written, expected):
    assert norm(written) == expected


def test_century_of_ten_digit_numbers_follows_the_calendar_year():
    # Folkbokföringslagen 18 §: '+' from the calendar year in which one turns 100.
    born_1926 = pnr("19261231" + "123")
    ten = born_1926[2:8] + "+" + born_1926[8:]
    assert v.normalize_personal_number(ten, today=date(2026, 1, 1)) == born_1926
    # with '-', 26 in 2026 is 2026; 31 December 2026 has not come yet
    e = pnr_error(born_1926[2:8] + "-" + born_1926[8:])
    assert "****" in e.message
    # in 2025 the same person is 99 and writes '-'; '+' would mean 1826
    assert v.normalize_personal_number(born_1926[2:], today=date(2025, 6, 1)) == born_1926
    assert v.normalize_personal_number(ten, today=date(2025, 6, 1)) == "18" + born_1926[2:]
    # 27 is 1927 with '-' and 1827 with '+'
    born_1927 = pnr("19270101" + "123")
    assert norm(born_1927[2:]) == born_1927
    assert norm(born_1927[2:8] + "+" + born_1927[8:]) == "18" + born_1927[2:]


def test_born_today_is_valid_but_tomorrow_is_in_the_future(english):
    today = pnr(TODAY.strftime("%Y%m%d") + "123")
    tomorrow = pnr((TODAY + timedelta(days=1)).strftime("%Y%m%d") + "123")
    assert norm(today) == today
    e = pnr_error(tomorrow)
    assert "future" in e.message
    assert tomorrow not in e.message and tomorrow[2:] not in e.message


def test_today_defaults_to_the_real_date():
    tomorrow = pnr((date.today() + timedelta(days=1)).strftime("%Y%m%d") + "123")
    with pytest.raises(FieldError):
        v.normalize_personal_number(tomorrow)
    assert v.normalize_personal_number("811218-9876") == "198112189876"


# --------------------------------------------------------------------------------------
# Personnummer: invalid numbers, each with its own reason
# --------------------------------------------------------------------------------------

FORMAT_ERRORS = [
    "",
    "   ",
    "19900101238",  # 11 digits
    "1990010123855",  # 13 digits
    "19900101-238a",
    "19811218-98X6",
    "abcdefghijkl",
    "19900101*2385",
    "811218--9876",
    "8112-18-9876",
    "1981-12-18-9876",
    "19811218+-9876",
    "811218-987",
    "١٩٨١١٢١٨٩٨٧٦",  # Arabic-Indic digits are digits to Python, not to us
]


@pytest.mark.parametrize("value", FORMAT_ERRORS)
def test_wrong_format_is_rejected(english, value):
    e = pnr_error(value)
    assert "must be written" in e.message or "Enter a personal identity number" in e.message


def test_non_text_is_rejected():
    with pytest.raises(FieldError) as info:
        v.normalize_personal_number(198112189876, today=TODAY)  # type: ignore[arg-type]
    assert info.value.field == "personal_number"


DATE_ERRORS = [
    pnr("19900230" + "238"),  # 30 February
    pnr("19000229" + "238"),  # 1900 was no leap year
    pnr("20230229" + "238"),
    pnr("19901301" + "238"),  # month 13
    pnr("19900001" + "238"),  # month 0
    pnr("19900100" + "238"),  # day 0
    pnr("19900132" + "238"),  # day 32
    pnr("19900431" + "238"),  # 31 April
    pnr("19900160" + "238"),  # day 60: neither a birth day nor a coordination day
    pnr("19700192" + "239"),  # day 92 = coordination day 32
    pnr("19700290" + "239"),  # coordination 30 February
    pnr("19700491" + "239"),  # coordination 31 April
]


@pytest.mark.parametrize("value", DATE_ERRORS)
def test_impossible_dates_are_rejected(english, value):
    assert luhn.is_valid(value[2:])  # only the date is wrong
    e = pnr_error(value)
    assert "no such date" in e.message
    assert value not in e.message and value[2:] not in e.message


def test_ten_digit_plus_can_make_a_leap_day_impossible(english):
    # 000229 is 2000 (a leap year) with '-' but 1900 (none) with '+'
    assert norm("000229-2399") == "200002292399"
    assert "no such date" in pnr_error("000229+2399").message


VALID_NUMBERS = (
    SKATTEVERKET_TEST_NUMBERS
    + SKATTEVERKET_COORDINATION_NUMBERS
    + ["198112189876", "196709199530", "191212121212", "197010632391", "198803200016"]
)


@pytest.mark.parametrize("value", VALID_NUMBERS)
def test_wrong_check_digit_is_rejected_in_every_form(english, value):
    bad = wrong_check_digit(value)
    for written in (bad, f"{bad[:8]}-{bad[8:]}"):
        e = pnr_error(written)
        assert "check digit" in e.message
        assert e.message.count("****") == 1
        assert bad not in e.message and bad[2:] not in e.message and bad[8:] not in e.message


def test_stdnum_doctest_invalid_number_is_rejected():
    assert not stdnum_pnr.is_valid("880320-0018")
    pnr_error("880320-0018")


def test_messages_are_translated_at_raise_time(english):
    e = pnr_error("19811218-98X6")
    i18n.set_language("sv")
    try:
        e_sv = pnr_error("19811218-98X6")
    finally:
        i18n.set_language("en")
    assert e.message.startswith("The personal identity number must be written")
    assert e_sv.field == e.field
    assert str(e_sv) == e_sv.message and e_sv.message


# --------------------------------------------------------------------------------------
# Personnummer: property tests
# --------------------------------------------------------------------------------------


@st.composite
def valid_numbers(draw, earliest=date(TODAY.year - 199, 1, 1)):
    born = draw(st.dates(min_value=earliest, max_value=TODAY))
    serial = draw(st.integers(0, 999))
    coordination = draw(st.booleans())
    day = born.day + (60 if coordination else 0)
    return pnr(f"{born.year:04d}{born.month:02d}{day:02d}{serial:03d}"), born, coordination


def written_forms(pnr12: str, born: date) -> list[str]:
    forms = [pnr12, f"{pnr12[:8]}-{pnr12[8:]}", f" {pnr12} "]
    # the ten-digit forms exist for the last 200 years; '+' from the year one turns 100
    if TODAY.year - born.year >= 100:
        forms.append(f"{pnr12[2:8]}+{pnr12[8:]}")
    else:
        forms += [f"{pnr12[2:8]}-{pnr12[8:]}", pnr12[2:]]
    return forms


@given(valid_numbers())
def test_every_written_form_normalises_to_the_same_digits(case):
    pnr12, born, coordination = case
    for written in written_forms(pnr12, born):
        assert norm(written) == pnr12, written
    assert v.is_coordination_number(pnr12) is coordination
    assert v.birth_date_from_personal_number(pnr12) == born
    assert v.format_personal_number(pnr12) == f"{pnr12[:8]}-{pnr12[8:]}"
    assert v.mask_personal_number(pnr12) == f"{pnr12[:8]}-****"
    expected_gender = "female" if int(pnr12[10]) % 2 == 0 else "male"
    assert v.gender_from_personal_number(pnr12) == expected_gender


@given(valid_numbers(), st.integers(1, 9))
def test_any_other_check_digit_is_invalid_in_every_form(case, delta):
    pnr12, born, _ = case
    bad = pnr12[:-1] + str((int(pnr12[-1]) + delta) % 10)
    for written in written_forms(bad, born):
        with pytest.raises(FieldError) as info:
            norm(written)
        assert info.value.field == "personal_number"


@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 999),
    st.integers(0, 9),
)
def test_agrees_with_stdnum_on_ordinary_twelve_digit_numbers(born, serial, check):
    """For numbers that are not samordningsnummer stdnum's verdict holds, plus our
    'not in the future' rule (stdnum has none)."""
    value = f"{born:%Y%m%d}{serial:03d}{check}"
    expected = stdnum_pnr.is_valid(value) and born <= TODAY
    try:
        norm(value)
        ours = True
    except FieldError:
        ours = False
    assert ours is expected


def test_stdnum_alone_rejects_samordningsnummer():
    """Documents why we do not rely on stdnum.se.personnummer.validate."""
    assert not stdnum_pnr.is_valid("701063-2391")
    assert norm("701063-2391") == "197010632391"


# --------------------------------------------------------------------------------------
# Helpers on the stored 12 digits
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "gender"),
    [
        ("198112189876", "male"),  # 7
        ("196709199530", "male"),  # 3
        ("198901023286", "female"),  # 8 (stdnum: 'F')
        ("199001012385", "female"),  # 8
        ("191401682396", "male"),  # 9
    ],
)
def test_gender_from_second_last_digit(value, gender):
    assert v.gender_from_personal_number(value) == gender


def test_birth_date_and_coordination_number():
    assert v.birth_date_from_personal_number("198112289841") == date(1981, 12, 28)
    assert v.birth_date_from_personal_number("197010632391") == date(1970, 10, 3)
    assert v.birth_date_from_personal_number("191401682396") == date(1914, 1, 8)
    assert v.birth_date_from_personal_number("191212121212") == date(1912, 12, 12)
    assert v.is_coordination_number("197010632391")
    assert v.is_coordination_number("202201612393")
    assert not v.is_coordination_number("198112189876")
    assert not v.is_coordination_number("190001019801")


def test_mask_and_format():
    assert v.mask_personal_number("198112189876") == "19811218-****"
    assert v.mask_personal_number("197010632391") == "19701063-****"  # stored day kept
    assert v.format_personal_number("198112189876") == "19811218-9876"
    assert v.format_personal_number("191212121212") == "19121212-1212"


def test_helpers_accept_written_forms_and_reject_invalid_ones():
    assert v.format_personal_number("811218-9876") == "19811218-9876"
    assert v.mask_personal_number("19811218-9876") == "19811218-****"
    with pytest.raises(FieldError):
        v.mask_personal_number("19811218-9877")
    with pytest.raises(FieldError):
        v.birth_date_from_personal_number("199002302385")


# --------------------------------------------------------------------------------------
# Organisationsnummer
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("5560160680", "556016-0680"),  # Skatteverket's test data
        ("556016-0680", "556016-0680"),
        (" 556016-0680 ", "556016-0680"),
        ("556016 0680", "556016-0680"),
        ("165560160680", "556016-0680"),  # '16' + the number
        ("16556016-0680", "556016-0680"),
        ("556036-0793", "556036-0793"),
        ("556012-5790", "556012-5790"),
        ("202100-5448", "202100-5448"),  # a government agency (2...)
        ("212000-0142", "212000-0142"),  # a municipality
        ("5560000001", "556000-0001"),
        ("811218-9876", "811218-9876"),  # sole trader: a personnummer
        ("198112189876", "811218-9876"),  # ... with its century
        ("19811218-9876", "811218-9876"),
        ("701063-2391", "701063-2391"),  # ... or a samordningsnummer
    ],
)
def test_valid_org_numbers(written, expected):
    assert luhn.is_valid(expected.replace("-", ""))
    assert v.normalize_org_number(written) == expected


def test_stdnum_alone_rejects_the_16_prefix():
    assert not stdnum_orgnr.is_valid("165560160680")
    assert v.normalize_org_number("165560160680") == "556016-0680"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "Enter an organisation number"),
        ("55601606", "must be written"),
        ("556016-068a", "must be written"),
        ("55-6016-0680", "must be written"),
        ("556016--0680", "must be written"),
        ("1755601606800", "must be written"),
        ("556016-0681", "check digit"),
        ("165560160681", "check digit"),
        ("556000-0002", "check digit"),
        ("811218-9877", "check digit"),  # a sole trader's with a wrong digit
        ("198112189877", "check digit"),
        ("168112189876", "not a valid organisation number"),  # '16' is for legal entities
        # third digit 0/1, Luhn-valid, but no date: neither legal entity nor personnummer
        ("901301" + "238" + luhn.calc_check_digit("901301238"), "not a valid"),
        ("195560160680", "not a valid"),  # century + legal entity is no personnummer
    ],
)
def test_invalid_org_numbers(english, value, reason):
    with pytest.raises(FieldError) as info:
        v.normalize_org_number(value)
    assert info.value.field == "org_number"
    assert reason in info.value.message


def test_org_number_messages_never_show_a_sole_traders_personnummer(english):
    for value in ("811218-9877", "198112189877", "168112189876"):
        with pytest.raises(FieldError) as info:
            v.normalize_org_number(value)
        assert "811218-****" in info.value.message
        assert "9877" not in info.value.message and "9876" not in info.value.message


# --------------------------------------------------------------------------------------
# E-mail and phone
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("anna.svensson@Example.SE", "anna.svensson@example.se"),
        (" Anna@KALMAR.se ", "Anna@kalmar.se"),  # the local part keeps its case
        ("first+tag@sub.domain.se", "first+tag@sub.domain.se"),
        ("o'neil@xn--mnsters-5za.se", "o'neil@xn--mnsters-5za.se"),
        ("info@mönsterås.se", "info@mönsterås.se"),
    ],
)
def test_valid_emails(value, expected):
    assert v.normalize_email(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "anna",
        "anna@",
        "@example.se",
        "anna@example",
        "anna@@example.se",
        "anna@ex@ample.se",
        "anna svensson@example.se",
        "anna@exa mple.se",
        "anna@example..se",
        "anna@.example.se",
        "anna@example.se.",
        "anna@-example.se",
        ".anna@example.se",
        "anna.@example.se",
        "an..na@example.se",
        "anna@example.se; bo@example.se",
        "anna@example.se,bo@example.se",
        "Anna <anna@example.se>",
    ],
)
def test_invalid_emails(value):
    with pytest.raises(FieldError) as info:
        v.normalize_email(value)
    assert info.value.field == "email"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("  ", ""),
        ("0480-123 45", "0480-123 45"),
        (" +46 (0)480 12345 ", "+46 (0)480 12345"),
        ("070  123\t45 67", "070 123 45 67"),
        ("0480\u00a012345", "0480 12345"),
    ],
)
def test_valid_phones(value, expected):
    assert v.normalize_phone(value) == expected


@pytest.mark.parametrize("value", ["070-123 45 67 ankn. 12", "070/1234567", "46+70123", "+", "()", "—", "٠٧٠"])
def test_invalid_phones(value):
    with pytest.raises(FieldError) as info:
        v.normalize_phone(value)
    assert info.value.field == "phone"


# --------------------------------------------------------------------------------------
# Dates, times, months
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-04", date(2026, 10, 4)),
        (" 2024-02-29 ", date(2024, 2, 29)),
        ("20261004", date(2026, 10, 4)),
        (date(2026, 1, 2), date(2026, 1, 2)),
    ],
)
def test_parse_date(value, expected):
    assert v.parse_date(value) == expected


def test_parse_date_turns_a_datetime_into_a_date():
    from datetime import datetime

    result = v.parse_date(datetime(2026, 3, 4, 12, 30))
    assert type(result) is date and result == date(2026, 3, 4)


@pytest.mark.parametrize(
    "value",
    ["", "2026-1-4", "04.10.2026", "2026/10/04", "2026-10", "2026-02-29", "2026-13-01",
     "2026-04-31", "20260230", "2026-10-04T10:00", "2026-10-0x", None],
)
def test_parse_date_rejects(value):
    with pytest.raises(FieldError) as info:
        v.parse_date(value, field="issued_on")
    assert info.value.field == "issued_on"


def test_parse_date_default_field():
    with pytest.raises(FieldError) as info:
        v.parse_date("x")
    assert info.value.field == "date"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("08:30", time(8, 30)),
        ("8:30", time(8, 30)),
        ("08.30", time(8, 30)),
        ("8.30", time(8, 30)),
        ("0830", time(8, 30)),
        (" 23:59 ", time(23, 59)),
        ("00:00", time(0, 0)),
        (time(9, 15), time(9, 15)),
    ],
)
def test_parse_time(value, expected):
    assert v.parse_time(value) == expected


@pytest.mark.parametrize(
    "value", ["", "24:00", "12:60", "830", "8", "08:3", "08-30", "12:30:00", "ab:cd", None]
)
def test_parse_time_rejects(value):
    with pytest.raises(FieldError) as info:
        v.parse_time(value)
    assert info.value.field == "start"
    with pytest.raises(FieldError) as info:
        v.parse_time(value, field="end")
    assert info.value.field == "end"


def test_check_time_range():
    v.check_time_range(time(8, 0), time(8, 1))
    for end in (time(8, 0), time(7, 59)):
        with pytest.raises(FieldError) as info:
            v.check_time_range(time(8, 0), end)
        assert info.value.field == "end"


@pytest.mark.parametrize(
    ("value", "expected"), [("2026-01", (2026, 1)), (" 2026-12 ", (2026, 12))]
)
def test_parse_month(value, expected):
    assert v.parse_month(value) == expected


@pytest.mark.parametrize("value", ["", "2026-13", "2026-00", "2026-1", "202601", "2026-01-01", "jan"])
def test_parse_month_rejects(value):
    with pytest.raises(FieldError) as info:
        v.parse_month(value)
    assert info.value.field == "month"


# --------------------------------------------------------------------------------------
# Gender, municipality, percent
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        (None, ""),
        (" ", ""),
        ("kvinna", "female"),
        ("Kvinna", "female"),
        ("K", "female"),
        ("f", "female"),
        ("FEMALE", "female"),
        ("man", "male"),
        ("Man", "male"),
        ("M", "male"),
        ("male", "male"),
    ],
)
def test_normalize_gender(value, expected):
    assert v.normalize_gender(value) == expected


@pytest.mark.parametrize("value", ["x", "kvinnor", "mann", "other", "0"])
def test_normalize_gender_rejects(value):
    with pytest.raises(FieldError) as info:
        v.normalize_gender(value)
    assert info.value.field == "gender"


def test_municipalities_of_kalmar_lan():
    assert v.MUNICIPALITIES == (
        "Borgholm", "Emmaboda", "Hultsfred", "Högsby", "Kalmar", "Mönsterås",
        "Mörbylånga", "Nybro", "Oskarshamn", "Torsås", "Vimmerby", "Västervik",
    )
    assert v.OTHER_MUNICIPALITY == "Annan"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kalmar", "Kalmar"),
        (" VÄSTERVIK ", "Västervik"),
        ("mörbylånga", "Mörbylånga"),
        ("Mo\u0308rbyla\u030anga", "Mörbylånga"),  # decomposed, as pasted from macOS
        ("Högsby kommun", "Högsby"),
        ("annan", "Annan"),
        ("  Växjö ", "Växjö"),  # outside the county: kept as written
        ("Lilla  Edet", "Lilla Edet"),
        ("Stockholms kommun", "Stockholms kommun"),
    ],
)
def test_normalize_municipality(value, expected):
    assert v.normalize_municipality(value) == expected


def test_every_municipality_round_trips():
    for name in v.MUNICIPALITIES:
        assert v.normalize_municipality(name.upper()) == name


def test_normalize_municipality_rejects_empty():
    with pytest.raises(FieldError) as info:
        v.normalize_municipality("  ")
    assert info.value.field == "municipality"


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 0), (80, 80), (100, 100), ("80", 80), (" 75 % ", 75), ("90%", 90), (80.0, 80)]
)
def test_percent(value, expected):
    assert v.percent(value, "min_attendance_percent") == expected


@pytest.mark.parametrize("value", [-1, 101, "101", "-5", "80.5", 80.5, "", "abc", None, True])
def test_percent_rejects(value):
    with pytest.raises(FieldError) as info:
        v.percent(value, "min_attendance_percent")
    assert info.value.field == "min_attendance_percent"
