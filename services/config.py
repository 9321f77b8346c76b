"""Settings for every Samverkan process, read from ``SAMVERKAN_*`` environment variables.

This is the one module that reads the environment; everything else receives a
:class:`Settings`. The defaults are the embedded default (SQLite file, server-less broker,
mail to a folder) so that a laptop needs no configuration at all.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEVELOPMENT_SECRET_KEY = "samverkan-development-secret-do-not-use-in-production"  # noqa: S105

SERVICES = ("switchboard", "library_loans", "refugee_reception", "procurement")
"""The service packages, in the order the start page lists them."""

URL_PREFIXES = {
    "platform": "",
    "switchboard": "/switchboard",
    "library_loans": "/library",
    "refugee_reception": "/refugee-reception",
    "procurement": "/procurement",
}
"""Where each app is mounted: the same prefix in the embedded process and behind nginx."""


class ConfigurationError(RuntimeError):
    """The environment describes a configuration Samverkan refuses to run with."""


@dataclass(frozen=True)
class Settings:
    """Every setting a Samverkan process reads, with its embedded default."""

    environment: str = "development"
    data_dir: Path = field(default_factory=lambda: Path("var").resolve())
    secret_key: str = DEVELOPMENT_SECRET_KEY
    database_url: str = ""
    database_owner_url: str = ""
    database_app_role: str = "samverkan_app"
    broker_url: str = ""
    result_backend: str = ""
    rate_limit_storage_url: str = "memory://"
    login_rate_limit: str = "10 per minute"
    mail_backend: str = "folder"
    smtp_url: str = "smtp://localhost:25"
    mail_sender: str = "Samverkan <noreply@samverkan.local>"
    sms_backend: str = "recorded"
    sms_gateway_url: str = ""
    storage_backend: str = "disk"
    s3_endpoint_url: str = ""
    s3_bucket: str = "samverkan"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    token_lifetime_days: int = 90
    session_lifetime_hours: int = 12
    log_format: str = "json"
    log_level: str = "INFO"
    default_locale: str = "sv"
    longest_task_countdown_seconds: int = 6 * 3600

    @property
    def is_production(self) -> bool:
        """Whether this process runs as production (strict checks apply)."""
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some settings replaced (tests and commands use this)."""
        return replace(self, **changes)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``SAMVERKAN_*`` variables, filling in embedded defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for spec in fields(Settings):
        raw = env.get(f"SAMVERKAN_{spec.name.upper()}")
        if raw is None or raw == "":
            continue
        if spec.name == "data_dir":
            values[spec.name] = Path(raw).resolve()
        elif spec.type in ("int", int):
            try:
                values[spec.name] = int(raw)
            except ValueError as error:
                raise ConfigurationError(
                    f"SAMVERKAN_{spec.name.upper()} must be a whole number, got {raw!r}"
                ) from error
        else:
            values[spec.name] = raw
    settings = Settings(**values)
    return _complete(settings)


def _complete(settings: Settings) -> Settings:
    data_dir = settings.data_dir
    database_url = settings.database_url or f"sqlite:///{data_dir / 'samverkan.db'}"
    broker_url = settings.broker_url or "filesystem://"
    if settings.result_backend:
        result_backend = settings.result_backend
    elif broker_url.startswith("redis"):
        result_backend = broker_url
    else:
        result_backend = f"file://{data_dir / 'celery-results'}"
    settings = replace(
        settings,
        database_url=database_url,
        database_owner_url=settings.database_owner_url or database_url,
        broker_url=broker_url,
        result_backend=result_backend,
    )
    _refuse_unsafe_production(settings)
    return settings


def _refuse_unsafe_production(settings: Settings) -> None:
    if settings.environment not in ("development", "test", "production"):
        raise ConfigurationError(
            "SAMVERKAN_ENVIRONMENT must be development, test or production, "
            f"got {settings.environment!r}"
        )
    if not settings.is_production:
        return
    if settings.secret_key == DEVELOPMENT_SECRET_KEY or len(settings.secret_key) < 32:
        raise ConfigurationError(
            "production refuses the development secret key: set SAMVERKAN_SECRET_KEY to a "
            f"random value of at least 32 characters (for example {secrets.token_urlsafe(32)})"
        )
    if settings.is_sqlite:
        raise ConfigurationError("production needs PostgreSQL: set SAMVERKAN_DATABASE_URL")
