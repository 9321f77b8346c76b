"""One search box for the operator: names, nicknames, units, keywords, titles, numbers.

Ranking, best first: an exact word beats a prefix beats a Swedish spelling variant beats
a one-letter typo; a word as written ("Åsa") beats the same word folded ("Asa"); a match
in a name beats one in a keyword, a title or a unit. Every result says which fields it
matched on, and how available the person or unit is right now.
"""

from __future__ import annotations

import bisect
import heapq
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from rapidfuzz.distance import OSA
from sqlalchemy.orm import Session

from services import clock
from services.tenancy import current_scope
from switchboard.models import RAISED_REVISIONS
from switchboard.numbers import query_digits
from switchboard.operations.presence import opening_status
from switchboard.search.index import (
    FIELD_WEIGHTS,
    Entry,
    MunicipalityIndex,
    indexes_for,
    shown_numbers,
)
from switchboard.search.text import TYPO_MIN_LENGTH, deletions, fold, phonetic, words

MAX_LIMIT = 100
MAX_TERMS = 8
_PREFIX_BUDGET = 4000
"""Postings a one- or two-letter prefix may expand to before the rest is left out."""
_DIGIT_HITS = 500
_LEFT_PENALTY = 15.0
_LEFT_MARGIN = 20
"""Extra candidates a one-word search reads, so that people who left can sink below them."""


@dataclass
class Hit:
    """A ranked match: the entry, its municipality's index, its score and matched fields."""

    score: float
    entry: Entry
    index: MunicipalityIndex
    fields: list[str]
    _head: bytes | None = None

    def json_head(self) -> bytes:
        """The hit's result as JSON up to its availability, which depends on the clock."""
        if self._head is None:
            self._head = (_static_json(self.entry, self.index)
                          + orjson.dumps({"matched_on": self.fields,
                                          "score": round(self.score, 1)})[1:-1]
                          + b',"availability":')
        return self._head


def search(session: Session, query: str, *, municipality_ids: list[uuid.UUID] | None = None,
           limit: int = 20, at: datetime | None = None) -> list[dict[str, Any]]:
    """The best ``limit`` matches for ``query`` in the scope's (or the given) municipalities."""
    now = at or clock.now()
    return [describe(hit.entry, hit.index, now, hit.fields, hit.score)
            for hit in _hits(session, query, municipality_ids, limit)]


def search_json(session: Session, query: str, *,
                municipality_ids: list[uuid.UUID] | None = None, limit: int = 20,
                at: datetime | None = None) -> bytes:
    """``{"results": search(...)}`` as JSON, built from each entry's JSON kept from before.

    The API answers every keystroke; serialising the same people's names, units and numbers
    again each time would cost more than finding them.
    """
    now = at or clock.now()
    return b'{"results":[' + b",".join(
        hit.json_head() + (hit.entry.constant_availability or _availability_json(hit, now)) + b"}"
        for hit in _hits(session, query, municipality_ids, limit)) + b"]}"


def _hits(session: Session, query: str, municipality_ids: list[uuid.UUID] | None,
          limit: int) -> list[Hit]:
    scope = current_scope()
    ids = sorted(scope.municipality_ids if municipality_ids is None
                 else [m for m in municipality_ids if scope.includes(m)])
    query = (query or "").strip()[:200]
    if not query or not ids:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    indexes = indexes_for(session, ids)
    key = (query, limit, tuple(index.serial for index in indexes))
    hits = _RANKINGS.get(key)
    if hits is None:
        hits = _rank(indexes, query, limit)
        if not session.info.get(RAISED_REVISIONS):  # an uncommitted directory is not kept
            _RANKINGS.put(key, hits)
    return hits


def _rank(indexes: list[MunicipalityIndex], query: str, limit: int) -> list[Hit]:
    digits = query_digits(query)
    if digits is not None:
        hits = [hit for index in indexes for hit in _by_digits(index, digits, limit)]
    else:
        hits = _by_words(indexes, query, limit)
    hits.sort(key=lambda hit: (-hit.score, hit.entry.sort_key))
    return hits[:limit]


class _Rankings:
    """The ranked hits of recent queries, per set of index versions (an LRU).

    Operators type the same beginnings all day ("an", "ann", "karl"); a ranking depends
    only on the query and the indexes it ran on, so it is kept until those change. What
    depends on the clock (availability, opening hours) is worked out anew for every answer.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[Any, ...], list[Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> list[Hit] | None:
        with self._lock:
            hits = self._kept.get(key)
            if hits is not None:
                self._kept.move_to_end(key)
            return hits

    def put(self, key: tuple[Any, ...], hits: list[Hit]) -> None:
        with self._lock:
            self._kept[key] = hits
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_RANKINGS = _Rankings(size=20_000)


def forget_rankings() -> None:
    """Drop every kept ranking (what a benchmark does to measure the ranking itself)."""
    _RANKINGS.clear()


def find_entry(session: Session, entry_id: uuid.UUID, *,
               at: datetime | None = None) -> dict[str, Any] | None:
    """A contact or unit by id, described as search results are, if the scope may see it."""
    for index in indexes_for(session, sorted(current_scope().municipality_ids)):
        for entry in index.entries:
            if entry.id == entry_id:
                return describe(entry, index, at or clock.now(), [], None)
    return None


def describe(entry: Entry, index: MunicipalityIndex, now: datetime, fields: list[str],
             score: float | None) -> dict[str, Any]:
    """The result document of ``entry``: its fields, why it matched, and availability."""
    result = dict(_static_doc(entry, index))
    result["matched_on"] = fields
    result["availability"] = availability(entry, index, now)
    if score is not None:
        result["score"] = round(score, 1)
    return result


def availability(entry: Entry, index: MunicipalityIndex, now: datetime) -> dict[str, Any]:
    """Away (why, until, since when, who takes calls), left, available; open or closed."""
    if entry.left_on is not None:
        return {"status": "left", "since": entry.left_on.isoformat()}
    current = [a for a in entry.absences
               if a.starts_at <= now and (a.returns_at is None or a.returns_at > now)]
    if current:
        absence = max(current, key=lambda a: a.set_at)
        referral = _other(index, absence.referral_id)
        return {
            "status": "away", "reason": absence.reason,
            "returns_at": absence.returns_at.isoformat() if absence.returns_at else None,
            "source": absence.source, "set_at": absence.set_at.isoformat(),
            "age_minutes": max(0, int((now - absence.set_at).total_seconds() // 60)),
            "referral": referral, "referral_note": absence.referral_note,
        }
    if entry.kind == "unit" or entry.hours:
        return opening_status(entry.hours, now)
    return {"status": "available"}


def _other(index: MunicipalityIndex, contact_id: uuid.UUID | None) -> dict[str, Any] | None:
    """A referral or successor: who, and their numbers."""
    if contact_id is None or contact_id not in index.contacts:
        return None
    other = index.entries[index.contacts[contact_id]]
    return {"id": str(other.id), "name": other.name, "numbers": shown_numbers(other)}


def _static_doc(entry: Entry, index: MunicipalityIndex) -> dict[str, Any]:
    """What a result says of ``entry`` whatever the time: worked out once per index."""
    if entry.shown_doc is None:
        doc = dict(entry.doc)
        doc["numbers"] = shown_numbers(entry)
        if entry.left_on is not None:
            doc["left"] = {**entry.doc["left"], "successor": _other(index, entry.successor_id)}
        entry.shown_doc = doc
    return entry.shown_doc


def _static_json(entry: Entry, index: MunicipalityIndex) -> bytes:
    """``_static_doc`` as JSON, open at the end for the clock-dependent keys."""
    if entry.shown_json is None:
        entry.shown_json = orjson.dumps(_static_doc(entry, index))[:-1] + b","
    return entry.shown_json


def _availability_json(hit: Hit, now: datetime) -> bytes:
    """The hit's availability now, as JSON; kept on the entry when no clock can change it."""
    entry = hit.entry
    shown = orjson.dumps(availability(entry, hit.index, now))
    if entry.left_on is not None or not (entry.absences or entry.hours or entry.kind == "unit"):
        entry.constant_availability = shown
    return shown


# --- words ------------------------------------------------------------------------------


def _by_words(indexes: list[MunicipalityIndex], query: str, limit: int) -> list[Hit]:
    terms = [(word, fold(word)) for word in words(query)][:MAX_TERMS]
    named, terms = _municipality_terms(indexes, terms)
    if named:
        indexes = [index for index in indexes if index.municipality_id in named]
    if not terms:
        return [Hit(10.0, entry, index, ["municipality"]) for index in indexes
                for entry in index.entries
                if entry.kind == "function" or (entry.kind == "unit" and not entry.doc["unit"])]
    hits = []
    for index in indexes:
        if len(terms) == 1:
            hits.extend(_best_of_one_term(index, *terms[0], limit, named))
            continue
        matches = _match_terms(index, terms)
        if matches is None:
            continue
        scores = {position: sum(match[position][0] for match in matches)
                  for position in matches[0]}
        for position in index.left.intersection(scores):
            scores[position] -= _LEFT_PENALTY
        entries = index.entries
        # Best first; equal scores in Swedish alphabetical order (the precomputed rank).
        best = heapq.nlargest(limit, scores.items(),
                              key=lambda item: (item[1], -entries[item[0]].rank))
        for position, score in best:
            fields = list(dict.fromkeys(match[position][1] for match in matches))
            hits.append(Hit(score, entries[position], index,
                            [*fields, "municipality"] if named else fields))
    return hits


def _best_of_one_term(index: MunicipalityIndex, written: str, folded: str, limit: int,
                      named: set[uuid.UUID]) -> list[Hit]:
    """The best ``limit`` entries for one word, reading score groups from the top down.

    One word is most of what an operator types first ("an", "lar"), and may match a tenth
    of a municipality; the groups are already ordered by score, so only the groups that
    can reach the top are read, not every entry the word matches.
    """
    wanted = limit + _LEFT_MARGIN
    best: dict[int, tuple[float, str]] = {}
    groups = _scored_groups(index, written, folded)
    boundary = None
    for score, field, positions in reversed(groups):
        if boundary is not None and score < boundary:
            break
        # A group lists its entries in alphabetical order and they score alike, so past its
        # first ``wanted`` none can rank above those (the ones seen already rank higher).
        for position in positions[:wanted]:
            best.setdefault(position, (score, field))
        if boundary is None and len(best) >= wanted:
            boundary = score  # equal scores still compete on alphabetical order
    penalty = dict.fromkeys(index.left.intersection(best), _LEFT_PENALTY)
    # An entry's position is its alphabetical rank.
    ranked = heapq.nlargest(limit, ((score - penalty.get(position, 0.0), -position, field)
                                    for position, (score, field) in best.items()))
    entries = index.entries
    extra = ["municipality"] if named else []
    return [Hit(score, entries[-minus_position], index, [field, *extra])
            for score, minus_position, field in ranked]


def _match_terms(index: MunicipalityIndex, terms: list[tuple[str, str]]
                 ) -> list[dict[int, tuple[float, str]]] | None:
    """For each term, the entries every term matches and how well; None when none do.

    Terms are taken most selective first, so the entries still in the running stay few;
    each term's matches are gathered a posting group at a time (see _match_term).
    """
    matches = []
    survivors: list[int] | None = None
    for written, folded in sorted(terms, key=lambda term: _expected_postings(index, term[1])):
        match = _match_term(index, written, folded)
        survivors = list(match) if survivors is None else [p for p in survivors if p in match]
        if not survivors:
            return None
        matches.append(match)
    assert survivors is not None
    return [{position: match[position] for position in survivors} for match in matches]


def _expected_postings(index: MunicipalityIndex, folded: str) -> int:
    low, high = index.prefix_range(folded)
    total = 0
    for slot in range(low, high):
        total += index.counts[index.sorted_tokens[slot]]
        if total > _PREFIX_BUDGET:
            break
    return total


def _municipality_terms(indexes: list[MunicipalityIndex], terms: list[tuple[str, str]]
                        ) -> tuple[set[uuid.UUID], list[tuple[str, str]]]:
    """Words that name a municipality ("vind", "umeå") narrow the search to it.

    Only beside another word to look for, though: alone, a word is a municipality only when
    it is the whole name ("robertsfors"), since "robert" is a person before it is the
    beginning of Robertsfors.
    """
    matching = [
        {index.municipality_id for index in indexes
         if len(folded) >= 3 and (fold(index.name).startswith(folded)
                                  or index.slug.startswith(folded))}
        for _written, folded in terms
    ]
    if all(matching):
        matching = [{index.municipality_id for index in indexes
                     if folded in (fold(index.name), index.slug)}
                    for _written, folded in terms]
    named: set[uuid.UUID] = set().union(*matching)
    rest = [term for term, ids in zip(terms, matching, strict=True) if not ids]
    return named, rest


def _match_term(index: MunicipalityIndex, written: str, folded: str
                ) -> dict[int, tuple[float, str]]:
    """Every entry ``folded`` matches, with its best (score, field)."""
    found: dict[int, tuple[float, str]] = {}
    for score, field, positions in _scored_groups(index, written, folded):
        # Groups come lowest score first, so each entry ends with its best.
        found.update(dict.fromkeys(positions, (score, field)))
    return found


def _scored_groups(index: MunicipalityIndex, written: str, folded: str
                   ) -> list[tuple[float, str, tuple[int, ...]]]:
    """The posting groups ``folded`` matches, scored, lowest score first."""
    groups: list[tuple[float, str, tuple[int, ...]]] = []

    def take(token: str, base: float, as_written_bonus: float = 0.0) -> None:
        for field, token_written, positions in index.postings.get(token, ()):
            bonus = as_written_bonus if token_written.startswith(written) else 0.0
            groups.append(((base + bonus) * FIELD_WEIGHTS[field], field, positions))

    take(folded, 100.0, 8.0)
    low, high = index.prefix_range(folded)
    used = 0
    for slot in range(low, high):
        token = index.sorted_tokens[slot]
        if token != folded:
            take(token, 55.0 + 30.0 * len(folded) / len(token), 4.0)
        used += index.counts[token]
        if used > _PREFIX_BUDGET * min(len(folded), 3) // 3:
            break
    if len(folded) >= 3 and not folded.isdigit():
        for token in index.by_sound.get(phonetic(folded), ()):
            if token != folded:
                take(token, 62.0)
    if len(folded) >= TYPO_MIN_LENGTH and not folded.isdigit():
        for token in _one_typo_away(index, folded):
            take(token, 50.0)
    groups.sort(key=lambda group: group[0])
    return groups


def _one_typo_away(index: MunicipalityIndex, folded: str) -> set[str]:
    candidates = set(index.by_deletion.get(folded, ()))
    for shorter in deletions(folded):
        if shorter in index.postings:
            candidates.add(shorter)
        candidates.update(index.by_deletion.get(shorter, ()))
    candidates.discard(folded)
    return {token for token in candidates if OSA.distance(token, folded) <= 1}


# --- digits -----------------------------------------------------------------------------


def _by_digits(index: MunicipalityIndex, digits: str, limit: int) -> list[Hit]:
    best: dict[int, float] = {}
    whole = index.digit_forms.get(digits, ())
    if len(whole) >= limit:
        # A number many share (a switchboard's): whole-number matches outrank any partial.
        return [Hit(100.0, index.entries[owner], index, ["number"]) for owner in whole[:limit]]
    text = index.digit_text
    start = text.find(digits)
    seen = 0
    while start != -1 and seen < _DIGIT_HITS:
        slot = bisect.bisect_right(index.digit_starts, start) - 1
        form_start = index.digit_starts[slot]
        form_end = text.find("|", form_start)
        form_end = len(text) if form_end == -1 else form_end
        if start + len(digits) <= form_end:
            if start == form_start and start + len(digits) == form_end:
                score = 100.0
            elif start == form_start:
                score = 80.0
            else:
                score = 60.0
            owner = index.digit_owners[slot]
            best[owner] = max(best.get(owner, 0.0), score)
            seen += 1
        start = text.find(digits, start + 1)
    entries = index.entries
    top = heapq.nlargest(limit, best.items(), key=lambda item: (item[1], -entries[item[0]].rank))
    return [Hit(score, entries[owner], index, ["number"]) for owner, score in top]
