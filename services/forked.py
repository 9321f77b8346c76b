"""Running a generator in a forked child process, beside the work that consumes its items.

An import reads, decodes and describes a file's records (pure Python, one core's work)
while it writes the records before them to the database (the database's work, and some of
this process's). Run in one process, the two take turns; with the reading in a child of
its own, a machine with two cores does both at once.

The child is forked, so it starts at once with everything the parent has imported and
needs nothing pickled to begin: it gets the generator's function and arguments as they
are. It must only compute and read files: a database connection or a lock it inherited is
the parent's, and it never touches them. Items come back pickled through a queue of a few
items, so the child runs at most that far ahead and memory stays flat. Where ``fork`` is not
available, :func:`can_fork` says so and the caller iterates in its own process.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")
_DONE = "done"
_FAILED = "failed"
_ITEM = "item"
_WAIT = 1.0
"""Seconds to wait for an item before looking whether the child is still alive."""


class ChildProcessFailed(RuntimeError):
    """The child raised, or died without saying why."""


def can_fork() -> bool:
    """Whether this platform can fork a child (Linux and the other Unixes can)."""
    return "fork" in multiprocessing.get_all_start_methods()


def iterate_in_fork(produce: Callable[..., Iterator[_T]], *args: Any,
                    ahead: int = 2) -> Iterator[_T]:
    """The items of ``produce(*args)``, produced in a forked child at most ``ahead`` items
    ahead of the caller.

    An exception in the child is raised here as :class:`ChildProcessFailed` with the
    child's traceback. Closing the iterator early ends the child.
    """
    context = multiprocessing.get_context("fork")
    items = context.Queue(maxsize=ahead)
    child = context.Process(target=_produce, args=(items, produce, args), daemon=True,
                            name=f"samverkan-{getattr(produce, '__name__', 'producer')}")
    child.start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=_WAIT)
            except queue.Empty:
                if not child.is_alive():
                    raise ChildProcessFailed(
                        f"the child process ended (exit code {child.exitcode}) "
                        "before it had produced everything") from None
                continue
            if kind == _DONE:
                break
            if kind == _FAILED:
                raise ChildProcessFailed(value)
            yield value
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
        items.close()
        items.join_thread()


def _produce(items: Any, produce: Callable[..., Iterator[Any]], args: tuple[Any, ...]) -> None:
    try:
        for item in produce(*args):
            items.put((_ITEM, item))
    except BaseException:  # noqa: BLE001 - every failure goes to the parent, raised there
        items.put((_FAILED, traceback.format_exc()))
    else:
        items.put((_DONE, None))
    # The queue's feeder thread sends what is left before the child exits.
    items.close()
    items.join_thread()
