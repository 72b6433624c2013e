"""Until when a history's result stays the same: the time tests of a compiled pack, read as data.

The audit time enters a compiled pack in one place only: the gate fact's ``at`` (``asof.at``). Each
test that uses it compares a field of a fact with ``±asof.at`` plus fields of facts bound earlier
and a constant. For one combination of facts such a test changes its answer at one instant (the
*threshold*: where ``asof.at`` equals the fact's field minus the rest). If no test of any rule can
change its answer, for any combination of facts of the types it matches, between the audit time
of a result and a later audit time, then every stratum sees the same facts and fires the same
matches (by induction over the strata: derived facts come only from matches, and no derived value
or finding text may read ``asof``), so the result is the same.

``Plan.for_pack`` reads every test of the compiled rulesets once per pack; ``Plan.window`` lists the
thresholds of one history (the facts of its types: the history's own, and every value a derivation
could give a derived fact) and answers the interval ``[as_of, until)`` in which its result holds.
The finding's due instants count as thresholds too. Whatever this module does not know (a test
operator, a pattern without a fact type, a field that is not a number, ``asof`` read anywhere but
in a test, too many combinations) makes it answer None: that history is not cached. Never guess.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..backends.base import Fact, base_facts, gate
from ..backends.reference import (
    MISSING,
    AllOf,
    AnyOf,
    Arith,
    Compare,
    Eq,
    EvaluationError,
    Exists,
    Neq,
    Operand,
    RulesetError,
    RulesetRef,
    Test,
    holds,
    parse_test,
)
from ..compile import expr as ex
from ..compile import template as tpl
from ..compile.compiler import END, SINK, CompiledPack, CompiledRule, rank_field
from ..compile.facts import GATE
from ..compile.scope import ASOF
from ..model import Finding

# A threshold this close to the audit time (seconds) could be on either side of it once the engine
# has done its floating-point sums: such a result is not cached. Times are whole seconds in practice.
MARGIN = 1e-3
# Combinations of facts one test may be checked over; beyond it, the history is not cached.
MAX_COMBINATIONS = 50_000
# Fields of the gate fact that do not depend on the audit time (only ``at`` does).
_STEADY_GATE_FIELDS = frozenset({"t", "n", "ev"})
# What this module knows of a compiled rule and pack; anything added later must be read here first.
# `remedy` (a violation's advice) is a message like any other and is checked as one. `calendar`
# (local weekday, time, date and business-day fields) is computed on the facts before they are
# asserted, from the history's own times only: the audit time stays in `asof.at` alone (business
# days on it are moved to the other side of a test), so its fields are facts like the others here.
_KNOWN_RULE_FIELDS = frozenset(
    {"name", "stratum", "kind", "rule_id", "severity", "fact", "set", "subject", "person", "due", "message", "aliases"}
    | {"remedy"}
)
_KNOWN_PACK_FIELDS = frozenset(
    {"pack", "name", "strata", "ruleset", "rules", "memberships", "partitions", "ranks", "fact_types"} | {"calendar"}
)


class Unknown(Exception):
    """Something the threshold analysis does not know: the result is not cached."""


@dataclass(frozen=True)
class Linear:
    """``asof * coefficient + sum(sign * alias.field) + constant``: a compiled operand or a derivation's value."""

    asof: int
    refs: tuple[tuple[int, str, str], ...]  # (sign, fact type of the alias, field)
    constant: float


@dataclass(frozen=True)
class TimeTest:
    """One test against the audit time: ``field OP asof * coefficient + rest`` on facts of ``fact``."""

    fact: str
    alpha: tuple[Test, ...]  # the pattern's tests on the fact alone (narrow the history's facts)
    field: str
    value: Linear


@dataclass(frozen=True)
class Window:
    """The audit times a result holds for: ``start <= as_of < until`` (``until`` may be infinite)."""

    start: float
    until: float


@dataclass(frozen=True)
class Plan:
    """The time tests of a compiled pack, or why its results cannot be cached (``refused``)."""

    compiled: CompiledPack
    tests: tuple[TimeTest, ...] = ()
    # derived fact type -> for each derivation of it: field -> its value (None: not linear)
    derived: Mapping[str, tuple[Mapping[str, Linear | None], ...]] = dataclasses.field(default_factory=dict)
    refused: str | None = None

    @classmethod
    def for_pack(cls, compiled: CompiledPack) -> Plan:
        try:
            return _read_pack(compiled)
        except Unknown as why:
            return cls(compiled, refused=str(why))

    def window(self, facts: Sequence[Fact], findings: Sequence[Finding], as_of: float) -> Window | None:
        """The interval of audit times, from ``as_of``, with the same result as at ``as_of``;
        None when it cannot be known (then the result is not cached)."""
        if self.refused is not None:
            return None
        try:
            until = math.inf
            for moment in self._thresholds(base_facts(self.compiled, facts), findings):
                if abs(moment - as_of) <= MARGIN:
                    return None
                if moment > as_of:
                    until = min(until, moment - MARGIN)
            return Window(as_of, until)
        except Unknown:
            return None

    def _thresholds(self, facts: Sequence[Fact], findings: Sequence[Finding]) -> Iterator[float]:
        for finding in findings:
            if finding.due is not None:
                yield finding.due.timestamp()
        values = _Values(self, facts)
        for test in self.tests:
            own = values.of(test.fact, test.field, test.alpha)
            sides = [values.of(kind, name, ()) for _, kind, name in test.value.refs]
            count = len(own) * math.prod(len(side) for side in sides)
            if count > MAX_COMBINATIONS:
                raise Unknown(f"{count} combinations of facts for one test")
            signs = [sign for sign, _, _ in test.value.refs]
            for x in own:
                for combination in itertools.product(*sides):
                    rest = test.value.constant + sum(s * v for s, v in zip(signs, combination, strict=True))
                    # field OP c*A + rest changes its answer where A = (field - rest) / c, c = ±1
                    yield (x - rest) * test.value.asof


class _Values:
    """The numbers a field can hold on facts of a type: the history's facts as they are, and every
    value a derivation can compute from them (a superset: derived facts are not run here)."""

    def __init__(self, plan: Plan, facts: Sequence[Fact]) -> None:
        self.plan = plan
        self.facts = facts
        self.memo: dict[tuple[str, str, tuple[Test, ...]], tuple[float, ...]] = {}
        self.busy: set[tuple[str, str]] = set()

    def of(self, kind: str, name: str, alpha: tuple[Test, ...]) -> tuple[float, ...]:
        key = (kind, name, alpha)
        if key not in self.memo:
            if (kind, name) in self.busy:
                raise Unknown(f"a derived {kind}.{name} depends on itself")
            self.busy.add((kind, name))
            try:
                self.memo[key] = tuple(sorted(set(self._base(kind, name, alpha)) | set(self._derived(kind, name))))
            finally:
                self.busy.discard((kind, name))
        return self.memo[key]

    def _base(self, kind: str, name: str, alpha: tuple[Test, ...]) -> Iterator[float]:
        for fact in self.facts:
            if fact.get("t") != kind or not _may_pass(alpha, fact):
                continue
            value = fact.get(name, MISSING)
            if value is not MISSING:  # a missing field never passes a test, whatever the time
                yield _number(value, kind, name)

    def _derived(self, kind: str, name: str) -> Iterator[float]:
        for fields in self.plan.derived.get(kind, ()):
            if name not in fields:
                continue  # the derivation does not set it: missing on those facts
            value = fields[name]
            if value is None:
                raise Unknown(f"derived {kind}.{name} is not a sum of numbers")
            if value.asof:
                raise Unknown(f"derived {kind}.{name} reads the audit time")
            sides = [self.of(k, f, ()) for _, k, f in value.refs]
            count = math.prod(len(side) for side in sides)
            if count > MAX_COMBINATIONS:
                raise Unknown(f"{count} values of derived {kind}.{name}")
            signs = [sign for sign, _, _ in value.refs]
            for combination in itertools.product(*sides):
                yield value.constant + sum(s * v for s, v in zip(signs, combination, strict=True))


def _may_pass(alpha: tuple[Test, ...], fact: Fact) -> bool:
    """Whether ``fact`` passes the pattern's own tests; when unsure, yes (a superset is safe)."""
    try:
        return all(holds(test, fact, {}) for test in alpha)
    except EvaluationError:
        return True


def _number(value: object, kind: str, name: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    # durable_rules coerces strings and booleans in comparisons: no threshold can be trusted
    raise Unknown(f"{kind}.{name} holds {value!r}, not a number")


# -- reading a compiled pack -----------------------------------------------------------------------


def _read_pack(compiled: CompiledPack) -> Plan:
    if not {f.name for f in dataclasses.fields(compiled)} <= _KNOWN_PACK_FIELDS:
        raise Unknown("the compiled pack has fields this analysis does not know")
    steady, moved = gate(1, 0.0), gate(1, 1.0)
    if set(steady) != _STEADY_GATE_FIELDS | {"at"} or {k for k in steady if steady[k] != moved[k]} != {"at"}:
        raise Unknown("the gate fact carries more of the audit time than `at`")
    tests: list[TimeTest] = []
    derived: dict[str, list[Mapping[str, Linear | None]]] = {}
    # Fields the backends add while they run (ranks, `in:` flags): not in the facts read here.
    added = {rank_field(group) for groups in compiled.ranks.values() for group in groups} | set(compiled.memberships)
    for name, definition in compiled.ruleset.items():
        if name in (SINK, END):
            continue
        rule = compiled.rules.get(name)
        if rule is None:
            raise Unknown(f"compiled rule {name!r} has no meaning attached")
        types = _read_rule(name, definition, tests)
        _check_outputs(rule)
        if rule.kind == "derive":
            values = {field: _linear_expr(value, types) for field, value in rule.set.items()}
            # a value computed from a field the backends add is unknown here (None: not cached if used)
            derived.setdefault(rule.fact, []).append(
                {k: None if v is not None and {f for _, _, f in v.refs} & added else v for k, v in values.items()}
            )
    for test in tests:
        if {test.field, *(field for _, _, field in test.value.refs)} & added:
            raise Unknown(f"a test compares the audit time with {test.fact}.{test.field}, set while auditing")
    return Plan(compiled, tuple(tests), {k: tuple(v) for k, v in derived.items()})


def _read_rule(name: str, definition: Mapping[str, object], tests: list[TimeTest]) -> dict[str, str]:
    """Append the time tests of one compiled rule; the fact type of each alias it binds."""
    if set(definition) != {"all"} or not isinstance(definition["all"], list):
        raise Unknown(f"rule {name!r} is not a list of patterns")
    types: dict[str, str] = {}
    for index, raw in enumerate(definition["all"]):
        if not (isinstance(raw, Mapping) and len(raw) == 1):
            raise Unknown(f"rule {name!r}: a pattern that is not {{alias: condition}}")
        ((key, condition),) = raw.items()
        alias = str(key).removesuffix("$not")
        try:
            parsed = parse_test(condition, name)
        except RulesetError as exc:
            raise Unknown(str(exc)) from None
        parts = parsed.tests if isinstance(parsed, AllOf) else (parsed,)
        kinds = [t.value for t in parts if isinstance(t, Eq) and t.field == "t" and isinstance(t.value, str)]
        if len(kinds) != 1:
            raise Unknown(f"rule {name!r}: a pattern without one fact type")
        kind = kinds[0]
        if (kind == GATE) != (index == 0 and alias == ASOF):
            raise Unknown(f"rule {name!r}: the gate fact where it is not expected")
        alpha = tuple(t for t in parts if not _aliases(t))
        for test in parts:
            tests.extend(_time_tests(test, kind, alpha, types))
        if not str(key).endswith("$not"):
            types[alias] = kind
    return types


def _time_tests(test: Test, kind: str, alpha: tuple[Test, ...], types: Mapping[str, str]) -> Iterator[TimeTest]:
    if isinstance(test, AllOf | AnyOf):
        for inner in test.tests:
            yield from _time_tests(inner, kind, alpha, types)
    elif isinstance(test, Eq | Neq | Compare):
        value = _linear_operand(test.value, types)
        if value is None:
            if _reads_time(test.value):
                raise Unknown(f"a test on {kind}.{test.field} uses the audit time in a way not known here")
            return
        if value.asof not in (0, 1, -1):
            raise Unknown(f"a test on {kind}.{test.field} uses the audit time {value.asof} times")
        if value.asof:
            yield TimeTest(kind, alpha, test.field, value)
    elif not isinstance(test, Exists):
        raise Unknown(f"a test this analysis does not know: {test!r}")


def _aliases(test: Test | Operand) -> bool:
    if isinstance(test, RulesetRef):
        return True
    if isinstance(test, Arith):
        return _aliases(test.left) or _aliases(test.right)
    if isinstance(test, Eq | Neq | Compare):
        return _aliases(test.value)
    if isinstance(test, AnyOf | AllOf):
        return any(_aliases(t) for t in test.tests)
    return False


def _reads_time(operand: Operand) -> bool:
    if isinstance(operand, RulesetRef):
        return operand.alias == ASOF and operand.field not in _STEADY_GATE_FIELDS
    if isinstance(operand, Arith):
        return _reads_time(operand.left) or _reads_time(operand.right)
    return False


def _linear_operand(operand: Operand, types: Mapping[str, str], sign: int = 1) -> Linear | None:
    """A compiled operand as a Linear; None when it is not a sum of numbers and fact fields."""
    if isinstance(operand, RulesetRef) and operand.alias == ASOF:
        # `at` is the audit time; the other gate fields are steady (the join guard's `t`)
        return Linear(sign, (), 0.0) if operand.field == "at" else None
    if isinstance(operand, RulesetRef):
        if operand.alias not in types:
            raise Unknown(f"a reference to {operand.alias!r}, which no earlier pattern binds")
        return Linear(0, ((sign, types[operand.alias], operand.field),), 0.0)
    if isinstance(operand, Arith):
        left = _linear_operand(operand.left, types, sign)
        right = _linear_operand(operand.right, types, sign if operand.op == "$add" else -sign)
        if left is None or right is None:
            return None
        return Linear(left.asof + right.asof, left.refs + right.refs, left.constant + right.constant)
    if isinstance(operand, int | float) and not isinstance(operand, bool):
        return Linear(0, (), sign * float(operand))
    return None


def _linear_expr(expr: ex.Expr, types: Mapping[str, str], sign: int = 1) -> Linear | None:
    """A derivation's value (a resolved expression) as a Linear; None when it is not one."""
    if isinstance(expr, ex.Ref):
        if expr.field is None or expr.alias not in types:
            return None
        return Linear(0, ((sign, types[expr.alias], expr.field),), 0.0)
    if isinstance(expr, ex.Const):
        return Linear(0, (), sign * float(expr.value))
    if isinstance(expr, ex.BinOp):
        left = _linear_expr(expr.left, types, sign)
        right = _linear_expr(expr.right, types, sign if expr.op == "+" else -sign)
        if left is None or right is None:
            return None
        return Linear(0, left.refs + right.refs, left.constant + right.constant)
    return None


def _check_outputs(rule: CompiledRule) -> None:
    """A derived value or a finding that reads the audit time changes with it: never cached."""
    if not {f.name for f in dataclasses.fields(rule)} <= _KNOWN_RULE_FIELDS:
        raise Unknown("a compiled rule has fields this analysis does not know")
    expressions = [*rule.set.values(), rule.subject, rule.person, rule.due]
    for part in (*rule.message, *getattr(rule, "remedy", ())):
        if isinstance(part, tpl.Placeholder):
            expressions.append(part.expr)
        elif not isinstance(part, str):
            raise Unknown(f"a message part this analysis does not know: {part!r}")
    for expression in expressions:
        if expression is not None and any(ref.alias == ASOF for ref in ex.refs(expression)):
            raise Unknown(f"rule {rule.name!r} reads the audit time in what it reports or derives")
