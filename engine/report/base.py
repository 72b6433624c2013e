"""Report formats: a small registry. Each format streams: ``begin`` once, ``history`` per audited
history, ``error`` per invalid input, ``end`` with the summary; nothing is kept that need not be.

Report files are written whole or not at all (:func:`report_file`)."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TextIO

from ..diagnostics import CI_COMMAND, Problem, display_path
from ..model import SEVERITY_RANK, Engine, HistoryResult
from ..pack.model import Pack

# The ``UNSAFE`` characters ``json.dumps`` leaves raw (it escapes those below U+0020 itself; the
# line breaks and indents outside strings are the report's own).
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")

# name -> module (in this package) defining ``Formatter``; modules load only when used.
FORMATS: Mapping[str, str] = {
    "text": "text",
    "json": "jsonreport",
    "sarif": "sarif",
    "junit": "junit",
    "markdown": "markdown",
    "github": "github",
    "ics": "ics",
    "html": "html",
}


@dataclass
class Summary:
    """Counts for the closing line and the JSON summary (mutable: it is filled while streaming)."""

    histories: int = 0
    violations: int = 0
    next_steps: int = 0
    errors: int = 0
    waived: int = 0
    failing: int = 0  # violations at or above --fail-on, not waived (with --baseline: only new ones)
    by_severity: dict[str, int] = field(default_factory=dict)
    # With --baseline: findings not in the baseline, and the baseline's findings no longer reported.
    baseline: bool = False
    new: int = 0
    resolved: int = 0

    def add(self, result: HistoryResult, fail_on: str) -> None:
        self.histories += 1
        threshold = SEVERITY_RANK.get(fail_on, 99)
        if result.absent is not None:
            self.baseline = True
            self.resolved += len(result.absent)
        for f in result.findings:
            self.new += f.baseline_state == "new"
            if f.kind == "next_step":
                self.next_steps += 1
                continue
            self.violations += 1
            self.by_severity[f.severity] = self.by_severity.get(f.severity, 0) + 1
            if f.waived is not None:
                self.waived += 1
            elif SEVERITY_RANK[f.severity] >= threshold and f.baseline_state != "unchanged":
                self.failing += 1


@dataclass(frozen=True)
class Context:
    """What every format may show besides the results."""

    tool_version: str
    pack: Pack
    as_of: datetime
    fail_on: str
    engine: Engine = "durable"
    color: bool = False
    # The clock an --as-of without an offset was read on ("CET, UTC+01:00"); "" when exact.
    clock: str = ""
    # ``--baseline FILE`` as given (None without one): formats say what is new since it.
    baseline: str | None = None
    # Every report of the run as (format, file; "-" for standard output): a short report can say
    # where the full one is.
    reports: tuple[tuple[str, str], ...] = ()
    # The calendar (ics): to-dos or events with an alarm; the source relative, or left out.
    calendar_as: str = "todo"
    calendar_source: str = "relative"


# Which of a run's other reports to point a reader to first for everything (short reports: Markdown
# within GitHub's comment limit, GitHub annotations within what a step shows).
FULL_REPORTS = ("html", "json", "sarif", "text", "junit")


def full_reports(context: Context) -> list[tuple[str, str]]:
    """The run's report files that hold every finding, as (format, file), best first."""
    files = [(name, path) for name, path in context.reports if name in FULL_REPORTS and path != "-"]
    return sorted(files, key=lambda item: FULL_REPORTS.index(item[0]))


class Formatter(Protocol):
    def __init__(self, out: TextIO, context: Context) -> None: ...

    def begin(self) -> None: ...

    def history(self, result: HistoryResult) -> None: ...

    def error(self, problem: Problem) -> None: ...

    def end(self, summary: Summary) -> None: ...


def display_source(result: HistoryResult) -> str:
    """Where a history came from, as a reader wants it: ``batch.jsonl:12`` for a JSON Lines line."""
    line = result.history.line if result.history is not None else 0
    return f"{result.source}:{line}" if line else result.source


def quoted_source(result: HistoryResult) -> str:
    """``display_source`` for a line a person reads: the file name quoted (``display_path``) when
    it holds a colon, a control or a bidi character, as in ``file:line:col`` lines."""
    line = result.history.line if result.history is not None else 0
    return display_path(result.source) + (f":{line}" if line else "")


def to_json(value: object, indent: int | None = None) -> str:
    """``json.dumps`` as the reports write it (text as is, not ``\\u``-escaped) except for the
    ``UNSAFE`` characters and the ``[`` of a ``##…[`` log command, escaped as ``\\uXXXX``: the
    same JSON value, in a file that is safe to print and always encodable (a lone surrogate from a
    JSON history cannot be written raw)."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    if _RAW_IN_JSON.search(text):
        text = _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if "##" in text:  # a log command (``##[``, ``##vso[``) obeyed anywhere in a line a CI prints
        text = CI_COMMAND.sub(lambda m: m.group(1) + "\\u005b", text)
    return text


def formatter(name: str, out: TextIO, context: Context) -> Formatter:
    module = importlib.import_module(f".{FORMATS[name]}", __package__)
    made: Formatter = module.Formatter(out, context)
    return made


def _umask() -> int:
    # The only portable way to read the umask is to set it; put it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def report_file(path: str) -> Iterator[TextIO]:
    """A report file written whole or not at all.

    The report is written to a hidden temporary file beside ``path`` (``.NAME.XXXXXXXX.tmp``, in
    the same directory so that the rename cannot cross file systems), synced to disk and renamed
    over ``path`` only when the block ends normally: until then, and for good if the block fails or
    the run is stopped, the previous file stays as it was and the temporary file is removed. A
    symbolic link is followed (its target is replaced, the link kept); the file keeps its mode, or
    gets the usual one for a new file. A target that is not a regular file (``/dev/null``,
    ``/dev/stdout``, a named pipe) cannot be replaced: it is written directly.
    """
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        status = os.stat(target)
    except FileNotFoundError:
        mode: int | None = None
    else:
        mode = stat.S_IMODE(status.st_mode)
        if not stat.S_ISREG(status.st_mode):
            with open(target, "w", encoding="utf-8") as direct:
                yield direct
            return
    folder, name = os.path.split(target)
    # Shortened so that the temporary name stays within the usual 255-byte limit of a file name.
    fd, temporary = tempfile.mkstemp(prefix=f".{name[:200]}.", suffix=".tmp", dir=folder or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode if mode is not None else 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(folder or ".")


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); not every platform can open a folder."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
