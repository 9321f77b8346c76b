"""Messages taken for contacts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.context import db_session, require_principal
from services.errors import ApiError
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from switchboard.access import operators_read
from switchboard.models import Contact, Message
from switchboard.operations.directory import DirectoryError
from switchboard.operations.messages import find_message, list_messages, take_message
from switchboard.schemas.messages import MessageQuerySchema, MessageSchema, NewMessageSchema
from switchboard.tasks.messages import deliver_message

blueprint = Blueprint("switchboard_messages", __name__, url_prefix="/api",
                      description="Messages taken for contacts")


@blueprint.route("/contacts/<uuid:contact_id>/messages", methods=["POST"])
@blueprint.arguments(NewMessageSchema)
@blueprint.response(201, MessageSchema)
def create_message(payload: dict[str, Any], contact_id: uuid.UUID) -> dict[str, Any]:
    """Take a message for a contact of any municipality (operators); the worker delivers it."""
    principal = require_principal()
    if not principal.has_role("operator"):
        raise ApiError(403, "Taking messages needs the operator role.")
    session = db_session()
    with operators_read(session, principal):
        try:
            message = take_message(session, contact_id, taken_by=principal.username,
                                   **payload)
        except LookupError as error:
            raise ApiError(404, str(error)) from error
        except DirectoryError as error:
            raise ApiError(400, error.message, field=error.field,
                           location="path" if error.field == "contact_id" else "json"
                           ) from error
        [described] = _describe_messages(session, [message])
    # The worker needs no more than the message's own municipality.
    with tenant_scope(TenantScope.of([message.municipality_id])):
        deliver_message.send_after_commit(session, str(message.id))
    return described


@blueprint.route("/messages/<uuid:message_id>")
@blueprint.response(200, MessageSchema)
def get_message(message_id: uuid.UUID) -> dict[str, Any]:
    """A message and its delivery: status, attempts, last error and when each channel went."""
    session = db_session()
    with operators_read(session):
        message = find_message(session, message_id)
        if message is None:
            raise ApiError(404, "No such message.")
        [described] = _describe_messages(session, [message])
    return described


@blueprint.route("/messages")
@blueprint.arguments(MessageQuerySchema, location="query")
@blueprint.response(200, MessageSchema(many=True))
def recent_messages(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Recent messages, newest first: every municipality's for operators, else your own."""
    session = db_session()
    with operators_read(session):
        messages = list_messages(session, contact_id=query["contact"], since=query["since"],
                                 limit=query["limit"])
        return _describe_messages(session, messages)


def _describe_messages(session: Session, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages as MessageSchema describes them, with their contacts' names (two queries)."""
    if not messages:
        return []
    contacts = {
        (row.municipality_id, row.id): row.name
        for row in session.execute(select(Contact.municipality_id, Contact.id, Contact.name)
                                   .where(Contact.id.in_({m.contact_id for m in messages})))
    }
    slugs = {row.id: row.slug for row in session.execute(
        select(Municipality.id, Municipality.slug)
        .where(Municipality.id.in_({m.municipality_id for m in messages})))}
    return [
        {
            **{field: getattr(message, field) for field in _MESSAGE_FIELDS},
            "municipality": slugs[message.municipality_id],
            "contact": {"id": message.contact_id,
                        "name": contacts.get((message.municipality_id, message.contact_id), "")},
        }
        for message in messages
    ]


_MESSAGE_FIELDS = ("id", "caller_name", "caller_number", "subject", "text", "urgency",
                   "taken_by", "taken_at", "status", "attempts", "last_error", "email_sent_at",
                   "sms_sent_at", "delivered_at")
