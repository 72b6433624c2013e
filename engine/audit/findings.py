"""Firings -> findings: subject, person, due date, message and evidence; one finding per subject.

Several firings can describe the same finding (a post that mentions two interviews, a contact
reaching two people): they are merged into one finding per (rule, kind, subject, person), keeping
the firing whose evidence is most recent, so both engines pick the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..backends import Firing
from ..backends import evidence as evidence_of
from ..compile import expr as ex
from ..compile import template as tpl
from ..compile.compiler import CompiledPack
from ..model import Finding, History

KIND_ORDER = {"violation": 0, "next_step": 1}


def build_findings(compiled: CompiledPack, firings: Iterable[Firing], history: History) -> tuple[Finding, ...]:
    tz = ZoneInfo(history.timezone)
    times = {e.id: e.at.timestamp() for e in history.events}
    # First choose one firing per finding, then render only those (rendering is the costly part).
    best: dict[tuple[str, str, str, str | None], tuple[tuple[tuple[float, str], ...], Firing, tuple[str, ...]]] = {}
    for firing in firings:
        rule = compiled.rules[firing.rule]
        bindings = firing.bindings
        subject = str(ex.evaluate(rule.subject, bindings)) if rule.subject else ""
        person_value = ex.evaluate(rule.person, bindings) if rule.person else None
        person = None if person_value is None else str(person_value)
        evidence = evidence_of(rule.aliases, bindings, (subject,) if subject else ())
        rank = tuple(sorted(((times.get(e, 0.0), e) for e in evidence), reverse=True))
        key = (rule.rule_id, rule.kind, subject, person)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, firing, evidence)
    findings = [_finding(compiled, firing, key, evidence, tz) for key, (_, firing, evidence) in best.items()]
    return tuple(sorted(findings, key=lambda f: sort_key(f, times)))


def _finding(
    compiled: CompiledPack,
    firing: Firing,
    key: tuple[str, str, str, str | None],
    evidence: tuple[str, ...],
    tz: ZoneInfo,
) -> Finding:
    rule = compiled.rules[firing.rule]
    finding_kind = rule.kind
    assert finding_kind != "derive"  # derived facts are facts, never findings
    bindings: dict[str, Mapping[str, object]] = dict(firing.bindings)
    due_value = ex.evaluate(rule.due, bindings) if rule.due is not None else None
    due = None
    if isinstance(due_value, int | float) and rule.kind == "next_step":
        due = datetime.fromtimestamp(due_value, UTC).astimezone(tz)
        bindings["due"] = {"at": due_value}
    return Finding(
        rule=rule.rule_id,
        kind=finding_kind,
        severity=rule.severity,
        subject=key[2],
        person=key[3],
        events=evidence,
        due=due,
        message=tpl.render(rule.message, bindings, tz),
        remedy=tpl.render(rule.remedy, bindings, tz) if rule.remedy else None,
    )


def sort_key(f: Finding, times: Mapping[str, float]) -> tuple[object, ...]:
    """Violations first, in the order their subjects happened; then next steps by due date."""
    when = f.due.timestamp() if f.due is not None else times.get(f.subject, 0.0)
    return (KIND_ORDER[f.kind], when, times.get(f.subject, 0.0), f.subject, f.rule, f.person or "")
