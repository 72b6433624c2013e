"""The local calendar and business days, prepared for the engine.

durable_rules compares numbers and text; it cannot ask what weekday an instant falls on in
Berlin, nor add five working days to it. So everything a rule may ask of the calendar is computed
on the facts before they are asserted, as fields named after the time they describe:

- ``at.weekday`` (``mon`` … ``sun``), ``at.time`` (the local clock reading, as seconds since local
  midnight, so ``at.time: {before: 9h}`` reads as it sounds) and ``at.date`` (``2026-11-28``), in
  the history's time zone, for every time field a rule can see;
- ``at.after_5bd`` / ``at.before_5bd``: the instant five business days later / earlier, at the same
  local clock time, on the pack's working calendar (weekends, public holidays, the agency's own
  dates).

The compiler rewrites ``w.at + 5bd`` into a reference to ``w.at.after_5bd`` and records which fields
of which fact types are needed (``CalendarNeeds``); derived facts that copy a time copy its
calendar fields too. Only the fields a pack uses are computed: the default pack uses none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..diagnostics import suggest
from ..pack.model import COMPARISONS, WEEKDAYS, CalendarSpec, Derivation, Param, Where
from . import expr as ex

PARTS = ("weekday", "time", "date")
# The time fields of the prepared facts (a derived fact's field is a time when it copies one).
TIME_FIELDS: Mapping[str, tuple[str, ...]] = {
    "interview": ("at", "start"),
    "met": ("at", "start"),
    "email": ("at",),
    "call": ("at",),
    "note": ("at",),
    "to": ("at", "previous_at", "met_interview_at", "company_interview_at"),
    "received": ("at",),
    "social": ("at", "interview_at"),
    "mention": ("interview_at",),
    "reference_contact": ("at",),
    "reference_check": ("at",),
    "decision": ("at",),
    "last_heard": ("at",),
}
_BUSINESS = "bd"


def param_values(params: Mapping[str, Param]) -> dict[str, ex.ParamValue]:
    """Each parameter's value in expressions: seconds, or business days (``5bd``) kept as such."""
    out: dict[str, ex.ParamValue] = {}
    for name, p in params.items():
        days = ex.parse_business_days(p.value) if isinstance(p.value, str) else None
        out[name] = p.seconds if days is None else ex.BDays(days)
    return out


def part_field(name: str, part: str) -> str:
    return f"{name}.{part}"


def split_field(name: str) -> tuple[str, str | None]:
    """``at.weekday`` -> (``at``, ``weekday``); ``at`` -> (``at``, None)."""
    base, dot, part = name.partition(".")
    return base, part if dot else None


def business_field(name: str, days: int) -> str:
    """The field holding ``name`` moved by ``days`` business days (later when positive)."""
    return f"{name}.after_{days}{_BUSINESS}" if days > 0 else f"{name}.before_{-days}{_BUSINESS}"


def business_days_of(part: str) -> int | None:
    """``after_5bd`` -> 5, ``before_2bd`` -> -2; None for any other part."""
    for prefix, sign in (("after_", 1), ("before_", -1)):
        if part.startswith(prefix) and part.endswith(_BUSINESS) and part[len(prefix) : -2].isdigit():
            return sign * int(part[len(prefix) : -2])
    return None


@dataclass(frozen=True)
class WorkCalendar:
    """Which local dates are business days. The public holidays are read from the ``holidays``
    library lazily (a year at a time, as it expands), and kept for the calendar's lifetime."""

    spec: CalendarSpec = field(default_factory=CalendarSpec)
    _cache: MutableMapping[object, Any] = field(default_factory=dict, compare=False, repr=False)

    def _holidays(self) -> Any:
        if "h" not in self._cache:
            if self.spec.country is None:
                self._cache["h"] = None
            else:
                import holidays  # only a pack with a country pays for the import

                self._cache["h"] = holidays.country_holidays(self.spec.country, subdiv=self.spec.subdivision)
        return self._cache["h"]

    def is_business_day(self, day: date) -> bool:
        if WEEKDAYS[day.weekday()] in self.spec.weekend or day.isoformat() in self.spec.extra_holidays:
            return False
        public = self._holidays()
        return public is None or day not in public

    def shift(self, day: date, days: int) -> date:
        """The ``days``-th business day after ``day`` (before it when negative); ``day`` itself is
        not counted, whether or not it is a business day."""
        key = (day, days)
        known = self._cache.get(key)
        if known is not None:  # a history's times fall on few days: each is counted once
            return known  # type: ignore[no-any-return]
        step = timedelta(days=1 if days > 0 else -1)
        left = abs(days)
        if len(self.spec.weekend) >= 7:
            raise ValueError("a calendar whose every day is a weekend has no business days")
        moved = day
        while left:
            moved += step
            if self.is_business_day(moved):
                left -= 1
        self._cache[key] = moved
        return moved


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def local(value: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(value, UTC).astimezone(tz)


def calendar_value(value: float, part: str, tz: ZoneInfo, work: WorkCalendar) -> object:
    """What field ``X.part`` holds for a time ``X`` of ``value`` (epoch seconds)."""
    moment = local(value, tz)
    if part == "weekday":
        return WEEKDAYS[moment.weekday()]
    if part == "date":
        return moment.date().isoformat()
    if part == "time":
        fraction = value - int(value)
        return _number(moment.hour * 3600 + moment.minute * 60 + moment.second + fraction)
    days = business_days_of(part)
    if days is None:
        raise ValueError(f"unknown calendar part {part!r}")
    day = work.shift(moment.date(), days)
    # The same local clock time on that day. A time the day lacks (a daylight-saving gap) is read
    # with the offset before the change, as Python's zoneinfo reads fold=0.
    moved = datetime.combine(day, moment.time().replace(tzinfo=None)).replace(tzinfo=tz)
    return _number(moved.timestamp())


@dataclass(frozen=True)
class CalendarNeeds:
    """The calendar fields a compiled pack reads, by fact type, and its working calendar."""

    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    work: WorkCalendar = field(default_factory=WorkCalendar)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def add_to(self, facts: Iterable[dict[str, object]], tz: ZoneInfo) -> None:
        """Set the needed calendar fields on ``facts`` (in place): a fact whose time field is
        absent gets none for it, as a rule testing it then never matches."""
        wanted = self.fields
        for fact in facts:
            names = wanted.get(str(fact.get("t")))
            if not names:
                continue
            for name in names:
                base, part = split_field(name)
                value = fact.get(base)
                if part is not None and isinstance(value, int | float) and not isinstance(value, bool):
                    fact[name] = calendar_value(value, part, tz, self.work)


# -- business days in expressions ------------------------------------------------------------------


Terms = list[tuple[int, ex.Expr]]


def terms(expr: ex.Expr) -> Terms:
    """``a + b - c`` as signed terms [(1, a), (1, b), (-1, c)], left to right."""
    out: Terms = []

    def walk(e: ex.Expr, sign: int) -> None:
        if isinstance(e, ex.BinOp):
            walk(e.left, sign)
            walk(e.right, sign if e.op == "+" else -sign)
        else:
            out.append((sign, e))

    walk(expr, 1)
    return out


def rebuild(items: Terms) -> ex.Expr:
    """The expression of signed terms (the first must be positive, as written ones are)."""
    sign, result = items[0]
    if sign < 0:
        result = ex.BinOp("-", ex.Const(0), result)
    for sign, term in items[1:]:
        result = ex.BinOp("+" if sign > 0 else "-", result, term)
    return result


def has_business_days(expr: ex.Expr) -> bool:
    return any(isinstance(t, ex.BDays) for _, t in terms(expr))


def _is_time_ref(term: ex.Expr) -> bool:
    return isinstance(term, ex.Ref) and term.field is not None


def _offsets(expr: ex.Expr) -> tuple[Terms, dict[int, int]]:
    """The terms without business days, and the business days each time term is moved by (by
    index into the returned terms): a business-day term moves the nearest time written before it."""
    kept: Terms = []
    offsets: dict[int, int] = {}
    for sign, term in terms(expr):
        if not isinstance(term, ex.BDays):
            kept.append((sign, term))
            continue
        if term.days == 0:
            continue
        target = next((i for i in range(len(kept) - 1, -1, -1) if _is_time_ref(kept[i][1])), None)
        if target is None:
            raise ex.ExprError(
                f"{term.days}bd must follow the time it moves (e.g. w.at + {term.days}bd): business days"
                " are counted on the calendar from a time, they are not a number of seconds"
            )
        offsets[target] = offsets.get(target, 0) + sign * kept[target][0] * term.days
    return kept, {i: d for i, d in offsets.items() if d}


def _moved(ref: ex.Ref, days: int, gate: str) -> ex.Ref:
    name = ref.field or ""
    if split_field(name)[1] is not None:
        raise ex.ExprError(f"business days move a time, not {ref.alias}.{name}")
    if ref.alias == gate:
        raise ex.ExprError(
            f"business days cannot move {ref.alias}.{name}, the audit time; in a `where` test write the"
            f" business days on the other side's time, e.g. `at: {{before: {ref.alias}.{name} - 5bd}}`"
        )
    return ex.Ref(ref.alias, business_field(name, days))


def apply_business_days(expr: ex.Expr, gate: str) -> ex.Expr:
    """``w.at + 5bd - 1h`` -> ``w.at.after_5bd - 1h``: each business-day term moves the nearest
    time written before it (in the direction its sign says, relative to that time's sign).
    ExprError when a business-day term has no time before it, or moves the audit time."""
    if not has_business_days(expr):
        return expr
    kept, offsets = _offsets(expr)
    if not kept:
        raise ex.ExprError("business days must follow the time they move, e.g. w.at + 5bd")
    out: Terms = []
    for i, (sign, term) in enumerate(kept):
        days = offsets.get(i)
        out.append((sign, _moved(term, days, gate) if days and isinstance(term, ex.Ref) else term))
    return rebuild(out)


def comparison_business_days(name: str, expr: ex.Expr, gate: str) -> tuple[str, ex.Expr]:
    """A ``where`` comparison ``name OP expr`` with business days in ``expr``, as fields.

    A deadline counted in business days always counts forward from the earlier time: ``at: {after:
    c.at - 5bd}`` means ``at + 5bd`` is after ``c.at``, and ``start: {before: asof.at - 5bd}`` means
    ``start + 5bd`` is before the audit time (business days are not reversible: Saturday + 1bd is
    Monday, Monday - 1bd is Friday). So a business-day term taken from a time, or applied to the
    audit time, moves the compared field instead; one added to another fact's time stays there.
    """
    if not has_business_days(expr):
        return name, expr
    kept, offsets = _offsets(expr)
    own = 0
    out: Terms = []
    for i, (sign, term) in enumerate(kept):
        days = offsets.get(i)
        if days and isinstance(term, ex.Ref) and (days < 0 or term.alias == gate):
            own -= days  # X op R - 5bd  <=>  X + 5bd op R
            days = None
        out.append((sign, _moved(term, days, gate) if days and isinstance(term, ex.Ref) else term))
    if own:
        if split_field(name)[1] is not None:
            raise ex.ExprError(f"business days move a time, not {name}")
        name = business_field(name, own)
    return name, rebuild(out)


def calendar_refs(expr: ex.Expr) -> list[ex.Ref]:
    """The references to calendar fields (``c.at.weekday``, ``w.at.after_5bd``) in an expression."""
    return [e for _, e in terms(expr) if isinstance(e, ex.Ref) and e.field and "." in e.field]


def part_of(name: str) -> str | None:
    """The calendar part a field name asks for (``weekday`` of ``at.weekday``; a business-day move
    reads as ``bd``), or None for a plain field."""
    part = split_field(name)[1]
    if part is None:
        return None
    return "bd" if business_days_of(part) is not None else part


def timed_fields(derivations: Iterable[Derivation]) -> dict[str, set[str]]:
    """Fact type -> its time fields that have a local calendar: the prepared facts' times, and a
    derived fact's field when every derivation that sets it copies such a time (``at: e.at``).
    A computed time (``at: e.at + 1h``) has none: its calendar would be a guess."""
    out: dict[str, set[str]] = {k: set(v) for k, v in TIME_FIELDS.items()}
    derivations = list(derivations)
    changed = True
    while changed:
        changed = False
        verdict: dict[tuple[str, str], bool] = {}
        for d in derivations:
            aliases = {p.alias: p.fact for p in d.when if p.alias and not p.negated}
            for name, text in d.set.items():
                try:
                    parsed = ex.parse(text)
                except ex.ExprError:
                    parsed = ex.Const(0)
                copies = (
                    isinstance(parsed, ex.Ref)
                    and parsed.field is not None
                    and parsed.field in out.get(aliases.get(parsed.alias, ""), set())
                )
                key = (d.fact, name)
                verdict[key] = verdict.get(key, True) and copies
        for (fact, name), copies in verdict.items():
            if copies and name not in out.setdefault(fact, set()):
                out[fact].add(name)
                changed = True
    return out


# -- what pack validate says about calendar tests -------------------------------------------------


def test_problems(w: Where, is_time: bool) -> list[str]:
    """What is wrong with a test of a time or of a calendar part (``at.weekday``...), in words."""
    part = part_of(w.field)
    if part in ("weekday", "date"):
        if w.op in COMPARISONS:
            return [
                f"a {part} is tested with equality, `not:` or `in:`; to compare times, compare"
                f" {split_field(w.field)[0]} itself"
            ]
        wrong = [v for v in _literals(w) if not _calendar_literal(part, v)]
        if part == "weekday":
            days = ", ".join(WEEKDAYS)
            return [f"{v!r} is not a weekday: write one of {days}{suggest(str(v), WEEKDAYS)}" for v in wrong]
        return [f"{v!r} is not a date; write it as 2026-12-24" for v in wrong]
    if part == "time":
        return [
            f"{v!r}: a time of day is compared with a duration since local midnight, e.g. {{before: 9h}}"
            for v in _literals(w)
            if not isinstance(v, int | float) or isinstance(v, bool)
        ][:1]
    if part is None and is_time and w.op in COMPARISONS:
        plain = not w.is_expr or _plain_number(str(w.value))
        if plain:
            return [
                f"a time is compared with the plain number {w.value!r}; write a time, e.g. asof.at - 7d or i.start"
                " + 24h (to test the time of day, compare at.time with a duration: at.time: {before: 9h})"
            ]
    return []


def _literals(w: Where) -> tuple[object, ...]:
    """The literal values a test compares a field with (none for an expression)."""
    if w.op == "in" and isinstance(w.value, tuple):
        return w.value
    return (w.value,) if w.op in ("eq", "not") and not w.is_expr else ()


def _calendar_literal(part: str, value: object) -> bool:
    if part == "weekday":
        return value in WEEKDAYS
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _plain_number(text: str) -> bool:
    """Whether an expression is only numbers and durations: no time to compare with."""
    try:
        parsed = ex.parse(text)
    except ex.ExprError:
        return False
    return not ex.names(parsed) and not ex.refs(parsed)
