"""Load YAML documents as plain data, with the position of every value on the side.

Positions live in a table keyed by JSON pointer (``""`` is the root, ``"/events/0/at"`` a value,
``"/events/0/at#key"`` the key naming it), so the data stays plain dicts and lists that JSON Schema
can validate. Lines and columns count from 1.

YAML is read from the parser's event stream rather than through a constructor: nothing is ever
built from a tag (so ``!!python/object`` cannot run code), duplicate keys are caught with the
position of both, and deep nesting cannot exhaust Python's stack. Scalars follow YAML 1.2's core
schema (``yes``/``no``/``on``/``off`` and ``10:00`` stay strings) and there is no implicit
timestamp: ``at: 2026-11-02T10:00`` stays the string the history module parses.

JSON is read by ``jsondoc``, with the same table of positions.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

import yaml

from ..diagnostics import InputError, Positions, Problem, escape_segment, excerpt

# What a document is, for the loader's messages: "a pack file holds one YAML document".
DocumentName = Literal["history", "pack", "tests file", "waivers file"]
_FILE: dict[str, str] = {"history": "history file", "pack": "pack file"}  # the rest end in "file"


# Deeper than any real history; keeps later recursive steps (JSON Schema) far from the stack limit.
MAX_DEPTH = 200
# Values that YAML aliases may bring into a pack or waivers file, all aliases together: a few
# shared parameters need tens, while nested aliases (a "billion laughs" file) would need billions.
MAX_ALIAS_VALUES = 10_000

_YAML_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_YAML_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = _YAML_TAG + "map", _YAML_TAG + "seq"


# libyaml's parser is several times faster; PyYAML built without it has the same interface.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class HistoryLoader(_BaseLoader):  # type: ignore[misc]
    """A safe loader resolving plain scalars by YAML 1.2's core schema, without timestamps."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


for _tag, _pattern, _first in (
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    HistoryLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _scalar(tag: str, value: str) -> object:
    """The Python value of a resolved scalar; ValueError for text its (explicit) tag rejects."""
    if tag == _STR:
        return value
    if tag == _INT:
        return int(value[2:], 8 if value[1] == "o" else 16) if value.startswith(("0o", "0x")) else int(value)
    if tag == _FLOAT:
        lowered = value.lower()
        return float(lowered.replace(".", "")) if lowered.endswith((".inf", ".nan")) else float(value)
    if tag == _BOOL:
        if value.lower() not in ("true", "false"):
            raise ValueError(value)
        return value.lower() == "true"
    if value not in ("~", "null", "Null", "NULL", ""):
        raise ValueError(value)
    return None


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


class _Frame:
    """A mapping or sequence being filled while the YAML events stream past."""

    __slots__ = ("anchor", "container", "key", "key_lines", "pointer", "start")

    def __init__(self, container: dict[str, object] | list[object], pointer: str) -> None:
        self.container = container
        self.pointer = pointer
        self.key: str | None = None  # mappings: the key whose value comes next
        self.key_lines: dict[str, tuple[int, int]] = {}
        self.anchor: str | None = None
        self.start = 0  # values built before this one: its size, once closed, for aliases


def load_document(
    text: str, source: str, *, aliases: bool = True, kind: DocumentName = "history"
) -> tuple[object, Positions]:
    """Parse one YAML (or JSON) document into plain data and its position table.

    Raises InputError with every problem found (duplicate keys, tags, aliases), or with the one
    syntax error the parser stops at. With ``aliases=False`` (histories) every anchor and alias is
    refused; otherwise aliases share their value and may bring in MAX_ALIAS_VALUES values in all.
    ``kind`` names the document in messages ("a pack file holds one YAML document").
    """
    loader: HistoryLoader | None = None
    try:
        loader = HistoryLoader(text)  # the pure-Python reader already checks characters here
        return _build_yaml(loader, source, aliases, kind)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
            # The parser stops where the file ends; the mistake is where the quote opened.
            line, column = exc.context_mark.line + 1, exc.context_mark.column + 1
            message = "a quoted text that starts here is never closed"
        message += _syntax_hint(text, line, column)
        raise InputError([Problem(source, line, column, f"YAML syntax error: {message}")]) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_col(text, exc.position)
        raise InputError([Problem(source, line, column, f"cannot read: {exc.reason}")]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error is one of the above
        raise InputError([Problem(source, 1, 1, f"YAML error: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _build_yaml(loader: HistoryLoader, source: str, aliases: bool, kind: DocumentName) -> tuple[object, Positions]:
    builder = _YamlBuilder(loader, source, aliases, kind)
    root = builder.document()
    if builder.problems:
        raise InputError(builder.problems)
    return root, builder.positions


class _YamlBuilder:
    """Builds plain data from the parser's events, with an explicit stack (no recursion)."""

    def __init__(self, loader: HistoryLoader, source: str, aliases: bool, kind: DocumentName) -> None:
        self.loader = loader
        self.source = source
        self.aliases = aliases
        self.kind = kind
        self.positions: Positions = {}
        self.problems: list[Problem] = []
        self.anchors: dict[str, object] = {}
        # Aliases share one Python object, but every later step (the schema, messages) walks the
        # data as a tree: count what they bring in, so a few hundred bytes cannot mean billions.
        self.count = 0  # values so far, each alias counting as the values it repeats
        self.sizes: dict[str, int] = {}  # anchor -> values under it
        self.expanded = 0
        self.refused_alias = False
        self.open_anchors: set[str] = set()  # anchors of collections still being filled
        self.stack: list[_Frame] = []
        self.pending = _Frame([], "")  # the collection just started, pushed by document()

    def problem(self, mark: Any, message: str, pointer: str = "") -> None:
        self.problems.append(Problem(self.source, mark.line + 1, mark.column + 1, message, pointer))

    def document(self) -> object:  # noqa: PLR0912  measured hot loop: placing values and their pointers in helpers made loading examples/*.yaml 1.88 ms against 1.65 ms
        loader = self.loader
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            self.positions[""] = (1, 1)
            return None  # an empty file: the schema says what is missing
        loader.get_event()  # DocumentStart
        root: object = None
        stack = self.stack
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                self.close(stack.pop())
                if not stack:
                    break
            elif stack and isinstance(stack[-1].container, dict) and stack[-1].key is None:
                self.key(stack[-1], event)
            else:
                value = self.value(event)
                if stack:
                    top = stack[-1]
                    if isinstance(top.container, list):
                        top.container.append(value)
                    else:
                        if top.key is not None and top.key not in top.container:
                            top.container[top.key] = value  # a duplicate key keeps its first value
                        top.key = None
                else:
                    root = value
                if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                    stack.append(self.pending)
                elif not stack:
                    break
        loader.get_event()  # DocumentEnd
        if not loader.check_event(yaml.StreamEndEvent):
            extra = loader.peek_event().start_mark
            self.problem(extra, f"a {_FILE.get(self.kind, self.kind)} holds one YAML document; found a second one here")
        return root

    def close(self, frame: _Frame) -> None:
        """A collection ends: an anchor on it may now be aliased, at its measured size."""
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.sizes[frame.anchor] = self.count - frame.start

    def key(self, top: _Frame, event: Any) -> None:
        """A mapping key: always a plain name (the text as written, so `yes:` is "yes")."""
        mark = event.start_mark
        if type(event) is not yaml.ScalarEvent:
            self.problem(mark, "a mapping key must be a plain name, not a collection or an alias")
            raise InputError(self.problems)
        key: str = event.value
        if event.tag not in (None, "!", _STR):
            self.problem(mark, f"YAML tag {excerpt(_short_tag(event.tag))} is not allowed on a key")
        if key == "<<" and event.implicit[0]:  # plain, as a merge key is written
            self.problem(mark, "YAML merge keys ('<<') are not supported; write the fields out")
        pointer = f"{top.pointer}/{escape_segment(key)}"
        where = (mark.line + 1, mark.column + 1)
        first = top.key_lines.get(key)
        if first is not None:
            self.problem(mark, duplicate_key(key, first), pointer)
        else:
            top.key_lines[key] = where
        self.positions[pointer + "#key"] = where
        top.key = key

    def value(self, event: Any) -> object:
        """The value an event starts; a collection's frame is left in ``self.pending``."""
        stack = self.stack
        mark = event.start_mark
        if not stack:
            pointer = ""
        else:
            top = stack[-1]
            if isinstance(top.container, dict):
                pointer = f"{top.pointer}/{escape_segment(top.key or '')}"
            else:
                pointer = f"{top.pointer}/{len(top.container)}"
        self.positions[pointer] = (mark.line + 1, mark.column + 1)
        kind = type(event)
        value: object
        self.count += 1
        if not self.aliases and (kind is yaml.AliasEvent or event.anchor is not None):
            if not self.refused_alias:  # the first one says it all; every other is the same fix
                self.refused_alias = True
                self.problem(
                    mark,
                    "YAML anchors and aliases (&name, *name) are not allowed in a history: write the values out",
                    pointer,
                )
            if kind is yaml.AliasEvent:
                return None
        if kind is yaml.ScalarEvent:
            value = self.scalar_value(event, pointer)
        elif kind is yaml.AliasEvent:
            return self.alias_value(event)
        else:
            value = self.collection(event, pointer)
        if event.anchor is not None and self.aliases:
            self.anchors[event.anchor] = value
        return value

    def scalar_value(self, event: Any, pointer: str) -> object:
        """A scalar's value, or None (with a problem) for a tag refused or text it rejects."""
        mark = event.start_mark
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag not in (_STR, _INT, _FLOAT, _BOOL, _NULL):
            self.problem(mark, _tag_refused(tag, self.kind), pointer)
            return None
        try:
            return _scalar(tag, event.value)
        except ValueError:
            self.problem(mark, _not_valid(event.value, tag), pointer)
            return None

    def alias_value(self, event: Any) -> object:
        """The value an alias shares, counted at its anchor's size against MAX_ALIAS_VALUES."""
        mark = event.start_mark
        name = excerpt(event.anchor)[1:-1]
        if event.anchor in self.open_anchors:
            self.problem(mark, f"alias *{name} refers to a collection that holds it")
            raise InputError(self.problems)  # a cycle: nothing later could walk the data
        if event.anchor not in self.anchors:
            self.problem(mark, f"alias *{name} names no anchor defined before it")
        size = self.sizes.get(event.anchor, 1)
        self.count += size - 1
        self.expanded += size
        if self.expanded > MAX_ALIAS_VALUES:
            self.problem(
                mark,
                f"YAML aliases here repeat more than {MAX_ALIAS_VALUES:,} values in all; write the values out",
            )
            raise InputError(self.problems)
        return self.anchors.get(event.anchor)

    def collection(self, event: Any, pointer: str) -> dict[str, object] | list[object]:
        """An empty mapping or list, its frame left in ``self.pending`` to be filled."""
        mark = event.start_mark
        is_map = type(event) is yaml.MappingStartEvent
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            self.problem(mark, _tag_refused(event.tag, self.kind), pointer)
        if len(self.stack) >= MAX_DEPTH:
            self.problem(mark, f"nested more than {MAX_DEPTH} levels deep")
            raise InputError(self.problems)
        container: dict[str, object] | list[object] = {} if is_map else []
        self.pending = _Frame(container, pointer)
        self.pending.start = self.count
        if event.anchor is not None and self.aliases:
            self.pending.anchor = event.anchor
            self.open_anchors.add(event.anchor)
        return container


def _not_valid(text: str, tag: str) -> str:
    if tag in (_INT, _FLOAT) and len(text) > 1000:
        # Python refuses to convert integers of more than 4,300 digits; no history needs such.
        return f"a number of {len(text):,} characters is too long to read"
    return f"{excerpt(text)} is not a valid {_short_tag(tag)}"


def duplicate_key(key: str, first: tuple[int, int]) -> str:
    return f"duplicate key {excerpt(key)}; first defined at line {first[0]}, column {first[1]}"


def _tag_refused(tag: str, kind: DocumentName) -> str:
    return f"YAML tag {excerpt(_short_tag(tag))} is not allowed: a {kind} is plain data"


def _syntax_hint(text: str, line: int, column: int) -> str:
    """A plain-words hint for the YAML mistakes people make most (the parser's words are terse)."""
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    before = lines[line - 2] if 1 < line <= len(lines) + 1 else ""
    if "\t" in here[: max(column, 1)] or "\t" in before[: len(before) - len(before.lstrip())]:
        return "; indent with spaces, not tabs"
    return ""
