"""A pack's examples and tests as histories: completed from the pack's ``examples_base``, placed
in the pack's file, with their times read in the history's zone; and the check of their rule names,
times and histories that ``followup pack validate`` runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..diagnostics import InputError, Positions, Problem, suggest
from .model import Example, Pack
from .parse import Parser


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


# -- checking them --------------------------------------------------------------------------------


def check_examples(pack: Pack, positions: Mapping[str, Positions], problems: list[Problem]) -> None:
    """Rule names, times and histories of every example and test, located in their files."""
    from ..history.read import parse_history

    rule_ids = [r.id for r in pack.rules]
    for example in (*(e for r in pack.rules for e in r.examples), *pack.tests):
        source = example.loc.source
        file_positions = positions.get(source, {})
        parser = Parser(source, file_positions, problems)
        base = example.loc.pointer
        if example.rule is not None and example.rule not in rule_ids:
            tip = suggest(example.rule, rule_ids)
            parser.error(f"{base}/rule", f"the test names rule {example.rule!r}, which the pack does not have{tip}")
        doc = example_history(pack, example)
        timezone = str(doc.get("timezone") or "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # NotFound is a KeyError
            timezone = "UTC"  # the history check reports the bad zone
        for key in ("expect", "expect_not"):
            for j, want in enumerate(getattr(example, key)):
                if not isinstance(want, Mapping):
                    continue  # set aside by the schema check, which already reported it
                rule = want.get("rule")
                if rule is not None and rule not in rule_ids:
                    parser.error(
                        f"{base}/{key}/{j}/rule",
                        f"no rule {rule!r} in pack {pack.name!r}{suggest(str(rule), rule_ids)}",
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
            parse_history(doc, example_positions(pack, example, file_positions), source, as_of)
        except InputError as exc:
            problems.extend(exc.problems)
