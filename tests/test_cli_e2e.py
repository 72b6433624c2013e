"""End-to-end: the installed ``followup`` command, as users and CI jobs run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT

FOLLOWUP = str(Path(sys.executable).parent / "followup")
AS_OF = "2026-11-25T12:00Z"


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FOLLOWUP, *args], capture_output=True, text=True, input=stdin, cwd=cwd or ROOT, timeout=120)


def report_schema() -> dict[str, object]:
    return json.loads((ROOT / "schemas" / "report.schema.json").read_text())


def test_model_candidate_exits_0() -> None:
    done = run("audit", "examples/jane.yaml", "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    assert "Jane Doe" in done.stdout and "check-in-after-a-week" in done.stdout


def test_violations_exit_1_and_fail_on_levels() -> None:
    assert run("audit", "examples/struggling.yaml", "--as-of", AS_OF).returncode == 1
    assert run("audit", "examples/struggling.yaml", "--as-of", AS_OF, "--fail-on", "never").returncode == 0
    # upcoming.yaml has next steps only: they never fail a run
    assert run("audit", "examples/upcoming.yaml", "--as-of", AS_OF, "--fail-on", "info").returncode == 0


def test_json_report_matches_its_schema_and_the_spec() -> None:
    done = run(
        "audit",
        "examples/jane.yaml",
        "examples/struggling.yaml",
        "examples/broken.yaml",
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--jobs",
        "1",
    )
    assert done.returncode == 2  # one invalid history: exit 2, the good ones fully reported
    report = json.loads(done.stdout)
    jsonschema.Draft202012Validator(report_schema()).validate(report)
    assert report["as_of"] == "2026-11-25T12:00:00+00:00"
    assert [h["source"] for h in report["histories"]] == ["examples/jane.yaml", "examples/struggling.yaml"]
    assert report["summary"] == {"histories": 2, "violations": 12, "next_steps": 3, "errors": 6}
    assert {e["source"] for e in report["errors"]} == {"examples/broken.yaml"}
    first = report["histories"][1]["findings"][0]
    # a violation of a rule that gives a remedy carries it; a next step has none
    assert first["kind"] == "violation"
    assert set(first) == {"rule", "kind", "severity", "subject", "person", "events", "due", "message", "remedy"}
    assert first["remedy"].startswith("Review your profiles now")
    step = report["histories"][0]["findings"][0]
    assert step["kind"] == "next_step" and "remedy" not in step


def test_input_errors_are_located_and_exit_2() -> None:
    done = run("audit", "examples/broken.yaml", "--as-of", AS_OF)
    assert done.returncode == 2
    assert "examples/broken.yaml:9:42: unknown event type 'emial'; did you mean 'email'?" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.yaml", ""),
        ("list.yaml", "- 1\n- 2\n"),
        ("binary.json", "\x00\x01\x02garbage"),
        ("deep.json", "[" * 5000 + "]" * 5000),
        ("tags.yaml", "!!python/object/apply:os.system ['echo hacked']\n"),
        ("dupe.yaml", "version: 1\nversion: 1\n"),
        ("bad.jsonl", '{"version": 1}\nnot json\n'),
        ("huge-number.json", '{"version": 1e999}'),
    ],
)
def test_no_input_produces_a_traceback(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    done = run("audit", str(path), "--as-of", AS_OF)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "hacked" not in done.stdout
    assert f"{path}:" in done.stdout + done.stderr


def test_usage_errors_exit_2() -> None:
    assert run("audit", "--as-of", AS_OF).returncode == 2  # no path
    assert run("audit", "examples/jane.yaml", "--as-of", "yesterday").returncode == 2
    assert run("audit", "no/such/file.yaml", "--as-of", AS_OF).returncode == 2
    done = run("audit", "examples/jane.yaml", "--pack", "interview-folow-up")
    assert done.returncode == 2 and "did you mean 'interview-follow-up'?" in done.stderr


def test_stdin(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "struggling.yaml").read_text()
    done = run("audit", "-", "--as-of", AS_OF, "--format", "json", stdin=text)
    assert done.returncode == 1
    assert json.loads(done.stdout)["histories"][0]["source"] == "<stdin>"


def test_schema_command_prints_valid_json() -> None:
    for what in ("history", "pack", "report"):
        done = run("schema", what)
        assert done.returncode == 0
        jsonschema.Draft202012Validator.check_schema(json.loads(done.stdout))


@pytest.mark.slow
def test_wheel_installs_and_audits_without_a_checkout(tmp_path: Path) -> None:
    """Build the wheel, install it in a fresh venv outside the checkout, audit a copied example."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [wheel] = dist.glob("followup-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "followup/py.typed" in archive.namelist()  # the API's types reach users (PEP 561)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True, timeout=900
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "struggling.yaml", work / "tom.yaml")
    done = subprocess.run(
        [str(venv / "bin" / "followup"), "audit", "tom.yaml", "--as-of", AS_OF, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=work,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["pack"]["name"] == "interview-follow-up"
    assert report["summary"]["violations"] == 12
    listed = subprocess.run(
        [str(venv / "bin" / "followup"), "pack", "list"], capture_output=True, text=True, cwd=work, timeout=60
    )
    assert "interview-follow-up" in listed.stdout
    schema = subprocess.run(
        [str(venv / "bin" / "followup"), "schema", "report"], capture_output=True, text=True, cwd=work, timeout=60
    )
    assert json.loads(schema.stdout)["title"] == "followup JSON report"


def test_readme_shows_what_the_first_command_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("examples/struggling.yaml — Tom Price")
    shown = readme[start : readme.index("\n```", start)]
    done = run("audit", "examples/struggling.yaml", "--as-of", "2026-11-25T12:00Z")
    assert done.stdout.rstrip("\n") == shown


def test_a_pack_given_as_a_history_and_the_reverse_are_named() -> None:
    done = run("audit", "examples/packs/strict-agency.yaml", "--as-of", AS_OF)
    assert done.returncode == 2 and "this file is a rule pack, not a history" in done.stdout
    done = run("pack", "validate", "examples/jane.yaml")
    assert done.returncode == 1 and "this file is a history, not a rule pack" in done.stdout


def _with_zone(zone: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": zone}
    return subprocess.run([FOLLOWUP, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


def test_as_of_without_offset_is_read_on_the_computers_clock_and_said_so() -> None:
    # Monday 00:30 in Berlin is still Sunday in UTC: read locally, the instant is 23:30 UTC.
    done = _with_zone("Europe/Berlin", "audit", "examples/jane.yaml", "--as-of", "2026-11-30T00:30")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "Audit time Mon 30 Nov 2026 00:30 read on this computer's clock (CET, UTC+01:00), "
        "since --as-of had no offset; add one (Z, +01:00) for an exact instant."
    )
    report = json.loads(_with_zone("Europe/Berlin", "audit", "examples/jane.yaml", "--as-of", "2026-07-01",
                                   "--format", "json").stdout)
    assert report["as_of"] == "2026-07-01T00:00:00+02:00"  # summer time: the offset follows the date


def test_as_of_with_an_offset_is_exact_whatever_the_computers_zone() -> None:
    outputs = {_with_zone(zone, "audit", "examples/jane.yaml", "--as-of", AS_OF).stdout
               for zone in ("Europe/Berlin", "Asia/Tokyo", "UTC")}
    assert len(outputs) == 1
    assert "computer's clock" not in outputs.pop()
