"""axe-core, vendored: load it, run it on a Playwright page, and describe what it finds."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).parent / "vendor"
AXE_VERSION = "4.14.1"
"""The axe-core release vendored in ``vendor/axe.min.js`` (see ``vendor/README.md``)."""
AXE_SHA256 = "KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="
"""Its integrity, as axe-core's ``sri-history.json`` publishes it for that release."""


def load_axe() -> str:
    """The vendored axe-core script, checked against its published integrity."""
    script = (VENDOR / "axe.min.js").read_bytes()
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    assert digest == AXE_SHA256, "vendor/axe.min.js is not the axe-core release it claims to be"
    return script.decode("utf-8")


def run_axe(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's violations on ``page`` as it is now (every rule axe runs by default).

    The script goes in through the DevTools protocol, which the page's Content Security
    Policy does not govern, so the CSP under test stays exactly as served.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    version = page.evaluate("() => window.axe.version")
    assert version == AXE_VERSION, f"vendored axe-core is {version}, expected {AXE_VERSION}"
    results = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    return results["violations"]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One readable line per violation and the elements it was found on."""
    lines = []
    for violation in violations:
        targets = [json.dumps(node["target"]) for node in violation["nodes"]][:5]
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} "
            f"({violation['helpUrl']}) on {', '.join(targets)}"
        )
    return "\n".join(lines) or "none"
