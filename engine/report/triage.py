"""Triage: how urgent each history is, so that the formats can lead with who needs attention.

A history's ``Triage`` is the per-history ``summary`` of the JSON report: errors and warnings
(violations not waived), next steps (not waived), the overdue ones (due before the audit time) and
the earliest due time of the rest. ``--sort urgency`` orders histories by ``urgency``: errors (most
first), then overdue next steps (most first), then the next due time (soonest first, none last),
then the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..model import Finding, HistoryResult
from ..wording import plural

SORTS = ("source", "urgency")


@dataclass(frozen=True)
class Triage:
    errors: int
    warnings: int
    next_steps: int
    overdue: int
    next_due: datetime | None  # in the history's time zone, like a finding's ``due``

    @property
    def needs_attention(self) -> bool:
        """Errors, warnings or overdue next steps: something the coach should look at now."""
        return bool(self.errors or self.warnings or self.overdue)

    def to_dict(self) -> dict[str, object]:
        return {
            "errors": self.errors,
            "warnings": self.warnings,
            "next_steps": self.next_steps,
            "overdue": self.overdue,
            "next_due": self.next_due.isoformat() if self.next_due is not None else None,
        }

    def counts(self) -> str:
        """``2 errors, 1 overdue next step, 3 next steps`` (what there is; "nothing to do" if nothing)."""
        parts = [
            plural(n, word)
            for n, word in (
                (self.errors, "error"),
                (self.warnings, "warning"),
                (self.overdue, "overdue next step"),
                (self.next_steps - self.overdue, "later next step"),
            )
            if n
        ]
        return ", ".join(parts) if parts else "nothing to do"


def is_overdue(f: Finding, as_of: datetime) -> bool:
    return f.kind == "next_step" and f.due is not None and f.due < as_of


def triage(result: HistoryResult, as_of: datetime) -> Triage:
    errors = warnings = steps = overdue = 0
    next_due: datetime | None = None
    for f in result.findings:
        if f.waived is not None:
            continue
        if f.kind == "violation":
            errors += f.severity == "error"
            warnings += f.severity == "warning"
            continue
        steps += 1
        if f.due is None:
            continue
        if f.due < as_of:
            overdue += 1
        elif next_due is None or f.due < next_due:
            next_due = f.due
    return Triage(errors, warnings, steps, overdue, next_due)


def urgency(result: HistoryResult, as_of: datetime) -> tuple[object, ...]:
    """The ``--sort urgency`` key of a history (ascending: most urgent first)."""
    t = triage(result, as_of)
    due = t.next_due.timestamp() if t.next_due is not None else 0.0
    line = result.history.line if result.history is not None else 0
    return (-t.errors, -t.overdue, t.next_due is None, due, result.source, line)


# -- a candidate's to-do list: next steps by when they are due ----------------------------------------

WEEK = 7 * 86400
# (group, heading), in the order a candidate reads them.
DUE_GROUPS = (("overdue", "Overdue"), ("week", "Due within a week"), ("later", "Later"))


def due_group(f: Finding, as_of: datetime) -> str:
    """``overdue``, ``week`` (due within seven days; a step without a due time is due now) or ``later``."""
    if f.due is None:
        return "week"
    if f.due < as_of:
        return "overdue"
    return "week" if (f.due - as_of).total_seconds() <= WEEK else "later"


def span(seconds: float) -> str:
    """A duration in plain words, to the largest unit: ``6 days``, ``3 hours``, ``20 minutes``."""
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return plural(int(seconds // size), unit)
    return "less than a minute"
