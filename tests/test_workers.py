"""When a batch gets worker processes (issue 14): without --jobs only when the batch holds enough
work to pay for starting them (audit/batch.py); --jobs N is honoured; the read-ahead that decides
it is bounded and loses nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from followup.audit import batch as batches
from followup.audit.batch import PARALLEL_MIN_BYTES, PARALLEL_MIN_HISTORIES, Batch
from followup.audit.parallel import cpu_count
from followup.io import Source


def sources(count: int, size: int = 100) -> list[Source]:
    return [Source(f"h{n}.json", "x" * size, format="json") for n in range(count)]


@pytest.mark.parametrize("count", [1, 2, 32, 300, PARALLEL_MIN_HISTORIES - 1])
def test_a_batch_too_small_to_pay_for_workers_runs_here(count: int) -> None:
    assert Batch.of(sources(count)).jobs(None) == 1


def test_a_large_batch_uses_every_cpu() -> None:
    assert Batch.of(sources(PARALLEL_MIN_HISTORIES * 3)).jobs(None) == cpu_count()


def test_few_but_large_histories_are_worth_workers() -> None:
    big = PARALLEL_MIN_BYTES // 10 + 1
    assert Batch.of(sources(10, big)).jobs(None) == cpu_count()
    assert Batch.of(sources(9, big)).jobs(None) == 1


def test_jobs_asked_for_are_honoured_but_never_more_than_a_small_batch_has() -> None:
    assert Batch.of(sources(300)).jobs(2) == 2
    assert Batch.of(sources(3)).jobs(8) == 3
    assert Batch.of(sources(1)).jobs(8) == 1
    # The read-ahead stopped on size: more may follow, so the count asked for stands.
    assert Batch.of(sources(20, PARALLEL_MIN_BYTES // 4)).jobs(8) == 8


def test_the_read_ahead_is_bounded_and_keeps_every_source_in_order() -> None:
    taken: list[int] = []

    def stream(count: int) -> Iterator[Source]:
        for n, source in enumerate(sources(count)):
            taken.append(n)
            yield source

    batch = Batch.of(stream(batches.READ_AHEAD * 3))
    assert len(taken) == batches.READ_AHEAD  # decided from the head alone
    assert [s.name for s in batch] == [f"h{n}.json" for n in range(batches.READ_AHEAD * 3)]
