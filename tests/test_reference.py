"""Unit tests of the reference evaluator on tiny hand-written compiled rulesets.

Each ruleset is written in the durable_rules JSON form our compiler emits: a gate pattern first,
then patterns of ``{alias: condition}``. What the evaluator must do is what durable_rules does
(docs/engine-semantics.md), except where durable_rules coerces types: there it is strict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from followup.backends import Fact, get_backend
from followup.backends.reference import EvaluationError, ReferenceBackend, RulesetError, same
from followup.compile import GATE, CompiledPack, CompiledRule, compile_pack
from followup.compile import expr as ex
from followup.pack import load_pack

AS_OF = 1_000_000


@pytest.fixture(scope="module")
def base() -> CompiledPack:
    """A real compiled pack, whose ruleset and rules each test replaces with its own."""
    return compile_pack(load_pack("interview-follow-up"))


def gate(n: int = 1) -> dict[str, object]:
    return {"asof": {"$and": [{"t": GATE}, {"n": n}]}}


Spec = tuple[int, str, list[dict[str, object]]]  # stratum, kind, patterns after the gate


def pack(
    base: CompiledPack, rules: Mapping[str, Spec], sets: Mapping[str, tuple[str, dict[str, ex.Expr]]] | None = None
) -> CompiledPack:
    ruleset: dict[str, Mapping[str, object]] = {}
    meanings: dict[str, CompiledRule] = {}
    for name, (stratum, kind, patterns) in rules.items():
        ruleset[name] = {"all": [gate(stratum), *patterns]}
        aliases = tuple(a for p in patterns for a in p if not a.endswith("$not"))
        fact, projection = (sets or {}).get(name, ("", {}))
        meanings[name] = CompiledRule(name, stratum, kind, rule_id=name, fact=fact, set=projection, aliases=aliases)
    ruleset["$sink"] = {"all": [{"g": {"t": "$never"}}, {"s": {"$ex": {"t": 1}}}]}
    strata = max((s for s, _, _ in rules.values()), default=1)
    return dataclasses.replace(base, name="test", strata=strata, ruleset=ruleset, rules=meanings)


def run(compiled: CompiledPack, facts: Sequence[Fact], as_of: float = AS_OF) -> list[tuple[str, dict[str, Any]]]:
    """(rule, {alias: fact}) of every firing, sorted; the gate binding is checked and left out."""
    out = []
    for firing in ReferenceBackend(compiled).run(facts, as_of):
        bindings = dict(firing.bindings)
        asof = bindings.pop("asof")
        assert asof["t"] == GATE and asof["at"] == as_of
        assert asof["n"] == compiled.rules[firing.rule].stratum
        out.append((firing.rule, bindings))
    return sorted(out, key=repr)


def keys(compiled: CompiledPack, facts: Sequence[Fact], alias: str, as_of: float = AS_OF) -> list[object]:
    return sorted((b[alias].get("key") for _, b in run(compiled, facts, as_of)), key=repr)


def violation(*patterns: dict[str, object]) -> dict[str, Spec]:
    return {"r": (1, "violation", list(patterns))}


# -- tests on one fact ----------------------------------------------------------------------------


def test_equality_with_a_literal(base: CompiledPack) -> None:
    compiled = pack(base, violation({"e": {"$and": [{"t": "email"}, {"direction": "sent"}]}}))
    facts = [
        {"t": "email", "key": "e1", "direction": "sent"},
        {"t": "email", "key": "e2", "direction": "received"},
        {"t": "email", "key": "e3"},
        {"t": "call", "key": "c1", "direction": "sent"},
    ]
    assert run(compiled, facts) == [("r", {"e": facts[0]})]


def test_a_single_test_needs_no_and(base: CompiledPack) -> None:
    compiled = pack(base, violation({"e": {"t": "email"}}))
    assert keys(compiled, [{"t": "email", "key": "e1"}, {"t": "call", "key": "c1"}], "e") == ["e1"]


def test_booleans_equal_booleans_only(base: CompiledPack) -> None:
    compiled = pack(base, violation({"e": {"$and": [{"t": "email"}, {"thanks": False}]}}))
    facts: list[Fact] = [
        {"t": "email", "key": "e1", "thanks": False},
        {"t": "email", "key": "e2", "thanks": True},
        {"t": "email", "key": "e3", "thanks": 0},  # durable_rules would say 0 == false
        {"t": "email", "key": "e4", "thanks": "false"},  # ...and "false" == false
        {"t": "email", "key": "e5"},
    ]
    assert keys(compiled, facts, "e") == ["e1"]


def test_same_is_strict_about_types() -> None:
    assert same(1, 1.0) and same("a", "a") and same(True, True) and same(None, None)
    assert not same("5", 5) and not same(True, 1) and not same(0, False) and not same("", 0)
    assert not same(None, "") and not same([1], [1])


def test_exists_and_not_exists(base: CompiledPack) -> None:
    facts = [{"t": "email", "key": "e1", "about": "i1"}, {"t": "email", "key": "e2"}]
    present = pack(base, violation({"e": {"$and": [{"t": "email"}, {"$ex": {"about": 1}}]}}))
    absent = pack(base, violation({"e": {"$and": [{"t": "email"}, {"$nex": {"about": 1}}]}}))
    assert keys(present, facts, "e") == ["e1"]
    assert keys(absent, facts, "e") == ["e2"]


def test_or(base: CompiledPack) -> None:
    compiled = pack(
        base, violation({"s": {"$and": [{"t": "social"}, {"$or": [{"action": "post"}, {"action": "follow"}]}]}})
    )
    facts = [{"t": "social", "key": k, "action": a} for k, a in (("s1", "post"), ("s2", "follow"), ("s3", "connect"))]
    assert keys(compiled, facts, "s") == ["s1", "s2"]


def test_not_equal_and_a_missing_field(base: CompiledPack) -> None:
    compiled = pack(base, violation({"f": {"$and": [{"t": "follows"}, {"$neq": {"purpose": "thank_you"}}]}}))
    facts = [
        {"t": "follows", "key": "f1", "purpose": "check_in"},
        {"t": "follows", "key": "f2", "purpose": "thank_you"},
        {"t": "follows", "key": "f3"},  # a test on a missing field is false, $neq included
    ]
    assert keys(compiled, facts, "f") == ["f1"]


def test_comparisons_with_the_gate(base: CompiledPack) -> None:
    """``asof`` is the gate fact: its ``at`` is the audit time."""

    def due(op: str) -> list[object]:
        compiled = pack(base, violation({"i": {"$and": [{"t": "interview"}, {op: {"start": {"asof": "at"}}}]}}))
        facts = [{"t": "interview", "key": f"i{d}", "start": AS_OF + d} for d in (-1, 0, 1)]
        return keys(compiled, facts, "i")

    assert due("$lt") == ["i-1"]
    assert due("$lte") == ["i-1", "i0"]
    assert due("$gt") == ["i1"]
    assert due("$gte") == ["i0", "i1"]


# -- joins ----------------------------------------------------------------------------------------


def test_join_on_equality(base: CompiledPack) -> None:
    compiled = pack(
        base,
        violation({"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, {"about": {"i": "key"}}]}}),
    )
    facts = [
        {"t": "interview", "key": "i1"},
        {"t": "interview", "key": "i2"},
        {"t": "email", "key": "e1", "about": "i1"},
        {"t": "email", "key": "e2", "about": "i1"},
        {"t": "email", "key": "e3", "about": "i3"},
        {"t": "email", "key": "e4"},
    ]
    pairs = sorted((b["i"]["key"], b["e"]["key"]) for _, b in run(compiled, facts))
    assert pairs == [("i1", "e1"), ("i1", "e2")]


def test_join_with_a_missing_field_of_the_bound_fact_does_not_match(base: CompiledPack) -> None:
    """``{"key": {"s": "about"}}`` when the post has no ``about``: no match (as in durable_rules)."""
    compiled = pack(
        base,
        violation({"s": {"t": "social"}}, {"i": {"$and": [{"t": "interview"}, {"key": {"s": "about"}}]}}),
    )
    facts = [{"t": "social", "key": "s1"}, {"t": "social", "key": "s2", "about": "i1"}, {"t": "interview", "key": "i1"}]
    assert sorted(b["s"]["key"] for _, b in run(compiled, facts)) == ["s2"]


def test_comparison_with_arithmetic(base: CompiledPack) -> None:
    """A thank-you after the deadline: strictly after start + 24h (exactly at it is in time)."""
    late = {"$gt": {"at": {"$add": {"$l": {"i": "start"}, "$r": 86400}}}}
    compiled = pack(base, violation({"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, late]}}))
    start = 500_000
    facts: list[Fact] = [{"t": "interview", "key": "i1", "start": start}]
    facts += [{"t": "email", "key": f"e{d:+}", "at": start + 86400 + d} for d in (-1, 0, 1)]
    facts.append({"t": "email", "key": "e+0.5", "at": start + 86400.5})
    assert keys(compiled, facts, "e") == ["e+0.5", "e+1"]


def test_subtraction_and_a_window(base: CompiledPack) -> None:
    """``w.at`` in (c.at - 7d, c.at): both ends open."""
    window = [{"$lt": {"at": {"c": "at"}}}, {"$gt": {"at": {"$sub": {"$l": {"c": "at"}, "$r": 604800}}}}]
    compiled = pack(base, violation({"c": {"t": "check_in"}}, {"w": {"$and": [{"t": "waiting"}, *window]}}))
    at = 2_000_000
    facts: list[Fact] = [{"t": "check_in", "key": "c1", "at": at}]
    facts += [{"t": "waiting", "key": f"w{d}", "at": at - d} for d in (0, 1, 604799, 604800)]
    assert keys(compiled, facts, "w") == ["w1", "w604799"]


def test_every_combination_fires_once(base: CompiledPack) -> None:
    compiled = pack(base, violation({"a": {"t": "a"}}, {"b": {"t": "b"}}))
    facts = [{"t": "a", "k": 1}, {"t": "a", "k": 2}, {"t": "b", "k": 1}, {"t": "b", "k": 2}]
    assert len(run(compiled, facts)) == 4


def test_one_fact_never_binds_two_aliases(base: CompiledPack) -> None:
    """durable_rules binds distinct facts: two emails are needed for the pair (measured)."""
    compiled = pack(base, violation({"a": {"t": "email"}}, {"c": {"t": "email"}}))
    assert run(compiled, [{"t": "email", "key": "e1"}]) == []
    two = run(compiled, [{"t": "email", "key": "e1"}, {"t": "email", "key": "e2"}])
    assert sorted((b["a"]["key"], b["c"]["key"]) for _, b in two) == [("e1", "e2"), ("e2", "e1")]


def test_identical_facts_are_one_fact(base: CompiledPack) -> None:
    compiled = pack(base, violation({"a": {"t": "a"}}))
    assert len(run(compiled, [{"t": "a", "k": 1}, {"t": "a", "k": 1}])) == 1


# -- absence --------------------------------------------------------------------------------------


def absence(base: CompiledPack) -> CompiledPack:
    no_thanks: dict[str, object] = {"_1$not": {"$and": [{"t": "thank_you"}, {"interview": {"i": "key"}}]}}
    return pack(base, violation({"i": {"t": "interview"}}, no_thanks))


def test_absence(base: CompiledPack) -> None:
    facts = [{"t": "interview", "key": "i1"}, {"t": "interview", "key": "i2"}, {"t": "thank_you", "interview": "i2"}]
    compiled = absence(base)
    assert keys(compiled, facts, "i") == ["i1"]
    firing = run(compiled, facts)[0]
    assert set(firing[1]) == {"i"}  # an absence binds nothing


def test_absence_first_and_alone(base: CompiledPack) -> None:
    compiled = pack(base, {"r": (1, "violation", [{"x$not": {"t": "offer"}}])})
    assert len(run(compiled, [])) == 1
    assert run(compiled, [{"t": "offer"}]) == []


def test_absence_does_not_see_the_facts_already_bound(base: CompiledPack) -> None:
    """``none: interview`` after ``i`` ignores ``i`` itself (durable_rules, measured)."""
    compiled = pack(base, violation({"i": {"t": "interview"}}, {"x$not": {"t": "interview"}}))
    assert keys(compiled, [{"t": "interview", "key": "i1"}], "i") == ["i1"]
    assert run(compiled, [{"t": "interview", "key": "i1"}, {"t": "interview", "key": "i2"}]) == []


def test_absence_sees_facts_bound_only_later(base: CompiledPack) -> None:
    compiled = pack(base, violation({"i": {"t": "interview"}}, {"x$not": {"t": "email"}}, {"e": {"t": "email"}}))
    assert run(compiled, [{"t": "interview", "key": "i1"}, {"t": "email", "key": "e1"}]) == []


# -- strata and derived facts ----------------------------------------------------------------------


def chained(base: CompiledPack) -> CompiledPack:
    """Stratum 1 derives ``thank_you`` facts; stratum 2 reports interviews without one."""
    rules: dict[str, Spec] = {
        "derive": (
            1,
            "derive",
            [{"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, {"about": {"i": "key"}}]}}],
        ),
        "report": (
            2,
            "violation",
            [{"i": {"t": "interview"}}, {"_1$not": {"$and": [{"t": "thank_you"}, {"interview": {"i": "key"}}]}}],
        ),
    }
    sets = {"derive": ("thank_you", {"interview": ex.Ref("i", "key"), "email": ex.Ref("e", "key")})}
    return pack(base, rules, sets)


def test_derived_facts_feed_the_next_stratum(base: CompiledPack) -> None:
    facts = [
        {"t": "interview", "key": "i1", "ev": "i1"},
        {"t": "interview", "key": "i2", "ev": "i2"},
        {"t": "email", "key": "e1", "about": "i2", "ev": "e1"},
    ]
    firings = run(chained(base), facts)
    assert [(rule, b["i"]["key"]) for rule, b in firings] == [("report", "i1")]  # derivations are not returned


def test_a_derived_fact_is_seen_by_later_strata(base: CompiledPack) -> None:
    rules: dict[str, Spec] = {
        "derive": (1, "derive", [{"i": {"t": "interview"}}]),
        "next_stratum": (2, "violation", [{"d": {"t": "seen"}}]),
    }
    compiled = pack(base, rules, {"derive": ("seen", {"interview": ex.Ref("i", "key")})})
    firings = run(compiled, [{"t": "interview", "key": "i1", "ev": "i1"}])
    assert [rule for rule, _ in firings] == ["next_stratum"]
    assert firings[0][1]["d"] == {"t": "seen", "interview": "i1", "ev": "i1"}


@pytest.mark.parametrize(
    ("stratum", "pattern"),
    [
        (1, {"d": {"t": "seen"}}),  # derived in its own stratum
        (1, {"d": {"$ex": {"t": 1}}}),  # any fact: derived ones too
        (1, {"g": {"t": GATE}}),  # the gate of stratum 2 arrives after its own
    ],
)
def test_a_rule_that_could_see_later_facts_is_refused(
    base: CompiledPack, stratum: int, pattern: dict[str, object]
) -> None:
    """durable_rules would fire it again when those facts arrive: the data is not stratified."""
    rules: dict[str, Spec] = {
        "derive": (1, "derive", [{"i": {"t": "interview"}}]),
        "early": (stratum, "violation", [pattern]),
        "last": (2, "violation", [{"d": {"t": "seen"}}]),
    }
    compiled = pack(base, rules, {"derive": ("seen", {"interview": ex.Ref("i", "key")})})
    with pytest.raises(RulesetError, match="stratified"):
        ReferenceBackend(compiled)


def test_identical_derived_facts_are_one_fact(base: CompiledPack) -> None:
    """Two emails about one interview derive the same projection once."""
    rules: dict[str, Spec] = {
        "derive": (
            1,
            "derive",
            [{"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, {"about": {"i": "key"}}]}}],
        ),
        "count": (2, "violation", [{"d": {"t": "thanked"}}]),
    }
    compiled = pack(base, rules, {"derive": ("thanked", {"interview": ex.Ref("i", "key")})})
    facts = [
        {"t": "interview", "key": "i1", "ev": "i1"},
        {"t": "email", "key": "e1", "about": "i1", "ev": "i1"},
        {"t": "email", "key": "e2", "about": "i1", "ev": "i1"},
    ]
    assert len(run(compiled, facts)) == 1


def test_earlier_gates_stay_in_the_pool(base: CompiledPack) -> None:
    """As in a durable_rules session, the gate of stratum 1 is still there at stratum 2."""
    compiled = pack(base, {"r": (2, "violation", [{"g": {"$and": [{"t": GATE}, {"n": 1}]}}])})
    (firing,) = run(compiled, [])
    assert firing[1]["g"] == {"t": GATE, "n": 1, "at": AS_OF, "ev": ""}


# -- what the evaluator refuses ---------------------------------------------------------------------


def test_a_rule_must_start_with_its_gate(base: CompiledPack) -> None:
    compiled = pack(base, violation({"e": {"t": "email"}}))
    broken = dataclasses.replace(compiled, ruleset={**compiled.ruleset, "r": {"all": [{"e": {"t": "email"}}]}})
    with pytest.raises(RulesetError, match="gate"):
        ReferenceBackend(broken)
    wrong_stratum = dataclasses.replace(
        compiled, ruleset={**compiled.ruleset, "r": {"all": [gate(2), {"e": {"t": "email"}}]}}
    )
    with pytest.raises(RulesetError, match="gate"):
        ReferenceBackend(wrong_stratum)


@pytest.mark.parametrize(
    "condition",
    [
        {"$mt": {"body": "x.*"}},
        {"$and": []},
        {"$gt": {"at": {"$mul": {"$l": 1, "$r": 2}}}},
        {"$gt": {"at": {"i": "at", "j": "at"}}},
        ["t", "email"],
    ],
)
def test_unknown_constructs_are_refused(base: CompiledPack, condition: object) -> None:
    with pytest.raises(RulesetError):
        ReferenceBackend(pack(base, violation({"i": {"t": "interview"}}, {"e": condition})))


def test_a_join_must_name_an_earlier_positive_pattern(base: CompiledPack) -> None:
    later = violation({"e": {"$and": [{"t": "email"}, {"about": {"i": "key"}}]}}, {"i": {"t": "interview"}})
    absent = violation({"x$not": {"t": "offer"}}, {"e": {"$and": [{"t": "email"}, {"about": {"x": "key"}}]}})
    twice = violation({"i": {"t": "interview"}}, {"i": {"t": "interview"}})
    for rules in (later, absent, twice):
        with pytest.raises(RulesetError):
            ReferenceBackend(pack(base, rules))


def test_a_missing_field_in_a_comparison_is_an_error(base: CompiledPack) -> None:
    """durable_rules fails the whole assert here (error 311, property not found)."""
    compiled = pack(
        base, violation({"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, {"$gt": {"at": {"i": "start"}}}]}})
    )
    with pytest.raises(EvaluationError, match="missing"):
        run(compiled, [{"t": "interview", "key": "i1"}, {"t": "email", "key": "e1", "at": 5}])
    # No candidate reaches the comparison: nothing to fail on.
    assert run(compiled, [{"t": "interview", "key": "i1"}]) == []


def test_ordering_compares_numbers_only(base: CompiledPack) -> None:
    compiled = pack(
        base, violation({"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, {"$gt": {"at": {"i": "key"}}}]}})
    )
    with pytest.raises(EvaluationError, match="numbers"):
        run(compiled, [{"t": "interview", "key": "i1"}, {"t": "email", "key": "e1", "at": 5}])


# -- the backend as the product uses it ------------------------------------------------------------


def test_get_backend_gives_the_reference_evaluator(base: CompiledPack) -> None:
    assert isinstance(get_backend("reference", base), ReferenceBackend)


def test_the_default_pack_compiles_into_what_the_evaluator_reads(base: CompiledPack) -> None:
    backend = ReferenceBackend(base)
    assert backend.run([], AS_OF) == []
    interview = {
        "t": "interview",
        "ev": "i1",
        "key": "i1",
        "at": AS_OF - 10 * 86400,
        "start": AS_OF - 10 * 86400,
        "company": "Acme",
        "co": "acme",
        "names": "Kim",
    }
    rules = sorted({f.rule for f in backend.run([interview], AS_OF)})
    assert rules == [
        "check-in-after-a-week:next_step:0",
        "review-social-profiles:violation:0",
        "send-thank-you-email:violation:0",
    ]
