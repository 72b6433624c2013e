# Over 400 lines: checking and generating still share one pass here (issue 10: a separate checker is still to do).
"""Pack -> plain-data durable_rules rulesets. No engine import: the output is data, snapshot-tested.

Every compiled rule starts with the stratum's gate fact (alias ``asof``, carrying the audit time)
and the runner asserts that gate only after every fact the stratum may match. That is how absence
(``none``) stays correct although durable_rules never retracts a fired absence: nothing it could
see arrives after it looks. Derived facts are stratified: a derivation runs one stratum after the
derived facts it matches, and finding rules run last.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..diagnostics import InputError, Problem, escape_segment, suggest
from ..model import RuleKind, Severity
from ..pack.model import COMPARISONS, Location, Pack, Pattern, Where
from ..pack.textpattern import pattern_problem
from . import enginelimits as lim
from . import expr as ex
from . import template as tpl
from .facts import CONTENT_FLAGS, FACT_FIELDS, GATE
from .scope import ASOF, Scope

FLAG_FIELDS = frozenset((*CONTENT_FLAGS, "proofread", "interview_word", "read_from_body"))
SINK = "$sink"
MAX_NTH = lim.MAX_FACTS_PER_RULE  # each step binds a fact of its own, and a match binds at most this many
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
_BAD_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?[A-Za-z]\w*)")


def _at(loc: Location, suffix: str) -> Location:
    """``loc`` narrowed to a key or value inside it, by JSON pointer (the pack loader places it)."""
    return Location(loc.source, loc.line, loc.column, loc.pointer + suffix)


def _duration_hint(text: str) -> str | None:
    """A plain-words reason when ``text`` holds something meant as a duration that is not one."""
    for m in _BAD_DURATION.finditer(text):
        if ex.parse_duration(m.group(1)) is None:
            return f"{m.group(1)!r} is not a duration; write e.g. 90m, 24h, 7d or 2w"
    return None


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
    return _Compiler(pack).run()


class _Compiler:
    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.params = {name: p.seconds for name, p in pack.params.items()}
        self.problems: list[Problem] = []
        self.memberships: dict[str, lim.Membership] = {}
        self.locs: dict[str, tuple[Location, str]] = {}  # compiled rule -> where it is written, what
        self.fields: dict[str, set[str]] = {k: set(v) | {"ev"} for k, v in FACT_FIELDS.items()}
        for d in pack.derivations:
            self.fields.setdefault(d.fact, {"ev"}).update(d.set)
        self.ranks: dict[str, set[tuple[str, ...]]] = {}
        self.fact_types: set[str] = set()

    def error(self, loc: Location, message: str) -> None:
        self.problems.append(
            Problem(loc.source or self.pack.source, loc.line or 1, loc.column or 1, message, loc.pointer)
        )

    def run(self) -> CompiledPack:
        self.check_patterns()
        strata = self.stratify()
        ruleset: dict[str, dict[str, object]] = {}
        rules: dict[str, CompiledRule] = {}
        for i, d in enumerate(self.pack.derivations):
            name = f"derive:{d.fact}:{i}"
            stratum = strata.get(name, 1)
            compiled = self.branch(d.when, stratum, d.loc)
            if compiled is None:
                continue
            patterns, scope = compiled
            sets = {
                k: self.expression(v, scope, _at(d.loc, f"/set/{escape_segment(k)}"), f"field {k!r} of {d.fact}")
                for k, v in d.set.items()
            }
            ruleset[name] = {"all": patterns}
            self.locs[name] = (d.loc, f"derived fact {d.fact!r}")
            rules[name] = CompiledRule(
                name,
                stratum,
                "derive",
                fact=d.fact,
                set={k: v for k, v in sets.items() if v is not None},
                aliases=tuple(a for a in scope.names if a != ASOF),
            )
        final = max(strata.values(), default=0) + 1
        for rule in self.pack.active_rules:
            for check in rule.outcomes:
                for b, branch in enumerate(check.branches):
                    name = f"{rule.id}:{check.kind}:{b}"
                    compiled = self.branch(branch, final, check.loc)
                    if compiled is None:
                        continue
                    patterns, scope = compiled
                    where = f"rule {rule.id!r}"
                    subject = self.expression(check.subject, scope, _at(check.loc, "/subject"), f"{where}: subject")
                    person = (
                        None
                        if check.person is None
                        else self.expression(check.person, scope, _at(check.loc, "/person"), f"{where}: person")
                    )
                    due = (
                        None
                        if check.due is None
                        else self.expression(check.due, scope, _at(check.loc, "/due"), f"{where}: due")
                    )
                    if check.kind == "next_step" and check.due is None:
                        self.error(check.loc, f"{where}: a next step needs `due`")
                    message = self.message(check.message, scope, _at(check.loc, "/message"), where, due is not None)
                    ruleset[name] = {"all": patterns}
                    self.locs[name] = (check.loc, where)
                    rules[name] = CompiledRule(
                        name,
                        final,
                        check.kind,
                        rule.id,
                        rule.severity if check.kind == "violation" else "info",
                        subject=subject,
                        person=person,
                        due=due,
                        message=message,
                        aliases=tuple(a for a in scope.names if a != ASOF),
                    )
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
        partitions = self.partition(ruleset)
        if self.problems:
            raise InputError(self.problems)
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
        )

    def partition(self, ruleset: Mapping[str, Mapping[str, object]]) -> tuple[tuple[str, ...], ...]:
        """Refuse a rule no engine ruleset can hold; group the others into rulesets that hold them."""
        costs = []
        for name, rule in ruleset.items():
            if name in (SINK, END):
                continue
            patterns = rule["all"]
            assert isinstance(patterns, list)
            cost = lim.rule_cost(name, patterns)
            why = lim.rule_too_large(cost)
            if why is not None:
                loc, what = self.locs[name]
                self.error(loc, f"{what} cannot run in the engine: {why}")
            costs.append(cost)
        return lim.partition(costs)

    # -- checks over the whole pack --------------------------------------------------------------

    def check_patterns(self) -> None:
        for name, items in self.pack.patterns.items():
            for item in items:
                why = pattern_problem(item)
                if why is not None:
                    self.error(
                        Location(self.pack.source, 1, 1, f"/patterns/{escape_segment(name)}"),
                        f"pattern {name!r}: {item!r} {why}",
                    )

    def stratify(self) -> dict[str, int]:
        """Stratum of each derivation: 1 + the highest stratum of derived facts it matches."""
        producers: dict[str, list[int]] = {}
        for i, d in enumerate(self.pack.derivations):
            producers.setdefault(d.fact, []).append(i)
        fact_stratum: dict[str, int] = {}
        result: dict[str, int] = {}
        visiting: set[str] = set()

        def of_fact(fact: str) -> int:
            if fact not in producers:
                return 0
            if fact in fact_stratum:
                return fact_stratum[fact]
            if fact in visiting:
                d = self.pack.derivations[producers[fact][0]]
                self.error(d.loc, f"derived fact {fact!r} depends on itself; derived facts must not form a cycle")
                return 0
            visiting.add(fact)
            level = 0
            for i in producers[fact]:
                d = self.pack.derivations[i]
                own = 1 + max((of_fact(p.fact) for p in d.when), default=0)
                result[f"derive:{d.fact}:{i}"] = own
                level = max(level, own)
            visiting.discard(fact)
            fact_stratum[fact] = level
            return level

        for fact in producers:
            of_fact(fact)
        return result

    # -- one branch -------------------------------------------------------------------------------

    def branch(
        self, patterns: tuple[Pattern, ...], stratum: int, loc: Location
    ) -> tuple[list[object], Scope] | None:
        before = len(self.problems)
        out: list[object] = [{ASOF: {"$and": [{"t": GATE}, {"n": stratum}]}}]
        scope = Scope()
        for index, p in enumerate(patterns):
            if p.fact not in self.fields:
                tip = suggest(p.fact, self.fields, otherwise=f" (known: {', '.join(sorted(self.fields))})")
                self.error(_at(p.loc, "/none" if p.negated else "/fact"), f"unknown fact type {p.fact!r}{tip}")
                continue
            if p.negated and (p.alias or p.nth):
                self.error(
                    _at(p.loc, "/as#key" if p.alias else "/nth#key"),
                    "a `none` pattern matches nothing, so it cannot have `as` or `nth`",
                )
            self.fact_types.add(p.fact)
            alias = p.alias or f"_{index}"
            if scope.uses(alias):
                self.error(_at(p.loc, "/as"), f"the name {alias!r} is already used in this condition")
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
        if len(self.problems) > before:
            return None
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
        for w in p.where:
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
        value = self.expression(p.nth or "", scope, _at(p.loc, "/nth"), "nth")
        if not isinstance(value, ex.Const) or int(value.value) != value.value or value.value < 1:
            self.error(_at(p.loc, "/nth"), f"`nth: {p.nth}` must come to a whole number of at least 1")
            return 1
        if value.value > MAX_NTH:
            self.error(
                _at(p.loc, "/nth"), f"`nth: {p.nth}` comes to {int(value.value)}; at most {MAX_NTH} is supported"
            )
            return 1
        return int(value.value)

    def tests(self, p: Pattern, scope: Scope) -> list[dict[str, object]]:
        plain: list[dict[str, object]] = []
        last: list[dict[str, object]] = []  # `$or` goes last: after it, durable_rules drops join tests
        known = self.fields[p.fact]
        for w in p.where:
            if w.field not in known:
                tip = suggest(w.field, known, otherwise=f" ({p.fact} has: {', '.join(sorted(known - {'ev'}))})")
                self.error(
                    _at(p.loc, f"/where/{escape_segment(w.field)}#key"), f"{p.fact} has no field {w.field!r}{tip}"
                )
                continue
            test = self.test(w, p, scope)
            if test is not None:
                (last if "$or" in test else plain).append(test)
        return plain + last

    def test(self, w: Where, p: Pattern, scope: Scope) -> dict[str, object] | None:
        what = f"{p.fact}.{w.field}"
        at = _at(p.loc, f"/where/{escape_segment(w.field)}" + ("" if w.op == "eq" else f"/{w.op}"))
        if w.op in COMPARISONS:
            value = self.expression(str(w.value), scope, at, what) if w.is_expr else ex.Const(w.value)  # type: ignore[arg-type]
            return None if value is None else {COMPARISONS[w.op]: {w.field: ex.to_durable(value)}}
        if w.op in ("eq", "not"):
            target: object = w.value
            if w.is_expr:
                alias = str(w.value).split(".")[0]
                if not scope.uses(alias):
                    self.error(at, f"{what}: {_unbound(str(w.value), alias, p, scope)}")
                    return None
                value = self.expression(str(w.value), scope, at, what)
                if value is None:
                    return None
                target = ex.to_durable(value)
            return {w.field: target} if w.op == "eq" else {"$neq": {w.field: target}}
        if w.op == "in":
            values = list(dict.fromkeys(w.value))  # type: ignore[call-overload]
            if len(values) > lim.IN_LIST_INLINE:
                return {self.membership(p, w.field, values): True}
            return {"$or": [{w.field: v} for v in values]}
        if w.op == "exists":
            return {"$ex" if w.value else "$nex": {w.field: 1}}
        return None

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
        if sum(m.fact == p.fact for m in self.memberships.values()) >= lim.MAX_IN_FLAGS_PER_TYPE:
            self.error(
                _at(p.loc, f"/where/{escape_segment(name)}/in"),
                f"more than {lim.MAX_IN_FLAGS_PER_TYPE} different `in:` lists longer than {lim.IN_LIST_INLINE} "
                f"values test {p.fact} facts; the engine holds at most {lim.MAX_IN_FLAGS_PER_TYPE}",
            )
        flag = f"{lim.IN_FLAG}{len(self.memberships)}"
        self.memberships[flag] = wanted
        return flag

    def expression(self, text: str, scope: Scope, loc: Location, what: str) -> ex.Expr | None:
        try:
            parsed = ex.resolve(ex.parse(text), self.params, scope.visible())
        except ex.ExprError as exc:
            duration = _duration_hint(text)
            self.error(loc, f"{what}: {duration}" if duration else f"{what}: {exc}{self._hint(exc, scope)}")
            return None
        return ex.fold(self._rename(parsed, scope, loc, what))

    def _hint(self, exc: ex.ExprError, scope: Scope) -> str:
        if exc.name is None:
            return ""
        return suggest(exc.name, [*self.params, *scope.names], otherwise=f" (parameters: {', '.join(self.params)})")

    def _rename(self, e: ex.Expr, scope: Scope, loc: Location, what: str) -> ex.Expr:
        if isinstance(e, ex.Ref):
            if e.alias == "due" and e.field is None and "due" in scope.names:
                return ex.Ref("due", "at")  # the finding's due time, set when rendering
            alias = scope.resolve(e.alias)
            if alias not in scope.names:
                tip = suggest(e.alias, scope.names, otherwise=f" (names here: {', '.join(scope.names)})")
                self.error(loc, f"{what}: {e.alias!r} is not the name of an earlier match{tip}")
            fact = scope.fact_of(alias)
            known = self.fields.get(fact or "", set()) | ({"at", "n"} if fact == GATE else set())
            if e.field is not None and fact is not None and e.field not in known:
                alias_name = e.alias
                tip = suggest(
                    e.field,
                    known,
                    otherwise=f" ({fact} has: {', '.join(sorted(known - {'ev'}))})",
                    show=lambda field: f"{alias_name}.{field}",
                )
                article = "an" if fact[:1].lower() in {"a", "e", "i", "o", "u"} else "a"
                self.error(loc, f"{what}: {e.alias} is {article} {fact}, which has no field {e.field!r}{tip}")
            return ex.Ref(alias, e.field)
        if isinstance(e, ex.BinOp):
            return ex.BinOp(
                e.op, self._rename(e.left, scope, loc, what), self._rename(e.right, scope, loc, what)
            )
        return e

    def message(self, text: str, scope: Scope, loc: Location, where: str, has_due: bool) -> tuple[tpl.Part, ...]:
        try:
            parts = tpl.parse(text)
        except tpl.TemplateError as exc:
            duration = _duration_hint(text)
            self.error(loc, f"{where}: message: {duration}" if duration else f"{where}: message: {exc}")
            return ()
        names = scope.with_due() if has_due else scope
        out: list[tpl.Part] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            try:
                resolved = ex.resolve(part.expr, self.params, names.visible())
            except ex.ExprError as exc:
                self.error(loc, f"{where}: message placeholder refers to nothing: {exc}{self._hint(exc, names)}")
                continue
            final = ex.fold(self._rename(resolved, names, loc, f"{where}: message"))
            mismatch = self._filter_mismatch(part, final, names)
            if mismatch:
                self.error(loc, f"{where}: message: {mismatch}")
            out.append(tpl.Placeholder(final, part.filter, part.args))
        return tuple(out)

    # -- what kind of value an expression gives (for message filters) ----------------------------

    def _filter_mismatch(self, part: tpl.Placeholder, resolved: ex.Expr, scope: Scope) -> str | None:
        """Why ``part``'s filter cannot show the value of ``resolved``, or None when it fits."""
        kind = self._kind(resolved, scope)
        wanted = tpl.FILTER_KINDS.get(part.filter or "")
        if kind == "unknown" or wanted is None or kind in wanted:
            return None
        shown = tpl.show(part)
        return (
            f"{shown}: {_describe(part.expr, kind)}, "
            + (f"which the `{part.filter}` filter cannot show" if part.filter else "not a value to show; name a field")
            + f" ({tpl.FILTER_HELP})"
        )

    def _kind(self, e: ex.Expr, scope: Scope, depth: int = 0) -> str:
        """"number", "text", "flag", "fact" or "unknown" (when it cannot be told, nothing is refused)."""
        if isinstance(e, ex.Const | ex.BinOp):
            return "number"
        if isinstance(e, ex.Ref):
            if e.field is None:
                return "fact"
            if e.alias == "due":
                return "number"
            return self._field_kind(scope.fact_of(e.alias) or "", e.field, depth)
        return "unknown"

    def _field_kind(self, fact: str, name: str, depth: int) -> str:
        if fact == GATE:
            return "number"
        if fact in FACT_FIELDS:
            return "number" if name in ("at", "start") else "flag" if name in FLAG_FIELDS else "text"
        if depth > 8:  # derived from derived from...: stop guessing, refuse nothing
            return "unknown"
        kinds = set()
        for d in self.pack.derivations:
            if d.fact != fact or name not in d.set:
                continue
            types = {p.alias: p.fact for p in d.when if p.alias}
            try:
                parsed = ex.parse(d.set[name])
            except ex.ExprError:
                return "unknown"
            if isinstance(parsed, ex.Ref):
                kinds.add(self._field_kind(types.get(parsed.alias, ""), parsed.field or "", depth + 1))
            else:
                kinds.add("number")  # arithmetic, a parameter, a duration or a number
        return kinds.pop() if len(kinds) == 1 else "unknown"


def _describe(e: ex.Expr, kind: str) -> str:
    words = {"number": "a number", "text": "text", "flag": "true or false", "fact": "a whole fact"}[kind]
    if isinstance(e, ex.Ref) and e.field is not None:
        return f"{e.alias}.{e.field} is {words}"
    if isinstance(e, ex.Ref | ex.Name):
        name = e.alias if isinstance(e, ex.Ref) else e.name
        return f"{name} is {words}"
    return f"the value is {words}"


def _unbound(value: str, alias: str, p: Pattern, scope: Scope) -> str:
    """Why a value written ``alias.field`` cannot refer to ``alias`` (it would be a literal that
    never matches), and how to write the text itself."""
    literal = f"(to compare with the text {value!r}, write {{in: [{value}]}})"
    if alias == p.alias:
        own = "this pattern's own name: a pattern can refer only to earlier matches"
        return f"{value!r} names {alias!r}, {own} {literal}"
    tip = suggest(alias, [n for n in scope.names if n != ASOF])
    return f"{value!r} names {alias!r}, which no earlier pattern matches {literal}{tip}"


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
