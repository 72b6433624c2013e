"""Parsing a schema-valid pack (or tests) document into the pack model, with the semantic checks
that need the file's positions: pattern names and their regular expressions, duplicate rule ids,
parameter values, and literal values of fields the history format lists.

The parser handles one file; ``pack.overlay`` merges an overlay's parsed pack into its base.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any, cast

from ..compile.expr import (
    MAX_SECONDS,
    MAX_SECONDS_WORDS,
    business_days_too_large,
    parse_business_days,
    parse_duration,
    too_large,
)
from ..compile.facts import CONTENT_FLAGS, FACT_FIELDS
from ..diagnostics import Problem, escape_segment, locate, suggest
from ..model import Kind
from .calendar import read_calendar
from .model import (
    COMPARISONS,
    CalendarSpec,
    Comparison,
    Derivation,
    Example,
    Location,
    Outcome,
    Pack,
    Param,
    Pattern,
    Rule,
    Where,
)
from .textpattern import as_written, pattern_problem

CALENDAR_PARTS = ("weekday", "time", "date")
DURATION_HINT = "write e.g. 90m, 24h, 7d or 2w"
_UNIT_WORDS = {
    "s": "s",
    "sec": "s",
    "second": "s",
    "m": "m",
    "min": "m",
    "minute": "m",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "d": "d",
    "day": "d",
    "w": "w",
    "wk": "w",
    "week": "w",
}


def duration_hint(raw: str) -> str:
    """``2 days`` -> "did you mean '2d'?"; otherwise the general hint."""

    m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+?)s?\s*", raw)
    unit = _UNIT_WORDS.get(m.group(2).lower()) if m else None
    if m and unit:
        return f"did you mean '{m.group(1)}{unit}'? ({DURATION_HINT})"
    return DURATION_HINT


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


@functools.lru_cache(maxsize=1)
def _history_enums() -> dict[str, tuple[str, ...]]:
    text = resources.files("followup.schemas").joinpath("history.schema.json").read_text("utf-8")
    defs = json.loads(text).get("$defs", {})
    return {name: tuple(defs[name]["enum"]) for name in ENUM_FIELDS.values() if "enum" in defs.get(name, {})}


class Parser:
    """Turns a schema-valid pack document into the model, collecting semantic problems."""

    def __init__(self, source: str, positions: Mapping[str, tuple[int, int]], problems: list[Problem]) -> None:
        self.source = source
        self.positions = positions
        self.problems = problems

    def loc(self, pointer: str) -> Location:
        line, col = locate(self.positions, pointer)
        return Location(self.source, line, col, pointer)

    def error(self, pointer: str, message: str, key: bool = False) -> None:
        line, col = locate(self.positions, pointer + "#key" if key else pointer)
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
        calendar = read_calendar(data.get("calendar"), name, self.error)
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
            calendar=CalendarSpec() if calendar is None else calendar,
        )

    def patterns(self, data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
        for name, items in data.items():
            pointer = f"/patterns/{escape_segment(name)}"
            if name not in PATTERN_NAMES:
                self.error(
                    pointer,
                    f"pattern {name!r} is never used: the patterns that decide anything are "
                    f"{', '.join(PATTERN_NAMES)}{suggest(name, PATTERN_NAMES)}",
                    key=True,
                )
            for i, item in enumerate(items):
                why = pattern_problem(item)
                if why is not None:
                    self.error(f"{pointer}/{i}", f"pattern {name!r}: {as_written(item)} {why}")
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
            return self.duration_param(name, raw, pointer, description, origin)
        if not math.isfinite(raw) or too_large(raw) is not None:
            number = str(raw) if abs(raw) < 10**20 else "that number"  # a huge number is never copied whole
            self.error(
                pointer,
                f"parameter {name!r}: {number} is larger than the largest number a pack may use, {MAX_SECONDS} "
                f"(numbers added to times are seconds: {MAX_SECONDS_WORDS})",
            )
            return Param(name, raw, 0, description, origin)
        return Param(name, raw, raw, description, origin)

    def duration_param(self, name: str, raw: str, pointer: str, description: str, origin: str) -> Param:
        """A parameter written as a duration (``24h``) or as business days (``5bd``)."""
        seconds = parse_duration(raw)
        days = parse_business_days(raw)
        if days is not None:  # business days: counted on the pack's calendar when compiled
            why = business_days_too_large(days)
            if why is not None:
                self.error(pointer, f"parameter {name!r}: {raw[:24]!r} {why}")
                return Param(name, raw, 0, description, origin)
            return Param(name, raw, days * 86400, description, origin)
        if seconds is None:
            self.error(pointer, f"parameter {name!r}: {raw!r} is not a duration; {duration_hint(raw)}")
            return Param(name, raw, 0, description, origin)
        why = too_large(seconds)
        if why is not None:
            shown = raw if len(raw) <= 24 else f"{raw[:12]}...{raw[-4:]}"  # never a huge value whole
            self.error(pointer, f"parameter {name!r}: {shown!r} {why}")
            return Param(name, raw, 0, description, origin)
        return Param(name, raw, seconds, description, origin)

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
        kinds: tuple[Kind, ...] = ("violation", "next_step")
        for kind in kinds:
            if kind in data:
                checks.append(self.check(kind, data[kind], f"{pointer}/{kind}"))
        examples = tuple(
            self.example(e, f"{pointer}/examples/{i}", str(data["id"]))
            for i, e in enumerate(data.get("examples") or [])
            if e is not None
        )
        keys = ("id", "title", "rationale", "severity", "violation", "next_step", "enabled", "examples", "remedy")
        title = str(data["title"])
        rationale = " ".join(str(data["rationale"]).split())
        remedy = " ".join(str(data.get("remedy") or "").split())
        return Rule(
            id=str(data["id"]),
            title=title,
            rationale=rationale,
            severity=data["severity"],
            outcomes=tuple(checks),
            examples=examples,
            enabled=bool(data.get("enabled", True)),
            loc=self.loc(pointer),
            origin={k: origin for k in keys if k in data or k == "enabled"},
            remedy=remedy,
            templates={"title": title, "rationale": rationale, "remedy": remedy},
            text_locs={k: self.loc(f"{pointer}/{k}") for k in ("title", "rationale", "remedy") if k in data},
        )

    def check(self, kind: Kind, data: Mapping[str, Any], pointer: str) -> Outcome:
        when = data["when"]
        if isinstance(when, Mapping):
            branches = tuple(self.branch(b, f"{pointer}/when/any/{i}") for i, b in enumerate(when["any"]))
        else:
            branches = (self.branch(when, f"{pointer}/when"),)
        return Outcome(
            kind=kind,
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
                    f"{fact}.{fname} is never {value!r}: it is one of {', '.join(options)}{suggest(value, options)}",
                )

    def where(self, fname: str, spec: object) -> list[Where]:
        if not isinstance(spec, Mapping):
            return [Where(fname, "eq", spec, _looks_like_ref(spec))]
        tests = []
        for op, value in spec.items():
            if op in COMPARISONS:
                comparison = cast(Comparison, op)  # a key of COMPARISONS, checked just above
                literal = str(value) if not isinstance(value, int | float) else value
                tests.append(Where(fname, comparison, literal, isinstance(value, str)))
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


def _looks_like_ref(value: object) -> bool:
    """``i.key`` is a reference to a matched fact's field; ``thank_you`` is a literal."""
    if not isinstance(value, str) or value.count(".") not in (1, 2):
        return False
    alias, field, *part = value.split(".")  # `i.at.date`: a calendar part of a time
    return alias.isidentifier() and field.isidentifier() and all(p in CALENDAR_PARTS for p in part)
