"""A parsed pack's meaning, checked before anything is compiled: every problem of a pack, located.

Each check is a generator of `Problem`s; one that also finds a value (a branch's scope, an
expression) returns it, read with ``yield from``. The compiler (``compiler.py``) runs only on a pack
with no problem here, so it can assume every name, field and expression resolves. The order of the
problems is the pack's reading order: text patterns, derivation cycles, derivations, then rules.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import TypeVar

from ..diagnostics import Problem, escape_segment, suggest
from ..pack.model import COMPARISONS, Derivation, Location, Outcome, Pack, Pattern, Where
from ..pack.textpattern import pattern_problem
from . import calendar as cal
from . import enginelimits as lim
from . import expr as ex
from . import template as tpl
from .facts import CONTENT_FLAGS, FACT_FIELDS, GATE
from .scope import ASOF, Scope

FLAG_FIELDS = frozenset((*CONTENT_FLAGS, "proofread", "interview_word", "read_from_body"))
MAX_NTH = lim.MAX_FACTS_PER_RULE  # each step binds a fact of its own, and a match binds at most this many
_BAD_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?[A-Za-z]\w*)")

T = TypeVar("T")
Check = Generator[Problem, None, T]  # yields problems, returns what it found


def compile_problems(pack: Pack) -> list[Problem]:
    """Every problem of the pack's rules and derivations, in reading order ([] when it compiles)."""
    return list(_Checker(pack).problems())


def at(loc: Location, suffix: str) -> Location:
    """``loc`` narrowed to a key or value inside it, by JSON pointer (the pack loader places it)."""
    return Location(loc.source, loc.line, loc.column, loc.pointer + suffix)


def problem(pack: Pack, loc: Location, message: str) -> Problem:
    return Problem(loc.source or pack.source, loc.line or 1, loc.column or 1, message, loc.pointer)


def stratify(pack: Pack) -> tuple[dict[str, int], list[Derivation]]:
    """Stratum of each derivation (1 + the highest stratum of derived facts it matches), and the
    first derivation of each fact found to depend on itself."""
    producers: dict[str, list[int]] = {}
    for i, d in enumerate(pack.derivations):
        producers.setdefault(d.fact, []).append(i)
    fact_stratum: dict[str, int] = {}
    result: dict[str, int] = {}
    visiting: set[str] = set()
    cycles: list[Derivation] = []

    def of_fact(fact: str) -> int:
        if fact not in producers:
            return 0
        if fact in fact_stratum:
            return fact_stratum[fact]
        if fact in visiting:
            cycles.append(pack.derivations[producers[fact][0]])
            return 0
        visiting.add(fact)
        level = 0
        for i in producers[fact]:
            d = pack.derivations[i]
            own = 1 + max((of_fact(p.fact) for p in d.when), default=0)
            result[f"derive:{d.fact}:{i}"] = own
            level = max(level, own)
        visiting.discard(fact)
        fact_stratum[fact] = level
        return level

    for fact in producers:
        of_fact(fact)
    return result, cycles


def _collect(check: Check[T]) -> tuple[list[Problem], T]:
    """The problems a check yields and the value it returns."""
    found: list[Problem] = []
    while True:
        try:
            found.append(next(check))
        except StopIteration as stop:
            return found, stop.value


def _duration_hint(text: str) -> str | None:
    """A plain-words reason when ``text`` holds something meant as a duration that is not one."""
    for m in _BAD_DURATION.finditer(text):
        if ex.parse_duration(m.group(1)) is None and ex.parse_business_days(m.group(1)) is None:
            return f"{m.group(1)!r} is not a duration; write e.g. 90m, 24h, 7d or 2w"
    return None


class _Checker:
    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.params = cal.param_values(pack.params)
        self.fields: dict[str, set[str]] = {k: set(v) | {"ev"} for k, v in FACT_FIELDS.items()}
        for d in pack.derivations:
            self.fields.setdefault(d.fact, {"ev"}).update(d.set)
        # every time with a local calendar can be tested by its weekday, time of day and date
        self.timed = cal.timed_fields(pack.derivations)
        for fact, names in self.timed.items():
            self.fields.setdefault(fact, {"ev"}).update(cal.part_field(n, part) for n in names for part in cal.PARTS)
        # the distinct long `in:` lists seen so far: the engine holds a few per fact type
        self.memberships: list[lim.Membership] = []

    def error(self, loc: Location, message: str) -> Problem:
        return problem(self.pack, loc, message)

    def problems(self) -> Iterator[Problem]:
        yield from self.text_patterns()
        for d in stratify(self.pack)[1]:
            yield self.error(d.loc, f"derived fact {d.fact!r} depends on itself; derived facts must not form a cycle")
        for d in self.pack.derivations:
            yield from self.derivation(d)
        for rule in self.pack.active_rules:
            for outcome in rule.outcomes:
                for branch in outcome.branches:
                    yield from self.outcome(f"rule {rule.id!r}", outcome, branch)

    def text_patterns(self) -> Iterator[Problem]:
        for name, items in self.pack.patterns.items():
            for item in items:
                why = pattern_problem(item)
                if why is not None:
                    yield self.error(
                        Location(self.pack.source, 1, 1, f"/patterns/{escape_segment(name)}"),
                        f"pattern {name!r}: {item!r} {why}",
                    )

    def derivation(self, d: Derivation) -> Iterator[Problem]:
        found, scope = _collect(self.branch(d.when))
        yield from found
        if found:
            return  # a broken condition: what its names mean is unknown
        for k, v in d.set.items():
            yield from self.expression(v, scope, at(d.loc, f"/set/{escape_segment(k)}"), f"field {k!r} of {d.fact}")

    def outcome(self, where: str, o: Outcome, branch: tuple[Pattern, ...]) -> Iterator[Problem]:
        found, scope = _collect(self.branch(branch))
        yield from found
        if found:
            return
        yield from self.expression(o.subject, scope, at(o.loc, "/subject"), f"{where}: subject")
        if o.person is not None:
            yield from self.expression(o.person, scope, at(o.loc, "/person"), f"{where}: person")
        due = None if o.due is None else (yield from self.expression(o.due, scope, at(o.loc, "/due"), f"{where}: due"))
        if o.kind == "next_step" and o.due is None:
            yield self.error(o.loc, f"{where}: a next step needs `due`")
        yield from self.message(o.message, scope.with_due() if due is not None else scope, at(o.loc, "/message"), where)

    # -- one branch -------------------------------------------------------------------------------

    def branch(self, patterns: tuple[Pattern, ...]) -> Check[Scope]:
        scope = Scope()
        for index, p in enumerate(patterns):
            if p.fact not in self.fields:
                tip = suggest(p.fact, self.fields, otherwise=f" (known: {', '.join(sorted(self.fields))})")
                yield self.error(at(p.loc, "/none" if p.negated else "/fact"), f"unknown fact type {p.fact!r}{tip}")
                continue
            if p.negated and (p.alias or p.nth):
                yield self.error(
                    at(p.loc, "/as#key" if p.alias else "/nth#key"),
                    "a `none` pattern matches nothing, so it cannot have `as` or `nth`",
                )
            alias = p.alias or f"_{index}"
            if scope.uses(alias):
                yield self.error(at(p.loc, "/as"), f"the name {alias!r} is already used in this condition")
            count = (yield from self.nth(p, scope)) if p.nth else 1
            names = [alias] if count == 1 else [f"{alias}__{k}" for k in range(1, count + 1)]
            for name in names:  # each step is checked in its own scope, as it is compiled
                yield from self.tests(p, scope)
                if not p.negated:
                    scope = scope.bind(name, p.fact)
            if count > 1:
                scope = scope.rename(alias, names[-1])
        return scope

    def nth(self, p: Pattern, scope: Scope) -> Check[int]:
        value = yield from self.expression(p.nth or "", scope, at(p.loc, "/nth"), "nth")
        if not isinstance(value, ex.Const) or int(value.value) != value.value or value.value < 1:
            yield self.error(at(p.loc, "/nth"), f"`nth: {p.nth}` must come to a whole number of at least 1")
            return 1
        if value.value > MAX_NTH:
            yield self.error(
                at(p.loc, "/nth"), f"`nth: {p.nth}` comes to {int(value.value)}; at most {MAX_NTH} is supported"
            )
            return 1
        return int(value.value)

    def tests(self, p: Pattern, scope: Scope) -> Iterator[Problem]:
        known = self.fields[p.fact]
        for w in p.where:
            if w.field not in known:
                tip = suggest(w.field, known, otherwise=f" ({p.fact} has: {', '.join(sorted(known - {'ev'}))})")
                yield self.error(
                    at(p.loc, f"/where/{escape_segment(w.field)}#key"), f"{p.fact} has no field {w.field!r}{tip}"
                )
                continue
            yield from self.test(w, p, scope)

    def test(self, w: Where, p: Pattern, scope: Scope) -> Iterator[Problem]:
        what = f"{p.fact}.{w.field}"
        loc = at(p.loc, f"/where/{escape_segment(w.field)}" + ("" if w.op == "eq" else f"/{w.op}"))
        if w.op in ("eq", "not") and w.is_expr:
            alias = str(w.value).split(".")[0]
            if not scope.uses(alias):
                yield self.error(loc, f"{what}: {_unbound(str(w.value), alias, p, scope)}")
                return
        if cal.part_of(w.field) is not None or w.field in self.timed.get(p.fact, ()) or w.field in ("at", "start"):
            yield from self.calendar_test(w, p, loc, what)
        if w.is_expr and w.op in COMPARISONS and cal.part_of(w.field) is None:
            yield from self.business_days(w, p, scope, loc, what)
        elif w.is_expr and (w.op in COMPARISONS or w.op in ("eq", "not")):
            yield from self.expression(str(w.value), scope, loc, what)
        elif w.op == "in":
            yield from self.membership(p, w)

    def calendar_test(self, w: Where, p: Pattern, loc: Location, what: str) -> Iterator[Problem]:
        """Tests of times and their calendar parts: each part is compared the way it can be."""
        is_time = w.field in self.timed.get(p.fact, ()) or w.field in ("at", "start")
        for message in cal.test_problems(w, is_time):
            yield self.error(loc, f"{what}: {message}")

    def business_days(self, w: Where, p: Pattern, scope: Scope, loc: Location, what: str) -> Check[None]:
        """A comparison of a time: its expression, with business days moved onto fields."""
        value = yield from self.expression(str(w.value), scope, loc, what, business=False)
        if value is None:
            return None
        try:
            name, moved = cal.comparison_business_days(w.field, value, ASOF)
        except ex.ExprError as exc:
            yield self.error(loc, f"{what}: {exc}")
            return None
        if name != w.field:
            yield from self.moved_field(p.fact, w.field, loc, what)
        for ref in cal.calendar_refs(moved):
            yield from self.moved_field(
                scope.fact_of(ref.alias) or "", cal.split_field(ref.field or "")[0], loc, what, ref.alias
            )
        return None

    def moved_field(self, fact: str, name: str, loc: Location, what: str, alias: str = "") -> Iterator[Problem]:
        """A time moved by business days must be one with a calendar."""
        if fact == GATE or name in self.timed.get(fact, ()):
            return
        shown = f"{alias}.{name}" if alias else f"{fact}.{name}"
        yield self.error(
            loc,
            f"{what}: business days cannot move {shown}: only a time of an event, or a derived field that copies"
            " one (`at: e.at`), has a calendar",
        )

    def membership(self, p: Pattern, w: Where) -> Iterator[Problem]:
        """A long `in:` list becomes a flag on the facts; the engine holds a few per fact type."""
        values = list(dict.fromkeys(w.value))  # type: ignore[call-overload]
        if len(values) <= lim.IN_LIST_INLINE:
            return
        keys = frozenset(k for k in map(lim.value_key, values) if k is not None)
        wanted = lim.Membership(p.fact, w.field, keys)
        if wanted in self.memberships:
            return
        if sum(m.fact == p.fact for m in self.memberships) >= lim.MAX_IN_FLAGS_PER_TYPE:
            yield self.error(
                at(p.loc, f"/where/{escape_segment(w.field)}/in"),
                f"more than {lim.MAX_IN_FLAGS_PER_TYPE} different `in:` lists longer than {lim.IN_LIST_INLINE} "
                f"values test {p.fact} facts; the engine holds at most {lim.MAX_IN_FLAGS_PER_TYPE}",
            )
        self.memberships.append(wanted)

    # -- expressions and messages -----------------------------------------------------------------

    def expression(
        self, text: str, scope: Scope, loc: Location, what: str, business: bool = True
    ) -> Check[ex.Expr | None]:
        """The expression's value as far as it resolves (None when it does not parse or resolve).

        ``business``: business days are moved onto fields here (a comparison moves them itself)."""
        try:
            parsed = ex.resolve(ex.parse(text), self.params, scope.visible())
        except ex.ExprError as exc:
            duration = _duration_hint(text)
            yield self.error(loc, f"{what}: {duration}" if duration else f"{what}: {exc}{self._hint(exc, scope)}")
            return None
        found = list(self.references(parsed, scope, loc, what))
        yield from found
        value = ex.fold(rename(parsed, scope))
        if not business or found or isinstance(value, ex.BDays):
            return value
        try:
            moved = cal.apply_business_days(value, ASOF)
        except ex.ExprError as exc:
            yield self.error(loc, f"{what}: {exc}")
            return None
        for ref in cal.calendar_refs(moved):
            if cal.part_of(ref.field or "") == "bd":
                base = cal.split_field(ref.field or "")[0]
                yield from self.moved_field(scope.fact_of(ref.alias) or "", base, loc, what, ref.alias)
        return moved

    def _hint(self, exc: ex.ExprError, scope: Scope) -> str:
        if exc.name is None:
            return ""
        return suggest(exc.name, [*self.params, *scope.names], otherwise=f" (parameters: {', '.join(self.params)})")

    def references(self, e: ex.Expr, scope: Scope, loc: Location, what: str) -> Iterator[Problem]:
        """Each `alias.field` names an earlier match and one of its fields."""
        if isinstance(e, ex.BinOp):
            yield from self.references(e.left, scope, loc, what)
            yield from self.references(e.right, scope, loc, what)
        if not isinstance(e, ex.Ref) or (e.alias == "due" and e.field is None and "due" in scope.names):
            return
        alias = scope.resolve(e.alias)
        if alias not in scope.names:
            tip = suggest(e.alias, scope.names, otherwise=f" (names here: {', '.join(scope.names)})")
            yield self.error(loc, f"{what}: {e.alias!r} is not the name of an earlier match{tip}")
        fact = scope.fact_of(alias)
        known = self.fields.get(fact or "", set()) | ({"at", "n"} if fact == GATE else set())
        if fact == GATE and e.field is not None and cal.part_of(e.field) is not None:
            yield self.error(
                loc,
                f"{what}: {e.alias}.{e.field}: the audit time has no local calendar parts; test the times of"
                " the history's events (e.g. c.at.weekday)",
            )
            return
        if e.field is not None and fact is not None and e.field not in known:
            alias_name = e.alias
            tip = suggest(
                e.field,
                known,
                otherwise=f" ({fact} has: {', '.join(sorted(known - {'ev'}))})",
                show=lambda field: f"{alias_name}.{field}",
            )
            article = "an" if fact[:1].lower() in {"a", "e", "i", "o", "u"} else "a"
            yield self.error(loc, f"{what}: {e.alias} is {article} {fact}, which has no field {e.field!r}{tip}")

    def message(self, text: str, names: Scope, loc: Location, where: str) -> Iterator[Problem]:
        try:
            parts = tpl.parse(text)
        except tpl.TemplateError as exc:
            duration = _duration_hint(text)
            yield self.error(loc, f"{where}: message: {duration}" if duration else f"{where}: message: {exc}")
            return
        for part in parts:
            if isinstance(part, str):
                continue
            try:
                resolved = ex.resolve(part.expr, self.params, names.visible())
            except ex.ExprError as exc:
                yield self.error(loc, f"{where}: message placeholder refers to nothing: {exc}{self._hint(exc, names)}")
                continue
            found = list(self.references(resolved, names, loc, f"{where}: message"))
            yield from found
            if not found:
                yield from self.message_business_days(ex.fold(rename(resolved, names)), names, loc, where)
            mismatch = self._filter_mismatch(part, ex.fold(rename(resolved, names)), names)
            if mismatch:
                yield self.error(loc, f"{where}: message: {mismatch}")

    def message_business_days(self, value: ex.Expr, names: Scope, loc: Location, where: str) -> Iterator[Problem]:
        """Business days in a placeholder: a parameter alone shows as such, else they move a time."""
        if isinstance(value, ex.BDays):
            return
        try:
            moved = cal.apply_business_days(value, ASOF)
        except ex.ExprError as exc:
            yield self.error(loc, f"{where}: message: {exc}")
            return
        for ref in cal.calendar_refs(moved):
            if cal.part_of(ref.field or "") == "bd":
                base = cal.split_field(ref.field or "")[0]
                yield from self.moved_field(names.fact_of(ref.alias) or "", base, loc, f"{where}: message", ref.alias)

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

    def _kind(self, e: ex.Expr, scope: Scope) -> str:
        """ "number", "text", "flag", "fact" or "unknown" (when it cannot be told, nothing is refused)."""
        if isinstance(e, ex.Const | ex.BinOp | ex.BDays):
            return "number"
        if isinstance(e, ex.Ref):
            if e.field is None:
                return "fact"
            if e.alias == "due":
                return "number"
            return self._field_kind(scope.fact_of(e.alias) or "", e.field, 0)
        return "unknown"

    def _field_kind(self, fact: str, name: str, depth: int) -> str:
        if fact == GATE:
            return "number"
        part = cal.part_of(name)
        if part is not None:
            return "number" if part in ("time", "bd") else "text"
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


def rename(e: ex.Expr, scope: Scope) -> ex.Expr:
    """``e`` with each `nth` alias standing for its last step and a bare ``due`` for the due time."""
    if isinstance(e, ex.Ref):
        if e.alias == "due" and e.field is None and "due" in scope.names:
            return ex.Ref("due", "at")  # the finding's due time, set when rendering
        return ex.Ref(scope.resolve(e.alias), e.field)
    if isinstance(e, ex.BinOp):
        return ex.BinOp(e.op, rename(e.left, scope), rename(e.right, scope))
    return e


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
