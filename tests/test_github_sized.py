"""GitHub-sized outputs: the Markdown report never exceeds a pull-request comment (65,536
characters, counted as GitHub counts them) whatever the batch, most urgent histories first; GitHub
annotations come errors first, at most 10 of each kind per step, with one notice of totals."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followup.cli import cli
from followup.diagnostics import Problem
from followup.model import Finding, HistoryResult
from followup.pack import Pack
from followup.report import Context, Summary, formatter
from followup.report.markdown import LIMIT, size
from test_batch import jsonl_lines  # the batch tests' generator of realistic histories

AS_OF = datetime(2026, 12, 31, 12, tzinfo=UTC)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "--as-of", AS_OF.isoformat(), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A night's batch: 300 generated histories in one JSON Lines file."""
    folder = tmp_path_factory.mktemp("night")
    (folder / "batch.jsonl").write_text("\n".join(jsonl_lines(300, seed=13)) + "\n", encoding="utf-8")
    return folder


# -- Markdown ----------------------------------------------------------------------------------------


def test_markdown_of_300_histories_fits_a_comment_most_urgent_first(night: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(night)
    _, markdown, _ = run("batch.jsonl", "--format", "markdown", "--report", "json=full.json")
    _, full, _ = run("batch.jsonl", "--format", "json", "--sort", "urgency")
    report = json.loads(full)
    assert len(report["histories"]) == 300
    assert size(markdown) <= LIMIT
    # The sections shown are the most urgent histories, most urgent first.
    shown = re.findall(r"^### (batch\.jsonl:\d+) — ", markdown, flags=re.MULTILINE)
    ranked = [h["source"] for h in report["histories"] if h["findings"]]
    assert 5 <= len(shown) < len(ranked)
    assert shown == ranked[: len(shown)]
    # The rest are counted, with where the full report is.
    rest = re.search(r"\*\*(\d+) more histories not shown here\*\*", markdown)
    assert rest and int(rest.group(1)) == len(ranked) - len(shown)
    assert "See the full report: json in full.json." in markdown
    # The attention table starts with the most urgent history too.
    first_row = next(line for line in markdown.splitlines() if line.startswith("| 1 | "))
    assert first_row.startswith(f"| 1 | {ranked[0]} — ")


def _finding(n: int, kind: str, severity: str, message: str, due: timedelta | None) -> Finding:
    return Finding(f"rule-{n % 7}", kind, severity, f"e{n}", None, (f"e{n}",), AS_OF + due if due else None, message)


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[HistoryResult], list[Problem]]:
    count = draw(st.integers(0, 1000))
    text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(["😀" * 400, "|" * 500, "x" * 4000])
    messages = draw(st.lists(text, min_size=1, max_size=5))
    shape = draw(st.lists(st.integers(0, 40), min_size=1, max_size=8))
    results = []
    for h in range(count):
        findings = []
        for n in range(shape[h % len(shape)]):
            message = messages[(h + n) % len(messages)]
            if n % 3 == 2:
                findings.append(_finding(n, "next_step", "info", message, timedelta(hours=(h * 7 + n) % 200 - 100)))
            else:
                findings.append(_finding(n, "violation", ("error", "warning", "info")[n % 3], message, None))
        results.append(HistoryResult(f"h/{h}-{messages[0][:40]}.yaml", f"Candidate {h} {messages[-1][:60]}", tuple(findings)))
    problems = [Problem(f"bad{n}.yaml", n + 1, 1, messages[n % len(messages)]) for n in range(draw(st.integers(0, 300)))]
    return results, problems


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=batches())
def test_markdown_never_exceeds_a_comment(default_pack: Pack, batch: tuple[list[HistoryResult], list[Problem]]) -> None:
    results, problems = batch
    out = io.StringIO()
    context = Context("0", default_pack, AS_OF, "error", reports=(("markdown", "-"), ("json", "r.json")))
    writer = formatter("markdown", out, context)
    summary = Summary()
    writer.begin()
    for problem in problems:
        writer.error(problem)
        summary.errors += 1
    for result in results:
        summary.add(result, "error")
        writer.history(result)
    writer.end(summary)
    text = out.getvalue()
    assert size(text) <= LIMIT
    assert len(text) <= LIMIT
    assert text.startswith("## followup: ")
    with_findings = sum(1 for r in results if r.findings)
    sections = text.count("\n### ") + text.startswith("### ")
    if with_findings and "not shown here" not in text:
        assert "### Input errors" in text or sections >= with_findings


# -- GitHub annotations --------------------------------------------------------------------------------


def test_github_annotations_errors_first_within_the_step_limits(night: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(night)
    _, out, _ = run("batch.jsonl", "--format", "github", "--sort", "urgency", "--report", "sarif=full.sarif")
    _, full, _ = run("batch.jsonl", "--format", "json")
    total = sum(len(h["findings"]) for h in json.loads(full)["histories"])
    lines = out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    kinds = [line[2 : line.index(" ")] for line in commands]
    assert kinds.count("error") == 10 and kinds.count("warning") == 10 and kinds.count("notice") == 10
    assert kinds == sorted(kinds, key=["error", "warning", "notice"].index)  # errors, then warnings, then notices
    totals = [line for line in commands if "title=followup%3A totals" in line]
    assert len(totals) == 1 and kinds.index("notice") == commands.index(totals[0])  # the first notice
    assert "300 histories" in totals[0] and "see sarif in full.sarif or this step's log" in totals[0]
    # Every finding is in the log: annotated, or as a plain line no runner obeys.
    plain = [line for line in lines if line.startswith("  ") and not line.lstrip().startswith("::")]
    assert len(commands) - 1 + len(plain) == total
    assert len(commands) == 30
    assert all(line.startswith(("::", "  ", "followup: ")) for line in lines)
    assert lines[-1].startswith("followup: 300 histories")


def test_github_annotations_prefer_new_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = jsonl_lines(40, seed=5)
    (tmp_path / "a.jsonl").write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, base, _ = run("a.jsonl", "--format", "json")
    report = json.loads(base)
    for history in report["histories"]:  # same candidates, read from b.jsonl tonight
        history["source"] = history["source"].replace("a.jsonl", "b.jsonl")
    (tmp_path / "base.json").write_text(json.dumps(report), encoding="utf-8")
    _, out, _ = run("b.jsonl", "--format", "github", "--baseline", "base.json")
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert errors and all("title=New%3A " in line for line in errors)


def test_github_small_run_is_unchanged_but_for_the_totals_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_text(jsonl_lines(1, seed=5)[0] + "\n", encoding="utf-8")
    _, out, _ = run("a.jsonl", "--format", "github")
    lines = out.splitlines()
    assert all(line.startswith("::") for line in lines[:-1])
    assert sum("title=followup%3A totals" in line for line in lines) == 1
    assert "not annotated" not in out


# -- the CI recipes in docs/ci.md ---------------------------------------------------------------------


def test_ci_recipes_parse_and_use_real_options() -> None:
    import yaml

    from conftest import ROOT

    doc = (ROOT / "docs" / "ci.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.DOTALL)
    workflows = [yaml.safe_load(block) for block in blocks]
    github = next(w for w in workflows if "jobs" in w)
    steps = github["jobs"]["audit"]["steps"]
    uses = {s.get("uses", "").split("@")[0] for s in steps}
    assert {"actions/cache/restore", "actions/cache/save", "github/codeql-action/upload-sarif"} <= uses
    assert github["permissions"]["security-events"] == "write"
    gitlab = next(w for w in workflows if "followup-audit" in w)["followup-audit"]
    assert gitlab["artifacts"]["reports"]["junit"] == "report.xml"
    help_text = CliRunner().invoke(cli, ["audit", "--help"]).output
    commands = [s["run"] for s in steps if "followup audit" in s.get("run", "")]
    commands += [line for line in gitlab["script"] if "followup audit" in line]
    assert len(commands) == 2
    for command_text in commands:
        for option in set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", command_text)):
            assert option in help_text, option
        for name in re.findall(r"--report (\w+)=", command_text):
            assert name in ("json", "sarif", "markdown", "html", "junit", "text", "github", "ics")
