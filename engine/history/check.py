"""Check a loaded history (JSON Schema, then meaning) and turn it into the model.

Every problem of a document is collected before anything is raised, each at the line and column
of the value it is about, in plain words with a did-you-mean where a name looks mistyped.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jsonschema.exceptions import ValidationError

from ..diagnostics import (
    KEYWORDS,
    DocumentKind,
    Positions,
    Problem,
    SchemaMessage,
    SchemaPath,
    Suggester,
    excerpt,
    json_pointer,
    locate,
    schema_messages,
    shorten,
)
from ..model import Candidate, Event, History, Person
from .instants import InstantError, check_range, leap_second, leap_second_message
from .replies import check_replies
from .schema import validators

DEFAULT_TIMEZONE = "UTC"
PERSON_FIELDS = ("with", "to", "from", "proofread_by", "target", "reference")
# Defaults the schema documents; applied here so every later step sees them.
DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "email": {"purpose": "other"},
    "call": {"purpose": "other"},
    "reference_contact": {"request": "heads_up"},
}
_LIST_FIELDS = frozenset({"with", "to", "includes"})


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


# Social networks people write as an event type; each is a `social` event with a `network`.
_NETWORKS = frozenset(
    ("linkedin", "xing", "twitter", "x", "facebook", "instagram", "github", "mastodon", "bluesky", "threads")
)


def _enum(error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester) -> Iterator[SchemaMessage]:
    """An event type that is really a social network gets the event it should be, not a list."""
    value = error.instance
    if _field_word(path) == "event type" and isinstance(value, str) and value.strip().lower() in _NETWORKS:
        network = excerpt(value.strip())
        yield SchemaMessage(
            json_pointer(path),
            f"unknown event type {excerpt(value)}; activity on a social network is an event "
            f"of type 'social' with network {network} and an 'action' (e.g. connect, message)",
        )
        return
    yield from KEYWORDS["enum"](error, path, kind, suggest)


class HistoryChecker:
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
            wording={"enum": _enum},
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
            return f" in {kind} event" if kind in validators().by_type else " in event"
        if path[:1] == ("people",) or path[:1] == ["people"]:
            return " in person"
        if path and path[0] == "candidate":
            return " in candidate"
        return "" if not path else f" in {excerpt(path[-1])}"

    # -- JSON Schema ----------------------------------------------------------------------------

    def check_schema(self) -> None:
        compiled = validators()
        if compiled.document_ok(self.data) and all(compiled.type_ok[event["type"]](event) for event in self.events):
            return  # the document passed the type check, so every event has a known type
        for error in compiled.document.iter_errors(self.data):
            self.report(error, ())
        for index, event in enumerate(self.events):
            kind = event.get("type") if isinstance(event, dict) else None
            if isinstance(kind, str) and kind in compiled.by_type:
                for error in compiled.by_type[kind].iter_errors(event):
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
                elif self.event_type(other) in validators().type_ok:
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
        check_replies(self, event_ids)
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
                    self.add(pointer, self.unknown_person(ref, field, person_ids))

    def unknown_person(self, ref: str, field: str, person_ids: Mapping[str, int]) -> str:
        message = f"unknown person {excerpt(ref)} in {field!r}"
        # People write the name they know; events name people by the id given under `people`.
        named = [
            p["id"]
            for p in self.people
            if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("id"), str)
            and " ".join(p["name"].split()).casefold() == " ".join(ref.split()).casefold()
        ]
        if named:
            person = excerpt(named[0])
            return f"{message}: that is the name of person {person}; events name people by id, write {person}"
        message += self.suggest(ref, person_ids)
        if field == "proofread_by":
            message += "; whoever proofread the message is listed under 'people' like anyone else (e.g. role: friend)"
        elif not person_ids:
            message += " (no one is listed in 'people')"
        return message

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
        value = self.read_iso(text, pointer)
        return None if value is None else self.in_zone(value, text, pointer, zone)

    def read_iso(self, text: str, pointer: str) -> datetime | None:
        """``text`` as an ISO 8601 date and time, or None with a problem saying what is wrong."""
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
        return value

    def in_zone(self, value: datetime, text: str, pointer: str, zone: tzinfo) -> datetime | None:
        """``value`` in ``zone`` (a wall time is read there), or None for a time out of range or skipped."""
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
        id_line, id_column = self.where("/candidate/id") if "id" in candidate else (0, 0)
        return History(
            source=self.source,
            timezone=zone_name,
            candidate=Candidate(
                candidate["name"],
                candidate.get("email"),
                candidate.get("phone"),
                id=candidate.get("id"),
                coach=candidate.get("coach"),
                cohort=candidate.get("cohort"),
                tags=tuple(candidate.get("tags", ())),
                id_line=id_line,
                id_column=id_column,
            ),
            people=people,
            events=tuple(events),
            version=doc["version"],
            line=0 if self.line_offset is None else self.line_offset + 1,
        )


@functools.lru_cache(maxsize=1)
def _timezone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))  # slow to list; needed only for a typo


