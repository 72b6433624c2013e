"""``--format html``: one self-contained page (inline CSS and SVG, no network) with a timeline per
history.

Layout, top to bottom: a header (pack, audit time, legend, severity filters), the summary and the
input errors, then one section per history: who and "as of", an SVG timeline (one lane per event
type, one mark per event, violations as lettered badges on their subject events, next steps at
their due dates in a lane of their own, the audit time as a dashed line), the findings in words,
the people involved and the event log.

Streaming: the head is written in ``begin``, each history as it comes; the summary and the errors
are written in ``end`` and moved to the top of the page by CSS (``order`` in a flex column), so
nothing but one small row per history is kept.

Safety: every string that comes from a history or a pack passes through ``esc`` (``html.escape``
with quotes) before it reaches the page, in text and in (always double-quoted) attributes; line
breaks and tabs become character references (the same text on the page, but no line of the file
starts with history text, so a CI log that prints the file obeys nothing in it), other control and
bidi characters readable escapes (``\\x1b``). The
page loads nothing: no fonts, images, scripts or styles from anywhere. The small inline script only
adds filtering; without it every finding is shown.
"""

from __future__ import annotations

# The page is built by parts: html_words (escaping, words, layout), html_history (one history's
# section and timeline), html_assets (style sheet, script, CSP); this module writes the page.
from dataclasses import dataclass
from typing import TextIO
from zoneinfo import ZoneInfo

from ..diagnostics import Problem
from ..model import HistoryResult
from ..wording import plural
from .base import Context, Summary
from .html_assets import CSP, CSS, SCRIPT
from .html_history import HistorySection
from .html_words import SEVERITIES, SEVERITY_LABEL, esc, esc_path, local_time
from .triage import Triage, triage, urgency

# The page's filter buttons: (finding class, label).
FILTER_BUTTONS = (("error", "Errors"), ("warning", "Warnings"), ("info", "Info"), ("next-step", "Next steps"))


def legend_badge(letter: str, color: str) -> str:
    return (f'<svg width="18" height="18" viewBox="-9 -9 18 18" aria-hidden="true"><rect x="-8" y="-8" '
            f'width="16" height="16" rx="4" fill="{color}"/><text y="4" text-anchor="middle" '
            f'font-size="11" font-weight="700" fill="#fff">{letter}</text></svg>')


LEGEND = (
    '<p class="legend" aria-label="Legend">'
    '<span><svg width="14" height="14" viewBox="-7 -7 14 14" aria-hidden="true"><circle r="5.5" fill="#344054"/>'
    "</svg> event</span>"
    f'<span>{legend_badge("E", "#b42318")} error</span>'
    f'<span>{legend_badge("W", "#a15c07")} warning</span>'
    f'<span>{legend_badge("i", "#175cd3")} info</span>'
    '<span><svg width="16" height="16" viewBox="-8 -8 16 16" aria-hidden="true"><path d="M0 -7 L7 0 L0 7 L-7 0 Z" '
    'fill="#067647"/></svg> next step (hollow: overdue)</span>'
    '<span><svg width="14" height="16" viewBox="-7 -8 14 16" aria-hidden="true"><line x1="0" y1="-8" x2="0" y2="8" '
    'stroke="#3538cd" stroke-width="2" stroke-dasharray="3 2"/></svg> audit time</span>'
    "</p>"
)


# A next due time that sorts after every real one ("none": last).
NO_DUE = 10**12


@dataclass(frozen=True)
class Row:
    """What the closing overview keeps of one history."""

    anchor: str
    candidate: str
    source: str
    key: tuple[object, ...]  # urgency
    triage: Triage
    zone: ZoneInfo
    new: int
    resolved: int | None  # None: no baseline


# The overview's columns: (heading, how the script sorts it, the first click's order).
COLUMNS = (
    ("#", "number", "ascending"),
    ("Candidate", "text", "ascending"),
    ("Errors", "number", "descending"),
    ("Warnings", "number", "descending"),
    ("Overdue", "number", "descending"),
    ("Next due", "time", "ascending"),
    ("Next steps", "number", "descending"),
)
NUMBER = ' class="n"'
BASELINE_COLUMNS = (("New", "number", "descending"), ("Resolved", "number", "descending"))


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.count = 0
        self.rows: list[Row] = []
        self.errors: list[Problem] = []

    # -- streaming ----------------------------------------------------------------------------

    def begin(self) -> None:
        c = self.context
        as_of = c.as_of
        zone = as_of.tzname() or "UTC"
        title = f"Follow-up audit · {c.pack.name}"
        filters = "".join(
            f'<label><input type="checkbox" data-toggle value="{key}" checked> {label}</label>'
            for key, label in FILTER_BUTTONS
        )
        self.out.write(
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="referrer" content="no-referrer">\n'
            f'<meta name="generator" content="followup {esc(c.tool_version)}">\n'
            f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            '<div class="page">\n<header class="top">\n'
            "<h1>Follow-up audit</h1>\n"
            f'<p class="meta">Pack <strong>{esc(c.pack.name)}</strong> {esc(c.pack.version)} · as of '
            f'<time datetime="{esc(as_of.isoformat())}">{esc(as_of.strftime("%a %d %b %Y %H:%M"))} {esc(zone)}</time>'
            f" · followup {esc(c.tool_version)}</p>\n"
            f'<div class="toolbar">{LEGEND}\n'
            f'<fieldset class="filters" id="filters" hidden><legend>Show</legend>{filters}</fieldset></div>\n'
            "</header>\n"
            '<main class="report">\n'
        )

    def history(self, result: HistoryResult) -> None:
        self.count += 1
        anchor = f"h{self.count}"
        zone = ZoneInfo(result.history.timezone) if result.history else ZoneInfo("UTC")
        as_of = self.context.as_of
        new = sum(f.baseline_state == "new" for f in result.findings)
        resolved = len(result.absent) if result.absent is not None else None
        row = Row(anchor, result.candidate, result.source, urgency(result, as_of), triage(result, as_of), zone, new,
                  resolved)
        self.rows.append(row)
        self.out.write(HistorySection(result, anchor, self.context).render())
        self.out.flush()

    def error(self, problem: Problem) -> None:
        self.errors.append(problem)

    def end(self, summary: Summary) -> None:
        self.out.write(self._summary(summary))
        if self.errors:
            items = "".join(f"<li>{esc(p)}</li>" for p in self.errors)
            self.out.write(
                '<section class="card" id="input-errors" aria-labelledby="input-errors-title">'
                f'<h2 id="input-errors-title">Input errors ({len(self.errors)})</h2>'
                '<p class="asof">These inputs were not audited; fix them and run again.</p>'
                f'<ul class="errors">{items}</ul></section>\n'
            )
        self.out.write(
            "</main>\n"
            f"<footer>Made by followup {esc(self.context.tool_version)} with the pack "
            f"{esc(self.context.pack.name)} {esc(self.context.pack.version)}. "
            "This page is self-contained: it loads nothing from the network.</footer>\n"
            f"</div>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
        )

    def _plain_verdict(self) -> str:
        """For a page of one history (the candidate's): what to do, in words, not the CI's verdict."""
        [row] = self.rows
        t = row.triage
        later = t.next_steps - t.overdue
        if t.overdue:
            text = "Start with the overdue next step"
            if t.overdue > 1:
                text = f"Start with the {t.overdue} overdue next steps"
            text += f", then the {later} other{'s' if later != 1 else ''}." if later else "."
            cls = "fail"
        elif t.next_steps:
            text = f"Nothing is overdue: {plural(t.next_steps, 'next step')} ahead."
            cls = "pass"
        else:
            text = "Nothing to do right now."
            cls = "pass"
        if t.errors or t.warnings:
            text += " Below them: what to do differently next time."
        return f'<p class="verdict {cls}">{esc(text)}</p>'

    # -- the overview: who needs attention, most urgent first; sortable by each column ----------------

    def _overview(self) -> str:
        baseline = any(r.resolved is not None for r in self.rows)
        columns = COLUMNS + (BASELINE_COLUMNS if baseline else ())
        head = "".join(
            f'<th scope="col" data-sort="{kind}" data-first="{first}"{NUMBER if kind == "number" else ""}>'
            f"{esc(name)}</th>"
            for name, kind, first in columns
        )
        body = "".join(self._row(n, r, baseline) for n, r in enumerate(sorted(self.rows, key=lambda r: r.key), 1))
        return (
            '<h3 id="attention">Needs attention, most urgent first</h3>'
            '<div class="table-scroll"><table class="overview" aria-describedby="attention">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def _row(self, number: int, r: Row, baseline: bool) -> str:
        t = r.triage
        due = (
            f'<time datetime="{esc(t.next_due.isoformat())}">{esc(local_time(t.next_due, r.zone))}</time>'
            if t.next_due is not None
            else "—"
        )
        due_value = int(t.next_due.timestamp()) if t.next_due is not None else NO_DUE
        cells = [
            f'<td class="n" data-value="{number}">{number}</td>',
            f'<td data-value="{esc(r.candidate.casefold())}"><a href="#{r.anchor}">{esc(r.candidate)}</a>'
            f'<div class="source">{esc_path(r.source)}</div></td>',
            self._count(t.errors, "error"),
            self._count(t.warnings, "warning"),
            self._count(t.overdue, "error"),
            f'<td data-value="{due_value}">{due}</td>',
            self._count(t.next_steps, "step"),
        ]
        if baseline:
            cells.append(self._count(r.new, "new"))
            cells.append(self._count(r.resolved or 0, "step"))
        return f"<tr>{''.join(cells)}</tr>"

    @staticmethod
    def _count(n: int, chip: str) -> str:
        shown = f'<span class="chip chip-{chip}">{n}</span>' if n else '<span class="zero">0</span>'
        return f'<td class="n" data-value="{n}">{shown}</td>'

    # -- the summary ----------------------------------------------------------------------------

    def _summary(self, summary: Summary) -> str:
        fail_on = self.context.fail_on
        stats = [
            ("", summary.histories, "histories audited" if summary.histories != 1 else "history audited"),
            ("bad" if summary.violations else "", summary.violations,
             "violations" if summary.violations != 1 else "violation"),
            ("step", summary.next_steps, "next steps" if summary.next_steps != 1 else "next step"),
        ]
        if summary.errors:
            stats.append(("bad", summary.errors, "input errors" if summary.errors != 1 else "input error"))
        if summary.waived:
            stats.append(("", summary.waived, "waived"))
        cells = "".join(f'<div class="stat {cls}"><b>{n}</b><span>{label}</span></div>' for cls, n, label in stats)
        sev = " ".join(
            f'<span class="chip chip-{s}">{plural(n, SEVERITY_LABEL[s].lower())}</span>'
            for s in SEVERITIES if (n := summary.by_severity.get(s))
        )
        if self.count == 1:
            verdict = self._plain_verdict()
        elif fail_on == "never":
            verdict = '<p class="verdict pass">--fail-on never: violations do not fail the run.</p>'
        elif summary.failing:
            verdict = (f'<p class="verdict fail">Fails --fail-on {esc(fail_on)}: '
                       f"{plural(summary.failing, 'violation')} at or above {esc(fail_on)}.</p>")
        else:
            verdict = f'<p class="verdict pass">Passes --fail-on {esc(fail_on)}.</p>'
        if summary.baseline:
            stats.append(("bad" if summary.new else "", summary.new, "new since the baseline"))
            stats.append(("step", summary.resolved, "resolved since the baseline"))
            cells = "".join(f'<div class="stat {cls}"><b>{n}</b><span>{label}</span></div>' for cls, n, label in stats)
        table = self._overview() if len(self.rows) > 1 else ""
        return (
            '<section class="card" id="summary" aria-labelledby="summary-title">'
            f'<h2 id="summary-title">Summary</h2><div class="stats">{cells}</div>'
            + (f'<p class="counts" style="margin:12px 0 0">{sev}</p>' if sev else "")
            + verdict + table + "</section>\n"
        )


