"""Phone numbers as people write them and as the directory stores them (E.164).

Operators and HR exports write "090-16 10 00", "+46 90 16 10 00" or "090161000"; all of
them are the same number. The directory keeps E.164 and shows the Swedish national format
unless a display override says otherwise.
"""

from __future__ import annotations

import re

import phonenumbers

REGION = "SE"
_NOT_DIGITS = re.compile(r"[\s\-+()/.]")
_MIN_REVERSE_DIGITS = 3


class NumberError(ValueError):
    """Text that is not a phone number the directory can store."""


def parse_number(text: str) -> str:
    """The E.164 form of ``text`` (Swedish numbers may omit the country code)."""
    cleaned = text.strip()
    if not cleaned:
        raise NumberError("A number is required.")
    try:
        parsed = phonenumbers.parse(cleaned, REGION)
    except phonenumbers.NumberParseException as error:
        raise NumberError(f"{text!r} is not a phone number.") from error
    if not phonenumbers.is_possible_number(parsed):
        raise NumberError(f"{text!r} has the wrong number of digits for a phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def format_number(e164: str) -> str:
    """How a stored number is shown: national format at home, international abroad."""
    parsed = phonenumbers.parse(e164, None)
    if parsed.country_code == phonenumbers.country_code_for_region(REGION):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def searchable_digits(e164: str | None, extension: str = "") -> list[str]:
    """The digit strings a number is found by: international, national and the extension."""
    forms = []
    if e164:
        international = e164.lstrip("+")
        forms.append(international)
        country = str(phonenumbers.country_code_for_region(REGION))
        if international.startswith(country):
            forms.append("0" + international[len(country):])
    if extension:
        forms.append(extension)
    return forms


def query_digits(query: str) -> str | None:
    """The digits to look up when ``query`` is (part of) a number, else None.

    "090-16 10 00", "+4690161000" and "161000" all qualify; a country code is turned into
    the national trunk prefix so that it matches what the national form holds.
    """
    stripped = _NOT_DIGITS.sub("", query.strip())
    if len(stripped) < _MIN_REVERSE_DIGITS or not stripped.isdigit():
        return None
    country = str(phonenumbers.country_code_for_region(REGION))
    if query.strip().startswith("+") and stripped.startswith(country):
        return stripped
    if stripped.startswith("00" + country):
        return stripped[2:]
    return stripped
