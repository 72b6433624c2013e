"""Message templates: ``Email {i.names} by {due|time}``; placeholders hold an expression and an
optional filter (``time``, ``date``, ``duration``, ``words``, ``missing:flag,flag``, ``if:text``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..diagnostics import FollowupError
from ..wording import and_list, plural
from . import expr as ex

FILTERS = ("time", "date", "duration", "words", "missing", "if")
# What each filter can show (the compiler refuses the others): "" is no filter at all.
FILTER_KINDS: Mapping[str, tuple[str, ...]] = {
    "time": ("number",),
    "date": ("number",),
    "duration": ("number",),
    "words": ("text", "number", "flag"),
    "missing": ("fact",),
    "if": ("flag",),
    "": ("text", "number", "flag"),
}
FILTER_HELP = (
    "time, date and duration show a number: a time such as i.at or due, a duration or a parameter; "
    "words shows a field's value; missing shows a whole match, e.g. {e|missing:thanks,fit}; "
    "if:TEXT shows TEXT when a flag (true/false field) is true"
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
FLAG_WORDS: Mapping[str, str] = {
    "thanks": "thanks",
    "interest": "a word of continued interest",
    "fit": "why you fit the job",
    "contact_info": "your contact information",
}


class TemplateError(FollowupError, ValueError):
    """A message template that cannot be read."""


@dataclass(frozen=True)
class Placeholder:
    expr: ex.Expr
    filter: str | None
    args: tuple[str, ...]


Part = str | Placeholder


def parse(text: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        body = m.group(1)
        expr_text, _, filt = body.partition("|")
        name, _, args = filt.partition(":")
        name = name.strip()
        if name and name not in FILTERS:
            raise TemplateError(f"unknown filter {name!r} in {{{body}}} (filters: {', '.join(FILTERS)})")
        try:
            parsed = ex.parse(expr_text.strip())
        except ex.ExprError as exc:
            raise TemplateError(f"in {{{body}}}: {exc}") from None
        # `if:` shows its text as written (commas and all) when the value is true.
        items = (args,) if name == "if" else tuple(a.strip() for a in args.split(",") if a.strip())
        parts.append(Placeholder(parsed, name or None, items))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    for part in parts:
        if isinstance(part, str) and ("{" in part or "}" in part):
            brace = "{" if "{" in part else "}"
            near = part.strip()[:30]
            raise TemplateError(f"unmatched {brace!r} near {near!r}: placeholders are written {{alias.field}}")
    return tuple(parts)


def show(part: Placeholder) -> str:
    """The placeholder as written, near enough for a message: ``{i.key|time}``."""
    args = f":{','.join(part.args)}" if part.args else ""
    filt = f"|{part.filter}{args}" if part.filter else ""
    return "{" + _text(part.expr) + filt + "}"


def _text(e: ex.Expr) -> str:
    if isinstance(e, ex.Ref):
        return e.alias if e.field is None else f"{e.alias}.{e.field}"
    if isinstance(e, ex.Const):
        return str(e.value)
    if isinstance(e, ex.Name):
        return e.name
    if isinstance(e, ex.BDays):
        return f"{e.days}bd"
    return f"{_text(e.left)} {e.op} {_text(e.right)}"


def _duration(seconds: float) -> str:
    seconds = abs(int(seconds))
    units = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    words = []
    for unit, size in units:
        if seconds >= size:
            n, seconds = divmod(seconds, size)
            words.append(plural(n, unit))
        if len(words) == 2:
            break
    return " ".join(words) or "0 seconds"


def format_time(value: float, tz: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(value, UTC).astimezone(tz)
    return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M %Z}"


def format_date(value: float, tz: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(value, UTC).astimezone(tz)
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def render(parts: tuple[Part, ...], bindings: Mapping[str, Mapping[str, object]], tz: ZoneInfo) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if isinstance(part.expr, ex.BDays):  # a business-day parameter: a count, not seconds
            out.append(plural(part.expr.days, "business day"))
            continue
        value = ex.evaluate(part.expr, bindings)
        out.append(_apply(part, value, tz))
    return "".join(out)


def _apply(part: Placeholder, value: object, tz: ZoneInfo) -> str:
    name = part.filter
    if name is None:
        return "" if value is None else str(value)
    if name == "missing":
        fact = value if isinstance(value, Mapping) else {}
        missing = [FLAG_WORDS.get(a, a.replace("_", " ")) for a in part.args if not fact.get(a)]
        return and_list(missing)
    if name == "if":
        return "".join(part.args) if value else ""
    if name == "words":
        return str(value).replace("_", " ")
    # The compiler lets only numbers reach these filters (text through str, as float would read it).
    number = float(value) if isinstance(value, int | float) else float(str(value))
    return _apply_number(name, number, tz)


def _apply_number(name: str, number: float, tz: ZoneInfo) -> str:
    """The filters that read a number: a clock time, a date or a duration."""
    if name == "time":
        return format_time(number, tz)
    if name == "date":
        return format_date(number, tz)
    return _duration(number)
