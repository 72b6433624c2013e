"""The pack checker runs apart from the compiler: it returns every located problem of a pack's
rules without compiling anything, and the compiler refuses a pack with exactly those problems."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from followup.compile import compile_pack
from followup.compile.check import compile_problems
from followup.diagnostics import InputError
from followup.pack import load_pack
from followup.pack.model import Pack, Pattern, Where

VALID = """pack: p
rules:
  - id: r
    title: t
    rationale: r
    severity: warning
    violation:
      when:
        - {fact: email, as: e, where: {direction: sent}}
      subject: e.key
      message: m
"""


def broken(tmp_path: Path) -> Pack:
    """A loaded valid pack whose condition is then broken twice: the loader never saw it."""
    path = tmp_path / "p.yaml"
    path.write_text(VALID)
    pack = load_pack(str(path))
    rule = pack.rules[0]
    outcome = rule.outcomes[0]
    (first,) = outcome.branches[0]
    bad_field = dataclasses.replace(first, where=(*first.where, Where("subjct", "eq", "x")))
    bad_fact = Pattern("emial", "f", False, (), loc=first.loc)
    outcome = dataclasses.replace(outcome, branches=((bad_field, bad_fact),), subject="e.nope")
    return dataclasses.replace(pack, rules=(dataclasses.replace(rule, outcomes=(outcome,)),))


def test_a_valid_pack_and_the_default_pack_have_no_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(VALID)
    assert compile_problems(load_pack(str(path))) == []
    assert compile_problems(load_pack("interview-follow-up")) == []


def test_every_problem_of_a_condition_is_found_in_order_and_the_compiler_raises_them(tmp_path: Path) -> None:
    pack = broken(tmp_path)
    problems = compile_problems(pack)
    assert [p.message for p in problems][:2] == [
        "email has no field 'subjct'; did you mean 'subject'?",
        "unknown fact type 'emial'; did you mean 'email'?",
    ]
    # A broken condition hides nothing else: the subject's own mistake is reported too.
    assert problems[2].message.startswith("rule 'r': subject: e is an email, which has no field 'nope'")
    assert len(problems) == 3
    assert [p.pointer.rsplit("/", 1)[-1] for p in problems] == ["subjct#key", "fact", "subject"]
    with pytest.raises(InputError) as raised:
        compile_pack(pack)
    assert sorted(raised.value.problems) == sorted(problems)  # the error lists them by line
