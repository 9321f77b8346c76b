"""Serving a WSGI app over HTTP with gunicorn, and driving it with concurrent clients.

The server runs in a child process tree (gunicorn from the venv, gthread workers) and the
load comes from asyncio clients on raw keep-alive sockets in the benchmark's process, so
the two never share a GIL; the generator's own CPU use is reported with every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from bench.runner.timing import latency_summary

REPO_ROOT = Path(__file__).resolve().parents[2]
# Loaded by path, not as ``bench.runner.gunicorn_conf``: importing this package would load
# the platform into every master, and so into the baseline's forked workers.
GUNICORN_CONF = Path(__file__).resolve().with_name("gunicorn_conf.py")


@dataclass
class Server:
    """A gunicorn serving one WSGI app on a loopback port, in its own process tree."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    workers: int
    threads: int

    def cpu_seconds(self) -> float:
        """User plus system CPU time the master and its workers have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self._pids():
            with contextlib.suppress(OSError):
                fields = _proc_stat(pid)
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def rss_mib(self) -> float:
        """Resident memory of the master and its workers together, in MiB."""
        kib = 0
        for pid in self._pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        kib += int(line.split()[1])
        return round(kib / 1024, 1)

    def log_lines(self) -> int:
        """How many lines the server has written to its log (stdout and stderr) so far."""
        with self.log_path.open("rb") as log:
            return sum(1 for _ in log)

    def _pids(self) -> list[int]:
        master = self.process.pid
        pids = [master]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    if int(_proc_stat(int(entry.name))[1]) == master:
                        pids.append(int(entry.name))
        return pids


@contextlib.contextmanager
def serve(target: str, *, workers: int, threads: int, env: Mapping[str, str] | None = None,
          ready_path: str = "/healthz", startup_seconds: float = 90) -> Iterator[Server]:
    """Serve ``target`` (``module:factory()``) with gunicorn gthread workers inside the block."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    with tempfile.TemporaryDirectory(prefix="samverkan-bench-serve-") as folder:
        ready_dir = Path(folder) / "ready"
        ready_dir.mkdir()
        log_path = Path(folder) / "server.log"
        # The parent binds the port and hands gunicorn the socket, so no other process
        # can take the port between choosing it and listening on it.
        listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
        port = listener.getsockname()[1]
        listener.set_inheritable(True)
        command = [
            str(gunicorn), "--bind", f"fd://{listener.fileno()}",
            "--worker-class", "gthread", "--workers", str(workers), "--threads", str(threads),
            "--config", str(GUNICORN_CONF), "--no-control-socket",
            "--log-level", "info", "--chdir", str(REPO_ROOT), target,
        ]
        python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        child_env = {**os.environ, **(env or {}), "SAMVERKAN_BENCH_READY_DIR": str(ready_dir),
                     "PYTHONPATH": python_path}
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=log, env=child_env,
                                       pass_fds=(listener.fileno(),), cwd=REPO_ROOT)
        listener.close()
        server = Server("127.0.0.1", port, process, log_path, workers, threads)
        try:
            _wait_until_ready(server, ready_dir, ready_path, startup_seconds)
            yield server
        finally:
            _stop(process)


def fetch(server: Server, path: str) -> tuple[int, bytes]:
    """One GET over a fresh connection: the status and body (for checks, not timing)."""
    connection = HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def drive(server: Server, path: str, *, clients: int, requests: int | None = None,
          seconds: float | None = None, requests_per_connection: int = 20) -> dict[str, Any]:
    """GET ``path`` from ``clients`` keep-alive connections, for N requests or S seconds."""
    if (requests is None) == (seconds is None):
        raise ValueError("drive needs exactly one of requests and seconds")
    request = (f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
               "User-Agent: samverkan-bench\r\nAccept: application/json\r\n\r\n").encode()
    tally = _Tally(remaining=requests)
    cpu_server, cpu_self = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else math.inf
    asyncio.run(_drive_all(server.host, server.port, request, clients, tally, deadline,
                           requests_per_connection))
    elapsed = time.perf_counter() - started
    generator_cpu = (time.process_time() - cpu_self) / elapsed
    served = len(tally.latencies)
    server_cpu = server.cpu_seconds() - cpu_server
    return {
        "clients": clients,
        "requests_per_connection": requests_per_connection,
        "requests": tally.sent,
        "succeeded": served,
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors),
        "seconds": round(elapsed, 3),
        "rps": round(served / elapsed, 1),
        "latency_ms": latency_summary(tally.latencies),
        "server_cpu_cores": round(server_cpu / elapsed, 2),
        "server_cpu_us_per_request": round(server_cpu / served * 1e6, 1) if served else None,
        "load_generator_cpu_cores": round(generator_cpu, 2),
        # One asyncio thread cannot use more than one core: near it, the generator and
        # not the server sets the pace, and the rps figure says little about the server.
        "load_generator_saturated": generator_cpu > 0.9,
    }


# --- private helpers -------------------------------------------------------------------


@dataclass
class _Tally:
    remaining: int | None
    sent: int = 0
    latencies: list[int] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def take(self, deadline: float) -> bool:
        if time.perf_counter() >= deadline:
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        self.sent += 1
        return True


async def _drive_all(host: str, port: int, request: bytes, clients: int, tally: _Tally,
                     deadline: float, per_connection: int) -> None:
    await asyncio.gather(*(_client(host, port, request, tally, deadline, per_connection)
                           for _ in range(clients)))


async def _client(host: str, port: int, request: bytes, tally: _Tally, deadline: float,
                  per_connection: int) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    clock = time.perf_counter_ns
    sent_on_connection = 0
    while tally.take(deadline):
        try:
            async with asyncio.timeout(30):
                if writer is None or reader is None or sent_on_connection >= per_connection:
                    # Gunicorn workers share one listening socket and keep what they accept:
                    # with long-lived connections one worker could hold all 16 while the
                    # other idles (seen: rounds at exactly one core, half the rps). A new
                    # connection every few requests goes to whichever worker accepts first,
                    # the less busy one, which keeps the load spread across workers.
                    _close(writer)
                    reader, writer = await asyncio.open_connection(host, port)
                    sent_on_connection = 0
                sent_on_connection += 1
                started = clock()
                writer.write(request)
                status, keep_alive = await _read_response(reader)
                finished = clock()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError) as error:
            tally.errors[type(error).__name__] += 1
            writer = reader = _close(writer)
            continue
        if status < 400:
            tally.latencies.append(finished - started)
        else:
            tally.errors[f"http_{status}"] += 1
        if not keep_alive:
            writer = reader = _close(writer)
    _close(writer)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = head.lower()
    length = _header(headers, b"content-length")
    if length is not None:
        await reader.readexactly(int(length))
    elif _header(headers, b"transfer-encoding") == b"chunked":
        await _read_chunked(reader)
    else:
        raise ValueError("response without a length")
    keep_alive = _header(headers, b"connection") != b"close" and head.startswith(b"HTTP/1.1")
    return status, keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


def _header(headers: bytes, name: bytes) -> bytes | None:
    start = headers.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return headers[start:headers.index(b"\r\n", start)].strip()


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()


def _wait_until_ready(server: Server, ready_dir: Path, path: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}:\n"
                               + _tail(server.log_path))
        if len(list(ready_dir.iterdir())) >= server.workers:
            status, body = fetch(server, path)
            if status == 200:
                return
            raise RuntimeError(f"GET {path} answered {status}: {body[:200]!r}")
        time.sleep(0.05)  # polling a child process's start-up, not waiting in a test
    raise RuntimeError(f"gunicorn not ready after {seconds}s:\n" + _tail(server.log_path))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _proc_stat(pid: int) -> list[str]:
    # The fields from the third (state) on: the command name before them may hold spaces,
    # so split after its closing parenthesis. Index 1 is then ppid, 11 utime, 12 stime.
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()
