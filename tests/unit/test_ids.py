"""Ids: prefixed, ULID-shaped, and strictly increasing within a process (the timeline's tie-break)."""

from __future__ import annotations

import re
import threading
import time

from hypothesis import given
from hypothesis import strategies as st
from ulid_transform import ulid_at_time, ulid_to_timestamp

from tocsin import ids
from tocsin.ids import PREFIXES, monotonic_ulid, new_id

_CROCKFORD = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


@given(kind=st.sampled_from(sorted(PREFIXES)))
def test_an_id_is_its_prefix_and_a_ulid_of_now(kind: str) -> None:
    before = time.time()
    value = new_id(kind)
    prefix, _, ulid = value.partition("_")
    assert prefix == PREFIXES[kind]
    assert _CROCKFORD.fullmatch(ulid)
    assert before - 0.01 <= ulid_to_timestamp(ulid) / 1000 <= time.time() + 0.01


def test_ids_made_in_one_millisecond_still_increase() -> None:
    made = [monotonic_ulid() for _ in range(20_000)]
    assert made == sorted(made) and len(set(made)) == len(made)


def test_a_clock_that_steps_back_does_not_reorder_ids() -> None:
    future = ulid_at_time(time.time() + 3600)
    with ids._lock:
        saved, ids._last = ids._last, future
    try:
        following = monotonic_ulid()
    finally:
        with ids._lock:
            ids._last = saved  # the rest of the session's ids keep today's time
    assert following > future
    assert ulid_to_timestamp(following) == ulid_to_timestamp(future)  # the same millisecond, plus one


def test_threads_never_get_the_same_id() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(monotonic_ulid() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [value for into in made for value in into]
    assert len(set(every)) == len(every)
    assert all(into == sorted(into) for into in made)
