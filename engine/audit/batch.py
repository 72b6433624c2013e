"""A batch of histories, audited in this process or on worker processes: what ``followup audit``
and the Python API's ``audit_many`` share.

How many processes a batch gets is decided here (:meth:`Batch.jobs`): worker processes pay off only
when the batch holds enough work to outweigh starting them, so the first histories are read ahead
and weighed before any worker starts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..diagnostics import InputError
from ..io.sources import DEFAULT_MAX_SIZE, Source, Warn, iter_sources
from ..model import Engine, HistoryResult
from .auditor import Auditor, audit_sources

if TYPE_CHECKING:
    from ..cache.store import CacheSetup

Outcome = HistoryResult | InputError

# Without --jobs, a batch runs on worker processes only when its first histories hold more work
# than starting the workers costs. benchmarks/workers.py measures both (docs/performance.md): on
# the project's 2-CPU machine a 300-history batch took 10.9 s with --jobs 1 and 16.2 s with
# --jobs 2, and 2,000 histories 46.2 s and 47.1 s (a heavily shared machine: load average ~10,
# every figure ~10x its unloaded value); the start-up over the per-history time put the break-even
# at ~200 histories at that load (~550 estimated from the unloaded figures of the same doc: a
# 0.225 s cold start, 1.3 ms a history). 2,000 keeps the default from ever being the slower
# choice, at the price of not gaining on batches between those sizes.
PARALLEL_MIN_HISTORIES = 2000
# The same work in bytes of input (benchmarks/batch.py's 20-event histories: 3.4 KB each as JSON
# Lines): a batch of fewer but longer histories pays off as soon.
PARALLEL_MIN_BYTES = 7_000_000
# Histories read ahead to decide (fewer when PARALLEL_MIN_BYTES is reached first).
READ_AHEAD = PARALLEL_MIN_HISTORIES


@dataclass(frozen=True)
class Batch:
    """The inputs, with the first few read ahead to decide how to run them."""

    head: tuple[Source, ...]
    rest: Iterator[Source]
    complete: bool = False  # the head is the whole batch

    @classmethod
    def open(
        cls,
        paths: Sequence[str],
        max_size: int = DEFAULT_MAX_SIZE,
        warn: Warn | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> Batch:
        return cls.of(iter_sources(paths, max_size, warn, skip))

    @classmethod
    def of(cls, sources: Iterable[Source]) -> Batch:
        stream = iter(sources)
        head: list[Source] = []
        size = 0
        # Read ahead only as far as the decision needs: a count or a size that settles it.
        for source in stream:
            head.append(source)
            size += len(source.text or "")
            if len(head) >= READ_AHEAD or size >= PARALLEL_MIN_BYTES:
                return cls(tuple(head), stream)
        return cls(tuple(head), stream, complete=True)

    @property
    def several(self) -> bool:
        return len(self.head) > 1

    @property
    def worth_workers(self) -> bool:
        """Whether the batch holds enough work for worker processes to finish it sooner."""
        size = sum(len(source.text or "") for source in self.head)
        return len(self.head) >= PARALLEL_MIN_HISTORIES or size >= PARALLEL_MIN_BYTES

    def jobs(self, asked: int | None) -> int:
        """Worker processes to use: 1 means this process.

        ``--jobs N`` is honoured for any batch of two or more histories (but never more workers
        than histories); without it, every CPU is used when the batch is worth it
        (:attr:`worth_workers`), else this process alone.
        """
        if len(self.head) < 2:
            return 1
        from .parallel import cpu_count

        if asked is None:
            return cpu_count() if self.worth_workers else 1
        return min(asked, len(self.head)) if self.complete else asked

    def __iter__(self) -> Iterator[Source]:
        return itertools.chain(self.head, self.rest)


def stream(  # noqa: PLR0913  the run's settings, by keyword
    auditor: Auditor,
    batch: Batch,
    as_of: datetime,
    *,
    jobs: int | None = None,
    engine: Engine = "durable",
    formats: Iterable[str] = ("json",),
    cache: CacheSetup | None = None,
    warn: Callable[[str], None] | None = None,
) -> Generator[Outcome, None, None]:
    """Every history's outcome in input order, audited on ``jobs`` processes (None: decided from
    the batch). ``formats``: the reports that will read the results (what workers send back).
    ``cache``: results are taken from the cache folder where an entry still holds (``warn``
    hears about damaged entries in this process)."""
    # Imported here: the worker pool (multiprocessing) loads only for a batch.
    from .parallel import WorkerSetup, audit_parallel, tune_allocator

    count = batch.jobs(jobs)
    setup = WorkerSetup.for_formats(auditor.pack, engine, as_of, formats, cache)
    if count == 1:
        tune_allocator()
        local = None
        if cache is not None:
            from ..cache.store import ResultCache

            local = ResultCache(cache, auditor, full_history=setup.full_history)
            if warn is not None:
                local.warn = warn
        yield from audit_sources(auditor, batch, as_of, local)
        return
    yield from audit_parallel(setup, batch, count)
