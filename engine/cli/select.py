"""`audit --where`: choosing histories by their candidate's metadata, and noticing two histories
that claim one candidate id.

``--where coach=Mia --where tag=remote --where tag=data`` keeps the histories whose coach is Mia
and that carry the tag remote or data: conditions on different fields must all hold, several
values of one field are alternatives. Free text people type (coach, cohort, tag, name) is
compared ignoring case and surrounding spaces; an id is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..diagnostics import Problem, Suggester, excerpt
from ..model import Candidate, HistoryResult
from ..wording import plural

# field -> whether its values are free text (compared ignoring case)
FIELDS: Mapping[str, bool] = {"id": False, "coach": True, "cohort": True, "tag": True, "name": True}


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Where:
    """The conditions of every ``--where``; empty selects everything."""

    wanted: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, values: Iterable[str]) -> Where:
        """``KEY=VALUE`` strings; ValueError says what is wrong with the first bad one."""
        wanted: dict[str, set[str]] = {}
        for value in values:
            key, sep, text = value.partition("=")
            key = key.strip().lower()
            if not sep or not text.strip():
                raise ValueError(f"{value!r}: write FIELD=VALUE, e.g. coach=Mia (fields: {', '.join(FIELDS)})")
            if key not in FIELDS:
                tip = Suggester()(key, list(FIELDS)) or f"; fields: {', '.join(FIELDS)}"
                raise ValueError(f"unknown field {excerpt(key)} in {value!r}{tip}")
            wanted.setdefault(key, set()).add(_fold(text) if FIELDS[key] else text.strip())
        return cls({k: frozenset(v) for k, v in wanted.items()})

    def __bool__(self) -> bool:
        return bool(self.wanted)

    def selects(self, candidate: Candidate) -> bool:
        for key, values in self.wanted.items():
            if key == "tag":
                have = {_fold(t) for t in candidate.tags}
            else:
                value = getattr(candidate, key)
                have = set() if value is None else {_fold(value) if FIELDS[key] else value}
            if not have & values:
                return False
        return True


@dataclass
class IdClaims:
    """The first history seen for each candidate id, to warn when a later one claims it too."""

    first: dict[str, str] = field(default_factory=dict)

    def check(self, result: HistoryResult) -> Problem | None:
        candidate_id = result.candidate_id
        if candidate_id is None or result.history is None:
            return None
        history = result.history
        where = f"{result.source}:{history.line}" if history.line else result.source
        earlier = self.first.setdefault(candidate_id, where)
        if earlier == where:
            return None
        line = history.candidate.id_line or max(history.line, 1)
        column = history.candidate.id_column or 1
        return Problem(
            result.source,
            line,
            column,
            f"warning: candidate id {excerpt(candidate_id)} is also claimed by {earlier}; "
            "reports, waivers and baselines treat the two histories as one candidate",
        )


class Intake:
    """What the audit loop keeps of each result: those ``--where`` selects, with a warning (to
    ``warn``) for a candidate id claimed twice."""

    def __init__(self, where: Where, warn: Callable[[Problem], None]) -> None:
        self.where = where
        self.warn = warn
        self.claims = IdClaims()
        self.left_out = 0

    def take(self, result: HistoryResult) -> bool:
        if self.where and result.history is not None and not self.where.selects(result.history.candidate):
            self.left_out += 1
            return False
        if (claimed := self.claims.check(result)) is not None:
            self.warn(claimed)
        return True

    def note(self, reported: int) -> str | None:
        """The line that says what ``--where`` left out (None without it)."""
        if not self.where:
            return None
        return f"followup: --where left out {plural(self.left_out, 'history')}, {reported} reported"
