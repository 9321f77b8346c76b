"""Importing MARC files into the shared catalogue: records, ISBNs, each municipality's copies.

"Updated" counts only records whose content changed (their MARC without item fields); a
second import of the same file adds nothing and updates nothing.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click
import pymarc
import pytest
from click.testing import CliRunner
from pymarc import Field, Indicators, Subfield
from sqlalchemy import Text, func, select, text, update
from sqlalchemy.orm import Session

from bench.library_marc import corrupt, generate_records
from library_loans.cli import register
from library_loans.marc import describe, read_marc, write_marcxml
from library_loans.models import BibRecord, Branch, CatalogueImport, Item, RecordIsbn
from library_loans.operations import catalogue
from library_loans.operations.administration import create_branch
from library_loans.operations.catalogue import (
    ImportSummary,
    export_marcxml,
    import_marc,
    start_import,
    without_item_fields,
)
from library_loans.search.index import (
    LISTED_COLUMNS,
    RECORD_SEARCH,
    SQLITE_KEYS,
    TOKEN_COLUMNS,
    RecordFields,
    index_fields,
    listing_table,
    reindex,
)
from services.config import Settings
from services.forked import iterate_in_fork
from services.infra.storage import blob_store_for
from services.tenancy import TenantScope, TenantScopeViolation, tenant_scope
from services.tenancy.models import Municipality

WAIT = 60
UMEA_BRANCHES = ("UMEA-STADS", "UMEA-HOLMSUND")


@pytest.fixture
def umea(municipalities: dict[str, Municipality]) -> Municipality:
    return municipalities["umea"]


@pytest.fixture
def vindeln(municipalities: dict[str, Municipality]) -> Municipality:
    return municipalities["vindeln"]


@pytest.fixture
def branches(db: Session, umea: Municipality, vindeln: Municipality) -> dict[str, Branch]:
    """Umeå's main library and Holmsund, and Vindeln's library."""
    made = {}
    for municipality, code, name in ((umea, "UMEA-STADS", "Umeå stadsbibliotek"),
                                     (umea, "UMEA-HOLMSUND", "Holmsunds bibliotek"),
                                     (vindeln, "VINDELN-HB", "Vindelns bibliotek")):
        with tenant_scope(TenantScope.of([municipality.id])):
            made[code] = create_branch(db, code=code, name=name)
    db.commit()
    return made


def generated(count: int, **options: Any) -> list[pymarc.Record]:
    """Generated records whose copies are at Umeå's branches (unless told otherwise)."""
    options.setdefault("branches", UMEA_BRANCHES)
    return list(generate_records(count, seed=options.pop("seed", 7), **options))


def iso(records: Iterable[pymarc.Record]) -> io.BytesIO:
    return io.BytesIO(b"".join(record.as_marc() for record in records))


def marcxml(records: Iterable[pymarc.Record]) -> io.BytesIO:
    out = io.BytesIO()
    write_marcxml(records, out)
    out.seek(0)
    return out


def run_import(db: Session, municipality: Municipality, source: Any, **options: Any
               ) -> ImportSummary:
    """Import ``source`` as ``municipality`` and commit, as the task and the CLI do."""
    with tenant_scope(TenantScope.of([municipality.id])):
        summary = import_marc(db, source, municipality_id=municipality.id, **options)
    db.commit()
    return summary


def copies(db: Session, municipality: Municipality) -> dict[str, Item]:
    """The municipality's items by barcode."""
    with tenant_scope(TenantScope.of([municipality.id])):
        found = {item.barcode: item for item in db.scalars(
            select(Item).execution_options(populate_existing=True))}
    db.commit()
    return found


def item_fields(record: pymarc.Record, tag: str = "852") -> dict[str, str]:
    """Barcode → branch code of a record's 852 fields, read straight from the subfields."""
    return {field.get("p"): field.get("b") for field in record.get_fields(tag)}


def record_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(BibRecord)) or 0


def title_field(title: str) -> Field:
    return Field("245", Indicators("1", "0"), [Subfield("a", title)])


def book(control: str, *fields: Field, source: str = "SE-LIBR") -> pymarc.Record:
    """A small book record with a control number and the given fields."""
    record = pymarc.Record(leader="00000nam a2200000 i 4500")
    record.add_field(Field("001", data=control), Field("003", data=source),
                     Field("008", data=" " * 35 + "swe  "), *fields)
    return record


def copy_field(barcode: str, branch: str, *extra: Subfield, tag: str = "852") -> Field:
    codes = {"852": ("p", "b"), "949": ("b", "a")}[tag]
    return Field(tag, Indicators(" ", " "),
                 [Subfield(codes[0], barcode), Subfield(codes[1], branch), *extra])


# --- importing ---------------------------------------------------------------------------


@pytest.mark.parametrize("write", [iso, marcxml], ids=["iso2709", "marcxml"])
def test_a_file_becomes_records_with_their_isbns_and_copies_at_the_municipalitys_branches(
        db, umea, vindeln, branches, write):
    records = generated(30)

    summary = run_import(db, umea, write(records))

    assert (summary.processed, summary.added, summary.updated, summary.rejected) == (30, 30, 0, 0)
    assert summary.problems == []
    assert sorted(db.scalars(select(BibRecord.title))) == sorted(
        describe(record).title for record in records)
    assert set(db.scalars(select(RecordIsbn.isbn))) == {
        isbn for record in records for isbn in describe(record).isbns}
    expected = {barcode: branch for record in records
                for barcode, branch in item_fields(record).items()}
    found = copies(db, umea)
    assert summary.items_added == len(expected) == len(found)
    codes = {branch.id: code for code, branch in branches.items()}
    assert {barcode: codes[item.home_branch_id] for barcode, item in found.items()} == expected
    assert {item.location_branch_id for item in found.values()} <= {
        branches[code].id for code in UMEA_BRANCHES}
    assert copies(db, vindeln) == {}


def test_importing_the_same_file_again_adds_nothing_and_updates_nothing(db, umea, branches):
    records = generated(30)
    run_import(db, umea, iso(records))
    stamps = dict(db.execute(select(BibRecord.id, BibRecord.updated_at)).all())
    changed: list[Any] = []

    again = run_import(db, umea, iso(records), on_records=lambda _s, ids: changed.extend(ids))

    assert (again.processed, again.added, again.updated, again.rejected) == (30, 0, 0, 0)
    assert (again.items_added, again.items_updated) == (0, 0)
    assert changed == []
    assert dict(db.execute(select(BibRecord.id, BibRecord.updated_at)).all()) == stamps


def test_a_changed_record_is_updated_in_place_and_its_new_isbn_added(db, umea, branches):
    records = generated(10)
    run_import(db, umea, iso(records))
    changed = next(record for record in records if describe(record).isbns)
    earlier = describe(changed).isbns
    [record_id] = db.scalars(select(BibRecord.id).where(
        BibRecord.control_number == changed["001"].data))
    changed.remove_fields("245")
    changed.add_ordered_field(title_field("Marsvinet Selma och hemligheten"),
                              Field("020", Indicators(" ", " "), [Subfield("a", "9789129657395")]))
    told: list[Any] = []

    summary = run_import(db, umea, iso(records), on_records=lambda _s, ids: told.extend(ids))

    assert (summary.added, summary.updated) == (0, 1)
    assert told == [record_id]
    assert record_count(db) == 10
    assert db.get(BibRecord, record_id).title == "Marsvinet Selma och hemligheten"
    assert set(db.scalars(select(RecordIsbn.isbn).where(RecordIsbn.record_id == record_id))
               ) == {"9789129657395", *earlier}


def test_a_record_with_another_control_number_but_the_same_isbn_is_the_same_title(
        db, umea, branches):
    isbn = Field("020", Indicators(" ", " "), [Subfield("a", "91-29-65739-3 (inb.)")])
    run_import(db, umea, iso([book("LIBRIS-1", title_field("Bröderna Lind"), isbn)]))

    summary = run_import(db, umea, iso([book("BURK-77", title_field("Bröderna Lind :"), isbn,
                                             source="SE-BURK")]))

    assert (summary.added, summary.updated) == (0, 1)
    [record] = db.scalars(select(BibRecord))
    assert (record.control_source, record.control_number) == ("SE-BURK", "BURK-77")


def test_a_broken_record_is_reported_with_position_and_offset_and_the_rest_imports(
        db, umea, branches):
    first, second, third = (record.as_marc() for record in generated(3))
    untitled = book("NO-TITLE").as_marc()
    data = first + corrupt(second, "base_address") + third + untitled

    summary = run_import(db, umea, io.BytesIO(data))

    assert (summary.processed, summary.added, summary.rejected) == (4, 2, 2)
    assert [(p["position"], p["offset"]) for p in summary.problems] == [
        (2, len(first)), (4, len(first) + len(second) + len(third))]
    assert "base address" in summary.problems[0]["reason"]
    assert "no title" in summary.problems[1]["reason"]
    assert record_count(db) == 2


def test_an_unknown_branch_code_is_reported_and_the_records_other_copies_import(
        db, umea, branches):
    record = book("B-1", title_field("Kokbok för alla"), copy_field("1001", "UMEA-STADS"),
                  copy_field("1002", "UMEA-OKAND"), copy_field("1003", "umea-holmsund"))

    summary = run_import(db, umea, iso([book("B-0", title_field("Skogen")), record]))

    assert (summary.added, summary.rejected, summary.items_added) == (2, 0, 2)
    [problem] = summary.problems
    assert problem["position"] == 2
    assert "'UMEA-OKAND'" in problem["reason"] and "1002" in problem["reason"]
    found = copies(db, umea)
    assert set(found) == {"1001", "1003"}
    assert found["1003"].home_branch_id == branches["UMEA-HOLMSUND"].id


def test_another_municipality_importing_the_same_titles_reuses_them_and_adds_its_own_copies(
        db, umea, vindeln, branches):
    records = generated(12)
    run_import(db, umea, iso(records))
    umeas = {barcode: item.record_id for barcode, item in copies(db, umea).items()}
    for record in records:
        for item in record.get_fields("852"):
            item["b"] = "VINDELN-HB"

    summary = run_import(db, vindeln, iso(records))

    assert (summary.added, summary.updated, summary.items_added) == (0, 0, len(umeas))
    assert record_count(db) == 12
    vindelns = copies(db, vindeln)
    # Same barcodes, other copies: a barcode is unique within a municipality only.
    assert {barcode: item.record_id for barcode, item in vindelns.items()} == umeas
    assert {item.home_branch_id for item in vindelns.values()} == {branches["VINDELN-HB"].id}
    assert {barcode: item.record_id for barcode, item in copies(db, umea).items()} == umeas


def test_a_reimport_updates_copies_but_leaves_the_state_of_one_out_on_loan(db, umea, branches):
    def file(*states: str, call_number: str = "Hc Lind") -> io.BytesIO:
        fields = [copy_field(barcode, "UMEA-STADS", Subfield("c", call_number),
                             *([Subfield("s", state)] if state else []), tag="949")
                  for barcode, state in zip(("A", "B", "C"), states, strict=True)]
        return iso([book("C-1", title_field("Sjön"), *fields)])

    run_import(db, umea, file("", "", "skadad"), layout="949")
    with tenant_scope(TenantScope.of([umea.id])):
        db.execute(update(Item).where(Item.barcode == "A").values(status="on_loan"))
    db.commit()

    summary = run_import(db, umea, file("gallrad", "förkommen", "", call_number="Hc Lind 2"),
                         layout="949")

    assert (summary.items_added, summary.items_updated) == (0, 3)
    found = copies(db, umea)
    assert {barcode: item.status for barcode, item in found.items()} == {
        "A": "on_loan", "B": "missing", "C": "damaged"}
    assert {item.call_number for item in found.values()} == {"Hc Lind 2"}


def test_a_barcode_that_is_a_copy_of_another_title_is_left_as_it_is(db, umea, branches):
    run_import(db, umea, iso([book("D-1", title_field("Ön"), copy_field("9", "UMEA-STADS"))]))

    summary = run_import(db, umea, iso([book("D-2", title_field("Fyren"),
                                             copy_field("9", "UMEA-HOLMSUND"))]))

    assert (summary.added, summary.items_added, summary.items_updated) == (1, 0, 0)
    assert "another title" in summary.problems[0]["reason"]
    [original] = db.scalars(select(BibRecord.id).where(BibRecord.control_number == "D-1"))
    assert copies(db, umea)["9"].record_id == original


def test_progress_follows_every_batch_and_is_told_each_added_record_once(db, umea, branches):
    seen: list[int] = []
    told: list[Any] = []

    run_import(db, umea, iso(generated(25)), batch_size=10,
               progress=lambda summary: seen.append(summary.processed),
               on_records=lambda _session, ids: told.extend(ids))

    assert seen == [10, 20, 25]
    assert sorted(told) == sorted(db.scalars(select(BibRecord.id)))
    assert len(told) == 25


def test_an_import_runs_the_garbage_collector_itself_and_gives_it_back_as_it_was(
        db, umea, branches, monkeypatch):
    collected: list[int] = []
    monkeypatch.setattr(catalogue, "COLLECT_EVERY", 2)
    monkeypatch.setattr(catalogue.gc, "collect",
                        lambda generation=2: collected.append(generation) or 0)
    enabled_during: list[bool] = []

    run_import(db, umea, iso(generated(25)), batch_size=5,
               progress=lambda _summary: enabled_during.append(gc.isenabled()))

    assert enabled_during == [False] * 5
    assert collected == [2, 1, 1]  # before it starts, then after every second batch
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0

    def fail(_summary: Any) -> None:
        raise RuntimeError("the worker is stopping")

    with pytest.raises(RuntimeError, match="stopping"):
        run_import(db, umea, iso(generated(3)), progress=fail)
    db.rollback()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def index_rows(db: Session, record_ids: list[Any]) -> dict[Any, tuple[Any, ...]]:
    """The records' search index rows as the database holds them (places last)."""
    if db.get_bind().dialect.name == "postgresql":
        rows = db.execute(select(
            RECORD_SEARCH.c.record_id, func.cast(RECORD_SEARCH.c.tokens, Text),
            *(RECORD_SEARCH.c[name] for name in LISTED_COLUMNS[1:]),
        ).where(RECORD_SEARCH.c.record_id.in_(record_ids)))
    else:
        keys = SQLITE_KEYS.c
        tokens = ", ".join(f"f.{name}" for name in TOKEN_COLUMNS)
        found = db.execute(text(
            f"SELECT f.rowid, {tokens} FROM library_record_search AS f WHERE f.rowid IN "
            "(SELECT search_rowid FROM library_record_search_keys)")).all()
        by_rowid = {row[0]: tuple(row[1:]) for row in found}
        rows = [(row[0], *by_rowid[row[1]], *row[2:]) for row in db.execute(select(
            keys.record_id, keys.search_rowid, *(keys[name] for name in LISTED_COLUMNS[1:]),
        ).where(keys.record_id.in_(record_ids)))]
    return {row[0]: tuple(row[1:]) for row in rows}


def test_indexing_the_fields_an_import_wrote_gives_the_rows_reindex_reads_back(
        db, umea, vindeln, branches):
    records = generated(60)
    told: list[Any] = []
    compared: list[tuple[dict[Any, Any], dict[Any, Any]]] = []

    def index(session: Session, fields: list[RecordFields]) -> None:
        """Index the batch from its fields, then once more from the records as stored."""
        ids = [record.id for record in fields]
        told.extend(ids)
        index_fields(session, fields)
        written = index_rows(session, ids)
        reindex(session, ids)
        compared.append((written, index_rows(session, ids)))

    run_import(db, vindeln, iso(generated(30, branches=("VINDELN-HB",))), on_described=index)
    run_import(db, umea, iso(records), batch_size=25, on_described=index)
    for n, record in enumerate(records[::3]):  # half of them Vindeln's titles, with copies
        record["245"]["a"] = record["245"]["a"] + " (ny utgåva)"
        record.add_ordered_field(
            Field("020", Indicators(" ", " "), [Subfield("a", str(9789129657395 + 10 * n))]),
            copy_field(f"X{n}", "UMEA-HOLMSUND", Subfield("c", "Magasin")))
    summary = run_import(db, umea, iso(records), batch_size=25, on_described=index)

    assert summary.updated == 20
    assert len(told) == 30 + 30 + 20
    assert set(told) == set(db.scalars(select(BibRecord.id)))
    assert sum(len(written) for written, _ in compared) == len(told)
    for written, read_back in compared:
        assert written == read_back
    places = {row[-1] for written, _ in compared for row in written.values()}
    assert {",umea,", ",vindeln,", ",umea,vindeln,"} <= places


def test_a_batch_costs_a_few_statements_not_some_per_record(db, umea, branches, count_queries):
    records = generated(200)
    with count_queries() as statements:
        run_import(db, umea, iso(records), batch_size=100)
    first = len(statements)
    for record in records[::2]:
        record["245"]["a"] = record["245"]["a"] + " (ny utgåva)"
    with count_queries() as statements:
        summary = run_import(db, umea, iso(records), batch_size=100)

    assert summary.updated == 100
    assert first <= 30  # two batches of a hundred records each
    assert len(statements) <= 30


@pytest.mark.postgres
def test_an_import_brings_the_planners_statistics_up_to_date_after_its_first_batch(
        db, umea, branches, owner_engine):
    def analysed() -> dict[str, int]:
        with owner_engine.connect() as connection:
            return dict(connection.execute(text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname IN "
                "('library_items', 'library_records', 'library_record_isbns')")).all())

    before = analysed()
    summary = run_import(db, umea, iso(generated(30)), batch_size=10)

    assert summary.added == 30
    # As the app's role, which owns no table: through the owner's function. Once, after
    # the first of the three batches (autovacuum's analyses are counted apart).
    assert analysed() == {name: count + 1 for name, count in before.items()}


def test_a_municipality_imports_only_in_its_own_scope(db, umea, vindeln, branches):
    with (tenant_scope(TenantScope.of([umea.id])),
          pytest.raises(TenantScopeViolation)):
        import_marc(db, iso(generated(1)), municipality_id=vindeln.id)


def test_the_stored_marc_leaves_out_item_fields_and_keeps_the_rest_byte_for_byte():
    record = book("E-1", title_field("Vintern"), copy_field("1", "UMEA-STADS"),
                  copy_field("2", "UMEA-TEG", tag="949"),
                  Field("952", Indicators(" ", " "), [Subfield("p", "3")]),
                  Field("650", Indicators(" ", "7"), [Subfield("a", "Bröd")]))
    stripped = without_item_fields(record.as_marc())

    for tag in ("852", "949", "952"):
        record.remove_fields(tag)
    assert stripped == record.as_marc()


def test_an_export_writes_the_catalogue_as_marcxml_without_any_municipalitys_copies(
        db, umea, branches):
    records = generated(8)
    run_import(db, umea, iso(records))
    out = io.BytesIO()

    count = export_marcxml(db, out)

    out.seek(0)
    exported = [result.record for result in read_marc(out)]
    assert count == 8
    assert sorted(describe(record).title for record in exported) == sorted(
        describe(record).title for record in records)
    assert all(record.get_fields("852") == [] for record in exported)


# --- the worker's task -------------------------------------------------------------------


def test_the_worker_imports_an_uploaded_file_and_ends_with_its_counts(
        celery_worker, db, migrated, umea, branches):
    from library_loans.tasks import import_catalogue

    records = generated(40)
    data = iso(records).getvalue() + b"00042broken"
    with tenant_scope(TenantScope.of([umea.id])):
        run = start_import(db, umea.id, "umea-export.mrc", io.BytesIO(data), "852",
                           store=blob_store_for(migrated))
        task_id = import_catalogue.send_after_commit(db, str(run.id))
        db.commit()

    outcome = import_catalogue.AsyncResult(task_id).get(timeout=WAIT)

    assert (outcome["status"], outcome["added"], outcome["rejected"]) == ("succeeded", 40, 1)
    db.expire_all()
    with tenant_scope(TenantScope.of([umea.id])):
        stored = db.get(CatalogueImport, (umea.id, run.id))
        assert (stored.status, stored.processed, stored.added, stored.items_added) == (
            "succeeded", 41, 40, sum(len(item_fields(record)) for record in records))
        assert [problem["position"] for problem in stored.problems] == [41]
        assert stored.finished_at is not None
    db.commit()
    assert len(copies(db, umea)) == stored.items_added


def test_the_worker_fails_an_import_whose_file_is_gone_saying_so(
        celery_worker, db, migrated, umea, branches):
    from library_loans.tasks import import_catalogue

    store = blob_store_for(migrated)
    with tenant_scope(TenantScope.of([umea.id])):
        run = start_import(db, umea.id, "umea.mrc", iso(generated(1)), store=store)
        store.delete(run.blob_key)
        task_id = import_catalogue.send_after_commit(db, str(run.id))
        db.commit()

    outcome = import_catalogue.AsyncResult(task_id).get(timeout=WAIT)

    assert outcome["status"] == "failed"
    db.expire_all()
    with tenant_scope(TenantScope.of([umea.id])):
        stored = db.get(CatalogueImport, (umea.id, run.id))
        assert stored.error == "The import's file is missing from the file store."
    db.commit()


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def samverkan(migrated: Settings) -> click.Group:
    """The ``samverkan`` command as services/cli.py builds it, on the test database."""

    @click.group()
    @click.pass_context
    def command(ctx: click.Context) -> None:
        ctx.obj = migrated

    register(command)
    return command


@pytest.fixture
def export_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "umea.mrc"
    path.write_bytes(iso(generated(15)).getvalue())
    yield path


def test_the_command_line_imports_a_file_and_sums_up_what_it_did(
        samverkan, db, umea, branches, export_file):
    runner = CliRunner()
    arguments = ["library", "import-marc", str(export_file), "--municipality", "umea"]

    first = runner.invoke(samverkan, arguments)
    second = runner.invoke(samverkan, arguments)

    assert first.exit_code == 0, first.output
    assert "15 records: 15 added, 0 updated, 0 unchanged, 0 rejected" in first.stdout
    assert "15 records: 0 added, 0 updated, 15 unchanged, 0 rejected" in second.stdout
    assert record_count(db) == 15


def test_the_command_line_refuses_an_unknown_municipality_and_layout(samverkan, export_file):
    runner = CliRunner()

    unknown = runner.invoke(samverkan, ["library", "import-marc", str(export_file),
                                        "--municipality", "atlantis"])
    layout = runner.invoke(samverkan, ["library", "import-marc", str(export_file),
                                       "--municipality", "umea", "--layout", "999"])

    assert unknown.exit_code != 0 and "atlantis" in unknown.output
    assert layout.exit_code != 0 and "999" in layout.output


def test_the_command_line_exports_the_catalogue_as_marcxml(
        samverkan, db, umea, branches, export_file, tmp_path):
    runner = CliRunner()
    runner.invoke(samverkan, ["library", "import-marc", str(export_file),
                              "--municipality", "umea"])
    out = tmp_path / "katalog.xml"

    result = runner.invoke(samverkan, ["library", "export-marcxml", str(out)])

    assert result.exit_code == 0, result.output
    assert "exported 15 records" in result.stderr
    assert [r.error for r in read_marc(out)] == [None] * 15


def test_the_samverkan_command_offers_the_library_commands():
    from services.cli import main

    answer = CliRunner().invoke(main, ["library", "--help"])
    assert answer.exit_code == 0, answer.output
    assert "import-marc" in answer.output and "export-marcxml" in answer.output


def test_copies_added_to_a_title_the_file_left_as_it_was_move_its_places(
        db, umea, vindeln, branches):
    records = generated(3, branches=("VINDELN-HB",))
    run_import(db, vindeln, iso(records), on_described=index_fields)
    listing = listing_table(db)
    assert set(db.scalars(select(listing.c.places))) == {",vindeln,"}
    db.rollback()
    for record in records:
        for item in record.get_fields("852"):
            item["b"] = "UMEA-STADS"

    # Umeå imports the same titles with its copies: the titles are unchanged (nothing to
    # index), yet they are on Umeå's shelves now.
    summary = run_import(db, umea, iso(records), on_described=index_fields)

    assert summary.updated == 0 and summary.items_added > 0
    assert set(db.scalars(select(listing.c.places))) == {",umea,vindeln,"}
    db.rollback()


@pytest.mark.parametrize("write", [iso, marcxml], ids=["iso2709", "marcxml"])
def test_a_file_read_in_a_child_process_imports_as_it_does_read_here(
        db, umea, branches, write, monkeypatch):
    forked: list[Any] = []
    monkeypatch.setattr(catalogue, "iterate_in_fork",
                        lambda *args, **options: forked.append(args) or iterate_in_fork(
                            *args, **options))
    records = [*generated(90), book("NO-TITLE"),
               book("B-9", title_field("Ödets bok"), copy_field("9001", "NOWHERE"))]

    beside = run_import(db, umea, write(records), batch_size=25, read_beside=True,
                        on_described=index_fields)
    ids = list(db.scalars(select(BibRecord.id)))
    written = index_rows(db, ids)
    here = run_import(db, umea, write(records), batch_size=25, read_beside=False,
                      on_described=index_fields)

    assert len(forked) == 1
    assert (beside.processed, beside.added, beside.rejected) == (92, 91, 1)
    assert beside.items_added == sum(len(item_fields(record)) for record in records) - 1
    assert (here.processed, here.added, here.updated, here.items_added, here.items_updated) == (
        92, 0, 0, 0, 0)
    assert here.problems == beside.problems
    assert [problem["position"] for problem in beside.problems] == [91, 92]
    reindex(db, ids)
    db.commit()
    assert index_rows(db, ids) == written
