"""SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2): parsed once, used twice.

A filter becomes a small tree. ``to_sql`` turns it into a WHERE clause for listing
resources; ``matches`` tests it against one value of a multi-valued attribute, which is
what PATCH paths like ``emails[type eq "work"].value`` need.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true

from switchboard.scim.errors import ScimError
from switchboard.scim.schemas import GROUP, SCHEMAS, USER

COMPARISONS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
_NAME = re.compile(r"^[A-Za-z$][\w$-]*$")
_JSON = json.JSONDecoder()


@dataclass(frozen=True)
class AttributePath:
    """``[urn:]attribute[.subAttribute]``; ``urn`` is None for the resource's core schema."""

    urn: str | None
    name: str
    sub: str | None = None

    @property
    def key(self) -> str:
        """The lower-case key of attribute maps: ``name.sub``; ``urn:name`` for extensions."""
        dotted = f"{self.name}.{self.sub}" if self.sub else self.name
        extension = self.urn and self.urn not in (USER, GROUP)
        return f"{self.urn}:{dotted}".lower() if extension else dotted.lower()


@dataclass(frozen=True)
class Compare:
    """``path op value``, or ``path pr`` when ``op`` is "pr"."""

    path: AttributePath
    op: str
    value: Any = None


@dataclass(frozen=True)
class Logical:
    """``left and right`` / ``left or right``."""

    op: str
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    """``not (filter)``."""

    filter: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attribute[filter]``: some value of a multi-valued attribute matches ``filter``."""

    path: AttributePath
    filter: Filter


Filter = Compare | Logical | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH target: an attribute, optionally a value filter, optionally a sub-attribute."""

    attribute: AttributePath
    filter: Filter | None = None
    sub: str | None = None


Comparison = Callable[[str, Any], ColumnElement[bool]]
"""How one filterable attribute compares in SQL: ``(op, value) -> condition``."""


def parse_filter(text: str) -> Filter:
    """The tree of a filter expression; a 400 invalidFilter when it is not one."""
    parser = _Parser(text, "invalidFilter")
    tree = parser.disjunction()
    parser.expect_end()
    return tree


def parse_patch_path(text: str) -> PatchPath:
    """The target of a PATCH operation; a 400 invalidPath when it is not one."""
    parser = _Parser(text, "invalidPath")
    attribute = parser.attribute_path()
    if not parser.take("["):
        parser.expect_end()
        return PatchPath(attribute)
    if attribute.sub:
        raise parser.error("a value filter follows an attribute, not a sub-attribute")
    inner = parser.disjunction()
    parser.expect("]")
    sub = None
    if not parser.at_end():
        word = parser.word()
        if not word.startswith(".") or not _NAME.match(word[1:]):
            raise parser.error(f"unexpected {word!r} after the value filter")
        sub = word[1:]
    parser.expect_end()
    return PatchPath(attribute, inner, sub)


def to_sql(tree: Filter, attributes: Mapping[str, Comparison]) -> ColumnElement[bool]:
    """The WHERE clause of ``tree``, given how each filterable attribute compares in SQL."""
    if isinstance(tree, Logical):
        combine = and_ if tree.op == "and" else or_
        return combine(to_sql(tree.left, attributes), to_sql(tree.right, attributes))
    if isinstance(tree, Not):
        return not_(to_sql(tree.filter, attributes))
    if isinstance(tree, ValuePath):
        prefix = tree.path.key
        inner = {key[len(prefix) + 1:]: compare for key, compare in attributes.items()
                 if key.startswith(f"{prefix}.")}
        return to_sql(tree.filter, inner)
    compare = attributes.get(tree.path.key)
    if compare is None:
        raise ScimError(400, f"Filtering on {_spelled(tree.path)} is not supported.",
                        "invalidFilter")
    return compare(tree.op, tree.value)


def matches(tree: Filter, item: Mapping[str, Any]) -> bool:
    """Whether one value of a multi-valued attribute (a JSON object) matches ``tree``."""
    if isinstance(tree, Logical):
        if tree.op == "and":
            return matches(tree.left, item) and matches(tree.right, item)
        return matches(tree.left, item) or matches(tree.right, item)
    if isinstance(tree, Not):
        return not matches(tree.filter, item)
    if isinstance(tree, ValuePath):
        raise ScimError(400, "Value filters do not nest.", "invalidFilter")
    name = tree.path.key
    have = next((v for k, v in item.items() if k.lower() == name), None)
    return compare_values(tree.op, have, tree.value)


def compare_values(op: str, have: Any, wanted: Any) -> bool:
    """SCIM's comparison of a stored value with a filter's value (strings ignore case)."""
    if op == "pr":
        return have not in (None, "", [], {})
    if isinstance(have, str) and isinstance(wanted, str):
        have, wanted = have.casefold(), wanted.casefold()
    elif op in ("co", "sw", "ew"):
        return False
    if op == "eq":
        return bool(have == wanted)
    if op == "ne":
        return bool(have != wanted)
    if op == "co":
        return wanted in have
    if op == "sw":
        return bool(have.startswith(wanted))
    if op == "ew":
        return bool(have.endswith(wanted))
    if have is None or wanted is None or isinstance(have, bool) != isinstance(wanted, bool):
        return False
    try:
        return bool({"gt": have > wanted, "ge": have >= wanted, "lt": have < wanted,
                     "le": have <= wanted}[op])
    except TypeError:
        return False


def text_attribute(column: Any) -> Comparison:
    """A string attribute compared ignoring case (lower() on both sides, in the database)."""

    def compare(op: str, value: Any) -> ColumnElement[bool]:
        if op == "pr":
            return and_(column.is_not(None), column != "")
        if not isinstance(value, str):
            raise ScimError(400, "Compare this attribute with a string.", "invalidFilter")
        if op in ("co", "sw", "ew"):
            method = {"co": column.icontains, "sw": column.istartswith,
                      "ew": column.iendswith}[op]
            return method(value, autoescape=True)
        return _ordered(op, func.lower(column), func.lower(value))

    return compare


def time_attribute(column: Any) -> Comparison:
    """A dateTime attribute; the filter gives an ISO 8601 time."""

    def compare(op: str, value: Any) -> ColumnElement[bool]:
        if op == "pr":
            return column.is_not(None)
        if op in ("co", "sw", "ew") or not isinstance(value, str):
            raise ScimError(400, "Compare times with eq, ne, gt, ge, lt or le and an "
                                 "ISO 8601 time.", "invalidFilter")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise ScimError(400, f"{value!r} is not an ISO 8601 time.",
                            "invalidFilter") from error
        return _ordered(op, column, moment if moment.tzinfo else moment.replace(tzinfo=UTC))

    return compare


def id_attribute(column: Any) -> Comparison:
    """Our ids: eq and ne only; a value that is no id matches nothing."""

    def compare(op: str, value: Any) -> ColumnElement[bool]:
        if op == "pr":
            return true()
        if op not in ("eq", "ne"):
            raise ScimError(400, "Compare ids with eq or ne.", "invalidFilter")
        wanted = parse_id(value)
        if wanted is None:
            return false() if op == "eq" else true()
        return column == wanted if op == "eq" else column != wanted

    return compare


def constant_attribute(constant: Any) -> Comparison:
    """An attribute every resource has with the same value (``emails.type`` is "work")."""

    def compare(op: str, value: Any) -> ColumnElement[bool]:
        return true() if compare_values(op, constant, value) else false()

    return compare


def parse_id(value: Any) -> uuid.UUID | None:
    """Our id in ``value``, or None when it is not one."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _ordered(op: str, left: Any, right: Any) -> ColumnElement[bool]:
    return {"eq": lambda: left == right, "ne": lambda: left != right,
            "gt": lambda: left > right, "ge": lambda: left >= right,
            "lt": lambda: left < right, "le": lambda: left <= right}[op]()


def _spelled(path: AttributePath) -> str:
    dotted = f"{path.name}.{path.sub}" if path.sub else path.name
    return f"{path.urn}:{dotted}" if path.urn else dotted


class _Parser:
    """A recursive-descent parser over a filter's tokens (precedence: not, and, or)."""

    def __init__(self, text: str, scim_type: str) -> None:
        self.text = text
        self.scim_type = scim_type
        self.tokens = self._tokens(text)
        self.position = 0

    def error(self, problem: str) -> ScimError:
        return ScimError(400, f"{self.text!r}: {problem}.", self.scim_type)

    def disjunction(self) -> Filter:
        tree = self.conjunction()
        while self.take_word("or"):
            tree = Logical("or", tree, self.conjunction())
        return tree

    def conjunction(self) -> Filter:
        tree = self.unary()
        while self.take_word("and"):
            tree = Logical("and", tree, self.unary())
        return tree

    def unary(self) -> Filter:
        if self.take_word("not"):
            self.expect("(")
            inner = self.disjunction()
            self.expect(")")
            return Not(inner)
        if self.take("("):
            inner = self.disjunction()
            self.expect(")")
            return inner
        path = self.attribute_path()
        if self.take("["):
            inner = self.disjunction()
            self.expect("]")
            return ValuePath(path, inner)
        op = self.word().lower()
        if op == "pr":
            return Compare(path, "pr")
        if op not in COMPARISONS:
            raise self.error(f"{op!r} is not an operator")
        return Compare(path, op, self.value())

    def attribute_path(self) -> AttributePath:
        word = self.word()
        urn = None
        if word.lower().startswith("urn:"):
            urn = next((s for s in SCHEMAS if word.lower().startswith(f"{s.lower()}:")), None)
            if urn is None:
                raise self.error(f"{word!r} names no schema this service provider knows")
            word = word[len(urn) + 1:]
        name, _, sub = word.partition(".")
        if not _NAME.match(name) or (sub and not _NAME.match(sub)):
            raise self.error(f"{word!r} is not an attribute path")
        return AttributePath(urn, name, sub or None)

    def value(self) -> Any:
        kind, token = self._next("a value")
        if kind == "string" and "\x00" in token:
            raise self.error("a string holds a NUL character")
        if kind == "string":
            return token
        if kind == "word":
            lowered = token.lower()
            if lowered in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[lowered]
            try:
                return json.loads(token)
            except ValueError:
                pass
        raise self.error(f"{token!r} is not a value (quote strings)")

    def word(self) -> str:
        kind, token = self._next("an attribute or operator")
        if kind != "word":
            raise self.error(f"expected an attribute or operator, not {token!r}")
        return token

    def take(self, symbol: str) -> bool:
        if self.position < len(self.tokens) and self.tokens[self.position] == ("symbol", symbol):
            self.position += 1
            return True
        return False

    def take_word(self, word: str) -> bool:
        if self.position < len(self.tokens):
            kind, token = self.tokens[self.position]
            if kind == "word" and token.lower() == word:
                self.position += 1
                return True
        return False

    def expect(self, symbol: str) -> None:
        if not self.take(symbol):
            raise self.error(f"expected {symbol!r}")

    def at_end(self) -> bool:
        return self.position >= len(self.tokens)

    def expect_end(self) -> None:
        if not self.at_end():
            raise self.error(f"unexpected {self.tokens[self.position][1]!r}")

    def _next(self, wanted: str) -> tuple[str, Any]:
        if self.at_end():
            raise self.error(f"ends where {wanted} should follow")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _tokens(self, text: str) -> list[tuple[str, Any]]:
        tokens: list[tuple[str, Any]] = []
        position = 0
        while position < len(text):
            char = text[position]
            if char.isspace():
                position += 1
            elif char in "()[]":
                tokens.append(("symbol", char))
                position += 1
            elif char == '"':
                try:
                    value, position = _JSON.raw_decode(text, position)
                except ValueError as error:
                    raise self.error("a string is not closed or has a bad escape") from error
                tokens.append(("string", value))
            else:
                end = position
                while end < len(text) and not text[end].isspace() and text[end] not in '()[]"':
                    end += 1
                tokens.append(("word", text[position:end]))
                position = end
        if not tokens:
            raise self.error("is empty")
        return tokens
