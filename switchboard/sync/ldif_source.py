"""LDIF exports (RFC 2849) from Active Directory or an LDAP directory: inetOrgPerson entries.

A small parser of our own (no dependency): entries separated by blank lines, folded lines
continued by a leading space, ``#`` comments, ``attr:: base64`` values and attribute
options (``cn;lang-sv``). ``source.settings`` may hold:

- ``id_attribute``: where the stable id is (default: ``entryUUID``, else ``objectGUID``,
  else the DN — a DN changes when a person moves, so it is the last resort);
- ``object_classes``: the classes that make an entry a contact (default ``inetOrgPerson``);
- ``base_dn``: OUs in the DN at or above it are not units (``ou=Users,dc=umea,dc=se``);
- ``unit_separator``: what separates levels in ``department`` (default ``" / "``).

The unit path comes from ``department``, else from the DN's OU components (top down),
else from ``ou``. A record's line is the line where its entry starts.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchboard.operations.directory import NumberInput
from switchboard.sync.csv_source import UNIT_SEPARATOR, decode
from switchboard.sync.records import RejectedRow, SourceError, SourceRecord

DEFAULT_ID_ATTRIBUTES = ("entryuuid", "objectguid")
DEFAULT_OBJECT_CLASSES = ("inetorgperson",)
_ATTRIBUTE = re.compile(r"([A-Za-z][A-Za-z0-9-]*|[0-9.]+)((?:;[A-Za-z0-9-]+)*)(:[:<]?) ?(.*)")
_DN_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{2}|.)")


@dataclass
class LdifEntry:
    """One entry: its DN, the line it starts on and its attributes (names in lower case)."""

    dn: str
    line: int
    attributes: dict[str, list[str | bytes]] = field(default_factory=dict)

    def first(self, name: str) -> str:
        """The first text value of ``name``, or ""."""
        for value in self.attributes.get(name, ()):
            if isinstance(value, str):
                return value.strip()
        return ""

    def texts(self, name: str) -> list[str]:
        """Every non-empty text value of ``name``."""
        return [v.strip() for v in self.attributes.get(name, ()) if isinstance(v, str)
                and v.strip()]


def read_ldif(content: bytes, settings: Mapping[str, Any]) -> Iterator[SourceRecord | RejectedRow]:
    """The contacts of an LDIF export; raises :class:`SourceError` if it is not LDIF."""
    classes = {c.casefold() for c in settings.get("object_classes") or DEFAULT_OBJECT_CLASSES}
    for entry in parse_ldif(decode(content)):
        if not classes & {c.casefold() for c in entry.texts("objectclass")}:
            continue
        yield _record(entry, settings)


def parse_ldif(text: str) -> Iterator[LdifEntry]:
    """The entries of an LDIF document, in order (change records are refused)."""
    entry: LdifEntry | None = None
    seen_any = False
    for number, line in _unfolded(text):
        if not line.strip():
            if entry is not None:
                yield entry
            entry = None
            continue
        match = _ATTRIBUTE.fullmatch(line)
        if match is None:
            raise SourceError(f"Line {number}: not an LDIF attribute line: {line[:60]!r}")
        name, separator, raw = match[1].lower(), match[3], match[4]
        if entry is None:
            if name == "version" and not seen_any:
                seen_any = True
                continue
            if name != "dn":
                raise SourceError(f"Line {number}: an entry must start with dn:, not {name}:")
            entry = LdifEntry(_text(_value(separator, raw, number), number), number)
            seen_any = True
            continue
        if name == "changetype":
            raise SourceError(f"Line {number}: change records are not a directory export.")
        entry.attributes.setdefault(name, []).append(_value(separator, raw, number))
    if entry is not None:
        yield entry


def dn_components(dn: str) -> list[tuple[str, str]]:
    """A DN's (attribute, value) pairs, leaf first, with escapes undone."""
    components = []
    for part in re.split(r"(?<!\\),", dn):
        name, _, value = part.partition("=")
        if not value and not name.strip():
            continue
        components.append((name.strip().lower(), _unescape_dn(value.strip())))
    return components


# --- private helpers ------------------------------------------------------------------


def _unfolded(text: str) -> Iterator[tuple[int, str]]:
    """Logical lines with their first physical line number, comments dropped."""
    current: list[str] = []
    start = 0
    comment = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(" ") and (current or comment):
            if not comment:
                current.append(line[1:])
            continue
        if current:
            yield start, "".join(current)
        current, comment = [], line.startswith("#")
        if comment:
            continue
        if line.strip():
            current, start = [line], number
        else:
            yield number, ""
    if current:
        yield start, "".join(current)


def _value(separator: str, raw: str, number: int) -> str | bytes:
    if separator == "::":
        try:
            data = base64.b64decode(raw.strip(), validate=True)
        except binascii.Error as error:
            raise SourceError(f"Line {number}: the base64 value cannot be decoded.") from error
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data  # binary, like objectGUID
    if separator == ":<":
        return ""  # values by URL are not fetched: an export carries what it means
    return raw


def _text(value: str | bytes, number: int) -> str:
    if isinstance(value, bytes):
        raise SourceError(f"Line {number}: the DN is not text.")
    return value.strip()


def _unescape_dn(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        escaped = match[1]
        return chr(int(escaped, 16)) if len(escaped) == 2 else escaped

    # Hex escapes are UTF-8 bytes, one escape each: undo them as bytes, then decode.
    as_latin = _DN_ESCAPE.sub(replace, value)
    try:
        return as_latin.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return as_latin


def _external_id(entry: LdifEntry, settings: Mapping[str, Any]) -> str:
    configured = settings.get("id_attribute")
    names = (configured.lower(),) if configured else DEFAULT_ID_ATTRIBUTES
    for name in names:
        for value in entry.attributes.get(name, ()):
            if isinstance(value, bytes) and len(value) == 16:
                return str(uuid.UUID(bytes_le=value))  # AD's objectGUID, as AD shows it
            if isinstance(value, str) and value.strip():
                return value.strip()
    return "" if configured else entry.dn


def _record(entry: LdifEntry, settings: Mapping[str, Any]) -> SourceRecord | RejectedRow:
    external_id = _external_id(entry, settings)
    if not external_id:
        return RejectedRow(entry.line, f"The entry has no {settings.get('id_attribute')}.")
    numbers = [NumberInput("work", n) for n in entry.texts("telephonenumber")]
    numbers += [NumberInput("mobile", n) for n in entry.texts("mobile")]
    return SourceRecord(
        external_id=external_id, line=entry.line, kind="person",
        given_name=entry.first("givenname"), family_name=entry.first("sn"),
        name=entry.first("displayname") or entry.first("cn"),
        title=entry.first("title"), email=entry.first("mail"),
        room=entry.first("roomnumber"), unit_path=_unit_path(entry, settings),
        numbers=tuple(numbers), manager_external_id=entry.first("manager") or None,
    )


def _unit_path(entry: LdifEntry, settings: Mapping[str, Any]) -> tuple[str, ...]:
    department = entry.first("department")
    if department:
        separator = settings.get("unit_separator") or UNIT_SEPARATOR
        return tuple(p.strip() for p in department.split(separator) if p.strip())
    components = dn_components(entry.dn)
    base = _folded(dn_components(settings.get("base_dn") or ""))
    if base and _folded(components[-len(base):]) == base:
        components = components[:-len(base)]
    from_dn = [value for name, value in reversed(components) if name == "ou" and value]
    if from_dn:
        return tuple(from_dn)
    return tuple(entry.texts("ou")[:1])


def _folded(components: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value.casefold()) for name, value in components]
