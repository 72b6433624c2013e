"""One exception root; every problem carries a source location (lines and columns count from 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located precisely enough to jump to it."""

    source: str
    line: int
    column: int
    message: str
    # A JSON pointer into the document or a rule id: extra context for machine readers.
    pointer: str = field(default="", compare=False)

    def __str__(self) -> str:
        # One line whatever the file is called or the message quotes: nothing in it can start a
        # line of its own, move a terminal's cursor or look like a CI runner's command.
        return f"{display_path(self.source)}:{self.line}:{self.column}: {printable(self.message)}"


class FollowupError(Exception):
    """Root of every error this package raises on purpose."""


class InputError(FollowupError):
    """A file (history, pack, waivers) is unreadable or invalid; holds every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem]]]:
        # Worker processes send these back to the parent: rebuild from the problems, not the text.
        return (InputError, (self.problems,))


# Never printed raw to a terminal or a CI log: C0 and C1 controls (CR and LF would start a line a
# CI runner reads as a command, ESC starts terminal escape codes), DEL, the Unicode line and
# paragraph separators, the bidi embeddings, overrides and isolates that reorder what a reader
# sees ("Trojan source"), lone surrogates (not encodable) and the noncharacters U+FFFE and U+FFFF.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
# Azure Pipelines (``##vso[``), the GitHub runner (``##[``, its legacy form) and TeamCity
# (``##teamcity[``) obey these anywhere in a line of the log, not only at its start.
CI_COMMAND = re.compile(r"(##[A-Za-z]*)\[")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# ``C:\\`` or ``C:/`` starts an ordinary Windows path: that colon alone does not need quotes.
_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """``text`` with every ``UNSAFE`` character written as a Python escape: ``\\n``, ``\\x1b``, ``\\u202e``."""
    return UNSAFE.sub(_escape, text) if UNSAFE.search(text) else text


def printable(text: str) -> str:
    """``text`` safe on one line of a terminal or CI log: every ``UNSAFE`` character as a Python
    escape (``\\n``, ``\\x1b``, ``\\u202e``) and the ``[`` of a ``##…[`` log command as ``\\x5b``.
    Everything else (accents, CJK, emoji, backslashes) is unchanged, so ordinary text prints as is."""
    text = escape_controls(text)
    if "##" in text:
        text = CI_COMMAND.sub(lambda m: m.group(1) + "\\x5b", text)
    return text


def display_path(path: str) -> str:
    """A file name for a ``file:line:col`` line: as is when ordinary; in double quotes, with
    ``\\``, ``"`` and unsafe characters escaped, when it holds a colon (other than a drive
    letter's), a control or bidi character, a log command, or starts with a quote. The line can
    then always be split back into the path and the position."""
    rest = path[2:] if _DRIVE.match(path) else path
    if ":" not in rest and not path.startswith('"') and not UNSAFE.search(path) and not CI_COMMAND.search(path):
        return path
    return '"' + printable(path.replace("\\", "\\\\").replace('"', '\\"')) + '"'


EXCERPT_LENGTH = 60


def shorten(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, with ``…`` where it was cut."""
    return text[:limit] + "…" if len(text) > limit else text


def excerpt(value: object, limit: int = EXCERPT_LENGTH) -> str:
    """``value`` quoted for a message, at most about ``limit`` characters (``…`` marks a cut).

    A message may quote what a file holds but never copies it whole: a value can be megabytes
    long, and a list or mapping is described, never printed (YAML aliases can make it huge).
    """
    if isinstance(value, str):
        return repr(shorten(value, limit))
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() <= 3 * limit:  # about `limit` digits: cheap to print
            return repr(value)
        return "a very large integer"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return f"a mapping of {len(value):,} keys"
    return excerpt(str(value), limit)
