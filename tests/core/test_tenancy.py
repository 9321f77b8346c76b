"""The tenant scope in the ORM and in PostgreSQL: filtered, stamped, checked, fail-closed."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.orm import Session

from services.audit.models import AuditEntry
from services.identity.principal import Grant, Principal
from services.settings_ext import shared_engine
from services.tenancy import (
    TenantScope,
    TenantScopeMissing,
    TenantScopeViolation,
    tenant_scope,
)
from services.tenancy.crossing import CrossingDenied, cross_tenant, declare_crossing
from services.tenancy.models import Municipality


@pytest.fixture
def notes(db: Session, notes_table, municipalities):
    """Two notes in Umeå and one in Vännäs, committed."""
    umea, vannas = municipalities["umea"], municipalities["vannas"]
    with tenant_scope(TenantScope.of([umea.id, vannas.id], home=umea.id)):
        db.add_all([
            notes_table(municipality_id=umea.id, text="umeå 1"),
            notes_table(municipality_id=umea.id, text="umeå 2"),
            notes_table(municipality_id=vannas.id, text="vännäs 1"),
        ])
        db.commit()
    return notes_table


def scope_of(*municipalities: Municipality) -> TenantScope:
    return TenantScope.of([m.id for m in municipalities], home=municipalities[0].id)


def test_a_select_sees_only_the_municipalities_in_scope(db, notes, municipalities):
    with tenant_scope(scope_of(municipalities["umea"])):
        assert sorted(db.scalars(select(notes.text))) == ["umeå 1", "umeå 2"]
        assert db.scalar(select(func.count()).select_from(notes)) == 2
    with tenant_scope(scope_of(municipalities["vannas"])):
        assert list(db.scalars(select(notes.text))) == ["vännäs 1"]
    with tenant_scope(scope_of(municipalities["bjurholm"])):
        assert list(db.scalars(select(notes))) == []


def test_get_by_primary_key_of_another_municipality_finds_nothing(db, notes, municipalities):
    with tenant_scope(scope_of(municipalities["vannas"])):
        foreign = db.scalars(select(notes)).one()
        key = (foreign.municipality_id, foreign.id)
    db.expunge_all()
    with tenant_scope(scope_of(municipalities["umea"])):
        assert db.get(notes, key) is None


def test_tenant_data_without_a_scope_is_an_error_not_an_empty_answer(db, notes):
    with pytest.raises(TenantScopeMissing):
        db.scalars(select(notes)).all()
    with pytest.raises(TenantScopeMissing):
        db.execute(update(notes).values(text="x"))


def test_platform_tables_need_no_scope(db):
    assert db.scalar(select(func.count()).select_from(Municipality)) == 7


def test_bulk_update_and_delete_touch_only_rows_in_scope(db, notes, municipalities):
    with tenant_scope(scope_of(municipalities["umea"])):
        db.execute(update(notes).values(text="changed"))
        db.execute(delete(notes).where(notes.text == "changed"))
        db.commit()
    with tenant_scope(scope_of(municipalities["umea"], municipalities["vannas"])):
        assert list(db.scalars(select(notes.text))) == ["vännäs 1"]


def test_a_new_row_is_stamped_with_the_home_municipality(db, notes, municipalities):
    umea = municipalities["umea"]
    with tenant_scope(scope_of(umea)):
        note = notes(text="ny")
        db.add(note)
        db.commit()
        assert note.municipality_id == umea.id


def test_creating_a_row_for_a_municipality_outside_the_scope_is_refused(db, notes,
                                                                       municipalities):
    with tenant_scope(scope_of(municipalities["umea"])):
        db.add(notes(municipality_id=municipalities["vannas"].id, text="smuggled"))
        with pytest.raises(TenantScopeViolation):
            db.flush()
        db.rollback()
    with tenant_scope(scope_of(municipalities["vannas"])):
        assert list(db.scalars(select(notes.text))) == ["vännäs 1"]


def test_a_row_cannot_move_to_another_municipality(db, notes, municipalities):
    both = scope_of(municipalities["umea"], municipalities["vannas"])
    with tenant_scope(both):
        note = db.scalars(select(notes).where(notes.text == "umeå 1")).one()
        note.municipality_id = municipalities["vannas"].id
        with pytest.raises(TenantScopeViolation):
            db.flush()
        db.rollback()


def test_a_row_loaded_in_one_scope_cannot_be_changed_in_another(db, notes, municipalities):
    with tenant_scope(scope_of(municipalities["umea"])):
        note = db.scalars(select(notes)).first()
    with tenant_scope(scope_of(municipalities["vannas"])):
        note.text = "overwritten"
        with pytest.raises(TenantScopeViolation):
            db.flush()
        db.rollback()


def test_the_audit_log_is_append_only_even_for_raw_sql(db, municipalities, owner_engine):
    from services.audit.operations import record

    record(db, "test.action", municipality_id=municipalities["umea"].id, actor="tests")
    db.commit()
    with owner_engine.connect() as connection:
        with pytest.raises(DBAPIError):
            connection.execute(text("UPDATE audit_entries SET actor = 'someone else'"))
        connection.rollback()
        with pytest.raises(DBAPIError):
            connection.execute(text("DELETE FROM audit_entries"))
        connection.rollback()
        assert connection.scalar(text("SELECT actor FROM audit_entries")) == "tests"


def test_the_orm_refuses_to_change_an_audit_entry(db, municipalities):
    from services.audit.operations import record

    record(db, "test.action", municipality_id=municipalities["umea"].id, actor="tests")
    db.commit()
    with tenant_scope(scope_of(municipalities["umea"])):
        entry = db.scalars(select(AuditEntry)).one()
        entry.actor = "rewritten"
        with pytest.raises(TenantScopeViolation):
            db.flush()
        db.rollback()


# --- named, audited crossings ----------------------------------------------------------

READ_EVERY_DIRECTORY = declare_crossing(
    "tests.read_every_directory",
    "Operators read every municipality's directory",
    role="operator",
    service="switchboard",
)


def principal(municipality: Municipality, *grants: Grant) -> Principal:
    return Principal(
        user_id=municipality.id, username=f"op.{municipality.slug}",
        home_municipality_id=municipality.id, home_municipality_slug=municipality.slug,
        grants=grants,
    )


def test_an_all_municipality_grant_opens_every_participant_and_each_is_told(
    db, notes, municipalities
):
    bjurholm = municipalities["bjurholm"]
    operator = principal(bjurholm, Grant("operator", None))
    with tenant_scope(operator.default_scope()):
        assert list(db.scalars(select(notes))) == []
        with cross_tenant(db, READ_EVERY_DIRECTORY, operator) as scope:
            assert scope.crossing == "tests.read_every_directory"
            assert len(scope.municipality_ids) == 7  # all seven share the switchboard
            assert len(db.scalars(select(notes)).all()) == 3
        assert list(db.scalars(select(notes))) == []
    db.commit()
    with tenant_scope(scope_of(municipalities["vannas"])):
        told = db.scalars(select(AuditEntry).where(AuditEntry.action == "crossing.entered")).one()
        assert told.actor == "op.bjurholm"
        assert told.subject == "tests.read_every_directory"


def test_a_crossing_opens_only_the_municipalities_a_grant_names(db, notes, municipalities):
    umea = municipalities["umea"]
    operator = principal(umea, Grant("operator", umea.id))
    with tenant_scope(operator.default_scope()), cross_tenant(db, READ_EVERY_DIRECTORY,
                                                              operator):
        assert sorted(db.scalars(select(notes.text))) == ["umeå 1", "umeå 2"]


def test_a_crossing_without_the_role_is_denied(db, municipalities):
    librarian = principal(municipalities["umea"], Grant("librarian", None))
    with pytest.raises(CrossingDenied), cross_tenant(db, READ_EVERY_DIRECTORY, librarian):
        pass


def test_a_crossing_opens_only_municipalities_that_joined_the_service(db, municipalities):
    library_crossing = declare_crossing(
        "tests.read_every_catalogue", "Librarians see every branch", role="librarian",
        service="library_loans",
    )
    librarian = principal(municipalities["umea"], Grant("librarian", None))
    with cross_tenant(db, library_crossing, librarian) as scope:
        assert municipalities["ornskoldsvik"].id not in scope.municipality_ids
        assert len(scope.municipality_ids) == 6


# --- PostgreSQL row-level security: the second layer -----------------------------------


@pytest.mark.postgres
def test_every_tenant_table_has_rls_enabled_and_forced(owner_engine, notes_table):
    from services.tenancy.rls import tenant_tables

    with owner_engine.connect() as connection:
        rows = dict(
            connection.execute(text(
                "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )).all()
        )
    names = [table.name for table in tenant_tables()]
    assert "audit_entries" in names and "test_notes" in names
    assert {name: rows.get(name) for name in names} == dict.fromkeys(names, True)


@pytest.mark.postgres
def test_the_app_role_owns_nothing_and_cannot_bypass_rls(settings):
    with shared_engine(settings.database_url).connect() as connection:
        role = connection.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )).one()
        owned = connection.scalar(text(
            "SELECT count(*) FROM pg_class WHERE relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        ))
    assert tuple(role) == (False, False)
    assert owned == 0


@pytest.mark.postgres
def test_with_the_orm_filter_off_rls_alone_returns_no_foreign_rows(settings, notes,
                                                                  municipalities):
    umea, vannas = municipalities["umea"], municipalities["vannas"]
    # A plain session: none of the ORM tenant hooks, only the database's policies.
    with Session(shared_engine(settings.database_url)) as raw:
        raw.execute(text("SELECT set_config('app.municipalities', :ids, true)"),
                    {"ids": str(umea.id)})
        assert sorted(raw.scalars(select(notes.text))) == ["umeå 1", "umeå 2"]
        assert raw.scalar(text("SELECT count(*) FROM test_notes")) == 2
        assert raw.execute(text("UPDATE test_notes SET text = 'x'")).rowcount == 2
        assert raw.execute(text("DELETE FROM test_notes WHERE municipality_id = :m"),
                           {"m": vannas.id}).rowcount == 0
        raw.rollback()
    with Session(shared_engine(settings.database_url)) as raw:
        assert raw.scalar(text("SELECT count(*) FROM test_notes")) == 0  # no setting: nothing
        raw.execute(text("SELECT set_config('app.municipalities', :ids, true)"),
                    {"ids": str(umea.id)})
        with pytest.raises(ProgrammingError, match="row-level security"):
            raw.execute(text(
                "INSERT INTO test_notes (municipality_id, id, text) "
                "VALUES (:m, gen_random_uuid(), 'smuggled')"
            ), {"m": vannas.id})
