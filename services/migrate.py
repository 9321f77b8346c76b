"""Schema migrations: one Alembic environment and version table per service.

``samverkan db upgrade`` upgrades the core first (the services' tables point at
``municipalities``), then each service, then, on PostgreSQL, secures the database: the
app role's table rights and row-level security on every tenant table
(:func:`services.tenancy.rls.secure_database`). Securing runs after every upgrade and is
idempotent, so a tenant table added by any later migration is covered without anyone
remembering to add its policy; until it has run, the app role has no right on a new
table at all, so the gap fails closed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import Connection, pool

from services.config import SERVICES, Settings
from services.db import Base, make_engine

MIGRATED_PACKAGES = ("services", *SERVICES)
"""Every package with its own Alembic environment, in upgrade order."""


def version_table(package: str) -> str:
    """The Alembic version table of ``package`` (each service keeps its own)."""
    return f"alembic_version_{'core' if package == 'services' else package}"


def alembic_config(package: str, database_url: str) -> Config:
    """The Alembic configuration of ``package`` against ``database_url``."""
    module = importlib.import_module(package)
    folder = Path(module.__file__).parent / "migrations"  # type: ignore[arg-type]
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(folder / "versions"))
    config.attributes["samverkan_package"] = package
    config.attributes["samverkan_database_url"] = database_url
    return config


def upgrade_all(settings: Settings, progress: Callable[[str], None] = print) -> None:
    """Upgrade every package to its newest revision, then secure the database."""
    import_all_models()
    url = settings.database_owner_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    for package in MIGRATED_PACKAGES:
        progress(f"upgrading {package}")
        command.upgrade(alembic_config(package, url), "head")
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        if engine.dialect.name == "postgresql":
            from services.tenancy.rls import secure_database

            with engine.begin() as connection:
                secured = secure_database(connection, settings.database_app_role)
            progress(f"row-level security on {len(secured)} tenant tables")
    finally:
        engine.dispose()


def import_all_models() -> None:
    """Import every package's models so that the shared metadata knows every table."""
    for package in MIGRATED_PACKAGES:
        name = "services.models" if package == "services" else f"{package}.models"
        importlib.import_module(name)


def owned_by(package: str) -> Callable[..., bool]:
    """An Alembic ``include_object`` that keeps autogenerate to ``package``'s own tables."""

    def include(obj: object, name: str, type_: str, reflected: bool, _compare_to: object) -> bool:
        return type_ != "table" or name in _tables_of(package)

    return include


def run_environment(context: EnvironmentContext) -> None:
    """The body of every package's ``migrations/env.py``."""
    config = context.config
    package = config.attributes["samverkan_package"]
    url = config.attributes["samverkan_database_url"]
    import_all_models()
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(context, connection, package)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(context, connection, package)
    finally:
        engine.dispose()


def _run(context: EnvironmentContext, connection: Connection, package: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=version_table(package),
        include_object=owned_by(package),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _tables_of(package: str) -> set[str]:
    tables = set()
    for mapper in Base.registry.mappers:
        module = mapper.class_.__module__
        if module == package or module.startswith(package + "."):
            tables.add(mapper.local_table.name)
    return tables
