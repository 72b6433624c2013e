"""Loading rule packs: schema validation, parsing into the pack model, overlays (``extends``),
sibling tests files, and every semantic check that needs the pack's text positions.

Every problem of every file in an ``extends`` chain is collected before anything is raised, each at
the line and column of the key or value it is about (overlay problems in the overlay's file): the
loader keeps each file's position table (JSON pointer -> line, column) on the side and also uses it
to place the compiler's problems, which carry JSON pointers.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
import os
import re
import re._constants as sre_c  # type: ignore[import-not-found]
import re._parser as sre_p  # type: ignore[import-not-found]
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import jsonschema
import jsonschema.exceptions

from .errors import InputError, Problem
from .expr import parse_duration
from .facts import CONTENT_FLAGS, FACT_FIELDS
from .load import Positions, escape_segment, load_document
from .packmodel import COMPARISONS, Check, Derivation, Example, Location, Pack, Param, Pattern, Rule, Where

DEFAULT_PACK = "interview-follow-up"
OVERRIDABLE = ("enabled", "severity", "message", "title")
TESTS_SUFFIX = ".tests.yaml"
PACK_SUFFIXES = (".yaml", ".yml")
DURATION_HINT = "write e.g. 90m, 24h, 7d or 2w"
# Text patterns the facts step reads; any other name would never decide anything.
PATTERN_NAMES = (*CONTENT_FLAGS, "interview")
# Fields of the history's own facts whose values come from a closed list in the history schema.
ENUM_FIELDS: Mapping[str, str] = {
    "direction": "direction",
    "purpose": "purpose",
    "action": "action",
    "request": "request",
    "outcome": "outcome",
    "role": "role",
}
VIA_VALUES = ("email", "call", "note")


class PackNotFoundError(InputError):
    """The pack named on the command line is neither a file nor a built-in pack (a usage error)."""


@dataclass(frozen=True)
class PackCheck:
    """The outcome of loading and checking a pack: the model (when one could be built), each layer
    of its ``extends`` chain (base first; the last is the pack itself), every problem found, and
    the position table of every file read (by source name)."""

    pack: Pack | None
    layers: tuple[Pack, ...]
    problems: tuple[Problem, ...]
    positions: Mapping[str, Positions]

    @property
    def ok(self) -> bool:
        return self.pack is not None and not self.problems


# -- built-in packs and the schema ----------------------------------------------------------------


def builtin_packs() -> dict[str, str]:
    """Name -> path of the packs shipped inside the package."""
    folder = resources.files("followup.rules")
    return {
        Path(str(entry)).stem: str(entry)
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and not entry.name.endswith(TESTS_SUFFIX)
    }


@functools.lru_cache(maxsize=1)
def pack_schema() -> dict[str, Any]:
    text = resources.files("followup.schemas").joinpath("pack.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(pack_schema())


@functools.lru_cache(maxsize=1)
def _history_enums() -> dict[str, tuple[str, ...]]:
    text = resources.files("followup.schemas").joinpath("history.schema.json").read_text("utf-8")
    defs = json.loads(text).get("$defs", {})
    return {name: tuple(defs[name]["enum"]) for name in ENUM_FIELDS.values() if "enum" in defs.get(name, {})}


def resolve_pack_path(ref: str, relative_to: Path | None = None) -> Path:
    """A built-in pack name or a path (relative to ``relative_to`` when given)."""
    builtins = builtin_packs()
    if ref in builtins:
        return Path(builtins[ref])
    path = Path(ref)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    return path


def tests_path(pack_path: Path) -> Path | None:
    """The sibling tests file of a pack (``name.yaml`` -> ``name.tests.yaml``), if there is one."""
    stem = pack_path.name
    for suffix in PACK_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for suffix in (TESTS_SUFFIX, ".tests.yml"):
        candidate = pack_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def is_tests_file(ref: str) -> bool:
    return ref.endswith((TESTS_SUFFIX, ".tests.yml"))


def pack_of_tests_file(ref: str) -> str:
    """``a/b.tests.yaml`` -> ``a/b.yaml`` (the pack a tests file belongs to)."""
    for suffix in (TESTS_SUFFIX, ".tests.yml"):
        if ref.endswith(suffix):
            base = ref[: -len(suffix)]
            for ext in PACK_SUFFIXES:
                if os.path.exists(base + ext):
                    return base + ext
            return base + ".yaml"
    return ref


def _did_you_mean(word: str, options: Sequence[str], listing: bool = True) -> str:
    hint = difflib.get_close_matches(word, list(options), n=1)
    if hint:
        return f"; did you mean {hint[0]!r}?"
    return f" (known: {', '.join(options)})" if listing and options else ""


# -- public entry points --------------------------------------------------------------------------


def load_pack(ref: str, *, tests: bool = False) -> Pack:
    """Load a pack by built-in name or path, resolving its ``extends`` chain, and check it fully
    (schema, meaning, and a trial compile); raise InputError with every problem.

    ``tests`` also loads the sibling ``*.tests.yaml`` files into ``Pack.tests``.
    """
    result = check_pack(ref, tests=tests, examples=False)
    if result.problems or result.pack is None:
        raise InputError(list(result.problems))
    return result.pack


def load_layers(ref: str, *, tests: bool = False) -> tuple[Pack, ...]:
    """The resolved pack after each step of its ``extends`` chain, base first, pack itself last."""
    result = check_pack(ref, tests=tests, examples=False)
    if result.problems or result.pack is None:
        raise InputError(list(result.problems))
    return result.layers


def check_pack(ref: str, *, tests: bool = True, examples: bool = True) -> PackCheck:
    """Load and check a pack, collecting every problem instead of raising.

    Raises only PackNotFoundError, when ``ref`` names neither a file nor a built-in pack.
    ``examples`` also checks the histories, times and rule names of examples and tests.
    """
    path = resolve_pack_path(ref)
    if not path.is_file():
        hint = difflib.get_close_matches(ref, list(builtin_packs()), n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else f" (built-in packs: {', '.join(sorted(builtin_packs()))})"
        raise PackNotFoundError([Problem(ref, 1, 1, f"no pack file or built-in pack named {ref!r}{tip}")])
    display = f"<builtin>/{ref}.yaml" if ref in builtin_packs() else ref
    loader = _Loader(with_tests=tests)
    pack = loader.load(path, display, ())
    if pack is not None:
        loader.compile_check(pack)
        if examples and not loader.pruned:
            loader.check_examples(pack)
    problems = sorted(set(loader.problems))
    return PackCheck(pack, tuple(loader.layers), tuple(problems), dict(loader.positions))


# -- example histories ----------------------------------------------------------------------------


def example_history(pack: Pack, example: Example) -> dict[str, object]:
    """The example's history completed from the pack's ``examples_base`` (people are added)."""
    doc: dict[str, object] = {**pack.examples_base, **example.history}
    doc["people"] = [*_base_people(pack, example), *_own_people(example)]
    doc.setdefault("version", 1)
    doc.setdefault("candidate", {"name": "Example Candidate"})
    doc.setdefault("events", [])
    return doc


def _own_people(example: Example) -> list[Any]:
    people = example.history.get("people")
    return list(people) if isinstance(people, list) else []


def _base_people(pack: Pack, example: Example) -> list[Any]:
    people = pack.examples_base.get("people")
    own_ids = {p.get("id") for p in _own_people(example) if isinstance(p, Mapping)}
    return [
        p
        for p in (people if isinstance(people, list) else [])
        if not (isinstance(p, Mapping) and p.get("id") in own_ids)
    ]


def example_positions(pack: Pack, example: Example, positions: Positions) -> Positions:
    """Positions of the completed example history (see example_history), taken from the pack file.

    Values that come from ``examples_base`` are placed at the example's ``history`` key.
    """
    prefix = f"{example.loc.pointer}/history"
    shift = len(_base_people(pack, example))
    people = re.compile(r"^/people/(\d+)")
    out: Positions = {}
    for key, where in positions.items():
        if key != prefix and not key.startswith((prefix + "/", prefix + "#")):
            continue
        inner = key[len(prefix) :]
        if shift:
            inner = people.sub(lambda m: f"/people/{int(m.group(1)) + shift}", inner)
        out[inner] = where
    out.setdefault("", (example.loc.line, example.loc.column) if example.loc.line else (1, 1))
    return out


def parse_example_time(text: object, timezone: str) -> datetime:
    """An example's ``as_of`` or expected ``due``: ISO 8601, in ``timezone`` when it has no offset."""
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


# -- loading --------------------------------------------------------------------------------------


class _Loader:
    """Loads one pack and its ``extends`` chain, collecting problems and position tables."""

    def __init__(self, with_tests: bool) -> None:
        self.with_tests = with_tests
        self.problems: list[Problem] = []
        self.positions: dict[str, Positions] = {}
        self.layers: list[Pack] = []
        self.pruned = False  # a schema problem removed part of a file: example checks would mislead

    def read(self, path: Path, source: str, tests_file: bool = False) -> dict[str, Any] | None:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(source, 1, 1, f"cannot read: {exc}"))
            return None
        try:
            data, positions = load_document(text, source)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None
        self.positions[source] = positions
        problems = schema_problems(data, positions, source)
        if problems:
            # Drop the parts the schema refuses, when that leaves a valid document, so that the
            # semantic checks still run and every problem of the file is reported at once.
            pruned = _prune(data, problems, tests_file)
            self.problems.extend(problems)
            if pruned is None:
                return None
            self.pruned |= not tests_file  # a dropped rule would make its tests look wrong
            data, problems = pruned, []
        if isinstance(data, dict):
            is_tests = "tests" in data and "pack" not in data
            if tests_file and not is_tests:
                problems.append(Problem(source, 1, 1, "a tests file holds `tests:` (a list of tests), not a pack"))
            elif not tests_file and is_tests:
                problems.append(
                    Problem(source, 1, 1, f"this is a tests file, not a pack; name it *{TESTS_SUFFIX} beside its pack")
                )
        if problems:
            self.problems.extend(problems)
            return None
        assert isinstance(data, dict)  # the schema requires a mapping
        return data

    def load(self, path: Path, source: str, chain: tuple[Path, ...]) -> Pack | None:
        data = self.read(path, source)
        if data is None:
            return None
        parser = _Parser(source, self.positions[source], self.problems)
        own = parser.pack(data)
        tests = self.load_tests(path, source) if self.with_tests else ()
        base_ref = data.get("extends")
        if base_ref is None:
            pack = dataclasses.replace(own, tests=tests)
            self.layers.append(pack)
            return pack
        base_path = resolve_pack_path(str(base_ref), path.parent)
        here = path.resolve()
        if not base_path.is_file():
            hint = difflib.get_close_matches(str(base_ref), list(builtin_packs()), n=1)
            tip = (
                f"; did you mean {hint[0]!r}?"
                if hint
                else f" (built-in packs: {', '.join(sorted(builtin_packs()))}; paths are relative to this file)"
            )
            parser.error("/extends", f"cannot find the pack {base_ref!r} to extend{tip}")
            return None
        if base_path.resolve() in (*chain, here):
            names = [*chain, here, base_path.resolve()]
            start = names.index(base_path.resolve())
            cycle = " -> ".join(p.name for p in names[start:])
            parser.error("/extends", f"packs extend each other in a cycle: {cycle}")
            return None
        base = self.load(base_path, _base_source(source, str(base_ref)), (*chain, here))
        if base is None:
            return None
        merged = parser.overlay(base, own, data)
        parser.unused_params(parser.new_params, merged)
        pack = dataclasses.replace(merged, tests=base.tests + tests)
        self.layers.append(pack)
        return pack

    def load_tests(self, pack_path: Path, pack_source: str) -> tuple[Example, ...]:
        path = tests_path(pack_path)
        if path is None:
            return ()
        source = _sibling_source(pack_source, path.name)
        data = self.read(path, source, tests_file=True)
        if data is None:
            return ()
        parser = _Parser(source, self.positions[source], self.problems)
        return tuple(
            parser.example(test, f"/tests/{i}", None if test.get("rule") is None else str(test["rule"]))
            for i, test in enumerate(data["tests"])
            if test is not None
        )

    def compile_check(self, pack: Pack) -> None:
        """Compile the pack (every rule, enabled or not) and place the compiler's problems."""
        from .compiler import compile_pack

        everything = dataclasses.replace(pack, rules=tuple(dataclasses.replace(r, enabled=True) for r in pack.rules))
        try:
            compile_pack(everything)
        except InputError as exc:
            # Patterns are checked (more precisely) while parsing each file.
            self.problems.extend(self.place(p) for p in exc.problems if not p.pointer.startswith("/patterns/"))

    def place(self, problem: Problem) -> Problem:
        """The problem at the position of its JSON pointer (or of the pointer's nearest ancestor)."""
        positions = self.positions.get(problem.source)
        pointer = problem.pointer
        if positions is None or not pointer:
            return dataclasses.replace(problem, pointer=pointer.removesuffix("#key"))
        line, column = position(positions, pointer)
        return Problem(problem.source, line, column, problem.message, pointer.removesuffix("#key"))

    def check_examples(self, pack: Pack) -> None:
        """Rule names, times and histories of every example and test, located in their files."""
        from .history import parse_history

        rule_ids = [r.id for r in pack.rules]
        for example in (*(e for r in pack.rules for e in r.examples), *pack.tests):
            source = example.loc.source
            positions = self.positions.get(source, {})
            parser = _Parser(source, positions, self.problems)
            base = example.loc.pointer
            if example.rule is not None and example.rule not in rule_ids:
                tip = _did_you_mean(example.rule, rule_ids, False)
                parser.error(f"{base}/rule", f"the test names rule {example.rule!r}, which the pack does not have{tip}")
            doc = example_history(pack, example)
            timezone = str(doc.get("timezone") or "UTC")
            try:
                ZoneInfo(timezone)
            except (ValueError, OSError):
                timezone = "UTC"  # the history check reports the bad zone
            for key in ("expect", "expect_not"):
                for j, want in enumerate(getattr(example, key)):
                    rule = want.get("rule")
                    if rule is not None and rule not in rule_ids:
                        parser.error(
                            f"{base}/{key}/{j}/rule",
                            f"no rule {rule!r} in pack {pack.name!r}{_did_you_mean(str(rule), rule_ids, False)}",
                        )
                    if "due" in want:
                        try:
                            parse_example_time(want["due"], timezone)
                        except ValueError:
                            parser.error(
                                f"{base}/{key}/{j}/due",
                                f"due {want['due']!r} is not an ISO 8601 time, e.g. 2026-11-03T11:00",
                            )
            try:
                as_of = parse_example_time(example.as_of, timezone)
            except ValueError:
                parser.error(f"{base}/as_of", f"as_of {example.as_of!r} is not an ISO 8601 time, e.g. 2026-11-04T12:00")
                continue
            try:
                parse_history(doc, example_positions(pack, example, positions), source, as_of)
            except InputError as exc:
                self.problems.extend(exc.problems)


_DROP = object()


def _droppable(pointer: str, tests_file: bool, overlay: bool) -> str | None:
    """The smallest part around ``pointer`` that the pack still makes sense without, if any."""
    parts = pointer.split("/")[1:]
    if not parts:
        return None
    top = parts[0]
    if tests_file:
        return "/".join(["", *parts[:2]]) if top == "tests" and len(parts) >= 2 else None
    if top == "rules" and len(parts) >= 2:
        keep = 4 if len(parts) >= 4 and parts[2] == "examples" else 2
        return "/".join(["", *parts[:keep]])
    if top == "overrides" and len(parts) >= 2:
        return "/".join(["", *parts[:3]])
    if (top == "params" and overlay) or top == "patterns":
        return "/".join(["", *parts[:2]]) if len(parts) >= 2 else None
    if top in ("version", "description", "examples_base") and len(parts) == 1:
        return pointer
    return None


def _prune(data: object, problems: list[Problem], tests_file: bool) -> dict[str, Any] | None:
    """``data`` without the parts ``problems`` are about, if that leaves a schema-valid document."""
    if not isinstance(data, dict):
        return None
    doc = copy.deepcopy(data)
    overlay = "extends" in doc
    for problem in problems:
        pointer = problem.pointer
        target = pointer if problem.message.startswith("unknown field ") else _droppable(pointer, tests_file, overlay)
        if target is None:
            return None
        parts = [p.replace("~1", "/").replace("~0", "~") for p in target.split("/")[1:]]
        node: Any = doc
        for part in parts[:-1]:
            node = (
                node[int(part)]
                if isinstance(node, list)
                else node.get(part, _DROP)
                if isinstance(node, dict)
                else _DROP
            )
            if node is _DROP:
                break
        else:
            if isinstance(node, list) and parts[-1].isdigit() and int(parts[-1]) < len(node):
                node[int(parts[-1])] = _DROP
            elif isinstance(node, dict) and parts[-1] in node:
                node[parts[-1]] = _DROP
    # Dropped list items stay as None, so that every other item keeps its index (and position).
    cleaned = _without_dropped(doc, holes=True)
    if (
        not isinstance(cleaned, dict)
        or ("pack" not in cleaned and "tests" not in cleaned)
        or any(True for _ in _validator().iter_errors(_without_dropped(doc, holes=False)))
    ):
        return None
    return cleaned


def _without_dropped(node: Any, holes: bool) -> Any:
    """``node`` without dropped parts (list items: None with ``holes``); a mapping left empty by
    them is dropped too."""
    if isinstance(node, dict):
        kept = {k: _without_dropped(v, holes) for k, v in node.items() if v is not _DROP}
        kept = {k: v for k, v in kept.items() if v is not _DROP}
        return _DROP if node and not kept else kept
    if isinstance(node, list):
        items = [_DROP if v is _DROP else _without_dropped(v, holes) for v in node]
        return [None if v is _DROP else v for v in items] if holes else [v for v in items if v is not _DROP]
    return node


def _base_source(source: str, ref: str) -> str:
    if ref in builtin_packs():
        return f"<builtin>/{ref}.yaml"
    if os.path.isabs(ref):
        return ref
    return os.path.normpath(os.path.join(os.path.dirname(source), ref))


def _sibling_source(source: str, name: str) -> str:
    folder = os.path.dirname(source)
    return f"{folder}/{name}" if folder else name


def position(positions: Mapping[str, tuple[int, int]], pointer: str) -> tuple[int, int]:
    """The position of ``pointer`` (``#key``: of its key) or of its nearest located ancestor."""
    if pointer in positions:
        return positions[pointer]
    pointer = pointer.removesuffix("#key")
    while True:
        if pointer in positions:
            return positions[pointer]
        if not pointer:
            return (1, 1)
        pointer = pointer.rsplit("/", 1)[0]


_position = position  # the name other modules used before


def schema_problems(data: object, positions: Mapping[str, tuple[int, int]], source: str) -> list[Problem]:
    """Every JSON Schema problem, each at its value (unknown keys: at the key) with a did-you-mean."""
    problems = []
    for error in _validator().iter_errors(data):
        problems.extend(_schema_problem(error, positions, source))
    return problems


def _schema_problem(
    error: jsonschema.exceptions.ValidationError, positions: Mapping[str, tuple[int, int]], source: str
) -> list[Problem]:
    pointer = "".join(f"/{escape_segment(str(p))}" for p in error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    custom = schema.get("x-errors", {}).get(str(error.validator))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in error.instance:
            if key in allowed:
                continue
            line, col = position(positions, f"{pointer}/{escape_segment(key)}#key")
            tip = _did_you_mean(key, allowed)
            out.append(Problem(source, line, col, f"unknown field {key!r}{tip}", f"{pointer}/{key}"))
        return out
    message = error.message
    if error.validator in ("oneOf", "anyOf"):
        # The alternatives differ by shape: report what is wrong inside the one of the right shape.
        by_alternative: dict[object, list[jsonschema.exceptions.ValidationError]] = {}
        for sub in error.context or ():
            by_alternative.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [
            errors
            for errors in by_alternative.values()
            if not any(e.validator == "type" and not e.relative_path for e in errors)
        ]
        if len(fitting) == 1 and not (custom and all(e.validator == "required" for e in fitting[0])):
            return [p for sub in fitting[0] for p in _schema_problem(sub, positions, source)]
        if not custom and error.context:
            best = jsonschema.exceptions.best_match(error.context)
            if best is not None:
                return _schema_problem(best, positions, source)
        message = custom or message
    elif error.validator == "enum" and isinstance(error.instance, str):
        options = [str(o) for o in cast(list[object], error.validator_value)]
        message = (
            f"{error.instance!r} is not one of {', '.join(options)}{_did_you_mean(error.instance, options, False)}"
        )
    elif error.validator == "pattern" and schema.get("patternErrorMessage"):
        message = f"{error.instance!r}: {schema['patternErrorMessage']}"
    elif error.validator == "type":
        if not pointer and error.instance is None:
            message = "the file is empty: a pack starts with `pack: NAME` (a tests file with `tests:`)"
        else:
            expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            wanted = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in expected)
            message = f"expected {wanted}, not {_kind_of(error.instance)}"
    elif error.validator == "required":
        required = cast(list[str], error.validator_value)
        missing = [k for k in required if isinstance(error.instance, dict) and k not in error.instance]
        message = f"missing required field {missing[0]!r}" if missing else message
    line, col = position(positions, pointer)
    return [Problem(source, line, col, message, pointer)]


_TYPE_WORDS: Mapping[str, str] = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _kind_of(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the text {value!r}"


# -- regular expressions --------------------------------------------------------------------------

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


# -- the parser -----------------------------------------------------------------------------------


class _Parser:
    """Turns a schema-valid pack document into the model, collecting semantic problems."""

    def __init__(self, source: str, positions: Mapping[str, tuple[int, int]], problems: list[Problem]) -> None:
        self.source = source
        self.positions = positions
        self.problems = problems
        self.new_params: list[str] = []  # parameters an overlay declares for its own rules

    def loc(self, pointer: str) -> Location:
        line, col = position(self.positions, pointer)
        return Location(self.source, line, col, pointer)

    def error(self, pointer: str, message: str, key: bool = False) -> None:
        line, col = position(self.positions, pointer + "#key" if key else pointer)
        self.problems.append(Problem(self.source, line, col, message, pointer))

    def pack(self, data: Mapping[str, Any]) -> Pack:
        name = str(data["pack"])
        params = {
            k: self.param(k, v, f"/params/{escape_segment(k)}", name) for k, v in (data.get("params") or {}).items()
        }
        patterns = self.patterns(data.get("patterns") or {})
        derivations = tuple(self.derivation(d, f"/derive/{i}") for i, d in enumerate(data.get("derive") or []))
        rules = tuple(self.rule(r, f"/rules/{i}", name) for i, r in enumerate(data.get("rules") or []) if r is not None)
        self.duplicates(rules)
        return Pack(
            name=name,
            version=str(data.get("version", "0")),
            description=str(data.get("description", "")),
            source=self.source,
            params=params,
            patterns=patterns,
            derivations=derivations,
            rules=rules,
            examples_base=data.get("examples_base") or {},
        )

    def patterns(self, data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        for name, items in data.items():
            pointer = f"/patterns/{escape_segment(name)}"
            if name not in PATTERN_NAMES:
                self.error(
                    pointer,
                    f"pattern {name!r} is never used: the patterns that decide anything are "
                    f"{', '.join(PATTERN_NAMES)}{_did_you_mean(name, PATTERN_NAMES, False)}",
                    key=True,
                )
            for i, item in enumerate(items):
                why = regex_problem(item)
                if why is not None:
                    self.error(f"{pointer}/{i}", f"pattern {name!r}: {item!r} {why}")
        return {k: tuple(v) for k, v in data.items()}

    def duplicates(self, rules: tuple[Rule, ...]) -> None:
        seen: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in seen:
                self.error(
                    f"{rule.loc.pointer}/id",
                    f"duplicate rule id {rule.id!r} (first defined on line {seen[rule.id].loc.line})",
                )
            seen.setdefault(rule.id, rule)

    def param(self, name: str, raw: object, pointer: str, origin: str) -> Param:
        description = ""
        if isinstance(raw, Mapping):
            description = str(raw.get("description", ""))
            raw = raw.get("value")
            pointer += "/value"
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            self.error(pointer, f"parameter {name!r} must be a whole number or a duration; {DURATION_HINT}")
            return Param(name, 0, 0, description, origin)
        if isinstance(raw, str):
            seconds = parse_duration(raw)
            if seconds is None:
                self.error(pointer, f"parameter {name!r}: {raw!r} is not a duration; {DURATION_HINT}")
                return Param(name, raw, 0, description, origin)
            return Param(name, raw, seconds, description, origin)
        return Param(name, raw, raw, description, origin)

    def unused_params(self, new: Sequence[str], resolved: Pack) -> None:
        """Parameters this overlay declares anew that nothing in the resolved pack uses (a typo)."""
        used = params_used(resolved)
        for name in new:
            if name not in used:
                self.error(
                    f"/params/{escape_segment(name)}",
                    f"parameter {name!r} is declared but no rule or derived fact uses it",
                    key=True,
                )

    def derivation(self, data: Mapping[str, Any], pointer: str) -> Derivation:
        return Derivation(
            fact=str(data["fact"]),
            description=str(data.get("description", "")),
            when=self.branch(data["when"], f"{pointer}/when"),
            set={str(k): str(v) for k, v in data["set"].items()},
            loc=self.loc(pointer),
        )

    def rule(self, data: Mapping[str, Any], pointer: str, origin: str) -> Rule:
        checks = []
        for kind in ("violation", "next_step"):
            if kind in data:
                checks.append(self.check(kind, data[kind], f"{pointer}/{kind}"))
        examples = tuple(
            self.example(e, f"{pointer}/examples/{i}", str(data["id"]))
            for i, e in enumerate(data.get("examples") or [])
            if e is not None
        )
        keys = ("id", "title", "rationale", "severity", "violation", "next_step", "enabled", "examples")
        return Rule(
            id=str(data["id"]),
            title=str(data["title"]),
            rationale=" ".join(str(data["rationale"]).split()),
            severity=data["severity"],
            checks=tuple(checks),
            examples=examples,
            enabled=bool(data.get("enabled", True)),
            loc=self.loc(pointer),
            origin={k: origin for k in keys if k in data or k == "enabled"},
        )

    def check(self, kind: str, data: Mapping[str, Any], pointer: str) -> Check:
        when = data["when"]
        if isinstance(when, Mapping):
            branches = tuple(self.branch(b, f"{pointer}/when/any/{i}") for i, b in enumerate(when["any"]))
        else:
            branches = (self.branch(when, f"{pointer}/when"),)
        return Check(
            kind=kind,  # type: ignore[arg-type]  # the schema allows only the two kinds
            branches=branches,
            subject=str(data["subject"]),
            person=None if data.get("person") is None else str(data["person"]),
            due=None if data.get("due") is None else str(data["due"]),
            message=" ".join(str(data["message"]).split()),
            loc=self.loc(pointer),
        )

    def branch(self, items: list[Mapping[str, Any]], pointer: str) -> tuple[Pattern, ...]:
        return tuple(self.pattern(p, f"{pointer}/{i}") for i, p in enumerate(items))

    def pattern(self, data: Mapping[str, Any], pointer: str) -> Pattern:
        negated = "none" in data
        fact = str(data["none"] if negated else data["fact"])
        tests: list[Where] = []
        for fname, spec in (data.get("where") or {}).items():
            self.check_values(fact, str(fname), spec, f"{pointer}/where/{escape_segment(str(fname))}")
            tests.extend(self.where(str(fname), spec))
        nth = data.get("nth")
        return Pattern(
            fact=fact,
            alias=None if data.get("as") is None else str(data["as"]),
            negated=negated,
            where=tuple(tests),
            nth=None if nth is None else str(nth),
            loc=self.loc(pointer),
        )

    def check_values(self, fact: str, fname: str, spec: object, pointer: str) -> None:
        """Literal values of fields whose values the history format lists (purpose, action...)."""
        if fname not in FACT_FIELDS.get(fact, ()):
            return
        options = VIA_VALUES if fname == "via" else _history_enums().get(ENUM_FIELDS.get(fname, ""), ())
        if not options:
            return
        found: list[tuple[object, str]] = []
        if isinstance(spec, Mapping):
            if "not" in spec:
                found.append((spec["not"], f"{pointer}/not"))
            if isinstance(spec.get("in"), list):
                found.extend((v, f"{pointer}/in/{k}") for k, v in enumerate(spec["in"]))
        else:
            found.append((spec, pointer))
        for value, where in found:
            if isinstance(value, str) and value not in options and not _looks_like_ref(value):
                self.error(
                    where,
                    f"{fact}.{fname} is never {value!r}: it is one of {', '.join(options)}"
                    f"{_did_you_mean(value, options, False)}",
                )

    def where(self, fname: str, spec: object) -> list[Where]:
        if not isinstance(spec, Mapping):
            return [Where(fname, "eq", spec, _looks_like_ref(spec))]
        tests = []
        for op, value in spec.items():
            if op in COMPARISONS:
                tests.append(
                    Where(
                        fname, op, str(value) if not isinstance(value, int | float) else value, isinstance(value, str)
                    )
                )
            elif op == "not":
                tests.append(Where(fname, "not", value, _looks_like_ref(value)))
            elif op == "in":
                tests.append(Where(fname, "in", tuple(value)))
            elif op == "exists":
                tests.append(Where(fname, "exists", bool(value)))
        return tests

    def example(self, data: Mapping[str, Any], pointer: str, rule: str | None) -> Example:
        return Example(
            name=str(data.get("name", "")),
            as_of=str(data["as_of"]),
            history=data["history"],
            expect=tuple(data.get("expect") or ()),
            expect_not=tuple(data.get("expect_not") or ()),
            rule=rule,
            loc=self.loc(pointer),
        )

    # -- overlays ---------------------------------------------------------------------------------

    def overlay(self, base: Pack, own: Pack, data: Mapping[str, Any]) -> Pack:
        """Apply this file's params, overrides, patterns, derivations and new rules to ``base``."""
        params = dict(base.params)
        for name, raw in (data.get("params") or {}).items():
            pointer = f"/params/{escape_segment(name)}"
            new = own.params[name]
            if name not in params:
                if isinstance(raw, Mapping) and new.description:
                    params[name] = new  # a new parameter, declared for this overlay's own rules
                    self.new_params.append(name)
                    continue
                tip = _did_you_mean(name, list(params))
                self.error(
                    pointer,
                    f"unknown parameter {name!r}{tip}; a new parameter needs `{{value: ..., description: ...}}`",
                    key=True,
                )
                continue
            old = params[name]
            value_pointer = pointer + "/value" if isinstance(raw, Mapping) else pointer
            if isinstance(old.value, str) and not isinstance(new.value, str):
                self.error(
                    value_pointer, f"parameter {name!r} is a duration ({old.value} in {old.origin!r}); {DURATION_HINT}"
                )
                continue
            if not isinstance(old.value, str) and isinstance(new.value, str):
                self.error(
                    value_pointer, f"parameter {name!r} is a number ({old.value} in {old.origin!r}), not a duration"
                )
                continue
            params[name] = Param(name, new.value, new.seconds, new.description or old.description, own.name)
        rules = {r.id: r for r in base.rules}
        for rule_id, changes in (data.get("overrides") or {}).items():
            pointer = f"/overrides/{escape_segment(rule_id)}"
            if rule_id not in rules:
                self.error(
                    pointer,
                    f"override of unknown rule {rule_id!r}{_did_you_mean(rule_id, list(rules), False)}",
                    key=True,
                )
                continue
            rules[rule_id] = self.override(rules[rule_id], changes, pointer, own.name)
        base_ids = {r.id for r in base.rules}
        for rule in own.rules:
            if rule.id in base_ids:
                self.error(
                    f"{rule.loc.pointer}/id",
                    f"rule {rule.id!r} already exists in {base.name!r}; change it under `overrides` instead",
                )
            elif rule.id not in rules:  # a second rule of the same id in this file is reported already
                rules[rule.id] = rule
        patterns = dict(base.patterns)
        patterns.update(own.patterns)
        base_people = base.examples_base.get("people")
        own_people = own.examples_base.get("people")
        examples_base = {**base.examples_base, **own.examples_base}
        if isinstance(own_people, list) and isinstance(base_people, list):
            examples_base["people"] = base_people + own_people
        return Pack(
            name=own.name,
            version=own.version,
            description=own.description or base.description,
            source=own.source,
            params=params,
            patterns=patterns,
            derivations=base.derivations + own.derivations,
            rules=tuple(rules.values()),
            examples_base=examples_base,
            extends=(base.name, *base.extends),
        )

    def override(self, rule: Rule, changes: Mapping[str, Any], pointer: str, origin: str) -> Rule:
        origin_map = dict(rule.origin)
        updates: dict[str, Any] = {}
        for key, value in changes.items():
            origin_map[key] = origin
            if key == "message":
                updates["checks"] = self.override_messages(rule, value, f"{pointer}/message")
            elif key in OVERRIDABLE:
                updates[key] = value
        return dataclasses.replace(
            rule,
            title=updates.get("title", rule.title),
            severity=updates.get("severity", rule.severity),
            checks=updates.get("checks", rule.checks),
            enabled=bool(updates.get("enabled", rule.enabled)),
            origin=origin_map,
        )

    def override_messages(self, rule: Rule, value: object, pointer: str) -> tuple[Check, ...]:
        """New message templates; the checks they change point at the override (so that a bad
        placeholder is reported in this file)."""
        if isinstance(value, str):
            if len(rule.checks) > 1:
                kinds = " and ".join(rule.kinds)
                self.error(
                    pointer, f"rule {rule.id!r} has {kinds} messages; give them as {{violation: ..., next_step: ...}}"
                )
                return rule.checks
            per_kind: dict[str, tuple[str, str]] = {rule.checks[0].kind: (value, pointer.removesuffix("/message"))}
        else:
            assert isinstance(value, Mapping)
            per_kind = {str(k): (str(v), f"{pointer}/{k}") for k, v in value.items()}
            for kind in per_kind:
                if kind not in rule.kinds:
                    self.error(
                        f"{pointer}/{kind}",
                        f"rule {rule.id!r} has no {kind} (it has: {', '.join(rule.kinds)})",
                        key=True,
                    )
        return tuple(
            dataclasses.replace(c, message=" ".join(per_kind[c.kind][0].split()), loc=self.loc(per_kind[c.kind][1]))
            if c.kind in per_kind
            else c
            for c in rule.checks
        )


# -- what depends on what -------------------------------------------------------------------------


def params_used(pack: Pack) -> set[str]:
    """Names of parameters that any expression or message of the pack mentions."""
    names: set[str] = set()
    for d in pack.derivations:
        names |= _pattern_names(d.when)
        for text in d.set.values():
            names |= expression_names(text)
    for rule in pack.rules:
        names |= rule_param_names(rule)
    return names & set(pack.params)


def rule_param_names(rule: Rule) -> set[str]:
    """Bare names (parameters, and possibly aliases) in a rule's own expressions and messages."""
    names: set[str] = set()
    for check in rule.checks:
        for branch in check.branches:
            names |= _pattern_names(branch)
        for text in (check.subject, check.person, check.due):
            if text:
                names |= expression_names(text)
        for m in re.finditer(r"\{([^{}|]*)", check.message):
            names |= expression_names(m.group(1))
    return names


def _pattern_names(patterns: tuple[Pattern, ...]) -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if p.nth:
            names |= expression_names(p.nth)
        for w in p.where:
            if w.is_expr:
                names |= expression_names(str(w.value))
    return names


def expression_names(text: str) -> set[str]:
    """The bare names (no ``alias.field``) in an expression's text."""
    return {m.group(1) for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)(?![\w.])", text)}


def _looks_like_ref(value: object) -> bool:
    """``i.key`` is a reference to a matched fact's field; ``thank_you`` is a literal."""
    if not isinstance(value, str) or value.count(".") != 1:
        return False
    alias, field = value.split(".")
    return alias.isidentifier() and field.isidentifier()
