"""History -> facts: the data the compiled rules match.

Python prepares facts and holds no rule logic: it converts times to epoch seconds, flattens
recipient lists into one ``to`` fact per recipient, says who belongs to which interview's company,
resolves the company a reference contact or decision names, and derives text flags with the pack's
own patterns. Every fact has ``t`` (its type) and ``ev`` (the event ids it stands for); joins use
``key`` (never ``id``: durable_rules mis-joins on a field named ``id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from .model import Event, History
from .textpattern import compile_patterns

CONTENT_FLAGS = ("thanks", "interest", "fit", "contact_info")

# The fields of every prepared fact type: what a pack may match (checked by the compiler).
FACT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "interview": ("key", "at", "start", "company", "co", "position", "names"),
    "met": ("interview", "person", "name", "role", "at", "start"),
    "member": ("interview", "person", "name"),
    "person": ("person", "name", "role", "company", "co"),
    "email": (
        "key",
        "at",
        "direction",
        "about",
        "purpose",
        "proofread",
        "person",
        "name",
        "to_names",
        "subject",
        *CONTENT_FLAGS,
        "read_from_body",
    ),
    "call": ("key", "at", "direction", "about", "purpose", "person", "name", "to_names"),
    "note": ("key", "at", "about", "to_names"),
    "to": ("event", "via", "person", "name", "at", "about", "purpose"),
    "received": ("key", "via", "person", "name", "at", "about", "purpose"),
    "social": ("key", "at", "action", "network", "target", "about", "interview_word"),
    "mention": ("event", "company", "co"),
    "reference_contact": ("key", "at", "person", "name", "request", "about", "company", "co"),
    "reference_check": ("key", "at", "person", "name", "company", "co"),
    "decision": ("key", "at", "about", "company", "co", "outcome"),
}
FACT_DOCS: Mapping[str, str] = {
    "interview": "an interview; `start` is when the follow-up clock starts (its end, else its start)",
    "met": "one per person met in an interview",
    "member": "one per person of an interview's company: everyone met plus everyone whose company is the interview's",
    "person": "one per person of the history",
    "email": "an email; content flags from `includes` or from the body via the pack's patterns "
    "(`read_from_body` says which)",
    "call": "a phone call",
    "note": "a handwritten note",
    "to": "one per recipient of a sent email or call, or of a note (`via` says which)",
    "received": "a received email or call (`person` is who it came from)",
    "social": "social-media activity; `interview_word` when the body matches the `interview` pattern",
    "mention": "a post or email body that names a company of the history (case-insensitive)",
    "reference_contact": "the candidate contacts a reference; `co` is the company it is about",
    "reference_check": "the employer contacts a reference",
    "decision": "the employer's outcome; `co` is the company (given, or that of the interview it is about)",
}
GATE = "$gate"


def epoch(moment: datetime) -> int | float:
    value = moment.timestamp()
    return int(value) if value.is_integer() else value


def _fold(text: object) -> str:
    return str(text).casefold()


def _names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, Iterable)
    return tuple(dict.fromkeys(str(v) for v in value))  # a repeated recipient is one recipient


class Patterns:
    """The pack's text patterns, compiled once per pack."""

    def __init__(self, patterns: Mapping[str, tuple[str, ...]]) -> None:
        # RE2, case-insensitive: linear time in the text whatever the pattern (see textpattern).
        self._compiled = {name: compile_patterns(items) for name, items in patterns.items() if items}

    def matches(self, name: str, text: str) -> bool:
        pattern = self._compiled.get(name)
        return pattern is not None and pattern.search(text)


def history_facts(history: History, patterns: Patterns) -> list[dict[str, object]]:
    """Every base fact of a history, in time order (ties keep file order)."""
    people = {p.id: p for p in history.people}
    interviews = {e.id: e for e in history.events if e.type == "interview"}
    companies = sorted(
        {_fold(e.get("company")) for e in interviews.values()} | {_fold(p.company) for p in history.people if p.company}
    )
    facts: list[dict[str, object]] = []

    def name(pid: object) -> str:
        person = people.get(str(pid))
        return person.name if person else str(pid)

    for p in history.people:
        fact: dict[str, object] = {"t": "person", "ev": "", "person": p.id, "name": p.name, "role": p.role}
        if p.company:
            fact.update(company=p.company, co=_fold(p.company))
        facts.append(fact)

    for event in history.events:
        facts.extend(_event_facts(event, history, interviews, companies, patterns, name))
    return facts


def _company_of(event: Event, interviews: Mapping[str, Event]) -> str | None:
    if event.get("company") is not None:
        return str(event.get("company"))
    about = interviews.get(str(event.get("about")))
    return None if about is None else str(about.get("company"))


def _event_facts(
    event: Event,
    history: History,
    interviews: Mapping[str, Event],
    companies: list[str],
    patterns: Patterns,
    name: object,
) -> list[dict[str, object]]:
    assert callable(name)
    at = epoch(event.at)
    base: dict[str, object] = {"t": event.type, "ev": event.id, "key": event.id, "at": at}
    about = event.get("about")
    if about is not None:
        base["about"] = str(about)
    out = [base]
    kind = event.type
    if kind == "interview":
        met = _ids(event.get("with"))
        ends = event.get("ends")
        start = epoch(ends) if isinstance(ends, datetime) else at
        company = str(event.get("company"))
        base.update(start=start, company=company, co=_fold(company), names=_names([name(p) for p in met]))
        if event.get("position") is not None:
            base["position"] = str(event.get("position"))
        members = dict.fromkeys(met)
        members.update(dict.fromkeys(p.id for p in history.people if p.company and _fold(p.company) == _fold(company)))
        for pid in met:
            person = history.person(pid)
            out.append(
                {
                    "t": "met",
                    "ev": event.id,
                    "interview": event.id,
                    "person": pid,
                    "name": name(pid),
                    "role": person.role if person else "other",
                    "at": at,
                    "start": start,
                }
            )
        out.extend(
            {"t": "member", "ev": event.id, "interview": event.id, "person": pid, "name": name(pid)} for pid in members
        )
    elif kind in ("email", "call", "note"):
        direction = "sent" if kind == "note" else str(event.get("direction", "sent"))
        if kind != "note":
            base.update(direction=direction, purpose=str(event.get("purpose", "other")))
        if kind == "email":
            _email_content(base, event, patterns)
            body = str(event.get("body") or "")
            if body:
                out.extend(_mentions(event.id, body, companies))
        if direction == "sent":
            recipients = _ids(event.get("to"))
            base["to_names"] = _names([name(p) for p in recipients])
            if recipients:
                base.update(person=recipients[0], name=name(recipients[0]))
            for pid in recipients:
                fact = {
                    "t": "to",
                    "ev": event.id,
                    "event": event.id,
                    "via": kind,
                    "person": pid,
                    "name": name(pid),
                    "at": at,
                }
                if about is not None:
                    fact["about"] = str(about)
                if kind != "note":
                    fact["purpose"] = base["purpose"]
                out.append(fact)
        else:
            sender = event.get("from")
            if sender is not None:
                base.update(person=str(sender), name=name(sender))
                fact = {
                    "t": "received",
                    "ev": event.id,
                    "key": event.id,
                    "via": kind,
                    "person": str(sender),
                    "name": name(sender),
                    "at": at,
                    "purpose": base["purpose"],
                }
                if about is not None:
                    fact["about"] = str(about)
                out.append(fact)
    elif kind == "social":
        body = str(event.get("body") or "")
        base.update(
            action=str(event.get("action")),
            network=str(event.get("network", "social media")),
            interview_word=patterns.matches("interview", body),
        )
        if event.get("target") is not None:
            base["target"] = str(event.get("target"))
        out.extend(_mentions(event.id, body, companies))
    elif kind in ("reference_contact", "reference_check"):
        ref = str(event.get("reference"))
        base.update(person=ref, name=name(ref))
        if kind == "reference_contact":
            base["request"] = str(event.get("request", "heads_up"))
        named = _company_of(event, interviews)
        if named is not None:
            base.update(company=named, co=_fold(named))
    elif kind == "decision":
        base["outcome"] = str(event.get("outcome"))
        named = _company_of(event, interviews)
        if named is not None:
            base.update(company=named, co=_fold(named))
    return out


def _email_content(fact: dict[str, object], event: Event, patterns: Patterns) -> None:
    fact["proofread"] = event.get("proofread_by") is not None
    if event.get("subject") is not None:
        fact["subject"] = str(event.get("subject"))
    includes = event.get("includes")
    fact["read_from_body"] = includes is None  # a message can then say that `includes` settles it
    if includes is not None:
        given = set(_ids(includes))
        fact.update({flag: flag in given for flag in CONTENT_FLAGS})
        return
    text = f"{event.get('subject') or ''}\n{event.get('body') or ''}"
    fact.update({flag: patterns.matches(flag, text) for flag in CONTENT_FLAGS})


def _mentions(event_id: str, body: str, companies: list[str]) -> list[dict[str, object]]:
    folded = body.casefold()
    return [
        {"t": "mention", "ev": event_id, "event": event_id, "company": co, "co": co}
        for co in companies
        if co and co in folded
    ]
