"""What the library's tables hold to, whichever way a row is written."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from library_loans.models import Item
from services.settings_ext import shared_engine
from services.tenancy import TenantScope, tenant_scope


def test_a_copy_belongs_to_its_home_branchs_municipality(consortium):
    """The home branch's key (municipality, branch) holds a copy's municipality: a copy
    of Vindeln's at an Umeå branch, or of a municipality with no branches, is refused."""
    umea_branch = consortium.branches["UMEA-STADS"]
    record = consortium.records["bröder"]
    for slug in ("vindeln", "ornskoldsvik"):
        municipality_id = consortium.municipalities[slug].id
        with consortium.session() as session, tenant_scope(TenantScope.of([municipality_id])):
            session.add(Item(record_id=record.id, barcode="X0001",
                             home_branch_id=umea_branch.id,
                             location_municipality_id=umea_branch.municipality_id,
                             location_branch_id=umea_branch.id))
            with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
                session.flush()


def test_on_postgresql_the_copies_municipality_is_checked_by_the_home_branchs_key_alone(
        migrated):
    """Not by a key of its own to the municipalities as well (migration 0008): each key is
    a query per copy written."""
    engine = shared_engine(migrated.database_url)
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps the key: dropping one there rebuilds the table")
    with engine.connect() as connection:
        keys = inspect(connection).get_foreign_keys("library_items")
    referred = sorted((key["referred_table"], tuple(key["constrained_columns"])) for key in keys)
    assert ("municipalities", ("municipality_id",)) not in referred
    assert ("library_branches", ("municipality_id", "home_branch_id")) in referred
