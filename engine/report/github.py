"""``--format github``: GitHub Actions workflow commands, shown as annotations on the files.

One workflow command per finding, at its subject event::

    ::error file=histories/jane.yaml,line=14,col=5,title=Send a thank-you email within a day::No thank-you …

GitHub shows at most 10 error, 10 warning and 10 notice annotations per step and drops the rest
silently, so the order is chosen: the errors first (input errors and new findings before unchanged
ones, then in report order: ``--sort urgency`` puts the most urgent histories first), then the
warnings, then one notice with the totals and where the full report is (the run's other report
files), then the other notices; at most 10 of each kind. Every finding beyond that is still in the
step's log, as a plain ``file:line:col: what: candidate: message [rule]`` line that no runner
reads as a command.

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

import heapq
import tempfile
from typing import IO, TextIO
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import UNSAFE, Problem, display_path, printable
from ..io.sources import STDIN_NAME
from ..model import Finding, HistoryResult
from ..wording import plural
from .base import Context, Summary, full_reports
from .sarif import source_path, subject_position
from .text import no_command

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}
KINDS = ("error", "warning", "notice")
# GitHub shows at most 10 error, 10 warning and 10 notice annotations per step (and 50 per job);
# the rest of what a step prints as annotations is dropped from the summary without a word
# (actions/toolkit, docs/problem-matchers.md, "Limitations").
PER_STEP = 10
SPOOL_BYTES = 1 << 20


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
        # Every annotation as a plain log line, by arrival; closed in ``end``.
        self.log: IO[str] = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8")  # noqa: SIM115
        self.count = 0
        # Per kind, the PER_STEP annotations to show so far: new findings (and input errors) before
        # unchanged ones, then the earliest; a heap with the one to give up first on top (ranks negated).
        self.best: dict[str, list[tuple[tuple[int, int], int, str]]] = {name: [] for name in KINDS}
        self.totals = dict.fromkeys(KINDS, 0)

    def begin(self) -> None:
        pass

    def _add(self, name: str, annotation: str, plain: str, preferred: bool) -> None:
        number = self.count
        self.count += 1
        self.totals[name] += 1
        self.log.write(f"{number}\t{plain}\n")
        rank = (0 if preferred else 1, number)
        heap = self.best[name]
        entry = ((-rank[0], -rank[1]), number, annotation)
        if len(heap) < self.limit(name):
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)

    @staticmethod
    def limit(name: str) -> int:
        # One notice is the totals, always shown.
        return PER_STEP - 1 if name == "notice" else PER_STEP

    def history(self, result: HistoryResult) -> None:
        for finding in result.findings:
            name, annotation = self.annotation(result, finding)
            self._add(name, annotation, self.plain(result, finding, name), finding.baseline_state != "unchanged")

    def annotation(self, result: HistoryResult, f: Finding) -> tuple[str, str]:
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
            return name, command(name, message, title=title)
        return name, command(name, message, file=file, line=line, col=column, title=title)

    def plain(self, result: HistoryResult, f: Finding, name: str) -> str:
        """The finding as a log line that is not a workflow command (for those not annotated)."""
        line, column = subject_position(result, f)
        what: str = "next step" if f.kind == "next_step" else f.severity
        if f.waived is not None:
            what += " (waived)"
        if f.baseline_state == "new":
            what = f"new {what}"
        if f.due is not None:
            zone = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
            what += f" due {format_time(f.due.timestamp(), zone)}"
        text = f"{display_path(result.source)}:{line}:{column}: {what}: {result.candidate}: {f.message} [{f.rule}]"
        return no_command(printable(text))

    def error(self, problem: Problem) -> None:
        file = _file(problem.source)
        if file is None:
            annotation = command("error", str(problem))
        else:
            annotation = command("error", problem.message, file=file, line=problem.line, col=problem.column)
        self._add("error", annotation, no_command(printable(str(problem))), True)

    def end(self, summary: Summary) -> None:
        shown: set[int] = set()
        chosen: dict[str, list[str]] = {}
        for name in KINDS:
            best = sorted(self.best[name], key=lambda e: e[1])  # arrival order
            chosen[name] = [annotation for _, _, annotation in best]
            shown.update(number for _, number, _ in best)
        for name in ("error", "warning"):
            for annotation in chosen[name]:
                self.out.write(annotation + "\n")
        hidden = self.count - len(shown)
        self.out.write(self._totals_notice(summary, hidden) + "\n")
        for annotation in chosen["notice"]:
            self.out.write(annotation + "\n")
        if hidden:
            self.out.write(
                f"followup: {plural(hidden, 'more finding')} (GitHub shows {PER_STEP} annotations of each kind per "
                "step):\n"
            )
            self.log.seek(0)
            for entry in self.log:
                number, _, plain = entry.rstrip("\n").partition("\t")
                if int(number) not in shown:
                    self.out.write(f"  {plain}\n")
        self.log.close()
        self.out.write("followup: " + ", ".join(_totals(summary)) + "\n")

    def _totals_notice(self, summary: Summary, hidden: int) -> str:
        where = ", ".join(f"{name} in {path}" for name, path in full_reports(self.context)[:3])
        message = "; ".join(_totals(summary)) + "."
        if hidden:
            message += f" {plural(hidden, 'finding')} not annotated (GitHub shows {PER_STEP} of each kind per step)"
            message += f": see {where} or this step's log." if where else ": see this step's log."
        elif where:
            message += f" Full report: {where}."
        return command("notice", message, title="followup: totals")


def _totals(summary: Summary) -> list[str]:
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
    return parts
