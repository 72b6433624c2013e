"""A history's result as JSON for the cache, and back, exactly.

JSON rather than pickle: a cache directory is data, and reading it must never run code. A result
is stored as audited (before waivers) with positions relative to its JSON Lines line, so that the
same line further down the file is the same entry. ``encode`` refuses (``NotExact``) any value it
cannot give back as it was, and ``exact`` compares two results field by field, types, time zones
and dict order included: the cache stores an entry only when ``decode(encode(r))`` is exactly
``r``, and its cut-down form exactly ``positions_only(r)``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from ..model import Candidate, Event, Finding, History, HistoryResult, Person


class NotExact(Exception):
    """A value the codec cannot store exactly: the result is not cached."""


def encode(result: HistoryResult, line_offset: int) -> tuple[dict[str, Any], list[Any]]:
    """``result`` as two JSON values: the head (findings, candidate, people, and the events that
    are subjects of findings, by position only) and every event in full. A run whose reports need
    only positions reads just the head (see ``decode``)."""
    history = result.history
    if history is None:
        raise NotExact("a result without its history")
    subjects = {f.subject for f in result.findings}
    head = {
        "candidate": result.candidate,
        "findings": [_finding(f) for f in result.findings],
        "timezone": history.timezone,
        "person": _candidate(history.candidate, line_offset),
        "people": [[p.id, p.name, p.role, p.company] for p in history.people],
        "subjects": [
            [e.id, e.type, _time(e.at), e.line - line_offset, e.column] for e in history.events if e.id in subjects
        ],
        "version": history.version,
        "line": history.line - line_offset if history.line else 0,
    }
    events = [[e.id, e.type, _time(e.at), _fields(e.data), e.line - line_offset, e.column] for e in history.events]
    return head, events


def decode(head: Mapping[str, Any], events: list[Any] | None, source: str, line_offset: int) -> HistoryResult:
    """The result ``encode`` stored, for the history now read from ``source`` at ``line_offset``.

    Without ``events`` the history is cut down as ``audit.parallel.positions_only`` cuts it (only
    the findings' subject events, without their fields): all that most report formats read, and
    much less to build. Raises KeyError, TypeError, ValueError (and their kin) on data that
    ``encode`` did not write.
    """
    zones: dict[str | None, tzinfo] = {}
    findings = tuple(
        Finding(
            rule, kind, severity, subject, person, tuple(evidence), _read_time(due, zones), message, remedy=remedy
        )
        for rule, kind, severity, subject, person, evidence, due, message, remedy in head["findings"]
    )
    if events is None:
        kept = tuple(
            Event(eid, kind, _instant(at, zones), {}, line + line_offset, column)
            for eid, kind, at, line, column in head["subjects"]
        )
    else:
        kept = tuple(
            Event(eid, kind, _instant(at, zones), _read_fields(values), line + line_offset, column)
            for eid, kind, at, values, line, column in events
        )
    c = head["person"]
    history = History(
        source=source,
        timezone=head["timezone"],
        candidate=Candidate(
            c[0],
            c[1],
            c[2],
            id=c[3],
            coach=c[4],
            cohort=c[5],
            tags=tuple(c[6]),
            id_line=c[7] + line_offset if c[7] else 0,
            id_column=c[8],
        ),
        people=tuple(Person(p[0], p[1], p[2], p[3]) for p in head["people"]),
        events=kept,
        version=head["version"],
        line=head["line"] + line_offset if head["line"] else 0,
    )
    return HistoryResult(source, head["candidate"], findings, history)


def _finding(f: Finding) -> list[Any]:
    if f.waived is not None:
        raise NotExact("a waived finding (waivers are applied after the cache)")
    if f.baseline_state is not None:
        raise NotExact("a finding compared with a baseline (that is done after the cache)")
    return [f.rule, f.kind, f.severity, f.subject, f.person, list(f.events), _time(f.due), f.message, f.remedy]


def _candidate(c: Candidate, line_offset: int) -> list[Any]:
    line = c.id_line - line_offset if c.id_line else 0
    return [c.name, c.email, c.phone, c.id, c.coach, c.cohort, list(c.tags), line, c.id_column]


def _time(moment: datetime | None) -> list[Any] | None:
    """An aware time as its ISO text and its zone: the zone's name for a named zone."""
    if moment is None:
        return None
    zone = moment.tzinfo
    if isinstance(zone, ZoneInfo):
        return [moment.isoformat(), zone.key]
    if zone is UTC:
        return [moment.isoformat(), None]
    raise NotExact(f"a time in zone {zone!r}")


def _read_time(value: list[Any] | None, zones: dict[str | None, tzinfo] | None = None) -> datetime | None:
    return None if value is None else _instant(value, zones)


def _instant(value: list[Any], zones: dict[str | None, tzinfo] | None = None) -> datetime:
    text, key = value
    zone = None if zones is None else zones.get(key)
    if zone is None:
        zone = UTC if key is None else ZoneInfo(key)
        if zones is not None:
            zones[key] = zone
    return datetime.fromisoformat(text).astimezone(zone)


def _fields(data: Mapping[str, object]) -> dict[str, Any]:
    """An event's fields: a JSON object whose values are plain where they are plain JSON."""
    if not all(isinstance(k, str) for k in data):
        raise NotExact("an event field whose name is not text")
    return {k: _value(v) for k, v in data.items()}


def _read_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _read_value(v) if v.__class__ is dict else v for k, v in data.items()}


# Containers and times carry a one-letter tag (a JSON object, which no plain value is), so that a
# tuple comes back a tuple and a time a time.
def _value(value: object) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotExact("a number that is not finite")
        return value
    if isinstance(value, tuple):
        return {"t": [_value(v) for v in value]}
    if isinstance(value, list):
        return {"l": [_value(v) for v in value]}
    if isinstance(value, datetime):
        return {"d": _time(value)}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotExact("a mapping with keys that are not text")
        return {"m": [[k, _value(v)] for k, v in value.items()]}
    raise NotExact(f"a value of type {type(value).__name__}")


def _read_value(value: Any) -> Any:
    if value.__class__ is not dict:
        return value
    ((tag, inner),) = value.items()
    if tag == "t":
        return tuple(_read_value(v) for v in inner)
    if tag == "l":
        return [_read_value(v) for v in inner]
    if tag == "d":
        return _read_time(inner)
    if tag == "m":
        return {k: _read_value(v) for k, v in inner}
    raise ValueError(f"unknown tag {tag!r}")


def exact(a: object, b: object) -> bool:
    """Whether ``a`` and ``b`` are the same in every respect a report could show."""
    if type(a) is not type(b):
        return False
    if isinstance(a, datetime):
        assert isinstance(b, datetime)
        same = a.isoformat() == b.isoformat() and a.tzinfo is b.tzinfo and a.fold == b.fold
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        same = all(exact(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    elif isinstance(a, dict):
        assert isinstance(b, dict)
        same = list(a) == list(b) and all(exact(a[k], b[k]) for k in a)
    elif isinstance(a, tuple | list):
        assert isinstance(b, tuple | list)
        same = len(a) == len(b) and all(exact(x, y) for x, y in zip(a, b, strict=True))
    elif isinstance(a, float):
        assert isinstance(b, float)
        same = math.copysign(1, a) == math.copysign(1, b)
    else:
        same = True
    return same and a == b
