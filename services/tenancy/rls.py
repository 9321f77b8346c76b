"""PostgreSQL row-level security: the second layer of tenant enforcement.

Every tenant table gets RLS ENABLEd and FORCEd with a policy that admits only rows whose
``municipality_id`` is in the transaction's ``app.municipalities`` setting (written by the
ORM layer). The application connects as a role that owns nothing and holds only the table
privileges granted here, so it can neither bypass nor alter the policies. An unset or
empty setting admits nothing: the database fails closed as the ORM does.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, inspect, text

from services.db import Base
from services.tenancy.orm import is_tenant_model

IN_SCOPE = (
    "municipality_id = ANY (string_to_array("
    "nullif(current_setting('app.municipalities', true), ''), ',')::uuid[])"
)


def tenant_tables() -> list[Table]:
    """Every table of a tenant-owned model known to the metadata."""
    tables = []
    for mapper in Base.registry.mappers:
        if is_tenant_model(mapper.class_) and mapper.local_table not in tables:
            tables.append(mapper.local_table)
    return sorted(tables, key=lambda table: table.name)


def secure_database(connection: Connection, app_role: str) -> list[str]:
    """Create the app role if missing, grant it table rights and apply RLS (idempotent).

    Runs as the owner after every ``samverkan db upgrade``; returns the tenant tables
    secured. Tables the metadata knows but the database does not yet have (a package
    not migrated yet) are left for the upgrade that creates them. Append-only tables
    (``info={"append_only": True}``, the audit log) get no UPDATE or DELETE right at all.
    """
    role = _quote(connection, app_role)
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": app_role}
    ).scalar()
    if not exists:
        connection.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    existing = set(inspect(connection).get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in existing:
            continue
        name = _quote(connection, table.name)
        rights = "SELECT, INSERT"
        if not _append_only(table):
            rights += ", UPDATE, DELETE"
        connection.execute(text(f"REVOKE ALL ON {name} FROM {role}"))
        connection.execute(text(f"GRANT {rights} ON {name} TO {role}"))
    secured = []
    for table in tenant_tables():
        if table.name not in existing:
            continue
        _apply_policies(connection, table)
        secured.append(table.name)
    return secured


def _apply_policies(connection: Connection, table: Table) -> None:
    name = _quote(connection, table.name)
    connection.execute(text(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"))
    connection.execute(text(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY"))
    for policy in ("tenant_isolation", "tenant_read", "append_anywhere"):
        connection.execute(text(f"DROP POLICY IF EXISTS {policy} ON {name}"))
    if _append_only(table):
        # The audit log: read only your scope, but append entries about any municipality
        # (an operator crossing tenants is recorded under the municipality concerned).
        connection.execute(
            text(f"CREATE POLICY tenant_read ON {name} FOR SELECT USING ({IN_SCOPE})")
        )
        connection.execute(
            text(f"CREATE POLICY append_anywhere ON {name} FOR INSERT WITH CHECK (true)")
        )
    else:
        connection.execute(
            text(
                f"CREATE POLICY tenant_isolation ON {name} USING ({IN_SCOPE}) "
                f"WITH CHECK ({IN_SCOPE})"
            )
        )


def _append_only(table: Table) -> bool:
    return bool(table.info.get("append_only"))


def _quote(connection: Connection, identifier: str) -> str:
    return connection.dialect.identifier_preparer.quote(identifier)
