"""Syncing each municipality's directory from its sources: HR CSV exports and LDIF."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from switchboard.models import (
    Contact,
    DirectoryRevision,
    DirectorySource,
    PhoneNumber,
    SyncRun,
    Unit,
)
from switchboard.operations.directory import create_contact
from switchboard.sync.csv_source import read_csv
from switchboard.sync.ldif_source import read_ldif
from switchboard.sync.records import RejectedRow, SourceRecord
from switchboard.sync.runs import create_source, due_sources, run_source, start_run

FIXTURES = Path(__file__).parent / "fixtures"
WAIT = 60

HEADER = "Anst.nr;Förnamn;Efternamn;Befattning;Enhet;Telefon;Mobil;E-post\n"
COLUMNS = {"external_id": "Anst.nr", "given_name": "Förnamn", "family_name": "Efternamn",
           "title": "Befattning", "unit": "Enhet", "work_phone": "Telefon", "mobile": "Mobil",
           "email": "E-post"}
ROWS = [
    "1001;Anna;Öberg;Socialsekreterare;Socialförvaltningen / Individ och familj;"
    "090-16 10 01;070-111 22 33;anna.oberg@umea.se\n",
    "1002;Björn;Åström;Handläggare;Socialförvaltningen / Individ och familj;"
    "090-16 10 02;;bjorn.astrom@umea.se\n",
    "1003;Cecilia;Lindqvist;Bygglovshandläggare;Samhällsbyggnad / Bygglov;"
    "090-16 10 03;070-333 44 55;cecilia.lindqvist@umea.se\n",
]


def csv_bytes(*rows: str, encoding: str = "utf-8") -> bytes:
    """A CSV export as the HR system writes it."""
    return (HEADER + "".join(rows)).encode(encoding)


@pytest.fixture
def umea(municipalities: dict[str, Municipality]) -> Municipality:
    return municipalities["umea"]


@pytest.fixture
def in_umea(umea: Municipality) -> Iterator[None]:
    with tenant_scope(TenantScope.of([umea.id])):
        yield


@pytest.fixture
def hr(db: Session, in_umea: None) -> DirectorySource:
    source = create_source(db, "Personec", "csv", {"columns": COLUMNS})
    db.commit()
    return source


def sync(db: Session, source: DirectorySource, content: bytes) -> SyncRun:
    """One run of ``source`` over ``content``, committed."""
    run = start_run(db, source, "manual")
    run_source(db, run.id, content)
    db.commit()
    return run


def directory_revision(db: Session) -> int:
    return db.scalar(select(DirectoryRevision.revision)) or 0


def contacts(db: Session, source: DirectorySource) -> dict[str, Contact]:
    return {c.external_id: c for c in db.scalars(
        select(Contact).where(Contact.source_id == source.id))}


# --- applying records ------------------------------------------------------------------


def test_a_first_sync_adds_everyone_with_units_and_numbers_in_e164(db, hr):
    run = sync(db, hr, csv_bytes(*ROWS))

    assert (run.status, run.added, run.changed, run.left, run.processed) == (
        "succeeded", 3, 0, 0, 3)
    anna = contacts(db, hr)["1001"]
    assert anna.name == "Anna Öberg"
    assert [(n.kind, n.e164) for n in anna.numbers] == [
        ("work", "+4690161001"), ("mobile", "+46701112233")]
    units = {u.external_id: u for u in db.scalars(select(Unit).where(Unit.source_id == hr.id))}
    child = units["unit:Socialförvaltningen › Individ och familj"]
    parent = units["unit:Socialförvaltningen"]
    assert (child.parent_id, child.level, parent.level) == (parent.id, "avdelning",
                                                            "forvaltning")
    assert anna.unit_id == child.id


def test_a_second_sync_counts_what_changed_and_who_left(db, hr):
    sync(db, hr, csv_bytes(*ROWS))
    changed = ROWS[1].replace("Handläggare", "Enhetschef")
    newcomer = "1004;Daniel;Nilsson;Controller;Ekonomi;090-16 10 04;;\n"

    run = sync(db, hr, csv_bytes(ROWS[0], changed, newcomer))

    assert (run.added, run.changed, run.left) == (1, 1, 1)
    found = contacts(db, hr)
    assert found["1002"].title == "Enhetschef"
    assert found["1003"].left_on is not None
    assert found["1001"].left_on is None


def test_running_the_same_input_twice_changes_nothing(db, hr):
    sync(db, hr, csv_bytes(*ROWS))
    before = {k: (c.updated_at, [n.id for n in c.numbers]) for k, c in contacts(db, hr).items()}
    revision = directory_revision(db)
    db.expire_all()

    run = sync(db, hr, csv_bytes(*ROWS))

    assert (run.status, run.added, run.changed, run.left) == ("succeeded", 0, 0, 0)
    db.expire_all()
    after = {k: (c.updated_at, [n.id for n in c.numbers]) for k, c in contacts(db, hr).items()}
    assert after == before
    assert directory_revision(db) == revision


def test_every_sync_that_adds_or_changes_raises_the_directory_revision(db, hr):
    sync(db, hr, csv_bytes(*ROWS[:1]))
    first = directory_revision(db)

    sync(db, hr, csv_bytes(*ROWS[:2]))  # adds someone to a unit that exists already
    added = directory_revision(db)
    sync(db, hr, csv_bytes(ROWS[0].replace("Öberg", "Sandberg"), ROWS[1]))

    assert first < added < directory_revision(db)


def test_a_sync_raises_the_revision_once_however_many_units_and_contacts_it_writes(db, hr):
    before = directory_revision(db)

    sync(db, hr, csv_bytes(*ROWS))  # new units through the ORM, new contacts as plain rows

    assert directory_revision(db) == before + 1


def test_contacts_are_matched_on_the_external_id_so_a_rename_keeps_the_contact(db, hr):
    sync(db, hr, csv_bytes(*ROWS))
    anna_id = contacts(db, hr)["1001"].id

    run = sync(db, hr, csv_bytes(ROWS[0].replace("Öberg", "Sandberg"), *ROWS[1:]))

    assert (run.added, run.changed, run.left) == (0, 1, 0)
    assert contacts(db, hr)["1001"].id == anna_id
    assert contacts(db, hr)["1001"].name == "Anna Sandberg"


def test_a_namesake_with_another_id_is_another_person(db, hr):
    sync(db, hr, csv_bytes(*ROWS))

    run = sync(db, hr, csv_bytes(*ROWS, ROWS[0].replace("1001;", "2001;")))

    assert run.added == 1
    assert [c.name for c in contacts(db, hr).values()].count("Anna Öberg") == 2


def test_a_person_who_comes_back_is_no_longer_marked_as_left(db, hr):
    sync(db, hr, csv_bytes(*ROWS))
    sync(db, hr, csv_bytes(*ROWS[:2]))
    assert contacts(db, hr)["1003"].left_on is not None

    run = sync(db, hr, csv_bytes(*ROWS))

    assert (run.changed, run.left) == (1, 0)
    assert contacts(db, hr)["1003"].left_on is None


def test_bad_rows_are_reported_with_line_and_reason_and_the_rest_imports(db, hr):
    rows = [ROWS[0], ";Utan;Id;;;;;\n", ROWS[1].replace("090-16 10 02", "12"), ROWS[2],
            ROWS[2].replace("Cecilia", "Cissi")]

    run = sync(db, hr, csv_bytes(*rows))

    assert run.status == "succeeded"
    assert run.added == 2
    assert [r["line"] for r in run.rejected] == [3, 4, 6]
    assert "no external id" in run.rejected[0]["reason"]
    assert run.rejected[1]["reason"].startswith("work number:")
    assert "'12'" in run.rejected[1]["reason"]
    assert "first on line 5" in run.rejected[2]["reason"]
    assert set(contacts(db, hr)) == {"1001", "1003"}


def test_a_known_person_whose_row_is_bad_this_time_is_kept_as_they_were(db, hr):
    sync(db, hr, csv_bytes(*ROWS))

    run = sync(db, hr, csv_bytes(ROWS[0], ROWS[1].replace("090-16 10 02", "12"), ROWS[2]))

    assert (run.changed, run.left, len(run.rejected)) == (0, 0, 1)
    bjorn = contacts(db, hr)["1002"]
    assert (bjorn.left_on, [n.e164 for n in bjorn.numbers]) == (None, ["+4690161002"])


def test_an_export_without_usable_rows_fails_rather_than_mark_everyone_as_left(db, hr):
    sync(db, hr, csv_bytes(*ROWS))

    run = sync(db, hr, csv_bytes(";Utan;Id;;;;;\n"))

    assert run.status == "failed"
    assert "no usable rows" in run.error
    assert all(c.left_on is None for c in contacts(db, hr).values())


def test_a_file_that_cannot_be_read_fails_the_run_and_changes_nothing(db, hr):
    sync(db, hr, csv_bytes(*ROWS))

    run = sync(db, hr, b"Namn;Telefon\nAnna;090-161000\n")

    assert run.status == "failed"
    assert "'Anst.nr' (external_id)" in run.error
    assert (run.added, run.changed, run.left, run.finished_at is not None) == (0, 0, 0, True)
    assert all(c.left_on is None for c in contacts(db, hr).values())


def test_a_failing_source_in_vannas_leaves_umeas_directory_untouched(db, municipalities):
    umea, vannas = municipalities["umea"], municipalities["vannas"]
    with tenant_scope(TenantScope.of([umea.id])):
        umea_source = create_source(db, "HR", "csv", {"columns": COLUMNS})
        sync(db, umea_source, csv_bytes(*ROWS))
        before = {k: c.updated_at for k, c in contacts(db, umea_source).items()}
    with tenant_scope(TenantScope.of([vannas.id])):
        vannas_source = create_source(db, "HR", "csv", {"columns": COLUMNS})
        run = sync(db, vannas_source, b"\xff\xfe garbage;without;the;columns\n")
        assert run.status == "failed"
    with tenant_scope(TenantScope.of([umea.id])):
        db.expire_all()
        assert {k: c.updated_at for k, c in contacts(db, umea_source).items()} == before
        assert all(c.left_on is None for c in contacts(db, umea_source).values())


def test_contacts_edited_by_hand_or_of_another_source_are_left_alone(db, hr, umea):
    by_hand = create_contact(db, given_name="Eva", family_name="Ek")
    other = create_source(db, "AD", "ldif")
    sync(db, other, (FIXTURES / "umea.ldif").read_bytes())
    db.commit()

    sync(db, hr, csv_bytes(*ROWS))
    run = sync(db, hr, csv_bytes(ROWS[0]))

    assert run.left == 2
    assert db.get(Contact, (umea.id, by_hand.id)).left_on is None
    assert all(c.left_on is None for c in contacts(db, other).values())


def test_a_sync_of_many_rows_sends_a_few_queries_not_some_per_row(db, hr, count_queries):
    rows = [f"{5000 + i};Person{i};Testsson;Handläggare;Förvaltning {i % 3} / Enhet {i % 7};"
            f"090-17 {i:04d};070-2{i:02d} {i:04d};p{i}@umea.se\n" for i in range(300)]
    sync(db, hr, csv_bytes(*rows))
    changed = [row.replace("Handläggare", "Utredare") if i % 100 == 0 else row
               for i, row in enumerate(rows)]

    with count_queries() as statements:
        run = sync(db, hr, csv_bytes(*changed))

    assert (run.added, run.changed, run.left) == (0, 3, 0)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 10, selects
    assert len(statements) <= 25, statements


# --- reading sources -------------------------------------------------------------------


def test_a_windows_1252_export_with_commas_and_default_headers_is_read():
    content = ("Anställningsnummer,Förnamn,Efternamn,Enhet,Mobil\r\n"
               "77,Åsa,Ölund,Kultur / Bibliotek,070-999 88 77\r\n").encode("cp1252")

    [record] = read_csv(content, {})

    assert record == SourceRecord(
        external_id="77", line=2, given_name="Åsa", family_name="Ölund",
        unit_path=("Kultur", "Bibliotek"), numbers=record.numbers)
    assert [(n.kind, n.number) for n in record.numbers] == [("mobile", "070-999 88 77")]


def test_csv_lines_are_the_files_own_even_with_quoted_line_breaks_and_a_bom():
    content = ("\ufeff" + HEADER + '1;"Anna\nMaria";Ek;;;;;\n\n;Utan;Id;;;;;\n').encode()

    first, second = read_csv(content, {"columns": COLUMNS})

    assert (first.line, first.given_name) == (2, "Anna\nMaria")
    assert second == RejectedRow(5, "The row has no external id.")


def test_ldif_entries_become_people_with_units_from_the_dn():
    records = list(read_ldif((FIXTURES / "umea.ldif").read_bytes(),
                             {"base_dn": "ou=Personal,dc=umea,dc=se"}))

    assert [r.external_id for r in records] == [
        "4b1c52a2-0e55-4f4c-9d0e-6c1f3c1f0001", "0f9e2b7c-5a1d-4c33-8e4f-2a6b7c8d9e10"]
    karin, olof = records
    assert (karin.line, karin.name, karin.title) == (5, "Karin Ström", "Undersköterska")
    assert karin.unit_path == ("Äldreomsorg", "Hemtjänst Ersboda")
    assert [(n.kind, n.number) for n in karin.numbers] == [
        ("work", "090-16 20 01"), ("mobile", "070-222 33 44")]
    assert olof.unit_path == ("Kommunledning", "IT")


# --- runs, the worker and the API ------------------------------------------------------


def test_a_source_with_a_schedule_is_due_when_its_interval_has_passed(db, hr):
    from datetime import timedelta

    from services import clock

    hr.schedule_minutes = 60
    hr.settings = {**hr.settings, "blob_key": "switchboard/x/sources/y/export"}
    assert due_sources(db, clock.now()) == [hr]
    run = start_run(db, hr, "schedule")
    run.status = "succeeded"
    db.flush()

    assert due_sources(db, clock.now()) == []
    assert due_sources(db, clock.now() + timedelta(minutes=61)) == [hr]


@pytest.fixture
def editor(make_staff: Any) -> Any:
    return make_staff("ulla", "umea", ("directory_editor", "umea"))


def test_an_editor_uploads_an_export_runs_it_and_follows_the_run(celery_worker, client, editor):
    created = client.post("/switchboard/api/sources", headers=editor.headers, json={
        "name": "Personec", "kind": "csv", "settings": {"columns": COLUMNS}})
    assert created.status_code == 201, created.json
    source = created.json
    assert (source["municipality"], source["has_file"]) == ("umea", False)

    uploaded = client.put(f"/switchboard/api/sources/{source['id']}/file",
                          headers=editor.headers, data=csv_bytes(*ROWS, ";;;;;;;\n", "x;;;;;;;\n"),
                          content_type="text/csv")
    assert uploaded.status_code == 200, uploaded.json
    assert uploaded.json["has_file"] is True

    queued = client.post(f"/switchboard/api/sources/{source['id']}/runs",
                         headers=editor.headers)
    assert queued.status_code == 202, queued.json
    run = _wait_for_run(client, editor, queued.json["id"])

    assert (run["status"], run["added"], run["changed"], run["left"]) == (
        "succeeded", 3, 0, 0)
    assert run["rejected"] == [{"line": 6, "reason": "name: A name, or a given or family name, "
                                                     "is required."}]
    listed = client.get(f"/switchboard/api/sources/{source['id']}/runs", headers=editor.headers)
    assert [r["id"] for r in listed.json] == [run["id"]]


def test_a_run_of_a_source_without_a_file_fails_saying_so(celery_worker, client, editor):
    source = client.post("/switchboard/api/sources", headers=editor.headers, json={
        "name": "AD", "kind": "ldif"}).json

    queued = client.post(f"/switchboard/api/sources/{source['id']}/runs",
                         headers=editor.headers)
    run = _wait_for_run(client, editor, queued.json["id"])

    assert (run["status"], run["error"]) == (
        "failed", "No file has been uploaded for this source.")


def test_the_beat_queues_each_due_source_in_its_own_municipality(celery_worker, client, editor):
    from switchboard.tasks.sync import run_due_sources

    source = client.post("/switchboard/api/sources", headers=editor.headers, json={
        "name": "Personec", "kind": "csv", "settings": {"columns": COLUMNS},
        "schedule_minutes": 60}).json
    client.put(f"/switchboard/api/sources/{source['id']}/file", headers=editor.headers,
               data=csv_bytes(*ROWS))

    assert run_due_sources.apply_async().get(timeout=WAIT) == 1

    [queued] = client.get(f"/switchboard/api/sources/{source['id']}/runs",
                          headers=editor.headers).json
    run = _wait_for_run(client, editor, queued["id"])
    assert (run["trigger"], run["status"], run["added"]) == ("schedule", "succeeded", 3)
    assert run_due_sources.apply_async().get(timeout=WAIT) == 0


def test_operators_and_editors_of_other_municipalities_never_see_a_source(
        client, editor, make_staff):
    operator = make_staff("olle", "bjurholm", ("operator", None))
    vannas_editor = make_staff("vera", "vannas", ("directory_editor", "vannas"))
    umea_operator = make_staff("uno", "umea", ("operator", "umea"))
    source = client.post("/switchboard/api/sources", headers=editor.headers, json={
        "name": "Personec", "kind": "csv"}).json
    run = client.post(f"/switchboard/api/sources/{source['id']}/runs", headers=editor.headers)

    for outsider in (operator, vannas_editor, umea_operator):
        base = f"/switchboard/api/sources/{source['id']}"
        assert client.get(base, headers=outsider.headers).status_code == 404
        assert client.patch(base, headers=outsider.headers,
                            json={"name": "x"}).status_code == 404
        assert client.post(f"{base}/runs", headers=outsider.headers).status_code == 404
        assert client.put(f"{base}/file", headers=outsider.headers,
                          data=b"x").status_code == 404
        assert client.delete(base, headers=outsider.headers).status_code == 404
        assert client.get(f"/switchboard/api/runs/{run.json['id']}",
                          headers=outsider.headers).status_code == 404
    assert client.get("/switchboard/api/sources", headers=operator.headers).status_code == 403
    assert client.get("/switchboard/api/sources", headers=vannas_editor.headers).json == []
    assert client.post("/switchboard/api/sources", headers=vannas_editor.headers, json={
        "name": "x", "kind": "csv", "municipality": "umea"}).status_code == 403


def test_bad_source_settings_are_refused_naming_the_field(client, editor):
    answer = client.post("/switchboard/api/sources", headers=editor.headers, json={
        "name": "HR", "kind": "csv", "settings": {"columns": {"shoe_size": "Skostorlek"}}})

    assert answer.status_code == 422
    assert "settings.columns" in answer.json["error"]["fields"]["json"]


def test_a_second_run_while_one_is_queued_is_refused(db, hr, client, editor):
    start_run(db, hr, "manual")  # queued, and no worker will take it: nothing was sent
    db.commit()

    answer = client.post(f"/switchboard/api/sources/{hr.id}/runs", headers=editor.headers)

    assert answer.status_code == 409
    assert "already queued or running" in answer.json["error"]["message"]


def test_deleting_a_source_keeps_its_contacts_for_editing_by_hand(db, hr, client, editor, umea):
    sync(db, hr, csv_bytes(*ROWS))
    # A request clears the tenant scope of its thread when it ends: the checks set their own.

    answer = client.delete(f"/switchboard/api/sources/{hr.id}", headers=editor.headers)

    assert answer.status_code == 204
    db.expire_all()
    with tenant_scope(TenantScope.of([umea.id])):
        people = list(db.scalars(select(Contact)))
        assert len(people) == 3
        assert {(c.source_id, c.external_id) for c in people} == {(None, None)}
        assert db.scalars(select(SyncRun)).all() == []
        assert len(db.scalars(select(PhoneNumber)).all()) == 5


def _wait_for_run(client: Any, staff: Any, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while True:
        answer = client.get(f"/switchboard/api/runs/{run_id}", headers=staff.headers)
        assert answer.status_code == 200, answer.json
        if answer.json["status"] in ("succeeded", "failed"):
            return answer.json
        assert time.monotonic() < deadline, answer.json
        time.sleep(0.05)
