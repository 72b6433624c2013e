"""The meaning of ``in_reply_to``: a sent email or call answers an earlier received one.

The schema only knows that ``in_reply_to`` is an event id. Whether it names something a reply can
answer is decided here, each problem at the ``in_reply_to`` value (or key) it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..diagnostics import excerpt
from .schema import validators

if TYPE_CHECKING:
    from .check import HistoryChecker

_MESSAGES = ("email", "call")


def check_replies(checker: HistoryChecker, event_ids: Mapping[str, int]) -> None:
    """Every ``in_reply_to`` of the history names an earlier received email or call.

    Runs after every ``at`` is read (``checker.times``): a reply is compared with what it answers.
    """
    events = checker.events
    answerable = [
        event_id
        for event_id, index in event_ids.items()
        if checker.event_type(index) in _MESSAGES and events[index].get("direction") == "received"
    ]
    for index, event in enumerate(events):
        if isinstance(event, dict) and "in_reply_to" in event:
            _check_one(checker, index, event, event_ids, answerable)


def _check_one(
    checker: HistoryChecker, index: int, event: dict[str, Any], event_ids: Mapping[str, int], answerable: list[str]
) -> None:
    base = f"/events/{index}"
    kind, target = event.get("type"), event.get("in_reply_to")
    if kind not in _MESSAGES or not isinstance(target, str) or not target:
        return  # the schema has said what is wrong
    if event.get("direction") == "received":
        checker.add(
            f"{base}/in_reply_to#key",
            f"a received {kind} cannot carry 'in_reply_to': it marks a sent email or call that answers "
            "a received one (put it on your answer)",
        )
        return
    other = event_ids.get(target)
    if other is None:
        hint = checker.suggest(target, answerable)
        if not hint:
            hint = (
                f"; the received emails and calls are {', '.join(excerpt(a) for a in answerable[:5])}"
                + (" …" if len(answerable) > 5 else "")
                if answerable
                else " (the history has no received email or call to answer)"
            )
        checker.add(f"{base}/in_reply_to", f"unknown event {excerpt(target)} in 'in_reply_to'{hint}")
        return
    line = checker.line_of(f"/events/{other}")
    other_kind = checker.event_type(other)
    if other_kind not in validators().by_type:
        return  # an unknown type: the typo is reported at that event
    answered = checker.events[other]
    if other_kind not in _MESSAGES or answered.get("direction") != "received":
        if other == index:
            what = "this event itself"
        elif other_kind in _MESSAGES:
            what = f"a {answered.get('direction')} {other_kind}"
        else:
            what = f"the {other_kind} event"
        checker.add(
            f"{base}/in_reply_to",
            f"'in_reply_to' must name a received email or call, but {excerpt(target)} is {what} on line {line}",
        )
        return
    at, answered_at = checker.times.get(index), checker.times.get(other)
    if at is not None and answered_at is not None and answered_at > at:
        checker.add(
            f"{base}/in_reply_to",
            f"'in_reply_to' names {excerpt(target)} (line {line}), received at {answered_at.isoformat()}, "
            f"after this {kind} at {at.isoformat()}: a reply answers an earlier message",
        )
