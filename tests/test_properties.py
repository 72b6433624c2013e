"""Properties that must hold for every history (hypothesis, over realistic generated histories):

- the order of the events in the file does not matter;
- shifting every time and the audit time by the same amount shifts due dates and nothing else;
- an interview at another company adds no finding about the others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from followup.audit import Auditor
from followup.history import parse_history
from followup.model import Finding
from strategies import histories

Generated = tuple[dict[str, Any], datetime]  # what histories() draws: a document and its audit time


def audit(auditor: Auditor, doc: dict[str, Any], as_of: datetime) -> tuple[Finding, ...]:
    history = parse_history(doc, {}, "prop", as_of)
    return auditor.audit(history, as_of).findings


def key(f: Finding) -> tuple[object, ...]:
    return (f.rule, f.kind, f.severity, f.subject, f.person, f.events, f.due, f.message)


@settings(max_examples=300)
@given(histories(), st.randoms(use_true_random=False))
def test_event_order_in_the_file_does_not_matter(auditor: Auditor, generated: Generated, rng: Random) -> None:
    doc, as_of = generated
    shuffled = dict(doc, events=rng.sample(doc["events"], len(doc["events"])))
    assert [key(f) for f in audit(auditor, doc, as_of)] == [key(f) for f in audit(auditor, shuffled, as_of)]


def shift_doc(doc: dict[str, object], delta: timedelta) -> dict[str, object]:
    zone = ZoneInfo(str(doc.get("timezone", "UTC")))

    def shift(text: object) -> str:
        moment = datetime.fromisoformat(str(text))
        aware = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        return (aware + delta).isoformat()  # an instant: daylight saving cannot bend the shift

    events = []
    for event in doc["events"]:
        moved = dict(event, at=shift(event["at"]))
        if "ends" in event:
            moved["ends"] = shift(event["ends"])
        events.append(moved)
    return dict(doc, events=events)


@settings(max_examples=300)
@given(histories(), st.integers(min_value=-400 * 86400, max_value=400 * 86400))
def test_shifting_all_times_shifts_due_dates_and_nothing_else(auditor: Auditor, generated: Generated, seconds: int) -> None:
    doc, as_of = generated
    delta = timedelta(seconds=seconds)
    before = audit(auditor, doc, as_of)
    after = audit(auditor, shift_doc(doc, delta), as_of + delta)

    def shape(f: Finding, shift: timedelta) -> tuple[object, ...]:
        # Messages name dates, so they move with the times; everything else must not change.
        return (f.rule, f.kind, f.severity, f.subject, f.person, f.events, None if f.due is None else f.due.astimezone(UTC) - shift)

    assert [shape(f, timedelta(0)) for f in before] == [shape(f, delta) for f in after]


@settings(max_examples=300)
@given(histories(), st.floats(min_value=0.0, max_value=1.0), st.booleans())
def test_another_company_adds_no_finding_about_the_others(
    auditor: Auditor, generated: Generated, where: float, with_email: bool
) -> None:
    doc, as_of = generated
    zone = ZoneInfo(str(doc.get("timezone", "UTC")))

    def instant(text: object) -> datetime:
        moment = datetime.fromisoformat(str(text))
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    interviews = [instant(e["at"]) for e in doc["events"] if e["type"] == "interview"]
    # After the history's first interview, so that the first interview stays the first.
    earliest = min(interviews) + timedelta(seconds=1) if interviews else as_of - timedelta(days=30)
    at = earliest + (as_of - earliest) * where if as_of > earliest else earliest
    extra_people = [{"id": "zz-person", "name": "Zed Quill", "role": "interviewer", "company": "Zeta Labs"}]
    extra_events: list[dict[str, object]] = [
        {"id": "zz-interview", "at": at.isoformat(), "type": "interview", "company": "Zeta Labs", "with": ["zz-person"]}
    ]
    if with_email and at + timedelta(hours=2) <= as_of:
        extra_events.append({"id": "zz-email", "at": (at + timedelta(hours=2)).isoformat(), "type": "email",
                             "direction": "sent", "to": "zz-person", "purpose": "thank_you"})
    grown = dict(doc, people=[*doc.get("people", []), *extra_people], events=[*doc["events"], *extra_events])
    new_ids = {e["id"] for e in extra_events}
    before = audit(auditor, doc, as_of)
    after = [f for f in audit(auditor, grown, as_of) if f.subject not in new_ids and f.person != "zz-person"]
    # The same findings about the history's own events and people...
    assert [(f.rule, f.kind, f.subject, f.person) for f in before] == [(f.rule, f.kind, f.subject, f.person) for f in after]
    # ...word for word, unless the new interview is now the latest one a finding can name (a post
    # that mentions "interview" names the latest interview before it: docs/interpretations.md).
    unchanged = {key(f) for f in before}
    assert all(key(f) in unchanged for f in after if not new_ids & set(f.events))
