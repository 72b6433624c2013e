"""Pins of the durable_rules 2.0.28 behaviours the backend relies on or steers clear of.

If one of these changes (a new durable_rules release), the compiler's assumptions must be
re-checked: see docs/architecture.md.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import durable_rules_engine as engine
import pytest

_names = itertools.count()


def ruleset(rules: dict[str, object]) -> int:
    return int(engine.create_ruleset(f"pin-{next(_names)}", json.dumps(rules)))


def drain(handle: int, result: tuple[int, int]) -> list[dict[str, object]]:
    out = []
    state = result[1]
    nxt = engine.start_action_for_state(handle, state)
    while nxt:
        out.append(json.loads(nxt[1] if isinstance(nxt, tuple) else nxt))
        nxt = engine.complete_and_start_action(handle, state)
    return out


def fire(handle: int, *facts: dict[str, object]) -> list[dict[str, object]]:
    return drain(handle, engine.assert_facts(handle, json.dumps(list(facts))))


SINK = {"all": [{"g": {"t": "$never"}}, {"s": {"$ex": {"t": 1}}}]}
GATED_ABSENCE = {
    "r": {
        "all": [
            {"asof": {"t": "gate"}},
            {"i": {"t": "interview"}},
            {"x$not": {"$and": [{"t": "email"}, {"about": {"i": "key"}}]}},
        ]
    },
    "$sink": SINK,
}


@pytest.fixture
def gated() -> Iterator[int]:
    handle = ruleset(GATED_ABSENCE)
    yield handle
    engine.delete_state(handle, "0")


def test_gated_absence_sees_every_fact_asserted_before_the_gate(gated: int) -> None:
    fire(gated, {"t": "interview", "key": "i1"}, {"t": "interview", "key": "i2"}, {"t": "email", "about": "i2"})
    fired = fire(gated, {"t": "gate"})
    assert [m["r"]["i"]["key"] for m in fired] == ["i1"]


def test_absence_is_never_retracted(gated: int) -> None:
    fire(gated, {"t": "interview", "key": "i1"})
    assert len(fire(gated, {"t": "gate"})) == 1
    fire(gated, {"t": "email", "about": "i1"})  # too late: the firing stands (why gates come last)
    state = json.loads(engine.get_state(gated, "0"))
    assert "exception" not in state


def test_a_fact_no_rule_wants_is_refused_without_the_sink() -> None:
    handle = ruleset({"r": {"all": [{"a": {"t": "a"}}]}})
    code, _ = engine.assert_fact(handle, json.dumps({"t": "b"}))
    assert code == 1  # MessageNotHandled: the compiler adds a `$sink` rule that takes every fact
    with_sink = ruleset({"r": {"all": [{"a": {"t": "a"}}]}, "$sink": SINK})
    code, _ = engine.assert_fact(with_sink, json.dumps({"t": "b"}))
    assert code == 0


def test_the_same_fact_twice_is_observed() -> None:
    handle = ruleset({"r": {"all": [{"a": {"t": "a"}}]}})
    fire(handle, {"t": "a", "k": 1})
    code, _ = engine.assert_fact(handle, json.dumps({"t": "a", "k": 1}))
    assert code == 2  # MessageObserved: the backend deduplicates derived facts before asserting


def test_joining_on_key_works_where_id_is_unreliable() -> None:
    """Joining on a field named `id` gave 0 matches in DURABLE_RULES.md's measurements and 1 in
    some of ours (it depends on the process's state): undefined, so facts carry `key` instead and
    no fact has an `id` field (tests/test_units.py). Joining on `key` must always work."""
    for _ in range(20):
        keyed = ruleset({"r": {"all": [{"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, {"about": {"i": "key"}}]}}]}})
        fire(keyed, {"t": "interview", "key": "i1"})
        assert len(fire(keyed, {"t": "email", "about": "i1"})) == 1


def test_or_placed_last_keeps_the_join_tests() -> None:
    def run(tests: list[object]) -> int:
        handle = ruleset({"r": {"all": [{"i": {"t": "interview"}}, {"e": {"$and": [{"t": "email"}, *tests]}}]}})
        fire(handle, {"t": "interview", "key": "i1", "at": 100})
        return len(fire(handle, {"t": "email", "at": 50, "purpose": "x"}))

    join = {"$gt": {"at": {"i": "at"}}}
    either = {"$or": [{"purpose": "x"}, {"purpose": "y"}]}
    assert run([join, either]) == 0  # correct: the email is not after the interview
    # the trap the compiler avoids by putting `$or` last: before the join it drops the join test
    assert run([either, join]) == 1


def test_every_combination_fires_once_with_facts() -> None:
    handle = ruleset({"r": {"all": [{"a": {"t": "a"}}, {"b": {"t": "b"}}]}})
    fire(handle, {"t": "a", "k": 1}, {"t": "a", "k": 2})
    assert len(fire(handle, {"t": "b", "k": 1}, {"t": "b", "k": 2})) == 4


CRASHER = """
import json, sys
import durable_rules_engine as engine
import yaml, jsonschema  # noqa: F401  # a realistic heap: the crash depends on heap layout
rules = {"r": {"all": [{"asof": {"$and": [{"t": "$gate"}, {"n": 1}]}}, {"i": {"t": "interview"}}]},
         "$sink": {"all": [{"g": {"t": "$never"}}, {"s": {"$ex": {"t": 1}}}]}}
if sys.argv[1] == "with-end":
    rules["$end"] = {"all": [{"asof": {"$and": [{"t": "$gate"}, {"n": 1}]}}]}
handle = engine.create_ruleset("x", json.dumps(rules))
for _ in range(20):
    state = engine.assert_facts(handle, json.dumps([{"t": "$gate", "n": 1, "at": 5}]))[1]
    result = engine.start_action_for_state(handle, state)
    while result:
        result = engine.complete_and_start_action(handle, state)
    engine.delete_state(handle, "0")
print("survived")
"""


def test_deleting_a_session_where_no_action_ran_is_unsafe_without_the_end_rule() -> None:
    """durable_rules leaves a new session's action context uninitialised; delete_state then frees
    a garbage pointer unless an action has run. The compiler's `$end` rule always runs one."""
    import subprocess
    import sys

    fixed = subprocess.run([sys.executable, "-c", CRASHER, "with-end"], capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 0 and "survived" in fixed.stdout
    # Without the rule the process usually dies (the outcome depends on the heap): not asserted,
    # only reported, so the test cannot flake; the protection above is what must hold.
    bare = subprocess.run([sys.executable, "-c", CRASHER, "bare"], capture_output=True, text=True, timeout=60)
    print("without $end:", "survived" if bare.returncode == 0 else f"died ({bare.returncode})")


def test_histories_that_crashed_the_engine_now_audit() -> None:
    import subprocess
    import sys
    from pathlib import Path

    data = Path(__file__).parent / "data"
    files = [str(p) for p in sorted(data.glob("crash-*.yaml"))] * 10
    followup = str(Path(sys.executable).parent / "followup")
    done = subprocess.run([followup, "audit", *files, "--as-of", "2026-11-25T12:00Z", "--jobs", "1", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr


def test_a_ruleset_of_only_the_sink_and_the_end_runs() -> None:
    """The `$sink` rule joins on `ev`; a gate without `ev` made durable_rules free memory twice and
    abort the process. Gates carry `ev` now: this ruleset (what a split pack's trial builds) runs."""
    import dataclasses

    from followup.backends.durable import DurableBackend
    from followup.compile import END, SINK, compile_pack
    from followup.pack import load_pack

    whole = compile_pack(load_pack("interview-follow-up"))
    bare = dataclasses.replace(
        whole,
        name=whole.name + "-bare",
        ruleset={SINK: whole.ruleset[SINK], END: whole.ruleset[END]},
        rules={},
        partitions=(),
    )
    backend = DurableBackend(bare)
    try:
        facts = [{"t": "interview", "ev": "i1", "key": "i1", "at": 1}, {"t": "email", "ev": "e1", "key": "e1", "at": 2}]
        assert backend.run(facts, 5) == []
    finally:
        backend.close()
