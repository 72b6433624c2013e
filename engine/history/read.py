"""Reading histories: one document (YAML, JSON or a JSON Lines line) checked and built into the
model, and a batch of inputs read one after another."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime

from ..diagnostics import InputError, Positions, Problem
from ..io.jsondoc import load_json
from ..io.sources import Source, iter_sources
from ..io.yamldoc import load_document
from ..model import History
from .check import HistoryChecker


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
    checker = HistoryChecker(data, positions, source, as_of, line_offset)
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
        if source.format == "data":  # no file behind it: problems carry their JSON pointer
            return parse_history(json.loads(source.text), {"": (1, 1)}, source.name, as_of)
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
