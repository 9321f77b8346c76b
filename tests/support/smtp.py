"""A real SMTP server for the worker's mailer to send to, in the tests that need one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Inbox:
    """An aiosmtpd handler keeping what it receives and refusing the addresses named."""

    envelopes: list[Any] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        """Refuse the addresses in ``refusals``, accept the rest."""
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        """Keep the message."""
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"
