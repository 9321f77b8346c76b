"""UUIDv7s made one by one and many at once: valid, unique, and increasing across both."""

from __future__ import annotations

import uuid

from services import ids
from services.ids import uuid7, uuid7s


def test_ids_made_at_once_and_one_by_one_are_version_7_unique_and_increasing():
    made = [uuid7(), *uuid7s(5000), uuid7(), *uuid7s(1), *uuid7s(0), uuid7()]

    assert len(made) == 5004
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {(made_id.version, made_id.variant) for made_id in made} == {(7, uuid.RFC_4122)}
    # Each is the UUID its value makes, equal and hashed alike.
    for made_id in made[:50]:
        assert uuid.UUID(str(made_id)) == made_id
        assert hash(uuid.UUID(int=made_id.int)) == hash(made_id)


def test_more_ids_in_a_millisecond_than_the_counter_holds_go_on_into_the_next():
    before = uuid7()

    made = uuid7s(3 * 4096)

    assert made == sorted(made) and made[0] > before
    milliseconds = {made_id.int >> 80 for made_id in made}
    assert len(milliseconds) >= 3
    assert ids._sequence <= 0xFFF
