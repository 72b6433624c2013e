"""Every deadline of the default pack at exactly the deadline and one second either side.

Fine print (SPEC §3): a deadline is met at exactly the deadline (late means strictly after), and a
next step stays a next step up to and including its due instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import make_history, summary
from followup.audit import Auditor

END = datetime.fromisoformat("2026-11-02T11:00+00:00")  # the interview's end: the clock start
INTERVIEW = {
    "id": "i1",
    "at": "2026-11-02T10:00Z",
    "ends": "2026-11-02T11:00Z",
    "type": "interview",
    "company": "Acme",
    "with": ["kim"],
}
SECOND = timedelta(seconds=1)
DAY, WEEK = timedelta(days=1), timedelta(days=7)


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.mark.parametrize(("offset", "late"), [(-SECOND, False), (timedelta(0), False), (SECOND, True)])
def test_thank_you_email_deadline(auditor: Auditor, offset: timedelta, late: bool) -> None:
    sent = END + DAY + offset
    email = {
        "id": "e1",
        "at": iso(sent),
        "type": "email",
        "direction": "sent",
        "to": "kim",
        "about": "i1",
        "purpose": "thank_you",
    }
    as_of = END + 10 * DAY
    result = auditor.audit(make_history([INTERVIEW, email], as_of=as_of), as_of)
    got = summary(result.findings, "thank-you-email-within-24h")
    assert got == ([("thank-you-email-within-24h", "violation", "e1", None, None)] if late else [])
    assert summary(result.findings, "send-thank-you-email") == []


@pytest.mark.parametrize(
    ("offset", "kind"), [(-SECOND, "next_step"), (timedelta(0), "next_step"), (SECOND, "violation")]
)
def test_missing_thank_you_flips_from_next_step_to_violation(auditor: Auditor, offset: timedelta, kind: str) -> None:
    as_of = END + DAY + offset
    result = auditor.audit(make_history([INTERVIEW], as_of=as_of), as_of)
    due = (END + DAY).isoformat() if kind == "next_step" else None
    assert summary(result.findings, "send-thank-you-email") == [("send-thank-you-email", kind, "i1", None, due)]


@pytest.mark.parametrize(("offset", "early"), [(-SECOND, True), (timedelta(0), False), (SECOND, False)])
def test_check_in_a_week_after_the_interview(auditor: Auditor, offset: timedelta, early: bool) -> None:
    call = {
        "id": "c1",
        "at": iso(END + WEEK + offset),
        "type": "call",
        "direction": "sent",
        "to": "kim",
        "purpose": "check_in",
    }
    as_of = END + 20 * DAY
    result = auditor.audit(make_history([INTERVIEW, call], as_of=as_of), as_of)
    assert summary(result.findings, "no-early-check-in") == (
        [("no-early-check-in", "violation", "c1", None, None)] if early else []
    )


@pytest.mark.parametrize(("offset", "early"), [(-SECOND, True), (timedelta(0), False), (SECOND, False)])
def test_check_in_a_week_after_hearing_back(auditor: Auditor, offset: timedelta, early: bool) -> None:
    reply_at = END + 2 * DAY
    reply = {"id": "r1", "at": iso(reply_at), "type": "email", "direction": "received", "from": "ray"}
    call = {
        "id": "c1",
        "at": iso(reply_at + WEEK + offset),
        "type": "call",
        "direction": "sent",
        "to": "kim",
        "purpose": "check_in",
    }
    as_of = END + 20 * DAY
    result = auditor.audit(make_history([INTERVIEW, reply, call], as_of=as_of), as_of)
    assert summary(result.findings, "no-early-check-in") == (
        [("no-early-check-in", "violation", "c1", None, None)] if early else []
    )


@pytest.mark.parametrize("offset", [-SECOND, timedelta(0), SECOND])
def test_check_in_next_step_is_due_a_week_after_the_waiting_start(auditor: Auditor, offset: timedelta) -> None:
    as_of = END + WEEK + offset
    result = auditor.audit(make_history([INTERVIEW], as_of=as_of), as_of)
    assert summary(result.findings, "check-in-after-a-week") == [
        ("check-in-after-a-week", "next_step", "i1", None, (END + WEEK).isoformat())
    ]


@pytest.mark.parametrize(("offset", "noted"), [(-SECOND, False), (timedelta(0), False), (SECOND, True)])
def test_note_must_come_after_the_interview_started(auditor: Auditor, offset: timedelta, noted: bool) -> None:
    start = datetime.fromisoformat("2026-11-02T10:00+00:00")
    note = {"id": "n1", "at": iso(start + offset), "type": "note", "to": "kim"}
    as_of = END + DAY
    result = auditor.audit(
        make_history([INTERVIEW, note], as_of=as_of)
        if offset >= timedelta(0)
        else make_history([note, INTERVIEW], as_of=as_of),
        as_of,
    )
    expected = [] if noted else [("handwritten-thank-you-note", "next_step", "i1", "kim", (END + 3 * DAY).isoformat())]
    assert summary(result.findings, "handwritten-thank-you-note") == expected


@pytest.mark.parametrize(("offset", "warned"), [(-SECOND, True), (timedelta(0), False), (SECOND, False)])
def test_heads_up_must_come_before_the_reference_check(auditor: Auditor, offset: timedelta, warned: bool) -> None:
    check_at = END + 3 * DAY
    heads_up = {
        "id": "h1",
        "at": iso(check_at + offset),
        "type": "reference_contact",
        "reference": "sam",
        "about": "i1",
    }
    check = {"id": "k1", "at": iso(check_at), "type": "reference_check", "reference": "sam", "company": "Acme"}
    as_of = END + 10 * DAY
    result = auditor.audit(make_history([INTERVIEW, heads_up, check], as_of=as_of), as_of)
    expected = [] if warned else [("tell-references", "violation", "k1", "sam", None)]
    assert summary([f for f in result.findings if f.kind == "violation"], "tell-references") == expected


@pytest.mark.parametrize(("offset", "kind"), [(-SECOND, None), (timedelta(0), None), (SECOND, "next_step")])
def test_profile_review_next_step_only_before_the_first_interview(
    auditor: Auditor, offset: timedelta, kind: str | None
) -> None:
    start = datetime.fromisoformat("2026-11-02T10:00+00:00")
    as_of = start - offset  # offset > 0: the interview is still ahead
    result = auditor.audit(make_history([INTERVIEW], as_of=as_of), as_of)
    got = [f for f in result.findings if f.rule == "review-social-profiles"]
    if kind is None:
        assert got == []  # the interview is in progress: neither upcoming nor past
    else:
        assert [(f.kind, f.due) for f in got] == [("next_step", start)]
