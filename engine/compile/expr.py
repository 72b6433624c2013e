"""The small expression language of packs: ``i.start + thank_you_within``, ``asof.at - 7d``.

An expression is terms joined by ``+`` and ``-``. A term is ``alias.field`` (a field of a matched
fact), a parameter name, a duration (``90m``, ``24h``, ``7d``, ``2w``) or a whole number. The
compiler resolves parameters and durations to numbers (seconds), so compiled rules carry only
numbers and fact references.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..diagnostics import FollowupError

DURATION_UNITS: Mapping[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_RE = re.compile(r"^(\d+)([smhdw])$")
BUSINESS_DAYS_RE = re.compile(r"^(\d+)bd$")
# A term: `alias.field`, `alias.field.part` (a local calendar part: `c.at.weekday`), a name, a
# duration (`24h`, `5bd`) or a whole number.
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<op>[+-])|(?P<term>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,2}|\d+(?:bd|[smhdw])?))"
)
# The most business days a pack may add (about 100 years of them, like MAX_SECONDS).
MAX_BUSINESS_DAYS = 26000
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The longest duration (and the largest number) a pack may use: 36,524 days, about 100 years.
# Anything added to a time must keep it a date Python can hold (years 1 to 9999); 100 years is far
# beyond any follow-up deadline and far inside that range.
MAX_SECONDS = 36524 * 86400
MAX_SECONDS_WORDS = "100 years (36524d, 5217w or 3155673600 seconds)"


class ExprError(FollowupError, ValueError):
    """An expression that cannot be parsed or refers to something unknown.

    ``name`` is the unknown name, when that is the trouble: callers suggest a correction from it.
    """

    def __init__(self, message: str, *, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def too_large(seconds: float) -> str | None:
    """Why a duration or number of seconds is out of bounds, or None when it is fine."""
    if abs(seconds) > MAX_SECONDS:
        return f"is longer than the longest duration a pack may use, {MAX_SECONDS_WORDS}"
    return None


def parse_duration(text: str) -> int | None:
    """Seconds in a duration like ``24h``, or None if ``text`` is not one."""
    m = DURATION_RE.match(text.strip())
    if m and len(m.group(1)) > 15:
        return 10**16  # beyond every bound (too_large says so) without converting a huge digit string
    return int(m.group(1)) * DURATION_UNITS[m.group(2)] if m else None


def parse_business_days(text: str) -> int | None:
    """Days in a business-day duration like ``5bd``, or None if ``text`` is not one."""
    m = BUSINESS_DAYS_RE.match(text.strip())
    if m is None:
        return None
    return int(m.group(1)) if len(m.group(1)) <= 15 else 10**16


def business_days_too_large(days: int) -> str | None:
    if days > MAX_BUSINESS_DAYS:
        return f"is more business days than a pack may use ({MAX_BUSINESS_DAYS}bd, about 100 years)"
    return None


@dataclass(frozen=True)
class Ref:
    alias: str
    field: str | None  # None: the whole fact (for template filters such as ``missing``)


@dataclass(frozen=True)
class Const:
    value: int | float


@dataclass(frozen=True)
class Name:
    """A bare name: a parameter until the compiler resolves it."""

    name: str


@dataclass(frozen=True)
class BDays:
    """A number of business days (``5bd``): it moves a time along the pack's working calendar, so
    the compiler turns ``w.at + 5bd`` into a field computed on the fact (``calendar.py``)."""

    days: int


@dataclass(frozen=True)
class BinOp:
    op: str  # "+" or "-"
    left: Expr
    right: Expr


Expr = Ref | Const | Name | BinOp | BDays
ParamValue = int | float | BDays


def parse(text: str) -> Expr:
    """Parse an expression; raise ExprError with a plain-words reason."""
    pos, items = 0, []
    text = str(text)
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot read {text[pos:].strip()!r} in expression {text!r}")
        pos = m.end()
        items.append(m.group("op") or m.group("term"))
        if text[pos:].strip() == "":
            break
    if not items or len(items) % 2 == 0:
        raise ExprError(f"incomplete expression {text!r}")
    expr = _term(items[0], text)
    for i in range(1, len(items), 2):
        if items[i] not in "+-" or items[i + 1] in "+-":
            raise ExprError(f"expected a term after {items[i]!r} in {text!r}")
        expr = BinOp(items[i], expr, _term(items[i + 1], text))
    return expr


def _term(token: str, text: str) -> Expr:
    if token in "+-":
        raise ExprError(f"expression {text!r} starts with an operator")
    if token[0].isdigit():
        if len(token) > 15:  # never turn (or quote) a 100,000-digit number whole
            raise ExprError(f"{token[:12]}... ({len(token)} characters) {too_large(float('inf'))}")
        days = parse_business_days(token)
        if days is not None:
            why = business_days_too_large(days)
            if why is not None:
                raise ExprError(f"{token!r} in {text!r} {why}")
            return BDays(days)
        seconds = parse_duration(token)
        value = seconds if seconds is not None else int(token)
        why = too_large(value)
        if why is not None:
            raise ExprError(f"{token!r} in {text!r} {why}")
        return Const(value)
    if "." in token:
        alias, field = token.split(".", 1)  # `c.at.weekday`: the field `at.weekday` of c
        return Ref(alias, field)
    return Name(token)


def refs(expr: Expr) -> list[Ref]:
    """Every fact reference in an expression, left to right."""
    if isinstance(expr, Ref):
        return [expr]
    if isinstance(expr, BinOp):
        return refs(expr.left) + refs(expr.right)
    return []


def names(expr: Expr) -> list[str]:
    if isinstance(expr, Name):
        return [expr.name]
    if isinstance(expr, BinOp):
        return names(expr.left) + names(expr.right)
    return []


def resolve(expr: Expr, params: Mapping[str, ParamValue], aliases: frozenset[str]) -> Expr:
    """Replace parameter names by their values; a bare alias becomes a whole-fact reference."""
    if isinstance(expr, Name):
        if expr.name in params:
            value = params[expr.name]
            return value if isinstance(value, BDays) else Const(value)
        if expr.name in aliases:
            return Ref(expr.name, None)
        raise ExprError(f"unknown name {expr.name!r}", name=expr.name)
    if isinstance(expr, BinOp):
        return BinOp(expr.op, resolve(expr.left, params, aliases), resolve(expr.right, params, aliases))
    return expr


def fold(expr: Expr) -> Expr:
    """Fold constant arithmetic so ``asof.at - 24h + 0`` compiles to one subtraction."""
    if isinstance(expr, BinOp):
        left, right = fold(expr.left), fold(expr.right)
        if isinstance(left, Const) and isinstance(right, Const):
            value = left.value + right.value if expr.op == "+" else left.value - right.value
            return Const(value)
        if isinstance(left, BDays) and isinstance(right, BDays):
            return BDays(left.days + right.days if expr.op == "+" else left.days - right.days)
        return BinOp(expr.op, left, right)
    return expr


def to_durable(expr: Expr) -> object:
    """The durable_rules form of a resolved expression (``{"i": "at"}``, ``{"$add": ...}``)."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Ref):
        if expr.field is None:
            raise ExprError(f"{expr.alias!r} names a whole fact; say which field, e.g. {expr.alias}.at")
        return {expr.alias: expr.field}
    if isinstance(expr, BinOp):
        op = "$add" if expr.op == "+" else "$sub"
        return {op: {"$l": to_durable(expr.left), "$r": to_durable(expr.right)}}
    if isinstance(expr, BDays):
        raise ExprError(f"{expr.days}bd must follow the time it moves, e.g. w.at + {expr.days}bd")
    raise ExprError(f"unresolved name {expr.name!r}")


def evaluate(expr: Expr, bindings: Mapping[str, Mapping[str, object]]) -> object:
    """Evaluate a resolved expression on matched facts (used for messages, due dates, derived facts)."""
    # Exact type checks (mypy narrows on them): this runs for every firing, so it is kept cheap.
    if type(expr) is Ref:
        fact = bindings[expr.alias]
        return fact if expr.field is None else fact.get(expr.field)
    if type(expr) is Const:
        return expr.value
    if type(expr) is BinOp:
        left = evaluate(expr.left, bindings)
        right = evaluate(expr.right, bindings)
        if not isinstance(left, int | float) or not isinstance(right, int | float):
            raise ExprError("arithmetic on a value that is not a number")
        return left + right if expr.op == "+" else left - right
    if type(expr) is BDays:
        raise ExprError(f"{expr.days}bd must follow the time it moves, e.g. w.at + {expr.days}bd")
    raise ExprError(f"unresolved name {getattr(expr, 'name', '?')!r}")
