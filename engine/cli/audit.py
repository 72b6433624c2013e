"""``followup audit``: load the pack, audit every history, stream every report, pick the exit code."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import FrameType
from typing import TextIO

from .. import __version__
from ..audit.auditor import Auditor
from ..audit.parallel import (
    SMALL_BATCH,
    WorkerCrashed,
    WorkerSetup,
    audit_parallel,
    audit_sources,
    cpu_count,
    tune_allocator,
)
from ..audit.waivers import Waivers, load_waivers
from ..cache.store import DEFAULT_MAX_SIZE as DEFAULT_CACHE_SIZE
from ..cache.store import CacheSetup, ResultCache, evict, prepare
from ..diagnostics import InputError, Problem
from ..io.sources import DEFAULT_MAX_SIZE, Source, Warn, iter_sources
from ..model import Engine, HistoryResult
from ..report import Context, Formatter, Summary, formatter, report_file
from .outputs import conflict, walk_skip

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
CacheWarn = Callable[[str], None]


@dataclass(frozen=True)
class AuditOptions:
    paths: tuple[str, ...]
    pack: str
    as_of: datetime
    format: str = "text"
    output: str | None = None
    reports: tuple[tuple[str, str], ...] = ()  # (format, file)
    fail_on: str = "error"
    jobs: int | None = None
    waivers: str | None = None
    engine: Engine = "durable"
    max_history_size: int = DEFAULT_MAX_SIZE  # bytes; JSON Lines: per line
    cache: str | None = None  # `--cache DIR`
    cache_max_size: int = DEFAULT_CACHE_SIZE  # bytes


@dataclass(frozen=True)
class Batch:
    """The inputs, with the first few read ahead to decide how to run them."""

    head: tuple[Source, ...]
    rest: Iterator[Source]

    @classmethod
    def open(
        cls,
        paths: Sequence[str],
        max_size: int = DEFAULT_MAX_SIZE,
        warn: Warn | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> Batch:
        sources = iter_sources(paths, max_size, warn, skip)
        return cls(tuple(itertools.islice(sources, SMALL_BATCH)), sources)

    @property
    def several(self) -> bool:
        return len(self.head) > 1

    def jobs(self, asked: int | None) -> int:
        """Worker processes to use: 1 means this process.

        ``--jobs N`` is honoured for any batch of two or more histories (but never more workers
        than histories); without it, batches of at least SMALL_BATCH histories use every CPU.
        """
        if len(self.head) < 2:
            return 1
        if asked is None:
            return cpu_count() if len(self.head) >= SMALL_BATCH else 1
        return asked if len(self.head) >= SMALL_BATCH else min(asked, len(self.head))

    def __iter__(self) -> Iterator[Source]:
        return itertools.chain(self.head, self.rest)


def results(
    auditor: Auditor,
    options: AuditOptions,
    batch: Batch,
    cache: CacheSetup | None = None,
    warn: CacheWarn | None = None,
) -> Generator[HistoryResult | InputError, None, None]:
    """Every history's result in input order, audited on ``--jobs`` processes (with ``cache``:
    taken from the cache folder where an entry still holds)."""
    jobs = batch.jobs(options.jobs)
    formats = [options.format, *(name for name, _ in options.reports)]
    setup = WorkerSetup.for_formats(auditor.pack, options.engine, options.as_of, formats, cache)
    if jobs == 1:
        tune_allocator()
        local = None
        if cache is not None:
            local = ResultCache(cache, auditor, full_history=setup.full_history)
            if warn is not None:
                local.warn = warn
        yield from audit_sources(auditor, batch, options.as_of, local)
    else:
        yield from audit_parallel(setup, batch, jobs)


class Progress:
    """A counter line on stderr, rewritten in place; only for a terminal and a batch."""

    INTERVAL = 0.1  # seconds between redraws

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.shown = False
        self.last = 0.0

    def update(self, summary: Summary) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < self.INTERVAL:
            return
        self.last = now
        line = f"auditing: {summary.histories} histories, {summary.violations} violations"
        if summary.errors:
            line += f", {summary.errors} input errors"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


STDOUT = "standard output"


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived: unwind (workers killed, temporary report files removed), then
    exit 128 + the signal's number. A BaseException, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signum)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals (e.g. when embedded)
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        # A second signal must not break the clean-up the first one started.
        for other in (signal.SIGTERM, signal.SIGINT):
            signal.signal(other, signal.SIG_IGN)
        raise _Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _WriteFailed(Exception):
    def __init__(self, name: str, path: str | None, exc: OSError) -> None:
        self.message = f"cannot write the {name} report to {path or STDOUT}: {exc.strerror or exc}"
        self.to_stdout = path is None
        super().__init__(self.message)


@dataclass(frozen=True)
class _Report:
    name: str
    path: str | None  # None: standard output
    out: TextIO
    writer: Formatter
    # Closing it puts the finished file in place (report_file); None for standard output.
    file: contextlib.ExitStack | None = None

    def finish(self) -> None:
        """Put the report in place (a file) or flush it (stdout: a closed pipe shows here at the latest)."""
        try:
            if self.file is not None:
                self.file.close()
            else:
                self.out.flush()
        except OSError as exc:
            raise _WriteFailed(self.name, self.path, exc) from None


def _each(reports: Sequence[_Report], action: Callable[[Formatter], None]) -> None:
    """Apply ``action`` to every report, naming the report a write failure belongs to."""
    for report in reports:
        try:
            action(report.writer)
        except OSError as exc:
            raise _WriteFailed(report.name, report.path, exc) from None


def _capped_jobs(asked: int | None, err: TextIO) -> int | None:
    cpus = cpu_count()
    if asked is not None and asked > cpus:
        err.write(f"followup: note: --jobs {asked} is more than the {cpus} CPUs available; using {cpus}\n")
        return cpus
    return asked


def _quiet_stdout(stdout: TextIO) -> None:
    """After stdout failed (a closed pipe), send what is still buffered nowhere, so that the
    interpreter's last flush does not print an error of its own."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not a real file: nothing to do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)


def run_audit(options: AuditOptions, stdout: TextIO | None, stderr: TextIO | None = None) -> int:
    """Run ``followup audit``; returns the exit code.

    Exit 2 without writing anything when an output would overwrite an input or another output;
    report files are replaced only when complete (see :func:`~followup.report.base.report_file`);
    SIGTERM and SIGINT stop the workers and leave report files untouched (exit 143 and 130).
    """
    err = stderr if stderr is not None else sys.stderr
    stdin: int | None = None
    with contextlib.suppress(AttributeError, ValueError, OSError):  # no stdin, or not a real file
        stdin = sys.stdin.fileno()
    problem = conflict(options, stdin)
    if problem is not None:
        err.write(f"followup: {problem}\n")
        return EXIT_ERROR
    to_stdout = [name for name, path in [(options.format, options.output), *options.reports] if path in (None, "-")]
    if stdout is None and to_stdout:
        err.write(f"followup: cannot write the {to_stdout[0]} report to {STDOUT}: it is closed\n")
        return EXIT_ERROR
    options = replace(options, jobs=_capped_jobs(options.jobs, err))
    try:
        with _stop_on_signals():
            return _run(options, stdout, err)
    except _Stopped as stopped:
        name = signal.Signals(stopped.signum).name
        err.write(f"followup: stopped by {name}; no report file was changed\n")
        return 128 + stopped.signum
    except _WriteFailed as failed:
        if failed.to_stdout and stdout is not None:
            _quiet_stdout(stdout)
        err.write(f"followup: {failed.message}\n")
        return EXIT_ERROR


def _open_reports(
    options: AuditOptions, auditor: Auditor, stack: contextlib.ExitStack, stdout: TextIO | None, err: TextIO
) -> list[_Report] | None:
    """A report writer for the main format and each ``--report``; None (said on ``err``) when a
    report file cannot be opened."""
    reports: list[_Report] = []
    targets = [(options.format, options.output), *options.reports]
    for name, path in targets:
        file: contextlib.ExitStack | None = None
        if path in (None, "-"):
            assert stdout is not None  # run_audit refused a closed stdout
            out, where = stdout, None
        else:
            # Its own stack: put in place by finish(); removed by the outer one on a failure.
            file = stack.enter_context(contextlib.ExitStack())
            try:
                out, where = file.enter_context(report_file(path)), path
            except OSError as exc:
                err.write(f"followup: cannot write the {name} report to {path}: {exc.strerror or exc}\n")
                return None
        color = out is stdout and _isatty(stdout)
        context = Context(__version__, auditor.pack, options.as_of, options.fail_on, options.engine, color)
        reports.append(_Report(name, where, out, formatter(name, out, context), file))
    return reports


def _cache(options: AuditOptions, auditor: Auditor, err: TextIO) -> CacheSetup | None:
    """The cache of ``--cache``; None (said on ``err``) when the folder cannot be used."""
    if options.cache is None:
        return None
    problem = prepare(options.cache)
    if problem is not None:
        err.write(f"followup: warning: {problem}; auditing without it\n")
        return None
    return CacheSetup.create(options.cache, auditor.pack, options.engine, options.cache_max_size)


def _run(options: AuditOptions, stdout: TextIO | None, err: TextIO) -> int:
    auditor = Auditor.for_pack(options.pack, options.engine)
    cache = _cache(options, auditor, err)
    waivers: Waivers | None = None
    if options.waivers is not None:
        try:
            waivers = load_waivers(options.waivers, auditor.pack, options.as_of)
        except InputError as error:
            _write_lines(err, error.problems)
            return EXIT_ERROR
        _write_lines(err, waivers.warnings())
    # Input errors also go to stderr unless the main report already shows them on the terminal.
    errors_to_stderr = options.output not in (None, "-") or options.format not in ("text", "github")
    with contextlib.ExitStack() as stack:
        reports = _open_reports(options, auditor, stack, stdout, err)
        if reports is None:
            return EXIT_ERROR
        batch = Batch.open(options.paths, options.max_history_size, lambda p: err.write(f"{p}\n"), walk_skip(options))
        progress = Progress(err, batch.several and _isatty(err))
        summary = Summary()
        _each(reports, lambda w: w.begin())

        def report_error(problem: Problem) -> None:
            summary.errors += 1
            if errors_to_stderr:
                progress.clear()
                err.write(f"{problem}\n")
            _each(reports, lambda w: w.error(problem))

        def warn(message: str) -> None:
            progress.clear()
            err.write(f"followup: warning: {message}\n")

        stream = stack.enter_context(contextlib.closing(results(auditor, options, batch, cache, warn)))
        try:
            for item in stream:
                if isinstance(item, InputError):
                    for problem in item.problems:
                        report_error(problem)
                else:
                    result = item if waivers is None else waivers.apply(item)
                    summary.add(result, options.fail_on)
                    _each(reports, lambda w: w.history(result))  # noqa: B023  (called at once)
                progress.update(summary)
        except WorkerCrashed as crash:
            report_error(crash.problem)
        progress.clear()
        _each(reports, lambda w: w.end(summary))
        stream.close()  # the workers are done: stop them before the files are renamed
        for report in reports:
            report.finish()
    if cache is not None:
        evict(cache.directory, cache.max_size)
    if waivers is not None and not summary.errors:
        # With input errors some histories were not audited: "unused" would be a guess.
        _write_lines(err, waivers.unused())
    if summary.errors:
        return EXIT_ERROR
    return EXIT_FAIL if summary.failing else EXIT_OK


def _write_lines(err: TextIO, lines: Iterable[object]) -> None:
    """Each of ``lines`` (problems, warnings) on a line of its own."""
    for line in lines:
        err.write(f"{line}\n")

