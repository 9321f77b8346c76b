"""Writing the catalogue's records as a MARCXML collection, one record at a time.

The catalogue keeps each record's ISO 2709 bytes as it was imported; an export decodes
them one by one (MARC-8 or UTF-8, as leader/09 says) and writes MARC 21 slim, so memory
stays flat however many records go out. XML is Unicode, so every exported leader says
UTF-8 (leader/09 ``a``). Control characters XML 1.0 cannot hold (MARC-8 escapes left in
old data, say) are dropped rather than making the whole file unreadable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape
from typing import BinaryIO

import pymarc
from pymarc.exceptions import PymarcException

MARCXML_NAMESPACE = "http://www.loc.gov/MARC21/slim"

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_marcxml(records: Iterable[bytes | pymarc.Record], out: BinaryIO) -> int:
    """Write ``records`` (ISO 2709 bytes or records) to ``out`` as a collection; the count."""
    out.write(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<collection xmlns="' + MARCXML_NAMESPACE.encode() + b'">\n'
    )
    count = 0
    for item in records:
        count += 1
        record = _decoded(item, count) if isinstance(item, bytes) else item
        out.write(_record_xml(record).encode("utf-8"))
    out.write(b"</collection>\n")
    return count


def _decoded(data: bytes, position: int) -> pymarc.Record:
    """A stored ISO 2709 record decoded; a ValueError naming its position if it is not one."""
    try:
        return pymarc.Record(data, to_unicode=True, hide_utf8_warnings=True)
    except (PymarcException, ValueError) as error:
        raise ValueError(f"record {position} is not ISO 2709: {error!r}") from error


def _record_xml(record: pymarc.Record) -> str:
    """One <record> element, in the collection's default namespace."""
    leader = str(record.leader)
    parts = ["<record>", "<leader>", escape(leader[:9] + "a" + leader[10:]), "</leader>"]
    for field in record.fields:
        tag = escape(field.tag)
        if field.control_field:
            parts += ['<controlfield tag="', tag, '">', escape(field.data or ""), "</controlfield>"]
            continue
        parts += [
            f'<datafield tag="{tag}" ind1="{escape(field.indicator1)}"',
            f' ind2="{escape(field.indicator2)}">',
        ]
        for code, value in field.subfields:
            parts += ['<subfield code="', escape(code), '">', escape(value), "</subfield>"]
        parts.append("</datafield>")
    parts.append("</record>\n")
    return _NOT_XML.sub("", "".join(parts))
