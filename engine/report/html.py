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

import base64
import hashlib
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import CI_COMMAND, UNSAFE, Problem, escape_controls
from ..model import SEVERITY_RANK, Event, Finding, History, HistoryResult
from . import Context, Summary

SEVERITIES = ("error", "warning", "info")
SEVERITY_LABEL: Mapping[str, str] = {"error": "Error", "warning": "Warning", "info": "Info"}
SEVERITY_LETTER: Mapping[str, str] = {"error": "E", "warning": "W", "info": "i"}
LANES: tuple[tuple[str, str], ...] = (
    ("interview", "Interviews"),
    ("email", "Emails"),
    ("call", "Calls"),
    ("note", "Notes"),
    ("social", "Social media"),
    ("reference_contact", "To references"),
    ("reference_check", "Reference checks"),
    ("decision", "Decisions"),
)
LANE_LABEL = dict(LANES)
WORDS: Mapping[str, str] = {
    "thank_you": "thank-you",
    "check_in": "check-in",
    "heads_up": "heads-up",
    "contact_employer": "asked to contact the employer",
    "on_hold": "on hold",
}

# SVG geometry, in viewBox units.
VIEW_W = 1000
PLOT_X0, PLOT_X1 = 150, 975
TOP = 40  # room for the "as of" label
LANE_H = 52
STEP_ROW_H = 24
AXIS_H = 44
MAX_TICKS = 10


_BREAKS = str.maketrans({"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def esc(value: object) -> str:
    """Text or attribute value (always double-quoted) of anything not written by this module."""
    text = html.escape(str(value), quote=True)
    if UNSAFE.search(text):
        text = escape_controls(text.translate(_BREAKS))
    if "##" in text:
        text = CI_COMMAND.sub(lambda m: m.group(1) + "&#91;", text)
    return text


def esc_path(value: str) -> str:
    """A file name that may break after its slashes on narrow screens."""
    return esc(value).replace("/", "/<wbr>")


def words(value: object) -> str:
    text = str(value)
    return WORDS.get(text, text.replace("_", " "))


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return format_time(moment.timestamp(), tz)


def relative(delta_seconds: float) -> str:
    """``in 6 days`` / ``2 hours ago`` / ``now``."""
    seconds = abs(delta_seconds)
    if seconds < 60:
        return "now"
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size or unit == "minute":
            n = int(seconds // size)
            if unit == "week" and seconds < 14 * 86400:
                continue
            text = plural(n, unit)
            return f"in {text}" if delta_seconds > 0 else f"{text} ago"
    return "now"  # pragma: no cover - the loop always returns


def as_ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


# ---------------------------------------------------------------------------------------------
# Describing events in words


def person_name(history: History, person_id: str) -> str:
    person = history.person(person_id)
    return person.name if person else person_id


def names(history: History, value: object) -> str:
    return ", ".join(person_name(history, p) for p in as_ids(value))


def describe(event: Event, history: History) -> str:
    """One line, in plain words, of what happened (not escaped)."""
    get = event.data.get
    kind = event.type
    if kind == "interview":
        text = f"Interview at {get('company', '?')}"
        if get("position"):
            text += f" for {get('position')}"
        if get("with"):
            text += f" with {names(history, get('with'))}"
        return text
    if kind in ("email", "call"):
        noun = "Email" if kind == "email" else "Call"
        if get("direction") == "received":
            text = f"{noun} from {names(history, get('from')) or '?'}"
        else:
            text = f"{noun} to {names(history, get('to')) or '?'}"
        extras = []
        if get("purpose") and get("purpose") != "other":
            extras.append(words(get("purpose")))
        if get("proofread_by"):
            extras.append(f"proofread by {person_name(history, str(get('proofread_by')))}")
        if extras:
            text += f" ({', '.join(extras)})"
        if get("subject"):
            text += f": “{get('subject')}”"
        return text
    if kind == "note":
        return f"Handwritten note to {names(history, get('to')) or '?'}"
    if kind == "social":
        action = words(get("action", "activity"))
        text = f"{get('network')}: {action}" if get("network") else action.capitalize()
        if get("target"):
            text += f" → {person_name(history, str(get('target')))}"
        return text
    if kind == "reference_contact":
        ref = person_name(history, str(get("reference", "?")))
        what = get("company") or get("about") or ""
        if get("request") == "contact_employer":
            return f"Asked reference {ref} to contact {what or 'the employer'}"
        return f"Heads-up to reference {ref}" + (f" about {what}" if what else "")
    if kind == "reference_check":
        ref = person_name(history, str(get("reference", "?")))
        return f"{get('company', 'The employer')} contacted reference {ref}"
    if kind == "decision":
        who = get("company") or get("about") or "Employer"
        return f"Decision from {who}: {words(get('outcome', '?'))}"
    return kind.replace("_", " ").capitalize()


# ---------------------------------------------------------------------------------------------
# The time axis


@dataclass(frozen=True)
class Axis:
    t0: float
    t1: float
    tz: ZoneInfo

    def x(self, moment: datetime) -> float:
        frac = (moment.timestamp() - self.t0) / (self.t1 - self.t0)
        return round(PLOT_X0 + frac * (PLOT_X1 - PLOT_X0), 1)

    def ticks(self) -> list[tuple[datetime, str]]:
        """Ticks at round local times (midnights, Mondays, first days of months) of the zone."""
        span = self.t1 - self.t0
        start = datetime.fromtimestamp(self.t0, self.tz)
        hour_steps = (1, 2, 3, 6, 12)
        for step in hour_steps:
            if span / (step * 3600) <= MAX_TICKS:
                return self._hour_ticks(start, step)
        for days in (1, 2, 7, 14):
            if span / (days * 86400) <= MAX_TICKS:
                return self._day_ticks(start.date(), days)
        for months in (1, 2, 3, 6, 12, 24, 60):
            if span / (months * 30.4 * 86400) <= MAX_TICKS:
                return self._month_ticks(start.date(), months)
        return []

    def _inside(self, moment: datetime) -> bool:
        return self.t0 <= moment.timestamp() <= self.t1

    def _hour_ticks(self, start: datetime, step: int) -> list[tuple[datetime, str]]:
        moment = start.replace(minute=0, second=0, microsecond=0)
        moment = moment.replace(hour=moment.hour - moment.hour % step)
        out: list[tuple[datetime, str]] = []
        last_day: date | None = None
        while moment.timestamp() <= self.t1:
            local = moment.astimezone(self.tz)
            if self._inside(local):
                label = f"{local:%H:%M}"
                if local.date() != last_day:
                    label = f"{local.day} {local:%b} {label}"
                    last_day = local.date()
                out.append((local, label))
            moment = datetime.fromtimestamp(moment.timestamp() + step * 3600, self.tz)
        return out

    def _day_ticks(self, first: date, days: int) -> list[tuple[datetime, str]]:
        if days >= 7:
            first -= timedelta(days=first.weekday())  # weeks start on Monday
        out: list[tuple[datetime, str]] = []
        day = first
        last_year = None
        while True:
            moment = datetime.combine(day, time(0), self.tz)
            if moment.timestamp() > self.t1:
                return out
            if self._inside(moment):
                label = f"{moment:%a} {moment.day} {moment:%b}" if days == 1 else f"{moment.day} {moment:%b}"
                if moment.year != last_year:
                    label += f" {moment.year}" if not out else ""
                    last_year = moment.year
                out.append((moment, label))
            day += timedelta(days=days)

    def _month_ticks(self, first: date, months: int) -> list[tuple[datetime, str]]:
        index = first.year * 12 + first.month - 1
        index -= index % months
        out: list[tuple[datetime, str]] = []
        while True:
            moment = datetime(index // 12, index % 12 + 1, 1, tzinfo=self.tz)
            if moment.timestamp() > self.t1:
                return out
            if self._inside(moment):
                out.append((moment, f"{moment:%b %Y}"))
            index += months


def make_axis(moments: Iterable[datetime], tz: ZoneInfo) -> Axis:
    stamps = [m.timestamp() for m in moments]
    lo, hi = min(stamps), max(stamps)
    if hi - lo < 3600:
        lo, hi = lo - 43200, hi + 43200
    pad = (hi - lo) * 0.03
    return Axis(lo - pad, hi + pad, tz)


# ---------------------------------------------------------------------------------------------
# The page


CSS = """
:root{color-scheme:light;--ink:#101828;--ink2:#475467;--ink3:#667085;--line:#eaecf0;--bg:#f6f7f9;
--card:#fff;--error:#b42318;--error-bg:#fef3f2;--error-bd:#fecdca;--warning:#a15c07;
--warning-bg:#fffaeb;--warning-bd:#fedf89;--info:#175cd3;--info-bg:#eff8ff;--info-bd:#b2ddff;
--step:#067647;--step-bg:#ecfdf3;--step-bd:#abefc6;--event:#344054;--accent:#3538cd}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.5;
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent)}
.page{max-width:1120px;margin:0 auto;padding:24px 20px 48px}
.top h1{font-size:26px;line-height:1.2;margin:0 0 4px}
.top .meta{color:var(--ink2);margin:0}
.report{display:flex;flex-direction:column;gap:20px;margin-top:16px}
#summary{order:-2}#input-errors{order:-1}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;
box-shadow:0 1px 2px rgba(16,24,40,.05)}
h2{font-size:20px;line-height:1.3;margin:0}
h3{font-size:13px;letter-spacing:.04em;text-transform:uppercase;color:var(--ink2);margin:18px 0 8px}
.toolbar{display:flex;flex-wrap:wrap;gap:10px 24px;align-items:center;margin-top:14px}
.legend,.filters{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:0;padding:0;
border:0;font-size:13px;color:var(--ink2)}
.filters legend{float:left;margin-right:4px;font-weight:600;color:var(--ink)}
.filters label{display:inline-flex;gap:6px;align-items:center;cursor:pointer}
.filters input{width:16px;height:16px;margin:0;accent-color:var(--accent)}
.legend svg{vertical-align:middle}
.chip{display:inline-block;font-size:12px;font-weight:600;line-height:18px;padding:0 8px;
border-radius:9px;border:1px solid;white-space:nowrap}
.chip-error{color:var(--error);background:var(--error-bg);border-color:var(--error-bd)}
.chip-warning{color:var(--warning);background:var(--warning-bg);border-color:var(--warning-bd)}
.chip-info{color:var(--info);background:var(--info-bg);border-color:var(--info-bd)}
.chip-step{color:var(--step);background:var(--step-bg);border-color:var(--step-bd)}
.chip-muted{color:var(--ink2);background:#f2f4f7;border-color:var(--line)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin:14px 0 0}
.stat{border:1px solid var(--line);border-radius:10px;padding:10px 12px}
.stat b{display:block;font-size:24px;line-height:1.2}
.stat span{color:var(--ink2);font-size:13px}
.stat.bad b{color:var(--error)}.stat.step b{color:var(--step)}
.verdict{margin:12px 0 0;font-weight:600}
.verdict.fail{color:var(--error)}.verdict.pass{color:var(--step)}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--ink2);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.table-scroll{overflow-x:auto;margin-top:14px}
.errors li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;
overflow-wrap:anywhere;margin:4px 0}
.history-head{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;justify-content:space-between}
.history-head .who{min-width:0}
.source{color:var(--ink3);font-size:13px;margin:2px 0 0;overflow-wrap:anywhere}
.asof{margin:6px 0 0;color:var(--ink2);font-size:14px}
.asof strong{color:var(--ink)}
.counts{display:flex;flex-wrap:wrap;gap:6px}
.timeline-scroll{overflow-x:auto;margin:14px -6px 0;padding:0 6px}
svg.timeline{display:block;width:100%;height:auto;font-family:inherit}
svg.timeline text{font-size:13px;fill:var(--ink2)}
svg.timeline .lane-label{font-size:13px;font-weight:600;fill:var(--ink)}
svg.timeline .lane-label.steps{fill:var(--step)}
svg.timeline .lane-line{stroke:var(--line)}
svg.timeline .grid{stroke:#eef0f3}
svg.timeline .axis{stroke:#98a2b3}
svg.timeline .tick-label{font-size:12px;fill:var(--ink2)}
svg.timeline .tz{font-size:11px;fill:var(--ink3)}
svg.timeline .future{fill:#f0f5ff}
svg.timeline .asof-line{stroke:var(--accent);stroke-width:1.5;stroke-dasharray:5 4}
svg.timeline .asof-label{font-size:12px;font-weight:600;fill:var(--accent)}
svg.timeline .event-mark circle,svg.timeline .event-mark rect{fill:var(--event);stroke:#fff;stroke-width:2}
svg.timeline .event-mark.received circle{fill:#fff;stroke:var(--event);stroke-width:2}
svg.timeline .event-mark .span{fill:#98a2b3;stroke:none}
svg.timeline .event-mark .id{font-size:11px;fill:var(--ink3)}
svg.timeline a.event-mark:focus-visible circle{stroke:var(--accent);stroke-width:3}
svg.timeline .badge rect{stroke:#fff;stroke-width:1.5}
svg.timeline .badge text{font-size:11px;font-weight:700;fill:#fff;text-anchor:middle}
svg.timeline .stem{stroke-width:1.5}
svg.timeline .severity-error rect,svg.timeline .severity-error .ring{fill:var(--error)}
svg.timeline .severity-warning rect{fill:var(--warning)}
svg.timeline .severity-info rect{fill:var(--info)}
svg.timeline .severity-error .stem{stroke:var(--error)}
svg.timeline .severity-warning .stem{stroke:var(--warning)}
svg.timeline .severity-info .stem{stroke:var(--info)}
svg.timeline .waived{opacity:.45}
svg.timeline .next-step path{fill:var(--step);stroke:#fff;stroke-width:1.5}
svg.timeline .next-step.overdue path{fill:#fff;stroke:var(--step);stroke-width:2}
svg.timeline .next-step text{font-size:12px;fill:var(--step);font-weight:700}
.columns{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:8px 32px}
.findings ol,.people ul,.event-list{list-style:none;margin:0;padding:0}
.finding{border:1px solid var(--line);border-left-width:4px;border-radius:8px;padding:10px 12px;margin:0 0 8px}
.finding.sev-error{border-left-color:var(--error)}
.finding.sev-warning{border-left-color:var(--warning)}
.finding.sev-info{border-left-color:var(--info)}
.finding.step{border-left-color:var(--step)}
.finding .head{display:flex;flex-wrap:wrap;gap:4px 8px;align-items:center}
.finding .title{font-weight:600}
.finding .message{margin:4px 0 0}
.finding .where{margin:4px 0 0;color:var(--ink3);font-size:13px}
.finding .due{font-weight:600}
.finding .waiver{margin:6px 0 0;font-size:13px;color:var(--ink2)}
.finding.is-waived{opacity:.8}
.empty{color:var(--step);font-weight:600;margin:14px 0 0}
.people li{padding:6px 0;border-bottom:1px solid var(--line)}
.people li:last-child{border-bottom:0}
.people .role{color:var(--ink2);font-size:13px}
.nowrap{white-space:nowrap}
details.events{margin-top:14px}
details.events>summary{cursor:pointer;font-weight:600;color:var(--ink2)}
.event-list li{display:grid;grid-template-columns:13em minmax(0,1fr);gap:2px 12px;padding:6px 0;
border-bottom:1px solid var(--line)}
.event-list time{color:var(--ink2);font-variant-numeric:tabular-nums;font-size:14px}
.event-list .what{overflow-wrap:anywhere}
.event-list .eid{color:var(--ink3);font-size:12px;font-family:ui-monospace,Menlo,Consolas,monospace}
.event-list blockquote{margin:4px 0 0;padding:6px 10px;background:#f9fafb;border-left:3px solid var(--line);
white-space:pre-wrap;overflow-wrap:anywhere;font-size:14px}
.event-list li:target{background:#f5f8ff}
.filtered{display:none!important}
.scroll-hint{display:none;font-size:12px;color:var(--ink3);margin:6px 0 0}
footer{color:var(--ink3);font-size:13px;margin-top:28px}
@media (max-width:720px){
 .page{padding:16px 12px 36px}
 .top h1{font-size:22px}
 .card{padding:14px 14px;border-radius:10px}
 .columns{grid-template-columns:minmax(0,1fr)}
 svg.timeline{min-width:760px}
 svg.timeline text,svg.timeline .lane-label{font-size:16px}
 svg.timeline .tick-label{font-size:15px}
 svg.timeline .tz{font-size:13px}
 .errors{padding-left:18px}
 svg.timeline .event-mark .id{display:none}
 .event-list li{grid-template-columns:minmax(0,1fr)}
 .stat b{font-size:20px}
 .stats{grid-template-columns:repeat(3,minmax(0,1fr))}
 .scroll-hint{display:block}
}
@media print{.filters{display:none}.timeline-scroll{overflow:visible}svg.timeline{min-width:0}
 .card{box-shadow:none;break-inside:avoid-page}}
"""

SCRIPT = """
(function(){
var boxes=[].slice.call(document.querySelectorAll('input[data-toggle]'));
function apply(){
 var off={};boxes.forEach(function(b){off[b.value]=!b.checked;});
 [].forEach.call(document.querySelectorAll('[data-filter]'),function(el){
  el.classList.toggle('filtered',!!off[el.getAttribute('data-filter')]);});
}
var m=/(?:^#|&)hide=([a-z,-]+)/.exec(location.hash);
if(m){m[1].split(',').forEach(function(v){boxes.forEach(function(b){if(b.value===v)b.checked=false;});});}
boxes.forEach(function(b){b.addEventListener('change',apply);});
var bar=document.getElementById('filters');if(bar)bar.hidden=false;
apply();
})();
"""

# Defence in depth behind the escaping: the page may run only its own script (by hash) and load
# nothing at all, so even a missed escape could neither run code nor reach the network.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'"
)

FILTERS = (("error", "Errors"), ("warning", "Warnings"), ("info", "Info"), ("next-step", "Next steps"))


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


def count_chips(by_severity: Mapping[str, int], next_steps: int) -> str:
    chips = [
        f'<span class="chip chip-{s}">{plural(n, SEVERITY_LABEL[s].lower())}</span>'
        for s in SEVERITIES if (n := by_severity.get(s))
    ]
    if next_steps:
        chips.append(f'<span class="chip chip-step">{plural(next_steps, "next step")}</span>')
    return " ".join(chips) or '<span class="chip chip-step">all clear</span>'


@dataclass(frozen=True)
class Row:
    """What the closing overview keeps of one history."""

    anchor: str
    candidate: str
    source: str
    by_severity: Mapping[str, int]
    next_steps: int


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
            for key, label in FILTERS
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
        by_sev: dict[str, int] = {}
        steps = 0
        for f in result.findings:
            if f.kind == "next_step":
                steps += 1
            else:
                by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        self.rows.append(Row(anchor, result.candidate, result.source, by_sev, steps))
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
        if fail_on == "never":
            verdict = '<p class="verdict pass">--fail-on never: violations do not fail the run.</p>'
        elif summary.failing:
            verdict = (f'<p class="verdict fail">Fails --fail-on {esc(fail_on)}: '
                       f"{plural(summary.failing, 'violation')} at or above {esc(fail_on)}.</p>")
        else:
            verdict = f'<p class="verdict pass">Passes --fail-on {esc(fail_on)}.</p>'
        table = ""
        if len(self.rows) > 1:
            body = "".join(
                f'<tr><td><a href="#{r.anchor}">{esc(r.candidate)}</a>'
                f'<div class="source">{esc_path(r.source)}</div></td>'
                f'<td><span class="counts">{count_chips(r.by_severity, r.next_steps)}</span></td></tr>'
                for r in self.rows
            )
            table = (
                '<div class="table-scroll"><table><thead><tr><th>Candidate</th><th>Findings</th></tr></thead>'
                f"<tbody>{body}</tbody></table></div>"
            )
        return (
            '<section class="card" id="summary" aria-labelledby="summary-title">'
            f'<h2 id="summary-title">Summary</h2><div class="stats">{cells}</div>'
            + (f'<p class="counts" style="margin:12px 0 0">{sev}</p>' if sev else "")
            + verdict + table + "</section>\n"
        )


class HistorySection:
    """The section of one history: head, timeline, findings, people, event log."""

    def __init__(self, result: HistoryResult, anchor: str, context: Context) -> None:
        self.result = result
        self.anchor = anchor
        self.context = context
        self.history = result.history
        self.tz = ZoneInfo(self.history.timezone) if self.history else ZoneInfo("UTC")
        self.as_of = context.as_of
        events = self.history.events if self.history else ()
        self.events = sorted(events, key=lambda e: (e.at, e.id))
        self.event_anchor = {e.id: f"{anchor}-ev{i}" for i, e in enumerate(self.events, 1)}
        self.by_id = {e.id: e for e in self.events}
        self.violations = sorted(
            (f for f in result.findings if f.kind == "violation"),
            key=lambda f: (-SEVERITY_RANK[f.severity], self._when(f.subject), f.rule),
        )
        self.steps = sorted(
            (f for f in result.findings if f.kind == "next_step"),
            key=lambda f: (f.due or self.as_of, f.rule, f.subject, f.person or ""),
        )

    def _when(self, event_id: str) -> float:
        event = self.by_id.get(event_id)
        return event.at.timestamp() if event else 0.0

    def _name(self, person_id: str) -> str:
        return person_name(self.history, person_id) if self.history else person_id

    def _rule_title(self, f: Finding) -> str:
        rule = self.context.pack.rule(f.rule)
        return rule.title if rule else f.rule

    # -- head -----------------------------------------------------------------------------------

    def render(self) -> str:
        r = self.result
        by_sev: dict[str, int] = {}
        for f in self.violations:
            by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        counts = count_chips(by_sev, len(self.steps))
        zone = self.history.timezone if self.history else "UTC"
        parts = [
            f'<section class="card history" id="{self.anchor}" aria-labelledby="{self.anchor}-title">',
            '<header class="history-head"><div class="who">',
            f'<h2 id="{self.anchor}-title">{esc(r.candidate)}</h2>',
            f'<p class="source">{esc_path(r.source)}</p>',
            f'<p class="asof">As of <strong><time datetime="{esc(self.as_of.isoformat())}">'
            f"{esc(local_time(self.as_of, self.tz))}</time></strong> · times in {esc(zone)}</p>",
            f'</div><p class="counts">{counts}</p></header>',
        ]
        if self.events or self.steps:
            parts.append(self.timeline())
        parts.append('<div class="columns"><div class="findings">')
        parts.append(self.findings())
        parts.append('</div><div class="people">')
        parts.append(self.people())
        parts.append("</div></div>")
        parts.append(self.event_log())
        parts.append("</section>\n")
        return "\n".join(parts)

    # -- the timeline ---------------------------------------------------------------------------

    def timeline(self) -> str:
        moments: list[datetime] = [self.as_of]
        for e in self.events:
            moments.append(e.at)
            ends = e.data.get("ends")
            if isinstance(ends, datetime):
                moments.append(ends)
        moments.extend(f.due for f in self.steps if f.due)
        axis = make_axis(moments, self.tz)

        lane_keys = [key for key, _ in LANES if any(e.type == key for e in self.events)]
        lane_keys += sorted({e.type for e in self.events} - set(LANE_LABEL))
        lane_y: dict[str, float] = {}
        y = float(TOP)
        for key in lane_keys:
            lane_y[key] = y
            y += LANE_H
        step_rows = self._step_rows(axis)
        steps_top = y
        if self.steps:
            y += max(STEP_ROW_H * (max(step_rows.values()) + 1) + 16, LANE_H)
        plot_bottom = y
        height = plot_bottom + AXIS_H
        ax = axis.x(self.as_of)

        out: list[str] = [
            '<div class="timeline-scroll">',
            f'<svg class="timeline" viewBox="0 0 {VIEW_W} {height:g}" role="img" '
            f'aria-labelledby="{self.anchor}-svgt" preserveAspectRatio="xMinYMin meet">',
            f'<title id="{self.anchor}-svgt">Timeline of {esc(self.result.candidate)}: '
            f"{plural(len(self.events), 'event')}, {plural(len(self.violations), 'violation')}, "
            f"{plural(len(self.steps), 'next step')}</title>",
            f'<rect class="future" x="{ax}" y="{TOP}" width="{max(PLOT_X1 + 10 - ax, 0):g}" '
            f'height="{plot_bottom - TOP:g}"/>',
        ]
        # lanes
        for key in lane_keys:
            ly = lane_y[key]
            out.append(f'<line class="lane-line" x1="0" y1="{ly + LANE_H:g}" x2="{VIEW_W}" y2="{ly + LANE_H:g}"/>')
            label = LANE_LABEL.get(key) or key.replace("_", " ").capitalize()
            out.append(f'<text class="lane-label" x="8" y="{ly + LANE_H / 2 + 9:g}">{esc(label)}</text>')
        if self.steps:
            out.append(f'<text class="lane-label steps" x="8" y="{steps_top + 28:g}">Next steps</text>')
        # grid and axis
        for moment, label in axis.ticks():
            x = axis.x(moment)
            out.append(f'<line class="grid" x1="{x}" y1="{TOP}" x2="{x}" y2="{plot_bottom:g}"/>')
            out.append(f'<line class="axis" x1="{x}" y1="{plot_bottom:g}" x2="{x}" y2="{plot_bottom + 6:g}"/>')
            anchor = "middle" if PLOT_X0 + 30 < x < PLOT_X1 - 30 else ("end" if x >= PLOT_X1 - 30 else "start")
            out.append(f'<text class="tick-label" x="{x}" y="{plot_bottom + 22:g}" text-anchor="{anchor}">'
                       f"{esc(label)}</text>")
        out.append(f'<line class="axis" x1="{PLOT_X0 - 10}" y1="{plot_bottom:g}" x2="{PLOT_X1 + 10}" '
                   f'y2="{plot_bottom:g}"/>')
        out.append(f'<text class="tz" x="8" y="{plot_bottom + 22:g}">{esc(self.tz.key)}</text>')
        # the audit time
        asof_label = f"as of {local_time(self.as_of, self.tz)}"
        anchor = "end" if ax > VIEW_W - 200 else ("start" if ax < PLOT_X0 + 120 else "middle")
        out.append(f'<line class="asof-line" x1="{ax}" y1="{TOP - 8}" x2="{ax}" y2="{plot_bottom:g}"/>')
        out.append(f'<text class="asof-label" x="{ax}" y="{TOP - 14}" text-anchor="{anchor}">{esc(asof_label)}</text>')
        # events, then the violations on them
        findings_on: dict[str, list[Finding]] = {}
        for f in self.violations:
            findings_on.setdefault(f.subject, []).append(f)
        last_label: dict[str, float] = {}
        for e in self.events:
            cy = lane_y[e.type] + LANE_H / 2 + 6
            x = axis.x(e.at)
            show_id = x - last_label.get(e.type, -1e9) > 40
            if show_id:
                last_label[e.type] = x
            out.append(self._event_mark(e, x, cy, axis, show_id))
            for i, f in enumerate(findings_on.get(e.id, [])):
                n = len(findings_on[e.id])
                out.append(self._badge(f, round(x + (i - (n - 1) / 2) * 19, 1), x, cy))
        # next steps
        for number, f in enumerate(self.steps, 1):
            out.append(self._step_mark(f, number, axis, steps_top + 22 + step_rows[id(f)] * STEP_ROW_H))
        out.append("</svg></div>")
        out.append('<p class="scroll-hint" aria-hidden="true">Scroll the timeline sideways →</p>')
        return "\n".join(out)

    def _step_rows(self, axis: Axis) -> dict[int, int]:
        """Rows for next-step diamonds so that close ones do not overlap."""
        rows: list[float] = []
        placed: dict[int, int] = {}
        for f in sorted(self.steps, key=lambda s: (s.due or self.as_of)):
            x = axis.x(f.due or self.as_of)
            for i, last in enumerate(rows):
                if x - last >= 34:
                    rows[i] = x
                    placed[id(f)] = i
                    break
            else:
                rows.append(x)
                placed[id(f)] = len(rows) - 1
        return placed

    def _event_mark(self, e: Event, x: float, cy: float, axis: Axis, show_id: bool) -> str:
        assert self.history is not None
        title = f"{e.id} · {local_time(e.at, self.tz)} · {describe(e, self.history)}"
        classes = f"event-mark type-{esc(e.type)}"
        if e.data.get("direction") == "received":
            classes += " received"
        shape = f'<circle cx="{x}" cy="{cy:g}" r="{8 if e.type == "interview" else 6.5}"/>'
        ends = e.data.get("ends")
        if isinstance(ends, datetime):
            x2 = axis.x(ends)
            shape = f'<rect class="span" x="{x}" y="{cy - 3:g}" width="{max(x2 - x, 0):g}" height="6" rx="3"/>' + shape
        if e.type == "decision":
            shape = f'<rect x="{x - 7}" y="{cy - 7:g}" width="14" height="14" rx="2"/>'
        label = f'<text class="id" x="{x}" y="{cy + 22:g}" text-anchor="middle">{esc(e.id)}</text>' if show_id else ""
        return (f'<a class="{classes}" data-event-id="{esc(e.id)}" href="#{self.event_anchor[e.id]}">'
                f"<title>{esc(title)}</title>{shape}{label}</a>")

    def _badge(self, f: Finding, x: float, mark_x: float, cy: float) -> str:
        waived = " waived" if f.waived else ""
        who = f" ({self._name(f.person)})" if f.person else ""
        title = f"{SEVERITY_LABEL[f.severity]}: {self._rule_title(f)}{who}. {f.message}"
        if f.waived:
            title += f" [waived: {f.waived.reason}]"
        top = cy - 30
        return (
            f'<g class="finding-mark violation severity-{f.severity}{waived} badge" data-filter="{f.severity}" '
            f'data-rule="{esc(f.rule)}" data-subject="{esc(f.subject)}"><title>{esc(title)}</title>'
            f'<line class="stem" x1="{x:g}" y1="{top + 8:g}" x2="{mark_x:g}" y2="{cy - 7:g}"/>'
            f'<rect x="{x - 8:g}" y="{top - 8:g}" width="16" height="16" rx="4"/>'
            f'<text x="{x:g}" y="{top + 4:g}">{SEVERITY_LETTER[f.severity]}</text></g>'
        )

    def _step_mark(self, f: Finding, number: int, axis: Axis, cy: float) -> str:
        due = f.due or self.as_of
        x = axis.x(due)
        overdue = due < self.as_of
        who = f" ({self._name(f.person)})" if f.person else ""
        state = f"overdue since {local_time(due, self.tz)}" if overdue else f"due {local_time(due, self.tz)}"
        title = f"Next step, {state}: {self._rule_title(f)}{who}. {f.message}"
        classes = "finding-mark next-step" + (" overdue" if overdue else "")
        return (
            f'<g class="{classes}" data-filter="next-step" data-rule="{esc(f.rule)}" '
            f'data-subject="{esc(f.subject)}"><title>{esc(title)}</title>'
            f'<path d="M{x:g} {cy - 8:g} L{x + 8:g} {cy:g} L{x:g} {cy + 8:g} L{x - 8:g} {cy:g} Z"/>'
            f'<text x="{x + 11:g}" y="{cy + 4:g}">{number}</text></g>'
        )

    # -- words ----------------------------------------------------------------------------------

    def _where(self, f: Finding) -> str:
        bits = []
        event = self.by_id.get(f.subject)
        if event is not None:
            bits.append(
                f'on <a href="#{self.event_anchor[event.id]}">{esc(event.id)}</a> '
                f"({esc(words(event.type))}, {esc(local_time(event.at, self.tz))})"
            )
        elif f.subject:
            bits.append(f"on {esc(f.subject)}")
        if f.person:
            bits.append(esc(self._name(f.person)))
        bits.append(f"rule <code>{esc(f.rule)}</code>")
        return " · ".join(bits)

    def findings(self) -> str:
        out: list[str] = []
        if not self.violations and not self.steps:
            return '<p class="empty">Nothing to report: every rule is followed and nothing is due.</p>'
        if self.violations:
            out.append(f"<h3>Violations ({len(self.violations)})</h3><ol>")
            for f in self.violations:
                waived = ""
                if f.waived:
                    waived = (f'<p class="waiver"><span class="chip chip-muted">Waived</span> by '
                              f"{esc(f.waived.approved_by)} until {esc(f.waived.expires)}: {esc(f.waived.reason)}</p>")
                out.append(
                    f'<li class="finding violation sev-{f.severity}{" is-waived" if f.waived else ""}" '
                    f'data-filter="{f.severity}">'
                    f'<div class="head"><span class="chip chip-{f.severity}">{SEVERITY_LABEL[f.severity]}</span>'
                    f'<span class="title">{esc(self._rule_title(f))}</span></div>'
                    f'<p class="message">{esc(f.message)}</p><p class="where">{self._where(f)}</p>{waived}</li>'
                )
            out.append("</ol>")
        if self.steps:
            out.append(f"<h3>Next steps ({len(self.steps)})</h3><ol>")
            for number, f in enumerate(self.steps, 1):
                due = f.due or self.as_of
                delta = due.timestamp() - self.as_of.timestamp()
                when = f"overdue, was due {relative(delta)}" if delta < 0 else f"due {relative(delta)}"
                out.append(
                    '<li class="finding step" data-filter="next-step">'
                    f'<div class="head"><span class="chip chip-step">Next step {number}</span>'
                    f'<span class="title">{esc(self._rule_title(f))}</span></div>'
                    f'<p class="message"><span class="due"><time datetime="{esc(due.isoformat())}">'
                    f"{esc(local_time(due, self.tz))}</time></span> ({when}) — {esc(f.message)}</p>"
                    f'<p class="where">{self._where(f)}</p></li>'
                )
            out.append("</ol>")
        return "".join(out)

    def people(self) -> str:
        if self.history is None:
            return ""
        c = self.history.candidate
        contact = " · ".join(f'<span class="nowrap">{esc(v)}</span>' for v in (c.email, c.phone) if v)
        role = "candidate" + (f" · {contact}" if contact else "")
        items = [f'<li><strong>{esc(c.name)}</strong> <span class="role">{role}</span></li>']
        for p in self.history.people:
            role = words(p.role)
            if p.company:
                role += f" at {p.company}"
            items.append(f'<li>{esc(p.name)} <span class="role">{esc(role)}</span></li>')
        return f"<h3>People ({len(self.history.people) + 1})</h3><ul>{''.join(items)}</ul>"

    def event_log(self) -> str:
        if self.history is None or not self.events:
            return ""
        items = []
        for e in self.events:
            body = e.data.get("body")
            quote = f"<blockquote>{esc(body)}</blockquote>" if isinstance(body, str) and body.strip() else ""
            items.append(
                f'<li id="{self.event_anchor[e.id]}"><time datetime="{esc(e.at.isoformat())}">'
                f"{esc(local_time(e.at, self.tz))}</time>"
                f'<div class="what">{esc(describe(e, self.history))} <span class="eid">{esc(e.id)}</span>'
                f"{quote}</div></li>"
            )
        return (f'<details class="events"><summary>Event log ({len(self.events)})</summary>'
                f'<ol class="event-list">{"".join(items)}</ol></details>')

