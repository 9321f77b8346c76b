"""Swedish text analysis for the catalogue search: record fields into tokens, queries into terms.

The database engines (SQLite FTS5, PostgreSQL tsvector with ``simple``) only match whole
tokens and token prefixes; every language decision is taken here, the same way for every
engine. A field is analysed into four token columns, and a patron's query into terms that
say what to look for in each:

========  ======  ===================================================================
column    weight  a term matches it when
========  ======  ===================================================================
exact     10      ``term.exact`` is one of its tokens
folded     4      ``term.folded`` is a token of ``folded`` or of ``exact``
stems      2      ``term.stem or term.exact`` is a token of ``stems``, or of ``exact``
                  in a text field (names and codes are never stemmed)
parts      1      ``term.stem or term.exact`` is a token of ``parts``
========  ======  ===================================================================

A prefix term (the patron typed ``mars*``) matches by token prefix, and only in the first
two rows: it is never stemmed, so ``mars*`` finds ``marsvin`` and never ``marknad``. A
record's score for a term is the weight of the best row it matches; a record matches a
query when every term scores, and its score is the sum over the terms (ties broken by id).

Stop words are removed from text fields and from queries in their written form, before any
folding: ``för`` is never indexed, not even as ``for``, so a patron searching for ``for``
finds "Looking for Alaska" and not "Kokbok för nybörjare". ``man`` is a stop word and is not
indexed in text fields ("En man som heter Ove" is found by its other words); typed alone it
is kept, and finds ``man`` in names first (Man Ray), then ``män`` by folding and ``mannen``
by stem. Names keep their stop words (``af``, ``von``, ``den``) and are matched exactly or
folded only, never stemmed or split: ``Lind`` does not find ``Linda``. Codes are ISBNs
(compact, an ISBN-10 also as ISBN-13), ISSNs (compact) and otherwise lowercased tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, filterfalse
from typing import Literal, TypeVar

from stdnum import isbn, issn

from library_loans.search.swedish import STOP_WORDS, fold, split_compound, stem
from library_loans.standard_numbers import isbn13, mod11_digit

__all__ = [
    "COLUMN_WEIGHTS",
    "AnalysedField",
    "FieldKind",
    "ParsedQuery",
    "QueryTerm",
    "analyse_field",
    "fold",
    "parse_query",
    "split_compound",
    "stem",
]

FieldKind = Literal["text", "name", "code"]
"""text: titles, subjects, notes, series; name: personal and corporate names; code: ISBN etc."""

COLUMN_WEIGHTS: dict[str, int] = {"exact": 10, "folded": 4, "stems": 2, "parts": 1}
"""What a term scores for matching in each column (the table above)."""

CODE_LABELS = frozenset({"isbn", "issn"})
"""Words patrons type before a code ("ISBN 91-29-65707-8"), dropped when the code is there."""


@dataclass(frozen=True)
class AnalysedField:
    """One field's tokens, column by column; each column holds only what ``exact`` does not."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]
    stems: tuple[str, ...]
    parts: tuple[str, ...]


@dataclass(frozen=True)
class QueryTerm:
    """One word (or code) of a query, in each form the columns are searched with."""

    typed: str
    prefix: bool
    exact: str
    folded: str
    stem: str | None


@dataclass(frozen=True)
class ParsedQuery:
    """A patron's query: terms that must all match, and the words left out of it."""

    terms: tuple[QueryTerm, ...]
    dropped: tuple[str, ...]


def analyse_field(text: str, kind: FieldKind) -> AnalysedField:
    """The index tokens of one field of a record, analysed as its kind of field."""
    if kind == "code":
        return AnalysedField(_code_tokens(text), (), (), ())
    words = _unique(_words(text))
    if kind == "name":
        return AnalysedField(words, _new_forms(words, map(fold, words)), (), ())
    words = tuple(filterfalse(STOP_WORDS.__contains__, words))
    return AnalysedField(
        exact=words,
        folded=_new_forms(words, map(fold, words)),
        stems=_new_forms(words, map(stem, words)),
        parts=_new_forms(words, chain.from_iterable(map(split_compound, words))),
    )


def parse_query(q: str) -> ParsedQuery:
    """The terms of a patron's query, with stop words dropped unless nothing else is left."""
    text = _normalised(q).replace('"', " ")
    if whole := _code(text):
        return ParsedQuery((_code_term(whole),), ())
    codes, words = _codes_and_words(text)
    terms = [_word_term(word, prefix) for word, prefix in words]
    kept = [term for term in terms if not _is_droppable(term, has_code=bool(codes))]
    if not kept and not codes:
        kept = terms
    dropped = [term.typed for term in terms if term not in kept]
    return ParsedQuery(_unique([*map(_code_term, codes), *kept]), _unique(dropped))


_WORD = re.compile(r"[^\W_]+")
_QUERY_WORD = re.compile(r"([^\W_]+)(\*?)")
_CODE_SEPARATORS = re.compile(r"[\s,;]+")
_CODE_PUNCTUATION = "()[].:"
_T = TypeVar("_T")


def _normalised(text: str) -> str:
    """Lowercased, with decomposed letters (as MARC data often has them) composed again."""
    return unicodedata.normalize("NFC", text).lower()


def _words(text: str) -> list[str]:
    return _WORD.findall(_normalised(text))


def _new_forms(words: tuple[str, ...], forms: Iterable[str]) -> tuple[str, ...]:
    """The forms that are not already among the words, each once, in order."""
    return _unique(filterfalse(set(words).__contains__, forms))


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def _code_tokens(text: str) -> tuple[str, ...]:
    """An ISBN as itself and as ISBN-13, an ISSN compact, other words lowercased, no labels."""
    tokens: list[str] = []
    for chunk in _CODE_SEPARATORS.split(_normalised(text)):
        chunk = chunk.strip(_CODE_PUNCTUATION)
        if _is_isbn(chunk):
            tokens += [isbn.compact(chunk).lower(), _isbn13(chunk)]
        elif _is_issn(chunk):
            tokens.append(issn.compact(chunk).lower())
        else:
            tokens += [word for word in _WORD.findall(chunk) if word not in CODE_LABELS]
    return _unique(tokens)


def _code(text: str) -> str | None:
    """The normalised code the text is, if it is an ISBN (as ISBN-13) or an ISSN."""
    if _is_isbn(text):
        return _isbn13(text)
    if _is_issn(text):
        return issn.compact(text).lower()
    return None


def _is_isbn(text: str) -> bool:
    """``isbn.is_valid(text)``, checked here directly when the text is ASCII.

    python-stdnum raises an exception for every invalid number, and indexing a record
    tries its control number as one: that cost more than the rest of the record's
    analysis. Only non-ASCII text needs stdnum's cleaning of Unicode dashes and spaces.
    """
    if not text.isascii():
        return isbn.is_valid(text)
    return isbn13(_compact(text)) is not None


def _is_issn(text: str) -> bool:
    """``issn.is_valid(text)``, checked here directly when the text is ASCII (see above)."""
    if not text.isascii():
        return issn.is_valid(text)
    number = _compact(text)
    digits = number[:-1]
    if len(number) != 8 or not digits.isdigit():
        return False
    total = sum((8 - n) * int(digit) for n, digit in enumerate(digits))
    return mod11_digit((11 - total) % 11) == number[-1]


def _compact(text: str) -> str:
    """An ASCII code without spaces and hyphens, upper case, as stdnum compacts it."""
    return text.replace(" ", "").replace("-", "").strip().upper()


def _isbn13(valid_isbn: str) -> str:
    return isbn.compact(isbn.to_isbn13(valid_isbn))


def _code_term(code: str) -> QueryTerm:
    return QueryTerm(typed=code, prefix=False, exact=code, folded=code, stem=None)


def _codes_and_words(text: str) -> tuple[list[str], list[tuple[str, bool]]]:
    """The query's codes, and its other words, each with whether it ends in ``*``."""
    codes: list[str] = []
    words: list[tuple[str, bool]] = []
    for chunk in _CODE_SEPARATORS.split(text):
        if code := _code(chunk.strip(_CODE_PUNCTUATION)):
            codes.append(code)
        else:
            words += [(match[1], bool(match[2])) for match in _QUERY_WORD.finditer(chunk)]
    return codes, words


def _is_droppable(term: QueryTerm, *, has_code: bool) -> bool:
    """A stop word as typed (a prefix search never is one), or the label of a code."""
    label = has_code and term.typed in CODE_LABELS
    return not term.prefix and (term.typed in STOP_WORDS or label)


def _word_term(word: str, prefix: bool) -> QueryTerm:
    stemmed = None if prefix else stem(word)
    return QueryTerm(
        typed=word,
        prefix=prefix,
        exact=word,
        folded=fold(word),
        stem=stemmed if stemmed != word else None,
    )
