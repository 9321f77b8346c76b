"""Reading MARC 21 files, ISO 2709 or MARCXML, one record at a time.

A library's export is read as it comes: the format is told by the content, records are
yielded one by one (memory stays flat however long the file) and a broken record is
reported with its number, its byte offset and a reason while the rest of the file is still
read. Characters are decoded as leader/09 says: ``a`` is UTF-8, anything else MARC-8.

ISO 2709 resynchronises after a broken record by its record length when a record (or the
end of the file) starts where the length points, else after the next record terminator
(0x1D), looking no further than the longest record ISO 2709 can hold. MARCXML that is not
well-formed ends the file with one error: no parser can say where the next record begins.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import BinaryIO, Literal
from xml.parsers import expat

import pymarc
from pymarc import marc8_mapping
from pymarc.exceptions import (
    BaseAddressInvalid,
    BaseAddressNotFound,
    NoFieldsFound,
    PymarcException,
    RecordDirectoryInvalid,
)

from library_loans.marc.plain import PlainField, PlainRecord

CHUNK = 1 << 20
SNIFF_LENGTH = 4096
LONGEST_RECORD = 99_999
LONGEST_FIELD = 9_999
LEADER_LENGTH = 24
RECORD_TERMINATOR = 0x1D
_ESCAPE = 0x1B
_SEPARATORS = b"\r\n\x1a"
_MARC_NAMESPACES = ("http://www.loc.gov/MARC21/slim", "info:lc/xmlns/marcxchange-v1", "")
_XML_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_NON_ASCII_SUBFIELD_CODE = re.compile(b"\x1f[\x80-\xff]")
_SUBFIELD = re.compile("\x1f([^\x1f])([^\x1f]*)")
"""A subfield: its code, then its value up to the next delimiter (a delimiter with nothing
after it is no subfield, as pymarc reads it)."""


@dataclass(frozen=True, slots=True)
class ReadResult:
    """One record read from a file, or the reason it could not be read."""

    position: int
    offset: int | None
    record: pymarc.Record | PlainRecord | None
    """A ``PlainRecord`` when read with ``plain=True``, else a ``pymarc.Record``."""
    error: str | None
    raw: bytes | None


def sniff_format(head: bytes) -> Literal["iso2709", "marcxml"]:
    """Whether a file that begins with ``head`` is MARCXML or ISO 2709, by its content."""
    for bom in _XML_BOMS:
        if head.startswith(bom):
            return "marcxml"
    return "marcxml" if head.lstrip().startswith(b"<") else "iso2709"


def read_marc(source: BinaryIO | str | os.PathLike[str], *,
              plain: bool = False) -> Iterator[ReadResult]:
    """Every record of an ISO 2709 or MARCXML file (a path or a binary stream), in order.

    Anything that is not XML is read as ISO 2709, so a file of neither kind gives errors
    with reasons rather than nothing. ``raw`` of an ISO 2709 error holds the bytes skipped.
    With ``plain`` the records are ``PlainRecord``: the same text, much cheaper to build
    for a reader that only looks at it (see :mod:`library_loans.marc.plain`).
    """
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            stream: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            stream = source
        head = _head(stream)
        if sniff_format(head) == "marcxml":
            results = _read_marcxml(stream, head)
            if plain:
                results = (_plain(result) for result in results)
            yield from results
        else:
            yield from _read_iso2709(_Window(stream, head), plain)


def _head(stream: BinaryIO) -> bytes:
    """The first bytes of a stream, enough to tell its format even if it trickles."""
    parts = [stream.read(CHUNK)]
    have = len(parts[0])
    while parts[-1] and have < SNIFF_LENGTH:
        parts.append(stream.read(CHUNK))
        have += len(parts[-1])
    return b"".join(parts)


class _Window:
    """The part of a byte stream the current record needs, addressed by file offset."""

    def __init__(self, stream: BinaryIO, head: bytes) -> None:
        self._stream = stream
        self._data = head
        self._start = 0
        self._eof = not head

    def get(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` on, fewer only at the end of the stream."""
        end = offset + size - self._start
        if end > len(self._data) and not self._eof:
            self._fill(offset, size)
            end = offset + size - self._start
        return self._data[offset - self._start : end]

    def find_terminator(self, offset: int, limit: int) -> int | None:
        """The file offset of the first record terminator in [offset, limit), if any."""
        data = self.get(offset, limit - offset)
        found = data.find(RECORD_TERMINATOR)
        return None if found < 0 else offset + found

    def _fill(self, offset: int, size: int) -> None:
        # Bytes before ``offset`` are never asked for again: drop them, then read whole
        # chunks until ``size`` bytes are there, so most records cost one slice.
        kept = self._data[offset - self._start :]
        parts = [kept]
        have = len(kept)
        while have < size:
            part = self._stream.read(max(CHUNK, size - have))
            if not part:
                self._eof = True
                break
            parts.append(part)
            have += len(part)
        self._data = b"".join(parts)
        self._start = offset


def _read_iso2709(window: _Window, plain: bool) -> Iterator[ReadResult]:
    """Records of an ISO 2709 stream, resynchronising after each broken one."""
    offset = 0
    position = 0
    while True:
        head = window.get(offset, 5)
        while head[:1] and head[:1] in _SEPARATORS:
            offset += 1
            head = window.get(offset, 5)
        if not head:
            return
        position += 1
        length = int(head) if len(head) == 5 and head.isdigit() else None
        data = window.get(offset, length) if length is not None else b""
        if length is not None and len(data) == length and data[-1:] == b"\x1d":
            record, error = _parse_iso2709(data, plain)
            yield ReadResult(position, offset, record, error, data)
            offset += length
            continue
        end = _resync(window, offset, length if len(data) == length else None)
        reason = _framing_error(head, length, len(data))
        yield ReadResult(position, offset, None, reason, window.get(offset, end - offset))
        offset = end


def _framing_error(head: bytes, length: int | None, available: int) -> str:
    """Why a record could not even be cut out of the file."""
    if length is None:
        if len(head) < 5:
            return f"{len(head)} stray bytes at the end of the file"
        return f"leader is not numeric (it starts {head!r})"
    if length < LEADER_LENGTH + 2:
        return f"record length {length} is shorter than a leader"
    if available < length:
        return f"record length {length} past end of file"
    return f"record length {length} does not end at a record terminator"


def _resync(window: _Window, offset: int, length: int | None) -> int:
    """Where the record after a broken one at ``offset`` starts (``length`` if all there)."""
    if length is not None and length >= LEADER_LENGTH:
        after = window.get(offset + length, LEADER_LENGTH)
        if not after or _looks_like_leader(after):
            return offset + length
    limit = offset + LONGEST_RECORD
    terminator = window.find_terminator(offset, limit)
    if terminator is not None:
        return terminator + 1
    return offset + len(window.get(offset, LONGEST_RECORD))


def _looks_like_leader(data: bytes) -> bool:
    """Whether ``data`` starts like a leader: numeric length and base address, a type letter.

    The letter tells a leader from a stretch of directory, which is all digits.
    """
    return (
        len(data) == LEADER_LENGTH
        and data[:5].isdigit()
        and data[6:7].isalpha()
        and data[12:17].isdigit()
    )


def _parse_iso2709(
    data: bytes, plain: bool
) -> tuple[pymarc.Record | PlainRecord | None, str | None]:
    """One record's bytes as a record, or the reason they are not one."""
    if not data[12:17].isdigit():
        return None, f"base address is not numeric ({data[12:17]!r})"
    if data[9:10] == b"a":
        decoded = _decode_utf8(data)
        if decoded is not None:
            return (decoded if plain else decoded.as_pymarc()), None
    elif not data.isascii():
        problem = _marc8_problem(data, int(data[12:17]))
        if problem is not None:
            return None, problem
    record, error = _parse_with_pymarc(data)
    return (PlainRecord.of(record) if plain and record is not None else record), error


def _plain(result: ReadResult) -> ReadResult:
    """The result with its pymarc record as plain values."""
    if not isinstance(result.record, pymarc.Record):
        return result
    return ReadResult(result.position, result.offset, PlainRecord.of(result.record),
                      result.error, result.raw)


def _decode_utf8(data: bytes) -> PlainRecord | None:
    """A UTF-8 record with the text ``pymarc.Record(data)`` gives it, only quicker.

    pymarc decodes every subfield on its own and looks leader/09 up for each; decoding the
    record's fields at once (0x1E and 0x1F never occur inside a UTF-8 character), finding
    each field's subfields in one pass of a regular expression and keeping plain values
    takes most of the reading off. Anything out of the ordinary gives None, and pymarc
    parses the record.
    """
    base_address = int(data[12:17])
    if base_address <= LEADER_LENGTH or base_address >= len(data):
        return None
    if _NON_ASCII_SUBFIELD_CODE.search(data, base_address):
        return None
    try:
        # A directory that is not ASCII digits and tags goes to pymarc, like any oddity.
        directory = data[LEADER_LENGTH : base_address - 1].decode("ascii")
        leader = data[:LEADER_LENGTH].decode("ascii")
    except UnicodeDecodeError:
        return None
    if not directory or len(directory) % 12:
        return None
    tags = [directory[at : at + 3] for at in range(0, len(directory), 12)]
    try:
        texts = _field_texts(data[base_address:], directory, tags)
    except ValueError:
        return None
    fields = []
    for tag, text in zip(tags, texts, strict=True):
        if tag < "010" and tag.isdigit():
            fields.append(PlainField(tag, text))
            continue
        indicators = text.partition("\x1f")[0]
        if len(indicators) != 2 or not indicators.isascii():
            return None
        fields.append(PlainField(tag, None, indicators[0], indicators[1],
                                 _SUBFIELD.findall(text, 2)))
    return PlainRecord(leader, fields)


def _field_texts(body: bytes, directory: str, tags: list[str]) -> list[str]:
    """The text of each field the directory points at, without its terminator.

    Writers lay the fields out one after the other, each ending at a field terminator: a
    directory that says so (it is the one written again from the fields' lengths) lets the
    body be decoded at once and cut at the terminators, which costs a fraction of reading
    every entry's numbers and decoding field by field, as any other directory is read.
    """
    pieces = body.split(b"\x1e")
    if len(pieces) == len(tags) + 1 and pieces[-1] == b"\x1d":
        sizes = [len(piece) + 1 for piece in pieces]
        # Each field's tag, length and start; zip stops at the last field.
        entries = chain.from_iterable(
            zip(tags, sizes, accumulate(sizes, initial=0), strict=False))
        if directory == ("%s%04d%05d" * len(tags)) % tuple(entries):
            return body[:-2].decode("utf-8").split("\x1e")
    texts = []
    for at in range(0, len(directory), 12):
        start = int(directory[at + 7 : at + 12])
        texts.append(body[start : start + int(directory[at + 3 : at + 7]) - 1].decode("utf-8"))
    return texts


def _parse_with_pymarc(data: bytes) -> tuple[pymarc.Record | None, str | None]:
    """pymarc's parse of a record, its exceptions put in a reader's words."""
    try:
        record = pymarc.Record(data, to_unicode=True, hide_utf8_warnings=True)
    except UnicodeDecodeError as error:
        return None, _decoding_error(error)
    except (BaseAddressInvalid, BaseAddressNotFound):
        return None, f"base address {int(data[12:17])} is not within the record"
    except RecordDirectoryInvalid:
        return None, "directory length is not a multiple of 12"
    except NoFieldsFound:
        return None, "record has no fields"
    except ValueError:
        return None, "directory entry is not numeric"
    except PymarcException as error:
        return None, f"not a MARC record ({type(error).__name__})"
    return record, None


def _decoding_error(error: UnicodeDecodeError) -> str:
    """A reader's words for a decoding error pymarc raised."""
    byte = error.object[error.start : error.start + 1].hex().upper()
    if error.encoding == "utf-8":
        return f"not valid UTF-8 although leader/09 is 'a' (byte 0x{byte})"
    if error.encoding == "ascii":
        return f"leader, directory or indicators hold a non-ASCII byte (0x{byte})"
    return "not valid MARC-8 (a broken multibyte character)"


def _unmappable_marc8_bytes() -> bytes:
    """Bytes pymarc's MARC-8 decoder turns into a blank with only a warning."""
    basic_latin = marc8_mapping.CODESETS[0x42]
    ansel = marc8_mapping.CODESETS[0x45]
    unmappable = [
        byte
        for byte in range(0x7F, 0x100)
        if not (0x80 < byte < 0xA0)
        and byte not in (ansel if byte > 0x80 else basic_latin)
        and byte not in marc8_mapping.ODD_MAP
    ]
    return bytes(unmappable)


_MARC8_UNMAPPABLE = re.compile(b"[" + re.escape(_unmappable_marc8_bytes()) + b"]")


def _marc8_problem(data: bytes, base_address: int) -> str | None:
    """Why a MARC-8 record's text cannot be decoded, if it cannot."""
    text = data[base_address:]
    if text.isascii() or _ESCAPE in text:
        # Escapes switch character sets (Greek, Cyrillic, CJK): leave those to pymarc.
        return None
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        found = _MARC8_UNMAPPABLE.search(text)
        if found is None:
            return None
        return f"byte 0x{found.group().hex().upper()} is not MARC-8 (leader/09 is not 'a')"
    # Real MARC-8 puts a diacritic before its letter (0xE8 'o' for ö), which is never
    # valid UTF-8; text that decodes as UTF-8 was written as UTF-8 and mislabelled.
    return "leader/09 says MARC-8 but the text is UTF-8"


def _read_marcxml(stream: BinaryIO, head: bytes) -> Iterator[ReadResult]:
    """Records of a MARCXML stream (a collection, a lone record or any wrapper around them).

    Expat calls the builder element by element and no tree is kept, so memory holds one
    record at a time (and the finished records of one chunk).
    """
    builder = _MarcxmlBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text.append
    chunk = head
    try:
        while chunk:
            parser.Parse(chunk, False)
            yield from builder.take()
            chunk = stream.read(CHUNK)
        parser.Parse(b"", True)
        yield from builder.take()
    except expat.ExpatError as error:
        yield from builder.take()
        reason = f"XML is not well-formed: {error}"
        yield ReadResult(builder.position + 1, None, None, reason, None)


class _MarcxmlBuilder:
    """Builds pymarc records from expat's callbacks, checking each as it is built."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.position = 0
        self._finished: list[ReadResult] = []
        self._names: dict[str, tuple[str, bool]] = {}
        self._inside = False
        self._leader: str | None = None
        self._fields: list[pymarc.Field] = []
        self._problem: str | None = None
        self._tag = ""
        self._indicators = pymarc.Indicators(" ", " ")
        self._subfields: list[pymarc.Subfield] = []
        self._code = ""

    def take(self) -> list[ReadResult]:
        """The records finished since the last call."""
        finished, self._finished = self._finished, []
        return finished

    def start(self, name: str, attributes: dict[str, str]) -> None:
        """An element opens: a record begins, or a field or subfield inside one."""
        local, marc = self._names.get(name) or self._learn(name)
        self.text.clear()
        if not self._inside:
            if local == "record" and marc:
                self._inside = True
            return
        if local == "datafield":
            self._tag = self._checked_tag(attributes.get("tag", ""), control=False)
            self._indicators = pymarc.Indicators(
                (attributes.get("ind1") or " ")[:1], (attributes.get("ind2") or " ")[:1]
            )
        elif local == "subfield":
            self._code = attributes.get("code", "")
            if len(self._code) != 1:
                self._flag(f"datafield {self._tag} has a subfield code {self._code!r}")
        elif local == "controlfield":
            self._tag = self._checked_tag(attributes.get("tag", ""), control=True)

    def end(self, name: str) -> None:
        """An element closes: its text becomes a subfield, a field, the leader or a record."""
        if not self._inside:
            return
        local, marc = self._names.get(name) or self._learn(name)
        if local == "subfield":
            self._subfields.append(pymarc.Subfield(self._code, "".join(self.text)))
        elif local == "datafield":
            self._fields.append(pymarc.Field(self._tag, self._indicators, self._subfields))
            self._subfields = []
        elif local == "controlfield":
            self._fields.append(pymarc.Field(tag=self._tag, data="".join(self.text)))
        elif local == "leader":
            self._leader = "".join(self.text)
        elif local == "record" and marc:
            self.position += 1
            self._finished.append(self._result())
            self._inside, self._leader, self._fields, self._problem = False, None, [], None
        self.text.clear()

    def _learn(self, name: str) -> tuple[str, bool]:
        """An element's local name, and whether it is in a MARC namespace (or none)."""
        namespace, _, local = name.rpartition("}")
        known = self._names[name] = (local, namespace in _MARC_NAMESPACES)
        return known

    def _checked_tag(self, tag: str, *, control: bool) -> str:
        is_control = len(tag) == 3 and tag.isdigit() and tag < "010"
        if control and not is_control:
            self._flag(f"controlfield tag {tag!r} is not 001–009")
        elif not control and (is_control or not (len(tag) == 3 and tag.isalnum())):
            self._flag(f"datafield tag {tag!r} is not 010–999")
        return tag

    def _flag(self, problem: str) -> None:
        """Note what is wrong with the record being built (the first thing is reported)."""
        if self._problem is None:
            self._problem = problem

    def _result(self) -> ReadResult:
        """The record just closed, or why it is not one."""
        leader = self._leader
        if leader is None:
            self._flag("record has no leader")
        elif len(leader) != LEADER_LENGTH:
            self._flag(f"leader is {len(leader)} characters, not {LEADER_LENGTH}")
        if not self._fields:
            self._flag("record has no fields")
        if self._problem is not None or leader is None:
            return ReadResult(self.position, None, None, self._problem, None)
        # XML text is Unicode whatever the leader says, so ISO 2709 made from it is UTF-8.
        record = pymarc.Record(leader=leader[:9] + "a" + leader[10:], fields=self._fields)
        raw = record.as_marc()
        reason = _too_long(record, raw) if len(raw) > LONGEST_FIELD else None
        if reason is not None:
            return ReadResult(self.position, None, None, reason, None)
        return ReadResult(self.position, None, record, None, raw)


def _too_long(record: pymarc.Record, raw: bytes) -> str | None:
    """Why a record from MARCXML does not fit ISO 2709's length fields, if it does not."""
    if len(raw) > LONGEST_RECORD:
        return f"record is {len(raw)} bytes in ISO 2709, longer than its {LONGEST_RECORD}"
    for field in record.fields:
        size = len(field.as_marc(encoding="utf-8"))
        if size > LONGEST_FIELD:
            return f"field {field.tag} is {size} bytes in ISO 2709, longer than its {LONGEST_FIELD}"
    return None
