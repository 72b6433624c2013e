# About 400 lines: one history's section is one SVG timeline plus its tables, drawn by one class.
"""One history's section of the HTML page: head, SVG timeline (lanes, badges, next steps, axis),
findings, people and event log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..model import SEVERITY_RANK, Event, Finding, HistoryResult
from ..wording import plural
from .base import Context
from .html_layout import LanePlan, Mark, plan_lane, step_rows, tick_labels
from .html_words import (
    AXIS_H,
    LANE_H,
    LANE_LABEL,
    LANES,
    MAX_TICKS,
    PLOT_X0,
    PLOT_X1,
    SEVERITY_LABEL,
    SEVERITY_LETTER,
    STEP_ROW_H,
    TOP,
    VIEW_W,
    count_chips,
    describe,
    esc,
    esc_path,
    local_time,
    person_name,
    relative,
    words,
)
from .triage import DUE_GROUPS, due_group, span


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


# The mark of a finding that the baseline report did not have.
NEW = '<span class="chip chip-new">New</span>'


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
            self.metadata(),
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
        findings_on: dict[str, list[Finding]] = {}
        for f in self.violations:
            findings_on.setdefault(f.subject, []).append(f)
        plans = self._plan_lanes(axis, lane_keys, findings_on)
        lane_y: dict[str, float] = {}
        y = float(TOP)
        for key in lane_keys:
            lane_y[key] = y
            y += plans[key].height
        rows = step_rows([(axis.x(f.due or self.as_of), n) for n, f in enumerate(self.steps, 1)])
        steps_top = y
        if self.steps:
            y += max(STEP_ROW_H * (max(rows) + 1) + 16, LANE_H)
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
            ly, bottom = lane_y[key], lane_y[key] + plans[key].height
            out.append(f'<line class="lane-line" x1="0" y1="{bottom:g}" x2="{VIEW_W}" y2="{bottom:g}"/>')
            label = LANE_LABEL.get(key) or key.replace("_", " ").capitalize()
            out.append(f'<text class="lane-label" x="8" y="{ly + plans[key].cy + 3:g}">{esc(label)}</text>')
        if self.steps:
            out.append(f'<text class="lane-label steps" x="8" y="{steps_top + 28:g}">Next steps</text>')
        out.extend(self._grid_and_axis(axis, plot_bottom))
        # the audit time
        asof_label = f"as of {local_time(self.as_of, self.tz)}"
        anchor = "end" if ax > VIEW_W - 200 else ("start" if ax < PLOT_X0 + 120 else "middle")
        out.append(f'<line class="asof-line" x1="{ax}" y1="{TOP - 8}" x2="{ax}" y2="{plot_bottom:g}"/>')
        out.append(f'<text class="asof-label" x="{ax}" y="{TOP - 14}" text-anchor="{anchor}">{esc(asof_label)}</text>')
        # events, then the violations on them
        out.extend(self._reply_links(axis, lane_y, plans))
        for e in self.events:
            plan, ly = plans[e.type], lane_y[e.type]
            cy = ly + plan.cy
            x = axis.x(e.at)
            row = plan.labels.get(e.id)
            out.append(self._event_mark(e, x, cy, axis, None if row is None else ly + plan.label_y(row)))
            on = findings_on.get(e.id, [])
            if on:
                centre, badge_row = plan.badges[e.id]
                for i, f in enumerate(on):
                    bx = round(centre + (i - (len(on) - 1) / 2) * 19, 1)
                    out.append(self._badge(f, bx, x, cy, ly + plan.badge_y(badge_row)))
        # next steps
        for number, f in enumerate(self.steps, 1):
            out.append(self._step_mark(f, number, axis, steps_top + 22 + rows[number - 1] * STEP_ROW_H))
        out.append("</svg></div>")
        out.append('<p class="scroll-hint" aria-hidden="true">Scroll the timeline sideways →</p>')
        return "\n".join(out)

    def _grid_and_axis(self, axis: Axis, plot_bottom: float) -> list[str]:
        """The tick lines, their labels, the time axis and the time zone's name under it."""
        out: list[str] = []
        ticks = []
        for moment, label in axis.ticks():
            x = axis.x(moment)
            anchor = "middle" if PLOT_X0 + 30 < x < PLOT_X1 - 30 else ("end" if x >= PLOT_X1 - 30 else "start")
            ticks.append((x, label, anchor))
        for (x, label, anchor), show in zip(ticks, tick_labels(ticks, self.tz.key), strict=True):
            out.append(f'<line class="grid" x1="{x}" y1="{TOP}" x2="{x}" y2="{plot_bottom:g}"/>')
            out.append(f'<line class="axis" x1="{x}" y1="{plot_bottom:g}" x2="{x}" y2="{plot_bottom + 6:g}"/>')
            if show:
                out.append(f'<text class="tick-label" x="{x}" y="{plot_bottom + 22:g}" text-anchor="{anchor}">'
                           f"{esc(label)}</text>")
        out.append(f'<line class="axis" x1="{PLOT_X0 - 10}" y1="{plot_bottom:g}" x2="{PLOT_X1 + 10}" '
                   f'y2="{plot_bottom:g}"/>')
        out.append(f'<text class="tz" x="8" y="{plot_bottom + 22:g}">{esc(self.tz.key)}</text>')
        return out

    def _plan_lanes(self, axis: Axis, lane_keys: list[str],
                    findings_on: dict[str, list[Finding]]) -> dict[str, LanePlan]:
        """Each lane's height and where its badges, labels and reply glyphs go (html_layout)."""
        marks: dict[str, list[Mark]] = {key: [] for key in lane_keys}
        for e in self.events:
            reply = isinstance(e.data.get("in_reply_to"), str) and e.data["in_reply_to"] in self.by_id
            marks[e.type].append(Mark(e.id, axis.x(e.at), len(findings_on.get(e.id, [])), e.id, reply))
        return {key: plan_lane(marks[key], LANE_H) for key in lane_keys}

    def _event_mark(self, e: Event, x: float, cy: float, axis: Axis, label_y: float | None) -> str:
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
        label = "" if label_y is None else (
            f'<text class="id" x="{x}" y="{label_y:g}" text-anchor="middle">{esc(e.id)}</text>')
        return (f'<a class="{classes}" data-event-id="{esc(e.id)}" href="#{self.event_anchor[e.id]}">'
                f"<title>{esc(title)}</title>{shape}{label}</a>")

    def _reply_links(self, axis: Axis, lane_y: dict[str, float], plans: dict[str, LanePlan]) -> list[str]:
        """An arc from each received message to the reply that answers it (`in_reply_to`), drawn
        under the marks: a reply reads as an answer, not as one more contact."""
        marks = {e.id: (axis.x(e.at), lane_y[e.type] + plans[e.type].cy) for e in self.events}
        out: list[str] = []
        for e in self.events:
            target = e.data.get("in_reply_to")
            answered = marks.get(target) if isinstance(target, str) else None
            if answered is None:
                continue
            (x1, y1), (x2, y2) = answered, marks[e.id]
            top = min(y1, y2) - 22
            out.append(f'<path class="reply-link" d="M{x1} {y1:g} C{x1} {top:g} {x2} {top:g} {x2} {y2:g}"/>')
            if e.id in plans[e.type].glyphs:
                out.append(f'<text class="reply-glyph" x="{x2 + 5:g}" y="{y2 - 9:g}">↩</text>')
        return out

    def _badge(self, f: Finding, x: float, mark_x: float, cy: float, top: float) -> str:
        waived = " waived" if f.waived else ""
        who = f" ({self._name(f.person)})" if f.person else ""
        title = f"{SEVERITY_LABEL[f.severity]}: {self._rule_title(f)}{who}. {f.message}"
        if f.waived:
            title += f" [waived: {f.waived.reason}]"
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
        """What to do first (next steps: overdue, due within a week, later), then the violations."""
        out: list[str] = []
        if not self.violations and not self.steps:
            out.append('<p class="empty">Nothing to report: every rule is followed and nothing is due.</p>')
        if self.steps:
            out.append(f"<h3>Next steps ({len(self.steps)})</h3>")
            # Numbered across the groups as on the timeline (both in due order).
            numbered = list(enumerate(self.steps, 1))
            for group, heading in DUE_GROUPS:
                chosen = [(n, f) for n, f in numbered if due_group(f, self.as_of) == group]
                if chosen:
                    out.append(f'<h4 class="due-group due-{group}">{heading} ({len(chosen)})</h4><ol>')
                    out.extend(self._step(number, f) for number, f in chosen)
                    out.append("</ol>")
        if self.violations:
            out.append(f"<h3>Violations ({len(self.violations)})</h3><ol>")
            for f in self.violations:
                remedy = f'<p class="remedy"><b>What to do:</b> {esc(f.remedy)}</p>' if f.remedy else ""
                waived = ""
                if f.waived:
                    waived = (f'<p class="waiver"><span class="chip chip-muted">Waived</span> by '
                              f"{esc(f.waived.approved_by)} until {esc(f.waived.expires)}: {esc(f.waived.reason)}</p>")
                rule = self.context.pack.rule(f.rule)
                # What to do now, when the rule says; else at least why it matters.
                why = remedy or (
                    f'<p class="why">Why it matters: {esc(" ".join(rule.rationale.split()))}</p>' if rule else ""
                )
                out.append(
                    f'<li class="finding violation sev-{f.severity}{" is-waived" if f.waived else ""}" '
                    f'data-filter="{f.severity}">'
                    f'<div class="head"><span class="chip chip-{f.severity}">{SEVERITY_LABEL[f.severity]}</span>'
                    f"{NEW if f.baseline_state == 'new' else ''}"
                    f'<span class="title">{esc(self._rule_title(f))}</span></div>'
                    f'<p class="message">{esc(f.message)}</p>{why}<p class="where">{self._where(f)}</p>{waived}</li>'
                )
            out.append("</ol>")
        if self.result.absent:
            absent = self.result.absent
            items = "".join(f"<li>✓ {esc(self._rule_title(f))} · {self._where(f)}</li>" for f in absent)
            out.append(f'<h3>Resolved since the baseline ({len(absent)})</h3><ul class="resolved">{items}</ul>')
        return "".join(out)

    def metadata(self) -> str:
        """The candidate's id, coach, cohort and tags, when the history gives them."""
        if self.history is None:
            return ""
        c = self.history.candidate
        parts = [f"{label} <strong>{esc(value)}</strong>" for label, value in
                 (("id", c.id), ("coach", c.coach), ("cohort", c.cohort)) if value]
        if c.tags:
            parts.append("tags " + ", ".join(f"<strong>{esc(t)}</strong>" for t in c.tags))
        return f'<p class="who-meta">{" · ".join(parts)}</p>' if parts else ""

    def _step(self, number: int, f: Finding) -> str:
        due = f.due or self.as_of
        delta = due.timestamp() - self.as_of.timestamp()
        stamp = f'<time datetime="{esc(due.isoformat())}">{esc(local_time(due, self.tz))}</time>'
        if delta < 0:
            # Said before the message, whose own words may still speak of the due date as ahead.
            when = f'<span class="due late">was due {stamp} — {span(-delta)} overdue</span>'
        else:
            when = f'<span class="due">due {stamp} ({relative(delta)})</span>'
        return (
            f'<li class="finding step{" overdue" if delta < 0 else ""}" data-filter="next-step">'
            f'<div class="head"><span class="chip chip-step">Next step {number}</span>'
            f"{NEW if f.baseline_state == 'new' else ''}"
            f'<span class="title">{esc(self._rule_title(f))}</span></div>'
            f'<p class="message">{when}: {esc(f.message)}</p>'
            f'<p class="where">{self._where(f)}</p></li>'
        )

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
