"""Infrastructure behind small interfaces, chosen by configuration: mail, SMS, blob storage.

Each module offers a protocol, a local implementation for the embedded default (mail to a
folder, an SMS outbox file, blobs on disk) and a real one for production (SMTP, an HTTP
SMS gateway, S3-compatible storage), plus a ``*_for(settings)`` factory that picks one.

Failures come in two kinds, so that an ``io=True`` task does the right thing:

- the server is down, slow or overloaded: a built-in :class:`ConnectionError`,
  :class:`TimeoutError` or other :class:`OSError` (or :class:`smtplib.SMTPException`), all
  in ``worker.base.IO_ERRORS``, so the task retries with backoff;
- the server understood and refused for good: :class:`RefusedError`, which is none of
  those, so the task fails at once with the server's reason instead of retrying for hours.
"""

from __future__ import annotations


class RefusedError(Exception):
    """A mail server, SMS gateway or store refused a request for good: retrying cannot help."""
