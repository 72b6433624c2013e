"""Engine backends: each turns a compiled pack and a history's facts into firings.

``durable`` is the product's engine; ``reference`` is an independent plain-Python evaluator of the
same compiled data, kept to cross-check it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..compiler import CompiledPack
from ..enginelimits import with_memberships
from ..expr import evaluate

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
    fact["ev"] = " ".join(evidence(rule.aliases, firing.bindings))
    return with_memberships(compiled.memberships, fact) if compiled.memberships else fact


def base_facts(compiled: CompiledPack, facts: Sequence[Fact]) -> Sequence[Fact]:
    """The history's facts as the compiled rules expect them: with the flags that stand for long
    `in:` lists (enginelimits), which both backends match like any other field."""
    if not compiled.memberships:
        return facts
    return [with_memberships(compiled.memberships, fact) for fact in facts]


def get_backend(name: str, compiled: CompiledPack) -> Backend:
    if name == "durable":
        from .durable import DurableBackend

        return DurableBackend(compiled)
    if name == "reference":
        from .reference import ReferenceBackend

        backend: Backend = ReferenceBackend(compiled)
        return backend
    raise ValueError(f"unknown engine {name!r}")


__all__ = ["Backend", "Fact", "Firing", "base_facts", "derived_fact", "evidence", "fact_key", "get_backend"]
