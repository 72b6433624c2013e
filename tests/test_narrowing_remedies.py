"""Narrowing an inherited rule (`unless:`), remedies, and titles that quote parameters: through the
loader, the compiler, both engines, `pack test`, `pack show`, `explain` and the report formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from followup.audit import Auditor
from followup.cli import cli
from followup.compile import compile_pack
from followup.compile.narrow import opposite
from followup.history import parse_history
from followup.pack import load_pack
from followup.pack.model import Where

ROOT = Path(__file__).resolve().parents[1]
NARROWING = ROOT / "examples" / "packs" / "agency-calendar.yaml"
AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def history(*events: dict[str, object]) -> dict[str, object]:
    return {
        "version": 1,
        "candidate": {"name": "Jane Doe"},
        "people": [{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}],
        "events": [{"id": "i1", "at": "2026-11-02T10:00", "type": "interview", "company": "Acme", "with": ["kim"]}]
        + [dict(e) for e in events],
    }


DECISION = {"id": "d1", "at": "2026-11-10T10:00", "type": "decision", "company": "Acme", "outcome": "rejection"}


@pytest.mark.parametrize("engine", ["durable", "reference"])
@pytest.mark.parametrize(
    ("social", "decided", "reported"),
    [
        ({"action": "connect", "network": "LinkedIn"}, True, False),  # the narrowing: allowed
        ({"action": "connect", "network": "LinkedIn"}, False, True),  # no decision yet
        ({"action": "connect", "network": "Facebook"}, True, True),  # another network
        ({"action": "follow", "network": "LinkedIn"}, True, True),  # another action
        ({"action": "connect"}, True, True),  # no network at all: the opposite of `network: LinkedIn`
    ],
)
def test_a_narrowed_rule_is_suppressed_exactly_when_the_narrowing_holds(
    engine: str, social: dict[str, object], decided: bool, reported: bool
) -> None:
    auditor = Auditor.for_pack(load_pack(str(NARROWING)), "durable" if engine == "durable" else "reference")
    event = {"id": "s1", "at": "2026-11-12T10:00", "type": "social", "target": "kim", **social}
    doc = history(*([DECISION] if decided else []), event)
    findings = auditor.audit(parse_history(doc, {}, "h.yaml", AS_OF), AS_OF).findings
    friending = [f for f in findings if f.rule == "no-friending-interviewer"]
    assert [f.subject for f in friending] == (["s1"] if reported else [])


def test_the_opposite_of_each_test_with_a_missing_field() -> None:
    """A test on a field the fact lacks is false, so its opposite always has a `missing` way (but
    `exists`, which is about the field itself)."""
    missing = (Where("f", "exists", False),)
    assert opposite(Where("f", "eq", "x")) == [(Where("f", "not", "x"),), missing]
    assert opposite(Where("f", "not", "x")) == [(Where("f", "eq", "x"),), missing]
    assert opposite(Where("f", "in", ("a", "b"))) == [(Where("f", "not", "a"), Where("f", "not", "b")), missing]
    assert opposite(Where("f", "exists", True)) == [missing]
    assert opposite(Where("at", "after", "i.at", True)) == [
        (Where("at", "at_or_before", "i.at", True),),
        (Where("at", "exists", False),),
    ]
    assert opposite(Where("at", "at_or_before", 5)) == [(Where("at", "after", 5),), (Where("at", "exists", False),)]


def test_a_narrowing_compiles_to_one_rule_per_way_to_fail_it() -> None:
    compiled = compile_pack(load_pack(str(NARROWING)))
    names = sorted(n for n in compiled.ruleset if n.startswith("no-friending-interviewer:"))
    # action is connect (2 ways to fail), network is LinkedIn (2 ways), a decided fact (1: absent)
    assert len(names) == 5
    absent = [n for n in names if "$not" in json.dumps(compiled.ruleset[n]["all"])]
    assert len(absent) == 1
    # a rule with no narrowing keeps its name
    assert "send-thank-you-email:violation:0" in compiled.ruleset


def test_pack_test_counts_each_narrowing_and_the_example_pack_covers_everything() -> None:
    result = invoke("pack", "test", str(NARROWING), "--min-coverage", "100", "--boundaries")
    assert result.exit_code == 0, result.output
    assert "coverage: 20/20 rule kinds and narrowings (100%)" in result.output
    assert "0 failed" in result.output


def test_a_narrowing_no_test_shows_is_not_covered(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    pack.write_text(NARROWING.read_text(), encoding="utf-8")
    tests = (ROOT / "examples" / "packs" / "agency-calendar.tests.yaml").read_text()
    start = tests.index("  - name: a LinkedIn connect after")
    end = tests.index("  - name: a LinkedIn connect before")
    (tmp_path / "p.tests.yaml").write_text(tests[:start] + tests[end:], encoding="utf-8")
    result = invoke("pack", "test", str(pack), "--min-coverage", "100")
    assert result.exit_code == 1
    assert "not covered: no-friending-interviewer violation unless #1" in result.output


def test_pack_show_lists_each_rules_names_and_its_narrowings() -> None:
    out = invoke("pack", "show", str(NARROWING)).output
    assert "# names (for unless: and messages): s (social), m (met), asof.at (the audit time)" in out
    assert "unless: [{fact: decided, where: {interview: m.interview, at: {before: s.at}}}, " in out
    assert out.count("# names (for unless: and messages):") >= 13  # every outcome of every rule


def test_reusing_an_inherited_id_points_at_unless(tmp_path: Path) -> None:
    overlay = tmp_path / "o.yaml"
    overlay.write_text(
        "pack: o\nextends: interview-follow-up\nrules:\n  - id: no-friending-interviewer\n    title: t\n"
        "    rationale: r\n    severity: error\n    violation:\n      when: [{fact: social, as: s}]\n"
        "      subject: s.key\n      message: m\n",
        encoding="utf-8",
    )
    result = invoke("pack", "validate", str(overlay))
    assert result.exit_code == 1
    assert "change it under `overrides` instead" in result.output and "`unless: [PATTERN, ...]`" in result.output


# -- titles quoting parameters, remedies ------------------------------------------------------------


def test_titles_and_rationales_quote_parameters_so_an_overlay_reads_right(tmp_path: Path) -> None:
    overlay = tmp_path / "o.yaml"
    overlay.write_text("pack: o\nextends: interview-follow-up\nparams: {thank_you_within: 12h, check_in_after: 10d}\n")
    default = load_pack("interview-follow-up")
    changed = load_pack(str(overlay))
    titles = {r.id: r.title for r in changed.rules}
    assert {r.id: r.title for r in default.rules}["send-thank-you-email"] == "Send a thank-you email within a day"
    assert titles["send-thank-you-email"] == "Send a thank-you email within 12 hours"
    assert titles["no-early-check-in"] == "Wait 1 week 3 days before checking in"
    rationales = {r.id: r.rationale for r in changed.rules}
    assert "within 12 hours of its end" in rationales["thank-you-email-within-24h"]
    assert invoke("explain", "send-thank-you-email", "--pack", str(overlay)).output.startswith(
        "send-thank-you-email: Send a thank-you email within 12 hours\n"
    )


def test_every_violation_rule_of_the_default_pack_has_a_remedy() -> None:
    pack = load_pack("interview-follow-up")
    for rule in pack.rules:
        assert bool(rule.remedy) == ("violation" in rule.kinds), rule.id


def test_a_remedy_is_filled_from_the_match_and_shown_by_every_format(tmp_path: Path) -> None:
    doc = history(
        {
            "id": "s1",
            "at": "2026-11-03T10:00",
            "type": "social",
            "action": "friend_request",
            "network": "Facebook",
            "target": "kim",
        }
    )
    out = {fmt: invoke_audit(tmp_path, doc, fmt) for fmt in ("json", "text", "markdown", "html")}
    remedy = "Withdraw the friend request to Kim Lee on Facebook, and connect only after the hiring process is over."
    report = json.loads(out["json"])
    findings = report["histories"][0]["findings"]
    friending = next(f for f in findings if f["rule"] == "no-friending-interviewer")
    assert friending["remedy"] == remedy
    assert all("remedy" not in f for f in findings if f["kind"] == "next_step")
    assert f"What to do: {remedy}" in out["text"]
    assert f"What to do: {remedy}" in out["markdown"]
    assert f'<p class="remedy"><b>What to do:</b> {remedy}</p>' in out["html"]


def invoke_audit(folder: Path, doc: dict[str, object], fmt: str) -> str:
    path = folder / "h.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = invoke("audit", str(path), "--as-of", "2026-11-20T12:00Z", "--format", fmt)
    assert result.exit_code == 1, result.output
    return result.output


def test_explain_shows_the_remedy_and_counts_the_tests_files_examples() -> None:
    out = invoke("explain", "no-friending-interviewer", "--pack", str(NARROWING)).output
    assert "What to do after a violation:\n  Withdraw the {s.action|words} to {m.name}" in out
    assert "unless (agency-calendar) all of:" in out
    assert "Examples: 2 in the pack, 4 in examples/packs/agency-calendar.tests.yaml" in out.replace(str(ROOT) + "/", "")


def test_narrowings_that_would_never_let_the_rule_fire_or_multiply_it_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(
        "pack: e\nextends: interview-follow-up\noverrides:\n  no-friending-interviewer:\n"
        "    unless: [{match: s, where: {}}]\n"
    )
    result = invoke("pack", "validate", str(empty))
    assert result.exit_code == 1 and "`match: s` needs tests under `where:`" in result.output
    tests = ", ".join(f"{{match: s, where: {{network: N{k}}}}}" for k in range(4))
    chain = tmp_path / "base.yaml"
    chain.write_text(
        "pack: b\nextends: interview-follow-up\noverrides:\n  no-friending-interviewer:\n"
        f"    unless: [{tests}, {{match: m, where: {{role: recruiter}}}}]\n"
    )
    many = tmp_path / "many.yaml"
    many.write_text(f"pack: m\nextends: base.yaml\noverrides:\n  no-friending-interviewer:\n    unless: [{tests}]\n")
    assert invoke("pack", "validate", str(chain)).exit_code == 0  # 10 ways
    result = invoke("pack", "validate", str(many))  # 10 x 8 ways
    assert result.exit_code == 1 and "leave 80 ways for a violation to stand" in result.output
