"""Swedish text conventions: collation (å, ä, ö after z) and diacritic folding."""

from __future__ import annotations

import unicodedata

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzåäö"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
# Letters Swedish dictionaries sort as another letter (SAOL): ü as y, æ as ä, ø as ö, w as v
# is no longer merged since 2006, so w keeps its own place.
_SORTS_AS = {"ü": "y", "æ": "ä", "ø": "ö"}
_LEARNT_CHARACTERS = 1 << 16
"""How many characters' ranks are remembered; a catalogue's text uses a few hundred."""


def swedish_sort_key(text: str) -> tuple[tuple[int, ...], str]:
    """A key that sorts names as Swedish readers expect: ... x, y, z, å, ä, ö."""
    return tuple(map(ord, _ranks(text))), text


def swedish_sort_string(text: str) -> str:
    """The ranks of ``swedish_sort_key`` as printable characters ("!" for a space, '"' for
    0, … "H" for ö), whose plain binary order is the Swedish order: for engines that sort
    without a Swedish collation."""
    return _ranks(text).translate(_PRINTABLE)


def fold_diacritics(text: str) -> str:
    """``text`` in lower case without diacritics, so "Åsa Öberg" matches "asa oberg"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _ranks(text: str) -> str:
    """The ranks of the characters of ``text`` that count in Swedish order, as a string of
    the characters with those codes."""
    # Each character's rank is worked out once and then looked up by str.translate, which
    # costs a fraction of deciding it again for every character of every title.
    return text.casefold().translate(_RANKS)


def _rank(char: str) -> int | None:
    """A casefolded character's place in Swedish order: letters and digits from 1, a space,
    hyphen or apostrophe 0; None for anything the order skips."""
    char = _SORTS_AS.get(char, char)
    if char in _RANK:
        return _RANK[char] + 1
    base = fold_diacritics(char)
    if base and base in _RANK:
        return _RANK[base] + 1
    if char.isspace() or char in "-'":
        return 0
    return None


class _Ranks(dict[int, str | None]):
    """``str.translate``'s table from a character to its rank (as the character with that
    code), or to None when it does not count; filled in as characters are met."""

    def __missing__(self, code: int) -> str | None:
        rank = _rank(chr(code))
        found = None if rank is None else chr(rank)
        if len(self) < _LEARNT_CHARACTERS:
            self[code] = found
        return found


_RANKS = _Ranks()
_PRINTABLE = {rank: chr(0x21 + rank) for rank in range(len(_ALPHABET) + 1)}
