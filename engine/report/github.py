"""``--format github``: GitHub Actions workflow commands, shown as annotations on the files.

One line per finding, at its subject event::

    ::error file=histories/jane.yaml,line=14,col=5,title=Send a thank-you email within a day::No thank-you …

Violations by severity (error → ``::error``, warning → ``::warning``, info → ``::notice``); next
steps as ``::notice`` titled ``Next step: …`` with the due time; a waived violation as
``::notice`` titled ``… (waived)`` with who waived it, until when and why (it does not fail the
job, so it should not look like it does); input errors as ``::error`` at their line and column.
The last line is a plain summary. Values are escaped per GitHub's rules: ``%``, CR and LF in the
message; also ``:`` and ``,`` in the properties. So every annotation is one line that no value can
end early, and every other control or bidi character is written as a readable escape (``\\x1b``,
``\\u202e``) that the log and the annotation show as text. A file name the runner could not match
(one with such a character) is not given as ``file=``: the annotation then names it, quoted, in its
message, as ``file:line:col`` lines do.
"""

from __future__ import annotations

from typing import TextIO
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import UNSAFE, Problem, display_path, printable
from ..io.sources import STDIN_NAME
from ..model import Finding, HistoryResult
from ..wording import plural
from .base import Context, Summary
from .sarif import source_path, subject_position

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    # The runner decodes only %25, %0D and %0A (and %3A, %2C in properties): anything else that
    # must not reach the log raw is written as a readable escape instead. Azure Pipelines and
    # TeamCity obey `##vso[` / `##teamcity[` anywhere in a line, so their `[` is escaped too.
    return printable(text)


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _file(source: str) -> str | None:
    """The ``file=`` of an annotation, or None when the source is not a file the runner can match
    (standard input, or a name with control or bidi characters)."""
    return None if source == STDIN_NAME or UNSAFE.search(source) else source_path(source)


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.titles = {rule.id: rule.title for rule in context.pack.rules}

    def begin(self) -> None:
        pass

    def history(self, result: HistoryResult) -> None:
        for finding in result.findings:
            self.out.write(self.annotation(result, finding) + "\n")

    def annotation(self, result: HistoryResult, f: Finding) -> str:
        line, column = subject_position(result, f)
        title = self.titles.get(f.rule, f.rule)
        who = f"{result.candidate}: "
        if f.kind == "next_step":
            due = ""
            if f.due is not None:
                zone = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
                due = f" (due {format_time(f.due.timestamp(), zone)})"
            name, title, message = "notice", f"Next step: {title}", f"{who}{f.message}{due} [{f.rule}]"
        elif f.waived is not None:
            w = f.waived
            name, title = "notice", f"{title} (waived)"
            message = (
                f"{who}{f.message} [{f.rule}, {f.severity}; waived by {w.approved_by} until {w.expires}: {w.reason}]"
            )
        else:
            name, message = COMMANDS[f.severity], f"{who}{f.message} [{f.rule}]"
        if f.baseline_state == "new":
            title = f"New: {title}"
        file = _file(result.source)
        if file is None:
            if result.source != STDIN_NAME:
                message = f"{display_path(result.source)}:{line}:{column}: {message}"
            return command(name, message, title=title)
        return command(name, message, file=file, line=line, col=column, title=title)

    def error(self, problem: Problem) -> None:
        file = _file(problem.source)
        if file is None:
            self.out.write(command("error", str(problem)) + "\n")
        else:
            self.out.write(command("error", problem.message, file=file, line=problem.line, col=problem.column) + "\n")

    def end(self, summary: Summary) -> None:
        parts = [
            plural(summary.histories, "history"),
            plural(summary.violations, "violation"),
            plural(summary.next_steps, "next step"),
            plural(summary.errors, "input error"),
        ]
        if summary.waived:
            parts.append(f"{summary.waived} waived")
        if summary.baseline:
            parts.append(f"{summary.new} new and {summary.resolved} resolved since the baseline")
        self.out.write("followup: " + ", ".join(parts) + "\n")
