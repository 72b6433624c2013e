"""Running a pack's own examples and tests: each gives a history, an audit time, and findings that
must and must not appear. Also: which rules and kinds the tests cover, and whether every time
window of the pack flips exactly at its boundary.

Inherited examples in an overlay: an example or test is run against the pack being tested unless a
later pack of the ``extends`` chain changed the behaviour of a rule it is about (a parameter, derived
fact or text pattern the rule depends on, its severity or message, or disabled it). Such a test is
skipped with the reason, and the rule's coverage must come from the overlay's own tests.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ...audit.auditor import Auditor
from ...compile import expr as ex
from ...compile.facts import CONTENT_FLAGS, epoch, history_facts
from ...diagnostics import InputError, Positions, suggest
from ...history.check import parse_history
from ...model import Finding
from ..examples import example_history, example_positions, parse_example_time
from ..model import COMPARISONS, Example, Pack, Pattern, Rule
from ..overlay import expression_names, rule_param_names

Status = Literal["pass", "fail", "skip"]
RuleKind = tuple[str, str]


# -- one example ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleResult:
    example: Example
    passed: bool
    failures: tuple[str, ...]
    findings: tuple[Finding, ...]
    covered: frozenset[RuleKind] = frozenset()  # (rule, kind) of findings an `expect` entry matched


def parse_time(text: str, tz: str) -> datetime:
    return parse_example_time(text, tz)


def matches(finding: Finding, expected: Mapping[str, object], tz: str) -> bool:
    return not differences(finding, expected, tz)


def differences(finding: Finding, expected: Mapping[str, object], tz: str) -> list[str]:
    """How ``finding`` differs from an expected finding (empty when it matches)."""
    out = []
    for key, want in expected.items():
        if key == "due":
            try:
                wanted: object = parse_time(str(want), tz)
            except ValueError:
                wanted = want
            if finding.due != wanted:
                got = finding.due.isoformat() if finding.due else "none"
                out.append(f"due is {got}, not {want}")
        elif key == "message":
            if str(want) not in finding.message:
                out.append(f"message lacks {want!r}")
        elif getattr(finding, key, None) != want:
            out.append(f"{key} is {getattr(finding, key, None)}, not {want}")
    return out


def run_example(auditor: Auditor, pack: Pack, example: Example, positions: Positions | None = None) -> ExampleResult:
    """Audit the example's history at its ``as_of`` and compare the findings with its expectations.

    ``positions`` (the example's file) puts the example history's own problems at their lines.
    """
    doc = example_history(pack, example)
    tz = str(doc.get("timezone") or "UTC")
    source = example.loc.source
    try:
        ZoneInfo(tz)
        as_of = parse_time(example.as_of, tz)
    except (ValueError, OSError):
        return ExampleResult(
            example,
            False,
            (f"as_of {example.as_of!r} is not an ISO 8601 time (or the timezone {tz!r} is unknown)",),
            (),
        )
    try:
        history = parse_history(doc, example_positions(pack, example, positions or {}), source, as_of)
    except InputError as exc:
        return ExampleResult(example, False, tuple(f"invalid example history: {p}" for p in exc.problems), ())
    findings = auditor.audit(history, as_of).findings
    failures: list[str] = []
    rule_ids = {r.id for r in pack.rules}
    named = [example.rule] if example.rule is not None else []
    named += [str(w["rule"]) for w in (*example.expect, *example.expect_not) if w.get("rule") is not None]
    for rule in dict.fromkeys(named):
        if rule not in rule_ids:
            tip = suggest(rule, rule_ids)
            failures.append(f"names rule {rule!r}, which pack {pack.name!r} does not have{tip}")
    unknown = len(failures)
    covered: set[RuleKind] = set()
    for want in example.expect:
        hits = [f for f in findings if matches(f, want, tz)]
        covered.update((f.rule, f.kind) for f in hits)
        if not hits:
            failures.append(f"- expected {_show(want)}")
            near = _nearest(findings, want, tz)
            if near is not None:
                failures.append(f"  nearest  {_finding(near)}: {'; '.join(differences(near, want, tz))}")
    for want in example.expect_not:
        failures.extend(
            f"+ unexpected {_finding(f)} (expect_not {_show(want)})" for f in findings if matches(f, want, tz)
        )
    if len(failures) > unknown:  # the findings actually produced, to compare with
        failures.append(f"  produced ({len(findings)}):" if findings else "  produced: no findings")
        failures.extend(f"    {_finding(f)}: {f.message}" for f in findings)
    return ExampleResult(
        example, not failures, tuple(failures), findings, frozenset(covered) if not failures else frozenset()
    )


def _nearest(findings: Sequence[Finding], want: Mapping[str, object], tz: str) -> Finding | None:
    """The finding closest to ``want``: of the rule it names, differing in the fewest fields."""
    pool = [f for f in findings if "rule" not in want or f.rule == want["rule"]]
    return min(pool, key=lambda f: len(differences(f, want, tz)), default=None)


def _finding(f: Finding) -> str:
    parts = [f.rule, f.kind, f"subject={f.subject}"]
    if f.person:
        parts.append(f"person={f.person}")
    if f.kind == "violation":
        parts.append(f"severity={f.severity}")
    if f.due is not None:
        parts.append(f"due={f.due.isoformat()}")
    return " ".join(parts)


def _show(want: Mapping[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in want.items()) + "}"


def all_examples(pack: Pack) -> Iterator[Example]:
    for rule in pack.rules:
        yield from rule.examples
    yield from pack.tests


# -- which tests run against which pack -----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One example or test, the pack it was written for, and why it is skipped (if it is)."""

    example: Example
    written_for: str
    skip: str | None = None

    @property
    def label(self) -> str:
        """The rule the example is about (or the first rule it names)."""
        named = _rules_named(self.example)
        return named[0] if named else "-"


def _rules_named(example: Example) -> list[str]:
    named = [example.rule] if example.rule else []
    named += [str(w["rule"]) for w in (*example.expect, *example.expect_not) if w.get("rule") is not None]
    return list(dict.fromkeys(named))


def plan(layers: Sequence[Pack]) -> list[Case]:
    """Every example and test of the pack (``layers[-1]``), each with the pack it was written for."""
    final = layers[-1]
    cases: list[Case] = []
    for rule in final.rules:
        home = next((layer for layer in layers if layer.rule(rule.id) is not None), final)
        cases.extend(Case(e, home.name, _changed(home, final, [rule.id])) for e in rule.examples)
    for test in final.tests:
        home = next((layer for layer in layers if any(t is test for t in layer.tests)), final)
        named = _rules_named(test) or [r.id for r in home.rules]
        cases.append(Case(test, home.name, _changed(home, final, named)))
    return cases


def _changed(home: Pack, final: Pack, rule_ids: Sequence[str]) -> str | None:
    """Why an example written for ``home`` cannot prove anything about ``final`` (or None)."""
    if home is final:
        return None
    reasons: list[str] = []
    for rule_id in rule_ids:
        before, after = behaviour(home, rule_id), behaviour(final, rule_id)
        if before is not None and after is not None and (changes := _compare(before, after)):
            reasons.append(f"{rule_id} ({', '.join(changes)})")
    if not reasons:
        return None
    return f"written for {home.name}, but {final.name} changes {'; '.join(reasons)}: its own tests must prove it again"


@dataclass(frozen=True)
class Behaviour:
    """Everything about a rule that decides its findings, for comparing a rule across overlays."""

    enabled: bool
    severity: str
    messages: tuple[str, ...]
    conditions: tuple[object, ...]
    params: Mapping[str, str]
    derivations: tuple[object, ...]
    patterns: Mapping[str, tuple[str, ...]]


def behaviour(pack: Pack, rule_id: str) -> Behaviour | None:
    rule = pack.rule(rule_id)
    if rule is None:
        return None
    facts = facts_used(pack, rule)
    derivations = [d for d in pack.derivations if d.fact in facts]
    names = set(rule_param_names(rule))
    patterns: list[Pattern] = [p for c in rule.checks for b in c.branches for p in b]
    for d in derivations:
        patterns.extend(d.when)
        for text in d.set.values():
            names |= expression_names(text)
        for p in d.when:
            names |= {n for w in p.where if w.is_expr for n in expression_names(str(w.value))}
    text_patterns: set[str] = set()
    for p in patterns:
        fields = {w.field for w in p.where}
        if p.fact == "email" and fields & set(CONTENT_FLAGS):
            text_patterns.update(CONTENT_FLAGS)
        if p.fact == "social" and "interview_word" in fields:
            text_patterns.add("interview")
    if any("missing:" in c.message for c in rule.checks):
        text_patterns.update(CONTENT_FLAGS)
    return Behaviour(
        enabled=rule.enabled,
        severity=rule.severity,
        messages=tuple(c.message for c in rule.checks),
        conditions=tuple((c.kind, c.branches, c.subject, c.person, c.due) for c in rule.checks),
        params={n: str(pack.params[n].value) for n in sorted(names) if n in pack.params},
        derivations=tuple((d.fact, d.when, tuple(sorted(d.set.items()))) for d in derivations),
        patterns={n: pack.patterns.get(n, ()) for n in sorted(text_patterns)},
    )


def facts_used(pack: Pack, rule: Rule) -> set[str]:
    """Fact types a rule matches, directly or through the derived facts it matches."""
    todo = [p.fact for c in rule.checks for b in c.branches for p in b]
    seen: set[str] = set()
    while todo:
        fact = todo.pop()
        if fact in seen:
            continue
        seen.add(fact)
        todo.extend(p.fact for d in pack.derivations if d.fact == fact for p in d.when)
    return seen


def _compare(before: Behaviour, after: Behaviour) -> list[str]:
    out = []
    if before.enabled and not after.enabled:
        out.append("disabled")
    if before.severity != after.severity:
        out.append(f"severity {before.severity} -> {after.severity}")
    if before.messages != after.messages:
        out.append("message changed")
    if before.conditions != after.conditions:
        out.append("condition changed")
    out.extend(f"{n} {before.params.get(n)} -> {v}" for n, v in after.params.items() if before.params.get(n) != v)
    if before.derivations != after.derivations:
        out.append("derived facts changed")
    out.extend(f"pattern {n!r} changed" for n, v in after.patterns.items() if before.patterns.get(n) != v)
    return out


# -- a pack's test run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    case: Case
    status: Status
    result: ExampleResult | None = None

    @property
    def failures(self) -> tuple[str, ...]:
        return self.result.failures if self.result else ()


@dataclass(frozen=True)
class Coverage:
    """Which (rule, kind) of the pack's enabled rules a passing test's ``expect`` produced."""

    targets: tuple[RuleKind, ...]
    covered: frozenset[RuleKind]

    @property
    def percent(self) -> float:
        return (
            100.0
            if not self.targets
            else 100.0 * len([t for t in self.targets if t in self.covered]) / len(self.targets)
        )

    @property
    def missing(self) -> tuple[RuleKind, ...]:
        return tuple(t for t in self.targets if t not in self.covered)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for r, _ in self.targets))

    @property
    def untested_rules(self) -> tuple[str, ...]:
        """Rules none of whose kinds a test covers."""
        return tuple(r for r in self.rules if not any(c[0] == r for c in self.covered))


@dataclass(frozen=True)
class PackRun:
    pack: Pack
    results: tuple[CaseResult, ...]
    coverage: Coverage
    ran: int = field(init=False)
    failed: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ran", sum(r.status != "skip" for r in self.results))
        object.__setattr__(self, "failed", sum(r.status == "fail" for r in self.results))

    @property
    def skipped(self) -> int:
        return sum(r.status == "skip" for r in self.results)


def run_tests(
    layers: Sequence[Pack], auditor: Auditor | None = None, positions: Mapping[str, Positions] | None = None
) -> PackRun:
    """Run every example and test of ``layers[-1]`` (see ``plan``) and measure coverage."""
    pack = layers[-1]
    auditor = auditor or Auditor.for_pack(pack)
    results = []
    for case in plan(layers):
        if case.skip:
            results.append(CaseResult(case, "skip"))
            continue
        result = run_example(auditor, pack, case.example, (positions or {}).get(case.example.loc.source))
        results.append(CaseResult(case, "pass" if result.passed else "fail", result))
    covered = frozenset(rk for r in results if r.result is not None and r.status == "pass" for rk in r.result.covered)
    targets = tuple((r.id, c.kind) for r in pack.active_rules for c in r.checks)
    return PackRun(pack, tuple(results), Coverage(targets, covered))


# -- time windows at their boundaries -------------------------------------------------------------


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

    def describe(self) -> str:
        return f"{self.fact}.{self.field} {self.op.replace('_', ' ')} {self.expression}"


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
        for check in rule.checks:
            for b, branch in enumerate(check.branches):
                for index, p in enumerate(branch):
                    for w in p.where:
                        if w.op in COMPARISONS and w.is_expr and expression_names(str(w.value)) & set(pack.params):
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
    return out


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
    firings = [f for f in auditor.backend.run(history_facts(history, auditor.patterns), epoch(as_of)) if f.rule == name]
    params = {n: p.seconds for n, p in pack.params.items()}
    for firing in firings:
        subject = str(ex.evaluate(compiled.subject, firing.bindings)) if compiled.subject else ""
        if subject not in subjects:
            continue
        try:
            ref, constant = _split(ex.fold(ex.resolve(ex.parse(window.expression), params, frozenset(firing.bindings))))
        except ex.ExprError:
            return BoundaryResult(
                window, "unchecked", "the expression is not `alias.field` plus or minus parameters", example
            )
        value, boundary_ref = (
            firing.bindings[window.alias].get(window.field),
            firing.bindings[ref.alias].get(ref.field or ""),
        )
        if not isinstance(value, int | float) or not isinstance(boundary_ref, int | float):
            return BoundaryResult(window, "unchecked", "the compared values are not times", example)
        d0 = value - (boundary_ref + constant)
        knobs = _knobs(doc, tz, window, ref, firing.bindings, value, boundary_ref, subject)
        if not knobs:
            return BoundaryResult(
                window, "unchecked", "cannot tell which event of the example decides the comparison", example
            )
        reasons = []
        for what, sign in knobs:
            checked = _move(auditor, window, example, doc, tz, as_of, subject, what, sign, value, boundary_ref, d0)
            if isinstance(checked, BoundaryResult):
                return checked
            reasons.append(checked)
        return BoundaryResult(window, "unchecked", "; ".join(reasons), example)
    return None


def _move(
    auditor: Auditor,
    window: Window,
    example: Example,
    doc: Mapping[str, object],
    tz: str,
    as_of: datetime,
    subject: str,
    what: str,
    sign: int,
    value: float,
    boundary_ref: float,
    d0: float,
) -> BoundaryResult | str:
    """Move ``what`` to 1s before, onto and 1s after its boundary; the outcome, or why it cannot."""
    start = as_of.timestamp() if what == "as_of" else (value if sign == 1 else boundary_ref)
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


def _knobs(
    doc: Mapping[str, object],
    tz: str,
    window: Window,
    ref: ex.Ref,
    bindings: Mapping[str, Mapping[str, object]],
    value: float,
    boundary_ref: float,
    subject: str,
) -> list[tuple[str, int]]:
    """What can be moved to reach the boundary, best first: ``as_of`` or an event id, each with its
    direction (+1: moving it later raises ``value - boundary``, -1: lowers it)."""
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

