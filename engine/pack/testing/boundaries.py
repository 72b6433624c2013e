"""Checking that every time window of a pack flips exactly at its boundary: each passing example
that exercises a window is moved to just before and just after the boundary and run again."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ...audit.auditor import Auditor
from ...compile import calendar as cal
from ...compile import expr as ex
from ...compile.facts import epoch, history_facts
from ...diagnostics import InputError
from ...history.read import parse_history
from ..examples import example_history
from ..model import COMPARISONS, Example, Pack
from ..overlay import expression_names
from .run import ExampleResult, PackRun, parse_time


@dataclass(frozen=True)
class Window:
    """A comparison of a time field against an expression with a parameter in a rule's condition,
    e.g. ``thank_you.at after i.start + thank_you_within``."""

    rule: str
    kind: str
    branch: int
    alias: str  # the pattern's name in the compiled rule (``_N`` when it has no ``as``)
    fact: str
    field: str
    op: str
    expression: str
    negated: bool
    line: int
    label: str = ""  # what is checked, when it is not a comparison (a business-day due)

    def describe(self) -> str:
        return self.label or f"{self.fact}.{self.field} {self.op.replace('_', ' ')} {self.expression}"


@dataclass(frozen=True)
class BoundaryResult:
    window: Window
    status: Literal["pass", "fail", "unchecked"]
    detail: str
    example: Example | None = None


def windows(pack: Pack) -> list[Window]:
    """Every time window of the pack's enabled rules: a comparison whose expression has a parameter."""
    out = []
    for rule in pack.active_rules:
        for check in rule.outcomes:
            for b, branch in enumerate(check.branches):
                for index, p in enumerate(branch):
                    for w in p.where:
                        if w.op in COMPARISONS and w.is_expr and _windowed(str(w.value), pack):
                            out.append(
                                Window(
                                    rule.id,
                                    check.kind,
                                    b,
                                    p.alias or f"_{index}",
                                    p.fact,
                                    w.field,
                                    w.op,
                                    str(w.value),
                                    p.negated or p.nth is not None,
                                    p.loc.line,
                                )
                            )
    return out


def _windowed(text: str, pack: Pack) -> bool:
    """Whether a compared expression is a window: it has a parameter or business days."""
    if expression_names(text) & set(pack.params):
        return True
    try:
        return cal.has_business_days(ex.parse(text))
    except ex.ExprError:
        return False


def _expected(kind: str, op: str, d: int) -> bool:
    """Whether the finding should be there when the compared time is ``d`` seconds past the
    boundary. The comparison's direction says which side fires; SPEC's fine print says what
    happens at the boundary itself: a deadline is met at exactly the deadline (a violation needs
    strictly past it) and a next step stays a next step up to and including its due instant."""
    side = 1 if op in ("after", "at_or_after") else -1
    return side * d > 0 if kind == "violation" else side * d >= 0


def check_boundaries(run: PackRun, auditor: Auditor) -> list[BoundaryResult]:
    """For every window, every passing example that fires its rule through it is re-run with the
    deciding event (or the audit time) moved to one second before the boundary, onto it, and one
    second after. A violation must appear only strictly past the boundary, a next step up to and
    including it (see ``_expected``)."""
    pack = run.pack
    out = []
    for window in windows(pack):
        if cal.part_of(window.field) is not None:
            out.append(BoundaryResult(window, "unchecked", "a calendar part (weekday, time of day, date), not a time"))
            continue
        if window.negated:
            out.append(
                BoundaryResult(window, "unchecked", "inside a `none` or `nth` pattern: no match to measure it on")
            )
            continue
        checked = False
        for case in run.results:
            if case.status != "pass" or case.result is None or (window.rule, window.kind) not in case.result.covered:
                continue
            result = _check_window(pack, auditor, window, case.result)
            if result is not None:
                out.append(result)
                checked = True
        if not checked:
            out.append(
                BoundaryResult(
                    window,
                    "unchecked",
                    f"no passing example or test fires {window.rule} ({window.kind}) through this condition",
                )
            )
    from .busdays import check_dues  # it builds on this module's results

    return out + check_dues(run, auditor)


def _check_window(pack: Pack, auditor: Auditor, window: Window, result: ExampleResult) -> BoundaryResult | None:
    example = result.example
    doc = example_history(pack, example)
    tz = str(doc.get("timezone") or "UTC")
    as_of = parse_time(example.as_of, tz)
    history = parse_history(doc, {}, example.loc.source, as_of)
    subjects = {f.subject for f in result.findings if (f.rule, f.kind) == (window.rule, window.kind)}
    name = f"{window.rule}:{window.kind}:{window.branch}"
    compiled = auditor.compiled.rules.get(name)
    if compiled is None:
        return None
    facts = history_facts(history, auditor.patterns, calendar=auditor.compiled.calendar)
    firings = [f for f in auditor.backend.run(facts, epoch(as_of)) if f.rule == name]
    params = cal.param_values(pack.params)
    for firing in firings:
        subject = str(ex.evaluate(compiled.subject, firing.bindings)) if compiled.subject else ""
        if subject not in subjects:
            continue
        try:
            resolved = ex.fold(ex.resolve(ex.parse(window.expression), params, frozenset(firing.bindings)))
            # Business days become fields of the facts (the compiler's rewrite): the boundary is then
            # read from them, and only the side that is not moved by business days is moved here.
            field, resolved = cal.comparison_business_days(window.field, resolved, "asof")
            ref, constant = _split(resolved)
        except ex.ExprError:
            return BoundaryResult(
                window, "unchecked", "the expression is not `alias.field` plus or minus parameters", example
            )
        value, boundary_ref = (
            firing.bindings[window.alias].get(field),
            firing.bindings[ref.alias].get(ref.field or ""),
        )
        if not isinstance(value, int | float) or not isinstance(boundary_ref, int | float):
            return BoundaryResult(window, "unchecked", "the compared values are not times", example)
        d0 = value - (boundary_ref + constant)
        comparison = _Comparison(window, example, doc, tz, as_of, subject, value, boundary_ref, d0)
        return _probe(auditor, comparison, ref, firing.bindings)
    return None


@dataclass(frozen=True)
class _Comparison:
    """One firing's comparison in one example: what a boundary check moves and measures."""

    window: Window
    example: Example
    doc: Mapping[str, object]
    tz: str
    as_of: datetime
    subject: str
    value: float  # the compared field's time
    boundary_ref: float  # the referenced field's time
    d0: float  # value minus the boundary instant, in seconds


def _probe(
    auditor: Auditor, comparison: _Comparison, ref: ex.Ref, bindings: Mapping[str, Mapping[str, object]]
) -> BoundaryResult:
    """Move each thing that decides ``comparison`` across its boundary until one gives an outcome."""
    window, example = comparison.window, comparison.example
    knobs = _knobs(comparison, ref, bindings)
    if not knobs:
        return BoundaryResult(
            window, "unchecked", "cannot tell which event of the example decides the comparison", example
        )
    reasons = []
    for what, sign in knobs:
        checked = _move(auditor, comparison, what, sign)
        if isinstance(checked, BoundaryResult):
            return checked
        reasons.append(checked)
    return BoundaryResult(window, "unchecked", "; ".join(reasons), example)


def _move(auditor: Auditor, comparison: _Comparison, what: str, sign: int) -> BoundaryResult | str:
    """Move ``what`` to 1s before, onto and 1s after its boundary; the outcome, or why it cannot."""
    window, example, doc, tz = comparison.window, comparison.example, comparison.doc, comparison.tz
    as_of, subject, d0 = comparison.as_of, comparison.subject, comparison.d0
    start = as_of.timestamp() if what == "as_of" else (comparison.value if sign == 1 else comparison.boundary_ref)
    boundary = datetime.fromtimestamp(start - sign * d0, ZoneInfo(tz))
    seen = []
    for offset in (-1, 0, 1):  # the moved thing's time minus its boundary instant, in seconds
        shifted_doc, shifted_as_of = _shift(doc, tz, as_of, what, offset - sign * d0)
        try:
            shifted = parse_history(shifted_doc, {}, example.loc.source, shifted_as_of)
        except InputError as exc:
            moving = "the audit time" if what == "as_of" else what
            return f"moving {moving} makes the example invalid ({exc.problems[0].message})"
        findings = auditor.audit(shifted, shifted_as_of).findings
        present = any((f.rule, f.kind, f.subject) == (window.rule, window.kind, subject) for f in findings)
        seen.append((offset, present, _expected(window.kind, window.op, sign * offset)))
    moved = "the audit time" if what == "as_of" else f"event {what}"
    words = ", ".join(f"{_offset(o)}: {'finding' if p else 'none'}" for o, p, _ in seen)
    head = f"moved {moved} around {boundary.isoformat()}"
    if any(p != want for _, p, want in seen):
        expected = ", ".join(f"{_offset(o)}: {'finding' if want else 'none'}" for o, _, want in seen)
        return BoundaryResult(window, "fail", f"{head}: got {words}; expected {expected}", example)
    return BoundaryResult(window, "pass", f"{head}: {words}", example)


def _offset(d: int) -> str:
    return {-1: "1s before", 0: "at it", 1: "1s after"}[d]


def _split(expr: ex.Expr) -> tuple[ex.Ref, float]:
    """``alias.field + constant`` from a resolved, folded expression; ExprError if not that shape."""
    terms: list[tuple[int, ex.Expr]] = []

    def walk(e: ex.Expr, sign: int) -> None:
        if isinstance(e, ex.BinOp):
            walk(e.left, sign)
            walk(e.right, sign if e.op == "+" else -sign)
        else:
            terms.append((sign, e))

    walk(expr, 1)
    refs = [(s, e) for s, e in terms if isinstance(e, ex.Ref)]
    if len(refs) != 1 or refs[0][0] != 1 or not isinstance(refs[0][1], ex.Ref) or refs[0][1].field is None:
        raise ex.ExprError("not alias.field plus a constant")
    constant = sum(s * e.value for s, e in terms if isinstance(e, ex.Const))
    return refs[0][1], constant


def _knobs(comparison: _Comparison, ref: ex.Ref, bindings: Mapping[str, Mapping[str, object]]) -> list[tuple[str, int]]:
    """What can be moved to reach the boundary, best first: ``as_of`` or an event id, each with its
    direction (+1: moving it later raises ``value - boundary``, -1: lowers it)."""
    doc, tz, window, subject = comparison.doc, comparison.tz, comparison.window, comparison.subject
    value, boundary_ref = comparison.value, comparison.boundary_ref
    compared = [(e, 1) for e in _events_at(doc, tz, bindings[window.alias], value)]
    referenced = (
        [] if ref.alias == "asof" else [(e, -1) for e in _events_at(doc, tz, bindings[ref.alias], boundary_ref)]
    )
    knobs = [("as_of", -1)] if ref.alias == "asof" else []
    knobs += sorted([*referenced, *compared], key=lambda k: k[0] != subject)  # the finding's own event first
    return list(dict.fromkeys(knobs))


def _events_at(doc: Mapping[str, object], tz: str, fact: Mapping[str, object], moment: float) -> list[str]:
    """Events a fact stands for whose ``at`` or ``ends`` is ``moment``."""
    ids = str(fact.get("ev", "")).split()
    events = doc.get("events")
    out = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, Mapping) or event.get("id") not in ids:
            continue
        for key in ("at", "ends"):
            if key in event and parse_time(str(event[key]), tz).timestamp() == moment:
                out.append(str(event["id"]))
                break
    return out


def _shift(
    doc: Mapping[str, object], tz: str, as_of: datetime, what: str, seconds: float
) -> tuple[dict[str, object], datetime]:
    """The history with ``what`` (an event, whole, or the audit time) moved by ``seconds``."""
    delta = timedelta(seconds=seconds)
    if what == "as_of":
        return dict(doc), as_of + delta
    out = copy.deepcopy(dict(doc))
    events = out.get("events")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict) and event.get("id") == what:
            for key in ("at", "ends"):
                if key in event:
                    event[key] = (parse_time(str(event[key]), tz) + delta).isoformat()
    return out, as_of
