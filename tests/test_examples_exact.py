"""The bundled examples give exactly these findings (tests from data: the whole list, in order)."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import ROOT
from followup.audit import Auditor, audit_paths
from followup.diagnostics import InputError

AS_OF = datetime.fromisoformat("2026-11-25T12:00+00:00")

EXPECTED = {
    # A model candidate: only the next check-in (overdue by now: Kim wrote back on 12 Nov).
    "jane.yaml": [("check-in-after-a-week", "next_step", "i1", None, "2026-11-19T15:00:00-05:00")],
    "struggling.yaml": [
        ("review-social-profiles", "violation", "i1", None, None),
        ("no-posting-about-interview", "violation", "p1", None, None),
        ("no-friending-interviewer", "violation", "f1", "ana", None),
        ("proofread-follow-up-email", "violation", "e1", None, None),
        ("thank-you-email-content", "violation", "e1", None, None),
        ("thank-you-email-within-24h", "violation", "e1", None, None),
        ("no-asking-references-to-call", "violation", "h1", "liz", None),
        ("no-early-check-in", "violation", "c1", None, None),
        ("no-early-check-in", "violation", "c2", None, None),
        ("no-repeated-contact", "violation", "c2", None, None),
        ("proofread-follow-up-email", "violation", "c2", None, None),
        ("tell-references", "violation", "k1", "liz", None),
        ("handwritten-thank-you-note", "next_step", "i1", "ana", "2026-11-12T15:00:00+00:00"),
        ("handwritten-thank-you-note", "next_step", "i1", "ben", "2026-11-12T15:00:00+00:00"),
    ],
    "upcoming.yaml": [
        ("review-social-profiles", "next_step", "i1", None, "2026-12-01T13:00:00-06:00"),
        ("tell-references", "next_step", "i1", "max", "2026-12-01T13:00:00-06:00"),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_findings(auditor: Auditor, name: str) -> None:
    [result] = list(audit_paths(auditor, [str(ROOT / "examples" / name)], AS_OF))
    assert not isinstance(result, InputError)
    got = [(f.rule, f.kind, f.subject, f.person, f.due.isoformat() if f.due else None) for f in result.findings]
    assert got == EXPECTED[name]


def test_jane_on_the_day_after_the_reply(auditor: Auditor) -> None:
    as_of = datetime.fromisoformat("2026-11-13T12:00+00:00")
    [result] = list(audit_paths(auditor, [str(ROOT / "examples" / "jane.yaml")], as_of))
    assert not isinstance(result, InputError)
    [step] = result.findings
    assert (step.rule, step.kind, step.due.isoformat() if step.due else None) == (
        "check-in-after-a-week",
        "next_step",
        "2026-11-19T15:00:00-05:00",
    )
    assert step.message == (
        "No news from Acme since Thu 12 Nov 2026: call Kim Lee and Raj Patel to check in on "
        "Thu 19 Nov 2026 15:00 EST if there is still none by then."
    )
    assert step.events == ("i1", "r1")


def test_broken_example_reports_every_error_with_its_position(auditor: Auditor) -> None:
    [result] = list(audit_paths(auditor, [str(ROOT / "examples" / "broken.yaml")], AS_OF))
    assert isinstance(result, InputError)
    got = [(p.line, p.column, p.message.split(";")[0]) for p in result.problems]
    assert got == [
        (3, 11, "unknown time zone 'America/New_Yrok'"),
        (8, 42, "'ends' 2026-11-02T09:00 is before 'at' 2026-11-02T10:00"),
        (9, 42, "unknown event type 'emial'"),
        (10, 66, "unknown field 'too' in email event"),
        (11, 18, "unparseable time 'yesterday'"),
        (11, 62, "unknown person 'kimm' in 'to'"),
    ]
    assert all("did you mean" in p.message for p in result.problems if "unknown" in p.message)
