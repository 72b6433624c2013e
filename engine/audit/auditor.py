"""Auditing: histories in, results out. Ties the flow together for the CLI and the pack tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..backends import Backend, get_backend
from ..backends.base import Fact
from ..compile.compiler import CompiledPack, compile_pack
from ..compile.facts import Patterns, epoch, history_facts
from ..diagnostics import FollowupError, InputError, Problem
from ..history.read import load_histories, read_history
from ..io.sources import Source
from ..model import Engine, History, HistoryResult
from ..pack.load import load_pack
from ..pack.model import Pack
from .findings import build_findings

if TYPE_CHECKING:
    from ..cache.store import ResultCache

Outcome = HistoryResult | InputError


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
        compiled = self.compiled
        return history_facts(history, self.patterns, "member" in compiled.fact_types, compiled.calendar)

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


def audit_one(auditor: Auditor, source: Source, as_of: datetime, cache: ResultCache | None = None) -> Outcome:
    """Read, check and audit one source; a bad one gives its InputError (returned, not raised).

    Whatever goes wrong with this one history (a value out of range, an engine error, memory,
    recursion, a bug of ours) is its error: the batch goes on and every report stays valid.
    With ``cache``, a result still valid at ``as_of`` is taken from it (see ``followup.cache``).
    """
    try:
        if cache is not None:
            return cache.audit(source, as_of)
        history = read_history(source, as_of)
        if isinstance(history, InputError):
            return history
        return auditor.audit(history, as_of)
    except Exception as exc:  # see the docstring: never let one history end the batch
        return InputError([audit_failure(source.name, source.line_offset + 1, exc)])


def audit_sources(
    auditor: Auditor, sources: Iterable[Source], as_of: datetime, cache: ResultCache | None = None
) -> Iterator[Outcome]:
    """Every source's outcome, in order, in this process."""
    for source in sources:
        yield audit_one(auditor, source, as_of, cache)
