"""Swedish text conventions: collation (å, ä, ö after z) and diacritic folding."""

from __future__ import annotations

import unicodedata

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzåäö"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
# Letters Swedish dictionaries sort as another letter (SAOL): ü as y, æ as ä, ø as ö, w as v
# is no longer merged since 2006, so w keeps its own place.
_SORTS_AS = {"ü": "y", "æ": "ä", "ø": "ö"}


def swedish_sort_key(text: str) -> tuple[tuple[int, ...], str]:
    """A key that sorts names as Swedish readers expect: ... x, y, z, å, ä, ö."""
    ranks = []
    for char in text.casefold():
        char = _SORTS_AS.get(char, char)
        if char in _RANK:
            ranks.append(_RANK[char] + 1)
            continue
        base = fold_diacritics(char)
        if base and base in _RANK:
            ranks.append(_RANK[base] + 1)
        elif char.isspace() or char in "-'":
            ranks.append(0)
    return tuple(ranks), text


def fold_diacritics(text: str) -> str:
    """``text`` in lower case without diacritics, so "Åsa Öberg" matches "asa oberg"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
