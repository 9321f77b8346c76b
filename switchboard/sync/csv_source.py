"""HR systems' CSV exports: one row a person, columns named as each HR system names them.

``source.settings`` may hold:

- ``columns``: our field → their header, e.g. ``{"external_id": "Anst.nr",
  "given_name": "Förnamn", "unit": "Enhet", "work_phone": "Telefon"}``; a field left out
  is looked for under the usual Swedish and English headers (:data:`DEFAULT_HEADERS`);
- ``unit_separator``: what separates the levels of the unit column (default ``" / "``);
- ``delimiter`` and ``encoding``, when sniffing them is not good enough.

Files come as HR systems write them: UTF-8 with or without a byte-order mark, or
Windows-1252/Latin-1; ``;`` or ``,`` between fields. Line numbers are the file's own
(1 = the header), so that a rejected row can be found in the export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

from switchboard.operations.directory import NumberInput
from switchboard.sync.records import RejectedRow, SourceError, SourceRecord

FIELDS = ("external_id", "kind", "given_name", "family_name", "name", "nicknames", "title",
          "email", "room", "unit", "work_phone", "mobile", "extension", "manager")
"""The fields a column can be mapped to."""

DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "anst.nr", "anstnr", "anställningsnummer", "id"),
    "kind": ("kind", "typ"),
    "given_name": ("given_name", "förnamn", "fornamn"),
    "family_name": ("family_name", "efternamn"),
    "name": ("name", "namn", "visningsnamn"),
    "nicknames": ("nicknames", "smeknamn", "tilltalsnamn"),
    "title": ("title", "befattning", "titel", "roll"),
    "email": ("email", "e-post", "epost", "mejl"),
    "room": ("room", "rum"),
    "unit": ("unit", "enhet", "organisation"),
    "work_phone": ("work_phone", "telefon", "arbetstelefon", "direktnummer"),
    "mobile": ("mobile", "mobil", "mobiltelefon"),
    "extension": ("extension", "anknytning", "ankn"),
    "manager": ("manager", "chef", "chef anst.nr"),
}
"""Headers a field is found under when the mapping leaves it out (compared case-blind)."""

UNIT_SEPARATOR = " / "
_KINDS = {"person": "person", "function": "function", "funktion": "function"}
_DELIMITERS = (";", ",", "\t")


def read_csv(content: bytes, settings: Mapping[str, Any]) -> Iterator[SourceRecord | RejectedRow]:
    """The records of a CSV export; raises :class:`SourceError` if it cannot be read at all."""
    text = decode(content, settings.get("encoding"))
    delimiter = settings.get("delimiter") or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise SourceError(f"The header cannot be read: {error}") from error
    if not header:
        raise SourceError("The file is empty.")
    columns = _columns(header, settings.get("columns") or {})
    separator = settings.get("unit_separator") or UNIT_SEPARATOR
    line = reader.line_num + 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield _record(row, columns, separator, line)
            line = reader.line_num + 1
    except csv.Error as error:
        raise SourceError(f"Line {line}: {error}") from error


def decode(content: bytes, encoding: str | None = None) -> str:
    """The file's text: the encoding named, else UTF-8 (BOM or not), else Windows-1252."""
    if encoding:
        try:
            return content.decode(encoding)
        except (LookupError, UnicodeDecodeError) as error:
            raise SourceError(f"The file cannot be read as {encoding}: {error}") from error
    for candidate in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(candidate)
        except UnicodeDecodeError:
            continue
    # Latin-1 decodes every byte; it is what is left when cp1252 meets its five holes.
    return content.decode("latin-1")


# --- private helpers ------------------------------------------------------------------


def _sniff_delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return max(_DELIMITERS, key=first_line.count)


def _columns(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    """Our field → the column's position, from the mapping or the default headers."""
    positions = {name.strip().casefold(): index for index, name in enumerate(header)}
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise SourceError(f"The column mapping names unknown fields: {', '.join(unknown)}.")
    columns = {}
    for field in FIELDS:
        if field in mapping:
            position = positions.get(str(mapping[field]).strip().casefold())
            if position is None:
                raise SourceError(f"The column {mapping[field]!r} ({field}) is not in the "
                                  "file's header.")
            columns[field] = position
            continue
        for candidate in DEFAULT_HEADERS[field]:
            if candidate in positions:
                columns[field] = positions[candidate]
                break
    if "external_id" not in columns:
        raise SourceError("No column holds the external id: map external_id in the source's "
                          "column mapping.")
    return columns


def _record(row: list[str], columns: dict[str, int], separator: str,
            line: int) -> SourceRecord | RejectedRow:
    width = len(row)
    values = {field: row[position].strip() if position < width else ""
              for field, position in columns.items()}
    get = values.get
    external_id = values["external_id"]
    if not external_id:
        return RejectedRow(line, "The row has no external id.")
    kind = _KINDS.get(get("kind", "").casefold() or "person")
    if kind is None:
        return RejectedRow(line, f"kind: {values['kind']!r} is neither person nor function.",
                           external_id)
    nicknames, unit = get("nicknames", ""), get("unit", "")
    return SourceRecord(
        external_id=external_id, line=line, kind=kind, given_name=get("given_name", ""),
        family_name=get("family_name", ""), name=get("name", ""),
        nicknames=tuple(n.strip() for n in nicknames.replace(";", ",").split(",")
                        if n.strip()) if nicknames else (),
        title=get("title", ""), email=get("email", ""), room=get("room", ""),
        unit_path=tuple(p.strip() for p in unit.split(separator) if p.strip()) if unit else (),
        numbers=_numbers(get("work_phone", ""), get("extension", ""), get("mobile", "")),
        manager_external_id=get("manager") or None,
    )


def _numbers(work: str, extension: str, mobile: str) -> tuple[NumberInput, ...]:
    """The work number with its extension, then the mobile (validated when applied)."""
    if mobile and (work or extension):
        return (NumberInput("work", work, extension), NumberInput("mobile", mobile))
    if mobile:
        return (NumberInput("mobile", mobile),)
    if work or extension:
        return (NumberInput("work", work, extension),)
    return ()
