"""`pack validate` checks: every class of error, with its message and its line and column in the
file that has the mistake (an overlay's mistakes in the overlay)."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.errors import InputError, Problem
from followup.pack import PackNotFoundError, check_pack, load_pack
from followup.textpattern import pattern_problem

RULE = """  - id: {id}
    title: t
    rationale: r
    severity: warning
    violation:
      when:
        - {{fact: email, as: e, where: {{direction: sent}}}}
      subject: e.key
      message: m
"""


def where(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """Line and column (from 1) of the ``occurrence``-th ``needle`` in ``text``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1


def problems(tmp_path: Path, text: str, name: str = "p.yaml", files: dict[str, str] | None = None) -> list[Problem]:
    for other, body in (files or {}).items():
        (tmp_path / other).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / other).write_text(body)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return list(check_pack(str(path)).problems)


def one(found: list[Problem], fragment: str) -> Problem:
    hits = [p for p in found if fragment in p.message]
    assert len(hits) == 1, f"{fragment!r} in {[str(p) for p in found]}"
    return hits[0]


def at(problem: Problem) -> tuple[int, int]:
    return problem.line, problem.column


# -- syntax and schema ----------------------------------------------------------------------------


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    text = "pack: p\nrules: [\n"
    [p] = problems(tmp_path, text)
    assert p.message.startswith("YAML syntax error")
    assert p.source.endswith("p.yaml") and p.line >= 2


def test_duplicate_key(tmp_path: Path) -> None:
    text = "pack: p\nversion: '1'\nversion: '2'\n"
    p = one(problems(tmp_path, text), "duplicate key 'version'")
    assert at(p) == where(text, "version", 2)


def test_unknown_top_level_field_suggests(tmp_path: Path) -> None:
    text = "pack: p\nparms: {a: 1h}\n"
    p = one(problems(tmp_path, text), "unknown field 'parms'; did you mean 'params'?")
    assert at(p) == (2, 1)


def test_bad_severity_suggests_at_the_value(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace("severity: warning", "severity: warnig")
    p = one(problems(tmp_path, text), "'warnig' is not one of error, warning, info; did you mean 'warning'?")
    assert at(p) == where(text, "warnig")


def test_rule_id_must_be_kebab_case(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="Send_Thanks")
    p = one(problems(tmp_path, text), "rule id is kebab-case")
    assert at(p) == where(text, "Send_Thanks")


def test_missing_required_field(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace("    title: t\n", "")
    p = one(problems(tmp_path, text), "missing required field 'title'")
    assert at(p) == where(text, "id: r")


def test_pattern_with_fact_and_none(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace(
        "{fact: email, as: e,", "{fact: email, none: email, as: e,"
    )
    p = one(problems(tmp_path, text), "a pattern has exactly one of `fact: TYPE`")
    assert at(p) == where(text, "{fact: email, none")


def test_rule_without_outcome(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n  - {id: r, title: t, rationale: r, severity: info}\n"
    p = one(problems(tmp_path, text), "a rule needs `violation:` or `next_step:`")
    assert at(p) == where(text, "{id: r")


def test_misspelt_operator_suggests(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace("{direction: sent}", "{at: {aftr: asof.at}}")
    p = one(problems(tmp_path, text), "unknown field 'aftr'; did you mean 'after'?")
    assert at(p) == where(text, "aftr")


def test_schema_and_semantic_errors_come_together(tmp_path: Path) -> None:
    text = (
        "pack: p\nrules:\n"
        + RULE.format(id="bad").replace("severity: warning", "severity: loud")
        + RULE.format(id="good").replace("fact: email", "fact: emial")
    )
    found = problems(tmp_path, text)
    assert at(one(found, "'loud' is not one of")) == where(text, "loud")
    assert at(one(found, "unknown fact type 'emial'; did you mean 'email'?")) == where(text, "emial")


# -- the pack's own meaning -----------------------------------------------------------------------


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r") + RULE.format(id="r")
    p = one(problems(tmp_path, text), "duplicate rule id 'r' (first defined on line 3)")
    assert at(p) == where(text, "r\n", 3)  # the second `id: r`


def test_bad_duration_parameter(tmp_path: Path) -> None:
    text = "pack: p\nparams:\n  within: 24hours\n"
    p = one(problems(tmp_path, text), "parameter 'within': '24hours' is not a duration; did you mean '24h'? (write e.g. 90m, 24h, 7d or 2w)")
    assert at(p) == where(text, "24hours")


def test_bad_duration_in_an_expression(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace("{direction: sent}", "{at: {after: asof.at - 1.5d}}")
    p = one(problems(tmp_path, text), "'1.5d' is not a duration; write e.g. 90m, 24h, 7d or 2w")
    assert at(p) == where(text, "asof.at - 1.5d")


def test_unknown_fact_type(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace("fact: email", "fact: emails")
    p = one(problems(tmp_path, text), "unknown fact type 'emails'; did you mean 'email'?")
    assert at(p) == where(text, "emails")


def test_unknown_field_points_at_the_key(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace(
        "        - {fact: email, as: e, where: {direction: sent}}\n",
        "        - fact: email\n          as: e\n          where:\n            direction: sent\n            purpos: other\n",
    )
    p = one(problems(tmp_path, text), "email has no field 'purpos'; did you mean 'purpose'?")
    assert at(p) == where(text, "purpos:")


def test_value_the_history_format_never_has(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace(
        "{direction: sent}", "{purpose: {in: [check_in, thank-you]}}"
    )
    p = one(
        problems(tmp_path, text),
        "email.purpose is never 'thank-you': it is one of thank_you, check_in, other; did you mean 'thank_you'?",
    )
    assert at(p) == where(text, "thank-you")


def test_unknown_parameter_in_an_expression(tmp_path: Path) -> None:
    text = "pack: p\nparams: {within: 24h}\nrules:\n" + RULE.format(id="r").replace(
        "{direction: sent}", "{at: {after: asof.at - withn}}"
    )
    p = one(problems(tmp_path, text), "unknown name 'withn'; did you mean 'within'?")
    assert at(p) == where(text, "asof.at - withn")


def test_unknown_alias_and_field_in_message(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace("message: m", "message: '{e.subjct} {nothing}'")
    found = problems(tmp_path, text)
    assert at(one(found, "which has no field 'subjct'; did you mean e.subject?")) == where(text, "'{e.subjct}")
    assert at(one(found, "message placeholder refers to nothing: unknown name 'nothing'")) == where(text, "'{e.subjct}")


def test_name_used_twice_and_none_with_alias(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace(
        "        - {fact: email, as: e, where: {direction: sent}}\n",
        "        - {fact: email, as: e}\n        - {fact: call, as: e}\n        - {none: note, as: n}\n",
    )
    found = problems(tmp_path, text)
    assert at(one(found, "the name 'e' is already used")) == where(text, "e}", 2)
    assert at(one(found, "a `none` pattern matches nothing")) == where(text, "as: n")


def test_disabled_rules_are_checked_too(tmp_path: Path) -> None:
    text = "pack: p\nrules:\n" + RULE.format(id="r").replace(
        "severity: warning", "severity: warning\n    enabled: false"
    ).replace("fact: email", "fact: emial")
    assert at(one(problems(tmp_path, text), "unknown fact type 'emial'")) == where(text, "emial")


def test_text_pattern_name_and_regex(tmp_path: Path) -> None:
    text = (
        "pack: p\npatterns:\n  thank: ['x']\n"
        "  thanks: ['(a+)+', '(unclosed', '\\bthank', '(a)\\1', 'x(?=y)', '(?<=a)b', 'a++', 'a{2000}']\n"
    )
    found = problems(tmp_path, text)
    assert at(one(found, "pattern 'thank' is never used")) == (3, 3)
    assert "did you mean 'thanks'?" in one(found, "pattern 'thank' is never used").message
    assert at(one(found, "has a ( that is never closed")) == where(text, "'(unclosed'")
    backreference = one(found, "backreferences like \\1 are not supported")
    assert at(backreference) == where(text, "'(a)\\1'")
    assert "at character 4" in backreference.message
    assert at(one(found, "lookahead (?=...) is not supported")) == where(text, "'x(?=y)'")
    assert at(one(found, "lookbehind (?<=...) is not supported")) == where(text, "'(?<=a)b'")
    assert at(one(found, "possessive quantifiers like ++ are not supported")) == where(text, "'a++'")
    assert at(one(found, "invalid repetition size: {2000}")) == where(text, "'a{2000}'")
    assert len(found) == 7  # (a+)+ and \bthank are fine: RE2 runs them in linear time


@pytest.mark.parametrize(
    ("regex", "construct"),
    [
        (r"(a)\1", "backreferences"),
        ("(?P<x>a)(?P=x)", "backreferences (?P=name)"),
        (r"a\Bb", "\\B (not a word boundary) is not supported"),
        ("(?=a)", "lookahead"),
        ("(?!a)", "negative lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "negative lookbehind"),
        ("(?>a+)b", "atomic groups"),
        ("a*+b", "possessive"),
        ("(?(1)a|b)", "conditional groups"),
        ("(?x) a", "no verbose mode"),
        (r"a\b.", "RE2 can only test a boundary in ASCII"),
        ("[^\\W\\d]", "a negated class [^...] cannot hold \\W"),
        ("a$b", "has $ before more of the pattern"),
        ("*a", "nothing before it to repeat"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_a_hint(regex: str, construct: str) -> None:
    why = pattern_problem(regex)
    assert why is not None and construct in why, why


@pytest.mark.parametrize(
    "regex",
    [
        r"\bthank",
        r"\blook(ing)? forward",
        r"[\w.+-]+@[\w-]+\.[\w.-]+",
        r"\+?\d[\d ().-]{6,}\d",
        # exponential for a backtracking engine, linear for RE2
        "(a+)+",
        r"(\w+\s?)+",
        "([ā-ž]+)+$",
        "(.*a)+x",
        r"(\w*a)+x",
        "(.*a){10}x",
        r"\p{Greek}+",
    ],
)
def test_patterns_re2_runs_are_accepted(regex: str) -> None:
    assert pattern_problem(regex) is None


def test_default_pack_patterns_run() -> None:
    pack = load_pack("interview-follow-up")
    assert all(pattern_problem(p) is None for items in pack.patterns.values() for p in items)


# -- overlays -------------------------------------------------------------------------------------


def test_overlay_errors_are_in_the_overlay(tmp_path: Path) -> None:
    text = """pack: agency
extends: interview-follow-up
params:
  thank_you_withn: 12h
  note_within: 3
  max_check_ins: 2d
overrides:
  no-posting-about-intervew: {enabled: false}
  send-thank-you-email: {message: Late}
  thank-you-email-content: {message: {next_step: x}}
  proofread-follow-up-email:
    message: "Proofread the email to {e.to_nams}"
rules:
""" + RULE.format(id="no-early-check-in")
    found = problems(tmp_path, text)
    assert {p.source for p in found} == {str(tmp_path / "p.yaml")}
    assert at(one(found, "unknown parameter 'thank_you_withn'; did you mean 'thank_you_within'?")) == (4, 3)
    assert at(one(found, "parameter 'note_within' is a duration (3d in 'interview-follow-up')")) == where(text, "3\n")
    assert at(
        one(found, "parameter 'max_check_ins' is a number (1 in 'interview-follow-up'), not a duration")
    ) == where(text, "2d")
    assert at(
        one(found, "override of unknown rule 'no-posting-about-intervew'; did you mean 'no-posting-about-interview'?")
    ) == (8, 3)
    assert at(one(found, "has violation and next_step messages; give them as")) == where(text, "Late")
    assert at(one(found, "rule 'thank-you-email-content' has no next_step (it has: violation)")) == where(
        text, "next_step: x"
    )
    typo = one(found, "which has no field 'to_nams'; did you mean e.to_names?")
    assert at(typo) == where(text, '"Proofread')
    assert at(one(found, "rule 'no-early-check-in' already exists in 'interview-follow-up'")) == where(
        text, "no-early-check-in"
    )


def test_new_parameter_needs_a_declaration_and_a_use(tmp_path: Path) -> None:
    text = """pack: agency
extends: interview-follow-up
params:
  reply_within: {value: 24h, description: How soon to answer.}
"""
    p = one(problems(tmp_path, text), "parameter 'reply_within' is declared but no rule or derived fact uses it")
    assert at(p) == (4, 3)


def test_missing_base_suggests(tmp_path: Path) -> None:
    text = "pack: agency\nextends: interview-folow-up\n"
    p = one(
        problems(tmp_path, text),
        "cannot find the pack 'interview-folow-up' to extend; did you mean 'interview-follow-up'?",
    )
    assert at(p) == (2, 10)


def test_missing_relative_base(tmp_path: Path) -> None:
    text = "pack: agency\nextends: ../base.yaml\n"
    p = one(problems(tmp_path, text, name="sub/p.yaml"), "cannot find the pack '../base.yaml' to extend")
    assert "paths are relative to this file" in p.message


def test_extends_cycle_is_reported_where_it_closes(tmp_path: Path) -> None:
    files = {"b.yaml": "pack: b\nextends: sub/c.yaml\n", "sub/c.yaml": "pack: c\n# the cycle\nextends: ../p.yaml\n"}
    [p] = problems(tmp_path, "pack: a\nextends: b.yaml\n", files=files)
    assert p.message == "packs extend each other in a cycle: p.yaml -> b.yaml -> c.yaml -> p.yaml"
    assert p.source == str(tmp_path / "sub" / "c.yaml") and at(p) == (3, 10)


def test_a_pack_extending_itself(tmp_path: Path) -> None:
    [p] = problems(tmp_path, "pack: a\nextends: p.yaml\n")
    assert "cycle: p.yaml -> p.yaml" in p.message and at(p) == (2, 10)


def test_errors_in_a_base_are_reported_in_the_base(tmp_path: Path) -> None:
    base = "pack: base\nrules:\n" + RULE.format(id="r").replace("fact: email", "fact: emial")
    found = problems(tmp_path, "pack: top\nextends: base.yaml\n", files={"base.yaml": base})
    p = one(found, "unknown fact type 'emial'")
    assert p.source == str(tmp_path / "base.yaml") and at(p) == where(base, "emial")


def test_chain_of_overlays_resolves(tmp_path: Path) -> None:
    files = {"mid.yaml": "pack: mid\nextends: interview-follow-up\nparams: {check_in_after: 10d}\n"}
    (tmp_path / "mid.yaml").write_text(files["mid.yaml"])
    (tmp_path / "top.yaml").write_text(
        "pack: top\nextends: mid.yaml\noverrides: {no-early-check-in: {severity: error}}\n"
    )
    pack = load_pack(str(tmp_path / "top.yaml"))
    assert pack.extends == ("mid", "interview-follow-up")
    assert (pack.params["check_in_after"].value, pack.params["check_in_after"].origin) == ("10d", "mid")
    rule = pack.rule("no-early-check-in")
    assert rule is not None and rule.severity == "error" and rule.origin["severity"] == "top"


def test_missing_pack_is_a_usage_error() -> None:
    with pytest.raises(PackNotFoundError) as caught:
        check_pack("interview-folow-up")
    assert "did you mean 'interview-follow-up'?" in caught.value.problems[0].message
    assert isinstance(caught.value, InputError)


# -- examples and tests ---------------------------------------------------------------------------


EXAMPLE = """    examples:
      - name: ex
        as_of: {as_of}
        history:
          events:
            - {{id: i1, at: 2026-11-02T10:00, type: interview, company: Acme, with: [{who}]}}
        expect:
          - {{rule: {rule}, kind: violation}}
"""


def test_example_problems_are_located_in_the_pack(tmp_path: Path) -> None:
    text = (
        "pack: p\nexamples_base: {people: [{id: kim, name: Kim, role: interviewer}]}\nrules:\n"
        + RULE.format(id="r")
        + EXAMPLE.format(as_of="2026-11-10T12:00", who="kin", rule="rr")
        + RULE.format(id="s")
        + EXAMPLE.format(as_of="tomorrow", who="kim", rule="s")
    )
    found = problems(tmp_path, text)
    assert at(one(found, "no rule 'rr' in pack 'p'; did you mean 'r'?")) == where(text, "rr,")
    unknown = one(found, "unknown person 'kin' in 'with'; did you mean 'kim'?")
    assert at(unknown) == where(text, "kin]")
    assert at(one(found, "as_of 'tomorrow' is not an ISO 8601 time")) == where(text, "tomorrow")


def test_tests_file_is_schema_checked_and_its_rules_exist(tmp_path: Path) -> None:
    tests = """tests:
  - name: ok
    rule: send-thank-you-emial
    as_of: 2026-11-10T12:00
    history: {events: []}
  - rule: send-thank-you-email
    as_of: 2026-11-10T12:00
    history: {events: []}
"""
    found = problems(tmp_path, "pack: p\nextends: interview-follow-up\n", files={"p.tests.yaml": tests})
    name = one(found, "missing required field 'name'")
    assert name.source == str(tmp_path / "p.tests.yaml") and at(name) == where(tests, "rule: send-thank-you-email\n")
    typo = one(
        found, "names rule 'send-thank-you-emial', which the pack does not have; did you mean 'send-thank-you-email'?"
    )
    assert at(typo) == where(tests, "send-thank-you-emial")


def test_a_pack_where_a_tests_file_belongs(tmp_path: Path) -> None:
    [p] = problems(tmp_path, "pack: p\n", files={"p.tests.yaml": "pack: q\n"})
    assert p.message == "a tests file holds `tests:` (a list of tests), not a pack"


def test_the_shipped_packs_are_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    for ref in (
        "interview-follow-up",
        str(root / "rules" / "interview-follow-up.yaml"),
        str(root / "examples" / "packs" / "strict-agency.yaml"),
    ):
        result = check_pack(ref)
        assert result.ok, [str(p) for p in result.problems]


def test_wrong_types_are_said_in_words(tmp_path: Path) -> None:
    assert at(one(problems(tmp_path, "pack: p\nrules: 5\n"), "expected a list, not the number 5")) == (2, 8)
    assert one(problems(tmp_path, ""), "the file is empty").line == 1


def test_every_key_of_the_pack_schema_is_described_for_editors() -> None:
    import json

    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "pack.schema.json").read_text())
    undescribed = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():
                if key != "$schema" and isinstance(sub, dict) and "description" not in sub and "$ref" not in sub:
                    undescribed.append(f"{path}/{key}")
            for key, sub in node.items():
                walk(sub, f"{path}/{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{path}/{i}")

    walk(schema, "")
    assert not undescribed


def test_the_language_doc_lists_every_fact_and_field() -> None:
    from followup.facts import FACT_FIELDS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "pack-language.md").read_text()
    for fact, fields in FACT_FIELDS.items():
        [row] = [line for line in doc.splitlines() if line.startswith(f"| `{fact}` |")]
        assert row.split("|")[2].strip() == ", ".join(fields), fact


@pytest.mark.parametrize(("written", "meant"), [("2 days", "2d"), ("7D", "7d"), ("1 week", "1w"), ("3 hours", "3h")])
def test_a_spelled_out_duration_gets_its_short_form(written: str, meant: str) -> None:
    from followup.packparse import duration_hint

    assert duration_hint(written).startswith(f"did you mean '{meant}'?")
