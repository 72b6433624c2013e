"""`followup pack ...`, `followup explain` and `followup schema pack` through click's test runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from followup.cli import cli

ROOT = Path(__file__).resolve().parents[1]
STRICT = str(ROOT / "examples" / "packs" / "strict-agency.yaml")
BARE = """pack: bare
rules:
  - id: no-note
    title: Don't send notes
    rationale: Because.
    severity: warning
    violation:
      when: [{fact: note, as: n}]
      subject: n.key
      message: "Note to {n.to_names}"
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- validate -------------------------------------------------------------------------------------


def test_validate_valid_packs() -> None:
    result = invoke("pack", "validate", "interview-follow-up", STRICT)
    assert result.exit_code == 0, result.output
    assert "interview-follow-up: valid (13 rules, 33 examples, 0 tests)" in result.output
    assert f"{STRICT}: valid (15 rules, 39 examples, 8 tests)" in result.output


def test_validate_missing_pack_is_a_usage_error(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", BARE)
    result = invoke("pack", "validate", good, str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "no pack file or built-in pack named" in result.stderr
    assert f"{good}: valid" in result.stdout


def test_validate_a_tests_file_checks_its_pack(tmp_path: Path) -> None:
    write(tmp_path, "bare.yaml", BARE)
    tests = write(
        tmp_path,
        "bare.tests.yaml",
        "tests:\n  - name: x\n    rule: no-notes\n    as_of: 2026-01-01T00:00\n    history: {}\n",
    )
    result = invoke("pack", "validate", tests)
    assert result.exit_code == 1
    assert (
        f"{tests}:3:11: the test names rule 'no-notes', which the pack does not have; did you mean 'no-note'?"
        in result.stdout
    )


# -- test -----------------------------------------------------------------------------------------


def test_pack_test_lines_coverage_and_summary() -> None:
    result = invoke("pack", "test", "interview-follow-up", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(
        r"PASS  send-thank-you-email +interview over, no email, deadline passed  <builtin>/interview-follow-up\.yaml:\d+$",
        lines[0],
    )
    assert "coverage: 16/16 rule kinds (100%) of 13 enabled rules" in lines
    assert lines[-1] == "33 passed, 0 failed, 0 skipped"


def test_pack_test_failure_shows_a_diff_and_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, "bare.yaml", BARE)
    write(
        tmp_path,
        "bare.tests.yaml",
        "tests:\n  - name: a note to kim\n    rule: no-note\n    as_of: 2026-11-10T12:00\n"
        "    history:\n      people: [{id: kim, name: Kim Lee, role: interviewer}]\n"
        "      events: [{id: n1, at: 2026-11-02T10:00, type: note, to: kim}]\n"
        "    expect: [{rule: no-note, kind: violation, subject: n1, message: Note to Kim Li}]\n",
    )
    result = invoke("pack", "test", path)
    assert result.exit_code == 1
    assert f"FAIL  no-note  a note to kim  {tmp_path / 'bare.tests.yaml'}:2" in result.output
    assert "      - expected {rule: no-note, kind: violation, subject: n1, message: Note to Kim Li}" in result.output
    assert (
        "        nearest  no-note violation subject=n1 severity=warning: message lacks 'Note to Kim Li'"
        in result.output
    )
    assert "          no-note violation subject=n1 severity=warning: Note to Kim Lee" in result.output
    assert "0 passed, 1 failed, 0 skipped" in result.output


def test_pack_test_without_tests_fails(tmp_path: Path) -> None:
    result = invoke("pack", "test", write(tmp_path, "bare.yaml", BARE))
    assert result.exit_code == 1
    assert "no test ran: pack 'bare' must carry tests" in result.output
    assert "coverage: 0/1 rule kinds (0%) of 1 enabled rules" in result.output
    assert "rule with no passing test: no-note" in result.output


def test_pack_test_min_coverage(tmp_path: Path) -> None:
    path = write(tmp_path, "bare.yaml", BARE)
    write(
        tmp_path,
        "bare.tests.yaml",
        "tests:\n  - name: nothing\n    as_of: 2026-11-10T12:00\n    history: {events: []}\n    expect_not: [{rule: no-note}]\n",
    )
    low = invoke("pack", "test", path, "--min-coverage", "50")
    assert low.exit_code == 1
    assert "coverage 0.0% is below --min-coverage 50%" in low.output
    assert invoke("pack", "test", path).exit_code == 0  # passing, and no minimum asked for


def test_pack_test_boundaries() -> None:
    result = invoke("pack", "test", STRICT, "--boundaries", "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert (
        "PASS  thank-you-email-within-24h (violation): thank_you.at after i.start + thank_you_within" in result.output
    )
    assert (
        "moved event e1 around 2026-11-02T23:00:00+00:00: 1s before: none, at it: none, 1s after: finding"
        in result.output
    )
    assert "NOT CHECKED  reply-to-employer (violation): to.at at or before r.at + reply_within" in result.output
    assert "7 boundary checks, 0 failed, 1 windows not checked" in result.output


def test_pack_test_invalid_pack_exits_2(tmp_path: Path) -> None:
    result = invoke("pack", "test", write(tmp_path, "bad.yaml", BARE.replace("fact: note", "fact: note_")))
    assert result.exit_code == 2
    assert "unknown fact type 'note_'; did you mean 'note'?" in result.stderr


def test_pack_test_several_packs() -> None:
    result = invoke("pack", "test", "interview-follow-up", STRICT)
    assert result.exit_code == 0
    assert "== interview-follow-up (interview-follow-up)" in result.output
    assert "== strict-agency" in result.output


# -- show, docs, list, explain, schema ------------------------------------------------------------


def test_show_is_yaml_with_origins() -> None:
    result = invoke("pack", "show", STRICT)
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert data["params"]["thank_you_within"] == "12h"
    assert data["extends"] == ["interview-follow-up"]
    rules = {r["id"]: r for r in data["rules"]}
    assert rules["no-posting-about-interview"]["enabled"] is False
    assert rules["proofread-follow-up-email"]["severity"] == "error"
    lines = result.output.splitlines()
    assert any(
        re.match(r"  thank_you_within: 12h +# strict-agency \(was 24h in interview-follow-up\)$", x) for x in lines
    )
    assert any(re.match(r"  check_in_after: 7d +# interview-follow-up$", x) for x in lines)
    assert any(
        re.match(r"    severity: error +# strict-agency \(was warning in interview-follow-up\)$", x) for x in lines
    )
    assert any(re.match(r"    enabled: false +# strict-agency \(was true in interview-follow-up\)$", x) for x in lines)
    assert any(re.match(r"  - id: reply-to-employer +# strict-agency$", x) for x in lines)


def test_show_base_pack_round_trips_conditions() -> None:
    data = yaml.safe_load(invoke("pack", "show", "interview-follow-up").output)
    rule = next(r for r in data["rules"] if r["id"] == "thank-you-email-within-24h")
    assert rule["violation"]["when"][1] == {
        "fact": "thank_you",
        "as": "t",
        "where": {"interview": "i.key", "at": {"after": "i.start + thank_you_within"}},
    }


def test_docs_has_ruff_shaped_sections() -> None:
    result = invoke("pack", "docs", STRICT)
    assert result.exit_code == 0
    text = result.output
    section = text[text.index("## send-thank-you-email") : text.index("## thank-you-email-within-24h")]
    for heading in (
        "### What it does",
        "### Why",
        "### Parameters",
        "### Example: a violation",
        "### Example: a next step",
        "### Use instead",
    ):
        assert heading in section
    assert "- `thank_you_within` = 12h" in section
    assert "it was due by Mon 2 Nov 2026 23:00 UTC" in section  # the finding the example really produces
    assert "does not pass" not in text
    assert "*Disabled in this pack: it is not run.*" in text


def test_list() -> None:
    result = invoke("pack", "list")
    assert result.exit_code == 0
    assert result.output.startswith("interview-follow-up  1.0.0  13 rules  ")


def test_explain() -> None:
    result = invoke("explain", "no-early-check-in")
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("no-early-check-in: Wait a week before checking in\n")
    assert "violation (severity warning)" in out
    assert "check_in_after = 7d  (interview-follow-up) How long to wait" in out
    assert (
        "  - a `waiting` (w) whose interview is c.interview, at is before c.at, at is after c.at - check_in_after (7d)"
        in out
    )


def test_explain_in_an_overlay_and_unknown_rules() -> None:
    result = invoke("explain", "reply-to-employer", "--pack", STRICT)
    assert result.exit_code == 0 and "reply_within = 24h  (strict-agency)" in result.output
    assert "thank_you_within = 12h" in invoke("explain", "send-thank-you-email", "--pack", STRICT).output
    unknown = invoke("explain", "send-thank-you-emial")
    assert unknown.exit_code == 2
    assert "did you mean 'send-thank-you-email'?" in unknown.output


def test_schema_pack_describes_tests_files_too() -> None:
    result = invoke("schema", "pack")
    schema = json.loads(result.output)
    assert {"pack", "tests_file", "test", "rule", "pattern"} <= set(schema["$defs"])
    assert schema["then"] == {"$ref": "#/$defs/tests_file"}


def test_shipped_packs_carry_the_editor_schema_comment() -> None:
    for path in (
        ROOT / "rules" / "interview-follow-up.yaml",
        ROOT / "examples" / "packs" / "strict-agency.yaml",
        ROOT / "examples" / "packs" / "strict-agency.tests.yaml",
        ROOT / "examples" / "packs" / "agency-calendar.yaml",
        ROOT / "examples" / "packs" / "agency-calendar.tests.yaml",
    ):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        # the comment's relative path must reach the schema from the file's own folder
        assert (path.parent / first.split("=", 1)[1]).resolve() == ROOT / "schemas" / "pack.schema.json", path


def test_pre_commit_hooks() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["followup-pack-validate"]["entry"] == "followup pack validate"
    assert re.search(hooks["followup-pack-validate"]["files"], "rules/acme.yml")
    assert hooks["followup-audit"]["entry"] == "followup audit"
