"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, Response
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def add_security_headers(response: Response) -> Response:
    """Set CSP, framing, sniffing, referrer and permissions headers (HSTS behind TLS).

    A view may set its own value for any of them; the others are added in one pass
    (six setdefault calls each scanned the header list twice, on every request).
    """
    present = {name.lower() for name in response.headers.keys()}  # noqa: SIM118
    response.headers.extend(
        [(name, value) for name, value in SECURITY_HEADERS if name.lower() not in present]
    )
    return response


class CachedSigningSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session (it carries the CSRF secret), signer built once.

    Flask builds the signing serializer anew on every request that has a secret key;
    the key never changes while the app runs, so one serializer per app will do.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The app's serializer, made on first use."""
        cached = app.extensions.get("samverkan_session_serializer")
        if cached is None:
            cached = super().get_signing_serializer(app)
            app.extensions["samverkan_session_serializer"] = cached
        return cached
