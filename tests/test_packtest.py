"""The pack test runner: examples and tests files, inherited examples in overlays, coverage, and
the boundary check of time windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.audit import Auditor
from followup.pack import check_pack, load_layers
from followup.pack.testing import PackRun, check_boundaries, plan, run_tests, windows

ROOT = Path(__file__).resolve().parents[1]
STRICT = str(ROOT / "examples" / "packs" / "strict-agency.yaml")
DEFAULT = ROOT / "rules" / "interview-follow-up.yaml"

TWO_RULES = """pack: small
examples_base:
  timezone: UTC
  candidate: {name: Jo}
  people: [{id: kim, name: Kim Lee, role: interviewer, company: Acme}]
rules:
  - id: no-call
    title: t
    rationale: r
    severity: error
    violation:
      when: [{fact: call, as: c, where: {direction: sent}}]
      subject: c.key
      message: "Called {c.name}"
    next_step:
      when: [{fact: interview, as: i, where: {at: {after: asof.at}}}]
      subject: i.key
      due: i.at
      message: "Prepare"
    examples:
      - name: a call
        as_of: 2026-11-10T12:00
        history:
          events:
            - {id: i1, at: 2026-11-02T10:00, type: interview, company: Acme, with: [kim]}
            - {id: c1, at: 2026-11-03T10:00, type: call, direction: sent, to: kim}
        expect:
          - {rule: no-call, kind: violation, subject: c1}
  - id: no-note
    title: t
    rationale: r
    severity: warning
    violation:
      when: [{fact: note, as: n}]
      subject: n.key
      message: "Note"
"""


def run(ref: str) -> PackRun:
    result = check_pack(ref, tests=True, examples=False)
    assert result.ok, [str(p) for p in result.problems]
    return run_tests(result.layers, Auditor.for_pack(result.layers[-1]), result.positions)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_default_pack_passes_with_full_coverage() -> None:
    outcome = run("interview-follow-up")
    assert (outcome.ran, outcome.failed, outcome.skipped) == (33, 0, 0)
    assert outcome.coverage.percent == 100.0
    assert len(outcome.coverage.targets) == 16 and not outcome.coverage.missing


def test_strict_overlay_reproves_what_it_changes() -> None:
    outcome = run(STRICT)
    assert outcome.failed == 0 and outcome.coverage.percent == 100.0
    assert len(outcome.coverage.targets) == 18  # 13 rules - 1 disabled + 2 new; 18 (rule, kind) pairs
    skipped = {r.case.label for r in outcome.results if r.status == "skip"}
    assert skipped == {
        "send-thank-you-email",
        "thank-you-email-within-24h",
        "proofread-follow-up-email",
        "no-posting-about-interview",
    }
    reasons = {r.case.label: r.case.skip for r in outcome.results if r.status == "skip"}
    assert "thank_you_within 24h -> 12h" in str(reasons["send-thank-you-email"])
    assert "severity warning -> error" in str(reasons["proofread-follow-up-email"])
    assert "disabled" in str(reasons["no-posting-about-interview"])
    # the inherited examples of rules the overlay leaves alone still run against it
    assert any(r.status == "pass" and r.case.written_for == "interview-follow-up" for r in outcome.results)


def test_coverage_counts_rule_kinds_of_passing_expectations(tmp_path: Path) -> None:
    outcome = run(write(tmp_path, "small.yaml", TWO_RULES))
    cov = outcome.coverage
    assert cov.targets == (("no-call", "violation"), ("no-call", "next_step"), ("no-note", "violation"))
    assert cov.covered == {("no-call", "violation")}
    assert round(cov.percent, 1) == 33.3
    assert cov.missing == (("no-call", "next_step"), ("no-note", "violation"))
    assert cov.untested_rules == ("no-note",)


def test_a_failing_test_covers_nothing_and_shows_a_diff(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "small.yaml",
        TWO_RULES.replace(
            "{rule: no-call, kind: violation, subject: c1}", "{rule: no-call, kind: violation, subject: c2}"
        ),
    )
    outcome = run(path)
    [result] = outcome.results
    assert result.status == "fail" and outcome.coverage.covered == frozenset()
    lines = result.failures
    assert lines[0] == "- expected {rule: no-call, kind: violation, subject: c2}"
    assert lines[1] == "  nearest  no-call violation subject=c1 severity=error: subject is c1, not c2"
    assert lines[2] == "  produced (1):"
    assert lines[3] == "    no-call violation subject=c1 severity=error: Called Kim Lee"


def test_expect_not_reports_the_unexpected_finding(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "small.yaml",
        TWO_RULES.replace(
            "        expect:\n          - {rule: no-call, kind: violation, subject: c1}",
            "        expect_not:\n          - {rule: no-call}",
        ),
    )
    [result] = run(path).results
    assert result.status == "fail"
    assert result.failures[0] == "+ unexpected no-call violation subject=c1 severity=error (expect_not {rule: no-call})"


def test_a_test_naming_a_missing_rule_fails(tmp_path: Path) -> None:
    path = write(tmp_path, "small.yaml", TWO_RULES)
    write(
        tmp_path,
        "small.tests.yaml",
        "tests:\n  - name: x\n    rule: no-cal\n    as_of: 2026-11-10T12:00\n    history: {events: []}\n",
    )
    outcome = run(path)
    [test] = [r for r in outcome.results if r.case.example.name == "x"]
    assert test.status == "fail"
    assert test.failures == ("names rule 'no-cal', which pack 'small' does not have; did you mean 'no-call'?",)


def test_tests_file_is_loaded_with_positions(tmp_path: Path) -> None:
    path = write(tmp_path, "small.yaml", TWO_RULES)
    write(
        tmp_path,
        "small.tests.yaml",
        "# comment\ntests:\n  - name: a note\n    rule: no-note\n    as_of: 2026-11-10T12:00\n"
        "    history:\n      events: [{id: n1, at: 2026-11-02T10:00, type: note, to: kim}]\n"
        "    expect: [{rule: no-note, kind: violation, subject: n1, severity: warning, message: Note}]\n",
    )
    outcome = run(path)
    [test] = [r for r in outcome.results if r.case.example.name == "a note"]
    assert test.status == "pass"
    assert (test.case.example.loc.source, test.case.example.loc.line) == (str(tmp_path / "small.tests.yaml"), 3)
    assert ("no-note", "violation") in outcome.coverage.covered


def test_invalid_example_history_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "small.yaml",
        TWO_RULES.replace("type: call, direction: sent, to: kim}", "type: call, direction: sent, to: kimm}"),
    )
    [result] = run(path).results
    assert result.status == "fail"
    assert result.failures[0].startswith(f"invalid example history: {path}:26:79: unknown person 'kimm' in 'to'")
    assert "did you mean 'kim'?" in result.failures[0]


def test_changed_text_pattern_makes_dependent_examples_stale(tmp_path: Path) -> None:
    path = write(
        tmp_path, "o.yaml", "pack: o\nextends: interview-follow-up\npatterns: {contact_info: ['\\bcall me\\b']}\n"
    )
    cases = plan(load_layers(path, tests=True))
    stale = {c.example.rule for c in cases if c.skip}
    assert stale == {"thank-you-email-content"}
    assert "pattern 'contact_info' changed" in str(next(c.skip for c in cases if c.skip))


def test_new_derivation_of_a_used_fact_makes_examples_stale(tmp_path: Path) -> None:
    text = (
        "pack: o\nextends: interview-follow-up\nderive:\n"
        "  - {fact: thank_you, when: [{fact: interview, as: i}, {fact: note, as: n, where: {about: i.key}}],"
        " set: {interview: i.key, email: n.key, at: n.at}}\n"
    )
    stale = {c.example.rule for c in plan(load_layers(write(tmp_path, "o.yaml", text), tests=True)) if c.skip}
    assert {"send-thank-you-email", "thank-you-email-within-24h"} <= stale
    assert "no-asking-references-to-call" not in stale


# -- boundaries -----------------------------------------------------------------------------------


def boundaries(ref: str) -> list[tuple[str, str, str]]:
    result = check_pack(ref, tests=True, examples=False)
    auditor = Auditor.for_pack(result.layers[-1])
    outcome = run_tests(result.layers, auditor, result.positions)
    return [(b.window.rule, b.window.kind, b.status) for b in check_boundaries(outcome, auditor)]


def test_every_window_of_the_default_pack_flips_at_its_boundary() -> None:
    assert boundaries("interview-follow-up") == [
        ("send-thank-you-email", "violation", "pass"),
        ("send-thank-you-email", "next_step", "pass"),
        ("thank-you-email-within-24h", "violation", "pass"),
        ("no-early-check-in", "violation", "pass"),  # waiting from the interview's end
        ("no-early-check-in", "violation", "pass"),  # waiting from their email
    ]


def test_windows_are_found_in_conditions() -> None:
    found = [(w.rule, w.describe()) for w in windows(load_layers("interview-follow-up")[-1])]
    assert ("thank-you-email-within-24h", "thank_you.at after i.start + thank_you_within") in found
    assert ("no-early-check-in", "waiting.at after c.at - check_in_after") in found


def test_a_window_off_by_one_second_is_caught(tmp_path: Path) -> None:
    text = DEFAULT.read_text().replace(
        "{fact: thank_you, as: t, where: {interview: i.key, at: {after: i.start + thank_you_within}}}",
        "{fact: thank_you, as: t, where: {interview: i.key, at: {at_or_after: i.start + thank_you_within}}}",
    )
    assert "at_or_after: i.start + thank_you_within" in text
    path = write(tmp_path, "late.yaml", text.replace("pack: interview-follow-up", "pack: late"))
    result = check_pack(path, tests=True, examples=False)
    auditor = Auditor.for_pack(result.layers[-1])
    outcome = run_tests(result.layers, auditor, result.positions)
    [b] = [b for b in check_boundaries(outcome, auditor) if b.window.rule == "thank-you-email-within-24h"]
    assert b.status == "fail"
    assert b.detail.endswith(
        "got 1s before: none, at it: finding, 1s after: finding; expected 1s before: none, at it: none, 1s after: finding"
    )


def test_strict_overlay_windows_including_its_own() -> None:
    found = boundaries(STRICT)
    assert ("reply-to-employer", "violation", "pass") in found
    assert ("reply-to-employer", "next_step", "pass") in found
    assert ("reply-to-employer", "violation", "unchecked") in found  # the window inside `none: to`
    assert ("send-thank-you-email", "violation", "pass") in found
    assert not [b for b in found if b[2] == "fail"]


def test_window_without_a_firing_example_is_reported_unchecked(tmp_path: Path) -> None:
    text = TWO_RULES.replace("pack: small", "pack: small\nparams: {soon: 1d}").replace(
        "{fact: interview, as: i, where: {at: {after: asof.at}}}",
        "{fact: interview, as: i, where: {at: {after: asof.at + soon}}}",
    )
    result = check_pack(write(tmp_path, "small.yaml", text), tests=True, examples=False)
    auditor = Auditor.for_pack(result.layers[-1])
    [b] = check_boundaries(run_tests(result.layers, auditor), auditor)
    assert (b.status, b.window.rule, b.window.kind) == ("unchecked", "no-call", "next_step")
    assert "no passing example or test fires no-call (next_step)" in b.detail


@pytest.mark.parametrize("ref", ["interview-follow-up", STRICT])
def test_examples_are_deterministic(ref: str) -> None:
    first, second = run(ref), run(ref)
    assert [(r.status, r.case.example.name) for r in first.results] == [
        (r.status, r.case.example.name) for r in second.results
    ]
