"""An iterator read ahead by a thread: its items in order, its failure raised in place,
its source closed when the caller stops early, and never more than ``depth`` items ahead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from services.ahead import read_ahead


class Source:
    """Numbers, noting the thread each is taken on, how far it got and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.threads: list[str] = []
        self.taken = 0
        self.closed = False

    def __iter__(self) -> Iterator[int]:
        return self.numbers()

    def numbers(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise ValueError(f"record {n} is broken")
                self.threads.append(threading.current_thread().name)
                self.taken = n + 1
                yield n
        finally:
            self.closed = True


def test_the_items_come_in_order_the_first_taken_on_the_callers_thread():
    source = Source(200)

    assert list(read_ahead(iter(source))) == list(range(200))
    assert source.threads[0] == threading.current_thread().name
    assert set(source.threads[1:]) == {"read-ahead"}


def test_a_failure_of_the_source_is_raised_where_its_item_would_have_come():
    seen = []
    with pytest.raises(ValueError, match="record 3 is broken"):
        seen.extend(read_ahead(iter(Source(10, fail_at=3))))

    assert seen == [0, 1, 2]


def test_the_thread_runs_no_more_than_depth_items_ahead():
    source = Source(100)
    items = read_ahead(iter(source), depth=2)
    assert next(items) == 0
    assert next(items) == 1
    deadline = time.monotonic() + 5
    while source.taken < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # time enough to run further ahead, if it could

    # 1 with the caller, 2 and 3 in the queue, and 4 taken but waiting for room.
    assert source.taken == 5
    items.close()


def test_stopping_early_stops_the_thread_and_closes_the_source():
    source = Source(10_000)
    items = read_ahead(iter(source))
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]

    items.close()

    assert source.closed
    assert not any(thread.name == "read-ahead" for thread in threading.enumerate())
    assert source.taken < 10


def test_an_empty_source_gives_nothing_and_starts_no_thread():
    assert list(read_ahead(iter(Source(0)))) == []
    with pytest.raises(ValueError, match="depth"):
        next(read_ahead(iter(Source(3)), depth=0))
