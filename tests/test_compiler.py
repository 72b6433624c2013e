"""The compiler: packs become plain data (snapshot-tested), and every construct of the pack
language that the default pack needs compiles to the durable_rules shape that works."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from followup.compile import CompiledPack, compile_pack
from followup.diagnostics import InputError
from followup.pack import load_pack

HEAD = """pack: tiny
params: {within: 24h, most: 1}
"""


def compile_text(tmp_path: Path, body: str) -> CompiledPack:
    path = tmp_path / "tiny.yaml"
    path.write_text(HEAD + body)
    return compile_pack(load_pack(str(path)))


def rule_all(compiled: CompiledPack, name: str) -> Any:
    return compiled.ruleset[name]["all"]


GATE = {"asof": {"$and": [{"t": "$gate"}, {"n": 1}]}}
GUARD = {"$neq": {"t": {"asof": "t"}}}  # ends every pattern with a join: see compiler.JOIN_GUARD


def test_deadline_relative_to_another_match_uses_the_parameter(tmp_path: Path) -> None:
    c = compile_text(
        tmp_path,
        """rules:
  - id: late
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {fact: interview, as: i}
        - {fact: email, as: e, where: {about: i.key, at: {after: i.start + within}}}
      subject: e.key
      message: "{e.at - i.start - within|duration} late"
""",
    )
    assert rule_all(c, "late:violation:0") == [
        GATE,
        {"i": {"$and": [{"t": "interview"}]}},
        {
            "e": {
                "$and": [
                    {"t": "email"},
                    {"about": {"i": "key"}},
                    {"$gt": {"at": {"$add": {"$l": {"i": "start"}, "$r": 86400}}}},
                    GUARD,
                ]
            }
        },
    ]


def test_absence_by_the_audit_time_is_gated(tmp_path: Path) -> None:
    c = compile_text(
        tmp_path,
        """rules:
  - id: missing
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {fact: interview, as: i, where: {start: {before: asof.at - within}}}
        - {none: email, where: {about: i.key}}
      subject: i.key
      message: m
""",
    )
    assert rule_all(c, "missing:violation:0") == [
        GATE,
        {"i": {"$and": [{"t": "interview"}, {"$lt": {"start": {"$sub": {"$l": {"asof": "at"}, "$r": 86400}}}}, GUARD]}},
        {"_1$not": {"$and": [{"t": "email"}, {"about": {"i": "key"}}, GUARD]}},
    ]


def test_nth_expands_to_a_join_with_strictly_increasing_times(tmp_path: Path) -> None:
    c = compile_text(
        tmp_path,
        """rules:
  - id: again
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {fact: interview, as: i}
        - {fact: call, as: c, nth: most + 1, where: {about: i.key, purpose: {in: [check_in, other]}}}
      subject: c.key
      message: m
""",
    )
    patterns = rule_all(c, "again:violation:0")
    assert [next(iter(p)) for p in patterns] == ["asof", "i", "c__1", "c__2"]
    second = patterns[3]["c__2"]["$and"]
    # the `$or` of `in:` comes last, after the join and the ordering test (durable_rules drops
    # join tests that follow an `$or`)
    assert second[-2:] == [{"$or": [{"purpose": "check_in"}, {"purpose": "other"}]}, GUARD]
    assert {"$gt": {"at": {"c__1": "at"}}} in second[:-2]
    assert c.rules["again:violation:0"].subject is not None
    assert c.rules["again:violation:0"].aliases == ("i", "c__1", "c__2")


def test_derived_facts_are_stratified(tmp_path: Path) -> None:
    c = compile_text(
        tmp_path,
        """derive:
  - fact: ok
    when: [{fact: email, as: e, where: {purpose: thank_you}}]
    set: {email: e.key, at: e.at}
  - fact: ok2
    when: [{fact: ok, as: o}]
    set: {email: o.email}
rules:
  - id: uses
    title: t
    rationale: r
    severity: error
    violation:
      when: [{fact: interview, as: i}, {none: ok2}]
      subject: i.key
      message: m
""",
    )
    assert c.strata == 3
    assert c.rules["derive:ok:0"].stratum == 1
    assert c.rules["derive:ok2:1"].stratum == 2
    assert c.rules["uses:violation:0"].stratum == 3
    assert rule_all(c, "uses:violation:0")[0] == {"asof": {"$and": [{"t": "$gate"}, {"n": 3}]}}


def test_the_default_pack_compiles_to_a_stable_snapshot() -> None:
    compiled = compile_pack(load_pack("interview-follow-up"))
    snapshot = Path(__file__).parent / "snapshots" / "interview-follow-up.ruleset.json"
    text = json.dumps(compiled.ruleset, indent=1, sort_keys=True) + "\n"
    if not snapshot.exists():  # first run writes it; review the diff like any code change
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(text)
    assert text == snapshot.read_text(), "compiled ruleset changed: review and update tests/snapshots/"
    assert compiled.strata == 4
    assert "$sink" in compiled.ruleset


def test_definition_is_a_fresh_copy() -> None:
    compiled = compile_pack(load_pack("interview-follow-up"))
    first = compiled.definition()
    first["$sink"].clear()
    assert compiled.definition()["$sink"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "rules:\n  - {id: x, title: t, rationale: r, severity: error, violation: {when: [{fact: interviw, as: i}], subject: i.key, message: m}}\n",
            "unknown fact type 'interviw'; did you mean 'interview'?",
        ),
        (
            "rules:\n  - {id: x, title: t, rationale: r, severity: error, violation: {when: [{fact: interview, as: i, where: {compny: Acme}}], subject: i.key, message: m}}\n",
            "interview has no field 'compny'; did you mean 'company'?",
        ),
        (
            "rules:\n  - {id: x, title: t, rationale: r, severity: error, violation: {when: [{fact: interview, as: i, where: {at: {after: asof.at + withn}}}], subject: i.key, message: m}}\n",
            "unknown name 'withn'; did you mean 'within'?",
        ),
        (
            "rules:\n  - {id: x, title: t, rationale: r, severity: error, violation: {when: [{fact: interview, as: i}], subject: j.key, message: m}}\n",
            "'j' is not the name of an earlier match (names here: asof, i)",
        ),
        (
            "rules:\n  - {id: x, title: t, rationale: r, severity: error, violation: {when: [{fact: interview, as: i}], subject: i.key, message: '{i.compan}'}}\n",
            "i is an interview, which has no field 'compan'; did you mean i.company?",
        ),
        (
            "rules:\n  - {id: x, title: t, rationale: r, severity: error, next_step: {when: [{fact: interview, as: i}], subject: i.key, message: m}}\n",
            "a next step needs `due`",
        ),
        ("derive:\n  - {fact: a, when: [{fact: a, as: x}], set: {k: x.k}}\n", "derived fact 'a' depends on itself"),
    ],
)
def test_semantic_errors_are_located_and_suggest(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        compile_text(tmp_path, body)
    [problem] = [p for p in caught.value.problems if message in p.message]
    assert problem.source.endswith("tiny.yaml")
    assert problem.line >= 3


def test_every_pattern_with_a_join_ends_with_the_guard() -> None:
    """durable_rules reads out of bounds when a deciding join test is last (engine-semantics.md)."""
    from followup.compile.compiler import _joins

    compiled = compile_pack(load_pack("interview-follow-up"))
    checked = 0
    for rule in compiled.ruleset.values():
        scope: list[str] = []
        for pattern in rule["all"]:
            [(alias, condition)] = pattern.items()
            tests = condition.get("$and", [condition])
            if any(_joins(t, scope) for t in tests[:-1]):
                assert tests[-1] == GUARD, (alias, tests)
                checked += 1
            scope.append(alias)
    assert checked > 40


def test_a_reference_to_an_earlier_match_is_a_join_and_a_literal_is_written_with_in(tmp_path: Path) -> None:
    c = compile_text(
        tmp_path,
        """rules:
  - id: same-company
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {fact: interview, as: i}
        - {fact: interview, as: j, where: {company: i.company, position: {in: [i.company]}}}
      subject: j.key
      message: m
""",
    )
    j = rule_all(c, "same-company:violation:0")[2]["j"]["$and"]
    assert {"co": {"i": "co"}} in j  # a join to the earlier match (on the folded twins: ignores case)
    assert {"$or": [{"position": "i.company"}]} in j  # the text itself


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("{fact: interview, as: i, where: {company: i.company}}", "'i.company' names 'i', this pattern's own name"),
        ("{fact: email, as: e, where: {about: x.key}}", "'x.key' names 'x', which no earlier pattern matches"),
    ],
)
def test_a_reference_to_an_unbound_name_is_an_error_not_a_literal(tmp_path: Path, where: str, message: str) -> None:
    body = f"""rules:
  - id: r
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {where}
      subject: {"i" if "interview" in where else "e"}.key
      message: m
"""
    with pytest.raises(InputError) as caught:
        compile_text(tmp_path, body)
    assert message in str(caught.value)
    assert "write {in: [" in str(caught.value)
