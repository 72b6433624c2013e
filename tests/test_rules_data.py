"""Every example of every rule of the default pack, as a test: the pack's examples are its tests."""

from __future__ import annotations

import pytest

from followup.audit import Auditor
from followup.pack import Example, Pack, load_pack
from followup.pack.testing import all_examples, run_example

PACK = load_pack("interview-follow-up")
EXAMPLES = list(all_examples(PACK))


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.rule}:{e.name}" for e in EXAMPLES])
def test_example(example: Example, auditor: Auditor, default_pack: Pack) -> None:
    result = run_example(auditor, default_pack, example)
    assert result.passed, "\n".join(result.failures)


def test_every_rule_has_a_firing_and_a_quiet_example() -> None:
    for rule in PACK.rules:
        fires = [e for e in rule.examples if any(x.get("rule") == rule.id for x in e.expect)]
        quiet = [e for e in rule.examples if any(x.get("rule") == rule.id for x in e.expect_not)]
        assert fires, f"{rule.id} has no example that fires it"
        assert quiet, f"{rule.id} has no example that does not fire it"


def test_the_thirteen_rules_of_the_spec() -> None:
    expected = {
        "send-thank-you-email": ({"violation", "next_step"}, "error"),
        "thank-you-email-within-24h": ({"violation"}, "error"),
        "thank-you-email-content": ({"violation"}, "warning"),
        "proofread-follow-up-email": ({"violation"}, "warning"),
        "handwritten-thank-you-note": ({"next_step"}, None),
        "tell-references": ({"violation", "next_step"}, "error"),
        "review-social-profiles": ({"violation", "next_step"}, "warning"),
        "check-in-after-a-week": ({"next_step"}, None),
        "no-early-check-in": ({"violation"}, "warning"),
        "no-repeated-contact": ({"violation"}, "error"),
        "no-asking-references-to-call": ({"violation"}, "error"),
        "no-friending-interviewer": ({"violation"}, "error"),
        "no-posting-about-interview": ({"violation"}, "warning"),
    }
    assert {r.id for r in PACK.rules} == set(expected)
    for rule in PACK.rules:
        kinds, severity = expected[rule.id]
        assert set(rule.kinds) == kinds, rule.id
        if severity:
            assert rule.severity == severity, rule.id
    params = {name: p.value for name, p in PACK.params.items()}
    assert params == {"thank_you_within": "24h", "check_in_after": "7d", "max_check_ins": 1, "note_within": "3d"}
