"""``--format sarif``: SARIF 2.1.0, for code-scanning dashboards (GitHub, Azure DevOps, sarif-tools).

One run; the pack's rules are the driver's ``rules`` (reportingDescriptors: title, rationale,
default level from severity). Each finding is a result located at its subject event in the history
file (line and column, counted in Unicode code points):

- a violation: ``kind: fail``, ``level`` from severity (error → error, warning → warning,
  info → note);
- a next step: ``kind: informational``, ``level: none``, with ``properties`` ``followup/kind:
  next_step`` and ``due`` (ISO 8601);
- a waived violation: as a violation, plus ``suppressions: [{kind: external, status: accepted,
  justification}]`` (approver and expiry in the suppression's properties).

``partialFingerprints["followup/v1"]`` identifies a finding across runs by what it is about (the
candidate's id, or without one file and candidate; rule, kind, subject, person), not by where it is
written, so editing a history does not make old findings look new. With ``--baseline``, results
carry ``baselineState`` (``new``, ``unchanged``) and the baseline's findings no longer reported are
results too, ``baselineState: absent``. Input errors are ``toolExecutionNotifications`` of the invocation,
whose ``executionSuccessful`` is false when there is any. Results stream; errors are kept (few).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from ..diagnostics import Problem
from ..model import Finding, HistoryResult
from ..pack.model import Rule
from .base import Context, Summary, to_json

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT = "followup/v1"


def source_path(source: str) -> str:
    """A history's source as a relative path with forward slashes (as given when relative; relative
    to the working directory when absolute and under it; else absolute)."""
    if not os.path.isabs(source):
        return source.replace(os.sep, "/") if os.sep != "/" else source
    try:
        return Path(source).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return Path(source).as_posix()


def source_uri(source: str) -> str:
    """``source_path`` as a URI reference (percent-encoded; ``file://`` when absolute)."""
    path = source_path(source)
    if PurePosixPath(path).is_absolute() or (len(path) > 1 and path[1] == ":"):
        return Path(source).resolve().as_uri()
    return quote(path, safe="/-._~")


def subject_position(result: HistoryResult, finding: Finding) -> tuple[int, int]:
    """The line and column of the finding's subject event (for JSON Lines: the file's line)."""
    history = result.history
    if history is None:
        return 1, 1
    for event in history.events:
        if event.id == finding.subject and event.line:
            return event.line, max(event.column, 1)
    return max(history.line, 1), 1


def fingerprint(result: HistoryResult, finding: Finding) -> str:
    # The candidate id names the candidate across files and runs; without it, file and name do.
    cid = result.candidate_id
    who = ("id", cid) if cid is not None else (source_path(result.source), result.candidate)
    key = "\x1f".join(
        (
            *who,
            finding.rule,
            finding.kind,
            finding.subject,
            finding.person or "",
        )
    )
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _pascal(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-"))


def descriptor(rule: Rule, pack_name: str) -> dict[str, Any]:
    markdown = (
        f"**{rule.title}**\n\n{rule.rationale.strip()}\n\n"
        f"Reports: {', '.join(k.replace('_', ' ') for k in rule.kinds)}. "
        f"`followup explain {rule.id}` shows the condition and parameters."
    )
    out: dict[str, Any] = {
        "id": rule.id,
        "name": _pascal(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale.strip()},
        "help": {"text": f"{rule.title}. {rule.rationale.strip()}", "markdown": markdown},
        "defaultConfiguration": {"level": LEVELS[rule.severity], "enabled": rule.enabled},
        "properties": {"tags": [pack_name, *rule.kinds], "followup/severity": rule.severity},
    }
    return out


def _region(line: int, column: int) -> dict[str, int]:
    return {"startLine": max(line, 1), "startColumn": max(column, 1)}


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.rule_index = {rule.id: n for n, rule in enumerate(context.pack.rules)}
        self.errors: list[Problem] = []
        self.count = 0

    def begin(self) -> None:
        c = self.context
        driver = {
            "name": "followup",
            "version": c.tool_version,
            "semanticVersion": c.tool_version,
            "rules": [descriptor(rule, c.pack.name) for rule in c.pack.rules],
        }
        head = to_json({"$schema": SCHEMA_URI, "version": "2.1.0"})[:-1]
        tool = to_json({"driver": driver}, indent=1).replace("\n", "\n   ")
        self.out.write(f'{head},\n "runs": [\n  {{\n   "tool": {tool},\n')
        self.out.write('   "columnKind": "unicodeCodePoints",\n   "results": [')

    def history(self, result: HistoryResult) -> None:
        for finding in result.findings:
            self._write(self.result(result, finding))
        for finding in result.absent or ():
            self._write(self.result(result, finding, absent=True))

    def _write(self, item: dict[str, Any]) -> None:
        self.out.write(("," if self.count else "") + "\n    " + to_json(item))
        self.count += 1

    def result(self, result: HistoryResult, finding: Finding, *, absent: bool = False) -> dict[str, Any]:
        line, column = subject_position(result, finding)
        properties: dict[str, Any] = {
            "followup/kind": finding.kind,
            "followup/severity": finding.severity,
            "candidate": result.candidate,
            **({"candidate_id": result.candidate_id} if result.candidate_id is not None else {}),
            "subject": finding.subject,
            "events": list(finding.events),
        }
        if finding.person is not None:
            properties["person"] = finding.person
        if result.history is not None and result.history.line:
            properties["followup/historyLine"] = result.history.line
        out: dict[str, Any] = {"ruleId": finding.rule}
        if finding.rule in self.rule_index:
            out["ruleIndex"] = self.rule_index[finding.rule]
        if finding.kind == "next_step":
            out["kind"] = "informational"
            out["level"] = "none"
            if finding.due is not None:
                properties["due"] = finding.due.isoformat()
        else:
            out["kind"] = "fail"
            out["level"] = LEVELS[finding.severity]
        out["message"] = {"text": finding.message}
        out["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": source_uri(result.source)},
                    "region": _region(line, column),
                }
            }
        ]
        out["partialFingerprints"] = {FINGERPRINT: fingerprint(result, finding)}
        if absent:
            out["baselineState"] = "absent"
        elif finding.baseline_state is not None:
            out["baselineState"] = finding.baseline_state
        if finding.waived is not None:
            w = finding.waived
            out["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": w.reason,
                    "properties": {"approvedBy": w.approved_by, "expires": w.expires},
                }
            ]
        out["properties"] = properties
        return out

    def error(self, problem: Problem) -> None:
        self.errors.append(problem)

    def end(self, summary: Summary) -> None:
        notifications = [
            {
                "level": "error",
                "message": {"text": p.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": source_uri(p.source)},
                            "region": _region(p.line, p.column),
                        }
                    }
                ],
                "descriptor": {"id": "input-error"},
                **({"properties": {"pointer": p.pointer}} if p.pointer else {}),
            }
            for p in self.errors
        ]
        exit_code = 2 if summary.errors else (1 if summary.failing else 0)
        invocation: dict[str, Any] = {"executionSuccessful": not summary.errors, "exitCode": exit_code}
        if notifications:
            invocation["toolExecutionNotifications"] = notifications
        c = self.context
        properties = {
            "pack": {"name": c.pack.name, "version": c.pack.version},
            "asOf": c.as_of.isoformat(),
            "failOn": c.fail_on,
            "engine": c.engine,
            "summary": {
                "histories": summary.histories,
                "violations": summary.violations,
                "nextSteps": summary.next_steps,
                "errors": summary.errors,
                "waived": summary.waived,
            },
        }
        tail = {"invocations": [invocation], "properties": properties}
        body = to_json(tail, indent=1)[1:-2].replace("\n", "\n  ")
        self.out.write(f"\n   ],{body}\n  }}\n ]\n}}\n")
