# Over 400 lines: the independent evaluator is kept whole, so that its independence from the compiler
# and from durable_rules can be audited in one read.
"""The reference backend: a plain-Python evaluator of the compiled rulesets, written to cross-check
the durable_rules engine (``followup audit --engine reference``).

It reads ``compiled.ruleset``, the very data the durable backend hands to durable_rules, and gives
it the meaning durable_rules gives it (measured, not guessed: docs/engine-semantics.md):

- A rule is ``{"all": [pattern, ...]}``; a pattern is ``{alias: condition}``, matched left to
  right; a condition may use the facts bound by earlier patterns (``{"i": "key"}``).
- An alias ending in ``$not`` is an absence: the rule goes on only if no fact satisfies it.
- Each positive pattern binds a fact that no earlier pattern of the rule has bound (one fact never
  plays two parts), and an absence does not see the facts already bound.
- A rule fires once per distinct combination of facts; the firing binds every positive alias.
- Strata: before stratum ``k``'s gate fact arrives, the engine holds the base facts, the facts
  derived by the strata before ``k`` (identical facts once) and the earlier gates; the rules of
  stratum ``k`` (whose first pattern is that gate) fire on what is there.

It shares nothing with the durable backend but the data structures of ``followup.backends`` and
the two projections (``derived_fact``, ``fact_key``) that turn firings into facts. Where the two
engines could only differ on data our compiler and fact builder never produce (mixed types, null
values), this evaluator is strict: it raises or answers "no match" instead of coercing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ..compile.compiler import CompiledPack
from ..compile.facts import GATE
from ..diagnostics import FollowupError
from .base import Fact, Firing, base_facts, derived_fact, fact_key, gate, release

NOT_SUFFIX: Final = "$not"
_COMPARE: Final[Mapping[str, Callable[[float, float], bool]]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_ARITHMETIC: Final[Mapping[str, Callable[[float, float], float]]] = {
    "$add": lambda a, b: a + b,
    "$sub": lambda a, b: a - b,
}


class _Missing:
    """A field a fact does not have (distinct from any JSON value, including null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()
Bindings = Mapping[str, Fact]


class RulesetError(FollowupError):
    """The compiled data uses a construct this evaluator does not know (never guessed at)."""


class EvaluationError(FollowupError):
    """A condition cannot be evaluated on the facts at hand (durable_rules fails there too)."""


# -- the condition language ----------------------------------------------------------------------


@dataclass(frozen=True)
class RulesetRef:
    """``{alias: field}``: a field of the fact an earlier pattern bound."""

    alias: str
    field: str


@dataclass(frozen=True)
class Arith:
    """``{"$add" | "$sub": {"$l": operand, "$r": operand}}``."""

    op: str
    left: Operand
    right: Operand


Operand = RulesetRef | Arith | str | int | float | bool | None


@dataclass(frozen=True)
class Eq:
    field: str
    value: Operand


@dataclass(frozen=True)
class Neq:
    field: str
    value: Operand


@dataclass(frozen=True)
class Compare:
    op: str  # "$gt", "$gte", "$lt", "$lte"
    field: str
    value: Operand


@dataclass(frozen=True)
class Exists:
    field: str
    present: bool  # $ex (True) or $nex (False)


@dataclass(frozen=True)
class AnyOf:
    tests: tuple[Test, ...]


@dataclass(frozen=True)
class AllOf:
    tests: tuple[Test, ...]


Test = Eq | Neq | Compare | Exists | AnyOf | AllOf


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: object, op: str) -> float:
    """A number for arithmetic or ordering (durable_rules orders strings oddly: never rely on it)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise EvaluationError(f"{op} works on numbers only, not on {value!r}")


def parse_operand(raw: object, where: str) -> Operand:
    if raw is None or isinstance(raw, str | int | float | bool):
        return raw
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((key, inner),) = raw.items()
        if key in _ARITHMETIC:
            if not (isinstance(inner, Mapping) and set(inner) == {"$l", "$r"}):
                raise RulesetError(f"{where}: {key} needs exactly $l and $r")
            return Arith(key, parse_operand(inner["$l"], where), parse_operand(inner["$r"], where))
        if isinstance(key, str) and not key.startswith("$") and isinstance(inner, str):
            return RulesetRef(key, inner)
    raise RulesetError(f"{where}: cannot read the value {raw!r}")


def _field_and_value(raw: object, where: str) -> tuple[str, object]:
    if not (isinstance(raw, Mapping) and len(raw) == 1):
        raise RulesetError(f"{where}: expected {{field: value}}, got {raw!r}")
    ((name, value),) = raw.items()
    if not isinstance(name, str):
        raise RulesetError(f"{where}: field names are strings, got {name!r}")
    return name, value


def parse_test(raw: object, where: str) -> Test:
    """One test of a condition, in the durable_rules JSON form."""
    if not (isinstance(raw, Mapping) and len(raw) == 1):
        raise RulesetError(f"{where}: a test is a one-key mapping, got {raw!r}")
    ((key, body),) = raw.items()
    if key in ("$and", "$or"):
        if not isinstance(body, list) or not body:
            raise RulesetError(f"{where}: {key} needs a non-empty list")
        tests = tuple(parse_test(item, where) for item in body)
        return AllOf(tests) if key == "$and" else AnyOf(tests)
    if key == "$neq":
        name, value = _field_and_value(body, where)
        return Neq(name, parse_operand(value, where))
    if key in _COMPARE:
        name, value = _field_and_value(body, where)
        return Compare(key, name, parse_operand(value, where))
    if key in ("$ex", "$nex"):
        name, _ = _field_and_value(body, where)
        return Exists(name, key == "$ex")
    if isinstance(key, str) and key.startswith("$"):
        raise RulesetError(f"{where}: unknown operator {key!r}")
    return Eq(str(key), parse_operand(body, where))


def _aliases(test: Test | Operand) -> set[str]:
    """The aliases a test (or operand) refers to: a test with any is a join (a "beta" test)."""
    if isinstance(test, RulesetRef):
        return {test.alias}
    if isinstance(test, Arith):
        return _aliases(test.left) | _aliases(test.right)
    if isinstance(test, Eq | Neq | Compare):
        return _aliases(test.value)
    if isinstance(test, AnyOf | AllOf):
        return set().union(*(_aliases(t) for t in test.tests))
    return set()


def _refs(test: Test) -> bool:
    return bool(_aliases(test))


# -- evaluation ----------------------------------------------------------------------------------


def _resolve(operand: Operand, bindings: Bindings, strict: bool) -> object:
    """The value of an operand; a missing field of a bound fact is MISSING, or an error if strict.

    durable_rules answers "no match" for an equality with a missing field of a bound fact and fails
    the whole assert (error 311, property not found) for any other use of one.
    """
    if isinstance(operand, RulesetRef):
        fact = bindings[operand.alias]  # parse_rule made sure an earlier pattern binds it
        value = fact.get(operand.field, MISSING)
        if value is MISSING and strict:
            raise EvaluationError(f"{operand.alias}.{operand.field} is missing from the bound fact {dict(fact)!r}")
        return value
    if isinstance(operand, Arith):
        left = _resolve(operand.left, bindings, strict=True)
        right = _resolve(operand.right, bindings, strict=True)
        return _ARITHMETIC[operand.op](_number(left, operand.op), _number(right, operand.op))
    return operand


def same(a: object, b: object) -> bool:
    """Equality of two JSON values, without durable_rules' coercions (its ``"5" == 5`` is true)."""
    if a.__class__ is str and b.__class__ is str:
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return a == b
    return (isinstance(a, str) and isinstance(b, str) and a == b) or (a is None and b is None)


def holds(test: Test, fact: Fact, bindings: Bindings) -> bool:
    """Does ``fact`` pass ``test``, given the facts bound so far?"""
    if isinstance(test, AllOf):
        return all(holds(t, fact, bindings) for t in test.tests)
    if isinstance(test, AnyOf):
        return any(holds(t, fact, bindings) for t in test.tests)
    if isinstance(test, Exists):
        return (test.field in fact) is test.present
    own = fact.get(test.field, MISSING)
    if own is MISSING:
        return False  # before the value is resolved: a missing field never matches, whatever it names
    if isinstance(test, Eq):
        other = _resolve(test.value, bindings, strict=False)
        return other is not MISSING and same(own, other)
    other = _resolve(test.value, bindings, strict=True)
    # Inline rather than a helper per kind: this runs once per fact and test (the matching loop).
    return (
        own is not None and other is not None and not same(own, other)
        if isinstance(test, Neq)
        else _COMPARE[test.op](_number(own, test.op), _number(other, test.op))
    )


def _index_key(value: object) -> Hashable | None:
    """A dict key that is equal exactly when ``same`` says the values are equal (None: no key)."""
    if isinstance(value, bool):
        return ("b", value)
    if _is_number(value):
        return ("n", value)  # 1 and 1.0 are one key, as they are the same number
    if isinstance(value, str):
        return ("s", value)
    return None


@dataclass(frozen=True, eq=False)
class RulesetPattern:
    """One pattern of a rule, with its tests split the way durable_rules runs them."""

    alias: str  # without the $not suffix
    negated: bool
    fact_type: str | None  # the literal `t` it requires (None: a fact of any type)
    alpha: tuple[Test, ...]  # tests on the fact alone: run first, once per fact and stratum
    beta: tuple[Test, ...]  # tests that use bound facts: run after, in order
    joins: tuple[Eq, ...]  # the leading equality joins of the beta tests: answered by one index
    alpha_key: int  # the same for patterns with the same type and alpha tests (they share a cache)

    def passes_alpha(self, fact: Fact) -> bool:
        return all(holds(t, fact, {}) for t in self.alpha)

    def passes_beta(self, fact: Fact, bindings: Bindings) -> bool:
        return all(holds(t, fact, bindings) for t in self.beta)


def parse_pattern(raw: object, where: str) -> RulesetPattern:
    if not (isinstance(raw, Mapping) and len(raw) == 1):
        raise RulesetError(f"{where}: a pattern is a one-key mapping {{alias: condition}}, got {raw!r}")
    ((key, condition),) = raw.items()
    if not isinstance(key, str) or not key:
        raise RulesetError(f"{where}: bad alias {key!r}")
    negated = key.endswith(NOT_SUFFIX)
    alias = key[: -len(NOT_SUFFIX)] if negated else key
    parsed = parse_test(condition, f"{where}, pattern {key!r}")
    tests = parsed.tests if isinstance(parsed, AllOf) else (parsed,)
    fact_type = next(
        (t.value for t in tests if isinstance(t, Eq) and t.field == "t" and isinstance(t.value, str)), None
    )
    alpha = tuple(t for t in tests if not _refs(t))
    beta = tuple(t for t in tests if _refs(t))
    # Only leading beta tests may be answered by an index: a later one must not spare a candidate
    # an earlier test would have failed loudly on (a missing field, see _resolve). An equality with
    # a field of a bound fact never fails loudly, so all of those in a row are indexed together;
    # one whose value is arithmetic may, so it is indexed only first and alone.
    joins: list[Eq] = []
    for test in beta:
        if not (isinstance(test, Eq) and isinstance(test.value, RulesetRef | Arith)):
            break
        if isinstance(test.value, Arith):
            if not joins:
                joins.append(test)
            break
        joins.append(test)
    alpha_key = _ALPHA_KEYS.setdefault((fact_type, alpha), len(_ALPHA_KEYS))
    return RulesetPattern(alias, negated, fact_type, alpha, beta, tuple(joins), alpha_key)


_ALPHA_KEYS: dict[tuple[str | None, tuple[Test, ...]], int] = {}  # interned: ints hash fast


@dataclass(frozen=True)
class RulesetRule:
    name: str
    stratum: int
    patterns: tuple[RulesetPattern, ...]


@dataclass
class FactPool:
    """The facts a stratum sees, with caches that adding a fact of a type clears for that type.

    Cached: the facts that pass a set of alpha tests, and, for equality joins, those facts by the
    values of the joined fields.
    """

    facts: list[Fact] = field(default_factory=list)
    by_type: dict[str | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    _alpha: dict[tuple[str | None, int], list[int]] = field(default_factory=dict)
    _joins: dict[tuple[str | None, int, tuple[str, ...]], dict[Hashable, list[int]]] = field(default_factory=dict)

    def add(self, fact: Fact) -> None:
        index = len(self.facts)
        self.facts.append(fact)
        kind = fact.get("t")
        fact_type = kind if isinstance(kind, str) else None
        self.by_type[fact_type].append(index)
        for stale in [k for k in self._alpha if k[0] in (fact_type, None)]:
            del self._alpha[stale]
        for gone in [k for k in self._joins if k[0] in (fact_type, None)]:
            del self._joins[gone]

    def of_type(self, fact_type: str | None) -> Sequence[int]:
        if fact_type is None:
            return range(len(self.facts))
        return self.by_type.get(fact_type, ())

    def alpha(self, pattern: RulesetPattern) -> list[int]:
        """The facts that pass the pattern's tests on the fact alone."""
        key = (pattern.fact_type, pattern.alpha_key)
        found = self._alpha.get(key)
        if found is None:
            found = [i for i in self.of_type(pattern.fact_type) if pattern.passes_alpha(self.facts[i])]
            self._alpha[key] = found
        return found

    def joined(self, pattern: RulesetPattern, values: Sequence[object]) -> Sequence[int] | None:
        """The facts passing the alpha tests whose joined fields may equal ``values`` (None: no index)."""
        wanted = tuple(_index_key(v) for v in values)
        if None in wanted:
            return None
        fields = tuple(join.field for join in pattern.joins)
        key = (pattern.fact_type, pattern.alpha_key, fields)
        table = self._joins.get(key)
        if table is None:
            table = defaultdict(list)
            for i in self.alpha(pattern):
                own = tuple(_index_key(self.facts[i].get(name, MISSING)) for name in fields)
                if None not in own:
                    table[own].append(i)
            self._joins[key] = table
        return table.get(wanted, ())


def _candidates(pattern: RulesetPattern, pool: FactPool, bindings: Bindings) -> Sequence[int]:
    """Facts worth testing against ``pattern``'s beta tests: they pass its alpha tests."""
    if pattern.joins:
        try:
            values = [_resolve(join.value, bindings, strict=False) for join in pattern.joins]
        except EvaluationError:  # arithmetic on a missing field: let the candidates' own test fail
            return pool.alpha(pattern)
        if MISSING in values:
            return ()  # an equality with a missing field matches nothing
        found = pool.joined(pattern, values)
        if found is not None:
            return found
    return pool.alpha(pattern)


def matches(rule: RulesetRule, pool: FactPool) -> Iterator[dict[str, Fact]]:
    """Every combination of facts that satisfies the rule's patterns, left to right."""
    bindings: dict[str, Fact] = {}
    used: set[int] = set()  # facts bound so far: never bound again, never seen by an absence

    def passing(pattern: RulesetPattern) -> Iterator[int]:
        for i in _candidates(pattern, pool, bindings):
            if i not in used and pattern.passes_beta(pool.facts[i], bindings):
                yield i

    def extend(position: int) -> Iterator[dict[str, Fact]]:
        if position == len(rule.patterns):
            yield dict(bindings)
            return
        pattern = rule.patterns[position]
        if pattern.negated:
            if next(passing(pattern), None) is None:
                yield from extend(position + 1)
            return
        for i in passing(pattern):
            bindings[pattern.alias] = pool.facts[i]
            used.add(i)
            yield from extend(position + 1)
            used.discard(i)
            del bindings[pattern.alias]

    return extend(0)


def parse_rule(name: str, raw: object, stratum: int) -> RulesetRule:
    if not (isinstance(raw, Mapping) and set(raw) == {"all"} and isinstance(raw["all"], list)):
        raise RulesetError(f"rule {name!r}: expected {{'all': [pattern, ...]}}, got {raw!r}")
    patterns = tuple(parse_pattern(p, f"rule {name!r}") for p in raw["all"])
    if not patterns:
        raise RulesetError(f"rule {name!r} has no patterns")
    gate = patterns[0]
    gate_fact: Fact = {"t": GATE, "n": stratum, "at": 0}
    if gate.negated or gate.fact_type != GATE or gate.beta or not gate.passes_alpha(gate_fact):
        raise RulesetError(f"rule {name!r}: the first pattern must take the gate of stratum {stratum}")
    bound: set[str] = set()
    for pattern in patterns:
        unbound = set().union(*(_aliases(t) for t in pattern.beta)) - bound
        if unbound:
            raise RulesetError(f"rule {name!r}: {', '.join(sorted(unbound))} is not bound by an earlier pattern")
        if not pattern.negated:
            if pattern.alias in bound:
                raise RulesetError(f"rule {name!r} binds {pattern.alias!r} twice")
            bound.add(pattern.alias)
    return RulesetRule(name, stratum, patterns)


class ReferenceBackend:
    """Evaluates a compiled pack's rulesets in plain Python (see the module docstring)."""

    def __init__(self, compiled: CompiledPack) -> None:
        self.compiled = compiled
        strata: dict[int, list[RulesetRule]] = defaultdict(list)
        for name, raw in compiled.ruleset.items():
            meaning = compiled.rules.get(name)
            if meaning is None:
                continue  # `$sink` and any other helper the backend never reports
            strata[meaning.stratum].append(parse_rule(name, raw, meaning.stratum))
        missing = set(compiled.rules) - set(compiled.ruleset)
        if missing:
            raise RulesetError(f"rules without patterns: {', '.join(sorted(missing))}")
        self._strata = {k: tuple(v) for k, v in strata.items()}
        self._check_stratified()

    def _check_stratified(self) -> None:
        """Refuse a rule that could see facts arriving after its stratum's gate.

        durable_rules keeps every gate in the session, so such a rule would fire again on the later
        facts (measured), while this evaluator, like the compiler's design, runs each rule once on
        what precedes its gate. The compiler never emits such a rule; if it ever did, the two
        engines would differ, so it is refused rather than given either meaning.
        """
        compiled = self.compiled
        produced: dict[str, int] = {}  # fact type -> the last stratum deriving it
        for meaning in compiled.rules.values():
            if meaning.kind == "derive":
                produced[meaning.fact] = max(produced.get(meaning.fact, 0), meaning.stratum)
        last = max(produced.values(), default=0)
        for stratum, rules in self._strata.items():
            for rule in rules:
                for pattern in rule.patterns[1:]:
                    kind = pattern.fact_type
                    later = (kind in (None, GATE) and stratum < compiled.strata) or (
                        produced.get(kind, 0) >= stratum if kind is not None else last >= stratum
                    )
                    if later:
                        raise RulesetError(
                            f"rule {rule.name!r} (stratum {stratum}) matches {kind or 'any'} facts that arrive "
                            "after its gate: the ruleset is not stratified"
                        )

    def run(self, facts: Sequence[Fact], as_of: float) -> list[Firing]:
        compiled = self.compiled
        pool = FactPool()
        seen: set[object] = set()
        found: list[Firing] = []

        def add(fact: Fact) -> None:
            key = fact_key(fact)
            if key not in seen:  # one fact per content, as in durable_rules
                seen.add(key)
                pool.add(fact)

        ready, held = release(compiled, 0, base_facts(compiled, facts))
        for fact in ready:
            add(fact)
        for stratum in range(1, compiled.strata + 1):
            add(gate(stratum, as_of))
            derived: list[Fact] = []
            for rule in self._strata.get(stratum, ()):
                meaning = compiled.rules[rule.name]
                for bindings in matches(rule, pool):
                    firing = Firing(rule.name, bindings)
                    if meaning.kind == "derive":
                        derived.append(derived_fact(compiled, firing))
                    else:
                        found.append(firing)
            ready, held = release(compiled, stratum, held + derived)
            for fact in ready:  # seen only by the strata after this one
                add(fact)
        return found


__all__ = ["EvaluationError", "ReferenceBackend", "RulesetError", "holds", "parse_test", "same"]
