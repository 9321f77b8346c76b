"""Outgoing mail: a message, the :class:`Mailer` interface, a folder mailer and SMTP.

``mail_backend=folder`` (the embedded default) writes every message as an ``.eml`` file
under ``<data_dir>/mail/``, where a person or a test can open it; ``mail_backend=smtp``
hands it to the server named by ``smtp_url``. Both send the same bytes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

from services import clock
from services.config import ConfigurationError, Settings
from services.ids import uuid7
from services.infra import RefusedError
from services.infra.files import write_atomically

log = logging.getLogger("samverkan.mail")

# CRLF line ends (RFC 5322) and 7-bit bodies, so the bytes are the same in a folder and
# on the wire and any server takes them, 8BITMIME or not.
MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")

RESERVED_HEADERS = frozenset({
    "from", "to", "cc", "bcc", "subject", "date", "message-id", "reply-to", "mime-version",
    "content-type", "content-transfer-encoding",
})
"""Headers a mailer sets itself; ``Message.headers`` may not override them."""

_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class Message:
    """One mail: recipients, subject, a text body and optionally an HTML alternative.

    Set ``message_id`` (``<notice-…@samverkan.local>``) to something derived from what the
    mail is about, so that a resent mail carries the same Message-ID as the first try.
    """

    to: str | Sequence[str]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    message_id: str | None = None

    def __post_init__(self) -> None:
        recipients = (self.to,) if isinstance(self.to, str) else tuple(self.to)
        object.__setattr__(self, "to", recipients)
        object.__setattr__(self, "headers", dict(self.headers))
        if not recipients:
            raise ValueError("to: a message needs at least one recipient")
        for address in (*recipients, *([self.reply_to] if self.reply_to else [])):
            _check_address(address)
        if self.message_id is not None and not _MESSAGE_ID.fullmatch(self.message_id):
            raise ValueError(f"message_id: must look like <local@domain>, got {self.message_id!r}")
        reserved = sorted(name for name in self.headers if name.lower() in RESERVED_HEADERS)
        if reserved:
            raise ValueError(f"headers: {', '.join(reserved)} is set by the mailer itself")
        _check_one_line({"to": ", ".join(recipients), "subject": self.subject,
                         "reply_to": self.reply_to or "",
                         **{f"headers[{name}]": value for name, value in self.headers.items()}})

    @property
    def recipients(self) -> tuple[str, ...]:
        """The recipients as a tuple, however they were given."""
        return cast(tuple[str, ...], self.to)


class Mailer(Protocol):
    """Something that delivers :class:`Message` objects."""

    def send(self, message: Message) -> str:
        """Deliver ``message`` and return its Message-ID."""
        ...


def mailer_for(settings: Settings) -> Mailer:
    """The mailer ``settings.mail_backend`` names (``folder`` or ``smtp``)."""
    if settings.mail_backend == "folder":
        return FolderMailer(settings.data_dir / "mail", settings.mail_sender)
    if settings.mail_backend == "smtp":
        return SmtpMailer(settings.smtp_url, settings.mail_sender)
    raise ConfigurationError(
        f"SAMVERKAN_MAIL_BACKEND must be folder or smtp, got {settings.mail_backend!r}"
    )


def compose(message: Message, sender: str) -> EmailMessage:
    """``message`` as an RFC 5322 mail from ``sender``, its Message-ID settled."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = sender
    mail["To"] = ", ".join(message.recipients)
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = message.message_id or f"<{uuid7()}@{_domain_of(sender)}>"
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        mail[name] = value
    # Quoted-printable rather than base64: a person reading the .eml sees the words.
    mail.set_content(message.text, cte="quoted-printable")
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return mail


class FolderMailer:
    """Writes each message as an ``.eml`` file, named so that names sort by time sent."""

    def __init__(self, folder: Path, sender: str) -> None:
        _check_address(sender)
        self.folder = folder
        self.sender = sender

    def send(self, message: Message) -> str:
        """Write ``message`` into the folder and return its Message-ID."""
        mail = compose(message, self.sender)
        # The clock's time first (so a test with a frozen clock still gets its order),
        # then a UUIDv7 so two mails in one microsecond keep the order they were sent in.
        name = f"{clock.now():%Y%m%dT%H%M%S%fZ}-{uuid7().hex}.eml"
        write_atomically(self.folder / name, mail.as_bytes())
        return str(mail["Message-ID"])

    def sent(self) -> list[EmailMessage]:
        """Every message written so far, oldest first (for tests and the demo)."""
        return [
            cast(EmailMessage, message_from_bytes(path.read_bytes(), policy=policy.default))
            for path in sorted(self.folder.glob("*.eml"))
        ]


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to reach the SMTP server, as ``smtp_url`` describes it."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """Read ``smtp://user:pass@host:587?starttls=true`` or ``smtps://…`` (implicit TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(
            "SAMVERKAN_SMTP_URL must look like smtp://host:25, "
            "smtp://user:password@host:587?starttls=true or smtps://user:password@host:465"
        )
    starttls = _starttls_option(parts.query)
    implicit_tls = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit_tls else 587 if starttls else 25)
    except ValueError as error:
        raise ConfigurationError("SAMVERKAN_SMTP_URL has an invalid port") from error
    server = SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
    if not f"{server.username or ''}{server.password or ''}".isascii():
        # smtplib encodes AUTH credentials as ASCII; fail at start, not at the first mail.
        raise ConfigurationError("SAMVERKAN_SMTP_URL: user name and password must be ASCII")
    _refuse_plaintext_password(server)
    return server


class SmtpMailer:
    """Sends messages through an SMTP server, with a timeout on every socket operation."""

    def __init__(
        self, url: str, sender: str, *, timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_address(sender)
        self.server = parse_smtp_url(url)
        self.sender = sender
        self.timeout = timeout
        self.tls_context = tls_context or ssl.create_default_context()

    def send(self, message: Message) -> str:
        """Hand ``message`` to the server and return its Message-ID.

        A server that is down, slow or answers 4xx raises an :class:`OSError` or
        :class:`smtplib.SMTPException` (retry later); a 5xx refusal raises
        :class:`RefusedError` with the server's words.
        """
        mail = compose(message, self.sender)
        message_id = str(mail["Message-ID"])
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(mail)
            finally:
                _hang_up(smtp)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError, smtplib.SMTPAuthenticationError) as error:
            rejection = _final_refusal(error)
            if rejection is None:
                raise
            raise rejection from error
        if refused:
            log.warning("the mail server refused some recipients",
                        extra={"message_id": message_id, "refused_count": len(refused)})
        return message_id

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        smtp: smtplib.SMTP
        if server.implicit_tls:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self.timeout,
                                    context=self.tls_context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            if server.starttls:
                smtp.starttls(context=self.tls_context)
            if server.username:
                smtp.login(server.username, server.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _check_address(value: str) -> None:
    parsed = getaddresses([value])
    if len(parsed) != 1 or "@" not in parsed[0][1]:
        raise ValueError(f"{value!r} is not one mail address")


def _check_one_line(values: Mapping[str, str]) -> None:
    # A line break in a header would let the text after it pose as another header (Bcc).
    for name, value in values.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"{name}: must be a single line")


def _domain_of(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2]


def _starttls_option(query: str) -> bool:
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"starttls"})
    if unknown:
        raise ConfigurationError(
            f"SAMVERKAN_SMTP_URL has unknown options {', '.join(unknown)} (only starttls)"
        )
    value = options.get("starttls", ["false"])[-1].lower()
    if value not in _BOOLEANS:
        raise ConfigurationError(
            f"SAMVERKAN_SMTP_URL: starttls must be true or false, got {value!r}"
        )
    return _BOOLEANS[value]


def _refuse_plaintext_password(server: SmtpServer) -> None:
    # A password sent without TLS can be read by anyone on the path; only the local
    # machine is trusted (a relay on localhost, the test server).
    if not server.username or server.implicit_tls or server.starttls:
        return
    try:
        local = ipaddress.ip_address(server.host).is_loopback
    except ValueError:
        local = server.host == "localhost"
    if not local:
        raise ConfigurationError(
            "SAMVERKAN_SMTP_URL has a password but no TLS: use smtps:// or ?starttls=true"
        )


def _hang_up(smtp: smtplib.SMTP) -> None:
    # Once the server has accepted the message a failed QUIT must not raise: the task
    # would retry and the recipients would get the mail twice.
    with contextlib.suppress(OSError, smtplib.SMTPException):
        smtp.quit()
    smtp.close()


def _final_refusal(error: smtplib.SMTPException) -> RefusedError | None:
    # 5xx answers are final; a 4xx (even one among several recipients) is worth a retry.
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        what = "every recipient"
    elif isinstance(error, smtplib.SMTPResponseException):
        answers = [(error.smtp_code, error.smtp_error)]
        what = "the message"
    else:
        return None
    if any(code < 500 for code, _ in answers):
        return None
    reasons = "; ".join(sorted({f"{code} {text.decode('utf-8', 'replace')}"
                                for code, text in answers}))
    return RefusedError(f"the mail server refused {what}: {reasons}")
