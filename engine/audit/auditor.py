"""Auditing: histories in, results out. Ties the flow together for the CLI and the pack tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..backends import Backend, get_backend
from ..backends.base import Fact
from ..compile.compiler import CompiledPack, compile_pack
from ..compile.facts import Patterns, epoch, history_facts
from ..diagnostics import FollowupError, InputError, Problem
from ..history.read import load_histories
from ..model import Engine, History, HistoryResult
from ..pack.load import load_pack
from ..pack.model import Pack
from .findings import build_findings


@dataclass(frozen=True)
class Auditor:
    """A compiled pack bound to an engine backend; audits one history at a time."""

    pack: Pack
    compiled: CompiledPack
    backend: Backend
    patterns: Patterns

    @classmethod
    def for_pack(cls, pack: Pack | str, engine: Engine = "durable") -> Auditor:
        loaded = load_pack(pack) if isinstance(pack, str) else pack
        compiled = compile_pack(loaded)
        return cls(loaded, compiled, get_backend(engine, compiled), Patterns(loaded.patterns))

    def facts(self, history: History) -> list[dict[str, object]]:
        """The history's base facts for this pack (they do not depend on the audit time)."""
        return history_facts(history, self.patterns, members="member" in self.compiled.fact_types)

    def audit(self, history: History, as_of: datetime, facts: Sequence[Fact] | None = None) -> HistoryResult:
        """Audit ``history`` at ``as_of``; ``facts``: its facts when already prepared (``facts``)."""
        if facts is None:
            facts = self.facts(history)
        firings = self.backend.run(facts, epoch(as_of))
        findings = build_findings(self.compiled, firings, history)
        return HistoryResult(history.source, history.candidate.name, findings, history)


# How much of an exception's own text a message quotes: enough to recognise it, never a dump.
FAILURE_EXCERPT = 200


def audit_failure(source: str, line: int, exc: Exception) -> Problem:
    """What an unexpected failure while auditing one history is reported as: an error located at
    that history, so that the batch goes on (the message says what happened, not where in the code)."""
    if isinstance(exc, MemoryError):
        what = "ran out of memory"
    elif isinstance(exc, RecursionError):
        what = "the history is nested too deeply to audit (RecursionError)"
    else:
        text = " ".join(str(exc).split())
        if len(text) > FAILURE_EXCERPT:
            text = text[:FAILURE_EXCERPT] + "..."
        what = text if isinstance(exc, FollowupError) else f"internal error: {type(exc).__name__}: {text}"
    return Problem(source, line, 1, f"cannot audit this history: {what}; it is left out, the others are reported")


def audit_paths(auditor: Auditor, paths: Sequence[str], as_of: datetime) -> Iterator[HistoryResult | InputError]:
    """Audit every history under ``paths`` in order; a bad history yields its InputError."""
    for item in load_histories(paths, as_of):
        if isinstance(item, InputError):
            yield item
            continue
        outcome: HistoryResult | InputError
        try:
            outcome = auditor.audit(item, as_of)
        except Exception as exc:  # one history never ends the batch (see audit_failure)
            outcome = InputError([audit_failure(item.source, max(item.line, 1), exc)])
        yield outcome
