"""``--format text``: what a coach reads. Per history: violations, then next steps with due dates.

The report goes to terminals and CI logs, so every line passes through ``_echo``, which writes what
came from a history (names, companies, messages, file names) on one line with its control and bidi
characters escaped (``printable``), and never lets a line start like a CI workflow command.
"""

from __future__ import annotations

from typing import Any, TextIO
from zoneinfo import ZoneInfo

import click

from ..compile.template import format_time
from ..diagnostics import Problem, printable
from ..model import Finding, HistoryResult
from ..wording import plural
from .base import Context, Summary, quoted_source

MARKS = {"error": "✗", "warning": "!", "info": "·"}
COLORS = {"error": "red", "warning": "yellow", "info": "blue"}


def no_command(line: str) -> str:
    """``line`` unless, leading blanks aside, it starts with ``::`` (a GitHub Actions workflow
    command such as ``::add-mask::``, even indented): then its first colon is written ``\\x3a``."""
    start = len(line) - len(line.lstrip())
    return line[:start] + "\\x3a" + line[start + 1 :] if line.startswith("::", start) else line


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context

    def _echo(self, text: str = "", **style: Any) -> None:
        # Any: click.style's own keywords (fg, bold); a style given as None still ends with a reset.
        text = no_command(printable(text))
        if self.context.color and style:
            text = click.style(text, **style)
        self.out.write(text + "\n")

    def begin(self) -> None:
        pass

    def history(self, result: HistoryResult) -> None:
        tz = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
        as_of = format_time(self.context.as_of.timestamp(), tz)
        self._echo(f"{quoted_source(result)} — {result.candidate} (as of {as_of})", bold=True)
        violations = [f for f in result.findings if f.kind == "violation"]
        steps = [f for f in result.findings if f.kind == "next_step"]
        if not result.findings:
            self._echo("  Nothing to report: every rule is followed and nothing is due.", fg="green")
        if violations:
            self._echo(f"  Violations ({len(violations)})", bold=True)
            for f in violations:
                self._violation(f)
        if steps:
            self._echo(f"  Next steps ({len(steps)})", bold=True)
            for f in steps:
                due = format_time(f.due.timestamp(), tz) if f.due else "now"
                overdue = "  (overdue)" if f.due and f.due < self.context.as_of else ""
                self._echo(f"    → due {due}{overdue}  [{f.rule}]", fg="red" if overdue else None)
                self._echo(f"      {f.message}")
        self._echo()

    def _violation(self, f: Finding) -> None:
        waived = " (waived)" if f.waived else ""
        who = f" {f.person}" if f.person else ""
        self._echo(
            f"    {MARKS[f.severity]} {f.severity:<7} {f.rule} on {f.subject}{who}{waived}", fg=COLORS[f.severity]
        )
        self._echo(f"      {f.message}")
        if f.remedy:
            self._echo(f"      What to do: {f.remedy}")
        if f.waived:
            self._echo(f"      waived by {f.waived.approved_by} until {f.waived.expires}: {f.waived.reason}")

    def error(self, problem: Problem) -> None:
        self._echo(str(problem), fg="red")

    def end(self, summary: Summary) -> None:
        parts = [f"{plural(summary.histories, 'history')} audited"]
        sev = ", ".join(
            plural(n, s) for s in ("error", "warning", "info") if (n := summary.by_severity.get(s))
        )
        parts.append(
            plural(summary.violations, "violation") + (f" ({sev})" if sev else "")
        )
        if summary.waived:
            parts.append(f"{summary.waived} waived")
        parts.append(plural(summary.next_steps, "next step"))
        if summary.errors:
            parts.append(plural(summary.errors, "input error"))
        self._echo("Summary: " + ", ".join(parts), bold=True)
        if self.context.clock:
            moment = self.context.as_of.strftime("%a %d %b %Y %H:%M")
            self._echo(
                f"Audit time {moment} read on this computer's clock ({self.context.clock}), "
                "since --as-of had no offset; add one (Z, +01:00) for an exact instant."
            )
