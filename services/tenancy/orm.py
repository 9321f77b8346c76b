"""Tenant enforcement in the ORM: the first of the two layers (PostgreSQL RLS is the second).

* ``do_orm_execute`` adds ``with_loader_criteria`` for the current scope to every SELECT,
  UPDATE and DELETE that touches a tenant-owned model; with no scope it raises.
* ``before_flush`` stamps new tenant rows with the scope's home municipality, and refuses
  inserts, changes and deletes of rows outside the scope, or moves between tenants.
* On PostgreSQL every transaction carries the scope in ``app.municipalities`` for RLS.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Table, event, inspect, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables

from services.ids import uuid7
from services.tenancy.scope import (
    TenantScopeMissing,
    TenantScopeViolation,
    current_scope,
    scope_or_none,
)

_RLS_APPLIED = "samverkan_rls_scope"


class TenantOwned:
    """Mixin for every tenant-owned model: keyed ``(municipality_id, id)``.

    The composite key is the layout a distributed PostgreSQL (Citus, distribution column
    ``municipality_id``) needs; foreign keys between tenant tables include
    ``municipality_id`` too, so a row can only ever point at rows of its own municipality.
    """

    __tenant_owned__: ClassVar[bool] = True
    __municipality_key__: ClassVar[bool] = True
    """Whether ``municipality_id`` has a foreign key of its own to the municipalities. A
    model whose composite foreign key to another tenant table always holds the
    municipality (a library copy's home branch) sets it False: that key checks the same."""

    @declared_attr
    def municipality_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - declared_attr takes cls
        if not cls.__municipality_key__:
            return mapped_column(primary_key=True)
        return mapped_column(
            ForeignKey("municipalities.id", ondelete="RESTRICT"), primary_key=True
        )

    @declared_attr
    def id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        return mapped_column(primary_key=True, default=uuid7)


class TenantSession(Session):
    """The session every Samverkan process uses: the tenant hooks are part of its class.

    Hooks on the class (not on each sessionmaker) cannot be forgotten or lost: a
    listener registered per factory is keyed by the factory's id(), and a new factory
    that happens to reuse a collected one's address would look "already hooked".
    """


def is_tenant_model(cls: type) -> bool:
    """Whether ``cls`` is a tenant-owned model."""
    return isinstance(cls, type) and issubclass(cls, TenantOwned)


def _filter_statement(state: ORMExecuteState) -> None:
    _apply_rls_scope(state.session)
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        # Criteria added to the parent statement propagate to these loads already.
        return
    scope = scope_or_none()
    if scope is None:
        if _touches_tenant_tables(state.statement):
            current_scope()  # raises TenantScopeMissing
        return
    # Added to every statement, not only those whose entities are tenant models: a
    # ``select(func.count()).select_from(Model)`` names no entity in its columns, and the
    # criteria apply wherever the model appears (FROM, joins, subqueries, aliases).
    ids = tuple(scope.municipality_ids)
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.municipality_id.in_(ids),
            include_aliases=True,
        )
    )


def _touches_tenant_tables(statement: Any) -> bool:
    names = _tenant_table_names()
    return any(
        isinstance(table, Table) and table.name in names
        for table in find_tables(statement, include_crud=True, include_joins=True)
    )


def _tenant_table_names() -> frozenset[str]:
    from services.db import Base

    return frozenset(
        mapper.local_table.name
        for mapper in Base.registry.mappers
        if is_tenant_model(mapper.class_)
    )


def _check_writes(session: Session, _context: object, _instances: object) -> None:
    tenant_changes = [
        obj
        for obj in (*session.new, *session.dirty, *session.deleted)
        if is_tenant_model(type(obj))
    ]
    if not tenant_changes:
        return
    scope = current_scope()
    _apply_rls_scope(session)
    for obj in session.new:
        if not is_tenant_model(type(obj)):
            continue
        if obj.municipality_id is None:
            if scope.home is None:
                raise TenantScopeViolation(
                    f"{type(obj).__name__} has no municipality_id and the scope has no home "
                    "municipality to stamp it with"
                )
            obj.municipality_id = scope.home
        elif not scope.includes(obj.municipality_id):
            raise TenantScopeViolation(
                f"cannot create {type(obj).__name__} for a municipality outside the scope"
            )
    for obj in (*session.dirty, *session.deleted):
        if not is_tenant_model(type(obj)):
            continue
        if type(obj).__table__.info.get("append_only"):
            raise TenantScopeViolation(f"{type(obj).__name__} is append-only")
        history = inspect(obj).attrs.municipality_id.history
        if history.deleted and history.added:
            raise TenantScopeViolation(f"{type(obj).__name__} cannot move between municipalities")
        if not scope.includes(obj.municipality_id):
            raise TenantScopeViolation(
                f"cannot change {type(obj).__name__} of a municipality outside the scope"
            )


def _forget_rls_scope(session: Session, _transaction: object, connection: Any) -> None:
    session.info.pop(_RLS_APPLIED, None)
    if connection.dialect.name == "postgresql":
        _apply_rls_scope(session, connection)


def _apply_rls_scope(session: Session, connection: Any = None) -> None:
    """Make ``app.municipalities`` in this transaction match the ORM's scope."""
    bind = connection if connection is not None else session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    scope = scope_or_none()
    value = scope.as_setting() if scope is not None else ""
    if session.info.get(_RLS_APPLIED) == value:
        return
    conn = connection if connection is not None else session.connection()
    conn.execute(text("SELECT set_config('app.municipalities', :value, true)"), {"value": value})
    session.info[_RLS_APPLIED] = value


event.listen(TenantSession, "do_orm_execute", _filter_statement)
event.listen(TenantSession, "before_flush", _check_writes)
event.listen(TenantSession, "after_begin", _forget_rls_scope)

__all__ = [
    "TenantOwned",
    "TenantScopeMissing",
    "TenantScopeViolation",
    "TenantSession",
    "is_tenant_model",
]
