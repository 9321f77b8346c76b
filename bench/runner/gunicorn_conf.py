"""Gunicorn hooks for benchmark servers: each worker says when its app is loaded.

Gunicorn reads this file as its configuration (``--config <path>``), so only gunicorn
setting names belong at module level, and it imports nothing from the project.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Leave a marker once this worker has loaded the app, so timing starts with all ready."""
    ready_dir = os.environ.get("SAMVERKAN_BENCH_READY_DIR")
    if ready_dir:
        (Path(ready_dir) / str(worker.pid)).touch()
