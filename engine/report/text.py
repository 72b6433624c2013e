"""``--format text``: what a coach (and, for one history, the candidate) reads. Per history: the
next steps, grouped as overdue, due within a week and later (an overdue step says how late it is
before its message), then the violations; a report of one history also says why each rule matters.

A batch (two histories or more) opens with "Needs attention": every history with something to do,
most urgent first (errors, overdue next steps, the soonest due), one line each with its counts.
So that it can come first, the sections are spooled (in memory while small) and copied after it.
With ``--baseline``, a finding not in the baseline is marked ``new`` and each history lists what
was resolved since.

The report goes to terminals and CI logs, so every line passes through ``_echo``, which writes what
came from a history (names, companies, messages, file names) on one line with its control and bidi
characters escaped (``printable``), and never lets a line start like a CI workflow command.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from typing import IO, Any, TextIO
from zoneinfo import ZoneInfo

import click

from ..compile.template import format_time
from ..diagnostics import Problem, printable
from ..model import Finding, HistoryResult
from ..wording import plural
from .base import Context, Summary, quoted_source
from .triage import DUE_GROUPS, Triage, due_group, span, triage, urgency

SPOOL_BYTES = 1 << 20


@dataclass(frozen=True)
class _Row:
    key: tuple[object, ...]
    label: str
    triage: Triage
    zone: ZoneInfo
    new: int
    resolved: int | None

MARKS = {"error": "✗", "warning": "!", "info": "·"}
COLORS = {"error": "red", "warning": "yellow", "info": "blue"}


def no_command(line: str) -> str:
    """``line`` unless, leading blanks aside, it starts with ``::`` (a GitHub Actions workflow
    command such as ``::add-mask::``, even indented): then its first colon is written ``\\x3a``."""
    start = len(line) - len(line.lstrip())
    return line[:start] + "\\x3a" + line[start + 1 :] if line.startswith("::", start) else line


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.final = out
        self.context = context
        # Everything but the overview goes here first; closed in ``end``.
        self.out: IO[str] = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8")  # noqa: SIM115
        self.rows: list[_Row] = []
        self.held: HistoryResult | None = None
        self.rationales = {rule.id: " ".join(rule.rationale.split()) for rule in context.pack.rules}

    def _echo(self, text: str = "", **style: Any) -> None:
        self._line(self.out, text, **style)

    def _line(self, out: IO[str], text: str = "", **style: Any) -> None:
        # Any: click.style's own keywords (fg, bold); a style given as None still ends with a reset.
        text = no_command(printable(text))
        if self.context.color and style:
            text = click.style(text, **style)
        out.write(text + "\n")

    def begin(self) -> None:
        pass

    def history(self, result: HistoryResult) -> None:
        tz = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
        new_count = sum(f.baseline_state == "new" for f in result.findings)
        resolved = len(result.absent) if result.absent is not None else None
        label = f"{quoted_source(result)} — {result.candidate}"
        key = urgency(result, self.context.as_of)
        self.rows.append(_Row(key, label, triage(result, self.context.as_of), tz, new_count, resolved))
        # The first history waits: alone, it is written for the candidate (with why each rule
        # matters); with others, for the coach.
        if len(self.rows) == 1:
            self.held = result
            return
        if self.held is not None:
            self._section(self.held, for_candidate=False)
            self.held = None
        self._section(result, for_candidate=False)

    def _section(self, result: HistoryResult, *, for_candidate: bool) -> None:
        """Next steps first (overdue, due within a week, later), then violations."""
        tz = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
        as_of = self.context.as_of
        self._echo(f"{quoted_source(result)} — {result.candidate} (as of {format_time(as_of.timestamp(), tz)})",
                   bold=True)
        violations = [f for f in result.findings if f.kind == "violation"]
        steps = [f for f in result.findings if f.kind == "next_step"]
        if not result.findings:
            self._echo("  Nothing to report: every rule is followed and nothing is due.", fg="green")
        if steps:
            self._echo(f"  Next steps ({len(steps)})", bold=True)
            for group, heading in DUE_GROUPS:
                chosen = [f for f in steps if due_group(f, as_of) == group]
                if chosen:
                    self._echo(f"    {heading} ({len(chosen)})", bold=True)
                for f in chosen:
                    self._step(f, tz)
        if violations:
            self._echo(f"  Violations ({len(violations)})", bold=True)
            for f in violations:
                self._violation(f, for_candidate)
        if result.absent:
            self._echo(f"  Resolved since the baseline ({len(result.absent)})", bold=True)
            for f in result.absent:
                who = f" {f.person}" if f.person else ""
                what = "next step" if f.kind == "next_step" else f.severity
                self._echo(f"    ✓ {what} {f.rule} on {f.subject}{who}", fg="green")
        self._echo()

    def _step(self, f: Finding, tz: ZoneInfo) -> None:
        new = "  (new)" if f.baseline_state == "new" else ""
        if f.due is None:
            self._echo(f"      → due now{new}  [{f.rule}]")
        elif f.due < self.context.as_of:
            # Said before the message, whose own words may still speak of the due date as ahead.
            late = span((self.context.as_of - f.due).total_seconds())
            self._echo(f"      → was due {format_time(f.due.timestamp(), tz)} — {late} overdue{new}  [{f.rule}]",
                       fg="red")
        else:
            ahead = span((f.due - self.context.as_of).total_seconds())
            self._echo(f"      → due {format_time(f.due.timestamp(), tz)}, in {ahead}{new}  [{f.rule}]")
        self._echo(f"        {f.message}")

    def _violation(self, f: Finding, for_candidate: bool) -> None:
        waived = " (waived)" if f.waived else ""
        new = " (new)" if f.baseline_state == "new" else ""
        who = f" {f.person}" if f.person else ""
        self._echo(
            f"    {MARKS[f.severity]} {f.severity:<7} {f.rule} on {f.subject}{who}{waived}{new}",
            fg=COLORS[f.severity],
        )
        self._echo(f"      {f.message}")
        if f.remedy:
            self._echo(f"      What to do: {f.remedy}")
        elif for_candidate and (rationale := self.rationales.get(f.rule)):
            self._echo(f"      Why it matters: {rationale}")
        if f.waived:
            self._echo(f"      waived by {f.waived.approved_by} until {f.waived.expires}: {f.waived.reason}")

    def error(self, problem: Problem) -> None:
        self._echo(str(problem), fg="red")

    def _overview(self) -> None:
        """The batch's lead: who needs attention, most urgent first."""
        rows = sorted((r for r in self.rows if r.triage.next_steps or r.triage.errors or r.triage.warnings),
                      key=lambda r: r.key)
        out = self.final
        if not rows:
            self._line(out, "Nothing to do: no history has a violation or a next step.", bold=True, fg="green")
            self._line(out)
            return
        self._line(out, f"Needs attention: {plural(len(rows), 'history')} of {len(self.rows)}, most urgent first",
                   bold=True)
        for n, r in enumerate(rows, 1):
            t = r.triage
            counts = t.counts()
            if t.next_due is not None:
                counts += f"; next due {format_time(t.next_due.timestamp(), r.zone)}"
            if r.resolved is not None:
                counts += f"; {r.new} new, {r.resolved} resolved"
            color = "red" if t.errors or t.overdue else ("yellow" if t.warnings else None)
            self._line(out, f"  {n:>3}. {r.label}: {counts}", fg=color)
        self._line(out)

    def end(self, summary: Summary) -> None:
        if self.held is not None:
            self._section(self.held, for_candidate=True)
        if len(self.rows) > 1:
            self._overview()
        self.out.seek(0)
        shutil.copyfileobj(self.out, self.final)
        self.out.close()
        self.out = self.final  # the closing line goes straight out
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
        if summary.baseline:
            parts.append(f"since the baseline: {summary.new} new, {summary.resolved} resolved")
        self._echo("Summary: " + ", ".join(parts), bold=True)
        if self.context.clock:
            moment = self.context.as_of.strftime("%a %d %b %Y %H:%M")
            self._echo(
                f"Audit time {moment} read on this computer's clock ({self.context.clock}), "
                "since --as-of had no offset; add one (Z, +01:00) for an exact instant."
            )
