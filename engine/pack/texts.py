"""A rule's title and rationale with the pack's parameters quoted: ``Send a thank-you email within
{thank_you_within|duration}`` reads "within 12 hours" in an overlay that sets 12h. Filled in once the
pack (each layer of an ``extends`` chain) is resolved, so every report and command shows the same."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from ..compile import expr as ex
from ..compile import template as tpl
from .model import Pack, Param, Rule

_UTC = ZoneInfo("UTC")


def fill(text: str, params: dict[str, Param], *, titled: bool = True) -> str:
    """``text`` with each ``{parameter}`` or ``{parameter|duration}`` filled in; anything else is left
    as written (the pack checker reports it). ``titled``: a single unit reads "a week", as titles and
    rationales say it; a remedy, rendered like a message, says "1 week"."""
    if "{" not in text:
        return text
    try:
        parts = tpl.parse(text)
    except tpl.TemplateError:
        return text
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part.expr, ex.Name) and part.expr.name in params and part.filter in (None, "duration"):
            param = params[part.expr.name]
            if part.filter is None:
                out.append(str(param.value))  # as written: 24h, 1
            else:
                words = tpl.render((tpl.Placeholder(ex.Const(param.seconds), part.filter, ()),), {}, _UTC)
                out.append(_article(words) if titled else words)
        else:
            out.append(tpl.show(part))
    return "".join(out)


def _article(words: str) -> str:
    """``1 week`` as a title says it, ``a week`` (``an hour``); ``1 day 12 hours`` and ``2 days`` as they are."""
    if words.startswith("1 ") and " " not in words[2:]:
        return ("an " if words[2] in "aeiou" or words.startswith("1 hour") else "a ") + words[2:]
    return words


def with_texts(pack: Pack) -> Pack:
    """``pack`` with each rule's title and rationale filled in from their templates."""
    params = dict(pack.params)

    def rule(r: Rule) -> Rule:
        title = fill(r.templates.get("title", r.title), params)
        rationale = fill(r.templates.get("rationale", r.rationale), params)
        if (title, rationale) == (r.title, r.rationale):
            return r
        return dataclasses.replace(r, title=title, rationale=rationale)

    return dataclasses.replace(pack, rules=tuple(rule(r) for r in pack.rules))
