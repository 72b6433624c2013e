"""Running a pack's own examples and tests: each gives a history, an audit time, and findings that
must and must not appear."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .audit import Auditor
from .errors import InputError
from .history import parse_history
from .model import Finding
from .packmodel import Example, Pack


@dataclass(frozen=True)
class ExampleResult:
    example: Example
    passed: bool
    failures: tuple[str, ...]
    findings: tuple[Finding, ...]


def example_history(pack: Pack, example: Example) -> dict[str, object]:
    """The example's history completed from the pack's ``examples_base`` (people are added)."""
    doc: dict[str, object] = {**pack.examples_base, **example.history}
    base_people = list(pack.examples_base.get("people") or [])  # type: ignore[call-overload]
    own_people = list(example.history.get("people") or [])  # type: ignore[call-overload]
    own_ids = {p.get("id") for p in own_people if isinstance(p, Mapping)}
    doc["people"] = [p for p in base_people if p.get("id") not in own_ids] + own_people
    doc.setdefault("version", 1)
    doc.setdefault("candidate", {"name": "Example Candidate"})
    doc.setdefault("events", [])
    return doc


def parse_time(text: str, tz: str) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def matches(finding: Finding, expected: Mapping[str, object], tz: str) -> bool:
    for key, want in expected.items():
        if key == "due":
            if finding.due is None or finding.due != parse_time(str(want), tz):
                return False
        elif key == "message":
            if str(want) not in finding.message:
                return False
        elif getattr(finding, key) != want:
            return False
    return True


def run_example(auditor: Auditor, pack: Pack, example: Example) -> ExampleResult:
    doc = example_history(pack, example)
    tz = str(doc.get("timezone") or "UTC")
    source = f"{example.loc.source}:{example.loc.line}"
    as_of = parse_time(example.as_of, tz)
    try:
        history = parse_history(doc, {}, source, as_of)
    except InputError as exc:
        return ExampleResult(example, False, tuple(f"invalid example history: {p.message}" for p in exc.problems), ())
    findings = auditor.audit(history, as_of).findings
    failures = []
    rule_ids = {r.id for r in pack.rules}
    for want in (*example.expect, *example.expect_not):
        rule = want.get("rule")
        if rule is not None and rule not in rule_ids:
            failures.append(f"names rule {rule!r}, which the pack does not have")
    for want in example.expect:
        if not any(matches(f, want, tz) for f in findings):
            failures.append(f"expected {_show(want)}, not found")
    for want in example.expect_not:
        hits = [f for f in findings if matches(f, want, tz)]
        failures.extend(f"unexpected {f.rule} {f.kind} on {f.subject}: {f.message}" for f in hits)
    return ExampleResult(example, not failures, tuple(failures), findings)


def all_examples(pack: Pack) -> Iterator[Example]:
    for rule in pack.rules:
        yield from rule.examples
    yield from pack.tests


def _show(want: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in want.items())
