"""The data model: frozen dataclasses shared by every step of the flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["violation", "next_step"]
Severity = Literal["error", "warning", "info"]
# What a compiled rule does: report a finding of a kind, or derive a fact.
RuleKind = Literal["violation", "next_step", "derive"]
# Which backend runs a compiled pack (`--engine`).
Engine = Literal["durable", "reference"]
# A finding compared with an earlier report (``audit --baseline``).
BaselineState = Literal["new", "unchanged"]
SEVERITY_RANK: Mapping[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    company: str | None = None


@dataclass(frozen=True)
class Candidate:
    name: str
    email: str | None = None
    phone: str | None = None
    # Metadata from the agency or platform. ``id`` identifies the candidate across files and runs
    # (waivers, calendar UIDs, baselines); without it, name and e-mail do.
    id: str | None = None
    coach: str | None = None
    cohort: str | None = None
    tags: tuple[str, ...] = ()
    # Where ``id`` is written, for warnings about it (0 when unknown).
    id_line: int = field(default=0, compare=False)
    id_column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Event:
    """One event of a history.

    ``data`` holds the type-specific fields, normalised: person-id lists (``to``, ``with``) are
    tuples, ``includes`` is a tuple, absent optional fields are absent (not None).
    ``line``/``column`` locate the event in its file (1-based; 0 when unknown).
    """

    id: str
    type: str
    at: datetime
    data: Mapping[str, object] = field(default_factory=dict)
    line: int = 0
    column: int = 0

    def get(self, name: str, default: object = None) -> object:
        return self.data.get(name, default)


@dataclass(frozen=True)
class History:
    source: str
    timezone: str
    candidate: Candidate
    people: tuple[Person, ...]
    events: tuple[Event, ...]
    version: int = 1
    # For .jsonl batches: the line of the file this history came from (0 otherwise).
    line: int = 0

    def person(self, person_id: str) -> Person | None:
        for p in self.people:
            if p.id == person_id:
                return p
        return None


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: Kind
    severity: Severity
    subject: str
    person: str | None
    events: tuple[str, ...]
    due: datetime | None
    message: str
    waived: Waived | None = None
    remedy: str | None = None  # what to do now (violations of rules that say)
    # Set only with ``--baseline``: whether the earlier report already had this finding.
    baseline_state: BaselineState | None = None


@dataclass(frozen=True)
class Waived:
    reason: str
    approved_by: str
    expires: str


@dataclass(frozen=True)
class HistoryResult:
    """The findings of one history (or the problems that kept it from being audited)."""

    source: str
    candidate: str
    findings: tuple[Finding, ...]
    history: History | None = None
    # With ``--baseline``: the earlier report's findings for this candidate that are no longer
    # reported (resolved); None without a baseline.
    absent: tuple[Finding, ...] | None = None

    @property
    def candidate_id(self) -> str | None:
        return self.history.candidate.id if self.history is not None else None
