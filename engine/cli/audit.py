"""``followup audit``: load the pack, audit every history, stream every report, pick the exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import FrameType
from typing import TextIO

from .. import __version__
from ..api import load_pack
from ..audit.auditor import Auditor
from ..audit.baseline import Baseline, load_baseline
from ..audit.batch import Batch, stream
from ..audit.parallel import WorkerCrashed, cpu_count
from ..audit.waivers import Waivers, load_waivers
from ..cache.store import DEFAULT_MAX_SIZE as DEFAULT_CACHE_SIZE
from ..cache.store import CacheSetup, evict, prepare
from ..diagnostics import InputError, Problem
from ..io.sources import DEFAULT_MAX_SIZE
from ..model import Engine, HistoryResult
from ..report import Context, Formatter, Summary, formatter, report_file
from ..report.triage import urgency
from .outputs import conflict, walk_skip
from .select import Intake, Where

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
    engine: Engine = "durable"
    max_history_size: int = DEFAULT_MAX_SIZE  # bytes; JSON Lines: per line
    as_of_clock: str = ""  # "CET, UTC+01:00" when --as-of had no offset and was read locally
    where: Where = field(default_factory=Where)
    sort: str = "source"  # or "urgency"
    baseline: str | None = None  # an earlier JSON report
    calendar_as: str = "todo"  # ics: "todo" or "event"
    calendar_source: str = "relative"  # ics: "relative" or "none"
    cache: str | None = None  # `--cache DIR`
    cache_max_size: int = DEFAULT_CACHE_SIZE  # bytes


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
        context = Context(
            __version__,
            auditor.pack,
            options.as_of,
            options.fail_on,
            options.engine,
            color,
            baseline=options.baseline,
            reports=tuple((n, p or "-") for n, p in targets),
            calendar_as=options.calendar_as,
            calendar_source=options.calendar_source,
            clock=options.as_of_clock,
        )
        reports.append(_Report(name, where, out, formatter(name, out, context), file))
    return reports


def _load_marks(options: AuditOptions, auditor: Auditor, err: TextIO) -> tuple[Waivers | None, Baseline | None]:
    """The waivers and the baseline, if given (InputError: their problems, located)."""
    waivers: Waivers | None = None
    if options.waivers is not None:
        waivers = load_waivers(options.waivers, auditor.pack, options.as_of)
        _write_lines(err, waivers.warnings())
    baseline = load_baseline(options.baseline) if options.baseline is not None else None
    return waivers, baseline


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
    # The Python API's loader: a bad pack raises PackError (an InputError: main() prints its problems).
    auditor = load_pack(options.pack, engine=options.engine).auditor
    try:
        waivers, baseline = _load_marks(options, auditor, err)
    except InputError as error:
        _write_lines(err, error.problems)
        return EXIT_ERROR
    cache = _cache(options, auditor, err)
    # Input errors also go to stderr unless the main report already shows them on the terminal.
    errors_to_stderr = options.output not in (None, "-") or options.format not in ("text", "github")
    with contextlib.ExitStack() as stack:
        reports = _open_reports(options, auditor, stack, stdout, err)
        if reports is None:
            return EXIT_ERROR
        batch = Batch.open(options.paths, options.max_history_size, lambda p: err.write(f"{p}\n"), walk_skip(options))
        progress = Progress(err, batch.several and _isatty(err))
        summary = Summary(baseline=baseline is not None)
        _each(reports, lambda w: w.begin())
        # --sort urgency needs every result before the first is written: they are kept until then.
        pending: list[HistoryResult] = []

        def write(result: HistoryResult) -> None:
            _each(reports, lambda w: w.history(result))

        keep = pending.append if options.sort == "urgency" else write

        def report_error(problem: Problem) -> None:
            summary.errors += 1
            if errors_to_stderr:
                progress.clear()
                err.write(f"{problem}\n")
            _each(reports, lambda w: w.error(problem))

        def say(line: str) -> None:
            progress.clear()
            err.write(f"{line}\n")

        intake = Intake(options.where, lambda problem: say(str(problem)))
        formats = [options.format, *(name for name, _ in options.reports)]
        outcomes = stream(
            auditor,
            batch,
            options.as_of,
            jobs=options.jobs,
            engine=options.engine,
            formats=formats,
            cache=cache,
            warn=lambda message: say(f"followup: warning: {message}"),
        )
        results = stack.enter_context(contextlib.closing(outcomes))
        try:
            for item in results:
                if isinstance(item, InputError):
                    # Whose history it is cannot be known: an error is reported whatever --where says.
                    for problem in item.problems:
                        report_error(problem)
                elif intake.take(item):
                    result = _marked(item, waivers, baseline)
                    summary.add(result, options.fail_on)
                    keep(result)
                progress.update(summary)
        except WorkerCrashed as crash:
            report_error(crash.problem)
        progress.clear()
        for result in sorted(pending, key=lambda r: urgency(r, options.as_of)):
            write(result)
        if (note := intake.note(summary.histories)) is not None:
            err.write(f"{note}\n")
        _each(reports, lambda w: w.end(summary))
        results.close()  # the workers are done: stop them before the files are renamed
        for report in reports:
            report.finish()
    return _finish(cache, waivers, summary, err)


def _finish(cache: CacheSetup | None, waivers: Waivers | None, summary: Summary, err: TextIO) -> int:
    """After the reports: trim the cache, say what only the whole batch tells, pick the exit code."""
    if cache is not None:
        evict(cache.directory, cache.max_size)
    if waivers is not None and not summary.errors:
        # With input errors some histories were not audited: "unused" would be a guess.
        _write_lines(err, waivers.unused())
    if summary.errors:
        return EXIT_ERROR
    return EXIT_FAIL if summary.failing else EXIT_OK


def _marked(result: HistoryResult, waivers: Waivers | None, baseline: Baseline | None) -> HistoryResult:
    """``result`` with its waived findings, and compared with the baseline."""
    if waivers is not None:
        result = waivers.apply(result)
    return result if baseline is None else baseline.apply(result)


def _write_lines(err: TextIO, lines: Iterable[object]) -> None:
    """Each of ``lines`` (problems, warnings) on a line of its own."""
    for line in lines:
        err.write(f"{line}\n")

