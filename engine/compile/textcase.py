"""Free text that people type (``company``, ``network``) compares ignoring case.

Each fact that carries such a field also carries its folded twin (``co``, ``nw``), and the compiler
points a pack's equality tests (``eq``, ``not``, ``in``, joins) at the twin with the literal folded
the same way. The engine then compares exact strings as it always does, both backends read the same
rewritten tests, and messages still show the field as it was written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

from ..pack.model import Where

# field -> its folded twin on the same fact
FOLDED: Mapping[str, str] = {"company": "co", "network": "nw"}
_TWINS = frozenset(FOLDED.values())
_REF = re.compile(r"^\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*$")


def fold(text: object) -> str:
    """The form compared: the same for `Acme`, `ACME` and `acme`."""
    return str(text).casefold()


def fold_where(w: Where) -> Where:
    """``w`` comparing the folded twin when it compares a free-text field by equality.

    A literal is folded; a join to another fact's free-text field (or its twin) joins the twins.
    A join to any other field stays as written: the engine cannot fold a value it compares.
    """
    twin = FOLDED.get(w.field)
    if twin is None or w.op not in ("eq", "not", "in"):
        return w
    if not w.is_expr:
        if w.op == "in" and isinstance(w.value, (list, tuple)):
            return dataclasses.replace(w, field=twin, value=[_fold_literal(v) for v in w.value])
        return dataclasses.replace(w, field=twin, value=_fold_literal(w.value))
    ref = _REF.match(str(w.value)) if w.op != "in" else None
    other = FOLDED.get(ref.group(2), ref.group(2)) if ref is not None else ""
    if ref is None or other not in _TWINS:
        return w
    return dataclasses.replace(w, field=twin, value=f"{ref.group(1)}.{other}")


def _fold_literal(value: object) -> object:
    return fold(value) if isinstance(value, str) else value


def with_twins(fact: dict[str, object]) -> dict[str, object]:
    """``fact`` with the folded twin of each free-text field it has and whose twin it lacks."""
    for name, twin in FOLDED.items():
        value = fact.get(name)
        if isinstance(value, str) and twin not in fact:
            fact[twin] = fold(value)
    return fact
