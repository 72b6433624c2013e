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
