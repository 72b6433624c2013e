"""Work left out for speed (issue 14, cold speed), pinned so that it cannot change what is found:
facts that no pattern can match are not asserted; a pack's text patterns are searched as one
alternation once a batch is under way. The differential tests compare the
durable backend (which leaves them out) with the reference backend (which keeps them) on generated
histories; these tests pin the choices themselves on known inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from followup.backends import Fact, Firing
from followup.backends.durable import DurableBackend, matched_types
from followup.compile import GATE, CompiledPack, Patterns, compile_pack, epoch, history_facts
from followup.history import read_history
from followup.io import iter_sources
from followup.model import History
from followup.pack import compile_patterns, load_pack
from followup.pack.textpattern import ALTERNATION_AFTER

AS_OF = datetime(2026, 12, 31, 12, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(scope="module")
def compiled() -> CompiledPack:
    return compile_pack(load_pack("interview-follow-up"))


def test_types_no_rule_matches_are_left_out(compiled: CompiledPack) -> None:
    kinds = matched_types(compiled)
    assert kinds is not None
    # Rules see calls, notes and received messages through `to`, `last_heard` and other facts.
    assert {"call", "note", "received"}.isdisjoint(kinds)
    assert {GATE, "interview", "email", "to", "thank_you", "check_in", "person"} <= kinds


def test_an_unreadable_pattern_keeps_every_fact(compiled: CompiledPack) -> None:
    ruleset = {**compiled.ruleset, "odd": {"all": [{"x": {"$or": [{"t": "call"}, {"t": "note"}]}}]}}
    assert matched_types(dataclasses.replace(compiled, ruleset=ruleset)) is None


class _Counting(DurableBackend):
    """Records every fact handed to the engine."""

    def __init__(self, compiled: CompiledPack) -> None:
        self.sent: list[Fact] = []
        super().__init__(compiled)

    def _encode(self, facts: Sequence[Fact]) -> str:
        self.sent.extend(facts)
        return super()._encode(facts)


def test_left_out_facts_change_no_firing(compiled: CompiledPack) -> None:
    """Every example history: the same firings with and without the unmatched facts."""
    patterns = Patterns(compiled.pack.patterns)
    counting = _Counting(compiled)
    everything = _Counting(compiled)
    everything._matched = None  # assert every fact, as before
    compared = 0
    for source in iter_sources([str(EXAMPLES)]):
        history = read_history(source, AS_OF)
        if not isinstance(history, History):
            continue  # examples/broken.yaml
        facts = history_facts(history, patterns)
        left_out = [f for f in facts if f["t"] in ("call", "note", "received")]
        fewer = counting.run(facts, epoch(AS_OF))
        more = everything.run(facts, epoch(AS_OF))
        assert _canonical(fewer) == _canonical(more)
        assert not any(f["t"] in ("call", "note", "received") for f in counting.sent)
        compared += bool(left_out)
    assert compared >= 2  # the examples do hold calls, notes or received messages


def _canonical(firings: list[Firing]) -> list[str]:
    return sorted(repr(sorted((a, sorted(f.items())) for a, f in x.bindings.items())) + x.rule for x in firings)


def test_alternation_answers_as_the_patterns_one_by_one() -> None:
    """A matcher switches to one alternation of its patterns after ALTERNATION_AFTER texts: every
    corpus sentence (and a few edge texts) gets the same answer from it as from each pattern in
    turn, for every list of the default pack."""
    texts: list[str] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        texts.extend(_strings(yaml.safe_load(path.read_text(encoding="utf-8"))))
    texts += ["x\n appreciate it", "İ THANK YOU", "\u0101" * 300 + "!", "a@a-" * 300, ""]
    assert len(texts) > 4 * ALTERNATION_AFTER
    pack = load_pack("interview-follow-up")
    for name, items in pack.patterns.items():
        matcher = compile_patterns(items)
        for text in texts:
            one_by_one = any(r.search(text.encode()) is not None for r in matcher.regexps)
            assert matcher.search(text) == one_by_one, (name, text)
        assert len(items) == 1 or matcher._any != matcher.regexps  # the alternation did run


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []
