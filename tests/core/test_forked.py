"""A generator run in a forked child: its items in order, its failures raised here."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import billiard
import pytest

from services.forked import ChildProcessFailed, can_fork, iterate_in_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")


def squares(count: int, offset: int = 0) -> Iterator[tuple[int, int]]:
    for n in range(count):
        yield os.getpid(), n * n + offset


def failing_after(count: int) -> Iterator[int]:
    yield from range(count)
    raise ValueError("the third record's directory is broken")


def dying_after(count: int) -> Iterator[int]:
    yield from range(count)
    os._exit(3)


def endless() -> Iterator[int]:
    yield os.getpid()
    yield from itertools.count()


def test_the_items_come_in_order_from_another_process():
    items = list(iterate_in_fork(squares, 50, 7))

    assert [value for _, value in items] == [n * n + 7 for n in range(50)]
    assert {pid for pid, _ in items} != {os.getpid()}
    assert len({pid for pid, _ in items}) == 1


def test_an_exception_in_the_child_is_raised_here_with_its_traceback():
    seen = []
    with pytest.raises(ChildProcessFailed, match="the third record's directory is broken"):
        seen.extend(iterate_in_fork(failing_after, 3))
    assert seen == [0, 1, 2]


def test_a_child_that_dies_without_a_word_is_a_failure_not_a_hang():
    with pytest.raises(ChildProcessFailed, match="exit code 3"):
        list(iterate_in_fork(dying_after, 2))


def test_closing_the_iterator_early_ends_the_child():
    items = iterate_in_fork(endless)
    child = next(items)
    assert [next(items) for _ in range(3)] == [0, 1, 2]

    items.close()

    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def _collected_in_fork(count: int) -> list[int]:
    return [value for _, value in iterate_in_fork(squares, count)]


def test_a_daemonic_pool_process_as_celery_runs_tasks_in_can_fork_a_reader_too():
    # multiprocessing refuses a daemonic process children; the worker's tasks run in such.
    with billiard.Pool(1) as pool:
        assert pool.apply(_collected_in_fork, (5,)) == [0, 1, 4, 9, 16]
