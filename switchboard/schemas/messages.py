"""Schemas of messages taken for contacts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class NewMessageSchema(Schema):
    """A message as the operator takes it; the operation checks each field's content."""

    caller_name = fields.String(load_default="")
    caller_number = fields.String(
        load_default="",
        metadata={"description": "a phone number (stored in E.164) or words: 'dolt nummer'"})
    subject = fields.String(load_default="")
    text = fields.String(load_default="")
    urgency = fields.String(load_default="normal",
                            metadata={"description": "normal or urgent"})


class MessageContactSchema(Schema):
    """The contact a message is for."""

    id = fields.UUID()
    name = fields.String()


class MessageSchema(Schema):
    """A message and how its delivery is going."""

    id = fields.UUID()
    municipality = fields.String()
    contact = fields.Nested(MessageContactSchema)
    caller_name = fields.String()
    caller_number = fields.String()
    subject = fields.String()
    text = fields.String()
    urgency = fields.String()
    taken_by = fields.String()
    taken_at = fields.DateTime()
    status = fields.String(metadata={"description": "queued, retrying, delivered or failed"})
    attempts = fields.Integer()
    last_error = fields.String()
    email_sent_at = fields.DateTime(allow_none=True)
    sms_sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class MessageQuerySchema(Schema):
    """Which messages to list: for one contact, since a time, how many."""

    contact = fields.UUID(load_default=None)
    since = fields.AwareDateTime(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
