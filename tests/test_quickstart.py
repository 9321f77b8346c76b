"""README command 1: ``samverkan run`` brings up web, a real worker and beat, and stops them.

This runs the real command in a child process on the embedded default (SQLite file and
the server-less filesystem broker), in a fresh data folder, the way a new user would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

STARTUP_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def wait_until(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {seconds} s")
        time.sleep(0.5)


def test_samverkan_run_serves_everything_with_a_real_worker_and_beat(tmp_path: Path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAMVERKAN_")}
    env |= {"SAMVERKAN_DATA_DIR": str(tmp_path / "var"), "SAMVERKAN_LOG_FORMAT": "text",
            "PYTHONUNBUFFERED": "1"}
    samverkan = Path(sys.executable).parent / "samverkan"
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen([str(samverkan), "run", "--port", str(port)], env=env,
                               stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/readyz")["status"] == "ok", STARTUP_SECONDS,
                   "the platform to be ready")
        for prefix in ("/switchboard", "/library", "/refugee-reception", "/procurement"):
            assert get_json(f"{base}{prefix}/healthz")["status"] == "ok"
        names = {m["slug"] for m in get_json(f"{base}/api/municipalities")}
        assert len(names) == 7
        log.seek(0)
        printed = log.read()
        assert "operator.bjurholm" in printed and "samverkan-demo" in printed

        worker_env = env | {"SAMVERKAN_DATA_DIR": str(tmp_path / "var")}
        sent = subprocess.run(
            [sys.executable, "-c",
             "from worker.app import celery_app;"
             "r = celery_app.send_task('services.tasks.purge_expired_credentials');"
             "print(r.get(timeout=120))"],
            env=worker_env, capture_output=True, text=True, timeout=180, check=False,
        )
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.strip() == "0", "the embedded worker ran the task"
        wait_until(lambda: (tmp_path / "var" / "celerybeat-schedule").exists()
                   or list((tmp_path / "var").glob("celerybeat-schedule*")), 60,
                   "beat to keep its schedule")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.seek(0)
    assert "Traceback" not in log.read()
    # The worker and beat are told by the web process as it ends; they may take a moment
    # longer than it to finish their own shutdown.
    wait_until(lambda: subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True,
                                      check=False).stdout == b"", 30,
               "worker and beat to stop with the web process")
