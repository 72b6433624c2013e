"""Loading rule packs: schema validation, parsing into the pack model, overlays (``extends``)."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from .errors import InputError, Problem
from .expr import parse_duration
from .load import load_document
from .packmodel import COMPARISONS, Check, Derivation, Example, Location, Pack, Param, Pattern, Rule, Where

DEFAULT_PACK = "interview-follow-up"
OVERRIDABLE = ("enabled", "severity", "message", "title")


def builtin_packs() -> dict[str, str]:
    """Name -> path of the packs shipped inside the package."""
    folder = resources.files("followup.rules")
    return {
        Path(str(entry)).stem: str(entry)
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and not entry.name.endswith(".tests.yaml")
    }


@functools.lru_cache(maxsize=1)
def pack_schema() -> dict[str, Any]:
    text = resources.files("followup.schemas").joinpath("pack.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(pack_schema())


def resolve_pack_path(ref: str, relative_to: Path | None = None) -> Path:
    """A built-in pack name or a path (relative to ``relative_to`` when given)."""
    builtins = builtin_packs()
    if ref in builtins:
        return Path(builtins[ref])
    path = Path(ref)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    return path


def load_pack(ref: str) -> Pack:
    """Load a pack by built-in name or path, resolving its ``extends`` chain."""
    path = resolve_pack_path(ref)
    if not path.exists():
        hint = difflib.get_close_matches(ref, list(builtin_packs()), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f" (built-in packs: {', '.join(sorted(builtin_packs()))})"
        raise InputError([Problem(ref, 1, 1, f"no pack file or built-in pack named {ref!r}{suggestion}")])
    return _load(path, ())


def _read(path: Path) -> tuple[dict[str, Any], dict[str, tuple[int, int]], str]:
    source = _display(path)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(source, 1, 1, f"cannot read pack: {exc}")]) from None
    data, positions = load_document(text, source)
    problems = _schema_problems(data, positions, source)
    if problems:
        raise InputError(problems)
    assert isinstance(data, dict)  # the schema requires a mapping
    return data, positions, source


def _display(path: Path) -> str:
    builtins = {Path(p).resolve(): name for name, p in builtin_packs().items()}
    if path.resolve() in builtins:
        return f"<builtin>/{builtins[path.resolve()]}.yaml"
    return str(path)


def _position(positions: Mapping[str, tuple[int, int]], pointer: str) -> tuple[int, int]:
    """The position of ``pointer`` or of its nearest located ancestor."""
    while True:
        if pointer in positions:
            return positions[pointer]
        if not pointer:
            return (1, 1)
        pointer = pointer.rsplit("/", 1)[0]


def _schema_problems(data: object, positions: Mapping[str, tuple[int, int]], source: str) -> list[Problem]:
    problems = []
    for error in _validator().iter_errors(data):
        pointer = "".join(f"/{p}" for p in error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = list(error.schema.get("properties", {}))
            extra = [k for k in error.instance if k not in allowed]
            for key in extra:
                hint = difflib.get_close_matches(key, allowed, n=1)
                line, col = _position(positions, f"{pointer}/{key}#key")
                tip = f"; did you mean {hint[0]!r}?" if hint else f" (allowed: {', '.join(allowed)})"
                problems.append(Problem(source, line, col, f"unknown field {key!r}{tip}", pointer))
            continue
        if error.validator in ("oneOf", "anyOf") and error.context:
            best = jsonschema.exceptions.best_match(error.context)
            message = best.message
        line, col = _position(positions, pointer)
        problems.append(Problem(source, line, col, message, pointer))
    return problems


def _load(path: Path, chain: tuple[Path, ...]) -> Pack:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(_display(p) for p in (*chain, resolved))
        raise InputError([Problem(_display(path), 1, 1, f"packs extend each other in a cycle: {cycle}")])
    data, positions, source = _read(path)
    parser = _Parser(source, positions)
    own = parser.pack(data)
    base_ref = data.get("extends")
    if base_ref is None:
        parser.raise_if_any()
        return own
    base_path = resolve_pack_path(str(base_ref), path.parent)
    if not base_path.exists():
        line, col = _position(positions, "/extends")
        hint = difflib.get_close_matches(str(base_ref), list(builtin_packs()), n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        parser.problems.append(Problem(source, line, col, f"cannot find the pack {base_ref!r} to extend{tip}"))
        parser.raise_if_any()
    base = _load(base_path, (*chain, resolved))
    merged = parser.overlay(base, own, data)
    parser.raise_if_any()
    return merged


class _Parser:
    """Turns a schema-valid pack document into the model, collecting semantic problems."""

    def __init__(self, source: str, positions: Mapping[str, tuple[int, int]]) -> None:
        self.source = source
        self.positions = positions
        self.problems: list[Problem] = []

    def loc(self, pointer: str) -> Location:
        line, col = _position(self.positions, pointer)
        return Location(self.source, line, col, pointer)

    def error(self, pointer: str, message: str, key: bool = False) -> None:
        line, col = _position(self.positions, pointer + "#key" if key and pointer + "#key" in self.positions else pointer)
        self.problems.append(Problem(self.source, line, col, message, pointer))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)

    def pack(self, data: Mapping[str, Any]) -> Pack:
        name = str(data["pack"])
        params = {k: self.param(k, v, f"/params/{k}", name) for k, v in (data.get("params") or {}).items()}
        patterns = {k: tuple(v) for k, v in (data.get("patterns") or {}).items()}
        derivations = tuple(self.derivation(d, f"/derive/{i}") for i, d in enumerate(data.get("derive") or []))
        rules = tuple(self.rule(r, f"/rules/{i}", name) for i, r in enumerate(data.get("rules") or []))
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

    def duplicates(self, rules: tuple[Rule, ...]) -> None:
        seen: dict[str, Rule] = {}
        for i, rule in enumerate(rules):
            if rule.id in seen:
                self.error(f"/rules/{i}/id", f"duplicate rule id {rule.id!r} (first defined on line {seen[rule.id].loc.line})")
            seen.setdefault(rule.id, rule)

    def param(self, name: str, raw: object, pointer: str, origin: str) -> Param:
        description = ""
        if isinstance(raw, Mapping):
            description = str(raw.get("description", ""))
            raw = raw.get("value")
        return self.param_value(name, raw, pointer, description, origin)

    def param_value(self, name: str, raw: object, pointer: str, description: str, origin: str) -> Param:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            self.error(pointer, f"parameter {name!r} must be a number or a duration like 24h")
            return Param(name, 0, 0, description, origin)
        if isinstance(raw, str):
            seconds = parse_duration(raw)
            if seconds is None:
                self.error(pointer, f"parameter {name!r}: {raw!r} is not a duration; write e.g. 90m, 24h, 7d or 2w")
                return Param(name, raw, 0, description, origin)
            return Param(name, raw, seconds, description, origin)
        return Param(name, raw, raw, description, origin)

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
        examples = tuple(self.example(e, f"{pointer}/examples/{i}", str(data["id"])) for i, e in enumerate(data.get("examples") or []))
        keys = ("title", "rationale", "severity", "violation", "next_step", "enabled")
        return Rule(
            id=str(data["id"]),
            title=str(data["title"]),
            rationale=" ".join(str(data["rationale"]).split()),
            severity=data["severity"],
            checks=tuple(checks),
            examples=examples,
            enabled=bool(data.get("enabled", True)),
            loc=self.loc(pointer),
            origin={k: origin for k in keys if k in data},
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

    def where(self, fname: str, spec: object) -> list[Where]:
        if not isinstance(spec, Mapping):
            return [Where(fname, "eq", spec, _looks_like_ref(spec))]
        tests = []
        for op, value in spec.items():
            if op in COMPARISONS:
                tests.append(Where(fname, op, str(value) if not isinstance(value, int | float) else value, isinstance(value, str)))
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

    def overlay(self, base: Pack, own: Pack, data: Mapping[str, Any]) -> Pack:
        """Apply this file's params, overrides, patterns, derivations and new rules to ``base``."""
        params = dict(base.params)
        for name, raw in (data.get("params") or {}).items():
            pointer = f"/params/{name}"
            if name not in params:
                hint = difflib.get_close_matches(name, list(params), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else f" (known: {', '.join(params)})"
                self.error(pointer, f"unknown parameter {name!r}{tip}", key=True)
                continue
            params[name] = Param(name, own.params[name].value, own.params[name].seconds, params[name].description, own.name)
        rules = {r.id: r for r in base.rules}
        for rule_id, changes in (data.get("overrides") or {}).items():
            pointer = f"/overrides/{rule_id}"
            if rule_id not in rules:
                hint = difflib.get_close_matches(rule_id, list(rules), n=1)
                tip = f"; did you mean {hint[0]!r}?" if hint else ""
                self.error(pointer, f"override of unknown rule {rule_id!r}{tip}", key=True)
                continue
            rules[rule_id] = self.override(rules[rule_id], changes, pointer, own.name)
        for i, rule in enumerate(own.rules):
            if rule.id in rules:
                self.error(f"/rules/{i}/id", f"rule {rule.id!r} already exists in {base.name!r}; change it under `overrides` instead")
            rules[rule.id] = rule
        patterns = dict(base.patterns)
        patterns.update(own.patterns)
        base_people = list(base.examples_base.get("people") or [])  # type: ignore[call-overload]
        examples_base = {**base.examples_base, **own.examples_base}
        if own.examples_base.get("people"):
            examples_base["people"] = base_people + list(own.examples_base["people"])  # type: ignore[call-overload]
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
        return Rule(
            id=rule.id,
            title=updates.get("title", rule.title),
            rationale=rule.rationale,
            severity=updates.get("severity", rule.severity),
            checks=updates.get("checks", rule.checks),
            examples=rule.examples,
            enabled=bool(updates.get("enabled", rule.enabled)),
            loc=rule.loc,
            origin=origin_map,
        )

    def override_messages(self, rule: Rule, value: object, pointer: str) -> tuple[Check, ...]:
        if isinstance(value, str):
            if len(rule.checks) > 1:
                kinds = " and ".join(rule.kinds)
                self.error(pointer, f"rule {rule.id!r} has {kinds} messages; give them as {{violation: ..., next_step: ...}}")
                return rule.checks
            per_kind = {rule.checks[0].kind: value}
        else:
            assert isinstance(value, Mapping)
            per_kind = {str(k): str(v) for k, v in value.items()}
            for kind in per_kind:
                if kind not in rule.kinds:
                    self.error(pointer, f"rule {rule.id!r} has no {kind} (it has: {', '.join(rule.kinds)})")
        return tuple(
            Check(c.kind, c.branches, c.subject, c.person, c.due, " ".join(per_kind[c.kind].split()), c.loc)
            if c.kind in per_kind
            else c
            for c in rule.checks
        )


def _looks_like_ref(value: object) -> bool:
    """``i.key`` is a reference to a matched fact's field; ``thank_you`` is a literal."""
    if not isinstance(value, str) or value.count(".") != 1:
        return False
    alias, field = value.split(".")
    return alias.isidentifier() and field.isidentifier()
