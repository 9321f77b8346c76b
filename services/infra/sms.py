"""Outgoing SMS: a text message, the :class:`SmsGateway` interface, an outbox and HTTP.

``sms_backend=recorded`` (the embedded default) appends every message as a JSON line to
``<data_dir>/sms/outbox.jsonl``; ``sms_backend=http`` posts it to ``sms_gateway_url`` as
JSON::

    {"reference": "…", "to": "+46701234567", "sender": "Umea kommun", "text": "…"}

Credentials in the URL (``https://user:secret@sms.example/send``) go as HTTP Basic auth.
Any 2xx answer means accepted; 408, 429 and 5xx mean "try again later"; any other 4xx is
a refusal, reported with the gateway's reason.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from services import clock
from services.config import ConfigurationError, Settings
from services.ids import uuid7
from services.infra import RefusedError

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
"""A phone number in international form: ``+`` and country code, at most 15 digits."""

MAX_SENDER_LENGTH = 11
"""The longest alphanumeric sender name the mobile networks carry."""

_RETRYABLE_STATUSES = frozenset({408, 429})
_REASON_FIELDS = ("error", "message", "reason", "detail")


@dataclass(frozen=True)
class Sms:
    """One text message to a phone number in E.164 form (``+46701234567``).

    Set ``reference`` to something derived from what the message is about, so that a
    gateway (and the outbox) can recognise a resend of the same message.
    """

    to: str
    text: str
    sender: str = "Samverkan"
    reference: str | None = None

    def __post_init__(self) -> None:
        if not E164.fullmatch(self.to):
            raise ValueError(f"to: {self.to!r} is not a phone number in E.164 form (+46…)")
        if not self.text.strip():
            raise ValueError("text: an SMS needs some text")
        if not 0 < len(self.sender) <= MAX_SENDER_LENGTH:
            raise ValueError(f"sender: must be 1 to {MAX_SENDER_LENGTH} characters, "
                             f"got {self.sender!r}")


class SmsGateway(Protocol):
    """Something that delivers :class:`Sms` messages."""

    def send(self, sms: Sms) -> str:
        """Deliver ``sms`` and return its reference."""
        ...


def sms_gateway_for(settings: Settings) -> SmsGateway:
    """The gateway ``settings.sms_backend`` names (``recorded`` or ``http``)."""
    if settings.sms_backend == "recorded":
        return RecordedSmsGateway(settings.data_dir / "sms" / "outbox.jsonl")
    if settings.sms_backend == "http":
        return HttpSmsGateway(settings.sms_gateway_url)
    raise ConfigurationError(
        f"SAMVERKAN_SMS_BACKEND must be recorded or http, got {settings.sms_backend!r}"
    )


class RecordedSmsGateway:
    """Sends nothing: appends each message to a JSON-lines outbox that can be read back."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, sms: Sms) -> str:
        """Append ``sms`` to the outbox and return its reference."""
        reference = sms.reference or str(uuid7())
        record = {**asdict(sms), "reference": reference, "sent_at": clock.now().isoformat()}
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        # One write to a file opened for appending: lines from several workers interleave
        # whole, never mixed within a line.
        with self.outbox.open("ab") as file:
            file.write(line.encode("utf-8"))
        return reference

    def sent(self) -> list[Sms]:
        """Every message in the outbox, oldest first (for tests and the demo)."""
        if not self.outbox.exists():
            return []
        lines = self.outbox.read_text(encoding="utf-8").splitlines()
        return [_sms_from_record(json.loads(line)) for line in lines if line]


class HttpSmsGateway:
    """Posts each message as JSON to an SMS gateway's HTTP endpoint."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url, self.authorization = _split_credentials(url)
        self.timeout = timeout
        # A redirected POST would silently become a GET without the message.
        self.opener = urllib.request.build_opener(_RefuseRedirects)

    def send(self, sms: Sms) -> str:
        """Post ``sms`` to the gateway and return its reference.

        Down, slow or overloaded gateways raise :class:`ConnectionError` or
        :class:`TimeoutError` (retry later); a refusal raises :class:`RefusedError`.
        """
        reference = sms.reference or str(uuid7())
        body = json.dumps({**asdict(sms), "reference": reference}, ensure_ascii=False)
        request = urllib.request.Request(  # noqa: S310 - the scheme was checked in __init__
            self.url, data=body.encode("utf-8"), method="POST", headers=self._headers()
        )
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise _failure(error) from error
        except urllib.error.URLError as error:
            raise ConnectionError(f"the SMS gateway cannot be reached: {error.reason}") from error
        return reference

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        return headers


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _split_credentials(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "SAMVERKAN_SMS_GATEWAY_URL must be an http:// or https:// URL "
            "when SAMVERKAN_SMS_BACKEND is http"
        )
    if parts.username is None:
        return url, None
    secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    authorization = "Basic " + base64.b64encode(secret.encode("utf-8")).decode("ascii")
    without_credentials = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    return urlunsplit(without_credentials), authorization


def _failure(error: urllib.error.HTTPError) -> Exception:
    reason = _reason(error)
    if error.code >= 500 or error.code in _RETRYABLE_STATUSES:
        return ConnectionError(f"the SMS gateway is unavailable ({error.code}): {reason}")
    return RefusedError(f"the SMS gateway refused the message ({error.code}): {reason}")


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        body = error.read(2048).decode("utf-8", "replace").strip()
    except OSError:
        body = ""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for name in _REASON_FIELDS:
            if isinstance(document.get(name), str) and document[name]:
                return document[name]
    return body or str(error.reason)


def _sms_from_record(record: dict[str, Any]) -> Sms:
    return Sms(to=record["to"], text=record["text"], sender=record["sender"],
               reference=record["reference"])
