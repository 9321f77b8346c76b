"""Delivering messages taken by operators."""

from __future__ import annotations

import uuid

from services.infra.mail import mailer_for
from services.infra.sms import sms_gateway_for
from switchboard.operations.messages import deliver_message as deliver
from worker.app import settings_of
from worker.base import service_task


@service_task(idempotent=True, io=True)
def deliver_message(task, message_id: str) -> str:  # type: ignore[no-untyped-def]
    """Send a taken message by e-mail and SMS; retried with backoff while a server is down.

    A refusal ends the message as failed at once; so does the last retry running out.
    """
    settings = settings_of(task.app)
    return deliver(task.session, uuid.UUID(message_id), mailer_for(settings),
                   sms_gateway_for(settings),
                   final_attempt=task.request.retries >= task.max_retries)
