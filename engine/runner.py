"""``followup audit``: load the pack, audit every history, stream every report, pick the exit code."""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from . import __version__
from .audit import Auditor
from .errors import InputError, Problem
from .formats import Context, Formatter, Summary, formatter
from .model import HistoryResult
from .parallel import (
    SMALL_BATCH,
    WorkerCrashed,
    WorkerSetup,
    audit_parallel,
    audit_sources,
    cpu_count,
    tune_allocator,
)
from .sources import DEFAULT_MAX_SIZE, Source, Warn, iter_sources
from .waivers import Waivers, load_waivers

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


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
    engine: str = "durable"
    max_history_size: int = DEFAULT_MAX_SIZE  # bytes; JSON Lines: per line


@dataclass(frozen=True)
class Batch:
    """The inputs, with the first few read ahead to decide how to run them."""

    head: tuple[Source, ...]
    rest: Iterator[Source]

    @classmethod
    def open(cls, paths: Sequence[str], max_size: int = DEFAULT_MAX_SIZE, warn: Warn | None = None) -> Batch:
        sources = iter_sources(paths, max_size, warn)
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


def results(auditor: Auditor, options: AuditOptions, batch: Batch) -> Iterator[HistoryResult | InputError]:
    """Every history's result in input order, audited on ``--jobs`` processes."""
    jobs = batch.jobs(options.jobs)
    if jobs == 1:
        tune_allocator()
        yield from audit_sources(auditor, batch, options.as_of)
    else:
        formats = [options.format, *(name for name, _ in options.reports)]
        setup = WorkerSetup.for_formats(auditor.pack, options.engine, options.as_of, formats)
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


def run_audit(options: AuditOptions, stdout: TextIO, stderr: TextIO | None = None) -> int:
    err = stderr if stderr is not None else sys.stderr
    auditor = Auditor.for_pack(options.pack, options.engine)
    waivers: Waivers | None = None
    if options.waivers is not None:
        try:
            waivers = load_waivers(options.waivers, auditor.pack, options.as_of)
        except InputError as error:
            for problem in error.problems:
                err.write(f"{problem}\n")
            return EXIT_ERROR
        for warning in waivers.warnings():
            err.write(f"{warning}\n")
    # Input errors also go to stderr unless the main report already shows them on the terminal.
    errors_to_stderr = options.output not in (None, "-") or options.format not in ("text", "github")
    with contextlib.ExitStack() as stack:
        writers: list[Formatter] = []
        targets = [(options.format, options.output), *options.reports]
        for name, path in targets:
            try:
                out = stdout if path in (None, "-") else stack.enter_context(open(path, "w", encoding="utf-8"))
            except OSError as exc:
                err.write(f"followup: cannot write the {name} report to {path}: {exc.strerror or exc}\n")
                return EXIT_ERROR
            color = out is stdout and _isatty(stdout)
            context = Context(__version__, auditor.pack, options.as_of, options.fail_on, options.engine, color)
            writers.append(formatter(name, out, context))
        batch = Batch.open(options.paths, options.max_history_size, lambda p: err.write(f"{p}\n"))
        progress = Progress(err, batch.several and _isatty(err))
        summary = Summary()
        for w in writers:
            w.begin()

        def report_error(problem: Problem) -> None:
            summary.errors += 1
            if errors_to_stderr:
                progress.clear()
                err.write(f"{problem}\n")
            for w in writers:
                w.error(problem)

        try:
            for item in results(auditor, options, batch):
                if isinstance(item, InputError):
                    for problem in item.problems:
                        report_error(problem)
                else:
                    result = item if waivers is None else waivers.apply(item)
                    summary.add(result, options.fail_on)
                    for w in writers:
                        w.history(result)
                progress.update(summary)
        except WorkerCrashed as crash:
            report_error(crash.problem)
        progress.clear()
        for w in writers:
            w.end(summary)
    if waivers is not None and not summary.errors:
        # With input errors some histories were not audited: "unused" would be a guess.
        for warning in waivers.unused():
            err.write(f"{warning}\n")
    if summary.errors:
        return EXIT_ERROR
    return EXIT_FAIL if summary.failing else EXIT_OK


__all__ = ["EXIT_ERROR", "EXIT_FAIL", "EXIT_OK", "AuditOptions", "run_audit"]
