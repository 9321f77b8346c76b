"""The production topology without containers, as deploy/ describes it.

Five apps each under its own gunicorn (deploy/gunicorn.conf.py), nginx in front with
deploy/nginx/samverkan.conf, two Celery workers splitting the queues, one beat; all in
production mode against the run's PostgreSQL (apps as the non-owner role) and Redis.
Every check goes through nginx, as a browser or an API client would.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import redis
from celery import Celery

from services.config import URL_PREFIXES, ConfigurationError, Settings, load_settings
from tests.conftest import PASSWORD, TEST_BROKER_URL, repo_root
from tests.support.servers import REQUIRE_SERVERS

if TYPE_CHECKING:
    from tests.conftest import TestDatabase

pytestmark = [pytest.mark.deploy, pytest.mark.postgres, pytest.mark.redis]

REPO = repo_root()
DEPLOY = REPO / "deploy"
VENV_BIN = Path(sys.executable).parent
BROKER_DB = 9
"""The Redis database the topology's broker, results and rate limits use (flushed by it)."""

APPS = {
    "platform": "services.platform:create_app()",
    "switchboard": "switchboard:create_app()",
    "library_loans": "library_loans:create_app()",
    "refugee_reception": "refugee_reception:create_app()",
    "procurement": "procurement:create_app()",
}
WORKER_QUEUES = {
    "front": "platform,switchboard",
    "back": "library_loans,refugee_reception,procurement",
}
"""Two workers splitting the queues between them, as README scales them."""

DEPLOY_ONLY_PREFIXES = ("SAMVERKAN_GUNICORN_", "SAMVERKAN_FORWARDED_ALLOW_IPS")
"""Variables deploy/gunicorn.conf.py reads, which services/config.py does not."""

STARTUP_SECONDS = 40.0
STOP_SECONDS = 15.0


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("app", list(APPS))
def test_every_app_is_alive_and_ready_behind_nginx(topology: Topology, app: str) -> None:
    prefix = URL_PREFIXES[app]
    alive = topology.get(f"{prefix}/healthz")
    assert (alive.status, alive.json()) == (200, {"status": "ok", "service": app})
    ready = topology.get(f"{prefix}/readyz")
    assert ready.status == 200, ready.body
    assert ready.json()["checks"]["database"]["ok"] and ready.json()["checks"]["broker"]["ok"]


def test_a_request_id_is_made_by_nginx_or_passed_through(topology: Topology) -> None:
    made = topology.get("/switchboard/healthz")
    passed = topology.get("/library/healthz", headers={"X-Request-Id": "complaint-2024-17"})

    assert passed.headers["x-request-id"] == "complaint-2024-17"
    logged = topology.nginx_logged_uris(made.headers["x-request-id"], "complaint-2024-17")
    assert logged[made.headers["x-request-id"]] == "/switchboard/healthz"
    assert logged["complaint-2024-17"] == "/library/healthz"


def test_static_files_and_page_links_carry_the_service_prefix(topology: Topology) -> None:
    page = topology.get("/switchboard/")
    assert page.status == 200, page.body
    links = LinkCollector.of(page.body)
    assert "/switchboard/static/samverkan.css" in links
    assert any(link.startswith("/switchboard/") and "/static/" not in link for link in links)
    stylesheet = topology.get("/switchboard/static/samverkan.css")
    assert stylesheet.status == 200
    assert stylesheet.headers["content-type"].startswith("text/css")
    spec = topology.get("/switchboard/openapi.json")
    assert spec.json()["info"]["title"] == "Växeln"
    same_site = {urldefrag(urljoin("/switchboard/", link)).url for link in links}
    outcomes = {target: topology.get_following(target)
                for target in same_site if not urlsplit(target).netloc}
    assert {target: status for target, status in outcomes.items() if status != 200} == {}


def test_a_client_cannot_choose_the_prefix_an_app_links_with(topology: Topology) -> None:
    page = topology.get("/", headers={"X-Forwarded-Prefix": "/elsewhere"})
    assert page.status == 200, page.body
    assert "/static/samverkan.css" in LinkCollector.of(page.body)


def test_nginx_redirects_a_bare_prefix_and_compresses_text(topology: Topology) -> None:
    bare = topology.get("/library")
    assert (bare.status, bare.headers["location"]) == (301, "/library/")
    stylesheet = topology.get("/library/static/samverkan.css",
                              headers={"Accept-Encoding": "gzip"})
    assert stylesheet.headers.get("content-encoding") == "gzip"


def test_a_token_made_on_the_command_line_authenticates_through_nginx(
    topology: Topology,
) -> None:
    topology.samverkan("users", "add", "deploy-anna", "--municipality", "vannas",
                       "--password-stdin", stdin=PASSWORD + "\n")
    topology.samverkan("users", "grant", "deploy-anna", "librarian", "--municipality", "vannas")
    token = topology.samverkan("token", "create", "--user", "deploy-anna").strip().splitlines()[-1]

    me = topology.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert me.status == 200, me.body
    assert me.json()["username"] == "deploy-anna"
    assert me.json()["municipality"] == "vannas"
    assert me.json()["grants"] == [{"role": "librarian", "scope": "vannas"}]
    assert topology.get("/api/me").status == 401


def test_both_workers_answer_and_the_platform_queue_runs_a_task(topology: Topology) -> None:
    front, back = (f"{name}@{socket.gethostname()}" for name in WORKER_QUEUES)
    answered: set[str] = set()
    with topology.celery_probe() as probe:

        def both_answer() -> bool:
            for reply in probe.control.ping(timeout=1.0):
                answered.update(reply)
            return {front, back} <= answered

        topology.wait_until(both_answer, "both workers to answer a ping")

        result = probe.send_task("services.tasks.purge_expired_credentials", queue="platform")

        assert result.get(timeout=20) == 0
        stats = probe.control.inspect(destination=[front], timeout=2.0).stats() or {}
    ran = stats[front]["total"]
    assert ran.get("services.tasks.purge_expired_credentials") == 1
    # Beat may meanwhile have sent the switchboard's scheduled sync, which this worker
    # takes too (CI saw it once): whatever ran here is of the platform's or the
    # switchboard's queues.
    assert all(name.startswith(("services.", "switchboard.")) for name in ran), ran


def test_the_env_example_names_every_setting_and_production_refuses_its_placeholder() -> None:
    example = _read_env_file(DEPLOY / "env.example")
    settings_names = {f"SAMVERKAN_{spec.name.upper()}" for spec in fields(Settings)}
    deploy_names = {name for name in example if name.startswith(DEPLOY_ONLY_PREFIXES)}
    assert set(example) - deploy_names == settings_names
    with pytest.raises(ConfigurationError, match="secret key"):
        load_settings(example)
    settings = load_settings({**example, "SAMVERKAN_SECRET_KEY": secrets.token_urlsafe(48)})
    assert settings.is_production and settings.database_url.startswith("postgresql")


def test_beat_keeps_its_schedule_in_the_data_folder(topology: Topology) -> None:
    topology.wait_until(
        lambda: any(topology.data_dir.glob("celerybeat-schedule*")),
        "beat to write its schedule file",
    )
    assert topology.processes["beat"].popen.poll() is None


# --- the topology ----------------------------------------------------------------------


@dataclass
class Reply:
    """An HTTP reply as nginx sent it (redirects are not followed)."""

    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> dict:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Process:
    """A server process of the topology, with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        """The last lines of the process's output, for a failure message."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )


@dataclass
class Topology:
    """The running topology: nginx's port, the processes, and how to talk to them."""

    env: dict[str, str] = field(repr=False)
    data_dir: Path
    nginx_dir: Path
    nginx_port: int = 0
    processes: dict[str, Process] = field(default_factory=dict, repr=False)

    def get(self, path: str, headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> Reply:
        """GET ``path`` through nginx."""
        connection = http.client.HTTPConnection("127.0.0.1", self.nginx_port, timeout=timeout)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            body = response.read()
            if response.getheader("content-encoding") != "gzip":
                body_text = body.decode("utf-8", errors="replace")
            else:
                body_text = ""
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         body_text)
        finally:
            connection.close()

    def nginx_access_log(self) -> list[dict]:
        """nginx's access log so far, one JSON object a line."""
        log = self.nginx_dir / "samverkan.access.log"
        return [json.loads(line) for line in log.read_text().splitlines()]

    def nginx_logged_uris(self, *request_ids: str, within: float = 5.0) -> dict[str, str]:
        """Request id → URI from the access log, once every id in ``request_ids`` is there.

        nginx writes the log line after the response has gone to the client, so a test that
        reads the log straight after its request can get there first.
        """
        deadline = time.monotonic() + within
        while True:
            logged = {entry["request_id"]: entry["uri"] for entry in self.nginx_access_log()}
            if all(request_id in logged for request_id in request_ids):
                return logged
            if time.monotonic() > deadline:
                return logged
            time.sleep(0.05)

    def get_following(self, path: str, hops: int = 3) -> int:
        """The status of GET ``path`` after following up to ``hops`` same-site redirects."""
        reply = self.get(path, headers={"Accept": "text/html"})
        while reply.status in (301, 302, 303, 307, 308) and hops:
            path, hops = urljoin(path, reply.headers["location"]), hops - 1
            reply = self.get(path, headers={"Accept": "text/html"})
        return reply.status

    def samverkan(self, *args: str, stdin: str = "") -> str:
        """Run the ``samverkan`` command with the topology's environment; its stdout."""
        done = subprocess.run([str(VENV_BIN / "samverkan"), *args], input=stdin.encode(),
                              env=self.env, cwd=REPO, capture_output=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode()

    def celery_probe(self) -> Celery:
        """A bare Celery client on the topology's broker (not the app the tests configure)."""
        url = self.env["SAMVERKAN_BROKER_URL"]
        return Celery("deploy-probe", broker=url, backend=url)

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        """Start a server process in its own session, its output in a log file."""
        log = self.data_dir.parent / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("wb") as output:
            popen = subprocess.Popen(command, cwd=REPO, env=env or self.env, stdout=output,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.processes[name] = Process(name, popen, log)

    def wait_until(self, ready: Callable[[], bool], what: str,
                   seconds: float = STARTUP_SECONDS) -> None:
        """Poll ``ready`` until it holds; fail, with the logs, if a process dies or time ends."""
        deadline = time.monotonic() + seconds
        while True:
            dead = [p for p in self.processes.values() if p.popen.poll() is not None]
            if dead:
                pytest.fail(f"waiting for {what}: a process exited\n" + self.logs(dead))
            with contextlib.suppress(OSError, http.client.HTTPException):
                if ready():
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"gave up after {seconds:.0f} s waiting for {what}\n" + self.logs())
            time.sleep(0.2)

    def logs(self, processes: list[Process] | None = None) -> str:
        """The tails of the processes' logs."""
        return "\n".join(p.tail() for p in processes or self.processes.values())

    def stop(self) -> None:
        """Stop every process gracefully, then kill what is left of each process group."""
        # nginx first: its keep-alive connections would otherwise hold gunicorn's workers
        # in their graceful shutdown.
        order = sorted(self.processes.values(), key=lambda process: process.name != "nginx")
        for stage in (order[:1], order[1:]):
            self._stop(stage)

    def _stop(self, processes: list[Process]) -> None:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Gunicorn's workers and Celery's pool children share the leader's group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=STOP_SECONDS)


@pytest.fixture(scope="module")
def topology(migrated: Settings, test_database: TestDatabase,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """The whole production topology, up and answering, for this module's tests."""
    gunicorn, nginx = _servers()
    root = tmp_path_factory.mktemp("topology")
    broker = urlsplit(TEST_BROKER_URL)._replace(path=f"/{BROKER_DB}").geturl()
    topology = Topology(_production_env(migrated, test_database, broker, root / "data"),
                        root / "data", root / "nginx")
    topology.data_dir.mkdir()
    _flush(broker)
    try:
        ports = {app: _free_port() for app in APPS}
        for app, target in APPS.items():
            env = {**topology.env, "SAMVERKAN_BIND": f"127.0.0.1:{ports[app]}",
                   "SAMVERKAN_GUNICORN_WORKERS": "2" if app == "platform" else "1",
                   "SAMVERKAN_GUNICORN_THREADS": "2"}
            topology.start(app, [str(gunicorn), "-c", str(DEPLOY / "gunicorn.conf.py"),
                                 "--name", f"samverkan-{app}", target], env)
        for name, queues in WORKER_QUEUES.items():
            topology.start(f"worker-{name}", [
                str(VENV_BIN / "celery"), "-A", "worker.app", "worker", f"--queues={queues}",
                f"--hostname={name}@%h", "--concurrency=1", "--without-gossip",
                "--without-mingle", "--loglevel=INFO",
            ])
        topology.start("beat", [str(VENV_BIN / "samverkan"), "beat"])
        topology.nginx_port = _free_port()
        config = _render_nginx(topology.nginx_dir, ports, topology.nginx_port)
        _check_nginx_config(nginx, config)
        topology.start("nginx", [nginx, "-p", str(config.parent), "-c", str(config),
                                 "-e", str(config.parent / "error.log"), "-g", "daemon off;"])
        for app in APPS:
            topology.wait_until(
                # A short timeout: gunicorn accepts connections before its workers boot.
                lambda app=app: topology.get(f"{URL_PREFIXES[app]}/healthz",
                                             timeout=1.0).status == 200,
                f"{app} to answer through nginx",
            )
        yield topology
    finally:
        topology.stop()
        _flush(broker)


def _servers() -> tuple[Path, str]:
    gunicorn = VENV_BIN / "gunicorn"
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    missing = [name for name, found in (("gunicorn", gunicorn.exists()), ("nginx", nginx))
               if not found]
    if missing:
        reason = f"the deploy topology needs {' and '.join(missing)} on PATH"
        if REQUIRE_SERVERS:
            pytest.fail(f"SAMVERKAN_REQUIRE_SERVERS=1 but {reason}")
        pytest.skip(reason)
    assert nginx is not None
    return gunicorn, nginx


def _production_env(settings: Settings, database: TestDatabase, broker: str,
                    data_dir: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SAMVERKAN_")}
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "SAMVERKAN_ENVIRONMENT": "production",
        "SAMVERKAN_SECRET_KEY": secrets.token_urlsafe(48),
        "SAMVERKAN_DATA_DIR": str(data_dir),
        "SAMVERKAN_DATABASE_URL": database.app_url,
        "SAMVERKAN_DATABASE_OWNER_URL": database.owner_url,
        "SAMVERKAN_DATABASE_APP_ROLE": settings.database_app_role,
        "SAMVERKAN_BROKER_URL": broker,
        "SAMVERKAN_RATE_LIMIT_STORAGE_URL": broker,
        "SAMVERKAN_LOG_LEVEL": "INFO",
    }


def _render_nginx(folder: Path, ports: dict[str, int], listen: int) -> Path:
    """deploy/nginx/samverkan.conf with the test's ports and paths, inside a main config."""
    folder.mkdir()
    site = (DEPLOY / "nginx" / "samverkan.conf").read_text()
    site, upstreams = re.subn(
        r"(upstream samverkan_(\w+) \{\n    server )127\.0\.0\.1:\d+;",
        lambda match: f"{match[1]}127.0.0.1:{ports[match[2]]};", site,
    )
    site, listens = re.subn(r"^    listen 80;$", f"    listen 127.0.0.1:{listen};", site,
                            flags=re.MULTILINE)
    site, listens_v6 = re.subn(r"^    listen \[::\]:80;\n", "", site, flags=re.MULTILINE)
    site, logs = re.subn(r"/var/log/nginx/", f"{folder}/", site)
    assert (upstreams, listens, listens_v6, logs) == (len(ports), 1, 1, 2), (
        "deploy/nginx/samverkan.conf no longer has the shape this test renders"
    )
    (folder / "samverkan.conf").write_text(site)
    # Running as root, nginx's workers would otherwise drop to "nobody", who may not enter
    # pytest's private temporary folder.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(
        f"    {kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n{temp_paths}    access_log off;\n"
        f"    include {folder / 'samverkan.conf'};\n}}\n"
    )
    return main


def _check_nginx_config(nginx: str, config: Path) -> None:
    checked = subprocess.run([nginx, "-t", "-p", str(config.parent), "-c", str(config),
                              "-e", str(config.parent / "error.log")],
                             capture_output=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr.decode(errors="replace")


def _read_env_file(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition("=")
            entries[key] = value
    return entries


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _flush(broker: str) -> None:
    # The topology's own Redis database: no message of an earlier, interrupted run may
    # reach this run's workers.
    client = redis.Redis.from_url(broker)
    try:
        client.flushdb()
    finally:
        client.close()


class LinkCollector(HTMLParser):
    """The href and src attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Keep every link the page makes."""
        self.links.extend(value for name, value in attrs if name in ("href", "src") and value)

    @classmethod
    def of(cls, page: str) -> list[str]:
        """Every link in ``page``, in order."""
        collector = cls()
        collector.feed(page)
        return collector.links
