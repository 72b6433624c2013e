"""The history JSON Schema, compiled twice: fast predicates that pass a valid history at once, and
jsonschema validators (one per event type) that find every problem of an invalid one."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_FILE = "history.schema.json"


def history_schema() -> dict[str, Any]:
    """The history JSON Schema, as shipped in the package (a fresh copy each call)."""
    text = resources.files("followup.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class _Validators:
    """The schema split in two so each event is validated against its own type only.

    One validator over the whole document would try every type's ``if`` on every event; checking
    ``type`` first and then only that type's definition is several times faster on big batches.
    """

    document: Draft202012Validator  # everything, events checked only for being typed mappings
    by_type: Mapping[str, Draft202012Validator]
    # The same schemas as plain predicates: a valid history (the common case in a batch) costs a
    # tenth of jsonschema's time; jsonschema runs only to explain a failure.
    document_ok: Callable[[object], bool]
    type_ok: Mapping[str, Callable[[object], bool]]


@functools.lru_cache(maxsize=1)
def validators() -> _Validators:
    schema = history_schema()
    defs = schema.pop("$defs")
    event = defs["event"]
    by_type: dict[str, Draft202012Validator] = {}
    type_ok: dict[str, Callable[[object], bool]] = {}
    for branch in event.pop("allOf"):
        event_type = branch["if"]["properties"]["type"]["const"]
        type_schema = _inline(branch["then"], defs)
        by_type[event_type] = Draft202012Validator(type_schema)
        type_ok[event_type] = _predicate(type_schema)
    document = _inline(schema, defs)
    return _Validators(Draft202012Validator(document), by_type, _predicate(document), type_ok)


_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default"})


_PY_TYPES: Mapping[str, Callable[[object], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _predicate(schema: Mapping[str, Any]) -> Callable[[object], bool]:
    """``schema`` as a plain predicate, never more lenient than jsonschema.

    Knows only the keywords the history schema uses and fails loudly (at first use, so in the
    tests) on any other: a new keyword must be taught here before the schema can use it.
    """
    checks: list[Callable[[Any], bool]] = []
    unknown = set(schema) - _ANNOTATIONS - {
        "type", "enum", "const", "required", "properties", "additionalProperties", "items",
        "minItems", "minLength", "uniqueItems", "anyOf",
    }  # fmt: skip
    if unknown:
        raise NotImplementedError(f"history schema keyword(s) {sorted(unknown)}")
    if "type" in schema:
        kinds = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        tests = [_PY_TYPES[k] for k in kinds]
        checks.append(lambda v: any(t(v) for t in tests))
    if "enum" in schema:
        options = frozenset(schema["enum"])
        if not all(isinstance(o, str) for o in options):
            raise NotImplementedError("enum of non-strings")  # `True == 1` would be too lenient
        checks.append(lambda v: isinstance(v, str) and v in options)
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: type(v) is type(const) and v == const)
    if "required" in schema:
        required = tuple(schema["required"])
        checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in required))
    if "properties" in schema or "additionalProperties" in schema:
        checks.append(_properties_predicate(schema))
    if "items" in schema:
        item_ok = _predicate(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item_ok(i) for i in v))
    if "minItems" in schema:
        low = schema["minItems"]
        checks.append(lambda v: not isinstance(v, list) or len(v) >= low)
    if "minLength" in schema:
        shortest = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= shortest)
    if schema.get("uniqueItems"):
        # Unhashable items fail here and are left to jsonschema to judge.
        checks.append(
            lambda v: not isinstance(v, list) or (all(isinstance(i, str) for i in v) and len(set(v)) == len(v))
        )
    if "anyOf" in schema:
        alternatives = [_predicate(sub) for sub in schema["anyOf"]]
        checks.append(lambda v: any(alt(v) for alt in alternatives))
    return lambda v: all(check(v) for check in checks)


def _properties_predicate(schema: Mapping[str, Any]) -> Callable[[object], bool]:
    """``properties`` and ``additionalProperties`` (true or false, never a schema) as a predicate."""
    props = {k: _predicate(sub) for k, sub in schema.get("properties", {}).items()}
    closed = schema.get("additionalProperties", True)
    if closed not in (True, False):
        raise NotImplementedError("additionalProperties as a schema")

    def properties(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, item in v.items():
            test = props.get(key)
            if test is None:
                if closed is False:
                    return False
            elif not test(item):
                return False
        return True

    return properties


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """``node`` with every local ``#/$defs/...`` reference replaced by its target.

    References cost a registry lookup at every use; the schema has no cycles, so inlining is safe.
    """
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline(defs[ref.removeprefix("#/$defs/")], defs)
            return {**target, **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node
