"""Auditing: histories in, results out. Ties the flow together for the CLI and the pack tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from .backends import Backend, get_backend
from .compiler import CompiledPack, compile_pack
from .errors import InputError
from .facts import Patterns, epoch, history_facts
from .findings import build_findings
from .history import load_histories
from .model import History, HistoryResult
from .pack import load_pack
from .packmodel import Pack


@dataclass(frozen=True)
class Auditor:
    """A compiled pack bound to an engine backend; audits one history at a time."""

    pack: Pack
    compiled: CompiledPack
    backend: Backend
    patterns: Patterns

    @classmethod
    def for_pack(cls, pack: Pack | str, engine: str = "durable") -> Auditor:
        loaded = load_pack(pack) if isinstance(pack, str) else pack
        compiled = compile_pack(loaded)
        return cls(loaded, compiled, get_backend(engine, compiled), Patterns(loaded.patterns))

    def audit(self, history: History, as_of: datetime) -> HistoryResult:
        facts = history_facts(history, self.patterns, members="member" in self.compiled.fact_types)
        firings = self.backend.run(facts, epoch(as_of))
        findings = build_findings(self.compiled, firings, history)
        return HistoryResult(history.source, history.candidate.name, findings, history)


def audit_paths(auditor: Auditor, paths: Sequence[str], as_of: datetime) -> Iterator[HistoryResult | InputError]:
    """Audit every history under ``paths`` in order; a bad history yields its InputError."""
    for item in load_histories(paths, as_of):
        if isinstance(item, InputError):
            yield item
        else:
            yield auditor.audit(item, as_of)
