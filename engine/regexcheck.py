"""The structural check of a pack's text patterns: does a regular expression compile, and can it
backtrack catastrophically (exponential time on a text that almost matches)?

The check reads the expression's parse tree (Python's own ``re`` parser) and works out, for each
piece, which characters a match can start with and go on with; no text is ever matched.
"""

from __future__ import annotations

import re
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_p  # type: ignore[import-not-found]
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Characters a class or literal is tested against: enough to see which sets can overlap.
_ALPHABET = frozenset([chr(c) for c in range(128)] + ["é", "ß", "Ж", "٣", "\u00a0", "\u2003", "中"])
_CATEGORY_TESTS: Mapping[str, str] = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
    "CATEGORY_LINEBREAK": r"\n",
    "CATEGORY_NOT_LINEBREAK": r".",
}


@dataclass(frozen=True)
class _Shape:
    """What a piece of a regular expression can do, as far as ambiguity goes.

    ``first``: characters a non-empty match can start with; ``nullable``: it can match nothing;
    ``extend``: characters with which a match can go on to a longer match of the same piece.
    """

    first: frozenset[str]
    nullable: bool
    extend: frozenset[str]


_EMPTY = _Shape(frozenset(), True, frozenset())


class _Ambiguous(Exception):
    pass


def regex_problem(text: str) -> str | None:
    """Why ``text`` is not an acceptable pack pattern (does not compile, or can backtrack
    catastrophically), or None.

    Python's regex engine backtracks: a repeated piece that can match the same text in more than
    one way, such as ``(a+)+``, ``(a*)*``, ``(\\w+\\s?)+`` or ``(a|a)*``, tries every way on a text
    that almost matches, which takes exponential time. A repeat is refused when the repeated piece
    can go on to a longer match with a character it can also start with (then two iterations can
    also be one), or when two alternatives inside it can start the same way.
    """
    try:
        re.compile(text)
        parsed = sre_p.parse(text, re.IGNORECASE)
    except re.error as exc:
        where = f" at position {exc.pos + 1}" if exc.pos is not None else ""
        return f"is not a valid regular expression: {exc.msg}{where}"
    except RecursionError:
        return "is nested too deeply"
    try:
        _shape_seq(list(parsed), repeated=False)
    except _Ambiguous as exc:
        return (
            f"can take exponential time on some texts (catastrophic backtracking): {exc}; "
            "write the repeated part so that it can match a text in only one way, "
            "e.g. (a+)+ as a+, (\\w+\\s?)+ as [\\w\\s]+, (a|a)* as a*"
        )
    except RecursionError:
        return "is nested too deeply"
    return None


def _fold(chars: frozenset[str]) -> frozenset[str]:
    out = set(chars)
    for c in chars:
        out.update(x for x in (c.lower(), c.upper()) if x in _ALPHABET)
    return frozenset(out)


def _class(items: list[tuple[Any, Any]]) -> frozenset[str]:
    chars: set[str] = set()
    negate = False
    for op, av in items:
        if op is sre_c.NEGATE:
            negate = True
        elif op is sre_c.LITERAL:
            chars.add(chr(av))
        elif op is sre_c.RANGE:
            chars.update(c for c in _ALPHABET if av[0] <= ord(c) <= av[1])
        elif op is sre_c.CATEGORY:
            test = re.compile(_CATEGORY_TESTS.get(str(av), r"[\s\S]"))
            chars.update(c for c in _ALPHABET if test.fullmatch(c))
        else:  # an unexpected item: assume it can match anything
            chars.update(_ALPHABET)
    folded = _fold(frozenset(chars))
    return _ALPHABET - folded if negate else folded


def _then(a: _Shape, b: _Shape) -> _Shape:
    """The shape of ``a`` followed by ``b``."""
    first = a.first | b.first if a.nullable else a.first
    extend = b.extend | a.extend | b.first if b.nullable else b.extend
    return _Shape(first, a.nullable and b.nullable, extend)


def _shape_seq(items: list[tuple[Any, Any]], repeated: bool) -> _Shape:
    shape = _EMPTY
    for op, av in items:
        shape = _then(shape, _shape_item(op, av, repeated))
    return shape


def _shape_item(op: Any, av: Any, repeated: bool) -> _Shape:
    if op is sre_c.LITERAL:
        return _Shape(_fold(frozenset(chr(av))), False, frozenset())
    if op is sre_c.NOT_LITERAL:
        return _Shape(_ALPHABET - _fold(frozenset(chr(av))), False, frozenset())
    if op is sre_c.ANY:
        return _Shape(_ALPHABET - {"\n"}, False, frozenset())
    if op is sre_c.IN:
        return _Shape(_class(av), False, frozenset())
    if op is sre_c.AT:
        return _EMPTY
    if op is sre_c.SUBPATTERN:
        return _shape_seq(list(av[3]), repeated)
    if op is sre_c.ATOMIC_GROUP:
        inner = _shape_seq(list(av), repeated=False)
        return _Shape(inner.first, inner.nullable, frozenset())  # never re-split once matched
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        _shape_seq(list(av[1]), repeated=False)
        return _EMPTY
    if op is sre_c.BRANCH:
        return _branch([_shape_seq(list(alt), repeated) for alt in av[1]], repeated)
    if op is sre_c.GROUPREF_EXISTS:
        alternatives = [list(av[1]), list(av[2]) if av[2] is not None else []]
        return _branch([_shape_seq(alt, repeated) for alt in alternatives], repeated=False)
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
        low, high, body_items = av
        many = high is sre_c.MAXREPEAT or high > 1
        possessive = op is sre_c.POSSESSIVE_REPEAT
        body = _shape_seq(list(body_items), repeated=(repeated or many) and not possessive)
        if many and not possessive:
            overlap = body.extend & body.first
            if overlap:
                sample = min(overlap, key=lambda c: (not c.islower(), not c.isalnum(), c))
                raise _Ambiguous(
                    f"a repeated part can itself match text of different lengths that continue with "
                    f"the same character ({sample!r}), so a run of such text splits into repeats in "
                    "exponentially many ways (a nested quantifier like (a+)+)"
                )
        if possessive:
            return _Shape(body.first, low == 0 or body.nullable, frozenset())
        if many:
            return _Shape(body.first, low == 0 or body.nullable, body.extend | body.first)
        return _Shape(body.first, True, body.extend)
    # GROUPREF and anything unforeseen: may match any text, or none
    return _Shape(_ALPHABET, True, frozenset())


def _branch(shapes: list[_Shape], repeated: bool) -> _Shape:
    if repeated:
        for i, a in enumerate(shapes):
            for b in shapes[i + 1 :]:
                if (a.nullable and b.nullable) or (a.first & b.first):
                    raise _Ambiguous("two alternatives of a repeated group can match the same text (like (a|a)*)")
    first: frozenset[str] = frozenset().union(*(s.first for s in shapes)) if shapes else frozenset()
    extend: set[str] = set().union(*(s.extend for s in shapes)) if shapes else set()
    for i, s in enumerate(shapes):
        if s.nullable:
            extend.update(*(o.first for j, o in enumerate(shapes) if j != i))
    return _Shape(first, any(s.nullable for s in shapes), frozenset(extend))
