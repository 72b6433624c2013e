"""The Python API: load a pack once, audit one history or stream a batch (docs/api.md).

Everything here is public and re-exported by the package (``followup.load_pack``,
``followup.audit``, ...); the rest of the package is not, and may change in any release.
A result's ``to_dict()`` is built by the very function that writes a history's entry of the JSON
report, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import __version__
from .audit.auditor import Auditor, audit_one
from .audit.batch import Batch, stream
from .diagnostics import FollowupError, InputError, Problem
from .history.instants import InstantError, check_range, leap_second, leap_second_message
from .io.sources import DEFAULT_MAX_SIZE, Source, iter_sources
from .model import Engine, Finding, HistoryResult
from .pack.load import DEFAULT_PACK
from .pack.load import load_pack as _load_model
from .pack.model import Pack
from .report.base import Context, display_source
from .report.jsonreport import history_dict

__all__ = [
    "AuditResult",
    "Finding",
    "FollowupError",
    "InputError",
    "PackError",
    "Problem",
    "RulePack",
    "audit",
    "audit_many",
    "load_pack",
]

# What a history given as a mapping is called in results and problems, unless named.
MAPPING_SOURCE = "<mapping>"

History = str | os.PathLike[str] | Mapping[str, Any]
"""A history: the path of a YAML, JSON or one-line JSON Lines file, or a mapping in the history
format with JSON values only (as ``json.load`` gives it: times are ISO 8601 text)."""


class PackError(InputError):
    """A rule pack is missing or invalid; ``problems`` locates every mistake in the pack's files.

    A subclass of :class:`InputError`: code that handles any bad input catches both."""

    def __reduce__(self) -> tuple[type[PackError], tuple[list[Problem]]]:
        return (PackError, (self.problems,))  # stays a PackError across processes


@dataclass(frozen=True, eq=False)
class RulePack:
    """A loaded, checked and compiled rule pack, ready to audit (:func:`load_pack`).

    Load it once and reuse it: loading checks and compiles the pack. It may be shared by threads
    (audits through one pack take turns) and pickled (it is rebuilt, compiled once, on the other
    side: a worker process, a Dask worker).
    """

    auditor: Auditor = field(repr=False)
    engine: Engine = "durable"
    # The durable_rules engine keeps one session per ruleset at a time: audits through this pack
    # from several threads must take turns.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.auditor.pack.name

    @property
    def version(self) -> str:
        return self.auditor.pack.version

    @property
    def rules(self) -> tuple[str, ...]:
        """The ids of the pack's enabled rules."""
        return tuple(rule.id for rule in self.auditor.pack.rules if rule.enabled)

    @property
    def model(self) -> Pack:
        """The resolved pack itself (``extends`` and overrides applied)."""
        return self.auditor.pack

    @classmethod
    def of(cls, model: Pack, engine: Engine = "durable") -> RulePack:
        """A resolved pack (already loaded and checked), compiled for ``engine``."""
        return cls(Auditor.for_pack(model, engine), engine)

    def __reduce__(self) -> tuple[Any, tuple[Pack, Engine]]:
        return (RulePack.of, (self.auditor.pack, self.engine))

    def context(self, as_of: datetime) -> Context:
        """What a report of a run with this pack at ``as_of`` shows besides the results."""
        return Context(__version__, self.auditor.pack, as_of, "error", self.engine)


def load_pack(name_or_path: str | os.PathLike[str], *, engine: Engine = "durable") -> RulePack:
    """A built-in pack by name (``"interview-follow-up"``) or a pack file by path, checked and
    compiled. ``engine="reference"`` audits with the independent cross-check evaluator.

    Raises :class:`PackError` listing every problem of the pack (and of the packs it extends).
    """
    if engine not in ("durable", "reference"):
        raise ValueError(f"engine must be 'durable' or 'reference', not {engine!r}")
    try:
        model = _load_model(os.fspath(name_or_path))
    except PackError:
        raise
    except InputError as error:
        raise PackError(error.problems) from None
    return RulePack.of(model, engine)


@dataclass(frozen=True)
class AuditResult:
    """The findings of one history, audited with a pack at an audit time."""

    result: HistoryResult = field(repr=False)
    # The pack and the audit time, as the report of the same run would show them.
    context: Context = field(repr=False)

    @property
    def as_of(self) -> datetime:
        return self.context.as_of

    @property
    def pack(self) -> str:
        """The name of the pack the history was audited with."""
        return self.context.pack.name

    @property
    def source(self) -> str:
        """Where the history came from: its file (``file.jsonl:12`` for a JSON Lines line), or the
        name given to a mapping."""
        return display_source(self.result)

    @property
    def candidate(self) -> str:
        return self.result.candidate

    @property
    def candidate_id(self) -> str | None:
        return self.result.candidate_id

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Violations and next steps, in the report's order."""
        return self.result.findings

    @property
    def violations(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.result.findings if f.kind == "violation")

    @property
    def next_steps(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.result.findings if f.kind == "next_step")

    def to_dict(self) -> dict[str, object]:
        """This history's entry of the JSON report (``followup audit --format json``), exactly."""
        return history_dict(self.result, self.context)


def as_of_time(value: str | datetime | None) -> datetime:
    """The audit time: now (to the second) for None; ISO 8601 text or a datetime, UTC when it has
    no offset (as ``--as-of``). Raises ValueError (an ``InstantError``) in words otherwise."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    if isinstance(value, datetime):
        moment, text = value, value.isoformat()
    elif isinstance(value, str):
        try:
            moment, text = datetime.fromisoformat(value), value
        except ValueError:
            if leap_second(value):
                raise InstantError(leap_second_message(value)) from None
            raise InstantError(
                f"{value!r} is not an ISO 8601 time, e.g. 2026-11-25T12:00 or 2026-11-25T12:00-05:00"
            ) from None
    else:
        raise TypeError(f"as_of must be a str, a datetime or None, not {type(value).__name__}")
    return check_range(moment if moment.tzinfo else moment.replace(tzinfo=UTC), text)


def _pack(pack: RulePack | str | os.PathLike[str] | None) -> RulePack:
    if isinstance(pack, RulePack):
        return pack
    return load_pack(DEFAULT_PACK if pack is None else pack)


def _mapping_source(history: Mapping[str, Any], name: str) -> Source:
    """A mapping as the JSON text workers read: exactly what a JSON file of it would hold, so it is
    checked like one. Data JSON cannot hold (a date object, a set, NaN) is that history's error."""
    try:
        text = json.dumps(history, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        problem = Problem(name, 1, 1, f"cannot read this mapping as a history: {exc}; use JSON values only")
        return Source(name, None, problem=problem, format="data")
    return Source(name, text, format="data")


def _sources(history: History, name: str | None) -> Iterator[Source]:
    if isinstance(history, Mapping):
        yield _mapping_source(history, name or MAPPING_SOURCE)
    elif isinstance(history, str | os.PathLike):
        yield from iter_sources([os.fspath(history)])
    else:
        raise TypeError(f"a history is a path or a mapping, not {type(history).__name__}")


def _run(pack: RulePack, source: Source, as_of: datetime) -> HistoryResult | InputError:
    with pack.lock:
        return audit_one(pack.auditor, source, as_of)


def audit(
    history: History,
    *,
    pack: RulePack | str | os.PathLike[str] | None = None,
    as_of: str | datetime | None = None,
    source: str | None = None,
) -> AuditResult:
    """Audit one history with ``pack`` (a :class:`RulePack`, a pack name or path; default the
    built-in ``interview-follow-up``) at ``as_of`` (default now).

    ``history`` is a path (a YAML or JSON history, or a JSON Lines file of one history) or a
    mapping in the history format; ``source`` names a mapping in results and problems.
    Raises :class:`InputError` (every problem located) for a bad history, :class:`PackError` for
    a bad pack, ValueError for a bad ``as_of``.
    """
    moment = as_of_time(as_of)
    rules = _pack(pack)
    sources = _sources(history, source)
    first = next(sources)  # a path always gives a source, or one carrying why it cannot be read
    if next(sources, None) is not None:
        raise ValueError(f"{first.name!r} holds more than one history: audit it with followup.audit_many")
    outcome = _run(rules, first, moment)
    if isinstance(outcome, InputError):
        raise outcome
    return AuditResult(outcome, rules.context(moment))


def audit_many(
    histories: Iterable[History],
    *,
    pack: RulePack | str | os.PathLike[str] | None = None,
    as_of: str | datetime | None = None,
    jobs: int | None = None,
    max_history_size: int = DEFAULT_MAX_SIZE,
) -> Iterator[AuditResult | InputError]:
    """Audit many histories, yielding each one's :class:`AuditResult` (or its :class:`InputError`:
    one bad history never stops the others) in input order, as soon as it is ready.

    ``histories``: paths (files, folders searched recursively for ``*.yaml``, ``*.yml``,
    ``*.json``, ``*.jsonl``; a JSON Lines file gives one history a line) and mappings, mixed as you
    like. ``jobs``: worker processes, as ``followup audit --jobs`` (None: decided from the size of
    the batch; 1: this process). Memory stays flat however many histories stream through.
    """
    moment = as_of_time(as_of)
    rules = _pack(pack)
    context = rules.context(moment)
    batch = Batch.of(_all_sources(histories, max_history_size))
    if batch.jobs(jobs) == 1:
        # Not batch.stream: that tunes this process's allocator for a long batch, which a library
        # must not do to its caller's process; and audits here take turns on a shared pack.
        for item in batch:
            outcome = _run(rules, item, moment)
            yield outcome if isinstance(outcome, InputError) else AuditResult(outcome, context)
        return
    outcomes = stream(rules.auditor, batch, moment, jobs=jobs, engine=rules.engine, formats=("json",))
    try:
        for outcome in outcomes:
            yield outcome if isinstance(outcome, InputError) else AuditResult(outcome, context)
    finally:
        outcomes.close()  # stopped early: the workers go at once


def _all_sources(histories: Iterable[History], max_size: int) -> Iterator[Source]:
    for number, history in enumerate(histories, 1):
        if isinstance(history, Mapping):
            yield _mapping_source(history, f"{MAPPING_SOURCE}[{number}]")
        elif isinstance(history, str | os.PathLike):
            yield from iter_sources([os.fspath(history)], max_size)
        else:
            raise TypeError(f"a history is a path or a mapping, not {type(history).__name__}")
