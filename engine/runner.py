"""``followup audit``: load the pack, audit every history, stream every report, pick the exit code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from . import __version__
from .audit import Auditor, audit_paths
from .errors import InputError
from .formats import Context, Formatter, Summary, formatter
from .model import HistoryResult

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


def results(auditor: Auditor, options: AuditOptions) -> Iterator[HistoryResult | InputError]:
    """Every history's result in input order (parallel when asked; see ``parallel``)."""
    yield from audit_paths(auditor, options.paths, options.as_of)


def run_audit(options: AuditOptions, stdout: TextIO) -> int:
    auditor = Auditor.for_pack(options.pack, options.engine)
    with contextlib.ExitStack() as stack:
        writers: list[Formatter] = []
        targets = [(options.format, options.output), *options.reports]
        for name, path in targets:
            out = stdout if path in (None, "-") else stack.enter_context(open(path, "w", encoding="utf-8"))
            color = out is stdout and stdout.isatty() if hasattr(stdout, "isatty") else False
            context = Context(__version__, auditor.pack, options.as_of, options.fail_on, options.engine, color)
            writers.append(formatter(name, out, context))
        summary = Summary()
        for w in writers:
            w.begin()
        for item in results(auditor, options):
            if isinstance(item, InputError):
                summary.errors += len(item.problems)
                for problem in item.problems:
                    for w in writers:
                        w.error(problem)
                continue
            summary.add(item, options.fail_on)
            for w in writers:
                w.history(item)
        for w in writers:
            w.end(summary)
    if summary.errors:
        return EXIT_ERROR
    return EXIT_FAIL if summary.failing else EXIT_OK


def echo_err(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")


__all__ = ["AuditOptions", "Sequence", "run_audit"]
