"""What to do with tests whose server or program is missing: skip visibly, or on CI refuse."""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVERS = os.environ.get("SAMVERKAN_REQUIRE_SERVERS") == "1"
"""CI's strict pass: a test that would skip for a missing server fails the run instead."""


def skip_or_refuse(items: list[pytest.Item], missing: str, kind: str) -> None:
    """Skip ``items`` naming what is ``missing``; with REQUIRE_SERVERS, stop the run."""
    if not items:
        return
    if REQUIRE_SERVERS:
        raise pytest.UsageError(
            f"SAMVERKAN_REQUIRE_SERVERS=1 but {missing}: "
            f"{len(items)} {kind} tests would be skipped"
        )
    for item in items:
        item.add_marker(pytest.mark.skip(reason=f"needs {kind}: {missing}"))
