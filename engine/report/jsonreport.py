"""``--format json``: SPEC §6, described by schemas/report.schema.json. Streamed: histories are
written as they come, errors (kept, they are few) after them."""

from __future__ import annotations

from typing import TextIO

from ..diagnostics import Problem
from ..model import Finding, HistoryResult
from .base import Context, Summary, display_source, to_json
from .triage import triage


def finding_dict(f: Finding) -> dict[str, object]:
    out: dict[str, object] = {
        "rule": f.rule,
        "kind": f.kind,
        "severity": f.severity,
        "subject": f.subject,
        "person": f.person,
        "events": list(f.events),
        "due": f.due.isoformat() if f.due else None,
        "message": f.message,
    }
    if f.remedy:
        out["remedy"] = f.remedy
    if f.waived is not None:
        out["waived"] = {"reason": f.waived.reason, "approved_by": f.waived.approved_by, "expires": f.waived.expires}
    if f.baseline_state is not None:
        out["baseline_state"] = f.baseline_state
    return out


def history_dict(result: HistoryResult, context: Context) -> dict[str, object]:
    """One entry of the report's ``histories``. The Python API's ``AuditResult.to_dict`` returns
    exactly this: every field an entry gains is added here, once, for both."""
    item: dict[str, object] = {
        "source": display_source(result),
        "candidate": result.candidate,
        "candidate_id": result.candidate_id,
        "findings": [finding_dict(f) for f in result.findings],
        "summary": triage(result, context.as_of).to_dict(),
    }
    if result.absent is not None:
        item["absent"] = [finding_dict(f) for f in result.absent]
    return item


def problem_dict(p: Problem) -> dict[str, object]:
    return {"source": p.source, "line": p.line, "column": p.column, "message": p.message}


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.errors: list[Problem] = []
        self.count = 0

    def begin(self) -> None:
        c = self.context
        head = {
            "report_version": 1,
            "tool": {"name": "followup", "version": c.tool_version},
            "pack": {"name": c.pack.name, "version": c.pack.version},
            "as_of": c.as_of.isoformat(),
        }
        self.out.write(to_json(head, indent=1)[:-2] + ',\n "histories": [')

    def history(self, result: HistoryResult) -> None:
        self.out.write(("," if self.count else "") + "\n  " + to_json(history_dict(result, self.context)))
        self.count += 1

    def error(self, problem: Problem) -> None:
        self.errors.append(problem)

    def end(self, summary: Summary) -> None:
        errors = ",".join("\n  " + to_json(problem_dict(p)) for p in self.errors)
        totals = {
            "histories": summary.histories,
            "violations": summary.violations,
            "next_steps": summary.next_steps,
            "errors": summary.errors,
        }
        if summary.waived:
            totals["waived"] = summary.waived
        if summary.baseline:
            totals["new"] = summary.new
            totals["resolved"] = summary.resolved
        self.out.write(f'\n ],\n "errors": [{errors}\n ],\n "summary": {to_json(totals)}\n}}\n')
