"""Running a pack's own examples and tests: each gives a history, an audit time, and findings that
must and must not appear. Also: which rules and kinds the tests cover, and whether every time
window of the pack flips exactly at its boundary.

Inherited examples in an overlay: an example or test is run against the pack being tested unless a
later pack of the ``extends`` chain changed the behaviour of a rule it is about (a parameter, derived
fact or text pattern the rule depends on, its severity or message, or disabled it). Such a test is
skipped with the reason, and the rule's coverage must come from the overlay's own tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from ...audit.auditor import Auditor
from ...diagnostics import InputError, Positions, suggest
from ...history.read import parse_history
from ...model import Finding
from ..examples import example_history, example_positions, parse_example_time
from ..model import Example, Outcome, Pack
from .plan import Case, plan

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
    covered = {rk for r in results if r.result is not None and r.status == "pass" for rk in r.result.covered}
    targets: list[RuleKind] = [(r.id, c.kind) for r in pack.active_rules for c in r.outcomes]
    passed = [r.result for r in results if r.result is not None and r.status == "pass"]
    for rule_id, kind, index in narrowings(pack):
        target = (rule_id, narrowing_target(kind, index))
        targets.append(target)
        if _narrowing_shown(pack, (rule_id, kind, index), passed, positions or {}):
            covered.add(target)
    return PackRun(pack, tuple(results), Coverage(tuple(targets), frozenset(covered)))


# -- narrowings: covered when a test shows one suppressing a finding -------------------------------


def narrowings(pack: Pack) -> list[tuple[str, str, int]]:
    """(rule, kind, index) of each narrowing (`unless:`) of the pack's enabled rules."""
    return [(r.id, c.kind, i) for r in pack.active_rules for c in r.outcomes for i in range(len(c.unless))]


def narrowing_target(kind: str, index: int) -> str:
    """The coverage target of a narrowing, beside the rule's kinds: ``violation unless #1``."""
    return f"{kind} unless #{index + 1}"


def _without(pack: Pack, rule_id: str, kind: str, index: int) -> Pack:
    """``pack`` with one narrowing of one rule taken out."""

    def outcome(c: Outcome) -> Outcome:
        return dataclasses.replace(c, unless=c.unless[:index] + c.unless[index + 1 :]) if c.kind == kind else c

    rules = tuple(
        dataclasses.replace(r, outcomes=tuple(outcome(c) for c in r.outcomes)) if r.id == rule_id else r
        for r in pack.rules
    )
    return dataclasses.replace(pack, rules=rules)


def _narrowing_shown(
    pack: Pack, narrowing: tuple[str, str, int], passed: Sequence[ExampleResult], positions: Mapping[str, Positions]
) -> bool:
    """Whether a passing test's `expect_not` of the rule holds only thanks to the narrowing: run
    without it, the test would report the finding it says must not appear."""
    rule_id, kind, index = narrowing
    wanted = [
        r
        for r in passed
        if any(w.get("rule") == rule_id and w.get("kind", kind) == kind for w in r.example.expect_not)
    ]
    if not wanted:
        return False
    variant = _without(pack, rule_id, kind, index)
    auditor = Auditor.for_pack(variant)
    for r in wanted:
        rerun = run_example(auditor, variant, r.example, positions.get(r.example.loc.source))
        tz = str(example_history(pack, r.example).get("timezone") or "UTC")
        for want in r.example.expect_not:
            if want.get("rule") == rule_id and any(
                f.rule == rule_id and f.kind == kind and matches(f, want, tz) for f in rerun.findings
            ):
                return True
    return False


# -- time windows at their boundaries -------------------------------------------------------------


