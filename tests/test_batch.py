"""Batches (SPEC §5): good histories fully reported beside bad ones, exit 2 with every bad one
located; --jobs N gives the same output as --jobs 1; several reports in one run; stdin; results
streamed in input order with flat memory."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import pickle
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from followup.audit import Auditor
from followup.audit.parallel import CHUNK_SIZES, CHUNKS_IN_FLIGHT_PER_JOB, WorkerSetup, _Failed, audit_parallel
from followup.cli import cli
from followup.diagnostics import InputError
from followup.io import Source
from followup.model import HistoryResult
from followup.pack import Pack

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-12-31T12:00:00+00:00"
FOLLOWUP = [sys.executable, "-c", "import sys; from followup.cli import main; sys.exit(main())"]

GOOD_YAML = """\
version: 1
timezone: America/New_York
candidate: {name: Yara Yaml}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme, with: [kim]}
  - {id: e1, at: 2026-11-04T09:00, type: email, direction: sent, to: kim, about: i1, purpose: thank_you, includes: [thanks]}
"""
BAD_YAML = """\
version: 1
candidate: {name: Bad Bob}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, type: interview, company: Acme, with: [kin]}
"""


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("followup_bench_batch", ROOT / "benchmarks/batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jsonl_lines(count: int, seed: int = 7) -> list[str]:
    make_history = _generator().make_history
    rng = random.Random(seed)
    return [json.dumps(make_history(rng, n)) for n in range(count)]


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FOLLOWUP, "audit", "--as-of", AS_OF, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def audit(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "--as-of", AS_OF, *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def batch_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of good and bad inputs: YAML files, a JSON Lines file with two bad lines, and a
    file that is not UTF-8."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a_good.yaml").write_text(GOOD_YAML, encoding="utf-8")
    (root / "b_bad.yaml").write_text(BAD_YAML, encoding="utf-8")
    lines = jsonl_lines(6)
    lines.insert(2, '{"version": 1, "candidate": {"name": "Broken"}, "events": [')  # line 3
    lines.insert(5, json.dumps({"version": 1, "candidate": {"name": "No Events"}}))  # line 6
    (root / "sub/c_batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "sub/d_latin1.yaml").write_bytes(b"version: 1\ncandidate: {name: Jos\xe9}\nevents: []\n")
    return tmp_path


def test_mixed_batch_reports_every_good_history_and_every_bad_one(batch_dir: Path) -> None:
    code, out, err = audit("in", "--format", "json")
    assert code == 2
    report = json.loads(out)
    names = [(h["source"], h["candidate"]) for h in report["histories"]]
    # a JSON Lines history is named by its line (the bad lines 3 and 6 are errors)
    good_lines = [1, 2, 4, 5, 7, 8]
    assert names == [("in/a_good.yaml", "Yara Yaml")] + [
        (f"in/sub/c_batch.jsonl:{line}", f"Candidate {n}") for n, line in enumerate(good_lines)
    ]
    errors = [(e["source"], e["line"]) for e in report["errors"]]
    assert errors == [
        ("in/b_bad.yaml", 6),
        ("in/sub/c_batch.jsonl", 3),
        ("in/sub/c_batch.jsonl", 6),
        ("in/sub/d_latin1.yaml", 2),
    ]
    messages = [e["message"] for e in report["errors"]]
    assert "did you mean 'kim'?" in messages[0]
    assert messages[1].startswith("JSON syntax error")
    assert "'events'" in messages[2]
    assert "not UTF-8" in messages[3]
    assert report["summary"]["errors"] == 4 and report["summary"]["histories"] == 7
    # Each good history's findings are exactly those it has when audited alone.
    _, alone, _ = audit("in/a_good.yaml", "--format", "json")
    assert json.loads(alone)["histories"] == report["histories"][:1]
    # The bad ones are also listed on stderr, located (the report went to stdout as JSON).
    assert [line.split(": ", 1)[0] for line in err.splitlines()] == [
        "in/b_bad.yaml:6:75",
        "in/sub/c_batch.jsonl:3:60",
        "in/sub/c_batch.jsonl:6:1",
        "in/sub/d_latin1.yaml:2:22",
    ]


def test_text_report_lists_bad_histories_once(batch_dir: Path) -> None:
    code, out, err = audit("in")
    assert code == 2
    assert err == ""  # text on stdout already shows them
    assert "in/b_bad.yaml:6:75: unknown person 'kin'" in out
    assert "7 histories audited" in out and "4 input errors" in out


@pytest.mark.parametrize("main", ["json", "html"])
def test_jobs_2_output_is_identical_to_jobs_1(tmp_path: Path, main: str) -> None:
    """Every format, both with the cut-down histories workers send for position-only formats
    (main json) and with whole histories (main html)."""
    (tmp_path / "h").mkdir()
    lines = jsonl_lines(60, seed=11)
    lines.insert(17, "{not json")
    (tmp_path / "h/batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "h/one.yaml").write_text(GOOD_YAML, encoding="utf-8")
    (tmp_path / "h/two.yaml").write_text(BAD_YAML, encoding="utf-8")
    others = [f for f in ("text", "json", "sarif", "junit", "github", "markdown") if f != main]
    outputs = {}
    for jobs in ("1", "2"):
        reports = [arg for f in others for arg in ("--report", f"{f}=out{jobs}.{f}")]
        done = run("h", "--jobs", jobs, "--format", main, *reports, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        files = [(tmp_path / f"out{jobs}.{f}").read_text("utf-8") for f in others]
        # A short report (Markdown within GitHub's limit, GitHub annotations) names where the full ones are.
        outputs[jobs] = [done.stdout, done.stderr] + [text.replace(f"out{jobs}.", "outN.") for text in files]
    assert outputs["1"] == outputs["2"]
    report = json.loads(outputs["2"][0] if main == "json" else outputs["2"][2 + others.index("json")])
    assert len(report["histories"]) == 61
    assert [e["line"] for e in report["errors"]] == [18, 6]


def test_jobs_default_and_stdin_jsonl_in_parallel(tmp_path: Path) -> None:
    text = "\n".join(jsonl_lines(40, seed=3)) + "\n"
    default = run("-", "--format", "json", cwd=tmp_path, stdin=text)  # 40 histories: too few for workers to pay
    single = run("-", "--format", "json", "--jobs", "1", cwd=tmp_path, stdin=text)
    assert default.returncode == single.returncode == 1
    assert default.stdout == single.stdout
    report = json.loads(default.stdout)
    assert [h["source"] for h in report["histories"]] == [f"<stdin>:{n}" for n in range(1, 41)]
    assert default.stderr == ""  # no progress line: stderr is not a terminal


def test_stdin_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = audit("-", "--format", "json", stdin=GOOD_YAML)
    assert code == 1
    (history,) = json.loads(out)["histories"]
    assert history["source"] == "<stdin>" and history["candidate"] == "Yara Yaml"
    code, out, err = audit("-", "--format", "sarif", stdin=BAD_YAML)
    assert code == 2
    note = json.loads(out)["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "%3Cstdin%3E"
    assert err.startswith("<stdin>:6:")


SEVERAL_REPORTS = (
    "in/a_good.yaml",
    "in/sub/c_batch.jsonl",
    *("--report", "json=r/out.json", "--report", "sarif=r/out.sarif", "--report", "junit=r/out.xml"),
    *("--report", "markdown=r/out.md", "--report", "github=r/out.txt"),
)


def test_several_reports_in_one_run(batch_dir: Path) -> None:
    code, out, err = audit(*SEVERAL_REPORTS)
    # The report directory does not exist: a usage error, reported without a traceback.
    assert code == 2 and out == ""
    assert err == "followup: cannot write the json report to r/out.json: No such file or directory\n"
    (batch_dir / "r").mkdir()
    code, out, err = audit(*SEVERAL_REPORTS)
    assert code == 2  # the two bad JSONL lines
    assert out.startswith("Needs attention: ")  # the main report: text on stdout, the batch's lead first
    assert "\nin/a_good.yaml — Yara Yaml (as of " in out
    report = json.loads((batch_dir / "r/out.json").read_text("utf-8"))
    assert len(report["histories"]) == 7 and len(report["errors"]) == 2
    sarif = json.loads((batch_dir / "r/out.sarif").read_text("utf-8"))
    assert len(sarif["runs"][0]["results"]) == sum(len(h["findings"]) for h in report["histories"])
    assert (batch_dir / "r/out.xml").read_text("utf-8").count("<testsuite ") == 8
    assert "| 7 |" in (batch_dir / "r/out.md").read_text("utf-8")
    assert (batch_dir / "r/out.txt").read_text("utf-8").count("::error file=in/sub/c_batch.jsonl,line=") >= 2
    assert err == ""  # the main report (text on stdout) shows the errors
    assert out.count("in/sub/c_batch.jsonl:3:") == 1 and out.count("in/sub/c_batch.jsonl:6:") == 1


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    pty = pytest.importorskip("pty")
    (tmp_path / "batch.jsonl").write_text("\n".join(jsonl_lines(5)) + "\n", encoding="utf-8")
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [*FOLLOWUP, "audit", "--as-of", AS_OF, "batch.jsonl", "--format", "json", "--jobs", "1"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=300,
            check=False,
        )
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(controller)
    assert done.returncode == 1
    assert b"auditing: " in seen and seen.endswith(b"\r\x1b[K")
    assert json.loads(done.stdout)["summary"]["histories"] == 5  # stdout: the report only


# -- the parallel module --------------------------------------------------------------------------


def test_results_and_errors_pickle(auditor: Auditor) -> None:
    from followup.audit.parallel import audit_one

    as_of = datetime(2026, 12, 31, 12, tzinfo=UTC)
    good = audit_one(auditor, Source("a.yaml", GOOD_YAML), as_of)
    assert isinstance(good, HistoryResult)
    assert pickle.loads(pickle.dumps(good)) == good
    bad = audit_one(auditor, Source("b.yaml", BAD_YAML), as_of)
    assert isinstance(bad, InputError)
    failed = pickle.loads(pickle.dumps(_Failed(tuple(bad.problems))))
    assert list(failed.problems) == bad.problems
    assert pickle.loads(pickle.dumps(WorkerSetup(auditor.pack, "durable", as_of))).pack == auditor.pack


def test_parallel_streams_in_order_with_a_bounded_window(default_pack: Pack) -> None:
    """An endless input still yields results: nothing waits for the whole batch."""
    lines = jsonl_lines(8, seed=5)
    read = 0

    def endless() -> Iterator[Source]:
        nonlocal read
        for number in itertools.count():
            read += 1
            yield Source("endless.jsonl", lines[number % len(lines)], number, None, "jsonl")

    setup = WorkerSetup(default_pack, "durable", datetime(2026, 12, 31, 12, tzinfo=UTC))
    got = list(itertools.islice(audit_parallel(setup, endless(), 2), 100))
    assert [r.history.line for r in got if isinstance(r, HistoryResult) and r.history] == list(range(1, 101))
    # At most the window of chunks in flight (and the chunk being filled) was read ahead.
    assert read <= 100 + (2 * CHUNKS_IN_FLIGHT_PER_JOB + 1) * max(CHUNK_SIZES)
