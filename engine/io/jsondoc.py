"""JSON documents (`.json` files, `.jsonl` lines) as plain data, with the position of every value.

Parsed by :mod:`json` for exact JSON semantics and speed; a second, token-level pass finds the
positions and duplicate keys. Positions are keyed by JSON pointer, as for YAML (see `yamldoc`)."""

from __future__ import annotations

import bisect
import json
import re

from ..diagnostics import InputError, Positions, Problem, escape_segment, shorten
from .yamldoc import MAX_DEPTH, duplicate_key

# JSON tokens, enough to find where keys and values start in text json.loads already accepted.
# A key and the start of its value are one token (group 1 the key, group 2 the value), which
# halves the iterations of the loop below; commas and colons are never tokens on their own.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'


_JSON_TOKEN = re.compile(
    rf'({_STRING})\s*:\s*({_STRING}|[{{\[]|[^\s{{}}\[\],:"]+)'  # "key": value
    rf'|([}}\]])'  # the end of a collection
    rf'|{_STRING}|[{{\[]|[^\s{{}}\[\],:"]+'  # a value with no key: an item, or the root
)


class _JsonFrame:
    __slots__ = ("count", "is_map", "keys", "pointer")

    def __init__(self, pointer: str, is_map: bool) -> None:
        self.pointer = pointer
        self.is_map = is_map
        self.count = 0  # sequences: items so far
        self.keys: dict[str, tuple[int, int]] = {}


def load_json(text: str, source: str, line_offset: int = 0) -> tuple[object, Positions]:
    """Parse one JSON document (a ``.json`` file, or one line of a ``.jsonl`` file).

    ``line_offset`` is added to every line, so that positions inside line N of a JSON Lines file
    (``line_offset = N - 1``) point into the real file; columns count within that line.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"JSON syntax error: {exc.msg}"
        raise InputError([Problem(source, exc.lineno + line_offset, exc.colno, message)]) from None
    except (RecursionError, ValueError) as exc:  # deep nesting; an integer of 5,000 digits
        if isinstance(exc, RecursionError):
            reason = "nested too deeply"
        elif "digits" in str(exc):  # Python's words name an interpreter setting: not for users
            reason = "a number with more than 4,300 digits is too long to read"
        else:
            reason = shorten(str(exc), 200)
        problem = Problem(source, line_offset + 1, 1, f"cannot read JSON: {reason}")
        raise InputError([problem]) from None
    positions, problems = _json_positions(text, source, line_offset)
    if problems:
        raise InputError(problems)
    return data, positions


def _json_positions(text: str, source: str, line_offset: int) -> tuple[Positions, list[Problem]]:
    # The hot loop of a JSON Lines batch: kept flat, with slot-only frames.
    positions: Positions = {}
    problems: list[Problem] = []
    single_line = "\n" not in text
    line = line_offset + 1
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)] if not single_line else []

    def where(offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(line_starts, offset) - 1
        return line_offset + index + 1, offset - line_starts[index] + 1

    stack: list[_JsonFrame] = []
    for match in _JSON_TOKEN.finditer(text):
        if match.lastindex == 3:
            stack.pop()
            continue
        if match.lastindex == 2:  # "key": value
            frame = stack[-1]
            token = match.group(1)
            key = json.loads(token) if "\\" in token else token[1:-1]
            pointer = f"{frame.pointer}/{escape_segment(key)}"
            offset = match.start()
            at = (line, offset + 1) if single_line else where(offset)
            seen = frame.keys.get(key)
            if seen is not None:
                problems.append(Problem(source, *at, duplicate_key(key, seen), pointer))
            else:
                frame.keys[key] = at
            positions[pointer + "#key"] = at
            offset = match.start(2)
            first = match.group(2)[0]
        else:
            if stack:
                frame = stack[-1]
                pointer = f"{frame.pointer}/{frame.count}"
                frame.count += 1
            else:
                pointer = ""
            offset = match.start()
            first = text[offset]
        at = (line, offset + 1) if single_line else where(offset)
        positions[pointer] = at
        if first in "{[":
            if len(stack) >= MAX_DEPTH:
                problems.append(Problem(source, *at, f"nested more than {MAX_DEPTH} levels deep"))
                break
            stack.append(_JsonFrame(pointer, first == "{"))
    return positions, problems
