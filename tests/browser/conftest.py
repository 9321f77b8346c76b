"""Fixtures for driving the pages in a real browser: a live server and Debian's Chromium.

The embedded platform (every service mounted, as ``samverkan run`` serves it) runs in a
thread on a free loopback port, against the run's migrated test database. Playwright
drives ``/usr/bin/chromium`` (Playwright's own browser downloads are not used). Without
that Chromium the tests marked ``browser`` skip, visibly; with
``SAMVERKAN_REQUIRE_SERVERS=1`` (CI's strict pass) they fail instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from services.config import Settings
from tests.browser.axecore import load_axe
from tests.support.servers import skip_or_refuse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium waits on the (closed) network for updates and sync.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (visibly) browser tests without Chromium; on CI's strict pass, refuse instead."""
    missing = _missing_browser()
    if missing:
        needing = [item for item in items if item.get_closest_marker("browser")]
        skip_or_refuse(needing, missing, "browser")


def _missing_browser() -> str:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return ""


# --- the server ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(migrated: Settings, celery_app: Any) -> Iterator[str]:
    """The embedded platform served over HTTP on 127.0.0.1; yields its base URL.

    The Celery app is configured for the run's broker first: a page that queues a task (a
    library check-in tells the patron) sends it where the tests' worker listens.
    """
    from services.embedded import create_embedded_app

    server = make_server("127.0.0.1", 0, create_embedded_app(migrated), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, started once for the run (each test gets a fresh context)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@dataclass
class BrowserPage:
    """A Playwright page on the live server, with what the browser complained about."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        """Go to ``path`` on the live server; the HTTP response."""
        return self.page.goto(self.base_url + path)

    def csp_violations(self) -> list[str]:
        """Console errors where the Content Security Policy refused something."""
        return [message for message in self.console_errors if "Content Security Policy" in message]


@pytest.fixture
def browser_page(chromium: Any, live_server: str) -> Iterator[BrowserPage]:
    """A page in a fresh browser context (no cookies), speaking Swedish like most users."""
    context = chromium.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    browser_page = BrowserPage(context.new_page(), live_server)

    def remember_error(message: Any) -> None:
        if message.type == "error":
            browser_page.console_errors.append(message.text)

    browser_page.page.on("console", remember_error)
    yield browser_page
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``SAMVERKAN_SCREENSHOT_DIR`` if set, else a temp folder."""
    chosen = os.environ.get("SAMVERKAN_SCREENSHOT_DIR")
    if chosen:
        folder = Path(chosen)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The vendored axe-core script, checked against its published integrity."""
    return load_axe()
