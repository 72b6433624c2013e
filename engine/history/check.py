"""Check a loaded history (JSON Schema, then meaning) and turn it into the model.

Every problem of a document is collected before anything is raised, each at the line and column
of the value it is about, in plain words with a did-you-mean where a name looks mistyped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..diagnostics import (
    DocumentKind,
    InputError,
    Positions,
    Problem,
    Suggester,
    excerpt,
    locate,
    schema_messages,
    shorten,
)
from ..io.load import load_document, load_json
from ..io.sources import Source, iter_sources
from ..model import Candidate, Event, History, Person
from .instants import InstantError, check_range, leap_second, leap_second_message

SCHEMA_FILE = "history.schema.json"
DEFAULT_TIMEZONE = "UTC"
PERSON_FIELDS = ("with", "to", "from", "proofread_by", "target", "reference")
# Defaults the schema documents; applied here so every later step sees them.
DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "email": {"purpose": "other"},
    "call": {"purpose": "other"},
    "reference_contact": {"request": "heads_up"},
}
_LIST_FIELDS = frozenset({"with", "to", "includes"})


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
def _validators() -> _Validators:
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

        checks.append(properties)
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


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # UTC needs no database: it works even where the system has no tzdata.
        return UTC if name == "UTC" else None


def _field_word(path: Sequence[str | int]) -> str:
    """The name of a field for "unknown <field> 'x'": an event's type is its "event type"."""
    if len(path) == 3 and path[0] == "events" and path[2] == "type":
        return "event type"
    return next((str(p) for p in reversed(path) if isinstance(p, str)), "value")


class _Checker:
    """Collects the problems of one document; ``build`` runs only when there are none."""

    def __init__(
        self,
        data: object,
        positions: Positions,
        source: str,
        as_of: datetime,
        line_offset: int | None,
    ) -> None:
        self.data = data
        self.positions = positions
        self.source = source
        self.as_of = as_of
        self.line_offset = line_offset
        self.problems: list[Problem] = []
        self.seen: set[tuple[str, str]] = set()
        self.suggest = Suggester()
        self.kind = DocumentKind(
            noun="history",
            empty="the document is empty: a history needs version, candidate and events",
            label=self.label,
            context=self.context,
            field_word=_field_word,
        )
        doc = data if isinstance(data, dict) else {}
        self.doc: dict[str, Any] = doc
        people, events = doc.get("people"), doc.get("events")
        self.people: list[Any] = people if isinstance(people, list) else []
        self.events: list[Any] = events if isinstance(events, list) else []
        self.times: dict[int, datetime] = {}  # event index -> its `at`, aware
        self.ends: dict[int, datetime] = {}

    # -- where and what -------------------------------------------------------------------------

    def where(self, pointer: str) -> tuple[int, int]:
        """The position of ``pointer``, else of its nearest parent that has one."""
        return locate(self.positions, pointer, root=((self.line_offset or 0) + 1, 1))

    def add(self, pointer: str, message: str) -> None:
        if (pointer, message) in self.seen:
            return  # one failure can reach us along two schema paths
        self.seen.add((pointer, message))
        line, column = self.where(pointer)
        plain_pointer = pointer.removesuffix("#key")
        self.problems.append(Problem(self.source, line, column, message, plain_pointer))

    def line_of(self, pointer: str) -> int:
        return self.where(pointer)[0]

    def event_type(self, index: int) -> str | None:
        event = self.events[index] if index < len(self.events) else None
        kind = event.get("type") if isinstance(event, dict) else None
        return kind if isinstance(kind, str) else None

    def context(self, path: Sequence[str | int]) -> str:
        """Where in the document ``path`` (a mapping's path) is, as words: "in email event"."""
        if len(path) >= 2 and path[0] == "events" and isinstance(path[1], int):
            kind = self.event_type(path[1])
            return f" in {kind} event" if kind in _validators().by_type else " in event"
        if path[:1] == ("people",) or path[:1] == ["people"]:
            return " in person"
        if path and path[0] == "candidate":
            return " in candidate"
        return "" if not path else f" in {excerpt(path[-1])}"

    # -- JSON Schema ----------------------------------------------------------------------------

    def check_schema(self) -> None:
        validators = _validators()
        if validators.document_ok(self.data) and all(validators.type_ok[event["type"]](event) for event in self.events):
            return  # the document passed the type check, so every event has a known type
        for error in validators.document.iter_errors(self.data):
            self.report(error, ())
        for index, event in enumerate(self.events):
            kind = event.get("type") if isinstance(event, dict) else None
            if isinstance(kind, str) and kind in validators.by_type:
                for error in validators.by_type[kind].iter_errors(event):
                    self.report(error, ("events", index))

    def report(self, error: ValidationError, prefix: tuple[str | int, ...]) -> None:
        """One schema error, in plain words."""
        for said in schema_messages(error, self.kind, self.suggest, prefix):
            self.add(said.at, said.message)

    def label(self, path: Sequence[str | int]) -> str:
        """A value's name for a message: "'with'", "item 2 of 'to'", "the history"."""
        if not path:
            return "the history"
        last = path[-1]
        if isinstance(last, int):
            parent = path[-2] if len(path) >= 2 else None
            if parent == "events":
                return f"event {last + 1}"
            if parent == "people":
                return f"person {last + 1}"
            return f"item {last + 1} of {parent!r}"
        return excerpt(last)

    # -- meaning --------------------------------------------------------------------------------

    def check_meaning(self) -> str:
        """Ids, references and times; returns the history's time zone name."""
        zone_name, zone = self.check_timezone()
        person_ids = self.unique_ids(self.people, "/people", "person")
        event_ids = self.unique_ids(self.events, "/events", "event")
        interviews = {event_id: index for event_id, index in event_ids.items() if self.event_type(index) == "interview"}
        for index, event in enumerate(self.events):
            if not isinstance(event, dict):
                continue
            base = f"/events/{index}"
            self.check_people(event, base, person_ids)
            about = event.get("about")
            if isinstance(about, str) and about not in interviews:
                other = event_ids.get(about)
                if other is None:
                    message = f"unknown interview {excerpt(about)} in 'about'" + self.suggest(about, interviews)
                    self.add(f"{base}/about", message)
                elif self.event_type(other) in _validators().type_ok:
                    line = self.line_of(f"/events/{other}")
                    kind = self.event_type(other)
                    self.add(
                        f"{base}/about",
                        f"'about' must name an interview, but {excerpt(about)} is the {kind} event on line {line}",
                    )
                # else: the event it names has an unknown type, a typo reported there; not again here
            self.check_direction(event, base)
            # With an unknown zone, times are hours off: the zone error is enough, not "future" too.
            self.check_times(index, event, base, zone or UTC, judge_future=zone is not None)
        return zone_name

    def check_timezone(self) -> tuple[str, tzinfo | None]:
        name = self.doc.get("timezone", DEFAULT_TIMEZONE)
        if not isinstance(name, str) or not name:
            return DEFAULT_TIMEZONE, UTC  # the schema has said what is wrong
        zone = _zone(name)
        if zone is None:
            suggestion = self.suggest(name, _timezone_names())
            self.add("/timezone", f"unknown time zone {excerpt(name)}{suggestion}")
        return name, zone

    def unique_ids(self, items: list[Any], base: str, what: str) -> dict[str, int]:
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str):
                continue
            if item_id in first:
                line = self.line_of(f"{base}/{first[item_id]}/id")
                message = f"duplicate {what} id {excerpt(item_id)}; first used on line {line}"
                self.add(f"{base}/{index}/id", message)
            else:
                first[item_id] = index
        return first

    def check_people(self, event: dict[str, Any], base: str, person_ids: Mapping[str, int]) -> None:
        for field in PERSON_FIELDS:
            value = event.get(field)
            refs: list[tuple[str, object]]
            if isinstance(value, list):
                refs = [(f"{base}/{field}/{i}", item) for i, item in enumerate(value)]
            else:
                refs = [(f"{base}/{field}", value)]
            for pointer, ref in refs:
                if isinstance(ref, str) and ref and ref not in person_ids:
                    message = f"unknown person {excerpt(ref)} in {field!r}" + self.suggest(ref, person_ids)
                    if not person_ids:
                        message += " (no one is listed in 'people')"
                    self.add(pointer, message)

    def check_direction(self, event: dict[str, Any], base: str) -> None:
        """`to` belongs to sent emails and calls, `from` to received ones: no swap is guessed."""
        kind, direction = event.get("type"), event.get("direction")
        if kind not in ("email", "call"):
            return
        if direction == "sent" and "from" in event:
            self.add(f"{base}/from#key", f"a sent {kind} names its recipients in 'to', not 'from'")
        elif direction == "received" and "to" in event:
            self.add(f"{base}/to#key", f"a received {kind} names its sender in 'from', not 'to'")

    def check_times(self, index: int, event: dict[str, Any], base: str, zone: tzinfo, judge_future: bool) -> None:
        at = self.parse_time(event.get("at"), f"{base}/at", zone)
        ends = self.parse_time(event.get("ends"), f"{base}/ends", zone)
        if at is not None:
            self.times[index] = at
            if judge_future and at > self.as_of and event.get("type") != "interview":
                event_id = event.get("id", f"#{index + 1}")
                self.add(
                    f"{base}/at",
                    f"event {shorten(str(event_id))} at {at.isoformat()} is after the audit time "
                    f"{self.as_of.astimezone(zone).isoformat()}; "
                    "an event in the future cannot have happened yet",
                )
        if ends is not None:
            self.ends[index] = ends
            if at is not None and ends < at:
                message = f"'ends' {event['ends']} is before 'at' {event['at']}"
                self.add(f"{base}/ends", message)

    def parse_time(self, text: object, pointer: str, zone: tzinfo) -> datetime | None:
        if not isinstance(text, str) or not text:
            return None  # absent, or the schema has said what is wrong
        try:
            date.fromisoformat(text)
        except ValueError:
            pass
        else:
            self.add(pointer, f"time {excerpt(text)} needs a time of day, such as {text}T10:00")
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            if leap_second(text):
                self.add(pointer, leap_second_message(text))
                return None
            self.add(
                pointer,
                f"unparseable time {excerpt(text)}; write an ISO 8601 date and time "
                "such as 2026-11-02T10:00 or 2026-11-02T10:00-05:00",
            )
            return None
        try:
            if value.tzinfo is not None:
                return check_range(value, text).astimezone(zone)
            local = check_range(value.replace(tzinfo=zone), text)
        except InstantError as error:
            self.add(pointer, str(error))
            return None
        # A wall time inside a spring-forward gap does not exist; saying so beats shifting it.
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
            self.add(pointer, f"time {excerpt(text)} does not exist in {zone} (the clocks skip it)")
            return None
        return local

    # -- the model ------------------------------------------------------------------------------

    def build(self, zone_name: str) -> History:
        doc = self.doc
        candidate = doc["candidate"]
        people = tuple(Person(p["id"], p["name"], p["role"], p.get("company")) for p in self.people)
        events = []
        for index, raw in enumerate(self.events):
            data: dict[str, object] = dict(DEFAULTS.get(raw["type"], {}))
            for name, value in raw.items():
                if name in ("id", "type", "at"):
                    continue
                if name in _LIST_FIELDS:
                    data[name] = (value,) if isinstance(value, str) else tuple(value)
                elif name == "ends":
                    data[name] = self.ends[index]
                else:
                    data[name] = value
            line, column = self.where(f"/events/{index}")
            events.append(Event(raw["id"], raw["type"], self.times[index], data, line, column))
        events.sort(key=lambda e: e.at)  # stable: events at the same instant keep file order
        return History(
            source=self.source,
            timezone=zone_name,
            candidate=Candidate(candidate["name"], candidate.get("email"), candidate.get("phone")),
            people=people,
            events=tuple(events),
            version=doc["version"],
            line=0 if self.line_offset is None else self.line_offset + 1,
        )


@functools.lru_cache(maxsize=1)
def _timezone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))  # slow to list; needed only for a typo


def parse_history(
    data: object,
    positions: Positions,
    source: str,
    as_of: datetime,
    line_offset: int | None = None,
) -> History:
    """Validate loaded data as a version 1 history and build the model.

    ``as_of`` (the audit time, timezone-aware) decides which events are in the future.
    ``line_offset`` is given for a line of a JSON Lines file (its line number - 1) and becomes
    ``History.line``; ``None`` for a whole-file document. Raises InputError with every problem.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if isinstance(data, dict) and "pack" in data and "events" not in data:
        line = 1 if line_offset is None else line_offset + 1
        raise InputError(
            [
                Problem(
                    source,
                    line,
                    1,
                    "this file is a rule pack, not a history: use it with "
                    f"`followup audit --pack {source} HISTORY...` (a history lists `events`)",
                )
            ]
        )
    checker = _Checker(data, positions, source, as_of, line_offset)
    checker.check_schema()
    zone_name = checker.check_meaning()
    if checker.problems:
        raise InputError(checker.problems)
    return checker.build(zone_name)


def read_history(source: Source, as_of: datetime) -> History | InputError:
    """Parse and check one source; its problems are returned (not raised) to keep a batch going."""
    if source.problem is not None or source.text is None:
        problem = source.problem or Problem(source.name, 1, 1, "cannot read")
        return InputError([problem])
    try:
        if source.format == "jsonl":
            fast = _fast_jsonl(source, as_of)
            if fast is not None:
                return fast
        if source.format == "yaml":
            data, positions = load_document(source.text, source.name, aliases=False)
        else:
            data, positions = load_json(source.text, source.name, source.line_offset)
        jsonl_offset = source.line_offset if source.format == "jsonl" else None
        return parse_history(data, positions, source.name, as_of, jsonl_offset)
    except InputError as error:
        return error


class _NotPlainJson(Exception):
    """A duplicate key or a non-finite number: leave it to the located loader to explain."""


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotPlainJson
    return result


def _refuse_constant(name: str) -> object:
    raise _NotPlainJson


def _fast_jsonl(source: Source, as_of: datetime) -> History | None:
    """The batch hot path: a valid JSON Lines history needs no position table.

    Every event of a JSONL line is on that line, so the line is position enough (SARIF and the
    other reports point at it). Anything that fails here is redone by the located loader, which
    words the errors with line and column; so the fast path never changes what is reported.
    """
    assert source.text is not None
    try:
        data = json.loads(source.text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
        return parse_history(data, {"": (source.line_offset + 1, 1)}, source.name, as_of, source.line_offset)
    except (_NotPlainJson, ValueError, InputError, RecursionError):
        return None


def load_histories(paths: Sequence[str], as_of: datetime) -> Iterator[History | InputError]:
    """Every history named by ``paths`` (files, directories, ``-``), one at a time, in order."""
    for source in iter_sources(paths):
        yield read_history(source, as_of)
