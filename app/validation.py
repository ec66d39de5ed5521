"""Validation and normalisation of user and import input.

Every function either returns the value in its canonical stored form or raises
`FieldError` with the name of the offending field and a translated, human-readable
message. No Qt and no database here: the UI, the services and the JSON bundle import
all use the same rules.

Swedish identity numbers build on python-stdnum (`stdnum.luhn`, `stdnum.se.orgnr`), which
on its own does not cover what Kursdesk needs:

- `stdnum.se.personnummer` rejects samordningsnummer (day + 60) as an invalid date,
- it takes the century of a ten-digit number from the real clock (not testable, no
  `today`), and never checks that the birth date is not in the future,
- `stdnum.se.orgnr` neither accepts the 12-digit form with the `16` prefix nor checks
  that a number is a legal entity's (third digit >= 2) or a sole trader's personnummer.

So the date and century rules are implemented here; stdnum provides the Luhn check.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time

from stdnum import luhn
from stdnum.se import orgnr as _stdnum_orgnr

from app.i18n import _

__all__ = [
    "FieldError",
    "MUNICIPALITIES",
    "OTHER_MUNICIPALITY",
    "birth_date_from_personal_number",
    "check_time_range",
    "format_personal_number",
    "gender_from_personal_number",
    "esf_personal_number",
    "is_coordination_number",
    "is_protected_number",
    "mask_personal_number",
    "normalize_email",
    "normalize_gender",
    "normalize_municipality",
    "normalize_org_number",
    "normalize_personal_number",
    "normalize_phone",
    "parse_date",
    "parse_month",
    "parse_time",
    "percent",
]


class FieldError(ValueError):
    """An invalid value for one field. `message` is already translated."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.message!r})"


# --------------------------------------------------------------------------------------
# Personnummer and samordningsnummer
# --------------------------------------------------------------------------------------

PERSONAL_NUMBER = "personal_number"
COORDINATION_DAY_OFFSET = 60

# ESF's form for a protected or temporary identity: YYYYMMDD-Tf29 (women) / -Tf19 (men), any case,
# with or without the hyphen; stored as YYYYMMDDTF29 / YYYYMMDDTF19
_PROTECTED_RE = re.compile(r"^(?P<date>\d{8})-?T[Ff](?P<gender>[12])9$", re.ASCII | re.IGNORECASE)
_STORED_PROTECTED_RE = re.compile(r"^\d{8}TF[12]9$", re.ASCII)

# YYYYMMDD or YYMMDD, an optional separator ('-', '+' or one space), then NNNC.
_PNR_RE = re.compile(r"^(?P<date>\d{8}|\d{6})(?P<sep>[-+ ]?)(?P<tail>\d{4})$", re.ASCII)


def _mask_digits(digits: str) -> str:
    """The birth-date part of a number and '-****', for messages."""
    return digits[:-4] + "-****"


def _century_year(yy: int, plus: bool, today: date) -> int:
    """The full year of a ten-digit number.

    Folkbokföringslagen (1991:481) 18 §: the separator is '-' until the calendar year in
    which the person turns 100, and '+' from then on. So with '-' the person turns at most
    99 this year, with '+' at least 100.
    """
    year = today.year - ((today.year - yy) % 100)
    return year - 100 if plus else year


def _split_personal_number(value: object, today: date) -> tuple[str, str]:
    """(12 digits, masked form for messages) after the format check and century rule."""
    if not isinstance(value, str):
        raise FieldError(PERSONAL_NUMBER, _("Enter the personal identity number as text."))
    text = value.strip()
    if not text:
        raise FieldError(PERSONAL_NUMBER, _("Enter a personal identity number."))
    m = _PNR_RE.match(text)
    if m is None:
        raise FieldError(
            PERSONAL_NUMBER,
            _(
                "The personal identity number must be written as YYYYMMDD-NNNN, "
                "YYMMDD-NNNN or with 10 or 12 digits."
            ),
        )
    date_part, sep, tail = m.group("date"), m.group("sep"), m.group("tail")
    if len(date_part) == 6:
        year = _century_year(int(date_part[:2]), sep == "+", today)
        date_part = f"{year:04d}{date_part[2:]}"
    # In the 12-digit form the century is written out; a '+' adds nothing then.
    return date_part + tail, _mask_digits(date_part + tail)


def _birth_date_or_none(digits12: str) -> date | None:
    year, month, day = int(digits12[:4]), int(digits12[4:6]), int(digits12[6:8])
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    try:
        return date(year, month, day)
    except ValueError:
        return None


def normalize_personal_number(value: str, *, today: date | None = None) -> str:
    """Personnummer or samordningsnummer in any common written form -> 'YYYYMMDDNNNC'.

    ESF's protected or temporary form YYYYMMDD-Tf29 / YYYYMMDD-Tf19 (any case, hyphen optional)
    becomes 'YYYYMMDDTF29' / 'YYYYMMDDTF19' (a real birth date, no check digit).

    Accepted: YYYYMMDDNNNN, YYYYMMDD-NNNN, YYMMDD-NNNN, YYMMDDNNNN, YYMMDD+NNNN ('+' for
    people who turn 100 or more this calendar year), with surrounding whitespace. Checks a
    real calendar date (day + 60 for samordningsnummer), the Luhn check digit over the
    ten-digit form and that the birth date is not after `today`.
    """
    today = today or date.today()
    protected = _PROTECTED_RE.match(value.strip()) if isinstance(value, str) else None
    if protected is not None:
        return _protected_number(protected.group("date"), protected.group("gender"), today)
    digits, masked = _split_personal_number(value, today)
    born = _birth_date_or_none(digits)
    if born is None:
        raise FieldError(
            PERSONAL_NUMBER,
            _("Invalid personal identity number {value}: there is no such date.").format(
                value=masked
            ),
        )
    if not luhn.is_valid(digits[2:]):
        raise FieldError(
            PERSONAL_NUMBER,
            _("Invalid personal identity number {value}: wrong check digit.").format(value=masked),
        )
    if born > today:
        raise FieldError(
            PERSONAL_NUMBER,
            _("Invalid personal identity number {value}: the birth date is in the future.").format(
                value=masked
            ),
        )
    return digits


def _protected_number(date_part: str, gender_digit: str, today: date) -> str:
    born = _birth_date_or_none(date_part)
    masked = date_part + "-****"
    if born is None:
        raise FieldError(
            PERSONAL_NUMBER,
            _("Invalid personal identity number {value}: there is no such date.").format(value=masked),
        )
    if born > today:
        raise FieldError(
            PERSONAL_NUMBER,
            _("Invalid personal identity number {value}: the birth date is in the future.").format(value=masked),
        )
    return f"{date_part}TF{gender_digit}9"


def is_protected_number(pnr12: str) -> bool:
    """True for ESF's protected or temporary form (YYYYMMDDTF29 / TF19): it identifies no one."""
    return isinstance(pnr12, str) and _STORED_PROTECTED_RE.match(pnr12) is not None


def _pnr12(pnr12: str) -> str:
    """A stored 12-character number as is; any other written form is normalised first."""
    if isinstance(pnr12, str) and len(pnr12) == 12 and pnr12.isascii() and (pnr12.isdigit() or is_protected_number(pnr12)):
        return pnr12
    return normalize_personal_number(pnr12)


def is_coordination_number(pnr12: str) -> bool:
    """True for a samordningsnummer (day of month + 60)."""
    return int(_pnr12(pnr12)[6:8]) > COORDINATION_DAY_OFFSET


def gender_from_personal_number(pnr12: str) -> str:
    """'female' when the second-last digit is even, else 'male' (TF29 is a woman, TF19 a man)."""
    return "female" if int(_pnr12(pnr12)[10]) % 2 == 0 else "male"


def birth_date_from_personal_number(pnr12: str) -> date:
    """The birth date (day - 60 for a samordningsnummer)."""
    digits = _pnr12(pnr12)
    born = _birth_date_or_none(digits)
    if born is None:
        raise FieldError(
            PERSONAL_NUMBER,
            _("Invalid personal identity number {value}: there is no such date.").format(
                value=_mask_digits(digits)
            ),
        )
    return born


def mask_personal_number(pnr12: str) -> str:
    """'YYYYMMDD-****' (a samordningsnummer keeps its stored day, i.e. + 60)."""
    return _mask_digits(_pnr12(pnr12))


def esf_personal_number(pnr12: str, hyphen: bool = True) -> str:
    """As ESF's and SCB's forms write it: 'YYYYMMDD-NNNN', a protected identity 'YYYYMMDD-Tf29'
    (without the hyphen for SCB's column: 'YYYYMMDDNNNN', 'YYYYMMDDTf29')."""
    digits = _pnr12(pnr12)
    tail = "Tf" + digits[10:] if is_protected_number(digits) else digits[8:]
    return f"{digits[:8]}{'-' if hyphen else ''}{tail}"


def format_personal_number(pnr12: str) -> str:
    """'YYYYMMDD-NNNN'."""
    digits = _pnr12(pnr12)
    return f"{digits[:8]}-{digits[8:]}"


# --------------------------------------------------------------------------------------
# Organisationsnummer
# --------------------------------------------------------------------------------------

ORG_NUMBER = "org_number"
_ORG_RE = re.compile(r"^(?P<prefix>\d{2})?(?P<head>\d{6})[- ]?(?P<tail>\d{4})$", re.ASCII)


def normalize_org_number(value: str) -> str:
    """Swedish organisationsnummer -> 'NNNNNN-NNNN'.

    Accepts 'NNNNNN-NNNN', 'NNNNNNNNNN' and the 12-digit forms: '16' + the number of a
    legal entity, or a sole trader's personnummer with its century. A legal entity's
    number has a third digit of 2 or more; a sole trader's number (third digit 0 or 1) must
    be a valid personnummer or samordningsnummer. Always Luhn-checked.
    """
    if not isinstance(value, str):
        raise FieldError(ORG_NUMBER, _("Enter the organisation number as text."))
    text = value.strip()
    if not text:
        raise FieldError(ORG_NUMBER, _("Enter an organisation number."))
    m = _ORG_RE.match(text)
    if m is None:
        raise FieldError(
            ORG_NUMBER,
            _("The organisation number must be written as NNNNNN-NNNN (10 digits)."),
        )
    prefix, number = m.group("prefix"), m.group("head") + m.group("tail")
    # a sole trader's number is a personnummer: never show it whole
    formatted = _stdnum_orgnr.format(number) if int(number[2]) >= 2 else _mask_digits(number)
    if prefix is not None and prefix != "16":
        # 12 digits without '16': a sole trader's personnummer with its century
        return _stdnum_orgnr.format(_sole_trader(prefix + number, formatted)[2:])
    if not luhn.is_valid(number):
        raise FieldError(
            ORG_NUMBER,
            _("Invalid organisation number {value}: wrong check digit.").format(value=formatted),
        )
    if int(number[2]) < 2:
        # not a legal entity: only a sole trader's personnummer, and never after '16'
        if prefix == "16":
            raise FieldError(
                ORG_NUMBER,
                _("{value} is not a valid organisation number.").format(value=formatted),
            )
        _sole_trader(number, formatted)
    return _stdnum_orgnr.format(number)


def _sole_trader(number: str, formatted: str) -> str:
    """A sole trader's number must be a valid personnummer; errors become org errors.
    `formatted` is the number as messages show it (masked)."""
    try:
        return normalize_personal_number(number)
    except FieldError:
        pass
    if not luhn.is_valid(number[-10:]):
        raise FieldError(
            ORG_NUMBER,
            _("Invalid organisation number {value}: wrong check digit.").format(value=formatted),
        )
    raise FieldError(
        ORG_NUMBER, _("{value} is not a valid organisation number.").format(value=formatted)
    )


# --------------------------------------------------------------------------------------
# Contact details
# --------------------------------------------------------------------------------------

_EMAIL_FORBIDDEN = re.compile(r"[\s,;:<>()\[\]\\\"]")
_DOMAIN_LABEL = re.compile(r"^[^\W_](?:[\w-]*[^\W_])?$")


def normalize_email(value: str) -> str:
    """'' stays ''; otherwise local@domain with the domain in lower case."""
    text = (value or "").strip()
    if not text:
        return ""
    invalid = FieldError("email", _("{value} is not a valid e-mail address.").format(value=text))
    if text.count("@") != 1 or _EMAIL_FORBIDDEN.search(text):
        raise invalid
    local, domain = text.split("@")
    if not local or local.startswith(".") or local.endswith(".") or ".." in local:
        raise invalid
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise invalid
    return f"{local}@{domain.lower()}"


_PHONE_RE = re.compile(r"^\+?[\d ()\-]+$", re.ASCII)


def normalize_phone(value: str) -> str:
    """Digits, spaces, '+' (leading only), '-' and parentheses; '' stays ''."""
    text = " ".join((value or "").split())
    if not text:
        return ""
    if not _PHONE_RE.match(text) or not any(ch in "0123456789" for ch in text):
        raise FieldError(
            "phone",
            _(
                "{value} is not a valid phone number: use digits, spaces, +, - and "
                "parentheses only."
            ).format(value=text),
        )
    return text


# --------------------------------------------------------------------------------------
# Dates and times
# --------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^(\d{4})(\d{2})(\d{2})$", re.ASCII)
_TIME_RE = re.compile(r"^(\d{1,2})[:.](\d{2})$|^(\d{2})(\d{2})$", re.ASCII)
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


def parse_date(value: str | date, field: str = "date") -> date:
    """A date, 'YYYY-MM-DD' or 'YYYYMMDD' -> date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    m = _DATE_RE.match(text)
    if m is None:
        raise FieldError(field, _("Enter the date as YYYY-MM-DD."))
    year, month, day = (int(g) for g in m.groups() if g is not None)
    try:
        return date(year, month, day)
    except ValueError:
        raise FieldError(field, _("{value} is not a valid date.").format(value=text)) from None


def parse_time(value: str | time, field: str = "start") -> time:
    """A time, 'HH:MM', 'H:MM', 'HH.MM' or 'HHMM' -> time."""
    if isinstance(value, time):
        return value
    text = value.strip() if isinstance(value, str) else ""
    m = _TIME_RE.match(text)
    if m is None:
        raise FieldError(field, _("Enter the time as HH:MM."))
    hour, minute = (int(g) for g in m.groups() if g is not None)
    if hour > 23 or minute > 59:
        raise FieldError(field, _("{value} is not a valid time.").format(value=text))
    return time(hour, minute)


def check_time_range(start: time, end: time) -> None:
    """FieldError on 'end' unless end is after start."""
    if end <= start:
        raise FieldError("end", _("The end time must be after the start time."))


def parse_month(value: str, field: str = "month") -> tuple[int, int]:
    """'YYYY-MM' -> (year, month)."""
    text = value.strip() if isinstance(value, str) else ""
    m = _MONTH_RE.match(text)
    if m is None:
        raise FieldError(field, _("Enter the month as YYYY-MM."))
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 1:
        raise FieldError(field, _("{value} is not a valid month.").format(value=text))
    return year, month


# --------------------------------------------------------------------------------------
# Gender, municipality, percent
# --------------------------------------------------------------------------------------

_GENDERS = {
    "": "",
    "female": "female",
    "f": "female",
    "kvinna": "female",
    "k": "female",
    "male": "male",
    "m": "male",
    "man": "male",
}


def normalize_gender(value: str | None) -> str:
    """'' / 'female' / 'male' from the English or Swedish words or their initials."""
    key = (value or "").strip().casefold()
    try:
        return _GENDERS[key]
    except KeyError:
        raise FieldError(
            "gender", _("{value} is not a valid gender: use female, male or leave it empty.").format(
                value=str(value).strip()
            )
        ) from None


MUNICIPALITIES: tuple[str, ...] = (
    "Borgholm",
    "Emmaboda",
    "Hultsfred",
    "Högsby",
    "Kalmar",
    "Mönsterås",
    "Mörbylånga",
    "Nybro",
    "Oskarshamn",
    "Torsås",
    "Vimmerby",
    "Västervik",
)
OTHER_MUNICIPALITY = "Annan"

_MUNICIPALITY_KEYS = {name.casefold(): name for name in (*MUNICIPALITIES, OTHER_MUNICIPALITY)}
_KOMMUN_SUFFIX = re.compile(r"\s+kommun$", re.IGNORECASE)


def normalize_municipality(value: str) -> str:
    """One of Kalmar län's municipalities in its canonical spelling (any case, optionally
    with ' kommun'), 'Annan', or any other municipality's name trimmed."""
    text = " ".join(unicodedata.normalize("NFC", value or "").split())
    if not text:
        raise FieldError("municipality", _("Enter a municipality."))
    key = text.casefold()
    if key in _MUNICIPALITY_KEYS:
        return _MUNICIPALITY_KEYS[key]
    bare = _KOMMUN_SUFFIX.sub("", text).casefold()
    return _MUNICIPALITY_KEYS.get(bare, text)


def percent(value: int | str, field: str = "percent") -> int:
    """A whole number 0..100 (an int, or text like '80' or '80 %')."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        if re.fullmatch(r"-?\d+", text, re.ASCII):
            number = int(text)
    if number is None or not 0 <= number <= 100:
        raise FieldError(field, _("Enter a whole number between 0 and 100."))
    return number
