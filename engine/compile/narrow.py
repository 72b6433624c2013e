"""Narrowings (an overlay's ``unless:``) in the form the engine tests: absence and plain tests.

A narrowing suppresses a match of its rule when all of its items hold too. No item binds a name,
so each is decided on its own against the rule's match, and the match stands exactly when at
least one item fails: a pattern (a fact to look for) fails when no such fact exists, which is an
absence test (``none:``); a test on one of the rule's own matches fails when its opposite holds,
which is one more test in the pattern that binds that match. Each way for a narrowing to fail is
compiled as a rule of its own; with several narrowings, one way for each. Findings are merged per
subject, so a match that fails a narrowing in two ways is still reported once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ..pack.model import Comparison, Outcome, Pattern, Where

# A test of a field the fact lacks is false (docs/engine-semantics.md), so the opposite of a test
# holds when the field is missing too: each opposite below comes with a `{exists: false}` way.
_OPPOSITE_COMPARISON: Mapping[str, Comparison] = {
    "after": "at_or_before",
    "before": "at_or_after",
    "at_or_after": "before",
    "at_or_before": "after",
}


@dataclass(frozen=True)
class Way:
    """One way for the narrowings of an outcome to let a match stand: facts that must be absent,
    and tests added to the patterns that bind some of the rule's aliases."""

    absent: tuple[Pattern, ...] = ()
    tests: Mapping[str, tuple[Where, ...]] = dataclasses.field(default_factory=dict)

    def __add__(self, other: Way) -> Way:
        tests = dict(self.tests)
        for alias, extra in other.tests.items():
            tests[alias] = (*tests.get(alias, ()), *extra)
        return Way((*self.absent, *other.absent), tests)

    def apply(self, branch: tuple[Pattern, ...]) -> tuple[Pattern, ...]:
        """The branch with this way's tests in the patterns they belong to and its absences after it."""
        changed = tuple(
            dataclasses.replace(p, where=(*p.where, *self.tests[p.alias])) if p.alias and p.alias in self.tests else p
            for p in branch
        )
        return (*changed, *self.absent)


def opposite(w: Where) -> list[tuple[Where, ...]]:
    """Sets of tests, one of which holds exactly when ``w`` does not."""
    missing = (Where(w.field, "exists", False),)
    if w.op == "exists":
        return [(Where(w.field, "exists", not w.value),)]
    if w.op == "eq":
        return [(Where(w.field, "not", w.value, w.is_expr),), missing]
    if w.op == "not":
        return [(Where(w.field, "eq", w.value, w.is_expr),), missing]
    if w.op == "in":
        assert isinstance(w.value, tuple)  # the parser keeps an `in:` list as a tuple
        values: tuple[object, ...] = w.value
        return [tuple(Where(w.field, "not", v) for v in values), missing]
    return [(Where(w.field, _OPPOSITE_COMPARISON[w.op], w.value, w.is_expr),), missing]


# Each way is a rule of its own in the engine: a bound keeps a few narrowings from multiplying into
# thousands of rules.
MAX_WAYS = 64


def way_count(outcome: Outcome) -> int:
    """How many ways ``ways`` gives, without building them."""
    count = 1
    for narrowing in outcome.unless:
        count *= len(narrowing.patterns) + sum(len(opposite(w)) for own in narrowing.own for w in own.where)
    return count


def ways(outcome: Outcome) -> list[Way]:
    """Every way for ``outcome``'s narrowings to let a match stand (one, with nothing, when it has none)."""
    result = [Way()]
    for narrowing in outcome.unless:
        options = [Way(absent=(dataclasses.replace(p, negated=True),)) for p in narrowing.patterns]
        for own in narrowing.own:
            options.extend(Way(tests={own.alias: alt}) for w in own.where for alt in opposite(w))
        result = [done + option for done in result for option in options]
    return result
