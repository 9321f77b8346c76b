"""How the search reads words: tokens, diacritic folding, Swedish phonetics, one-typo keys."""

from __future__ import annotations

import re
from functools import lru_cache

from services.i18n import fold_diacritics

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
TYPO_MIN_LENGTH = 5
"""Words of five letters or more tolerate one typo; shorter ones would match too much."""

# Swedish spellings of the same sounds, most specific first. Names are the point:
# Karlsson/Carlsson, Pettersson/Petterson, Eriksson/Ericsson/Erixon, Sjöberg/Schöberg.
_SOUNDS = (
    ("sch", "sj"), ("skj", "sj"), ("stj", "sj"), ("ch", "k"), ("ph", "f"), ("th", "t"),
    ("dt", "t"), ("ck", "k"), ("hj", "j"), ("gj", "j"), ("dj", "j"), ("lj", "j"),
    ("qu", "kv"), ("q", "k"), ("x", "ks"), ("z", "s"), ("w", "v"),
)
_SOFT_C = re.compile(r"c(?=[eiy])")
_DOUBLE = re.compile(r"(.)\1+")


def words(text: str) -> list[str]:
    """The words of ``text`` in lower case, diacritics kept ("Åsa-Lena" → åsa, lena)."""
    return _WORD.findall(text.casefold())


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """A lower-case word without diacritics ("Åsa" → "asa")."""
    return fold_diacritics(word)


@lru_cache(maxsize=65536)
def phonetic(folded: str) -> str:
    """A key equal for Swedish spellings that sound alike ("karlsson" = "carlsson")."""
    key = folded
    for spelling, sound in _SOUNDS:
        key = key.replace(spelling, sound)
    key = _SOFT_C.sub("s", key).replace("c", "k")
    return _DOUBLE.sub(r"\1", key)


def deletions(folded: str) -> set[str]:
    """Every form of ``folded`` with one letter removed: the keys of the one-typo index."""
    return {folded[:i] + folded[i + 1:] for i in range(len(folded))}
