"""ISBN check digits, worked out directly for codes that are plain ASCII.

python-stdnum is the reference (``isbn.validate``), but it raises an exception for every
invalid number, and a catalogue import or its index tries many numbers that are not ISBNs
(control numbers, "91-29-65739-0 (inb.)" notes): that cost more than the rest of a
record's description. Both ``library_loans.marc.describe`` and
``library_loans.search.analysis`` check through here; ``tests/library_loans/test_marc.py``
holds both to stdnum over generated numbers.
"""

from __future__ import annotations


def isbn13(number: str) -> str | None:
    """``number`` (ASCII digits and X, no hyphens or spaces, upper case) as a valid
    ISBN-13, or None when it is no valid ISBN-10 or ISBN-13 (nine digits: an SBN)."""
    if len(number) == 9:
        number = "0" + number
    digits = number[:-1]
    if not digits.isdigit():
        return None
    if len(number) == 10:
        check = sum(weight * int(digit) for weight, digit in enumerate(digits, start=1)) % 11
        if mod11_digit(check) != number[-1]:
            return None
        return f"978{digits}{ean_check_digit('978' + digits)}"
    if len(number) == 13 and number[:3] in ("978", "979") and \
            ean_check_digit(digits) == number[-1]:
        return number
    return None


def ean_check_digit(digits: str) -> str:
    """The EAN-13 check digit of its first twelve digits."""
    total = sum(int(digit) * (3 if n % 2 else 1) for n, digit in enumerate(digits))
    return str((10 - total) % 10)


def mod11_digit(check: int) -> str:
    """A modulo 11 check digit as ISBN-10 and ISSN write it: 10 is X."""
    return "X" if check == 10 else str(check)
