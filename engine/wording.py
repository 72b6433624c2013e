"""Small wording helpers every output shares, written once: "a, b and c", "2 histories", ids.

(Not ``text.py``: ``report/text.py`` is the text format.)
"""

from __future__ import annotations

from collections.abc import Iterable

# Plurals that are not the word plus "s".
_IRREGULAR = {"history": "histories"}


def and_list(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (empty: "")."""
    names = list(items)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 history``, ``2 histories``, ``3 next steps``."""
    return f"{n} {word if n == 1 else (many or _IRREGULAR.get(word, word + 's'))}"


def ids(value: object, *, unique: bool = False) -> tuple[str, ...]:
    """The person ids a history field holds, one or a list (``unique``: each once, first kept)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        items = (str(v) for v in value)
        return tuple(dict.fromkeys(items)) if unique else tuple(items)
    return (str(value),)
