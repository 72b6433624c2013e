"""``--format markdown``: a report for a pull-request comment or a CI job summary.

A heading and a summary table come first (histories; violations by severity; next steps; input
errors; waived), then a section per history that has findings (a violations table and a next-steps
table), then the input errors, then the histories with nothing to report (folded). Every value
from a history is escaped for a table cell (``cell``): Markdown punctuation is backslash-escaped,
so a history cannot inject links, images, HTML, emphasis or table columns; a line break becomes
``<br>`` and other control or bidi characters readable escapes (``\\x1b``). What GitHub links
after the Markdown is rendered, where a backslash cannot stop it (``@mentions``, ``#123`` and
``GH-123`` references, bare ``https://`` and ``www.`` links, e-mail addresses), is broken by an
invisible WORD JOINER (U+2060) after the ``@``, ``#`` or ``GH``, before the ``://``, after the ``www``.

A batch then leads with "Needs attention": the histories with something to do, most urgent first
(errors, overdue next steps, the soonest due), a row of counts each. With ``--baseline``, findings
not in the baseline are marked 🆕 and each history lists what was resolved since.

Size: the whole report is at most ``LIMIT`` (65,536) characters, counted as UTF-16 code units as
GitHub counts a comment's length, whatever the batch. When everything does not fit, the sections
of the most urgent histories are written, most urgent first, until one does not fit; the rest are counted
in one line that says where the full report is (the run's other report files). The attention table,
the input errors and the list of clean histories are cut the same way.

The summary is known only at the end while the sections stream: they are spooled to a temporary
file (in memory while small) and copied after the summary, so memory stays flat for any batch.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from typing import IO, TextIO
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import Problem, display_path, escape_controls
from ..model import Finding, HistoryResult
from ..wording import plural
from .base import Context, Summary, full_reports, quoted_source
from .sarif import subject_position
from .triage import Triage, triage, urgency

ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}
# What can start emphasis, code, links, images, HTML, entities, strike-through, a heading's closing
# sequence or a new table column inside a cell or heading.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
# A list marker or an ordered-list number where a value starts a list item (``- {value}``).
_LEADING = re.compile(r"^([-+])|^(\d{1,9})([.)])(?=\s|$)")
# GitHub's math ($…$ and $$…$$): an entity, since a backslash does not always stop it.
_DOLLAR = "&#36;"
WORD_JOINER = "\u2060"
# Turned into links or notifications by GitHub after rendering (a backslash escape is gone by then):
# a mention or an e-mail address (``@`` then a letter or digit), an issue reference (``#`` then one,
# ``GH-1``), a bare link (``scheme://``, ``www.``). A word joiner goes where it breaks the pattern.
_LIVE = re.compile(r"(?<=@)(?=\w)|(?<=#)(?=\w)|(?<=\bgh)(?=-\d)|(?=://)|(?<=\bwww)(?=\\?\.)", re.IGNORECASE)
SPOOL_BYTES = 1 << 20
# GitHub's limit for a pull-request or issue comment.
LIMIT = 65_536
# At most this share of the budget goes to the attention table, so that details follow it.
TABLE_SHARE = 3
# Clean histories listed at most (the rest are counted): their list is cut far earlier anyway.
CLEAN_KEPT = 200
# Kept free for the closing lines (what was left out, where the full report is).
TAIL = 1_200


def size(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units: an emoji outside the BMP counts twice)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


@dataclass(frozen=True)
class _Section:
    key: tuple[object, ...]
    triage: Triage
    row: str  # the attention table's row (without its number)
    start: int  # where the section is in the spool, and how long it is (characters)
    length: int
    characters: int  # its ``size``


class _Budget:
    """What may still be written; ``take`` says whether ``text`` fits (and counts it if so)."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, text: str, keep: int = 0) -> bool:
        n = size(text)
        if n + keep > self.left:
            return False
        self.left -= n
        return True


def _maybe_live(line: str) -> bool:
    """Whether ``_LIVE`` can match at all: a plain search is many times faster than the regex."""
    lower = line.lower()
    return "@" in line or "#" in line or "://" in line or "www" in lower or "gh-" in lower


def _inline(line: str) -> str:
    line = _SPECIAL.sub(r"\\\1", escape_controls(line))
    if _maybe_live(line):
        line = _LIVE.sub(WORD_JOINER, line)
    return line.replace("$", _DOLLAR)


def cell(text: object) -> str:
    """``text`` safe inside a table cell, a heading or a list item: one line, no active Markdown
    or HTML, nothing GitHub would turn into a link, a mention or a reference."""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n")
    escaped = "<br>".join(_inline(line) for line in value.split("\n"))
    return _LEADING.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def code(text: str) -> str:
    """An identifier (a rule id) as code; backticks and pipes cannot occur in one, but be safe."""
    if "`" in text or "|" in text or "\n" in text:
        return cell(text)
    return f"`{text}`"


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.titles = {rule.id: rule.title for rule in context.pack.rules}
        # Closed in ``end`` (the Formatter protocol has no other end of life).
        self.sections: IO[str] = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8")  # noqa: SIM115
        # One line per clean history (short; a huge clean batch is cut at the end).
        self.clean: list[str] = []
        self.clean_count = 0
        self.histories: list[_Section] = []
        self.errors: list[Problem] = []

    def begin(self) -> None:
        pass

    def history(self, result: HistoryResult) -> None:
        label = quoted_source(result)
        if not result.findings and not result.absent:
            if len(self.clean) < CLEAN_KEPT:
                self.clean.append(f"- {cell(label)} — {cell(result.candidate)}\n")
            self.clean_count += 1
            return
        zone = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
        parts: list[str] = []
        w = parts.append
        w(f"### {cell(label)} — {cell(result.candidate)}\n\n")
        violations = [f for f in result.findings if f.kind == "violation"]
        steps = [f for f in result.findings if f.kind == "next_step"]
        if violations:
            w("| | Severity | Rule | Where | Message |\n|---|---|---|---|---|\n")
            for f in violations:
                w(self._violation_row(result, f))
            w("\n")
        if steps:
            w("**Next steps**\n\n| Due | Rule | Where | What to do |\n|---|---|---|---|\n")
            for f in steps:
                due = format_time(f.due.timestamp(), zone) if f.due else "now"
                if f.due is not None and f.due < self.context.as_of:
                    due += " (overdue)"
                due = cell(due) + (" 🆕" if f.baseline_state == "new" else "")
                w(f"| {due} | {code(f.rule)} | {self._where(result, f)} | {cell(f.message)} |\n")
            w("\n")
        if result.absent:
            w(f"**Resolved since the baseline ({len(result.absent)})**\n\n")
            for f in result.absent:
                what = "next step" if f.kind == "next_step" else f.severity
                w(f"- ✅ {cell(what)} {code(f.rule)} — {self._where(result, f)}\n")
            w("\n")
        text = "".join(parts)
        start = self.sections.tell()
        self.sections.write(text)
        t = triage(result, self.context.as_of)
        next_due = format_time(t.next_due.timestamp(), zone) if t.next_due is not None else "—"
        row = (
            f"| {cell(label)} — {cell(result.candidate)} | {t.errors} | {t.warnings} | {t.overdue} "
            f"| {cell(next_due)} | {t.next_steps} |"
        )
        if result.absent is not None:
            new = sum(f.baseline_state == "new" for f in result.findings)
            row += f" {new} | {len(result.absent)} |"
        key = urgency(result, self.context.as_of)
        self.histories.append(_Section(key, t, row, start, len(text), size(text)))
    def _where(self, result: HistoryResult, f: Finding) -> str:
        line, _ = subject_position(result, f)
        who = f", {f.person}" if f.person else ""
        return cell(f"{f.subject}{who} (line {line})")

    def _violation_row(self, result: HistoryResult, f: Finding) -> str:
        message = cell(f.message)
        if f.remedy:
            message += "<br>" + cell(f"What to do: {f.remedy}")
        if f.waived is not None:
            w = f.waived
            icon = "🔕"
            message += "<br>" + cell(f"Waived by {w.approved_by} until {w.expires}: {w.reason}")
            severity = f"{f.severity} (waived)"
        else:
            icon = ICONS[f.severity]
            severity = f.severity
        if f.baseline_state == "new":
            severity += " 🆕"
        title = cell(self.titles.get(f.rule, ""))
        return f"| {icon} | {severity} | {code(f.rule)}<br>{title} | {self._where(result, f)} | {message} |\n"

    def error(self, problem: Problem) -> None:
        self.errors.append(problem)

    def end(self, summary: Summary) -> None:
        budget = _Budget(LIMIT - TAIL)
        w = self.out.write
        head = self._head(summary)
        budget.take(head)
        w(head)
        if len(self.histories) + self.clean_count > 1 and self.histories:
            w(self._attention(budget))
        chosen = self._choose(budget)
        for section in chosen:
            self.sections.seek(section.start)
            w(self.sections.read(section.length))
        if self.errors:
            w(self._errors(budget))
        if self.clean_count:
            w(self._clean(budget))
        if len(chosen) < len(self.histories):
            shown = {id(s) for s in chosen}
            w(self._left_out([s for s in self.histories if id(s) not in shown]))
        self.sections.close()

    def _head(self, summary: Summary) -> str:
        c = self.context
        verdict = "❌ failing" if summary.failing else "✅ passing"
        if summary.errors:
            verdict = "❌ input errors"
        sev = summary.by_severity
        lines = [
            f"## followup: {cell(c.pack.name)} {cell(c.pack.version)} — {verdict}\n\n",
            f"Audit time {c.as_of.isoformat()}; fails on: {c.fail_on}",
            " (new violations only)" if c.baseline is not None else "",
            ".\n\n",
            "| Histories | Errors | Warnings | Info | Next steps | Input errors | Waived |\n",
            "|---:|---:|---:|---:|---:|---:|---:|\n",
            f"| {summary.histories} | {sev.get('error', 0)} | {sev.get('warning', 0)} | {sev.get('info', 0)} "
            f"| {summary.next_steps} | {summary.errors} | {summary.waived} |\n\n",
        ]
        if summary.baseline:
            lines.append(
                f"Since the baseline: {plural(summary.new, 'new finding')} (🆕), {summary.resolved} resolved.\n\n"
            )
        return "".join(lines)

    def _attention(self, budget: _Budget) -> str:
        ranked = sorted(self.histories, key=lambda s: s.key)
        baseline = self.context.baseline is not None
        head = (
            f"### Needs attention ({plural(len(ranked), 'history')}, most urgent first)\n\n"
            "| # | History | Errors | Warnings | Overdue | Next due | Next steps |"
            + (" New | Resolved |" if baseline else "")
            + "\n|---:|---|---:|---:|---:|---|---:|"
            + ("---:|---:|" if baseline else "")
            + "\n"
        )
        share = _Budget(budget.left // TABLE_SHARE)
        parts = [head]
        share.take(head)
        shown = 0
        for n, section in enumerate(ranked, 1):
            row = f"| {n} {section.row}\n"
            if not share.take(row, keep=120):
                break
            parts.append(row)
            shown += 1
        if shown < len(ranked):
            parts.append(f"\n…and {plural(len(ranked) - shown, 'more history', 'more histories')} "
                         "with something to do (below, or in the full report).\n")
        parts.append("\n")
        text = "".join(parts)
        budget.take(text)
        return text

    def _choose(self, budget: _Budget) -> list[_Section]:
        """Every section in stream order when all fit; else the most urgent ones, most urgent first, up
        to the first that does not fit."""
        room = budget.left - self._tails()
        total = sum(s.characters for s in self.histories)
        if total <= room:
            budget.left -= total
            return list(self.histories)
        chosen: list[_Section] = []
        for section in sorted(self.histories, key=lambda s: s.key):
            if section.characters > room:
                break  # the rest are counted: what is shown is exactly the most urgent
            chosen.append(section)
            room -= section.characters
            budget.left -= section.characters
        return chosen

    def _tails(self) -> int:
        """Room kept for the input errors and the clean histories (each cut to fit anyway)."""
        return min(4_000, 200 * len(self.errors)) + min(2_000, 80 * self.clean_count)

    def _errors(self, budget: _Budget) -> str:
        head = f"### Input errors ({len(self.errors)})\n\n| File | Line | Column | Problem |\n|---|---:|---:|---|\n"
        parts = [head] if budget.take(head) else []
        shown = 0
        for p in self.errors if parts else ():
            row = f"| {cell(display_path(p.source))} | {p.line} | {p.column} | {cell(p.message)} |\n"
            if not budget.take(row, keep=100):
                break
            parts.append(row)
            shown += 1
        if shown < len(self.errors):
            parts.append(f"\n…and {plural(len(self.errors) - shown, 'more input error')} in the full report.\n")
        parts.append("\n")
        return "".join(parts)

    def _clean(self, budget: _Budget) -> str:
        head = f"<details><summary>{plural(self.clean_count, 'history')} with nothing to report</summary>\n\n"
        tail = "\n</details>\n"
        parts = [head]
        budget.take(head + tail)
        shown = 0
        for line in self.clean:
            if not budget.take(line, keep=100):
                break
            parts.append(line)
            shown += 1
        if shown < self.clean_count:
            parts.append(f"- …and {self.clean_count - shown} more\n")
        parts.append(tail)
        return "".join(parts)

    def _left_out(self, rest: list[_Section]) -> str:
        count = len(rest)
        errors = sum(s.triage.errors for s in rest)
        warnings = sum(s.triage.warnings for s in rest)
        overdue = sum(s.triage.overdue for s in rest)
        steps = sum(s.triage.next_steps for s in rest)
        where = [f"{name} in {cell(path)}" for name, path in full_reports(self.context)]
        pointer = f" See the full report: {', '.join(where[:3])}." if where else " Other formats show all of them."
        return (
            f"\n**{plural(count, 'more history', 'more histories')} not shown here** (this summary keeps within "
            f"GitHub's {LIMIT:,}-character limit): {plural(errors, 'error')}, {plural(warnings, 'warning')}, "
            f"{plural(overdue, 'overdue next step')}, {plural(steps, 'next step')} in all.{pointer}\n"
        )
