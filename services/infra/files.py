"""Writing files so that a reader sees the old content or the new, never half of one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from services.ids import uuid7


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file sits beside the target (same file system, so the rename is
    # atomic) and starts with a dot, so listings of *.eml or blob keys never see it.
    temporary = path.with_name(f".{path.name}.{uuid7().hex}.tmp")
    try:
        with temporary.open("xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
