"""Item fields of a bibliographic record (852, 949, 952 …) read as the copies a library holds.

Libraries export their copies inside the bibliographic record, one field per copy, but not
all in the same field: MARC holdings use 852, Koha writes 952, and local systems use a 9XX
field of their own. A ``HoldingsMapping`` names the field and which subfield holds what,
so a new layout is data, not code; ``PRESETS`` holds the layouts we know.

The state of a copy comes from one status subfield whose value is either a word
(``STATUS_WORDS``: "förkommen", "skadad", "gallrad", "lost" …) or a Koha-style number,
where 0 means nothing is wrong and any other number means lost (Koha's lost values are
kinds of lost: lost, long overdue, lost and paid for, missing). Koha keeps damaged and
withdrawn as numeric flags in subfields of their own, named by ``damaged`` and
``withdrawn``. A copy both withdrawn and lost counts as withdrawn, lost and damaged as
missing: the state that takes it further from the shelf wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pymarc

from library_loans.marc.plain import AnyField, PlainRecord

STATUS_WORDS: dict[str, str] = {
    "missing": "missing",
    "lost": "missing",
    "saknas": "missing",
    "förkommen": "missing",
    "borttappad": "missing",
    "damaged": "damaged",
    "skadad": "damaged",
    "withdrawn": "withdrawn",
    "gallrad": "withdrawn",
    "avförd": "withdrawn",
    "kasserad": "withdrawn",
}


@dataclass(frozen=True, slots=True)
class HoldingsMapping:
    """Which field holds one copy, and which of its subfields hold what."""

    tag: str
    barcode: str
    branch: str
    call_number: str | None
    shelf: str | None
    status: str | None
    damaged: str | None = None
    withdrawn: str | None = None


class Holding(NamedTuple):
    """One copy as the record describes it: barcode, home branch, where it stands, its state.

    A tuple, so that an import's reading child sends it as one and the importer takes it
    back without building an object per copy."""

    barcode: str
    branch_code: str
    call_number: str | None
    shelf: str | None
    status: str


PRESETS: dict[str, HoldingsMapping] = {
    # MARC 21 holdings: $b sublocation (the branch), $c shelving location, $h the
    # classification part of the call number, $p piece designation (the barcode).
    "852": HoldingsMapping(
        tag="852", barcode="p", branch="b", call_number="h", shelf="c", status=None
    ),
    # A local item field as several Swedish library systems have exported it; the letters
    # vary between sites, which is why the mapping is configurable: $a branch, $b barcode,
    # $c call number (SAB signum), $d shelf, $s status word.
    "949": HoldingsMapping(
        tag="949", barcode="b", branch="a", call_number="c", shelf="d", status="s"
    ),
    # Koha: $a home branch, $p barcode, $o call number, $c shelving location, $1 lost,
    # $4 damaged, $0 withdrawn.
    "952": HoldingsMapping(
        tag="952",
        barcode="p",
        branch="a",
        call_number="o",
        shelf="c",
        status="1",
        damaged="4",
        withdrawn="0",
    ),
}


def holdings(
    record: pymarc.Record | PlainRecord, mapping: HoldingsMapping
) -> tuple[list[Holding], list[str]]:
    """The record's copies under ``mapping``, and a problem line for each field left out."""
    found: list[Holding] = []
    problems: list[str] = []
    seen: set[str] = set()
    item_fields = [field for field in record.fields if field.tag == mapping.tag]
    for number, field in enumerate(item_fields, start=1):
        values = _first_values(field)
        barcode = values.get(mapping.barcode)
        branch = values.get(mapping.branch)
        if not barcode or not branch:
            problems.append(f"{mapping.tag} #{number}: {_lacking(mapping, barcode, branch)}")
            continue
        if barcode in seen:
            problems.append(f"{mapping.tag} #{number}: barcode {barcode} appears twice")
            continue
        seen.add(barcode)
        # A subfield the mapping does not name (None) is no key of the values: it gives None.
        found.append(
            Holding(
                barcode=barcode,
                branch_code=branch,
                call_number=values.get(mapping.call_number),
                shelf=values.get(mapping.shelf),
                status=_status(values, mapping),
            )
        )
    return found, problems


def _lacking(mapping: HoldingsMapping, barcode: str | None, branch: str | None) -> str:
    """What an item field lacks, naming the subfields where it was looked for."""
    lacking = [
        f"{what} (${code})"
        for what, code, value in (
            ("barcode", mapping.barcode, barcode),
            ("branch", mapping.branch, branch),
        )
        if not value
    ]
    return "no " + " and no ".join(lacking)


def _first_values(field: AnyField) -> dict[str, str]:
    """Each subfield code's first non-blank value, stripped."""
    values: dict[str, str] = {}
    for code, value in field.subfields:
        if code not in values:
            stripped = value.strip()
            if stripped:
                values[code] = stripped
    return values


def _status(values: dict[str, str], mapping: HoldingsMapping) -> str:
    """The copy's state from its status word or number and the damaged/withdrawn flags.

    A copy with more than one state is reported in the one that takes it furthest from
    the shelf: withdrawn, then missing, then damaged.
    """
    status = values.get(mapping.status)
    if status is None:
        stated = None
    elif status.isdigit():
        stated = "missing" if int(status) != 0 else None
    else:
        stated = STATUS_WORDS.get(status.casefold())
    damaged = _flag_set(values.get(mapping.damaged))
    withdrawn = _flag_set(values.get(mapping.withdrawn))
    if withdrawn or stated == "withdrawn":
        return "withdrawn"
    if stated == "missing":
        return "missing"
    if damaged or stated == "damaged":
        return "damaged"
    return "available"


def _flag_set(value: str | None) -> bool:
    """Whether a Koha-style flag is raised: any value but a zero (or none at all)."""
    return value is not None and not (value.isdigit() and int(value) == 0)
