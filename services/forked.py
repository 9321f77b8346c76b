"""Running a generator in a forked child process, beside the work that consumes its items.

An import reads, decodes and describes a file's records (pure Python, one core's work)
while it writes the records before them to the database (the database's work, and some of
this process's). Run in one process, the two take turns; with the reading in a child of
its own, a machine with two cores does both at once.

The child is forked, so it starts at once with everything the parent has imported and
needs nothing pickled to begin: it runs the generator's function with the arguments as
they are. It must only compute and read files: a database connection or a lock it
inherited is the parent's, and it never touches them. It ends with ``os._exit``, so
nothing the parent set up to run at exit runs twice.

``os.fork`` rather than :mod:`multiprocessing`: a Celery worker runs tasks in daemonic
pool processes, which multiprocessing does not let have children. Items come back pickled
through a pipe; a pipe holds little, so the child is at most an item or so ahead of the
caller and memory stays flat. Where there is no ``fork``, :func:`can_fork` says so and the
caller iterates in its own process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")
_DONE = "done"
_FAILED = "failed"
_ITEM = "item"


class ChildProcessFailed(RuntimeError):
    """The child raised, or died without saying why."""


def can_fork() -> bool:
    """Whether this platform can fork a child (Linux and the other Unixes can)."""
    return hasattr(os, "fork")


def iterate_in_fork(produce: Callable[..., Iterator[_T]], *args: Any) -> Iterator[_T]:
    """The items of ``produce(*args)``, produced in a forked child as the caller takes them.

    An exception in the child is raised here as :class:`ChildProcessFailed` with the
    child's traceback. Closing the iterator early ends the child.
    """
    readable, writable = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(readable)
        _produce(writable, produce, args)
    os.close(writable)
    finished = False
    try:
        with os.fdopen(readable, "rb") as items:
            while True:
                try:
                    # Our own child's pickles, through a pipe only it and we hold.
                    kind, value = pickle.load(items)  # noqa: S301
                except EOFError:
                    break
                if kind == _DONE:
                    finished = True
                    break
                if kind == _FAILED:
                    raise ChildProcessFailed(value)
                yield value
    finally:
        if not finished:
            # Stopped early (or the child failed): it may still be writing, or waiting to.
            _kill(child)
        status = os.waitpid(child, 0)[1]
    if not finished:
        raise ChildProcessFailed(
            f"the child process ended ({_ended(status)}) before it had produced everything")


def _produce(writable: int, produce: Callable[..., Iterator[Any]],
             args: tuple[Any, ...]) -> None:  # pragma: no cover - runs in the child
    # The parent's handlers (a Celery worker's, the test runner's) are not the child's.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code = 0
    try:
        with os.fdopen(writable, "wb") as out:
            try:
                for item in produce(*args):
                    pickle.dump((_ITEM, item), out, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:  # noqa: BLE001 - every failure goes to the parent, raised there
                pickle.dump((_FAILED, traceback.format_exc()), out)
            else:
                pickle.dump((_DONE, None), out)
    except BaseException:  # noqa: BLE001 - the parent stopped reading: nothing left to say
        code = 1
    os._exit(code)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
