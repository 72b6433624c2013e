"""`pack validate` beyond the printed lines: the regular-expression check, the API's exception for a
missing pack, overlays resolving, and the schema and docs agreeing with the pack language.

The cases "this pack prints these problems" (every class of error, with its message and its line
and column in the file that has the mistake) are golden files: tests/packs/invalid/, run by
tests/test_pack_golden.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.diagnostics import InputError
from followup.pack import PackNotFoundError, check_pack, load_pack, pattern_problem

# -- text patterns: the regular-expression check --------------------------------------------------


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


# -- the shipped packs, the schema and the docs ---------------------------------------------------


def test_the_shipped_packs_are_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    for ref in (
        "interview-follow-up",
        str(root / "rules" / "interview-follow-up.yaml"),
        str(root / "examples" / "packs" / "strict-agency.yaml"),
    ):
        result = check_pack(ref)
        assert result.ok, [str(p) for p in result.problems]


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
    from followup.compile import FACT_FIELDS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "pack-language.md").read_text()
    for fact, fields in FACT_FIELDS.items():
        [row] = [line for line in doc.splitlines() if line.startswith(f"| `{fact}` |")]
        assert row.split("|")[2].strip() == ", ".join(fields), fact


@pytest.mark.parametrize(("written", "meant"), [("2 days", "2d"), ("7D", "7d"), ("1 week", "1w"), ("3 hours", "3h")])
def test_a_spelled_out_duration_gets_its_short_form(written: str, meant: str) -> None:
    from followup.pack import duration_hint

    assert duration_hint(written).startswith(f"did you mean '{meant}'?")
