"""Frozen model of a rule pack after loading and overlay resolution (before compiling)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..model import Kind, Severity

# The tests a `where:` can make on a field (the pack language's operators).
Comparison = Literal["after", "before", "at_or_after", "at_or_before"]
Operator = Literal["eq", "not", "in", "exists", "after", "before", "at_or_after", "at_or_before"]

COMPARISONS: Mapping[str, str] = {
    "after": "$gt",
    "before": "$lt",
    "at_or_after": "$gte",
    "at_or_before": "$lte",
}


@dataclass(frozen=True)
class Where:
    """One test on a field of a matched fact.

    ``op`` is ``eq``, ``not``, ``in``, ``exists`` or a key of COMPARISONS. ``value`` is a literal
    (``eq``/``not``/``in``/``exists``) or the text of an expression when ``is_expr`` is set.
    """

    field: str
    op: Operator
    value: object
    is_expr: bool = False


@dataclass(frozen=True)
class Location:
    source: str
    line: int
    column: int
    pointer: str = ""


@dataclass(frozen=True)
class Pattern:
    fact: str
    alias: str | None
    negated: bool
    where: tuple[Where, ...]
    nth: str | None = None  # expression: match the N-th such fact in time order
    loc: Location = Location("", 0, 0)


@dataclass(frozen=True)
class OwnTests:
    """``{match: s, where: {...}}`` in an ``unless:``: tests on one of the rule's own matches."""

    alias: str
    where: tuple[Where, ...]
    loc: Location = Location("", 0, 0)


@dataclass(frozen=True)
class Narrowing:
    """An overlay's ``unless:``: when all of it holds too, the finding is suppressed.

    ``patterns`` are facts to look for and ``own`` tests on the rule's own matches; both may name
    the rule's aliases, and none binds a name, so each item is decided on its own against the
    rule's match: a pattern compiles to an absence test (like ``none:``), and the opposite of an
    own test joins the pattern that binds its alias.
    """

    patterns: tuple[Pattern, ...]
    own: tuple[OwnTests, ...] = ()
    origin: str = ""  # the pack that wrote it
    loc: Location = Location("", 0, 0)


@dataclass(frozen=True)
class Outcome:
    """One outcome of a rule (a violation or a next step) and the conditions that produce it."""

    kind: Kind
    branches: tuple[tuple[Pattern, ...], ...]  # any one branch suffices
    subject: str
    person: str | None
    due: str | None
    message: str
    loc: Location = Location("", 0, 0)
    unless: tuple[Narrowing, ...] = ()  # overlays' narrowings: any one that matches suppresses


@dataclass(frozen=True)
class Example:
    name: str
    as_of: str
    history: Mapping[str, object]
    expect: tuple[Mapping[str, object], ...]
    expect_not: tuple[Mapping[str, object], ...]
    rule: str | None
    loc: Location = Location("", 0, 0)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    rationale: str
    severity: Severity
    outcomes: tuple[Outcome, ...]
    examples: tuple[Example, ...] = ()
    enabled: bool = True
    loc: Location = Location("", 0, 0)
    # Where each of the rule's values came from (pack name per key), for `pack show`.
    origin: Mapping[str, str] = field(default_factory=dict)
    # What to do now after a violation: a template like a message (see `templates`).
    remedy: str = ""
    # The title, rationale and remedy as written (they may quote parameters, `{thank_you_within|duration}`);
    # `title` and `rationale` above are these with the pack's parameter values filled in.
    templates: Mapping[str, str] = field(default_factory=dict)
    text_locs: Mapping[str, Location] = field(default_factory=dict)  # where each of `templates` is written

    @property
    def kinds(self) -> tuple[Kind, ...]:
        return tuple(c.kind for c in self.outcomes)


@dataclass(frozen=True)
class Derivation:
    fact: str
    description: str
    when: tuple[Pattern, ...]
    set: Mapping[str, str]
    loc: Location = Location("", 0, 0)


@dataclass(frozen=True)
class Param:
    name: str
    value: int | float | str
    seconds: int | float  # the value as a number (durations in seconds)
    description: str = ""
    origin: str = ""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class CalendarSpec:
    """A pack's working calendar, for business days (``5bd``): weekends, the public holidays of a
    country (and subdivision) from the ``holidays`` library, and the agency's own dates."""

    country: str | None = None
    subdivision: str | None = None
    extra_holidays: tuple[str, ...] = ()  # ISO dates, 2026-12-24
    weekend: tuple[str, ...] = ("sat", "sun")
    origin: str = ""  # the pack that set it

    def describe(self) -> str:
        place = "no public holidays" if self.country is None else f"public holidays of {self.country}"
        if self.country is not None and self.subdivision:
            place += f"-{self.subdivision}"
        extra = f", and {len(self.extra_holidays)} dates of the pack" if self.extra_holidays else ""
        return f"weekends ({', '.join(self.weekend)}), {place}{extra}"


@dataclass(frozen=True)
class Pack:
    name: str
    version: str
    description: str
    source: str
    params: Mapping[str, Param]
    patterns: Mapping[str, tuple[str, ...]]
    derivations: tuple[Derivation, ...]
    rules: tuple[Rule, ...]
    examples_base: Mapping[str, object] = field(default_factory=dict)
    extends: tuple[str, ...] = ()  # the chain of packs this one builds on, nearest first
    tests: tuple[Example, ...] = ()  # tests from sibling *.tests.yaml files
    calendar: CalendarSpec = field(default_factory=CalendarSpec)  # the working calendar of business days

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def active_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)
