"""One exception root; every problem carries a source location (lines and columns count from 1)."""

from __future__ import annotations

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
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


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


class UsageError(FollowupError):
    """The command line asks for something that cannot be done (exit 2)."""


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
