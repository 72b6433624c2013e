"""Diagnostics shared by every step: the located `Problem`, the one exception root, where a JSON
pointer is in its file (`locate`), the did-you-mean (`suggest`), text safe to print, and JSON
Schema errors in plain words (one function per keyword, shared by every kind of document).

Lines and columns count from 1. About 400 lines: one place for every piece of a message about a
file is the point (issue 10), and each section is small.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located precisely enough to jump to it."""

    source: str
    line: int
    column: int
    message: str
    # A JSON pointer into the document or a rule id: extra context for machine readers.
    pointer: str = field(default="", compare=False)

    def __str__(self) -> str:
        # One line whatever the file is called or the message quotes: nothing in it can start a
        # line of its own, move a terminal's cursor or look like a CI runner's command.
        return f"{display_path(self.source)}:{self.line}:{self.column}: {printable(self.message)}"


class FollowupError(Exception):
    """Root of every error this package raises on purpose."""


class InputError(FollowupError):
    """A file (history, pack, waivers) is unreadable or invalid; holds every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem]]]:
        # Worker processes send these back to the parent: rebuild from the problems, not the text.
        return (InputError, (self.problems,))


# -- where a JSON pointer is --------------------------------------------------------------------

# JSON pointer (``#key`` appended: of the key itself) -> (line, column) in the file it was read from.
Positions = dict[str, tuple[int, int]]


def escape_segment(key: str) -> str:
    """A mapping key as a JSON pointer segment (RFC 6901: ``~`` and ``/`` are escaped)."""
    return key.replace("~", "~0").replace("/", "~1") if ("~" in key or "/" in key) else key


def json_pointer(path: Iterable[str | int]) -> str:
    """The JSON pointer of a path of keys and indexes: ``("events", 2, "at")`` -> ``/events/2/at``."""
    return "".join(f"/{escape_segment(str(part))}" for part in path)


def locate(
    positions: Mapping[str, tuple[int, int]], pointer: str, *, root: tuple[int, int] = (1, 1)
) -> tuple[int, int]:
    """The position of ``pointer`` (``#key``: of its key), else of its nearest located ancestor;
    ``root`` when none is located (a JSON Lines history passes the line of its batch file)."""
    found = positions.get(pointer)
    if found is not None:
        return found
    pointer = pointer.removesuffix("#key")
    while True:
        found = positions.get(pointer)
        if found is not None:
            return found
        if not pointer:
            return root
        cut = pointer.rfind("/")
        pointer = pointer[:cut] if cut > 0 else ""


# -- did you mean -------------------------------------------------------------------------------

# Did-you-mean compares a word with every option; past this many options (people of a big
# history, the time zones, the rules of a generated pack) only options one deletion away from the
# word (typos, swaps, a letter too many or too few, ignoring case) are compared.
_FEW_OPTIONS = 64
# Comparisons allowed per document, all suggestions together: a file of thousands of unknown
# names gets its first suggestions, then plain messages, instead of minutes of work.
SUGGESTION_BUDGET = 50_000
# No name is longer: a longer word is not a typo of one.
_LONGEST_NAME = 200


def _deletions(word: str) -> set[str]:
    folded = word.casefold()
    return {folded, *(folded[:i] + folded[i + 1 :] for i in range(len(folded)))}


class Suggester:
    """Did-you-mean for one document, its cost bounded (see ``SUGGESTION_BUDGET``).

    Call it as ``suggest``; make one per document read, so that its budget and caches end with it.
    """

    def __init__(self) -> None:
        self.budget = SUGGESTION_BUDGET
        # Keyed by the options' id; each entry holds its options, so that id is never reused.
        self.cache: dict[tuple[int, str], tuple[Collection[str], str | None]] = {}
        self.indexes: dict[int, tuple[Collection[str], dict[str, list[str]]]] = {}

    def __call__(
        self, word: str, options: Collection[str], *, otherwise: str = "", show: Callable[[str], str] = repr
    ) -> str:
        """``; did you mean <show(closest)>?`` for the closest of ``options``, else ``otherwise``."""
        match = self.closest(word, options)
        return f"; did you mean {show(match)}?" if match is not None else otherwise

    def closest(self, word: str, options: Collection[str]) -> str | None:
        key = (id(options), word)
        entry = self.cache.get(key)
        if entry is None or entry[0] is not options:
            entry = (options, self._compute(word, options))
            self.cache[key] = entry
        return entry[1]

    def _compute(self, word: str, options: Collection[str]) -> str | None:
        if len(word) > _LONGEST_NAME:
            return None
        candidates: Collection[str] = options
        if len(options) > _FEW_OPTIONS:
            index = self._index(options)
            candidates = list(dict.fromkeys(c for d in _deletions(word) for c in index.get(d, ())))
        if len(candidates) > self.budget:
            self.budget = 0
            return None
        self.budget -= len(candidates)
        # Ties go to the smaller string, whatever the options' order.
        match = difflib.get_close_matches(word, list(candidates), n=1)
        return match[0] if match else None

    def _index(self, options: Collection[str]) -> dict[str, list[str]]:
        entry = self.indexes.get(id(options))
        if entry is None or entry[0] is not options:
            by_deletion: dict[str, list[str]] = {}
            for option in options:
                for variant in _deletions(option):
                    by_deletion.setdefault(variant, []).append(option)
            entry = (options, by_deletion)  # holding `options` keeps its id from being reused
            self.indexes[id(options)] = entry
        return entry[1]


def suggest(word: str, options: Collection[str], *, otherwise: str = "", show: Callable[[str], str] = repr) -> str:
    """One did-you-mean question on its own: ``; did you mean 'x'?``, else ``otherwise``.

    A step that may ask thousands of questions about one document uses one ``Suggester`` instead.
    """
    return Suggester()(word, options, otherwise=otherwise, show=show)


# Never printed raw to a terminal or a CI log: C0 and C1 controls (CR and LF would start a line a
# CI runner reads as a command, ESC starts terminal escape codes), DEL, the Unicode line and
# paragraph separators, the bidi embeddings, overrides and isolates that reorder what a reader
# sees ("Trojan source"), lone surrogates (not encodable) and the noncharacters U+FFFE and U+FFFF.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
# Azure Pipelines (``##vso[``), the GitHub runner (``##[``, its legacy form) and TeamCity
# (``##teamcity[``) obey these anywhere in a line of the log, not only at its start.
CI_COMMAND = re.compile(r"(##[A-Za-z]*)\[")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# ``C:\\`` or ``C:/`` starts an ordinary Windows path: that colon alone does not need quotes.
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """``text`` with every ``UNSAFE`` character written as a Python escape: ``\\n``, ``\\x1b``, ``\\u202e``."""
    return UNSAFE.sub(_escape, text) if UNSAFE.search(text) else text


def printable(text: str) -> str:
    """``text`` safe on one line of a terminal or CI log: every ``UNSAFE`` character as a Python
    escape (``\\n``, ``\\x1b``, ``\\u202e``) and the ``[`` of a ``##…[`` log command as ``\\x5b``.
    Everything else (accents, CJK, emoji, backslashes) is unchanged, so ordinary text prints as is."""
    text = escape_controls(text)
    if "##" in text:
        text = CI_COMMAND.sub(lambda m: m.group(1) + "\\x5b", text)
    return text


def display_path(path: str) -> str:
    """A file name for a ``file:line:col`` line: as is when ordinary; in double quotes, with
    ``\\``, ``"`` and unsafe characters escaped, when it holds a colon (other than a drive
    letter's), a control or bidi character, a log command, or starts with a quote. The line can
    then always be split back into the path and the position."""
    rest = path[2:] if _DRIVE.match(path) else path
    if ":" not in rest and not path.startswith('"') and not UNSAFE.search(path) and not CI_COMMAND.search(path):
        return path
    return '"' + printable(path.replace("\\", "\\\\").replace('"', '\\"')) + '"'


EXCERPT_LENGTH = 60


def shorten(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, with ``…`` where it was cut."""
    return text[:limit] + "…" if len(text) > limit else text


def excerpt(value: object, limit: int = EXCERPT_LENGTH) -> str:
    """``value`` quoted for a message, at most about ``limit`` characters (``…`` marks a cut).

    A message may quote what a file holds but never copies it whole: a value can be megabytes
    long, and a list or mapping is described, never printed (YAML aliases can make it huge).
    """
    if isinstance(value, str):
        return repr(shorten(value, limit))
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        # about `limit` digits are cheap to print
        return repr(value) if value.bit_length() <= 3 * limit else "a very large integer"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return f"a mapping of {len(value):,} keys"
    return excerpt(str(value), limit)


# -- JSON Schema errors in plain words ----------------------------------------------------------
#
# One function per keyword (in the spirit of jsonschema's own keyword functions), shared by every
# kind of document; a `DocumentKind` names the values and places, and may word a keyword its own
# way where its messages have always differed. Never `str(error)`: that is a schema dump.

SchemaPath = Sequence[str | int]

TYPE_WORDS: Mapping[str, str] = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def kind_of(value: object) -> str:
    """What a value is, for "(got ...)": "an integer", "a mapping"."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a mapping"


@dataclass(frozen=True)
class SchemaMessage:
    """One schema problem in words: where to place it (a pointer; ``#key``: at the key) and what."""

    at: str
    message: str


# keyword -> its words: (the error, its path from the document's root, the document kind, suggest)
Keyword = Callable[["ValidationError", SchemaPath, "DocumentKind", Suggester], Iterator[SchemaMessage]]


def _no_words(path: SchemaPath) -> str:
    return ""


def _last_name(path: SchemaPath) -> str:
    return next((p for p in reversed(path) if isinstance(p, str)), "value")


@dataclass(frozen=True)
class DocumentKind:
    """How one kind of document (history, pack, waivers file) names its values and places."""

    noun: str  # "history", "pack", "waivers file"
    empty: str  # the whole message for an empty document
    label: Callable[[SchemaPath], str]  # a value's name: "'with'", "event 2", "the history"
    context: Callable[[SchemaPath], str] = _no_words  # where a mapping is: " in email event"
    suffix: Callable[[SchemaPath], str] = _no_words  # after other messages: " in waiver 2"
    field_word: Callable[[SchemaPath], str] = _last_name  # "unknown <field> 'x'"
    known: Callable[[Sequence[str]], str] = _no_words  # an unknown field, nothing close
    wording: Mapping[str, Keyword] = field(default_factory=dict)  # keywords worded this kind's way
    fallback: Callable[[ValidationError, SchemaPath, DocumentKind], str] | None = None


def _additional(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    if not isinstance(error.instance, dict):
        return
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    allowed = list(schema.get("properties", {}))
    for name in error.instance:
        if name not in allowed:
            tip = suggest(name, allowed, otherwise=kind.known(allowed))
            at = f"{json_pointer(path)}/{escape_segment(str(name))}#key"
            yield SchemaMessage(at, f"unknown field {excerpt(name)}{kind.context(path)}{tip}")


def _required(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    if isinstance(error.instance, dict):
        names: Any = error.validator_value
        for name in names:
            if name not in error.instance:
                yield SchemaMessage(json_pointer(path), f"missing required field {name!r}{kind.context(path)}")


def _enum(error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester) -> Iterator[SchemaMessage]:
    value = error.instance
    options: Any = error.validator_value
    names = [o for o in options if isinstance(o, str)]
    expected = ", ".join(names)
    if isinstance(value, str):
        hint = suggest(value, names) or f"; expected one of: {expected}"
        message = f"unknown {kind.field_word(path)} {excerpt(value)}{hint}"
    else:
        message = f"{kind.label(path)} must be one of: {expected} (got {kind_of(value)})"
    yield SchemaMessage(json_pointer(path), message + kind.suffix(path))


def _const(error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester) -> Iterator[SchemaMessage]:
    if list(path) == ["version"]:
        message = f"unsupported {kind.noun} version {excerpt(error.instance)}; this followup reads version 1"
    else:
        message = f"{kind.label(path)} must be {error.validator_value!r}{kind.suffix(path)}"
    yield SchemaMessage(json_pointer(path), message)


def _type(error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester) -> Iterator[SchemaMessage]:
    expected: Any = error.validator_value
    wanted: list[str] = [expected] if isinstance(expected, str) else list(expected)
    if not path and error.instance is None:
        yield SchemaMessage("", kind.empty)
        return
    words = " or ".join(TYPE_WORDS.get(w, w) for w in wanted)
    message = f"{kind.label(path)} must be {words} (got {kind_of(error.instance)})"
    if "string" in wanted and isinstance(error.instance, int | float):
        message += "; put it in quotes"
    yield SchemaMessage(json_pointer(path), message + kind.suffix(path))


def _not_empty(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    yield SchemaMessage(json_pointer(path), f"{kind.label(path)} must not be empty{kind.suffix(path)}")


def _unique(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    yield SchemaMessage(json_pointer(path), f"{kind.label(path)} lists the same item twice{kind.suffix(path)}")


def _any_of(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    alternatives: Any = error.validator_value
    if all(isinstance(s, dict) and set(s) == {"required"} for s in alternatives):
        names = " or ".join(repr(s["required"][0]) for s in alternatives)
        yield SchemaMessage(json_pointer(path), f"missing required field {names}{kind.context(path)}")
    else:
        yield SchemaMessage(json_pointer(path), _fallback(error, path, kind))


def _fallback(error: ValidationError, path: SchemaPath, kind: DocumentKind) -> str:
    if kind.fallback is not None:
        return kind.fallback(error, path, kind)
    # jsonschema's words quote the whole value: keep them to a line.
    return f"{kind.label(path)}: {shorten(error.message, 200)}{kind.suffix(path)}"


KEYWORDS: Mapping[str, Keyword] = {
    "additionalProperties": _additional,
    "required": _required,
    "enum": _enum,
    "const": _const,
    "type": _type,
    "minItems": _not_empty,
    "minLength": _not_empty,
    "uniqueItems": _unique,
    "anyOf": _any_of,
}


def schema_messages(
    error: ValidationError, kind: DocumentKind, suggest: Suggester, prefix: SchemaPath = ()
) -> Iterator[SchemaMessage]:
    """One schema error in plain words (``prefix``: the path of the part that was validated)."""
    path = (*prefix, *error.absolute_path)
    words = kind.wording.get(str(error.validator)) or KEYWORDS.get(str(error.validator))
    if words is None:
        yield SchemaMessage(json_pointer(path), _fallback(error, path, kind))
    else:
        yield from words(error, path, kind, suggest)
