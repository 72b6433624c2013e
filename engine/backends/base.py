"""Engine backends: each turns a compiled pack and a history's facts into firings.

``durable`` is the product's engine; ``reference`` is an independent plain-Python evaluator of the
same compiled data, kept to cross-check it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..compile.compiler import CompiledPack, rank_field
from ..compile.enginelimits import with_memberships
from ..compile.expr import evaluate
from ..compile.facts import GATE
from ..compile.textcase import with_twins
from ..model import Engine

Fact = Mapping[str, object]


@dataclass(frozen=True)
class Firing:
    """One match of one compiled rule: the rule's name and the fact bound to each alias."""

    rule: str
    bindings: Mapping[str, Fact]


class Backend(Protocol):
    def run(self, facts: Sequence[Fact], as_of: float) -> list[Firing]:
        """Evaluate every stratum over ``facts`` (base facts) at audit time ``as_of`` (epoch)."""
        ...


def gate(stratum: int, as_of: float) -> Fact:
    """The gate fact of ``stratum`` (see docs/architecture.md, "Gates").

    It carries ``ev`` like every other fact: the compiled `$sink` rule joins on ``t`` and ``ev``,
    and durable_rules corrupts its memory (double free, abort) when a join reads a field the fact
    lacks (measured: a ruleset of only `$sink` and `$end` crashed on its first gate).
    """
    return {"t": GATE, "n": stratum, "at": as_of, "ev": ""}


def fact_key(fact: Fact) -> tuple[tuple[str, object], ...]:
    """Identity of a fact by content (durable_rules refuses a second identical fact)."""
    return tuple(sorted(fact.items()))


def evidence(aliases: Sequence[str], bindings: Mapping[str, Fact], first: Sequence[str] = ()) -> tuple[str, ...]:
    """The event ids behind a match: ``first``, then each bound fact's ``ev``, without repeats."""
    found = dict.fromkeys(first)
    for alias in aliases:
        found.update(dict.fromkeys(str(bindings[alias].get("ev", "")).split()))
    return tuple(found)


def derived_fact(compiled: CompiledPack, firing: Firing) -> dict[str, object]:
    """The fact a derivation firing produces: its ``set`` projection plus evidence."""
    rule = compiled.rules[firing.rule]
    fact: dict[str, object] = {"t": rule.fact}
    for name, expression in rule.set.items():
        value = evaluate(expression, firing.bindings)
        if value is not None:
            fact[name] = value
    with_twins(fact)  # a derived company or network is compared ignoring case too
    fact["ev"] = " ".join(evidence(rule.aliases, firing.bindings))
    return with_memberships(compiled.memberships, fact) if compiled.memberships else fact


def base_facts(compiled: CompiledPack, facts: Sequence[Fact]) -> Sequence[Fact]:
    """The history's facts as the compiled rules expect them: with the flags that stand for long
    `in:` lists (enginelimits), which both backends match like any other field."""
    if not compiled.memberships:
        return facts
    return [with_memberships(compiled.memberships, fact) for fact in facts]


def release(compiled: CompiledPack, stratum: int, pending: Sequence[Fact]) -> tuple[list[Fact], list[Fact]]:
    """Split facts not yet asserted into those to assert before the gate of ``stratum + 1`` and
    those to keep back; the first come with the rank fields of ``compiled.ranks``.

    A ranked fact type is kept back until every stratum that derives it has run (0: the history's
    own facts), so that its facts are ranked all together. No rule that matches it runs earlier.
    """
    if not compiled.ranks:
        return list(pending), []
    last: dict[str, int] = {}
    for rule in compiled.rules.values():
        if rule.kind == "derive" and rule.fact in compiled.ranks:
            last[rule.fact] = max(last.get(rule.fact, 0), rule.stratum)
    ready: list[Fact] = []
    held: list[Fact] = []
    for fact in pending:
        kind = str(fact.get("t"))
        (held if last.get(kind, 0) > stratum else ready).append(fact)
    return _ranked(compiled, ready), held


def _ranked(compiled: CompiledPack, facts: list[Fact]) -> list[Fact]:
    out = [dict(f) if f.get("t") in compiled.ranks else f for f in facts]
    for kind, groups in compiled.ranks.items():
        of_kind = [f for f in out if f.get("t") == kind]
        for group in groups:
            times: dict[tuple[object, ...], set[object]] = {}
            for f in of_kind:
                if all(name in f for name in group) and "at" in f:
                    times.setdefault(tuple(f[name] for name in group), set()).add(f["at"])
            order = {key: {at: n for n, at in enumerate(sorted(ats), 1)} for key, ats in times.items()}  # type: ignore[type-var]
            name = rank_field(group)
            for f in of_kind:
                key = tuple(f.get(field) for field in group)
                if key in order and "at" in f:
                    f[name] = order[key][f["at"]]  # type: ignore[index]
    return out


def get_backend(name: Engine, compiled: CompiledPack) -> Backend:
    if name == "durable":
        from .durable import DurableBackend

        return DurableBackend(compiled)
    if name == "reference":
        from .reference import ReferenceBackend

        backend: Backend = ReferenceBackend(compiled)
        return backend
    raise ValueError(f"unknown engine {name!r}")

