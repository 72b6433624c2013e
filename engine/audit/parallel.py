# About 400 lines: the worker pool, its start-up and its ordered results belong together; the
# audit itself lives in auditor.py.
"""Auditing a batch: in this process, or on N worker processes with the same results in input order.

The parent reads the inputs (files, directories, JSON Lines, stdin) and hands out their *text*
(:class:`~followup.io.sources.Source`, cheap to pickle) in chunks; each worker parses, checks and audits
with its own :class:`~followup.audit.auditor.Auditor`, built once by the pool's initializer (the durable_rules
C engine keeps its rulesets per process), and returns the results. Only a bounded window of chunks is
in flight, and results are yielded as soon as their turn comes, so memory stays flat however long
the batch is. Workers are started with ``spawn`` on every platform: nothing depends on state
inherited from the parent, and the C engine's state is never forked.

Faults: a failure while auditing one history is that history's error (:func:`audit_one`). A worker
that dies (the C engine crashed, the out-of-memory killer, ``kill -9``) breaks its pool: the chunks
not yet returned are audited again one history at a time in fresh single-worker pools ("lanes"),
so that a history that kills its worker a second time is known exactly and reported as an error,
and every other history is reported, in input order, as with ``--jobs 1``. Then the batch goes on
in a fresh pool. Workers die with the parent, also when it is killed (``PR_SET_PDEATHSIG`` on Linux,
a watchdog thread elsewhere), and are killed at once when the parent stops early (a signal, an error).

Sending results back costs the parent time it shares with the workers, and most of a result is
its :class:`~followup.model.History`. When every report of the run reads of the history only its
timezone, line and the positions of the findings' subject events (see ``POSITION_FORMATS``), the
workers send a history cut down to that; else the whole history travels.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.context import SpawnContext
from typing import TYPE_CHECKING

from ..diagnostics import FollowupError, InputError, Problem
from ..io.sources import Source
from ..model import Engine, Event, HistoryResult
from ..pack.model import Pack
from .auditor import Auditor, Outcome, audit_one, audit_sources

# When a batch is worth workers without --jobs: audit/batch.py (Batch.jobs).

if TYPE_CHECKING:
    from ..cache.store import CacheSetup, ResultCache
CHUNK_SIZES = (1, 2, 4, 8, 16, 32, 64, 128)  # growing: a small batch is still shared by every worker
CHUNKS_IN_FLIGHT_PER_JOB = 4
# Report formats that read of ``HistoryResult.history`` no more than its timezone, its line and the
# id, type, time, line and column of the events that are subjects of findings. Add a format here
# only if that holds (tests/test_batch.py compares --jobs 2 with --jobs 1 for each of them).
POSITION_FORMATS = frozenset({"text", "json", "sarif", "junit", "github", "markdown"})
# Re-auditing after a worker died: when this many histories in a row kill their worker, the workers
# cannot run at all here (no memory left, a broken installation): stop rather than start a process
# per history for the rest of the batch.
DEATHS_IN_A_ROW_LIMIT = 8
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCHDOG_SECONDS = 1.0

# audit_one and audit_sources (auditing in this process) are re-exported: tests and callers
# that know them from here keep working.
__all__ = ["Outcome", "WorkerSetup", "audit_one", "audit_parallel", "audit_sources", "cpu_count", "tune_allocator"]


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs to build its engine: pickled once per worker."""

    pack: Pack
    engine: Engine
    as_of: datetime
    full_history: bool = True  # False: send back only what POSITION_FORMATS read
    cache: CacheSetup | None = None  # `--cache`: each worker reads and writes the folder itself

    @classmethod
    def for_formats(
        cls, pack: Pack, engine: Engine, as_of: datetime, formats: Iterable[str], cache: CacheSetup | None = None
    ) -> WorkerSetup:
        return cls(pack, engine, as_of, full_history=not set(formats) <= POSITION_FORMATS, cache=cache)


@dataclass(frozen=True)
class _Failed:
    """An InputError in transit: exceptions pickle through ``args``, which InputError does not
    keep as it was given, so its problems travel as plain data."""

    problems: tuple[Problem, ...]


class WorkerCrashed(FollowupError):
    """Worker processes keep dying whatever history they audit: the batch cannot finish.

    ``problem`` locates the history being audited when the batch stopped.
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


# The worker's engine. Module state is unavoidable here: a pool initializer can hand its work to
# the task function only through the worker process's globals. It is set once per worker process
# and never in the parent.
_worker: tuple[Auditor, WorkerSetup, ResultCache | None] | None = None


def _die_with_parent(parent: int) -> None:
    """End this worker when the parent process ends, however it ends (even ``kill -9``).

    A worker blocked on its task queue never notices by itself: it holds both ends of the queue's
    pipe. On Linux the kernel sends SIGKILL when the parent goes (``PR_SET_PDEATHSIG``; the parent
    starts workers from its main thread, which lives as long as the process). Elsewhere, or if
    prctl is refused, a daemon thread checks once a second whether the worker was re-parented.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="followup-watchdog").start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


# Signals held back while a worker starts (see _submit); the worker lets them through again.
_START_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def _start_worker(setup: WorkerSetup, parent: int) -> None:
    global _worker  # noqa: PLW0603  (see above)
    _die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the parent stops the pool; workers must not print
    # tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by _submit while this process started
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _START_SIGNALS)
    tune_allocator()
    auditor = Auditor.for_pack(setup.pack, setup.engine)
    cache = None
    if setup.cache is not None:
        from ..cache.store import ResultCache

        cache = ResultCache(setup.cache, auditor, full_history=setup.full_history)
    _worker = (auditor, setup, cache)
    gc.freeze()  # the pack and the modules stay for good: no collection needs to scan them


def _audit_chunk(sources: list[Source]) -> list[HistoryResult | _Failed]:
    if _worker is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker not initialised")
    auditor, setup, cache = _worker
    out: list[HistoryResult | _Failed] = []
    for source in sources:
        outcome = audit_one(auditor, source, setup.as_of, cache)
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


def _crashed(source: Source) -> Problem:
    message = (
        "cannot audit this history: it stopped the worker process twice (the rules engine crashed, "
        "or the process was killed, e.g. for lack of memory); it is left out, the others are reported"
    )
    return Problem(source.name, source.line_offset + 1, 1, message)


@dataclass(frozen=True)
class _InFlight:
    future: Future[list[HistoryResult | _Failed]] | None  # None: never submitted (the pool broke)
    chunk: list[Source]


def _pool(setup: WorkerSetup, workers: int, context: SpawnContext) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(setup, os.getpid()))


def _submit(pool: ProcessPoolExecutor, chunk: list[Source]) -> Future[list[HistoryResult | _Failed]]:
    """``pool.submit``, which may start a worker: with SIGINT and SIGTERM blocked meanwhile, so
    that a Ctrl-C (sent to the whole process group) cannot hit a worker before it ignores SIGINT,
    and a signal to the parent cannot stop it halfway through handing a new worker its start-up
    data (the worker, not yet known to the pool nor to ``active_children``, would be left to read
    a closed pipe and print a traceback). The parent handles the signal once the worker started."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        return pool.submit(_audit_chunk, chunk)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _START_SIGNALS)
    try:
        return pool.submit(_audit_chunk, chunk)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now: running chunks are abandoned (an early exit, a signal)."""
    processes = []
    for _ in range(3):  # the pool's own thread may be changing the table: copy it again
        with contextlib.suppress(RuntimeError):
            processes = list((pool._processes or {}).values())
            break
    # A worker the pool is still starting is not in its table yet; killed later by nobody, it
    # would find its parent gone mid-start and print a traceback: every child process goes too.
    for process in [*processes, *multiprocessing.active_children()]:
        with contextlib.suppress(Exception):  # already gone
            process.kill()


def audit_parallel(setup: WorkerSetup, sources: Iterable[Source], jobs: int) -> Iterator[Outcome]:
    """Every source's outcome, in input order, audited on ``jobs`` worker processes."""
    context = multiprocessing.get_context("spawn")
    # Results arrive by the thousand and leave at once: keep the collector off the long-lived
    # objects (modules, pack), which it would otherwise scan over and over.
    gc.freeze()
    chunks = _chunks(sources)
    try:
        while True:
            unfinished = yield from _run_pool(_pool(setup, jobs, context), chunks, jobs)
            if unfinished is None:
                return
            yield from _reaudit(setup, context, unfinished, jobs)
    finally:
        gc.unfreeze()


def _run_pool(
    pool: ProcessPoolExecutor, chunks: Iterator[list[Source]], jobs: int
) -> Generator[Outcome, None, list[_InFlight] | None]:
    """Audit ``chunks`` on ``pool`` until they run out (None) or the pool breaks: then the chunks
    whose results were not yielded yet, in order."""
    pending: deque[_InFlight] = deque()
    window = jobs * CHUNKS_IN_FLIGHT_PER_JOB
    try:
        while True:
            while len(pending) < window:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                try:
                    pending.append(_InFlight(_submit(pool, chunk), chunk))
                except BrokenProcessPool:
                    pending.append(_InFlight(None, chunk))
                    return list(pending)
            if not pending:
                return None
            future = pending[0].future
            assert future is not None  # only the last entry can be unsubmitted, and it returns
            try:
                done = future.result()
            except BrokenProcessPool:
                return list(pending)
            pending.popleft()
            yield from _outcomes(done)
    except BaseException:
        # An early exit (a report that cannot be written, SIGTERM, Ctrl-C, the consumer stopped):
        # running chunks are not waited for.
        _kill(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _finished(future: Future[list[HistoryResult | _Failed]] | None) -> list[HistoryResult | _Failed] | None:
    """The results of a chunk that completed before its pool broke, else None."""
    if future is None or not future.done() or future.cancelled() or future.exception() is not None:
        return None
    return future.result()


def _reaudit(setup: WorkerSetup, context: SpawnContext, unfinished: list[_InFlight], jobs: int) -> Iterator[Outcome]:
    """The outcomes of the chunks a broken pool left, in order: each history audited again alone
    in a fresh single-worker pool; one that stops that worker too is reported as an error."""
    todo: deque[Source | Outcome] = deque()
    for item in unfinished:
        done = _finished(item.future)
        todo.extend(_outcomes(done) if done is not None else item.chunk)
    lanes = _Lanes(setup, context, jobs)
    free = deque(range(jobs))
    queue: deque[Outcome | tuple[int, Future[list[HistoryResult | _Failed]], Source]] = deque()
    deaths_in_a_row = 0
    try:
        while todo or queue:
            while todo and (free or not isinstance(todo[0], Source)):
                work = todo.popleft()
                if isinstance(work, Source):
                    lane = free.popleft()
                    queue.append((lane, lanes.submit(lane, work), work))
                else:
                    queue.append(work)
            head = queue.popleft()
            if not isinstance(head, tuple):
                yield head
                continue
            lane, future, source = head
            free.append(lane)
            try:
                [result] = future.result()
            except BrokenProcessPool:
                lanes.drop(lane)
                deaths_in_a_row += 1
                if deaths_in_a_row >= DEATHS_IN_A_ROW_LIMIT:
                    raise WorkerCrashed(_gave_up(source)) from None
                yield InputError([_crashed(source)])
                continue
            deaths_in_a_row = 0
            yield from _outcomes([result])
    except BaseException:
        lanes.kill()
        raise
    finally:
        lanes.shutdown()


class _Lanes:
    """One single-worker pool per lane, started when first needed and dropped when it breaks."""

    def __init__(self, setup: WorkerSetup, context: SpawnContext, jobs: int) -> None:
        self.setup = setup
        self.context = context
        self.pools: list[ProcessPoolExecutor | None] = [None] * jobs

    def submit(self, lane: int, source: Source) -> Future[list[HistoryResult | _Failed]]:
        for _ in range(2):  # a lane may have broken while idle: replace it once
            pool = self.pools[lane]
            if pool is None:
                pool = self.pools[lane] = _pool(self.setup, 1, self.context)
            try:
                return _submit(pool, [source])
            except BrokenProcessPool:
                self.drop(lane)
        raise WorkerCrashed(_crashed(source))

    def drop(self, lane: int) -> None:
        """Shut down the broken pool of ``lane``; the next submit starts a fresh one."""
        broken = self.pools[lane]
        if broken is not None:
            broken.shutdown(wait=True)
        self.pools[lane] = None

    def kill(self) -> None:
        for pool in self.pools:
            if pool is not None:
                _kill(pool)

    def shutdown(self) -> None:
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _gave_up(source: Source) -> Problem:
    message = (
        f"internal error: worker processes died on {DEATHS_IN_A_ROW_LIMIT} histories in a row, "
        "this one the last (no memory left? a broken installation?); the batch stopped here"
    )
    return Problem(source.name, source.line_offset + 1, 1, message)


def _outcomes(done: Iterable[HistoryResult | _Failed]) -> Iterator[Outcome]:
    for item in done:
        yield InputError(list(item.problems)) if isinstance(item, _Failed) else item
