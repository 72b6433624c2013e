"""The JSON Schema check of pack and tests files, and what the loader needs around it.

Each schema problem is reported at its value (an unknown key: at the key) in the file's own words
("expected a list, not the text 'x'") with a did-you-mean. When the problems are about parts the
pack makes sense without (a rule, an example, an override...), ``prune_invalid`` drops those parts
so that the semantic checks can still run and every problem of a file is reported at once.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import Any, cast

import jsonschema
import jsonschema.exceptions
from jsonschema.exceptions import ValidationError

from ..diagnostics import (
    DocumentKind,
    Problem,
    SchemaMessage,
    SchemaPath,
    Suggester,
    json_pointer,
    locate,
    schema_messages,
)


@functools.lru_cache(maxsize=1)
def pack_schema() -> dict[str, Any]:
    text = resources.files("followup.schemas").joinpath("pack.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(pack_schema())


# -- schema problems ------------------------------------------------------------------------------


def schema_problems(data: object, positions: Mapping[str, tuple[int, int]], source: str) -> list[Problem]:
    """Every JSON Schema problem, each at its value (unknown keys: at the key) with a did-you-mean."""
    suggest = Suggester()
    said = (m for error in _validator().iter_errors(data) for m in schema_messages(error, PACK, suggest))
    # One failure can reach us along two schema paths (and `required` once per missing field).
    return [
        Problem(source, *locate(positions, m.at), m.message, m.at.removesuffix("#key")) for m in dict.fromkeys(said)
    ]


# The pack's own words for a few keywords ("expected a list, not the number 5"), as they always were.


def _raw(error: ValidationError, path: SchemaPath, kind: DocumentKind) -> str:
    return error.message


def _raw_words(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    yield SchemaMessage(json_pointer(path), error.message)


def _pack_type(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    if not path and error.instance is None:
        yield SchemaMessage("", kind.empty)
        return
    expected: Any = error.validator_value
    wanted = " or ".join(
        _TYPE_WORDS.get(str(t), str(t)) for t in (expected if isinstance(expected, list) else [expected])
    )
    yield SchemaMessage(json_pointer(path), f"expected {wanted}, not {_kind_of(error.instance)}")


def _pack_enum(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    if not isinstance(error.instance, str):
        yield from _raw_words(error, path, kind, suggest)
        return
    options = [str(o) for o in cast(list[object], error.validator_value)]
    message = f"{error.instance!r} is not one of {', '.join(options)}{suggest(error.instance, options)}"
    yield SchemaMessage(json_pointer(path), message)


def _pack_pattern(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if schema.get("patternErrorMessage"):
        yield SchemaMessage(json_pointer(path), f"{error.instance!r}: {schema['patternErrorMessage']}")
    else:
        yield from _raw_words(error, path, kind, suggest)


def _alternatives(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    """oneOf/anyOf: the alternatives differ by shape; say what is wrong inside the one of the right shape."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    custom = schema.get("x-errors", {}).get(str(error.validator))
    by_alternative: dict[object, list[ValidationError]] = {}
    for sub in error.context or ():
        by_alternative.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errors
        for errors in by_alternative.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if len(fitting) == 1 and not (custom and all(e.validator == "required" for e in fitting[0])):
        for sub in fitting[0]:
            yield from schema_messages(sub, kind, suggest)
        return
    if not custom and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from schema_messages(best, kind, suggest)
            return
    yield SchemaMessage(json_pointer(path), custom or error.message)


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


def _known(options: Sequence[str]) -> str:
    return f" (known: {', '.join(options)})" if options else ""


PACK = DocumentKind(
    noun="pack",
    empty="the file is empty: a pack starts with `pack: NAME` (a tests file with `tests:`)",
    label=lambda path: "",  # the pack's own words never name the value: they stand at it
    known=_known,
    wording={
        "type": _pack_type,
        "enum": _pack_enum,
        "pattern": _pack_pattern,
        "oneOf": _alternatives,
        "anyOf": _alternatives,
        "minItems": _raw_words,
    },
    fallback=_raw,
)


# -- dropping what the schema refuses -------------------------------------------------------------


_DROP = object()


def _droppable(pointer: str, tests_file: bool, overlay: bool) -> str | None:
    """The smallest part around ``pointer`` that the pack still makes sense without, if any."""
    parts = pointer.split("/")[1:]
    if not parts:
        return None
    if tests_file:
        return "/".join(["", *parts[:2]]) if parts[0] == "tests" and len(parts) >= 2 else None
    return _droppable_in_pack(pointer, parts, overlay)


def _droppable_in_pack(pointer: str, parts: list[str], overlay: bool) -> str | None:
    """As `_droppable`, for a pack file (not its tests file)."""
    top = parts[0]
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


def prune_invalid(data: object, problems: list[Problem], tests_file: bool) -> dict[str, Any] | None:
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
