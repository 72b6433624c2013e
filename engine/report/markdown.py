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

The summary is known only at the end while the sections stream: they are spooled to a temporary
file (in memory while small) and copied after the summary, so memory stays flat for any batch.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from typing import IO, TextIO
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import Problem, display_path, escape_controls
from ..model import Finding, HistoryResult
from ..wording import plural
from .base import Context, Summary, quoted_source
from .sarif import subject_position

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
        self.clean: IO[str] = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8")  # noqa: SIM115
        self.clean_count = 0
        self.errors: list[Problem] = []

    def begin(self) -> None:
        pass

    def history(self, result: HistoryResult) -> None:
        label = quoted_source(result)
        if not result.findings:
            self.clean.write(f"- {cell(label)} — {cell(result.candidate)}\n")
            self.clean_count += 1
            return
        zone = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
        w = self.sections.write
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
                w(f"| {cell(due)} | {code(f.rule)} | {self._where(result, f)} | {cell(f.message)} |\n")
            w("\n")

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
        title = cell(self.titles.get(f.rule, ""))
        return f"| {icon} | {severity} | {code(f.rule)}<br>{title} | {self._where(result, f)} | {message} |\n"

    def error(self, problem: Problem) -> None:
        self.errors.append(problem)

    def end(self, summary: Summary) -> None:
        c = self.context
        w = self.out.write
        verdict = "❌ failing" if summary.failing else "✅ passing"
        if summary.errors:
            verdict = "❌ input errors"
        w(f"## followup: {cell(c.pack.name)} {cell(c.pack.version)} — {verdict}\n\n")
        w(f"Audit time {c.as_of.isoformat()}; fails on: {c.fail_on}.\n\n")
        sev = summary.by_severity
        w("| Histories | Errors | Warnings | Info | Next steps | Input errors | Waived |\n")
        w("|---:|---:|---:|---:|---:|---:|---:|\n")
        w(
            f"| {summary.histories} | {sev.get('error', 0)} | {sev.get('warning', 0)} | {sev.get('info', 0)} "
            f"| {summary.next_steps} | {summary.errors} | {summary.waived} |\n\n"
        )
        self.sections.seek(0)
        shutil.copyfileobj(self.sections, self.out)
        if self.errors:
            w(f"### Input errors ({len(self.errors)})\n\n| File | Line | Column | Problem |\n|---|---:|---:|---|\n")
            for p in self.errors:
                w(f"| {cell(display_path(p.source))} | {p.line} | {p.column} | {cell(p.message)} |\n")
            w("\n")
        if self.clean_count:
            w(f"<details><summary>{plural(self.clean_count, 'history')} with nothing to report</summary>\n\n")
            self.clean.seek(0)
            shutil.copyfileobj(self.clean, self.out)
            w("\n</details>\n")
        self.sections.close()
        self.clean.close()
