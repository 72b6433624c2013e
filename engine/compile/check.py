"""A parsed pack's meaning, checked before anything is compiled: every problem of a pack, located.

Each check is a generator of `Problem`s; one that also finds a value (a branch's scope, an
expression) returns it, read with ``yield from``. The compiler (``compiler.py``) runs only on a pack
with no problem here, so it can assume every name, field and expression resolves. The order of the
problems is the pack's reading order: text patterns, derivation cycles, derivations, then rules.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from typing import TypeVar

from ..diagnostics import Problem, escape_segment, suggest
from ..pack.model import COMPARISONS, Derivation, Location, Narrowing, Outcome, Pack, Pattern, Rule, Where
from ..pack.textpattern import as_written, pattern_problem
from . import calendar as cal
from . import enginelimits as lim
from . import expr as ex
from . import template as tpl
from .facts import CONTENT_FLAGS, FACT_FIELDS, GATE
from .narrow import MAX_WAYS, way_count
from .scope import ASOF, Scope

FLAG_FIELDS = frozenset((*CONTENT_FLAGS, "proofread", "interview_word", "read_from_body", "reply", "after_received"))
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


def text_loc(rule: Rule, key: str) -> Location:
    """Where the rule's title, rationale or remedy is written (an overlay's, when it changed it)."""
    return rule.text_locs.get(key) or at(rule.loc, f"/{key}")


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


def _field_list(known: set[str] | frozenset[str]) -> str:
    """A fact's fields for a message: the calendar parts of its times said once, not listed."""
    plain = sorted(f for f in known if f != "ev" and "." not in f)
    parted = any("." in f for f in known)
    return ", ".join(plain) + ("; each time also has .weekday, .time and .date" if parted else "")


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
            where = f"rule {rule.id!r}"
            yield from self.texts(rule.templates, rule, where)
            for outcome in rule.outcomes:
                for branch in outcome.branches:
                    scope = yield from self.outcome(where, outcome, branch)
                    # checked against each alternative of `any:` (the same problem twice is shown once)
                    for narrowing in outcome.unless:
                        others = [k for k in rule.kinds if k != outcome.kind]
                        tip = f" (to narrow one kind only: `unless: {{{others[0]}: [...]}}`)" if others else ""
                        yield from self.narrowing(f"{where}: unless ({outcome.kind})", narrowing, scope, tip)
                    if rule.remedy and outcome.kind == "violation":
                        yield from self.message(rule.remedy, scope, text_loc(rule, "remedy"), where, "remedy")
                count = way_count(outcome)
                if count > MAX_WAYS:
                    yield self.error(
                        outcome.unless[-1].loc,
                        f"{where}: its narrowings (unless) leave {count} ways for a {outcome.kind} to stand, "
                        f"each an engine rule; at most {MAX_WAYS}: use fewer tests, or derive a fact and look for it",
                    )
            if rule.remedy and "violation" not in rule.kinds:
                yield self.error(
                    text_loc(rule, "remedy"),
                    f"{where}: a remedy says what to do after a violation, and this rule has only a next step "
                    "(whose message already says what to do)",
                )

    def text_patterns(self) -> Iterator[Problem]:
        for name, items in self.pack.patterns.items():
            for item in items:
                why = pattern_problem(item)
                if why is not None:
                    yield self.error(
                        Location(self.pack.source, 1, 1, f"/patterns/{escape_segment(name)}"),
                        f"pattern {name!r}: {as_written(item)} {why}",
                    )

    def derivation(self, d: Derivation) -> Iterator[Problem]:
        # A broken pattern still binds its name (see `branch`), so the fields set are checked too:
        # every problem of the derivation at once, none caused by another.
        scope = yield from self.branch(d.when)
        for k, v in d.set.items():
            yield from self.expression(v, scope, at(d.loc, f"/set/{escape_segment(k)}"), f"field {k!r} of {d.fact}")

    def outcome(self, where: str, o: Outcome, branch: tuple[Pattern, ...]) -> Check[Scope]:
        """Every problem of one alternative of an outcome (a bad `where` hides no bad placeholder);
        returns the names the alternative binds."""
        scope = yield from self.branch(branch)
        yield from self.expression(o.subject, scope, at(o.loc, "/subject"), f"{where}: subject")
        if o.person is not None:
            yield from self.expression(o.person, scope, at(o.loc, "/person"), f"{where}: person")
        if o.due is not None:
            yield from self.expression(o.due, scope, at(o.loc, "/due"), f"{where}: due")
        elif o.kind == "next_step":
            yield self.error(o.loc, f"{where}: a next step needs `due`")
        # `due` names the due time even when its expression is broken: one mistake, one message.
        names = scope.with_due() if o.due is not None else scope
        yield from self.message(o.message, names, at(o.loc, "/message"), where)
        return scope

    def narrowing(self, where: str, n: Narrowing, scope: Scope, tip_kind: str = "") -> Iterator[Problem]:
        """An `unless:` pattern: a fact to look for with the rule's names in scope; it binds none."""
        for p in n.patterns:
            if p.negated:
                yield self.error(
                    at(p.loc, "/none#key"),
                    f"{where}: an `unless` pattern names a fact to look for (`fact: {p.fact}`); `none:` here "
                    "would make the rule fire only when such a fact exists: write a new rule for that",
                )
                continue
            if p.alias or p.nth:
                yield self.error(
                    at(p.loc, "/as#key" if p.alias else "/nth#key"),
                    f"{where}: an `unless` pattern cannot have `{'as' if p.alias else 'nth'}`: each is tested on its "
                    "own against the rule's match, using the rule's names (to combine several facts, derive a fact "
                    "under `derive:` and look for it)",
                )
            if p.fact not in self.fields:
                tip = suggest(p.fact, self.fields, otherwise=f" (known: {', '.join(sorted(self.fields))})")
                yield self.error(at(p.loc, "/fact"), f"{where}: unknown fact type {p.fact!r}{tip}")
                continue
            yield from self.tests(p, scope)
        own_names = [a for a in scope.names if a != ASOF and not a.startswith("_") and "__" not in a]
        for own in n.own:
            fact = scope.fact_of(own.alias)
            if own.alias in scope.renamed:
                yield self.error(
                    at(own.loc, "/match"),
                    f"{where}: {own.alias!r} counts several facts (`nth`); `match:` tests one match: "
                    "look for the fact with a pattern instead",
                )
                continue
            if fact is None or own.alias not in own_names:
                tip = suggest(own.alias, own_names, otherwise="")
                names = f" (the rule's names: {', '.join(own_names)})" if own_names else ""
                yield self.error(
                    at(own.loc, "/match"),
                    f"{where}: {own.alias!r} is not one of the rule's matches{tip}{names}{tip_kind}",
                )
                continue
            if fact not in self.fields:
                continue  # an unknown fact type, reported at its pattern
            if not own.where:
                yield self.error(
                    at(own.loc, "/match"),
                    f"{where}: `match: {own.alias}` needs tests under `where:` (with none it would always hold, "
                    "and the rule would never fire: to turn it off, write `enabled: false`)",
                )
            earlier = scope.names[: scope.names.index(own.alias)]
            for w in own.where:
                later = [
                    r.alias for r in _refs_of(w) if scope.resolve(r.alias) not in earlier and r.alias in scope.visible()
                ]
                if later:
                    yield self.error(
                        at(own.loc, f"/where/{escape_segment(w.field)}"),
                        f"{where}: `match: {own.alias}` tests {w.field} against {later[0]!r}, which the rule matches "
                        f"{'as the same fact' if later[0] == own.alias else 'after it'}: a test can use only "
                        f"earlier matches (the rule matches {', '.join(own_names)} in that order); write it from "
                        f"the later match's side, e.g. `{{match: {later[0]}, where: {{...}}}}`",
                    )
                    continue
                if w.op == "eq" and w.is_expr:
                    yield self.error(
                        at(own.loc, f"/where/{escape_segment(w.field)}"),
                        f"{where}: `match: {own.alias}` tests {w.field} against a value, a list (`in:`), "
                        f"`not:` or a time, but not for equality with another match's field ({w.value}); "
                        "to narrow on that, derive a fact that says it and look for it",
                    )
            yield from self.tests(Pattern(fact, None, False, own.where, loc=own.loc), scope)

    def texts(self, templates: Mapping[str, str], rule: Rule, where: str) -> Iterator[Problem]:
        """A title or rationale may quote parameters (`{thank_you_within|duration}`), nothing else."""
        for key in ("title", "rationale"):
            text = templates.get(key, "")
            if "{" not in text and "}" not in text:
                continue
            loc = text_loc(rule, key)
            try:
                parts = tpl.parse(text)
            except tpl.TemplateError as exc:
                yield self.error(loc, f"{where}: {key}: {exc}")
                continue
            for part in parts:
                if isinstance(part, str):
                    continue
                if not isinstance(part.expr, ex.Name) or part.expr.name not in self.params:
                    shown = tpl.show(part)
                    name = part.expr.name if isinstance(part.expr, ex.Name) else ""
                    tip = suggest(name, self.params, otherwise=f" (parameters: {', '.join(self.params)})")
                    yield self.error(
                        loc, f"{where}: {key}: {shown} is not a parameter; a {key} may quote parameters only{tip}"
                    )
                elif part.filter not in (None, "duration"):
                    yield self.error(
                        loc,
                        f"{where}: {key}: {tpl.show(part)}: a {key} shows a parameter as it is or with `|duration`",
                    )

    # -- one branch -------------------------------------------------------------------------------

    def branch(self, patterns: tuple[Pattern, ...]) -> Check[Scope]:
        scope = Scope()
        for index, p in enumerate(patterns):
            if p.fact not in self.fields:
                tip = suggest(p.fact, self.fields, otherwise=f" (known: {', '.join(sorted(self.fields))})")
                yield self.error(at(p.loc, "/none" if p.negated else "/fact"), f"unknown fact type {p.fact!r}{tip}")
                if not p.negated and not scope.uses(p.alias or f"_{index}"):
                    # the name stays bound (to a type with no known fields) so that what uses it later
                    # is not reported again as naming nothing
                    scope = scope.bind(p.alias or f"_{index}", p.fact)
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
                tip = suggest(w.field, known, otherwise=f" ({p.fact} has: {_field_list(known)})")
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
        """A did-you-mean for an unknown name, from every name in scope: the parameters, the matches
        (each alias alone and with its fields: `i.start`), the audit time `asof.at`, and `due`."""
        if exc.name is None:
            return ""
        if exc.name.lower() in _AUDIT_TIME_WORDS:
            return "; did you mean 'asof.at' (the audit time)?"
        fields: list[str] = []
        visible = sorted(n for n in scope.visible() if not n.startswith("_") and "__" not in n)
        for alias in visible:
            fact = scope.fact_of(scope.resolve(alias))
            if alias == ASOF:
                fields.append("asof.at")
            elif alias != "due" and fact is not None:
                fields.extend(f"{alias}.{f}" for f in sorted(self.fields.get(fact, ())) if f != "ev")
        aliases = [n for n in visible if n != ASOF]
        # a bare field name (`start`) suggests the matches that have it (`i.start`)
        owners: dict[str, list[str]] = {}
        for full in fields:
            owners.setdefault(full.split(".", 1)[1], []).append(full)
        named = {*self.params, *aliases, *fields}
        options = [*sorted(named), *(f for f in owners if f not in named)]
        tip = suggest(
            exc.name,
            options,
            show=lambda o: repr(o) if o in named else " or ".join(repr(x) for x in owners[o][:3]),
        )
        if tip:
            return tip
        return f" ({_names_in_scope(self.params, aliases)})"

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
        if fact is not None and fact != GATE and fact not in self.fields:
            return  # an unknown fact type, reported at its pattern: its fields are unknown too
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
                otherwise=f" ({fact} has: {_field_list(known)})",
                show=lambda field: f"{alias_name}.{field}",
            )
            article = "an" if fact[:1].lower() in {"a", "e", "i", "o", "u"} else "a"
            yield self.error(loc, f"{what}: {e.alias} is {article} {fact}, which has no field {e.field!r}{tip}")

    def message(
        self, text: str, names: Scope, loc: Location, where: str, what: str = "message"
    ) -> Iterator[Problem]:
        try:
            parts = tpl.parse(text)
        except tpl.TemplateError as exc:
            duration = _duration_hint(text)
            yield self.error(loc, f"{where}: {what}: {duration}" if duration else f"{where}: {what}: {exc}")
            return
        for part in parts:
            if isinstance(part, str):
                continue
            try:
                resolved = ex.resolve(part.expr, self.params, names.visible())
            except ex.ExprError as exc:
                yield self.error(loc, f"{where}: {what} placeholder refers to nothing: {exc}{self._hint(exc, names)}")
                continue
            found = list(self.references(resolved, names, loc, f"{where}: {what}"))
            yield from found
            if not found:
                yield from self.message_business_days(ex.fold(rename(resolved, names)), names, loc, f"{where}: {what}")
            mismatch = self._filter_mismatch(part, ex.fold(rename(resolved, names)), names)
            if mismatch:
                yield self.error(loc, f"{where}: {what}: {mismatch}")

    def message_business_days(self, value: ex.Expr, names: Scope, loc: Location, what: str) -> Iterator[Problem]:
        """Business days in a placeholder: a parameter alone shows as such, else they move a time."""
        if isinstance(value, ex.BDays):
            return
        try:
            moved = cal.apply_business_days(value, ASOF)
        except ex.ExprError as exc:
            yield self.error(loc, f"{what}: {exc}")
            return
        for ref in cal.calendar_refs(moved):
            if cal.part_of(ref.field or "") == "bd":
                base = cal.split_field(ref.field or "")[0]
                yield from self.moved_field(names.fact_of(ref.alias) or "", base, loc, what, ref.alias)

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


def _refs_of(w: Where) -> list[ex.Ref]:
    """The `alias.field` references in a test's value (none when it does not parse)."""
    if not w.is_expr:
        return []
    try:
        return ex.refs(ex.parse(str(w.value)))
    except ex.ExprError:
        return []


# Words for the audit time that are not its name: each suggests `asof.at`.
_AUDIT_TIME_WORDS = frozenset(("now", "today", "asof", "as_of", "audit_time", "audit", "time", "current_time"))


def _names_in_scope(params: Mapping[str, object], aliases: list[str]) -> str:
    """The names an expression may use here, for a message about one it may not."""
    parts = []
    if params:
        parts.append(f"parameters: {', '.join(params)}")
    if aliases:
        parts.append(f"matches: {', '.join(sorted(aliases))} (as alias.field)")
    parts.append("the audit time: asof.at")
    return "; ".join(parts)


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
