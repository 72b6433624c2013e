"""Auditing a batch: in this process, or on N worker processes with the same results in input order.

The parent reads the inputs (files, directories, JSON Lines, stdin) and hands out their *text*
(:class:`~followup.load.Source`, cheap to pickle) in chunks; each worker parses, checks and audits
with its own :class:`~followup.audit.Auditor`, built once by the pool's initializer (the durable_rules
C engine keeps its rulesets per process), and returns the results. Only a bounded window of chunks is
in flight, and results are yielded as soon as their turn comes, so memory stays flat however long
the batch is. Workers are started with ``spawn`` on every platform: nothing depends on state
inherited from the parent, and the C engine's state is never forked.

Sending results back costs the parent time it shares with the workers, and most of a result is
its :class:`~followup.model.History`. When every report of the run reads of the history only its
timezone, line and the positions of the findings' subject events (see ``POSITION_FORMATS``), the
workers send a history cut down to that; else the whole history travels.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime

from .audit import Auditor
from .errors import FollowupError, InputError, Problem
from .history import read_history
from .load import Source
from .model import Event, HistoryResult
from .packmodel import Pack

# Batches smaller than this run in this process even when --jobs is not given: starting workers
# (a Python interpreter and a compiled pack each) costs more than auditing a few histories.
SMALL_BATCH = 32
CHUNK_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)  # growing: a small batch is still shared by every worker
CHUNKS_IN_FLIGHT_PER_JOB = 4
# Report formats that read of ``HistoryResult.history`` no more than its timezone, its line and the
# id, type, time, line and column of the events that are subjects of findings. Add a format here
# only if that holds (tests/test_batch.py compares --jobs 2 with --jobs 1 for each of them).
POSITION_FORMATS = frozenset({"text", "json", "sarif", "junit", "github", "markdown"})

Outcome = HistoryResult | InputError


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs to build its engine: pickled once per worker."""

    pack: Pack
    engine: str
    as_of: datetime
    full_history: bool = True  # False: send back only what POSITION_FORMATS read

    @classmethod
    def for_formats(cls, pack: Pack, engine: str, as_of: datetime, formats: Iterable[str]) -> WorkerSetup:
        return cls(pack, engine, as_of, full_history=not set(formats) <= POSITION_FORMATS)


@dataclass(frozen=True)
class _Failed:
    """An InputError in transit: exceptions pickle through ``args``, which InputError does not
    keep as it was given, so its problems travel as plain data."""

    problems: tuple[Problem, ...]


class WorkerCrashed(FollowupError):
    """A worker process died (the C engine crashed, or it was killed): the batch cannot finish.

    ``problem`` locates the first history of the chunk that was being audited.
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# glibc mallopt parameters, and the values set for a batch.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD_BYTES = 16 << 20
MMAP_THRESHOLD_BYTES = 4 << 20


def tune_allocator() -> None:
    """Keep the memory the rules engine frees for its next history (glibc only).

    The durable_rules C engine allocates and frees a few MB per history (one session each). With
    glibc's defaults each of those blocks is mapped and unmapped, or the heap grown and trimmed,
    every time: the page faults made a third of an audit's CPU time kernel time. Serving blocks
    under 4 MB from the heap and trimming it only above 16 MB free removes that (measured on
    1,500 histories: 3.6 s CPU, 1.2 s of it kernel → 2.1 s, 0.03 s kernel; peak memory unchanged).
    Elsewhere (macOS, musl, Windows) this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass


def audit_one(auditor: Auditor, source: Source, as_of: datetime) -> Outcome:
    """Read, check and audit one source; a bad one gives its InputError (returned, not raised)."""
    history = read_history(source, as_of)
    if isinstance(history, InputError):
        return history
    return auditor.audit(history, as_of)


def audit_sources(auditor: Auditor, sources: Iterable[Source], as_of: datetime) -> Iterator[Outcome]:
    """Every source's outcome, in order, in this process."""
    for source in sources:
        yield audit_one(auditor, source, as_of)


# The worker's engine. Module state is unavoidable here: a pool initializer can hand its work to
# the task function only through the worker process's globals. It is set once per worker process
# and never in the parent.
_worker: tuple[Auditor, WorkerSetup] | None = None


def _start_worker(setup: WorkerSetup) -> None:
    global _worker  # noqa: PLW0603  (see above)
    # Ctrl-C reaches the whole process group: the parent stops the pool; workers must not print
    # tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_allocator()
    _worker = (Auditor.for_pack(setup.pack, setup.engine), setup)
    gc.freeze()  # the pack and the modules stay for good: no collection needs to scan them


def _audit_chunk(sources: list[Source]) -> list[HistoryResult | _Failed]:
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    auditor, setup = _worker
    out: list[HistoryResult | _Failed] = []
    for source in sources:
        outcome = audit_one(auditor, source, setup.as_of)
        if isinstance(outcome, InputError):
            out.append(_Failed(tuple(outcome.problems)))
        else:
            out.append(outcome if setup.full_history else positions_only(outcome))
    return out


def positions_only(result: HistoryResult) -> HistoryResult:
    """``result`` with a history cut down to what POSITION_FORMATS read: the subject events
    (without their fields), the timezone, the line; candidate and people are kept (small)."""
    history = result.history
    if history is None:
        return result
    subjects = {f.subject for f in result.findings}
    events = tuple(Event(e.id, e.type, e.at, {}, e.line, e.column) for e in history.events if e.id in subjects)
    return replace(result, history=replace(history, events=events))


def _chunks(sources: Iterable[Source]) -> Iterator[list[Source]]:
    stream = iter(sources)
    for size in itertools.chain(CHUNK_SIZES, itertools.repeat(CHUNK_SIZES[-1])):
        chunk = list(itertools.islice(stream, size))
        if not chunk:
            return
        yield chunk


def _crash(chunk: list[Source]) -> Problem:
    first, last = chunk[0], chunk[-1]
    span = "this history" if len(chunk) == 1 else f"this history or one of the {len(chunk) - 1} after it"
    if len(chunk) > 1 and last.format == "jsonl" and last.name == first.name:
        span += f" (to line {last.line_offset + 1})"
    message = (
        f"internal error: a worker process died while auditing {span} (the rules engine crashed "
        "or the process was killed); the batch stopped here"
    )
    return Problem(first.name, first.line_offset + 1, 1, message)


def audit_parallel(setup: WorkerSetup, sources: Iterable[Source], jobs: int) -> Iterator[Outcome]:
    """Every source's outcome, in input order, audited on ``jobs`` worker processes."""
    context = multiprocessing.get_context("spawn")
    # Results arrive by the thousand and leave at once: keep the collector off the long-lived
    # objects (modules, pack), which it would otherwise scan over and over.
    gc.freeze()
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(setup,))
    pending: deque[tuple[Future[list[HistoryResult | _Failed]], list[Source]]] = deque()
    window = jobs * CHUNKS_IN_FLIGHT_PER_JOB
    try:
        for chunk in _chunks(sources):
            pending.append((pool.submit(_audit_chunk, chunk), chunk))
            if len(pending) >= window:
                yield from _collect(*pending.popleft())
        while pending:
            yield from _collect(*pending.popleft())
    finally:
        # Also on an early exit (an error while writing a report, Ctrl-C): drop what is queued.
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


def _collect(future: Future[list[HistoryResult | _Failed]], chunk: list[Source]) -> Iterator[Outcome]:
    try:
        done = future.result()
    except BrokenProcessPool:
        raise WorkerCrashed(_crash(chunk)) from None
    for item in done:
        yield InputError(list(item.problems)) if isinstance(item, _Failed) else item
