"""Report formats: a small registry. Each format streams: ``begin`` once, ``history`` per audited
history, ``error`` per invalid input, ``end`` with the summary; nothing is kept that need not be."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TextIO

from ..errors import CI_COMMAND, Problem, display_path
from ..model import SEVERITY_RANK, HistoryResult
from ..packmodel import Pack

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
    failing: int = 0  # violations at or above --fail-on, not waived
    by_severity: dict[str, int] = field(default_factory=dict)

    def add(self, result: HistoryResult, fail_on: str) -> None:
        self.histories += 1
        threshold = SEVERITY_RANK.get(fail_on, 99)
        for f in result.findings:
            if f.kind == "next_step":
                self.next_steps += 1
                continue
            self.violations += 1
            self.by_severity[f.severity] = self.by_severity.get(f.severity, 0) + 1
            if f.waived is not None:
                self.waived += 1
            elif SEVERITY_RANK[f.severity] >= threshold:
                self.failing += 1


@dataclass(frozen=True)
class Context:
    """What every format may show besides the results."""

    tool_version: str
    pack: Pack
    as_of: datetime
    fail_on: str
    engine: str = "durable"
    color: bool = False


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
    module = importlib.import_module(f"{__name__}.{FORMATS[name]}")
    made: Formatter = module.Formatter(out, context)
    return made
