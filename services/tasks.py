"""Tasks of the platform core."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from services import clock
from services.identity.models import ApiToken
from worker.base import service_task

KEEP_ENDED_CREDENTIALS = timedelta(days=30)


@service_task(name="services.tasks.purge_expired_credentials", idempotent=True)
def purge_expired_credentials(task) -> int:  # type: ignore[no-untyped-def]
    """Delete tokens and web sessions that expired or were revoked over 30 days ago."""
    cutoff = clock.now() - KEEP_ENDED_CREDENTIALS
    result = task.session.execute(
        delete(ApiToken).where(or_(ApiToken.expires_at < cutoff, ApiToken.revoked_at < cutoff))
    )
    return result.rowcount or 0
