"""A checked pack -> plain-data durable_rules rulesets. No engine import: the output is data,
snapshot-tested. ``check.py`` finds every problem of a pack first; this module assumes none is left
(it asserts), except the one it alone can see: a compiled rule too large for the engine.

Every compiled rule starts with the stratum's gate fact (alias ``asof``, carrying the audit time)
and the runner asserts that gate only after every fact the stratum may match. That is how absence
(``none``) stays correct although durable_rules never retracts a fired absence: nothing it could
see arrives after it looks. Derived facts are stratified: a derivation runs one stratum after the
derived facts it matches, and finding rules run last.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..diagnostics import InputError, Problem
from ..model import RuleKind, Severity
from ..pack.model import COMPARISONS, Location, Outcome, Pack, Pattern, Rule, Where
from . import calendar as cal
from . import enginelimits as lim
from . import expr as ex
from . import template as tpl
from .check import FLAG_FIELDS, compile_problems, problem, rename, stratify
from .facts import FACT_FIELDS, GATE
from .narrow import ways
from .scope import ASOF, Scope
from .textcase import fold_where

__all__ = ["END", "FLAG_FIELDS", "SINK", "CompiledPack", "CompiledRule", "compile_pack", "rank_field"]

SINK = "$sink"
END = "$end"
# durable_rules 2.0.28 reads past a pattern's test sequence when the test that decides it is the
# last join test of its group (events.c, reduceExpressionSequence; docs/engine-semantics.md): a
# garbage read that can kill the process. Every pattern with a join test therefore ends with this
# join test, which never decides anything (no fact's type is the gate's).
JOIN_GUARD: dict[str, object] = {"$neq": {"t": {ASOF: "t"}}}
_REF = re.compile(r"^\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*$")


def rank_field(group: tuple[str, ...]) -> str:
    """The field a backend adds to the facts an `nth` pattern ranks (see ``CompiledPack.ranks``)."""
    return "rank_by_" + "_".join(group)


@dataclass(frozen=True)
class CompiledRule:
    """What a backend needs besides the durable pattern list: what a firing means."""

    name: str
    stratum: int
    kind: RuleKind
    rule_id: str = ""
    severity: Severity = "info"
    fact: str = ""  # derive: the type of fact produced
    set: Mapping[str, ex.Expr] = field(default_factory=dict)
    subject: ex.Expr | None = None
    person: ex.Expr | None = None
    due: ex.Expr | None = None
    message: tuple[tpl.Part, ...] = ()
    aliases: tuple[str, ...] = ()  # the positive patterns' aliases, in order (evidence)
    remedy: tuple[tpl.Part, ...] = ()  # what to do now, for a violation whose rule says


@dataclass(frozen=True)
class CompiledPack:
    pack: Pack
    name: str  # unique per content: pack name + hash, safe to register once per host
    strata: int
    ruleset: Mapping[str, Mapping[str, object]]
    rules: Mapping[str, CompiledRule]
    # Long `in:` lists, lowered to flags the backends set on each fact (enginelimits.Membership).
    memberships: Mapping[str, lim.Membership] = field(default_factory=dict)
    # The rules of each engine ruleset, when one cannot hold them all (SINK and END go in each).
    partitions: tuple[tuple[str, ...], ...] = ()
    # fact type -> the field groups its facts are ranked by: within a group (the facts of the type
    # with the same values of those fields), `rank_field(group)` is the dense rank of `at` (1 for
    # the earliest time). `nth` joins a fact to the one ranked just before it: one match per fact
    # where a chain of time comparisons would pair every fact with every earlier one.
    ranks: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    fact_types: frozenset[str] = frozenset()  # every fact type a pattern matches
    # The local calendar fields (`at.weekday`, `at.after_5bd`...) the facts must carry, by type.
    calendar: cal.CalendarNeeds = field(default_factory=cal.CalendarNeeds)

    def parts(self) -> tuple[tuple[str, ...], ...]:
        """The rules of each engine ruleset: ``partitions``, or all rules in one when
        ``partitions`` does not cover ``ruleset`` exactly (a ruleset edited by hand, in tests)."""
        names = sorted(n for n in self.ruleset if n not in (SINK, END))
        if self.partitions and sorted(n for part in self.partitions for n in part) == names:
            return self.partitions
        return (tuple(n for n in self.ruleset if n not in (SINK, END)),)

    def definition(self, part: int | None = None) -> dict[str, dict[str, object]]:
        """A fresh copy of the ruleset, or of engine ruleset ``part`` of ``parts()`` (durable_rules
        mutates what it is given)."""
        parts = self.parts()
        if part is None or len(parts) == 1:
            return copy.deepcopy({name: dict(rule) for name, rule in self.ruleset.items()})
        names = (*parts[part], SINK, END)
        return copy.deepcopy({name: dict(self.ruleset[name]) for name in names})


def compile_pack(pack: Pack) -> CompiledPack:
    """Check the pack, then compile it; `InputError` with every problem found when it has any."""
    problems = compile_problems(pack)
    if problems:
        raise InputError(problems)
    return _Generator(pack).run()


class _Generator:
    """Builds the rulesets of a pack ``compile_problems`` found no problem in."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.params = cal.param_values(pack.params)
        self.needs: dict[str, set[str]] = {}  # fact type -> the calendar fields rules read
        self.derived_types: dict[str, Mapping[str, str]] = {}  # derivation -> its aliases' fact types
        self.memberships: dict[str, lim.Membership] = {}
        self.ranks: dict[str, set[tuple[str, ...]]] = {}
        self.fact_types: set[str] = set()

    def run(self) -> CompiledPack:
        strata = stratify(self.pack)[0]
        final = max(strata.values(), default=0) + 1
        ruleset: dict[str, dict[str, object]] = {}
        rules: dict[str, CompiledRule] = {}
        locs: dict[str, tuple[Location, str]] = {}  # compiled rule -> where it is written, what
        for i, d in enumerate(self.pack.derivations):
            name = f"derive:{d.fact}:{i}"
            patterns, scope = self.branch(d.when, strata.get(name, 1))
            ruleset[name] = {"all": patterns}
            locs[name] = (d.loc, f"derived fact {d.fact!r}")
            sets = {k: self.value(v, scope) for k, v in d.set.items()}
            self.derived_types[name] = scope.types
            rules[name] = CompiledRule(
                name, strata.get(name, 1), "derive", fact=d.fact, set=sets, aliases=_aliases(scope)
            )
        for rule in self.pack.active_rules:
            for outcome in rule.outcomes:
                for b, branch in enumerate(outcome.branches):
                    for u, way in enumerate(ways(outcome)):
                        name = f"{rule.id}:{outcome.kind}:{b}" + (f":unless{u}" if u else "")
                        patterns, scope = self.branch(way.apply(branch), final)
                        ruleset[name] = {"all": patterns}
                        locs[name] = (outcome.loc, f"rule {rule.id!r}")
                        rules[name] = self.finding(name, final, rule, outcome, scope)
        _add_sink_and_end(ruleset, final)
        rules = self.copy_calendars(rules)
        partitions = self.partition(ruleset, locs)
        ranks = {fact: tuple(sorted(groups)) for fact, groups in sorted(self.ranks.items())}
        digest = hashlib.sha256(json.dumps([ruleset, ranks], sort_keys=True).encode()).hexdigest()[:12]
        return CompiledPack(
            self.pack,
            f"{self.pack.name}-{digest}",
            final,
            ruleset,
            rules,
            dict(self.memberships),
            partitions,
            ranks,
            frozenset(self.fact_types),
            cal.CalendarNeeds(
                {fact: tuple(sorted(names)) for fact, names in sorted(self.needs.items()) if fact in FACT_FIELDS},
                cal.WorkCalendar(self.pack.calendar),
            ),
        )

    def copy_calendars(self, rules: dict[str, CompiledRule]) -> dict[str, CompiledRule]:
        """Derived facts that copy a time copy the calendar fields rules read of it (``at: e.at``
        gives ``at.weekday: e.at.weekday``), back to the prepared facts that compute them."""
        done: set[tuple[str, str]] = set()
        todo = [(fact, name) for fact, names in self.needs.items() for name in names]
        while todo:
            fact, name = todo.pop()
            if (fact, name) in done:
                continue
            done.add((fact, name))
            base, part = cal.split_field(name)
            for rule_name, rule in list(rules.items()):
                source = rule.set.get(base) if rule.kind == "derive" and rule.fact == fact else None
                if not isinstance(source, ex.Ref) or source.field is None or part is None:
                    continue  # the checker allows calendar fields only of copied times
                copied = cal.part_field(source.field, part)
                rules[rule_name] = dataclasses.replace(rule, set={**rule.set, name: ex.Ref(source.alias, copied)})
                origin = self.derived_types[rule_name].get(source.alias, "")
                self.needs.setdefault(origin, set()).add(copied)
                todo.append((origin, copied))
        return rules

    def need(self, fact: str | None, name: str) -> None:
        if fact is not None and cal.part_of(name) is not None:
            self.needs.setdefault(fact, set()).add(name)

    def need_refs(self, e: ex.Expr, scope: Scope) -> None:
        for ref in cal.calendar_refs(e):
            self.need(scope.fact_of(ref.alias), ref.field or "")

    def finding(self, name: str, stratum: int, rule: Rule, outcome: Outcome, scope: Scope) -> CompiledRule:
        due = None if outcome.due is None else self.value(outcome.due, scope)
        return CompiledRule(
            name,
            stratum,
            outcome.kind,
            rule.id,
            rule.severity if outcome.kind == "violation" else "info",
            subject=self.value(outcome.subject, scope),
            person=None if outcome.person is None else self.value(outcome.person, scope),
            due=due,
            message=self.message(outcome.message, scope.with_due() if due is not None else scope),
            aliases=_aliases(scope),
            remedy=self.message(rule.remedy, scope) if rule.remedy and outcome.kind == "violation" else (),
        )

    def partition(
        self, ruleset: Mapping[str, Mapping[str, object]], locs: Mapping[str, tuple[Location, str]]
    ) -> tuple[tuple[str, ...], ...]:
        """Refuse a rule no engine ruleset can hold; group the others into rulesets that hold them."""
        costs = []
        problems: list[Problem] = []
        for name, rule in ruleset.items():
            if name in (SINK, END):
                continue
            patterns = rule["all"]
            assert isinstance(patterns, list)
            cost = lim.rule_cost(name, patterns)
            why = lim.rule_too_large(cost)
            if why is not None:
                loc, what = locs[name]
                problems.append(problem(self.pack, loc, f"{what} cannot run in the engine: {why}"))
            costs.append(cost)
        if problems:
            raise InputError(problems)
        return lim.partition(costs)

    # -- one branch -------------------------------------------------------------------------------

    def branch(self, patterns: tuple[Pattern, ...], stratum: int) -> tuple[list[object], Scope]:
        out: list[object] = [{ASOF: {"$and": [{"t": GATE}, {"n": stratum}]}}]
        scope = Scope()
        for index, p in enumerate(patterns):
            self.fact_types.add(p.fact)
            alias = p.alias or f"_{index}"
            count = self.nth(p, scope) if p.nth else 1
            names = [alias] if count == 1 else [f"{alias}__{k}" for k in range(1, count + 1)]
            group = self.rank_group(p, scope) if count > 1 else None
            for k, name in enumerate(names):
                tests = self.tests(p, scope)
                if k > 0 and group is not None:
                    # the fact ranked just after the previous one of the chain, in its group
                    ranked = rank_field(group)
                    tests.insert(0, {ranked: {"$add": {"$l": {names[k - 1]: ranked}, "$r": 1}}})
                elif k > 0:
                    tests.insert(len([t for t in tests if "$or" not in t]), {"$gt": {"at": {names[k - 1]: "at"}}})
                if any(_joins(test, scope.names) for test in tests):
                    tests.append(JOIN_GUARD)
                key = f"{name}$not" if p.negated else name
                out.append({key: {"$and": [{"t": p.fact}, *tests]}})
                if not p.negated:
                    scope = scope.bind(name, p.fact)
            if count > 1:
                scope = scope.rename(alias, names[-1])
        return out, scope

    def rank_group(self, p: Pattern, scope: Scope) -> tuple[str, ...] | None:
        """The fields an `nth` pattern's facts are ranked by, when ranks can replace time comparisons.

        A chain of N facts with strictly increasing times, each passing the pattern's tests, exists
        exactly when one exists of facts ranked one after the other in the group, provided the
        group holds exactly the facts that the tests let through together: the tests may only join
        fields to earlier matches by equality (the group) and bound `at` (an interval of ranks).
        Any other test (a literal, `not`, `in`...) keeps the time comparisons.
        """
        group: list[str] = []
        for w in map(fold_where, p.where):
            if w.field == "at" and w.op in COMPARISONS:
                continue
            ref = _REF.match(str(w.value)) if w.op == "eq" and w.is_expr else None
            if ref is None or not scope.uses(ref.group(1)) or w.field == "at":
                return None
            group.append(w.field)
        if p.fact in FACT_FIELDS and any(d.fact == p.fact for d in self.pack.derivations):
            return None  # both prepared and derived: no single moment when all of them are known
        key = tuple(sorted(group))
        self.ranks.setdefault(p.fact, set()).add(key)
        return key

    def nth(self, p: Pattern, scope: Scope) -> int:
        value = self.value(p.nth or "", scope)
        assert isinstance(value, ex.Const), "checked: nth comes to a whole number"
        return int(value.value)

    def tests(self, p: Pattern, scope: Scope) -> list[dict[str, object]]:
        plain: list[dict[str, object]] = []
        last: list[dict[str, object]] = []  # `$or` goes last: after it, durable_rules drops join tests
        for w in map(fold_where, p.where):  # company and network ignore case
            test = self.test(w, p, scope)
            (last if "$or" in test else plain).append(test)
        return plain + last

    def test(self, w: Where, p: Pattern, scope: Scope) -> dict[str, object]:
        self.need(p.fact, w.field)
        if w.op in COMPARISONS and w.is_expr and cal.part_of(w.field) is None:
            value = ex.fold(rename(ex.resolve(ex.parse(str(w.value)), self.params, scope.visible()), scope))
            name, moved = cal.comparison_business_days(w.field, value, ASOF)
            self.need(p.fact, name)
            self.need_refs(moved, scope)
            return {COMPARISONS[w.op]: {name: ex.to_durable(moved)}}
        if w.op == "in":
            values = list(dict.fromkeys(w.value))  # type: ignore[call-overload]
            if len(values) > lim.IN_LIST_INLINE:
                return {self.membership(p, w.field, values): True}
            return {"$or": [{w.field: v} for v in values]}
        if w.op == "exists":
            return {"$ex" if w.value else "$nex": {w.field: 1}}
        target = ex.to_durable(self.value(str(w.value), scope)) if w.is_expr else w.value
        if w.op in COMPARISONS:
            return {COMPARISONS[w.op]: {w.field: target if w.is_expr else ex.to_durable(ex.Const(w.value))}}  # type: ignore[arg-type]
        assert w.op in ("eq", "not"), w.op
        return {w.field: target} if w.op == "eq" else {"$neq": {w.field: target}}

    def membership(self, p: Pattern, name: str, values: list[object]) -> str:
        """The flag that stands for ``name in values`` on ``p``'s facts (one per distinct list).

        A long `in:` list would give the engine an alpha node per value (past 512 on one node,
        create_ruleset never returns); the backends set the flag on each fact before asserting it.
        """
        keys = frozenset(k for k in map(lim.value_key, values) if k is not None)
        wanted = lim.Membership(p.fact, name, keys)
        for flag, known in self.memberships.items():
            if known == wanted:
                return flag
        flag = f"{lim.IN_FLAG}{len(self.memberships)}"
        self.memberships[flag] = wanted
        return flag

    # -- expressions and messages -----------------------------------------------------------------

    def value(self, text: str, scope: Scope) -> ex.Expr:
        value = ex.fold(rename(ex.resolve(ex.parse(text), self.params, scope.visible()), scope))
        if not isinstance(value, ex.BDays):  # a message may show business days as such
            value = cal.apply_business_days(value, ASOF)
        self.need_refs(value, scope)
        return value

    def message(self, text: str, names: Scope) -> tuple[tpl.Part, ...]:
        out: list[tpl.Part] = []
        for part in tpl.parse(text):
            if isinstance(part, str):
                out.append(part)
            else:
                resolved = ex.fold(rename(ex.resolve(part.expr, self.params, names.visible()), names))
                if not isinstance(resolved, ex.BDays):  # shown as "5 business days"
                    resolved = cal.apply_business_days(resolved, ASOF)
                self.need_refs(resolved, names)
                out.append(tpl.Placeholder(resolved, part.filter, part.args))
        return tuple(out)


def _aliases(scope: Scope) -> tuple[str, ...]:
    """The positive patterns' aliases, in order (a firing's evidence)."""
    return tuple(a for a in scope.names if a != ASOF)


def _add_sink_and_end(ruleset: dict[str, dict[str, object]], final: int) -> None:
    # Facts that no rule matches would make durable_rules raise MessageNotHandledException;
    # this rule takes every fact and can never fire (its first pattern matches nothing). Its
    # joins are never evaluated: they spread the facts over durable_rules' hash buckets, since
    # storing a fact walks every fact stored with the same hash (one bucket for all facts was
    # quadratic in their number: 20,000 facts took 6 s). Every fact has `t` and `ev`.
    spread = [{name: {"g": name}} for name in ("t", "ev")]
    ruleset[SINK] = {"all": [{"g": {"t": "$never"}}, {"s": {"$and": [{"$ex": {"t": 1}}, *spread, JOIN_GUARD]}}]}
    # durable_rules never initialises a new session's action context: deleting a session in
    # which no action ever ran frees a garbage pointer (seen: "free(): invalid pointer",
    # segfaults). This rule fires once on the last gate of every history, so every session
    # has run an action before it is deleted. Backends ignore its firing.
    ruleset[END] = {"all": [{ASOF: {"$and": [{"t": GATE}, {"n": final}]}}]}


def _joins(test: object, scope: tuple[str, ...]) -> bool:
    """Whether a compiled test refers to a fact bound earlier (``{"i": "key"}`` anywhere in it)."""
    if isinstance(test, dict):
        if len(test) == 1:
            ((key, value),) = test.items()
            if key in scope and isinstance(value, str):
                return True
        return any(_joins(v, scope) for v in test.values())
    if isinstance(test, list):
        return any(_joins(v, scope) for v in test)
    return False
