"""Messages operators take for contacts, and their delivery by e-mail and SMS.

Taking a message is an ordinary operation (it flushes; the request commits). Delivering
one is the exception to "operations never commit": mail and SMS leave the building and
cannot be rolled back, so :func:`deliver_message` commits its claim on each channel before
it sends (see there) and commits the outcome after.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.infra import RefusedError
from services.infra.mail import Mailer
from services.infra.mail import Message as Mail
from services.infra.sms import E164, Sms, SmsGateway
from switchboard.models import URGENCIES, Contact, Message
from switchboard.numbers import NumberError, format_number, parse_number
from switchboard.operations.directory import DirectoryError
from switchboard.operations.presence import LOCAL_TIME
from worker.base import IO_ERRORS

MAX_TEXT_LENGTH = 5000
SMS_TEXT_LENGTH = 300
"""How much of the message's text the SMS carries (the e-mail carries all of it)."""
SMS_SENDER = "Vaxeln"
"""Who the SMS is from: networks carry alphanumeric senders reliably only in ASCII."""

_LOOKS_LIKE_A_NUMBER = re.compile(r"[\d\s\-+()/.]*\d[\d\s\-+()/.]*")


def take_message(session: Session, contact_id: uuid.UUID, *, caller_name: str,
                 caller_number: str = "", subject: str = "", text: str = "",
                 urgency: str = "normal", taken_by: str) -> Message:
    """Record a message for a contact in scope, to be delivered by the worker.

    ``caller_number`` is stored in E.164 when it looks like a number (digits and the
    usual separators only) and must then be a valid one; anything with letters in it
    ("dolt nummer", "via receptionen") is kept as the operator wrote it.
    A :class:`LookupError` when the contact is not in scope.
    """
    contact = session.scalars(select(Contact).where(Contact.id == contact_id)).one_or_none()
    if contact is None:
        raise LookupError("No such contact.")
    if contact.left_on is not None and contact.left_on <= clock.now().astimezone(
            LOCAL_TIME).date():
        raise DirectoryError("contact_id", _has_left(session, contact))
    if urgency not in URGENCIES:
        raise DirectoryError("urgency", f"Choose one of {', '.join(URGENCIES)}.")
    message = Message(
        municipality_id=contact.municipality_id, contact_id=contact.id,
        caller_name=_one_line("caller_name", caller_name, 200, required=True),
        caller_number=_caller_number(caller_number), subject=_one_line("subject", subject, 200),
        text=_text(text), urgency=urgency, taken_by=taken_by, taken_at=clock.now(),
        status="queued",
    )
    session.add(message)
    session.flush()
    return message


def find_message(session: Session, message_id: uuid.UUID) -> Message | None:
    """The message with ``message_id`` if it is in scope."""
    return session.scalars(select(Message).where(Message.id == message_id)).one_or_none()


def list_messages(session: Session, contact_id: uuid.UUID | None = None,
                  since: datetime | None = None, limit: int = 50) -> list[Message]:
    """The messages in scope, newest first: for one contact, or taken since a time."""
    statement = select(Message).order_by(Message.taken_at.desc(), Message.id.desc())
    if contact_id is not None:
        statement = statement.where(Message.contact_id == contact_id)
    if since is not None:
        statement = statement.where(Message.taken_at >= since)
    return list(session.scalars(statement.limit(limit)))


def deliver_message(session: Session, message_id: uuid.UUID, mailer: Mailer,
                    sms_gateway: SmsGateway, *, final_attempt: bool = False) -> str:
    """Send a message's e-mail and SMS, each at most once; the message's status afterwards.

    Each channel is claimed (its ``*_sent_at`` set and committed while the row is locked)
    before it is sent. The claim is withdrawn only when the mail server or gateway
    answered "not now" (an IO error: retried) or "never" (a refusal: the message fails);
    either way it did not take the message, so a retry cannot duplicate it. A worker that
    dies between claim and outcome therefore loses that channel rather than sending it
    twice: for a message a person reads, the duplicate that sending first and marking
    after gives on every crash is worse than the rare loss. Two workers racing lock the
    row in turn, and the second finds the channels already claimed.

    Raises the IO error when a channel should be tried again (the task retries with
    backoff), unless ``final_attempt``: then the message ends ``failed``.
    """
    claim = _claim(session, message_id)
    refused = list(claim.refused)
    unavailable: list[tuple[str, Exception]] = []
    if claim.mail is not None:
        try:
            mailer.send(claim.mail)
        except RefusedError as error:
            refused.append(("email", str(error)))
        except IO_ERRORS as error:
            unavailable.append(("email", error))
    if claim.sms is not None:
        try:
            sms_gateway.send(claim.sms)
        except RefusedError as error:
            refused.append(("sms", str(error)))
        except IO_ERRORS as error:
            unavailable.append(("sms", error))
    message = _locked(session, message_id)
    if claim.mail is not None or claim.sms is not None or claim.refused:
        _record_outcome(message, refused, unavailable, final_attempt=final_attempt)
    session.commit()
    if unavailable and message.status == "retrying":
        raise unavailable[0][1]
    return message.status


# --- private helpers ------------------------------------------------------------------

@dataclass(frozen=True)
class _Claim:
    """What one delivery run sends, and what it found it cannot send at all."""

    mail: Mail | None = None
    sms: Sms | None = None
    refused: tuple[tuple[str, str], ...] = ()
    """Channels that cannot be sent at all, with the reason."""


def _claim(session: Session, message_id: uuid.UUID) -> _Claim:
    """Lock the message, claim every channel still to be sent and commit the claim."""
    message = _locked(session, message_id)
    claim = _Claim()
    if message.status not in ("delivered", "failed"):
        claim = _claim_channels(session, message)
    session.commit()
    return claim


def _claim_channels(session: Session, message: Message) -> _Claim:
    contact = session.get(Contact, (message.municipality_id, message.contact_id))
    assert contact is not None  # deleting a contact deletes its messages
    mobile = next((n.e164 for n in contact.numbers if n.kind == "mobile" and n.e164), None)
    if not contact.email and not mobile:
        message.status = "failed"
        message.last_error = "The contact has neither an e-mail address nor a mobile number."
        return _Claim()
    now = clock.now()
    mail = sms = None
    refused: tuple[tuple[str, str], ...] = ()
    if contact.email and message.email_sent_at is None:
        try:
            mail = _mail(message, contact)
        except ValueError as error:
            refused = (("email", f"the contact's address cannot be used ({error})"),)
        else:
            message.email_sent_at = now
    if mobile and message.sms_sent_at is None:
        sms = _sms(message, mobile)
        message.sms_sent_at = now
    if mail is None and sms is None and not refused:
        # An earlier run claimed every channel (and may have died after sending): done.
        message.status = "delivered"
        message.delivered_at = message.delivered_at or max(
            sent for sent in (message.email_sent_at, message.sms_sent_at) if sent)
        return _Claim()
    message.attempts += 1
    return _Claim(mail, sms, refused)


def _record_outcome(message: Message, refused: list[tuple[str, str]],
                    unavailable: list[tuple[str, Exception]], *, final_attempt: bool) -> None:
    # Refused or unavailable, the server did not take it: the claim is withdrawn.
    problems = [*refused, *unavailable]
    for channel, _error in problems:
        setattr(message, f"{channel}_sent_at", None)
    message.last_error = "; ".join(f"{_CHANNEL_NAMES[channel]}: {error}"
                                   for channel, error in problems)
    message.delivered_at = None
    if refused:
        message.status = "failed"
    elif unavailable and final_attempt:
        message.status = "failed"
        message.last_error += f" (gave up after {message.attempts} attempts)"
    elif unavailable:
        message.status = "retrying"
    else:
        message.status = "delivered"
        message.delivered_at = clock.now()


_CHANNEL_NAMES = {"email": "e-mail", "sms": "SMS"}


def _locked(session: Session, message_id: uuid.UUID) -> Message:
    # FOR UPDATE on PostgreSQL; SQLite has no row locks but begins every write
    # transaction IMMEDIATE, which serialises the runs just the same.
    message = session.scalars(
        select(Message).where(Message.id == message_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if message is None:
        raise LookupError(f"No message {message_id} in scope.")
    return message


def _mail(message: Message, contact: Contact) -> Mail:
    urgent = message.urgency == "urgent"
    about = f" – {message.subject}" if message.subject else ""
    lines = [
        f"Hej {contact.name}!",
        "",
        "Växeln har tagit ett meddelande till dig.",
        "",
        f"Vem ringde: {message.caller_name}",
        f"Nummer: {_shown_number(message.caller_number) or '(inget nummer)'}",
        f"Ärende: {message.subject or '(inget angivet)'}",
        f"Angelägenhet: {'BRÅDSKANDE' if urgent else 'normal'}",
        "",
        message.text or "(inget meddelande)",
        "",
        f"Mottaget av {message.taken_by} {_local_time(message.taken_at)}.",
    ]
    return Mail(
        to=contact.email,
        subject=f"{'BRÅDSKANDE: ' if urgent else ''}Meddelande från "
                f"{message.caller_name}{about}",
        text="\n".join(lines) + "\n",
        headers={"Importance": "high"} if urgent else {},
        message_id=f"<message.{message.id}@samverkan.local>",
    )


def _sms(message: Message, mobile: str) -> Sms:
    number = _shown_number(message.caller_number)
    parts = [f"{'BRÅDSKANDE. ' if message.urgency == 'urgent' else ''}Växeln: "
             f"{message.caller_name}{f' ({number})' if number else ''} har sökt dig"
             f"{f' om {message.subject}' if message.subject else ''}."]
    if message.text:
        text = message.text.strip()
        parts.append(text if len(text) <= SMS_TEXT_LENGTH
                     else text[:SMS_TEXT_LENGTH - 1].rstrip() + "…")
    parts.append(f"/{message.taken_by} {_local_time(message.taken_at)}")
    return Sms(to=mobile, text=" ".join(parts), sender=SMS_SENDER,
               reference=f"switchboard-message-{message.id}")


def _shown_number(caller_number: str) -> str:
    return format_number(caller_number) if E164.fullmatch(caller_number) else caller_number


def _local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d kl. %H:%M")


def _has_left(session: Session, contact: Contact) -> str:
    successor = (session.get(Contact, (contact.municipality_id, contact.successor_id))
                 if contact.successor_id else None)
    if successor is None:
        return (f"{contact.name} has left and no successor is named; take the message for "
                "someone else in the unit.")
    return (f"{contact.name} has left; take the message for their successor, "
            f"{successor.name} (contact {successor.id}).")


def _caller_number(value: str) -> str:
    value = _one_line("caller_number", value, 40)
    if not _LOOKS_LIKE_A_NUMBER.fullmatch(value):
        return value
    try:
        return parse_number(value)
    except NumberError as error:
        raise DirectoryError("caller_number", f"{error} Write it out in words if the caller "
                                              "gave no usable number.") from error


def _one_line(field: str, value: str, max_length: int, *, required: bool = False) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise DirectoryError(field, "Must not be empty.")
    if len(value) > max_length:
        raise DirectoryError(field, f"At most {max_length} characters.")
    return value


def _text(value: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT_LENGTH:
        raise DirectoryError("text", f"At most {MAX_TEXT_LENGTH} characters.")
    return value
