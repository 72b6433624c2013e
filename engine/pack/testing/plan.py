"""Planning a pack's tests along its `extends` chain: which inherited example still runs against the
pack being tested, and which is skipped because a later pack changed the behaviour of its rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...compile.facts import CONTENT_FLAGS
from ..model import Example, Pack, Pattern, Rule
from ..overlay import expression_names, rule_param_names


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
    narrowings: tuple[object, ...]
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
    patterns: list[Pattern] = [p for c in rule.outcomes for b in c.branches for p in b]
    patterns += [p for c in rule.outcomes for n in c.unless for p in n.patterns]
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
    if any("missing:" in c.message for c in rule.outcomes):
        text_patterns.update(CONTENT_FLAGS)
    return Behaviour(
        enabled=rule.enabled,
        severity=rule.severity,
        messages=tuple(c.message for c in rule.outcomes),
        conditions=tuple((c.kind, c.branches, c.subject, c.person, c.due) for c in rule.outcomes),
        narrowings=tuple((c.kind, tuple((n.patterns, n.own) for n in c.unless)) for c in rule.outcomes),
        params={n: str(pack.params[n].value) for n in sorted(names) if n in pack.params},
        derivations=tuple((d.fact, d.when, tuple(sorted(d.set.items()))) for d in derivations),
        patterns={n: pack.patterns.get(n, ()) for n in sorted(text_patterns)},
    )


def facts_used(pack: Pack, rule: Rule) -> set[str]:
    """Fact types a rule matches, directly or through the derived facts it matches."""
    todo = [p.fact for c in rule.outcomes for b in c.branches for p in b]
    todo += [p.fact for c in rule.outcomes for n in c.unless for p in n.patterns]
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
    if before.narrowings != after.narrowings:
        out.append("narrowed with unless")
    out.extend(f"{n} {before.params.get(n)} -> {v}" for n, v in after.params.items() if before.params.get(n) != v)
    if before.derivations != after.derivations:
        out.append("derived facts changed")
    out.extend(f"pattern {n!r} changed" for n, v in after.patterns.items() if before.patterns.get(n) != v)
    return out
