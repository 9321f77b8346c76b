"""What the catalogue needs to know about one bibliographic record, read from its MARC fields.

Text comes out NFC-normalised, with runs of whitespace made one space and the ISBD
punctuation that ends a MARC subfield (" /", " :", " ;", " =", ",", a final period) trimmed;
a period after a one-letter initial ("Lind, A.") stays.

Media type, from Leader/06 (type of record), Leader/07 (level), 007 and 008: a talking
book (see ``describe``) is ``talking_book``; language material (``a``, ``t``) is
``periodical`` as a serial (Leader/07 ``s``), ``ebook`` when electronic (008/23 ``o``,
``q`` or ``s``, or an 007 for a computer file) and otherwise ``book``; ``i`` is
``audiobook``; music and scores (``c``, ``d``, ``j``) are ``music``; projected media
(``g``) are ``film``; a computer file (``m``) that is a game (008/26 ``g``) and a
three-dimensional object that is one (``r`` with 008/33 ``g``) are ``game``; everything
else is ``other``.

Audience, from 008/22 wherever MARC 21 defines it as the target audience (books, music,
sound recordings, visual materials, computer files): preschool, primary and juvenile
(``a``, ``b``, ``j``) are ``children``, pre-adolescent and adolescent (``c``, ``d``) are
``youth``, anything else (adult, general, specialised, unknown) is ``adult``; so is every
record whose 008/22 means something else (serials, maps, mixed materials).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pymarc

from library_loans.marc.plain import AnyField, PlainRecord
from library_loans.standard_numbers import isbn13

MEDIA_TYPES = (
    "book",
    "ebook",
    "audiobook",
    "talking_book",
    "film",
    "music",
    "periodical",
    "game",
    "other",
)
AUDIENCES = ("adult", "youth", "children")

_AUDIENCE_BY_CODE = {"a": "children", "b": "children", "j": "children", "c": "youth", "d": "youth"}
# Types of record whose 008/22 is the target audience.
_AUDIENCE_TYPES = frozenset("acdgijkmort")
_SUBJECT_TAGS = frozenset(("600", "650", "651", "653", "655"))
_ISBN_CANDIDATE = re.compile(r"[0-9Xx][0-9Xx-]*")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_DAISY = re.compile(r"\bDAISY\b|(?i:\bdaisy[- ]?(?:format|skiva|bok|talbok))")
_ONE_LETTER_INITIAL = re.compile(r"(?:^|[\s.,])\w\.$")
_ISBD_ENDINGS = " /:;=,"


@dataclass(frozen=True, slots=True)
class Description:
    """The catalogue's view of a record: identifiers, title, people, subjects, kind."""

    control_number: str | None
    control_source: str | None
    isbns: tuple[str, ...]
    invalid_isbns: tuple[str, ...]
    title: str
    author: str | None
    contributors: tuple[str, ...]
    publisher: str | None
    year: int | None
    language: str | None
    subjects: tuple[str, ...]
    classification: tuple[str, ...]
    series: tuple[str, ...]
    notes: tuple[str, ...]
    media_type: str
    audience: str
    talking_book: bool


class DescriptionError(ValueError):
    """A record the catalogue cannot describe: it has no title."""


def describe(record: pymarc.Record | PlainRecord) -> Description:
    """The record as the catalogue describes it; ``DescriptionError`` if it has no title.

    A record is a talking book (DAISY, for patrons who cannot read print) when its SAB
    classification in 084 ends in ``/TC``, or a 500 note names DAISY (in capitals, or as
    "Daisy-format", "daisyskiva" …, so that a title such as "Daisy Miller" quoted in a note
    does not count), or it is a nonmusical sound recording (Leader/06 ``i``) that is also a
    computer optical disc (007 beginning ``co``) or for a specialised audience (008/22
    ``f``). Leader/06 ``i`` alone, an audiobook on CD, is not a talking book.
    """
    fields = _fields_by_tag(record)
    leader = str(record.leader).ljust(24)
    fixed = next((field.data or "" for field in fields.get("008", ())), "").ljust(40)
    isbns, invalid_isbns = _isbns(fields.get("020", ()))
    classification = _values(fields, ("084",), "a")
    general_notes = _values(fields, ("500",), "a", trim=False)
    talking_book = _is_talking_book(leader, fixed, fields, classification, general_notes)
    return Description(
        control_number=_control(fields, "001"),
        control_source=_control(fields, "003"),
        isbns=isbns,
        invalid_isbns=invalid_isbns,
        title=_title(fields),
        author=_first(_values(fields, ("100", "110", "111"), "a")),
        contributors=_unique(_values(fields, ("700", "710"), "a")),
        publisher=_publisher(fields),
        year=_year(fixed, fields),
        language=_language(fixed, fields),
        subjects=_subjects(record.fields),
        classification=_unique(classification),
        series=_unique(_values(fields, ("490", "830"), "a")),
        notes=_unique(general_notes + _values(fields, ("520",), "a", trim=False)),
        media_type=_media_type(leader, fixed, fields, talking_book),
        audience=_audience(leader, fixed),
        talking_book=talking_book,
    )


def _fields_by_tag(record: pymarc.Record | PlainRecord) -> dict[str, list[AnyField]]:
    """The record's fields grouped by tag, in record order, in one pass."""
    fields: dict[str, list[AnyField]] = {}
    for field in record.fields:
        fields.setdefault(field.tag, []).append(field)
    return fields


def _control(fields: dict[str, list[AnyField]], tag: str) -> str | None:
    """The first control field with ``tag``, stripped, or None when absent or blank."""
    for field in fields.get(tag, ()):
        data = (field.data or "").strip()
        if data:
            return data
    return None


def _clean(text: str) -> str:
    """NFC, and every run of whitespace one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@lru_cache(maxsize=1 << 16)
def _trim(text: str) -> str:
    """Cleaned, with the ISBD punctuation that ends a subfield taken off.

    Remembered: names, subjects, publishers, series and classifications recur from record
    to record, and looking one up costs a tenth of trimming it.
    """
    text = _clean(text).rstrip(_ISBD_ENDINGS)
    if text.endswith(".") and not text.endswith("..") and not _ONE_LETTER_INITIAL.search(text):
        text = text[:-1].rstrip(_ISBD_ENDINGS)
    return text


def _values(
    fields: dict[str, list[AnyField]], tags: Iterable[str], code: str, *, trim: bool = True
) -> list[str]:
    """Every non-blank subfield ``code`` of the fields with ``tags``, trimmed, tag by tag."""
    tidy = _trim if trim else _clean
    found = []
    for tag in tags:
        for field in fields.get(tag, ()):
            for subfield_code, value in field.subfields:
                if subfield_code == code:
                    text = tidy(value)
                    if text:
                        found.append(text)
    return found


def _first(values: Sequence[str]) -> str | None:
    return values[0] if values else None


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    # Most lists hold one value or none, which need no dictionary to be told apart.
    return tuple(values) if len(values) < 2 else tuple(dict.fromkeys(values))


def _isbns(fields: Iterable[AnyField]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Valid ISBN-13s from 020 $a, and the $a and $z values that are not valid ISBNs.

    A valid $z is a cancelled ISBN: it is neither this record's ISBN nor wrong, so it is
    in neither list.
    """
    valid: list[str] = []
    invalid: list[str] = []
    for field in fields:
        for code, value in field.subfields:
            if code not in ("a", "z"):
                continue
            number = _valid_isbn(value)
            if number is None:
                if value.strip():
                    invalid.append(value.strip())
            elif code == "a":
                valid.append(number)
    return _unique(valid), _unique(invalid)


def _valid_isbn(value: str) -> str | None:
    """The ISBN at the start of a 020 value ("91-29-65739-0 (inb.)") as ISBN-13, if valid.

    The checks are python-stdnum's ``isbn.validate(convert=True)``, made here directly:
    the candidate holds only ASCII digits, X and hyphens, so none of stdnum's cleaning
    applies, and raising an exception for every invalid one cost more than describing
    the rest of the record (test_marc checks that the two agree).
    """
    candidate = _ISBN_CANDIDATE.search(value)
    if candidate is None:
        return None
    return isbn13(candidate.group().replace("-", "").upper())


def _title(fields: dict[str, list[AnyField]]) -> str:
    """245 $a $b $n $p as one line, its ending punctuation trimmed; never empty."""
    if "245" not in fields:
        raise DescriptionError("the record has no title (no 245 field)")
    parts = [
        value
        for code, value in fields["245"][0].subfields
        if code in ("a", "b", "n", "p") and value.strip()
    ]
    title = _trim(" ".join(parts))
    if not title:
        raise DescriptionError("the record has no title (245 has no $a, $b, $n or $p)")
    return title


def _publisher(fields: dict[str, list[AnyField]]) -> str | None:
    """264 (publication, second indicator 1) $b, else 260 $b."""
    for field in fields.get("264", ()):
        if field.indicator2 == "1":
            name = _first([_trim(value) for code, value in field.subfields
                           if code == "b" and value.strip()])
            if name:
                return name
    return _first(_values(fields, ("260",), "b"))


def _year(fixed: str, fields: dict[str, list[AnyField]]) -> int | None:
    """008/07-10 when it is a year, else the first four-digit year of 264 _1, 260, 264 $c."""
    if fixed[7:11].isdigit() and fixed[7:11] != "0000":
        return int(fixed[7:11])
    published = [field for field in fields.get("264", ()) if field.indicator2 == "1"]
    others = [field for field in fields.get("264", ()) if field.indicator2 != "1"]
    for field in (*published, *fields.get("260", ()), *others):
        for value in (value for code, value in field.subfields if code == "c"):
            found = _YEAR.search(value)
            if found:
                return int(found.group())
    return None


def _language(fixed: str, fields: dict[str, list[AnyField]]) -> str | None:
    """008/35-37 as an ISO 639-2 code, else the first 041 $a; None when undetermined."""
    code = fixed[35:38]
    if code.isalpha() and code.islower() and code != "und":
        return code
    for value in _values(fields, ("041",), "a"):
        code = value[:3].lower()
        if code.isalpha() and len(code) == 3 and code != "und":
            return code
    return None


def _subjects(fields: Iterable[AnyField]) -> tuple[str, ...]:
    """600/650/651/653/655 $a with their $x and $z subdivisions, joined by " -- "."""
    subjects = [_subject(tuple(field.subfields)) for field in fields
                if field.tag in _SUBJECT_TAGS]
    return _unique([subject for subject in subjects if subject is not None])


@lru_cache(maxsize=1 << 14)
def _subject(subfields: tuple[tuple[str, str], ...]) -> str | None:
    """One subject field's heading, None when it has no $a; remembered, for headings recur."""
    parts = [_trim(value) for code, value in subfields if code in ("a", "x", "z")]
    parts = [part for part in parts if part]
    if parts and any(code == "a" for code, _ in subfields):
        return " -- ".join(parts)
    return None


def _is_talking_book(leader: str, fixed: str, fields: dict[str, list[AnyField]],
                     classification: list[str], general_notes: list[str]) -> bool:
    """Whether the record is a talking book by the Swedish signals (see ``describe``), given
    its 084 $a and its 500 $a."""
    if any(code.endswith("/TC") for code in classification):
        return True
    if any(_DAISY.search(note) for note in general_notes):
        return True
    if leader[6] != "i":
        return False
    computer_disc = any((field.data or "").startswith("co") for field in fields.get("007", ()))
    return computer_disc or fixed[22] == "f"


def _media_type(
    leader: str, fixed: str, fields: dict[str, list[AnyField]], talking_book: bool
) -> str:
    """One of ``MEDIA_TYPES`` (see the module docs for the rule)."""
    kind = leader[6]
    if talking_book:
        return "talking_book"
    if kind in ("a", "t"):
        if leader[7] == "s":
            return "periodical"
        electronic = any((field.data or "").startswith("c") for field in fields.get("007", ()))
        return "ebook" if electronic or fixed[23] in ("o", "q", "s") else "book"
    if kind == "i":
        return "audiobook"
    if kind in ("c", "d", "j"):
        return "music"
    if kind == "g":
        return "film"
    if (kind == "m" and fixed[26] == "g") or (kind == "r" and fixed[33] == "g"):
        return "game"
    return "other"


def _audience(leader: str, fixed: str) -> str:
    """One of ``AUDIENCES`` from 008/22 (see the module docs for the rule)."""
    continuing = leader[6] in ("a", "t") and leader[7] in ("b", "i", "s")
    if leader[6] not in _AUDIENCE_TYPES or continuing:
        return "adult"
    return _AUDIENCE_BY_CODE.get(fixed[22], "adult")
