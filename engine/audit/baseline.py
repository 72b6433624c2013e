"""Baselines (``audit --baseline FILE``): what is new since an earlier JSON report, what was resolved.

The baseline is a JSON report of an earlier run (``--format json``; one written before reports had
``candidate_id`` and ``summary`` is accepted too). It is checked against the report's schema and
every problem is reported as ``file:line:col: message`` before any history is audited.

Matching. A finding is ``unchanged`` when the baseline has a finding with the same rule, kind,
subject and person for the same candidate, else ``new``; the baseline's findings for that candidate
that are not reported any more are the history's ``absent`` (resolved) findings. The candidate is
known by its ``candidate_id`` when the history has one (ids stay the same when files are renamed or
a JSON Lines batch is reordered). A candidate without an id is known by their name; when several
histories of the baseline have that name and no id, by name and source (``file`` or ``file:line``)
together, since only the source tells them apart. A history that has no counterpart in the baseline
has only new findings and nothing absent.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from ..diagnostics import (
    DocumentKind,
    InputError,
    Problem,
    SchemaPath,
    Suggester,
    excerpt,
    locate,
    schema_messages,
    shorten,
)
from ..io.jsondoc import load_json
from ..model import Finding, HistoryResult

FindingKey = tuple[str, str, str, str | None]  # rule, kind, subject, person
CandidateKey = tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("followup.schemas").joinpath("report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    # Reports written before candidate ids and per-history summaries are good baselines too.
    relaxed = copy.deepcopy(schema)
    history = relaxed["properties"]["histories"]["items"]
    history["required"] = [name for name in history["required"] if name in ("source", "candidate", "findings")]
    relaxed["required"] = ["report_version", "histories"]
    return jsonschema.Draft202012Validator(relaxed)


def _entry(path: SchemaPath) -> str:
    if len(path) >= 2 and path[0] == "histories" and isinstance(path[1], int):
        where = f" in history {path[1] + 1}"
        if len(path) >= 4 and path[2] in ("findings", "absent") and isinstance(path[3], int):
            where = f" in finding {path[3] + 1} of history {path[1] + 1}"
        return where
    return ""


def _label(path: SchemaPath) -> str:
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    return repr(name) if name else "the baseline"


def _fallback(error: ValidationError, path: SchemaPath, kind: DocumentKind) -> str:
    return f"{_label(path)}: {shorten(error.message, 200)}{_entry(path)}"


BASELINE = DocumentKind(
    noun="baseline",
    empty="the baseline is empty; it must be a JSON report (followup audit --format json)",
    label=_label,
    context=_entry,
    suffix=_entry,
    known=lambda options: f" (fields: {', '.join(options)})",
    fallback=_fallback,
)


def _finding_key(f: Finding) -> FindingKey:
    return (f.rule, f.kind, f.subject, f.person)


def _finding(item: Mapping[str, Any]) -> Finding:
    due = item.get("due")
    return Finding(
        rule=item["rule"],
        kind=item["kind"],
        severity=item["severity"],
        subject=item["subject"],
        person=item["person"],
        events=tuple(item["events"]),
        due=datetime.fromisoformat(due) if isinstance(due, str) else None,
        message=item["message"],
    )


def _source_file(source: str, line: int) -> str:
    return f"{source}:{line}" if line else source


class Baseline:
    """An earlier report's findings by candidate; ``apply`` marks a new result against them."""

    def __init__(self, histories: Sequence[tuple[str | None, str, str, tuple[Finding, ...]]]) -> None:
        # (candidate_id, candidate, source, findings) per history of the baseline.
        names: dict[str, int] = {}
        for candidate_id, name, _, _ in histories:
            if candidate_id is None:
                names[name] = names.get(name, 0) + 1
        self._findings: dict[CandidateKey, dict[FindingKey, Finding]] = {}
        for candidate_id, name, source, findings in histories:
            if candidate_id is not None:
                key: CandidateKey = ("id", candidate_id)
            elif names[name] > 1:
                key = ("name", name, source)
            else:
                key = ("name", name)
            known = self._findings.setdefault(key, {})
            for f in findings:
                known.setdefault(_finding_key(f), f)

    def _earlier(self, result: HistoryResult) -> Mapping[FindingKey, Finding]:
        if result.candidate_id is not None:
            return self._findings.get(("id", result.candidate_id), {})
        line = result.history.line if result.history is not None else 0
        with_source = self._findings.get(("name", result.candidate, _source_file(result.source, line)))
        return with_source if with_source is not None else self._findings.get(("name", result.candidate), {})

    def apply(self, result: HistoryResult) -> HistoryResult:
        """``result`` with each finding's ``baseline_state`` and the history's ``absent`` findings."""
        earlier = self._earlier(result)
        now = {_finding_key(f) for f in result.findings}
        findings = tuple(
            dataclasses.replace(f, baseline_state="unchanged" if _finding_key(f) in earlier else "new")
            for f in result.findings
        )
        absent = tuple(f for key, f in earlier.items() if key not in now)
        return dataclasses.replace(result, findings=findings, absent=absent)


def load_baseline(path: str) -> Baseline:
    """Read and check a baseline report; InputError with every problem found."""
    try:
        with open(path, encoding="utf-8-sig") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Problem(path, 1, 1, f"cannot read the baseline: {reason}")]) from None
    if not text.strip():
        raise InputError([Problem(path, 1, 1, BASELINE.empty)])
    data, positions = load_json(text, path)
    return parse_baseline(data, positions, path)


def parse_baseline(data: object, positions: Mapping[str, tuple[int, int]], source: str) -> Baseline:
    problems = list(_schema_problems(data, positions, source))
    if problems:
        raise InputError(problems)
    assert isinstance(data, dict)  # the schema requires an object
    histories = []
    for index, item in enumerate(data["histories"]):
        try:
            findings = tuple(_finding(f) for f in item["findings"])
        except ValueError:  # a ``due`` that the schema's date-time format did not catch
            bad = next(n for n, f in enumerate(item["findings"]) if not _valid_due(f.get("due")))
            pointer = f"/histories/{index}/findings/{bad}/due"
            where = _entry(("histories", index, "findings", bad))
            message = f"'due' {excerpt(item['findings'][bad]['due'])} is not an ISO 8601 time{where}"
            problems.append(Problem(source, *locate(positions, pointer), message, pointer))
            continue
        histories.append((item.get("candidate_id"), item["candidate"], item["source"], findings))
    if problems:
        raise InputError(problems)
    return Baseline(histories)


def _valid_due(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _schema_problems(data: object, positions: Mapping[str, tuple[int, int]], source: str) -> Iterator[Problem]:
    suggest = Suggester()
    said = (m for error in _validator().iter_errors(data) for m in schema_messages(error, BASELINE, suggest))
    for m in dict.fromkeys(said):  # one failure can reach us along two schema paths
        yield Problem(source, *locate(positions, m.at), m.message, m.at.removesuffix("#key"))
