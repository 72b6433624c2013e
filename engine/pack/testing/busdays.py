"""Checking business-day dues (``due: w.at + 5bd``) with ``pack test --boundaries``.

A business-day due is computed before the engine runs (``compile/calendar.py``) and copied by the
engine through derived facts. Here each due a passing example produces is recounted on its own,
day by day, from the ``holidays`` library and the pack's calendar, and then again with the whole
example moved (every event and the audit time, by whole local days) so that the count starts on a
Friday (it crosses a weekend) and on the business day before a public holiday or one of the pack's
own dates (it crosses the holiday).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ...audit.auditor import Auditor
from ...compile import calendar as cal
from ...compile import expr as ex
from ...compile.facts import epoch, history_facts
from ...diagnostics import InputError
from ...history.read import parse_history
from ..examples import example_history
from ..model import WEEKDAYS, CalendarSpec, Pack
from .boundaries import BoundaryResult, Window
from .run import ExampleResult, PackRun, parse_time

_HORIZON = 400  # days searched for the next holiday after a due's start


def due_windows(pack: Pack) -> list[Window]:
    """Every next step of the pack's enabled rules whose due counts business days."""
    params = cal.param_values(pack.params)
    out = []
    for rule in pack.active_rules:
        for outcome in rule.outcomes:
            if outcome.due is None:
                continue
            try:
                parsed = ex.parse(outcome.due)
            except ex.ExprError:
                continue
            business = cal.has_business_days(parsed) or any(
                isinstance(params.get(n), ex.BDays) for n in ex.names(parsed)
            )
            if business:
                label = f"due {outcome.due}, counted in business days ({pack.calendar.describe()})"
                window = Window(
                    rule.id, outcome.kind, 0, "", "", "due", "", outcome.due, False, outcome.loc.line, label
                )
                out.append(window)
    return out


@dataclass(frozen=True)
class _Due:
    subject: str
    start: float  # the time the business days are counted from
    days: int
    due: float


class _Recount:
    """Business days counted day by day, independently of ``compile/calendar.py``'s shifting."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.public: object = None
        if spec.country is not None:
            import holidays

            self.public = holidays.country_holidays(spec.country, subdiv=spec.subdivision)

    def day_off(self, day: date) -> bool:
        if WEEKDAYS[day.weekday()] in self.spec.weekend or day.isoformat() in self.spec.extra_holidays:
            return True
        return self.public is not None and day in self.public  # type: ignore[operator]

    def holiday_off(self, day: date) -> bool:
        """A day off that is not a weekend day (a holiday the count must step over)."""
        return WEEKDAYS[day.weekday()] not in self.spec.weekend and self.day_off(day)

    def problem(self, item: _Due, tz: ZoneInfo) -> str | None:
        start, due = cal.local(item.start, tz), cal.local(item.due, tz)
        step = 1 if item.days > 0 else -1
        counted = 0
        day = start.date()
        while day != due.date() and abs(counted) <= abs(item.days) + 1:
            day += timedelta(days=step)
            counted += 0 if self.day_off(day) else step
        if day != due.date() or counted != item.days or self.day_off(due.date()):
            return f"{_show(due)} is not {item.days} business days from {_show(start)}"
        if due.time() != start.time() and due.utcoffset() == start.utcoffset():
            return f"{_show(due)} is not at the local time of {_show(start)}"
        return None


def _show(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M %Z}"


def check_dues(run: PackRun, auditor: Auditor) -> list[BoundaryResult]:
    out = []
    for window in due_windows(run.pack):
        case = next(
            (
                c.result
                for c in run.results
                if c.status == "pass" and c.result is not None and (window.rule, window.kind) in c.result.covered
            ),
            None,
        )
        if case is None:
            detail = f"no passing example or test has a next step of {window.rule}"
            out.append(BoundaryResult(window, "unchecked", detail))
            continue
        out.append(_check(run.pack, auditor, window, case))
    return out


def _dues(pack: Pack, auditor: Auditor, window: Window, doc: Mapping[str, object], as_of: datetime) -> list[_Due]:
    """The business-day dues of the window's rule in one history, read from the engine's firings."""
    history = parse_history(doc, {}, "", as_of)
    facts = history_facts(history, auditor.patterns, calendar=auditor.compiled.calendar)
    found = []
    for firing in auditor.backend.run(facts, epoch(as_of)):
        rule = auditor.compiled.rules.get(firing.rule)
        if rule is None or (rule.rule_id, rule.kind) != (window.rule, window.kind) or rule.due is None:
            continue
        moved = [r for r in cal.calendar_refs(rule.due) if cal.part_of(r.field or "") == "bd"]
        if len(moved) != 1:
            continue
        base, part = cal.split_field(moved[0].field or "")
        start = firing.bindings[moved[0].alias].get(base)
        due = ex.evaluate(ex.Ref(moved[0].alias, moved[0].field), firing.bindings)
        days = cal.business_days_of(part or "")
        subject = str(ex.evaluate(rule.subject, firing.bindings)) if rule.subject else ""
        if isinstance(start, int | float) and isinstance(due, int | float) and days is not None:
            found.append(_Due(subject, start, days, due))
    return found


def _check(pack: Pack, auditor: Auditor, window: Window, result: ExampleResult) -> BoundaryResult:
    example = result.example
    doc = example_history(pack, example)
    tz_name = str(doc.get("timezone") or "UTC")
    tz = ZoneInfo(tz_name)
    as_of = parse_time(example.as_of, tz_name)
    recount = _Recount(pack.calendar)
    dues = _dues(pack, auditor, window, doc, as_of)
    if not dues:
        return BoundaryResult(window, "unchecked", "no due counted in business days in this example", example)
    first = dues[0]
    start_day = cal.local(first.start, tz).date()
    moves = {"as written": 0, "starting on a Friday": (4 - start_day.weekday()) % 7}
    holiday = next(
        (
            start_day + timedelta(days=k)
            for k in range(1, _HORIZON)
            if recount.holiday_off(start_day + timedelta(days=k))
        ),
        None,
    )
    if holiday is not None:
        before = holiday - timedelta(days=1)
        while recount.day_off(before):
            before -= timedelta(days=1)
        moves[f"starting before the holiday of {holiday.isoformat()}"] = (before - start_day).days
    moves = {what: days for what, days in moves.items() if what == "as written" or days != 0}
    seen = []
    for what, days in moves.items():
        shifted_doc, shifted_as_of = _shift_all(doc, tz_name, as_of, days)
        try:
            items = _dues(pack, auditor, window, shifted_doc, shifted_as_of)
        except InputError as exc:
            return BoundaryResult(window, "unchecked", f"moving the example makes it invalid ({exc})", example)
        item = next((i for i in items if i.subject == first.subject), None)
        if item is None:
            return BoundaryResult(window, "fail", f"{what}: the next step on {first.subject} is gone", example)
        wrong = recount.problem(item, tz)
        if wrong is not None:
            return BoundaryResult(window, "fail", f"{what}: {wrong}", example)
        seen.append(f"{what}: {_show(cal.local(item.start, tz))} + {item.days}bd = {_show(cal.local(item.due, tz))}")
    if holiday is None:
        seen.append(f"no holiday within {_HORIZON} days on the calendar to cross")
    return BoundaryResult(window, "pass", "; ".join(seen), example)


def _shift_all(doc: Mapping[str, object], tz: str, as_of: datetime, days: int) -> tuple[dict[str, object], datetime]:
    """The history and audit time moved by ``days`` whole local days (the same wall-clock times)."""
    out = copy.deepcopy(dict(doc))
    events = out.get("events")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict):
            for key in ("at", "ends"):
                if key in event:
                    moment = parse_time(str(event[key]), tz)
                    event[key] = _wall(moment, days).isoformat()
    return out, _wall(as_of, days)


def _wall(moment: datetime, days: int) -> datetime:
    """``moment`` moved by whole days of its own zone's wall clock (daylight saving kept right)."""
    local = moment.replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=moment.tzinfo)
