"""Importing MARC files into the shared catalogue, and exporting it as MARCXML.

A municipality imports its library system's export: the bibliographic records go into the
consortium's one catalogue, the copies in their item fields become the municipality's items.

- A record is a title already catalogued when it has the same control number (001 with
  003) or, failing that, an ISBN in common; a re-import updates it rather than adding a
  duplicate. A record with neither cannot be recognised and is added by every import.
- "Updated" means the content changed: the record's MARC, item fields left out, differs
  from the stored MARC. Its fields and MARC are then replaced and new ISBNs added (none
  removed); an unchanged record is not written at all.
- The stored MARC leaves out the item fields of every ``PRESETS`` layout: the record is
  the consortium's while its copies are municipalities', and one municipality's re-import
  must not count as a change because another municipality's copies differ.
- Copies are matched by barcode within the municipality. A new one is added at its home
  branch, found by code among the municipality's branches; an unknown code is a problem of
  that record, whose other copies still import. A known one takes the file's call number
  and shelf, and the file's missing, damaged or withdrawn state unless it is on loan, in
  transit or on the hold shelf. "Available" in a file never changes a copy's state: the
  852 layout has no state at all, and a librarian's "missing" must outlive an import. A
  barcode that is already a copy of another title is left as it is, as a problem.
- A record that cannot be read or described is rejected: a problem with its position, its
  byte offset (ISO 2709 only) and the reason, while the rest of the file imports. The first
  ``MAX_PROBLEMS`` problems are kept.

The file is read a batch at a time and each batch is written in a few statements (one per
table for the new rows), so memory holds one batch however long the file is. Operations
never commit: ``progress`` is called once each batch is flushed, which is where a task or
the command line commits it and shows how far the import has got. A caller that indexes
the records can take the fields as the import wrote them (``on_described``, for
``index_fields``) rather than read them back.
"""

from __future__ import annotations

import contextlib
import gc
import io
import itertools
import os
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import itemgetter
from types import SimpleNamespace
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import (
    String,
    Table,
    any_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from library_loans.marc import (
    PRESETS,
    Description,
    DescriptionError,
    Holding,
    HoldingsMapping,
    ReadResult,
    describe,
    holdings,
    read_marc,
    sniff_format,
    write_marcxml,
)
from library_loans.models import BibRecord, Branch, CatalogueImport, Item, RecordIsbn
from library_loans.operations.rules import Refusal
from library_loans.search.index import RecordFields, analysed_columns, isbns_of
from library_loans.search.places import joined, refresh_places
from services import clock
from services.ahead import read_ahead
from services.db_arrays import SPLIT_TEXT, accept_packed_arrays, joined_text, kind_of, packed
from services.forked import can_fork, iterate_in_fork
from services.ids import uuid7s
from services.infra.storage import BlobNotFoundError, BlobStore
from services.tenancy import TenantScopeViolation, current_scope
from services.tenancy.models import Municipality

READ_BESIDE_BYTES = 2_000_000
"""A file at least this big is read in a child process beside the writing (about 2,000
records): below it, starting the child costs more than it saves."""
MAX_PROBLEMS = 1000
"""Problems kept per import; the counts go on past them."""

COLLECT_EVERY = 10
"""Batches imported between two runs of the cyclic garbage collector (see import_marc)."""

CIRCULATING = ("on_loan", "in_transit", "on_hold_shelf")
"""States of a copy an import never changes: the circulation desk owns them."""

FINISHED = ("succeeded", "failed")
EXPORT_BATCH = 500

_FILE_STATES = ("missing", "damaged", "withdrawn")
_ITEM_TAGS = frozenset(mapping.tag.encode("ascii") for mapping in PRESETS.values())
_LEADER_LENGTH = 24
_DIRECTORY_ENTRIES = struct.Struct("3s4s5s").iter_unpack
"""A directory's entries as (tag, length, start), 12 bytes each."""
_FIELD_TERMINATOR = b"\x1e"
_RECORD_TERMINATOR = b"\x1d"


@dataclass
class ImportSummary:
    """What an import has done so far: records read, added, updated, rejected, copies."""

    processed: int = 0
    added: int = 0
    updated: int = 0
    rejected: int = 0
    items_added: int = 0
    items_updated: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    """``{"position", "offset", "reason"}`` of the first ``MAX_PROBLEMS`` problems."""

    def report(self, position: int, offset: int | None, reason: str) -> None:
        """Note a problem of the record at ``position`` (kept while there is room)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append({"position": position, "offset": offset, "reason": reason})


def import_marc(
    session: Session,
    source: BinaryIO | str | os.PathLike[str],
    *,
    municipality_id: uuid.UUID,
    layout: str = "852",
    batch_size: int = 2000,
    progress: Callable[[ImportSummary], None] | None = None,
    on_records: Callable[[Session, list[uuid.UUID]], object] | None = None,
    on_described: Callable[[Session, list[RecordFields]], object] | None = None,
    read_beside: bool | None = None,
) -> ImportSummary:
    """Import a MARC file (ISO 2709 or MARCXML) with the municipality's copies; the counts.

    After each batch is flushed, ``on_records`` gets the ids of the records it added or
    changed and ``on_described`` their fields as stored (for ``index_fields``, which need
    not read them back), then ``progress`` gets the counts so far.

    ``read_beside``: whether the file is read and described in a child process while this
    one writes (None: if the file has at least ``READ_BESIDE_BYTES``).
    """
    if not current_scope().includes(municipality_id):
        # Copies go in as plain rows, past the flush hook that would refuse this.
        raise TenantScopeViolation("a catalogue is imported in its municipality's own scope")
    if batch_size < 1:
        raise Refusal("batch_size", "Give a batch size of at least one record.", status=422)
    mapping = holdings_mapping(layout)
    branches = dict(session.execute(
        select(Branch.code, Branch.id).where(Branch.municipality_id == municipality_id)
    ).all())
    shelf = joined([session.scalars(
        select(Municipality.slug).where(Municipality.id == municipality_id)).one()])
    summary = ImportSummary()
    postgresql = session.get_bind().dialect.name == "postgresql"
    # The cyclic garbage collector runs once a batch, when the batch's objects are gone,
    # not whenever allocations set it off: a batch makes hundreds of thousands of objects
    # and keeps them until it is written, and the collections they set off walked them
    # over and over (1.8 s of the importing process's 10.4 s of CPU at 100,000 records:
    # 2,865 collections of the youngest generation, 259 of the middle, 25 full ones). What
    # the process holds already (mappers, the analysis caches) is frozen out of the
    # collections for as long as the import runs.
    gc.collect()
    gc.freeze()
    collecting = gc.isenabled()
    gc.disable()
    try:
        analyse = (session.get_bind().dialect.name if on_described is not None else None)
        with contextlib.closing(_read_batches(source, mapping, batch_size, read_beside,
                                              analyse)) as batches:
            for number, batch in enumerate(batches):
                summary.processed += batch.read
                summary.rejected += batch.rejected
                for problem in batch.problems:
                    summary.report(*problem)
                written = _BatchImport(session, municipality_id, branches, mapping, summary,
                                       shelf)
                changed = written.run(batch.records)
                session.flush()
                if postgresql and number == 0:
                    # The first batch is in: the planner learns of the municipality's
                    # copies now, not when autovacuum next looks (see migration 0007).
                    session.execute(text("SELECT library_analyse_catalogue()"))
                # The index looks the batch's records and copies up by hundreds of ids at once.
                with _planned_for_these_values(session):
                    if on_records is not None and changed:
                        on_records(session, changed)
                    if on_described is not None and changed:
                        on_described(session, written.fields())
                    # Copies added to or changed on a title the file left as it was: where the
                    # title is on a shelf (its index row's places) is worked out again.
                    refresh_places(session, written.copies_of_unchanged_records())
                if progress is not None:
                    progress(summary)
                # What a batch made is freed by reference counting as it is let go of; the
                # cycles batches left are found every few batches, among the young objects
                # alive then (the next batches, read ahead: 8-20 ms a collection).
                del written, batch
                if number % COLLECT_EVERY == COLLECT_EVERY - 1:
                    gc.collect(1)
    finally:
        if collecting:
            gc.enable()
        # The worker lives on after the import: what it held may be garbage later.
        gc.unfreeze()
    return summary


def export_marcxml(
    session: Session, out: BinaryIO, record_ids: Iterable[uuid.UUID] | None = None
) -> int:
    """Write the catalogue's records (all, or ``record_ids`` in order) as MARCXML; the count."""
    return write_marcxml(_stored_marc(session, record_ids), out)


def holdings_mapping(layout: str) -> HoldingsMapping:
    """The item field layout named ``layout``; a Refusal if there is none."""
    mapping = PRESETS.get(layout)
    if mapping is None:
        raise Refusal("layout", f"Choose one of {', '.join(sorted(PRESETS))}.", status=422)
    return mapping


def without_item_fields(raw: bytes) -> bytes:
    """An ISO 2709 record without the item fields of any ``PRESETS`` layout.

    The fields' bytes are copied as they are, so the record keeps its character coding;
    the directory, base address and record length are made anew.
    """
    base_address = int(raw[12:17])
    entries = list(_DIRECTORY_ENTRIES(raw[_LEADER_LENGTH : base_address - 1]))
    if not any(tag in _ITEM_TAGS for tag, _, _ in entries):
        return raw
    kept_entries, kept_fields, offset = [], [], 0
    for tag, length, start in entries:
        if tag in _ITEM_TAGS:
            continue
        size, begin = int(length), base_address + int(start)
        kept_fields.append(raw[begin : begin + size])
        kept_entries.append(b"%s%04d%05d" % (tag, size, offset))
        offset += size
    directory = b"".join(kept_entries) + _FIELD_TERMINATOR
    data = b"".join(kept_fields) + _RECORD_TERMINATOR
    new_base = _LEADER_LENGTH + len(directory)
    return b"%05d%s%05d%s%s%s" % (new_base + len(data), raw[5:12], new_base, raw[17:24],
                                  directory, data)


# --- the import as a run of its own ------------------------------------------------------


def start_import(
    session: Session, municipality_id: uuid.UUID, filename: str, data: BinaryIO,
    layout: str = "852", *, store: BlobStore,
) -> CatalogueImport:
    """Keep an uploaded MARC file and queue its import; the caller sends the task after commit."""
    holdings_mapping(layout)
    name = filename.strip()
    if not name or len(name) > 300:
        raise Refusal("filename", "Give the file's name, at most 300 characters.", status=422)
    content = data.read()
    if not content.strip():
        raise Refusal("file", "The file is empty.", status=422)
    run = CatalogueImport(municipality_id=municipality_id, filename=name,
                          holdings_layout=layout, status="queued", problems=[])
    session.add(run)
    session.flush()
    run.blob_key = f"library_loans/{municipality_id}/imports/{run.id}/file"
    content_type = ("application/marcxml+xml" if sniff_format(content[:4096]) == "marcxml"
                    else "application/marc")
    store.put(run.blob_key, content, content_type)
    return run


def find_import(session: Session, import_id: uuid.UUID) -> CatalogueImport | None:
    """The import with ``import_id``, if the scope sees it."""
    return session.scalars(select(CatalogueImport).where(CatalogueImport.id == import_id)).first()


def read_import_file(store: BlobStore, run: CatalogueImport) -> bytes:
    """The file an import reads; a Refusal when the store no longer has it."""
    try:
        return store.get(run.blob_key)
    except BlobNotFoundError as error:
        raise Refusal("file", "The import's file is missing from the file store.",
                      status=404) from error


def begin_import(run: CatalogueImport) -> None:
    """Say the import is running (committed on its own, so that a page shows it)."""
    run.status = "running"
    run.started_at = clock.now()


def record_progress(run: CatalogueImport, summary: ImportSummary) -> None:
    """Put the counts so far on the import's row."""
    run.processed = summary.processed
    run.added = summary.added
    run.updated = summary.updated
    run.rejected = summary.rejected
    run.items_added = summary.items_added
    run.problems = list(summary.problems)


def finish_import(run: CatalogueImport, summary: ImportSummary) -> None:
    """End the import as succeeded with its counts."""
    record_progress(run, summary)
    run.status = "succeeded"
    run.finished_at = clock.now()


def fail_import(run: CatalogueImport, reason: str) -> None:
    """End the import as failed with ``reason``; batches committed before stay, and counted."""
    run.status = "failed"
    run.error = reason
    run.finished_at = clock.now()


# --- one batch ---------------------------------------------------------------------------


class _Incoming(NamedTuple):
    """A record of the file that can be imported, and where it is in the file (a tuple, as
    the reading child sends it)."""

    position: int
    offset: int | None
    columns: dict[str, Any]
    """The record's columns as its description gives them (``_record_columns``)."""
    isbns: tuple[str, ...]
    marc: bytes
    copies: list[Holding]
    analysed: tuple[str, ...] | None
    """The record's index columns as far as its own fields make them (``analysed_columns``),
    worked out as it is read; None when nothing indexes the import."""


@dataclass(frozen=True, slots=True)
class _ReadBatch:
    """A batch of the file as read: its records that can be imported, and its problems."""

    records: list[_Incoming]
    read: int
    rejected: int
    problems: list[tuple[int, int | None, str]]


_COPIES = _Incoming._fields.index("copies")
_as_incoming = partial(tuple.__new__, _Incoming)
_as_holding = partial(tuple.__new__, Holding)


def _read_batches(source: BinaryIO | str | os.PathLike[str], mapping: HoldingsMapping,
                  batch_size: int, beside: bool | None, analyse: str | None
                  ) -> Iterator[_ReadBatch]:
    """The file's records read and described a batch at a time: in a child process beside
    this one's writing (``beside``; None: when the file is big enough), or here; analysed
    for the index too when ``analyse`` names the database it is written to."""
    if beside is None:
        size = _size_of(source)
        beside = size is not None and size >= READ_BESIDE_BYTES
    if not beside or not can_fork():
        yield from _read_here(source, mapping, batch_size, analyse)
        return
    with contextlib.closing(read_ahead(_unpacked_from(
            iterate_in_fork(_read_packed, source, mapping, batch_size, analyse)))) as batches:
        yield from batches


def _read_here(source: BinaryIO | str | os.PathLike[str], mapping: HoldingsMapping,
               batch_size: int, analyse: str | None) -> Iterator[_ReadBatch]:
    """The file's records read and described a batch at a time (the database is not needed;
    ``analyse`` is the name of its dialect when the records are analysed for the index)."""
    for_postgresql = analyse == "postgresql"
    results = read_marc(source, plain=True)
    for first in results:
        records, problems, read, rejected = [], [], 0, 0
        # Each record is described as it is read and its fields let go at once: held for
        # a whole batch, those objects would make every garbage collection slow.
        for result in itertools.chain((first,), itertools.islice(results, batch_size - 1)):
            read += 1
            description, reason = _described(result)
            if description is None or result.record is None or result.raw is None:
                rejected += 1
                problems.append((result.position, result.offset, reason))
                continue
            copies, lacking = holdings(result.record, mapping)
            problems += [(result.position, result.offset, problem) for problem in lacking]
            columns = _record_columns(description)
            analysed = (analysed_columns(SimpleNamespace(**columns),
                                         for_postgresql=for_postgresql)
                        if analyse is not None else None)
            records.append(_Incoming(result.position, result.offset, columns,
                                     tuple(description.isbns),
                                     without_item_fields(result.raw), copies, analysed))
        yield _ReadBatch(records, read, rejected, problems)


def _read_packed(source: BinaryIO | str | os.PathLike[str], mapping: HoldingsMapping,
                 batch_size: int, analyse: str | None) -> Iterator[tuple[Any, ...]]:
    """:func:`_read_here`'s batches as plain tuples, which pickle in half the time.

    Run in the reading child, without the cyclic garbage collector: what the reading makes
    holds no cycles, so reference counting frees it all, and the collector's passes over
    the analysis caches were a sixth of the child's time (reading and packing 100,000
    records: 18.0 s of CPU with it, 15.5 s without, medians of three).
    """
    gc.disable()
    for batch in _read_here(source, mapping, batch_size, analyse):
        # Each record as a list of its fields, its copies as plain tuples.
        yield (batch.read, batch.rejected, batch.problems, [
            [*record[:_COPIES], list(map(tuple, record.copies)), *record[_COPIES + 1:]]
            for record in batch.records])


def _unpacked_from(packed_batches: Iterator[tuple[Any, ...]]) -> Iterator[_ReadBatch]:
    """The batches of :func:`_read_packed`'s tuples (closing this closes them)."""
    with contextlib.closing(packed_batches):
        for packed_batch in packed_batches:
            yield _unpacked(packed_batch)


def _unpacked(packed: tuple[Any, ...]) -> _ReadBatch:
    """A batch from :func:`_read_packed`'s lists and tuples: made the named tuples they
    were by ``tuple.__new__``, which runs no Python code per record or copy."""
    read, rejected, problems, records = packed
    for record in records:
        record[_COPIES] = list(map(_as_holding, record[_COPIES]))
    return _ReadBatch(list(map(_as_incoming, records)), read, rejected, problems)


def _size_of(source: BinaryIO | str | os.PathLike[str]) -> int | None:
    """The file's size in bytes, if it can be told without reading it."""
    if isinstance(source, str | os.PathLike):
        return os.stat(source).st_size
    if isinstance(source, io.BytesIO):
        return source.getbuffer().nbytes
    try:
        return os.fstat(source.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


class _BatchImport:
    """One batch of a file matched against the catalogue, then written all at once."""

    def __init__(self, session: Session, municipality_id: uuid.UUID,
                 branches: dict[str, uuid.UUID], mapping: HoldingsMapping,
                 summary: ImportSummary, shelf: str) -> None:
        self.session = session
        self.municipality_id = municipality_id
        self.shelf = shelf
        """The municipality as an index row's places (a record on its shelf is there)."""
        self.branches = branches
        self.mapping = mapping
        self.summary = summary
        self.now = clock.now()
        self.postgresql = session.get_bind().dialect.name == "postgresql"
        self.by_control: dict[tuple[str, str], uuid.UUID] = {}
        self.by_isbn: dict[str, uuid.UUID] = {}
        self.isbn_pairs: set[tuple[str, uuid.UUID]] = set()
        self.stored_marc: dict[uuid.UUID, bytes] = {}
        self.search_rowids: dict[uuid.UUID, int | None] = {}
        self.copies: dict[str, dict[str, Any]] = {}
        self.new_records: dict[uuid.UUID, dict[str, Any]] = {}
        self.analysed: dict[uuid.UUID, tuple[str, ...] | None] = {}
        self.changed_records: dict[uuid.UUID, dict[str, Any]] = {}
        self.new_isbns: list[dict[str, Any]] = []
        self.new_copies: dict[str, dict[str, Any]] = {}
        self.changed_copies: dict[str, dict[str, Any]] = {}

    def run(self, incoming: list[_Incoming]) -> list[uuid.UUID]:
        """Import the batch's records and copies; the ids of records added or changed."""
        self._load_known(incoming)
        # Ids for every record and copy that may be new, made at once (unused ones are
        # let go): a third of the cost of making them one by one.
        self.record_ids = iter(uuid7s(len(incoming)))
        self.copy_ids = iter(uuid7s(sum(len(record.copies) for record in incoming)))
        for record in incoming:
            record_id = self._place_record(record)
            for copy in record.copies:
                problem = self._place_copy(copy, record_id, record.columns["media_type"])
                if problem is not None:
                    self.summary.report(record.position, record.offset, problem)
        self._write()
        return [*self.new_records, *self.changed_records]

    def copies_of_unchanged_records(self) -> set[uuid.UUID]:
        """The records this batch added or changed copies of, but not the records themselves
        (after ``run``; those it indexes anew)."""
        return {row["record_id"] for rows in (self.new_copies, self.changed_copies)
                for row in rows.values()
                if row["record_id"] not in self.new_records
                and row["record_id"] not in self.changed_records}

    def fields(self) -> list[RecordFields]:
        """The indexed fields of the records added or changed, as written (after ``run``)."""
        isbns: dict[uuid.UUID, set[str]] = {record_id: set() for record_id in self.new_records}
        for isbn, record_id in self.isbn_pairs:
            if record_id in isbns:
                isbns[record_id].add(isbn)
        # A changed record keeps the ISBNs other files gave it; the catalogue has them all.
        if self.changed_records:
            isbns.update(isbns_of(self.session, self.changed_records))
        # A record added here has no copies but the ones added with it: it is on the
        # municipality's shelf if one of them is available. Where a changed record is, its
        # copies elsewhere decide too, so the index works that out.
        shelved = {row["record_id"] for row in self.new_copies.values()
                   if row["status"] == "available"}
        return [
            *(_record_fields(values, record_id, isbns[record_id], None,
                             places=self.shelf if record_id in shelved else "", new=True,
                             analysed=self.analysed[record_id])
              for record_id, values in self.new_records.items()),
            *(_record_fields(values, record_id, isbns.get(record_id, ()),
                             self.search_rowids.get(record_id),
                             analysed=self.analysed[record_id])
              for record_id, values in self.changed_records.items()),
        ]

    def _load_known(self, incoming: list[_Incoming]) -> None:
        """Read what the catalogue knows of the batch: matching records, ISBNs, copies."""
        isbns = {isbn for record in incoming for isbn in record.isbns}
        controls = {control for record in incoming if (control := _control(record.columns))}
        barcodes = {copy.barcode for record in incoming for copy in record.copies}
        if self.postgresql:
            accept_packed_arrays(self.session.connection().connection.driver_connection)
        with _planned_for_these_values(self.session):
            if isbns:
                self._load_isbns(isbns)
            if controls:
                self._load_records(
                    self._among(BibRecord.control_source, {source for source, _ in controls})
                    & self._among(BibRecord.control_number, {number for _, number in controls}))
            by_isbn = {record_id for _, record_id in self.isbn_pairs} - set(self.stored_marc)
            if by_isbn:
                self._load_records(self._among(BibRecord.id, by_isbn))
            if barcodes:
                self._load_copies(barcodes)

    def _load_isbns(self, isbns: set[str]) -> None:
        """Note which records have the ISBNs (the oldest record first, if several)."""
        for isbn, record_id in self.session.execute(select(
                RecordIsbn.isbn, RecordIsbn.record_id).where(self._among(RecordIsbn.isbn, isbns))):
            self.isbn_pairs.add((isbn, record_id))
            if isbn not in self.by_isbn or record_id < self.by_isbn[isbn]:
                self.by_isbn[isbn] = record_id

    def _load_records(self, condition: Any) -> None:
        """Note the stored MARC, control number and index rowid of the records matching
        ``condition``."""
        for record_id, source, number, marc, rowid in self.session.execute(select(
                BibRecord.id, BibRecord.control_source, BibRecord.control_number,
                BibRecord.marc, BibRecord.search_rowid).where(condition)):
            self.stored_marc[record_id] = marc
            self.search_rowids[record_id] = rowid
            if number is not None:
                self.by_control[(source, number)] = record_id

    def _load_copies(self, barcodes: set[str]) -> None:
        """Note the municipality's copies that have the barcodes.

        On PostgreSQL each barcode is looked up on its own in the (municipality, barcode)
        index, by a lateral subquery: asked for all of them at once, the planner preferred
        to read every copy of the municipality and test each against the batch's barcodes,
        a batch slower the more copies it had (47 ms a batch at 285,000 copies).
        """
        copy = select(Item.id, Item.record_id, Item.barcode, Item.call_number, Item.shelf,
                      Item.status).where(Item.municipality_id == self.municipality_id)
        if self.postgresql:
            given = func.unnest(_packed_values(Item.barcode.type, sorted(barcodes))
                                ).table_valued("barcode").render_derived(name="given")
            # LIMIT 1 (a barcode is unique in a municipality) keeps the subquery a probe.
            found = copy.where(Item.barcode == given.c.barcode).limit(1).lateral("copy")
            query = select(found).select_from(given).join(found, true())
        else:
            query = copy.where(Item.barcode.in_(barcodes))
        for row in self.session.execute(query).mappings():
            self.copies[row["barcode"]] = dict(row)

    def _among(self, column: Any, values: Iterable[Any]) -> Any:
        """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter.

        psycopg parses every placeholder of a statement, and a batch looks up thousands of
        values: they go as one array, packed (:func:`_packed_values`).
        """
        if self.postgresql:
            return column == any_(_packed_values(column.type, list(values)))
        return column.in_(values)

    def _place_record(self, record: _Incoming) -> uuid.UUID:
        """Add the record or note its changes; its id."""
        control = _control(record.columns)
        record_id = self.by_control.get(control) if control else None
        if record_id is None:
            record_id = next((self.by_isbn[isbn] for isbn in record.isbns
                              if isbn in self.by_isbn), None)
        values = {**record.columns, "marc": record.marc, "updated_at": self.now}
        if record_id is None:
            record_id = next(self.record_ids)
            self.new_records[record_id] = {"id": record_id, "created_at": self.now, **values}
            self.analysed[record_id] = record.analysed
            self.summary.added += 1
        elif record_id in self.new_records:
            # The same title twice in one batch: the later one wins, as it would in two.
            self.new_records[record_id].update(values)
            self.analysed[record_id] = record.analysed
        elif self.stored_marc.get(record_id) != record.marc:
            if record_id not in self.changed_records:
                self.summary.updated += 1
            self.changed_records[record_id] = {"record_id": record_id, **values}
            self.analysed[record_id] = record.analysed
            self.stored_marc[record_id] = record.marc
        if control:
            self.by_control[control] = record_id
        for isbn in record.isbns:
            self.by_isbn.setdefault(isbn, record_id)
            if (isbn, record_id) not in self.isbn_pairs:
                self.isbn_pairs.add((isbn, record_id))
                self.new_isbns.append({"isbn": isbn, "record_id": record_id})
        return record_id

    def _place_copy(self, copy: Holding, record_id: uuid.UUID, media_type: str) -> str | None:
        """Add the copy or note its changes; why it was left out, if it was."""
        where = f"{self.mapping.tag} copy {copy.barcode}"
        branch_id = self.branches.get(copy.branch_code.upper())  # as create_branch keeps codes
        if branch_id is None:
            return f"{where}: {copy.branch_code!r} is not a branch code of the municipality"
        if len(copy.barcode) > 40:
            return f"{where}: the barcode is longer than 40 characters"
        known = self.copies.get(copy.barcode)
        if known is None:
            row = _copy_values(copy, next(self.copy_ids), self.municipality_id, record_id,
                               branch_id, media_type, self.now)
            self.copies[copy.barcode] = self.new_copies[copy.barcode] = row
            self.summary.items_added += 1
            return None
        if known["record_id"] != record_id:
            return f"{where}: the barcode is a copy of another title, left as it is"
        changes = _copy_changes(known, copy)
        if changes:
            known.update(changes)
            if copy.barcode not in self.new_copies and copy.barcode not in self.changed_copies:
                self.changed_copies[copy.barcode] = known
                self.summary.items_updated += 1
        return None

    def _write(self) -> None:
        """Write the batch: a few statements, whatever its size."""
        execute = self.session.execute
        records, items = BibRecord.__table__, Item.__table__
        if self.new_records:
            _insert_rows(self.session, records, list(self.new_records.values()))
        if self.changed_records:
            # The SET clause is made of the rows' other keys: every column but the ids.
            execute(update(records).where(records.c.id == bindparam("record_id")),
                    list(self.changed_records.values()))
        if self.new_isbns:
            _insert_rows(self.session, RecordIsbn.__table__, self.new_isbns)
        if self.new_copies:
            _insert_rows(self.session, items, list(self.new_copies.values()))
        if self.changed_copies:
            execute(_COPY_UPDATE, [{"copy_municipality_id": self.municipality_id,
                                    "copy_id": row["id"], "new_call_number": row["call_number"],
                                    "new_shelf": row["shelf"], "new_status": row["status"],
                                    "now": self.now} for row in self.changed_copies.values()])


def _insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows (dicts with the same keys, every column to set): one statement.

    Core's executemany ran each value through its type and each row through the statement's
    parameters in Python, and on PostgreSQL sent a statement per row: most of an import's
    writing. Here each column's values are converted by the same type processors at once,
    and a value every row shares (the municipality, the time) only once; PostgreSQL gets
    one array per column and unnests them, SQLite one executemany. The arrays go packed in
    PostgreSQL's binary format (:mod:`services.db_arrays`), which costs less than psycopg
    dumping them value by value (two id columns and three text columns of 285,000 copies:
    0.40 s of CPU against 0.55-0.70 s); text goes joined into one string where it can.
    """
    connection = session.connection()
    dialect = connection.dialect
    postgresql = dialect.name == "postgresql"
    if postgresql:
        accept_packed_arrays(connection.connection.driver_connection)
    names = list(rows[0])
    columns: list[Any] = []
    shared: list[Any] = []
    # Each row's values taken at once, and the rows turned into columns by zip: a row is
    # read once, not once per column.
    by_column = zip(*map(itemgetter(*names), rows), strict=True) if len(names) > 1 else (
        [list(map(itemgetter(names[0]), rows))])
    for name, values in zip(names, by_column, strict=True):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        first = values[0]
        # The last value first: a column that differs mostly differs there too.
        if len(rows) > 1 and values[-1] is first and all(value is first for value in values):
            columns.append(None)
            shared.append(processor(first) if processor else first)
        elif postgresql and (kind := kind_of(table.c[name].type)) is not None:
            # Text goes joined into one string where it can (see joined_text).
            joined = joined_text(values) if kind == "text" else None
            columns.append(joined if joined is not None else packed(kind, values))
            shared.append(None)
        else:
            columns.append([processor(value) for value in values] if processor else values)
            shared.append(None)
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    into = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({quoted})"
    if dialect.name != "postgresql":
        given = [values if values is not None else [value] * len(rows)
                 for values, value in zip(columns, shared, strict=True)]
        connection.exec_driver_sql(f"{into} VALUES ({', '.join('?' for _ in names)})",
                                   list(zip(*given, strict=True)))
        return
    # Strings go as text, never varchar(n): a cast would cut a long value where the insert
    # refuses it. Sent in binary, the arrays need no quoting.
    types = ["text" if isinstance(table.c[name].type, String)
             else table.c[name].type.compile(dialect) for name in names]
    if all(values is None for values in columns):  # the same row twice, or more
        columns[0], shared[0] = [shared[0]] * len(rows), None
    picked = [f"given.c{n}" if values is not None else f"CAST(%b AS {type_})"
              for n, (values, type_) in enumerate(zip(columns, types, strict=True))]
    arrays = [SPLIT_TEXT.format("%s") if isinstance(values, str) else f"CAST(%b AS {type_}[])"
              for values, type_ in zip(columns, types, strict=True) if values is not None]
    aliases = [f"c{n}" for n, values in enumerate(columns) if values is not None]
    connection.exec_driver_sql(
        f"{into} SELECT {', '.join(picked)} "
        f"FROM unnest({', '.join(arrays)}) AS given({', '.join(aliases)})",
        (*(value for values, value in zip(columns, shared, strict=True) if values is None),
         *(values for values in columns if values is not None)))


@contextlib.contextmanager
def _planned_for_these_values(session: Session) -> Iterator[None]:
    """On PostgreSQL, plan the block's statements for their values, never generically.

    psycopg prepares a statement run five times, and PostgreSQL may then keep a generic
    plan made while the tables were small and had no statistics: the copies' lookup went
    on testing every copy against the whole array of barcodes (7 s a batch at 40,000
    copies, measured). Planned for the batch's values, the array is hashed or indexed.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    yield
    session.execute(text("SET LOCAL plan_cache_mode = DEFAULT"))


def _packed_values(column_type: Any, values: list[Any]) -> Any:
    """PostgreSQL: values for a statement as one array parameter of the column's type (a
    string column's as ``text[]``), packed by :func:`services.db_arrays.packed` rather than
    by SQLAlchemy's ARRAY and psycopg's list dumper, element by element in Python (the
    batch's 5,000 or so barcodes, ISBNs and control numbers). The connection must
    ``accept_packed_arrays``."""
    kind = kind_of(column_type)
    assert kind is not None, f"no packed kind for {column_type!r}"
    return literal(packed(kind, values), NullType())


def _control(columns: dict[str, Any]) -> tuple[str, str] | None:
    """The record's (control source, control number), None without a number."""
    if columns["control_number"] is None:
        return None
    return (columns["control_source"], columns["control_number"])


def _described(result: ReadResult) -> tuple[Description | None, str]:
    """A read record's description, or None and why the record cannot be imported."""
    if result.record is None or result.raw is None:
        return None, result.error or "the record could not be read"
    try:
        description = describe(result.record)
    except DescriptionError as error:
        return None, str(error)
    too_long = _too_long_control(description)
    return (None, too_long) if too_long else (description, "")


def _too_long_control(description: Description) -> str | None:
    """Why the record's control number does not fit the catalogue, if it does not."""
    for name, value in (("control number (001)", description.control_number),
                        ("control number identifier (003)", description.control_source)):
        if value is not None and len(value) > 60:
            return f"the {name} is longer than 60 characters"
    return None


def _record_columns(description: Description) -> dict[str, Any]:
    """The record's columns as its description gives them: all but the ids, the MARC and
    the times. Worked out where the file is read, so that the writing needs no description."""
    return {
        "control_number": description.control_number,
        "control_source": description.control_source or "",
        "title": _text(description.title),
        "author": _text(description.author, 300) if description.author else None,
        "contributors": description.contributors,
        "publisher": _text(description.publisher, 300) if description.publisher else None,
        "year": description.year,
        "language": description.language,
        "subjects": description.subjects,
        "classification": description.classification,
        "series": description.series,
        "notes": description.notes,
        "media_type": description.media_type,
        "audience": description.audience,
        "talking_book": description.talking_book,
    }


def _record_fields(values: dict[str, Any], record_id: uuid.UUID, isbns: Iterable[str],
                   search_rowid: int | None, *, places: str | None = None,
                   new: bool = False, analysed: tuple[str, ...] | None = None) -> RecordFields:
    """What the search index is made of, from the columns a record was written with."""
    return RecordFields(
        id=record_id, title=values["title"], series=values["series"],
        author=values["author"], contributors=values["contributors"],
        subjects=values["subjects"], classification=values["classification"],
        notes=values["notes"], control_number=values["control_number"],
        media_type=values["media_type"], language=values["language"],
        audience=values["audience"], talking_book=values["talking_book"], isbns=isbns,
        search_rowid=search_rowid, places=places, new=new, analysed=analysed)


def _text(value: str, longest: int | None = None) -> str:
    """Text a column can hold: no NUL (PostgreSQL refuses it), cut to the column's length."""
    return value.replace("\x00", "")[:longest]


def _copy_values(copy: Holding, copy_id: uuid.UUID, municipality_id: uuid.UUID,
                 record_id: uuid.UUID, branch_id: uuid.UUID, media_type: str, now: datetime
                 ) -> dict[str, Any]:
    """A new copy's row: at home in its branch, in the state the file gives."""
    return {
        "municipality_id": municipality_id, "id": copy_id, "record_id": record_id,
        "barcode": copy.barcode, "home_branch_id": branch_id,
        "location_municipality_id": municipality_id, "location_branch_id": branch_id,
        "call_number": _text(copy.call_number or "", 100), "shelf": _text(copy.shelf or "", 100),
        "media_type": media_type, "status": copy.status, "status_changed_at": now,
        "version": 1,
        "created_at": now, "updated_at": now,
    }


def _copy_changes(known: dict[str, Any], copy: Holding) -> dict[str, Any]:
    """What the file changes of a known copy (see the module's rules)."""
    wanted = {"call_number": _text(copy.call_number or "", 100),
              "shelf": _text(copy.shelf or "", 100)}
    if copy.status in _FILE_STATES and known["status"] not in CIRCULATING:
        wanted["status"] = copy.status
    return {name: value for name, value in wanted.items() if known[name] != value}


def _copy_update() -> Any:
    """The statement updating known copies; a copy that went out meanwhile keeps its state."""
    items = Item.__table__
    # Plain comparisons, not IN: an expanding IN cannot be part of an executemany.
    circulating = or_(*(items.c.status == state for state in CIRCULATING))
    new_status = bindparam("new_status")
    return update(items).where(
        items.c.municipality_id == bindparam("copy_municipality_id"),
        items.c.id == bindparam("copy_id"),
    ).values(
        call_number=bindparam("new_call_number"),
        shelf=bindparam("new_shelf"),
        status=case((circulating, items.c.status), else_=new_status),
        status_changed_at=case((circulating | (items.c.status == new_status),
                                items.c.status_changed_at), else_=bindparam("now")),
        version=items.c.version + 1,
        updated_at=bindparam("now"),
    )


_COPY_UPDATE = _copy_update()


def _stored_marc(session: Session, record_ids: Iterable[uuid.UUID] | None) -> Iterator[bytes]:
    """The stored MARC of the records, a batch at a time."""
    if record_ids is None:
        yield from session.scalars(select(BibRecord.marc).order_by(BibRecord.id)
                                   .execution_options(yield_per=EXPORT_BATCH))
        return
    ids = iter(record_ids)
    while chunk := list(itertools.islice(ids, EXPORT_BATCH)):
        found = dict(session.execute(
            select(BibRecord.id, BibRecord.marc).where(BibRecord.id.in_(chunk))).all())
        yield from (found[record_id] for record_id in chunk if record_id in found)
