"""Auditing past one machine on Dask (``pip install 'followup[dask]'``; docs/scale.md).

A partitioned dataset (folders or files of JSON Lines, YAML or JSON histories; ``s3://...`` and
other fsspec URLs for JSON Lines) becomes a ``dask.bag.Bag`` with one partition per file. Each
Dask worker process compiles the pack once, however many partitions it audits, and audits every
history of a file exactly as ``followup audit`` does: the same sources (``file.jsonl:LINE``), the
same findings, and a bad history is that history's :class:`~followup.InputError`, never the
partition's failure. :func:`write_report` streams the results, in input order, through the same
report writers as the CLI, so the report is the one ``followup audit`` writes for that input.

    import followup.dask
    from dask.distributed import Client
    client = Client("scheduler:8786")
    results = followup.dask.audit_bag("exports/2026-11-30/", pack="interview-follow-up", as_of="2026-11-30")
    with open("report.json", "w") as out:
        followup.dask.write_report(results, out)
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import pickle
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

import dask.bag
import dask.base

from .api import AuditResult, RulePack, _pack, _run, as_of_time
from .diagnostics import InputError, Problem
from .io.sources import DEFAULT_MAX_SIZE, Source, history_files, iter_sources, stream_sources
from .report import FORMATS, Summary, formatter

if TYPE_CHECKING:
    from .model import Engine
    from .pack.model import Pack

__all__ = ["audit_bag", "write_report"]

# Partitions computed at once by write_report: enough to keep every worker busy while the report
# is written in order, few enough that the results waiting for their turn stay small.
PARTITIONS_IN_FLIGHT = 16


class _Engines:
    """The compiled packs of this worker process, by the pickled pack they were built from.

    Dask hands each task its arguments anew; without this, every partition would compile the pack
    again. Module state is the only place a Dask worker process keeps something between tasks
    without a plugin (that would tie auditing to ``distributed``).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.packs: dict[bytes, RulePack] = {}
        self.built = 0

    def get(self, spec: bytes) -> RulePack:
        key = hashlib.sha256(spec).digest()
        with self.lock:
            pack = self.packs.get(key)
            if pack is None:
                model, engine = pickle.loads(spec)  # our own pickle, made by audit_bag
                pack = self.packs[key] = RulePack.of(model, engine)
                self.built += 1
            return pack


_ENGINES = _Engines()


def engines_built() -> int:
    """How many packs this process has compiled for Dask tasks (one per pack: see _Engines)."""
    return _ENGINES.built


def _spec(pack: RulePack) -> bytes:
    model: Pack = pack.model
    engine: Engine = pack.engine
    return pickle.dumps((model, engine), protocol=pickle.HIGHEST_PROTOCOL)


def _file_sources(path: str, max_size: int) -> Iterator[Source]:
    if "://" in path:  # a remote store: fsspec (a dependency of dask) opens it
        import fsspec

        with fsspec.open(path, "rb") as stream:
            yield from stream_sources(path, stream, max_size)
        return
    yield from iter_sources([path], max_size)


def _audit_file(
    item: tuple[str, Problem | None], spec: bytes, as_of: datetime, max_size: int
) -> list[AuditResult | InputError]:
    """One partition: every history of one file, as a local batch audits them."""
    from .audit.parallel import positions_only

    path, problem = item
    if problem is not None:
        return [InputError([problem])]
    pack = _ENGINES.get(spec)
    context = pack.context(as_of)
    out: list[AuditResult | InputError] = []
    for source in _file_sources(path, max_size):
        outcome = _run(pack, source, as_of)
        if isinstance(outcome, InputError):
            out.append(outcome)
        else:  # only what the JSON entry reads travels back (as from --jobs workers)
            out.append(AuditResult(positions_only(outcome), context))
    return out


def _partitions(paths: Sequence[str]) -> list[tuple[str, Problem | None]]:
    items: list[tuple[str, Problem | None]] = []
    for path in paths:
        if "://" in path:
            import fsspec

            protocol = path.split("://", 1)[0]
            items.extend((f"{protocol}://{f.path}", None) for f in fsspec.open_files(path))
        elif os.path.isdir(path):
            found = history_files(path)
            if not found:
                message = "no history files (*.yaml, *.yml, *.json, *.jsonl) in this directory"
                found = [(path, Problem(path, 1, 1, message))]
            items.extend(found)
        else:
            items.append((path, None))
    return items


def audit_bag(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    pack: RulePack | str | os.PathLike[str] | None = None,
    as_of: str | datetime | None = None,
    max_history_size: int = DEFAULT_MAX_SIZE,
) -> dask.bag.Bag:
    """A Dask bag of every history's :class:`~followup.AuditResult` or :class:`~followup.InputError`,
    one partition per file, in the order ``followup audit PATHS`` reads them.

    ``paths``: files, folders (searched recursively as by the CLI) and fsspec URLs of JSON Lines
    files (globs allowed, e.g. ``s3://bucket/histories/*.jsonl``). The pack is loaded here, once,
    so a bad pack raises :class:`~followup.PackError` before anything is computed.
    """
    names = [os.fspath(paths)] if isinstance(paths, str | os.PathLike) else [os.fspath(p) for p in paths]
    rules = _pack(pack)
    moment = as_of_time(as_of)
    items = _partitions(names)
    spec = _spec(rules)
    files = dask.bag.from_sequence(items, npartitions=max(1, len(items)))
    return files.map_partitions(_audit_partition, spec, moment, max_history_size)


def _audit_partition(
    items: list[tuple[str, Problem | None]], spec: bytes, as_of: datetime, max_size: int
) -> list[AuditResult | InputError]:
    return [outcome for item in items for outcome in _audit_file(item, spec, as_of, max_size)]


def write_report(  # noqa: PLR0913  the report's settings, by keyword
    results: dask.bag.Bag,
    out: TextIO,
    *,
    pack: RulePack | str | os.PathLike[str] | None = None,
    as_of: str | datetime | None = None,
    format: str = "json",  # the CLI's --format
    fail_on: str = "error",
) -> Summary:
    """Write the report of ``results`` (from :func:`audit_bag`) in ``format`` to ``out``, streaming
    partitions in order as they are computed (on the current Dask scheduler); return the totals.

    ``pack`` and ``as_of`` are the ones given to :func:`audit_bag` (the report's header names
    them); with the same input, the report is the one ``followup audit --format FORMAT`` writes.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r} (formats: {', '.join(FORMATS)})")
    rules = _pack(pack)
    context = rules.context(as_of_time(as_of))
    writer = formatter(format, out, dataclasses.replace(context, fail_on=fail_on))
    summary = Summary()
    writer.begin()
    for outcome in _in_order(results):
        if isinstance(outcome, InputError):
            for problem in outcome.problems:
                summary.errors += 1
                writer.error(problem)
        else:
            summary.add(outcome.result, fail_on)
            writer.history(outcome.result)
    writer.end(summary)
    return summary


def _in_order(results: dask.bag.Bag) -> Iterator[AuditResult | InputError]:
    """The bag's elements partition by partition, a window of partitions computed at a time."""
    parts: Iterator[Any] = iter(results.to_delayed())
    while True:
        window = list(itertools.islice(parts, PARTITIONS_IN_FLIGHT))
        if not window:
            return
        for part in dask.base.compute(*window):
            yield from part
