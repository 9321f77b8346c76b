"""Gunicorn settings shared by every Samverkan web process, read from the environment.

Each app runs as its own gunicorn behind nginx, with this one file::

    gunicorn -c deploy/gunicorn.conf.py 'services.platform:create_app()'
    gunicorn -c deploy/gunicorn.conf.py 'switchboard:create_app()'

Only the process shape is set here (address, workers, threads, timeouts, logs); the app
reads its own ``SAMVERKAN_*`` settings through ``services.config``. Variables:

``SAMVERKAN_BIND``
    Address to listen on (``127.0.0.1:8001``, ``unix:/run/samverkan-switchboard/web.sock``).
    Without it, ``PORT`` (set by container platforms, which route to the container from
    outside) gives that port on every interface; else ``127.0.0.1:8000``.
``SAMVERKAN_GUNICORN_WORKERS``
    Worker processes; default 2 × cores + 1, at most :data:`MAX_DEFAULT_WORKERS`.
``SAMVERKAN_GUNICORN_THREADS``
    Threads per worker (default 4).
``SAMVERKAN_GUNICORN_TIMEOUT``
    Seconds a worker may stay silent before it is killed and replaced (default 30).
``SAMVERKAN_FORWARDED_ALLOW_IPS``
    Addresses of the proxies whose ``X-Forwarded-*`` headers are believed (default the
    loopback addresses, where nginx runs; in compose, the container network).
``SAMVERKAN_GUNICORN_CONTROL_SOCKET``
    Path of gunicorn's control socket for ``gunicornc``; unset, there is none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

MAX_DEFAULT_WORKERS = 8
"""Five apps share one machine and each worker holds its own database pool: 2 × cores + 1
per app would ask PostgreSQL for more connections than its default 100 on a large host."""


def default_workers(cores: int | None = None) -> int:
    """The worker count when none is configured: 2 × cores + 1, capped."""
    cores = cores or os.cpu_count() or 1
    return min(2 * cores + 1, MAX_DEFAULT_WORKERS)


def bind_address(environ: Mapping[str, str] = os.environ) -> str:
    """Where to listen: ``SAMVERKAN_BIND``, else ``PORT`` on all interfaces, else port 8000."""
    if environ.get("SAMVERKAN_BIND"):
        return environ["SAMVERKAN_BIND"]
    if environ.get("PORT"):
        return f"0.0.0.0:{environ['PORT']}"
    return "127.0.0.1:8000"


def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


bind = [bind_address()]
workers = _int_setting("SAMVERKAN_GUNICORN_WORKERS", default_workers())
# gthread: a worker's threads serve requests that wait on PostgreSQL or Redis while the
# others run; keep-alive connections from nginx wait in the poller, not in a thread.
worker_class = "gthread"
threads = _int_setting("SAMVERKAN_GUNICORN_THREADS", 4)

timeout = _int_setting("SAMVERKAN_GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
# Longer than nginx's upstream keepalive_timeout (60 s), so that nginx always closes an
# idle connection first and never sends a request on one gunicorn is just closing.
keepalive = 75

# Each worker imports the app itself: no database or broker connection is ever created in
# the arbiter and inherited by forked workers, and a code change needs only a HUP.
preload_app = False
# Recycle workers now and then, so that a slow leak in any library never grows unbounded;
# the jitter keeps the workers of one app from all restarting at once.
max_requests = 2000
max_requests_jitter = 200

# The app's ProxyFix (x_for, x_proto, x_host, x_prefix) reads the X-Forwarded-* headers;
# gunicorn needs to trust the same proxies for the scheme it puts in the WSGI environ.
forwarded_allow_ips = os.environ.get("SAMVERKAN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

_control_socket = os.environ.get("SAMVERKAN_GUNICORN_CONTROL_SOCKET", "")
# Every gunicorn of one user would otherwise share $HOME/.gunicorn/gunicorn.ctl, and each
# one starting would unlink the previous one's socket.
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket

# Logs go to stdout/stderr, for journald or the container runtime to collect. The access
# log is one JSON object a line like the app's own logs (values are not escaped: gunicorn
# formats with %, hence "JSON-ish"); the request id is the one nginx sets or passes on.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("SAMVERKAN_LOG_LEVEL", "info").lower()
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", '
    '"forwarded_for": "%({x-forwarded-for}i)s", "method": "%(m)s", '
    '"prefix": "%({x-forwarded-prefix}i)s", "path": "%(U)s", "query": "%(q)s", '
    '"status": %(s)s, "bytes": "%(b)s", "duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)
