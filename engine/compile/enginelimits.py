"""What one durable_rules ruleset can hold, and how a compiled pack is kept within it.

durable_rules 2.0.28's C engine has fixed-size tables (``src/rules/*.h``); past them it refuses a
ruleset or every fact, or loops forever. Measured on the engine (benchmarks/pack_limits.py):

- ``MAX_STACK_SIZE 64`` (events.c): the alpha nodes pending while one fact walks the network. Each
  pattern on a fact type can leave one pending (a join test is pushed unconditionally), so 70 rules
  that join an email to an earlier fact fail every assert (error 303); 64 pass.
- ``BETA_LIST_LENGTH 256`` (rules.h): the rules one alpha node feeds. Every rule of a stratum starts
  at that stratum's gate node, so 260 rules fail ``create_ruleset`` (error 108); 250 pass.
- ``NEXT_BUCKET_LENGTH 512`` (rules.h): the children of one alpha node, every ``in:`` value one of
  them. 500 values build; 520 make ``create_ruleset`` loop for ever.
- ``MAX_MESSAGE_FRAMES 16`` (state.h): the facts one match binds, the gate included. A rule binding
  16 facts besides the gate fails the assert that completes such a match (error 304).

So the compiler (1) lowers every long ``in:`` list to a membership flag the backends compute on the
fact (one alpha test instead of hundreds of children), (2) refuses a rule that no ruleset can hold,
and (3) spreads the rules over as many rulesets as needed, each within the bounds below (with a
margin: the bounds count what a fact *may* leave pending, not what it usually does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# An `in:` list longer than this becomes a membership flag on the fact (IN_FLAG + a number).
IN_LIST_INLINE = 16
IN_FLAG = "in$"
# Membership flags one fact type may carry (a fact holds at most 255 properties in the engine).
MAX_IN_FLAGS_PER_TYPE = 64
# Facts one rule (one `when` alternative) may bind besides the gate: MAX_MESSAGE_FRAMES 16 - 1.
MAX_FACTS_PER_RULE = 15
# Per ruleset: patterns on one fact type (MAX_STACK_SIZE 64), rules (BETA_LIST_LENGTH 256) and
# literal alternatives on one fact type (NEXT_BUCKET_LENGTH 512).
MAX_PATTERNS_PER_TYPE = 48
MAX_RULES_PER_RULESET = 200
MAX_ALTERNATIVES_PER_TYPE = 256


@dataclass(frozen=True)
class Membership:
    """A lowered ``in:`` test: facts of type ``fact`` get flag ``True`` when ``field`` is in ``values``."""

    fact: str
    field: str
    values: frozenset[tuple[str, object]]  # value_key() of each value


def value_key(value: object) -> tuple[str, object] | None:
    """A set key equal exactly when two JSON values are equal with no coercion (True is not 1)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    return None


def with_memberships(memberships: Mapping[str, Membership], fact: Mapping[str, object]) -> dict[str, object]:
    """``fact`` plus the membership flags of its type (each True or False)."""
    out = dict(fact)
    for flag, m in memberships.items():
        if fact.get("t") == m.fact:
            out[flag] = value_key(fact.get(m.field)) in m.values
    return out


@dataclass(frozen=True)
class RuleCost:
    """What one compiled rule takes of a ruleset's tables."""

    name: str
    patterns: Mapping[str, int]  # fact type -> patterns on it (gate excluded)
    alternatives: Mapping[str, int]  # fact type -> literal alternatives (`in:` values) on it
    facts: int  # facts a match binds, the gate excluded


def rule_cost(name: str, patterns: Sequence[object]) -> RuleCost:
    """The cost of a compiled rule (``patterns`` as the compiler emits them, gate first)."""
    counts: Counter[str] = Counter()
    alternatives: Counter[str] = Counter()
    facts = 0
    for pattern in patterns[1:]:
        if not isinstance(pattern, dict) or len(pattern) != 1:
            continue  # not a pattern the compiler emits
        ((alias, condition),) = pattern.items()
        tests = condition.get("$and", [condition]) if isinstance(condition, dict) else []
        kind = next((t["t"] for t in tests if isinstance(t, dict) and isinstance(t.get("t"), str)), "")
        counts[kind] += 1
        alternatives[kind] += sum(len(t["$or"]) for t in tests if isinstance(t, dict) and "$or" in t)
        facts += not str(alias).endswith("$not")
    return RuleCost(name, counts, alternatives, facts)


def rule_too_large(cost: RuleCost) -> str | None:
    """Why no ruleset can hold this rule, or None."""
    if cost.facts > MAX_FACTS_PER_RULE:
        return (
            f"it matches {cost.facts} facts at once (`nth: N` counts N); the engine binds at most "
            f"{MAX_FACTS_PER_RULE} in one match: split the condition, or use a derived fact"
        )
    for kind, n in cost.patterns.items():
        if n > MAX_PATTERNS_PER_TYPE:
            return (
                f"it has {n} patterns on {kind} facts (`nth: N` counts N); the engine holds at most "
                f"{MAX_PATTERNS_PER_TYPE} on one fact type in a rule"
            )
    for kind, n in cost.alternatives.items():
        if n > MAX_ALTERNATIVES_PER_TYPE:
            return (
                f"its `in:` lists on {kind} facts hold {n} values in all; the engine holds at most "
                f"{MAX_ALTERNATIVES_PER_TYPE} per fact type in a rule (a list longer than {IN_LIST_INLINE} "
                "costs nothing here: write one long list rather than many short ones)"
            )
    return None


def partition(costs: Sequence[RuleCost]) -> tuple[tuple[str, ...], ...]:
    """Rules grouped into rulesets, first fit in pack order, each group within every bound.

    A pack that fits one ruleset gets exactly one group, so small packs compile as before.
    """
    groups: list[tuple[list[str], Counter[str], Counter[str]]] = []
    for cost in costs:
        for names, patterns, alternatives in groups:
            if (
                len(names) < MAX_RULES_PER_RULESET
                and all(patterns[k] + n <= MAX_PATTERNS_PER_TYPE for k, n in cost.patterns.items())
                and all(alternatives[k] + n <= MAX_ALTERNATIVES_PER_TYPE for k, n in cost.alternatives.items())
            ):
                break
        else:
            names, patterns, alternatives = [], Counter(), Counter()
            groups.append((names, patterns, alternatives))
        names.append(cost.name)
        patterns.update(cost.patterns)
        alternatives.update(cost.alternatives)
    return tuple(tuple(names) for names, _, _ in groups) or ((),)
