"""Taking an iterator's next items in a thread while the caller works on the ones before.

An import spends much of its time waiting for the database, which lets go of the
interpreter while it waits: a thread can meanwhile take the next batch from the reading
child (unpickling it, building its objects), which the caller would otherwise do after
the database had answered. The thread runs at most ``depth`` items ahead, so memory holds
that many more items and no more.

The first item is taken on the caller's own thread: a source that starts something on its
first item (:func:`services.forked.iterate_in_fork` forks its child there) starts it from
the caller, never from a thread of ours. Closing the iterator early stops the thread, then
closes the source on the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

_T = TypeVar("_T")
_ITEM, _DONE, _FAILED = "item", "done", "failed"
_STOP_POLL_SECONDS = 0.05


def read_ahead(items: Iterator[_T], depth: int = 1) -> Iterator[_T]:
    """``items`` in order, the next ``depth`` of them taken by a thread while the caller
    works on the current one; an exception of the source is raised here, in its place."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    source = iter(items)
    try:
        first = next(source)
    except StopIteration:
        return
    taken: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stopping = threading.Event()

    def take() -> None:
        try:
            for item in source:
                taken.put((_ITEM, item))
                if stopping.is_set():
                    return
            taken.put((_DONE, None))
        except BaseException as error:  # noqa: BLE001 - raised on the caller's thread
            taken.put((_FAILED, error))

    thread = threading.Thread(target=take, name="read-ahead", daemon=True)
    finished = False
    try:
        yield first
        thread.start()
        while True:
            kind, value = taken.get()
            if kind == _DONE:
                finished = True
                return
            if kind == _FAILED:
                finished = True
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        if not finished:
            _stop(thread, taken, stopping)
            close = getattr(source, "close", None)
            if close is not None:
                close()


def _stop(thread: threading.Thread, taken: queue.Queue[tuple[str, object]],
          stopping: threading.Event) -> None:
    """End the thread: it stops after the item it is taking, once there is room to put it."""
    stopping.set()
    while thread.is_alive():
        try:
            while True:
                taken.get_nowait()
        except queue.Empty:
            pass
        thread.join(_STOP_POLL_SECONDS)
