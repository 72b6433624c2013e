"""History -> facts: the data the compiled rules match.

Python prepares facts and holds no rule logic: it converts times to epoch seconds, flattens
recipient lists into one ``to`` fact per recipient, says who belongs to which interview's company,
resolves the company a reference contact or decision names, and derives text flags with the pack's
own patterns. Every fact has ``t`` (its type) and ``ev`` (the event ids it stands for); joins use
``key`` (never ``id``: durable_rules mis-joins on a field named ``id``).

It also states ordering facts: the time of the latest interview before a message or post (at the
recipient's company, with the recipient, at a company a post names) and of the previous message of
the same kind to the same person. With them a rule finds "the latest such interview" or "the
previous such message" by an equality join, one match per fact, instead of pairing every fact
with every earlier one (quadratic in the length of a history).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..model import Event, History
from ..pack.textpattern import compile_patterns
from ..wording import and_list, ids
from .textcase import fold

if TYPE_CHECKING:  # calendar.py imports the pack model, which the facts step does not need
    from .calendar import CalendarNeeds

CONTENT_FLAGS = ("thanks", "interest", "fit", "contact_info")

# The fields of every prepared fact type: what a pack may match (checked by the compiler).
FACT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "interview": ("key", "at", "start", "company", "co", "position", "names", "what"),
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
        "in_reply_to",
        "subject",
        *CONTENT_FLAGS,
        "read_from_body",
    ),
    "call": ("key", "at", "direction", "about", "purpose", "person", "name", "to_names", "in_reply_to"),
    "note": ("key", "at", "about", "to_names"),
    "to": (
        "event",
        "via",
        "person",
        "name",
        "at",
        "about",
        "purpose",
        "reply",
        "after_received",
        "co",
        "previous_at",
        "met_interview_at",
        "company_interview_at",
    ),
    "received": ("key", "via", "person", "name", "at", "about", "purpose", "co"),
    "social": ("key", "at", "action", "network", "target", "about", "interview_word", "interview_at"),
    "mention": ("event", "company", "co", "interview_at"),
    "reference_contact": ("key", "at", "person", "name", "request", "about", "company", "co"),
    "reference_check": ("key", "at", "person", "name", "company", "co"),
    "decision": ("key", "at", "about", "company", "co", "outcome"),
    "last_heard": ("interview", "at", "event", "what"),
}
FACT_DOCS: Mapping[str, str] = {
    "interview": (
        "an interview; `start` is when the follow-up clock starts (its end, else its start); `what` names it"
        " in words (`the Acme interview`)"
    ),
    "met": "one per person met in an interview",
    "member": "one per person of an interview's company: everyone met plus everyone whose company is the interview's",
    "person": "one per person of the history",
    "email": "an email; content flags from `includes` or from the body via the pack's patterns "
    "(`read_from_body` says which); `in_reply_to` the received email or call a sent one answers",
    "call": "a phone call; `in_reply_to` the received email or call a sent one answers",
    "note": "a handwritten note",
    "to": (
        "one per recipient of a sent email or call, or of a note (`via` says which); `co` is the recipient's"
        " company; `previous_at` the time of the previous message with the same `via` and `purpose` to the same"
        " person; `met_interview_at` / `company_interview_at` the time of the latest interview before it in"
        " which the recipient was met / at the recipient's company; for an email or call, `reply` whether it"
        " answers a received message (`in_reply_to`) and `after_received` whether a received email or call"
        " from one of its recipients or their companies came at most 2 days before it (the same on every"
        " recipient's fact; a message can then ask whether it was a reply)"
    ),
    "received": "a received email or call (`person` is who it came from, `co` their company)",
    "social": (
        "social-media activity; `interview_word` when the body matches the `interview` pattern;"
        " `interview_at` the time of the latest interview before it"
    ),
    "mention": (
        "a post or email body that names a company of the history (case-insensitive); `interview_at` the"
        " time of the latest interview at that company before it"
    ),
    "reference_contact": "the candidate contacts a reference; `co` is the company it is about",
    "reference_check": "the employer contacts a reference",
    "decision": "the employer's outcome; `co` is the company (given, or that of the interview it is about)",
    "last_heard": (
        "the latest news from an interview's company after the interview ended (a received email or call"
        " from someone met in it or working at its company, or a decision of the company; `event` is that"
        " news): the latest of all, and the latest before each sent email or call that may follow the"
        " interview up; none when there was no news. `what` names the news in words (`Acme's email`)"
    ),
}
GATE = "$gate"
# How soon after a received email or call a sent one may well be its answer: a check-in message can
# then suggest marking it with `in_reply_to`. Wording only: no finding depends on it.
ANSWER_WINDOW = 2 * 86400


def epoch(moment: datetime) -> int | float:
    value = moment.timestamp()
    return int(value) if value.is_integer() else value


def _fold(text: object) -> str:
    return fold(text)  # the same form as the folded literals of a pack's tests (textcase)


class Patterns:
    """The pack's text patterns, compiled once per pack."""

    def __init__(self, patterns: Mapping[str, tuple[str, ...]]) -> None:
        # RE2, case-insensitive: linear time in the text whatever the pattern (see textpattern).
        self._compiled = {name: compile_patterns(items) for name, items in patterns.items() if items}

    def matches(self, name: str, text: str) -> bool:
        pattern = self._compiled.get(name)
        return pattern is not None and pattern.search(text)


def _latest_before(times: Sequence[int | float], at: int | float) -> int | float | None:
    """The latest of the sorted ``times`` strictly before ``at``."""
    index = bisect_left(times, at)
    return times[index - 1] if index else None


class _Timeline:
    """Sorted times that ordering facts are read from: interviews by company, by person met, all;
    sent messages by (recipient, via, purpose); received emails and calls by sender and by the
    sender's company."""

    def __init__(self, history: History) -> None:
        by_co: dict[str, list[int | float]] = {}
        by_met: dict[str, list[int | float]] = {}
        sent: dict[tuple[str, str, str | None], list[int | float]] = {}
        received: dict[str, list[int | float]] = {}
        every: list[int | float] = []
        companies = {p.id: _fold(p.company) for p in history.people if p.company}
        for e in history.events:
            at = epoch(e.at)
            if e.type == "interview":
                every.append(at)
                by_co.setdefault(_fold(e.get("company")), []).append(at)
                for pid in ids(e.get("with"), unique=True):
                    by_met.setdefault(pid, []).append(at)
            elif _is_received(e):
                sender = e.get("from")
                if sender is not None:
                    received.setdefault(f"person {sender}", []).append(at)
                    if str(sender) in companies:
                        received.setdefault(f"co {companies[str(sender)]}", []).append(at)
            elif e.type in ("email", "call", "note"):
                purpose = None if e.type == "note" else str(e.get("purpose", "other"))
                for pid in ids(e.get("to"), unique=True):
                    sent.setdefault((pid, e.type, purpose), []).append(at)
        self.by_co = {k: sorted(v) for k, v in by_co.items()}
        self.by_met = {k: sorted(v) for k, v in by_met.items()}
        self.sent = {k: sorted(v) for k, v in sent.items()}
        self.received = {k: sorted(v) for k, v in received.items()}
        self.every = sorted(every)

    def interview_at(self, at: int | float, co: str | None = None) -> int | float | None:
        """The time of the latest interview before ``at`` (at company ``co`` if given)."""
        return _latest_before(self.every if co is None else self.by_co.get(co, ()), at)

    def received_soon_before(self, at: int | float, pid: str, co: str | None) -> bool:
        """Whether ``pid``, or someone at company ``co``, wrote or called at most ``ANSWER_WINDOW``
        before ``at`` (or at ``at``)."""
        for key in (f"person {pid}", f"co {co}" if co is not None else None):
            times = self.received.get(key, ()) if key is not None else ()
            index = bisect_right(times, at)
            if index and at - times[index - 1] <= ANSWER_WINDOW:
                return True
        return False


def _set_time(fact: dict[str, object], name: str, value: int | float | None) -> None:
    if value is not None:
        fact[name] = value


def history_facts(
    history: History, patterns: Patterns, members: bool = True, calendar: CalendarNeeds | None = None
) -> list[dict[str, object]]:
    """Every base fact of a history, in time order (ties keep file order).

    ``members=False`` leaves out the ``member`` facts (one per person of a company and interview at
    it: their number is the product of the two), for a pack that never matches them. ``calendar``:
    the local calendar fields the pack reads (``CompiledPack.calendar``), in the history's zone.
    """
    people = {p.id: p for p in history.people}
    interviews = {e.id: e for e in history.events if e.type == "interview"}
    companies = sorted(
        {_fold(e.get("company")) for e in interviews.values()} | {_fold(p.company) for p in history.people if p.company}
    )
    timeline = _Timeline(history)
    facts: list[dict[str, object]] = []

    def name(pid: object) -> str:
        person = people.get(str(pid))
        return person.name if person else str(pid)

    for p in history.people:
        fact: dict[str, object] = {"t": "person", "ev": "", "person": p.id, "name": p.name, "role": p.role}
        if p.company:
            fact.update(company=p.company, co=_fold(p.company))
        facts.append(fact)

    ctx = _Facts(history, interviews, companies, patterns, name, timeline, members)
    for event in history.events:
        facts.extend(_event_facts(event, ctx))
    facts.extend(_last_heard(history))
    if calendar:
        calendar.add_to(facts, ZoneInfo(history.timezone))
    return facts


Stamp = tuple[int | float, str]  # (time, event id): the order in which the findings' evidence is ranked


def _start_of(i: Event) -> int | float:
    ends = i.get("ends")
    return epoch(ends) if isinstance(ends, datetime) else epoch(i.at)


def _is_received(e: Event) -> bool:
    return e.type in ("email", "call") and str(e.get("direction", "sent")) != "sent"


class _News:
    """News from a company's people (received e-mails and calls, decisions), in sorted streams by
    sender and by company, so that "the latest news before t" is a bisection."""

    def __init__(self, history: History, by_key: Mapping[str, Event]) -> None:
        self.people = {p.id: p for p in history.people}
        self.by_sender: dict[str, list[Stamp]] = {}
        self.by_co: dict[str, list[Stamp]] = {}
        for e in history.events:
            self._add(e, by_key)
        for stream in (*self.by_sender.values(), *self.by_co.values()):
            stream.sort()

    def company_of(self, pid: str) -> str | None:
        person = self.people.get(pid)
        return _fold(person.company) if person is not None and person.company else None

    def _add(self, e: Event, by_key: Mapping[str, Event]) -> None:
        stamp = (epoch(e.at), e.id)
        if _is_received(e):
            sender = e.get("from")
            if sender is None:
                return
            self.by_sender.setdefault(str(sender), []).append(stamp)
            co = self.company_of(str(sender))
            if co is not None:
                self.by_co.setdefault(co, []).append(stamp)
        elif e.type == "decision":
            named = _company_of(e, by_key)
            if named is not None:
                self.by_co.setdefault(_fold(named), []).append(stamp)

    def latest(self, i: Event, before: int | float | None) -> Stamp | None:
        """The latest news for interview ``i`` (before ``before``, if given) after its clock start."""
        met = ids(i.get("with"), unique=True)
        streams = [self.by_co.get(_fold(i.get("company")), []), *(self.by_sender.get(p, []) for p in met)]
        found: Stamp | None = None
        for stream in streams:
            index = len(stream) if before is None else bisect_left(stream, (before,))
            if index and (found is None or stream[index - 1] > found):
                found = stream[index - 1]
        return found if found is not None and found[0] > _start_of(i) else None


class _Reach:
    """The interviews an undirected sent message may follow up: by (person met, time) and by
    (company, time) of the latest interview before it."""

    def __init__(self, history: History, interviews: Sequence[Event], news: _News) -> None:
        self.news = news
        self.timeline = _Timeline(history)
        self.with_at: dict[tuple[str, int | float], list[Event]] = {}
        self.co_at: dict[tuple[str, int | float], list[Event]] = {}
        for i in interviews:
            at = epoch(i.at)
            self.co_at.setdefault((_fold(i.get("company")), at), []).append(i)
            for pid in ids(i.get("with"), unique=True):
                self.with_at.setdefault((pid, at), []).append(i)

    def interviews(self, pid: str, at: int | float) -> list[Event]:
        found: list[Event] = []
        met_at = _latest_before(self.timeline.by_met.get(pid, ()), at)
        if met_at is not None:
            found.extend(self.with_at.get((pid, met_at), ()))
        co = self.news.company_of(pid)
        if co is not None:
            co_time = self.timeline.interview_at(at, co)
            if co_time is not None:
                found.extend(self.co_at.get((co, co_time), ()))
        return found


def _last_heard(history: History) -> list[dict[str, object]]:
    """The ``last_heard`` facts: for each interview, its latest news overall and its latest news
    before each sent email or call that may follow it up (about it, or to someone met in / working at
    the company of the latest interview before it). A rule needs no other news than these: a waiting
    stretch that matters starts at the last news before a check-in, or at the last news of all.

    News is read from sorted streams (by sender, by company), so this costs O(log n) per pair of
    a message and an interview it may follow up, instead of one fact per pair of news and interview.
    At equal times the greater event id is the news kept: the one the findings' evidence ranks first.
    """
    interviews = [e for e in history.events if e.type == "interview"]
    by_key: dict[str, Event] = {}
    for e in interviews:
        by_key.setdefault(e.id, e)
    news = _News(history, by_key)
    reach = _Reach(history, interviews, news)
    wanted: dict[tuple[str, Stamp], None] = {}

    def want(i: Event, before: int | float | None) -> None:
        found = news.latest(i, before)
        if found is not None:
            wanted[(i.id, found)] = None

    for i in interviews:
        want(i, None)
    for e in history.events:
        if e.type not in ("email", "call") or _is_received(e):
            continue
        at = epoch(e.at)
        about = e.get("about")
        if about is not None:
            if str(about) in by_key:
                want(by_key[str(about)], at)
            continue
        for pid in ids(e.get("to"), unique=True):
            for i in reach.interviews(pid, at):
                want(i, at)
    events = {e.id: e for e in history.events}
    return [
        # `ev` as a derived fact from the interview and the news would have it: interview, then news.
        {
            "t": "last_heard",
            "ev": f"{key} {news[1]}",
            "interview": key,
            "at": news[0],
            "event": news[1],
            "what": f"{_possessive(str(by_key[key].get('company')))} {events[news[1]].type}",
        }
        for key, news in wanted
    ]


def _possessive(name: str) -> str:
    """``Acme's``, ``Siemens'``: whose news it was, for a message."""
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


def _company_of(event: Event, interviews: Mapping[str, Event]) -> str | None:
    if event.get("company") is not None:
        return str(event.get("company"))
    about = interviews.get(str(event.get("about")))
    return None if about is None else str(about.get("company"))


@dataclass(frozen=True)
class _Facts:
    """What turning one event into facts may look up in the rest of its history."""

    history: History
    interviews: Mapping[str, Event]
    companies: list[str]
    patterns: Patterns
    name: Callable[[object], str]
    timeline: _Timeline
    members: bool

    def company_of(self, pid: object) -> str | None:
        person = self.history.person(str(pid))
        return _fold(person.company) if person and person.company else None


def _event_facts(event: Event, ctx: _Facts) -> list[dict[str, object]]:
    at = epoch(event.at)
    base: dict[str, object] = {"t": event.type, "ev": event.id, "key": event.id, "at": at}
    about = event.get("about")
    if about is not None:
        base["about"] = str(about)
    out = [base]
    add = _KIND_FACTS.get(event.type)
    if add is not None:
        add(ctx, event, at, base, out)
    return out


def _interview_facts(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    name, history = ctx.name, ctx.history
    met = ids(event.get("with"), unique=True)
    ends = event.get("ends")
    start = epoch(ends) if isinstance(ends, datetime) else at
    company = str(event.get("company"))
    base.update(
        start=start,
        company=company,
        co=_fold(company),
        names=and_list([name(p) for p in met]),
        what=f"the {company} interview",
    )
    if event.get("position") is not None:
        base["position"] = str(event.get("position"))
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
    if ctx.members:
        everyone = dict.fromkeys(met)
        everyone.update(dict.fromkeys(p.id for p in history.people if p.company and _fold(p.company) == _fold(company)))
        out.extend(
            {"t": "member", "ev": event.id, "interview": event.id, "person": pid, "name": name(pid)} for pid in everyone
        )


def _message_facts(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    """An email, a call or a note: the event, then one fact per recipient or one for its sender."""
    kind = event.type
    direction = "sent" if kind == "note" else str(event.get("direction", "sent"))
    if kind != "note":
        base.update(direction=direction, purpose=str(event.get("purpose", "other")))
        if event.get("in_reply_to") is not None:
            base["in_reply_to"] = str(event.get("in_reply_to"))
    if kind == "email":
        _email_content(base, event, ctx.patterns)
        body = str(event.get("body") or "")
        if body:
            out.extend(_mentions(event.id, at, body, ctx.companies, ctx.timeline))
    if direction == "sent":
        _sent_facts(ctx, event, at, base, out)
    else:
        _received_fact(ctx, event, at, base, out)


def _sent_facts(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    name, timeline, kind, about = ctx.name, ctx.timeline, event.type, event.get("about")
    recipients = ids(event.get("to"), unique=True)
    base["to_names"] = and_list([name(p) for p in recipients])
    if recipients:
        base.update(person=recipients[0], name=name(recipients[0]))
    purpose = None if kind == "note" else str(base["purpose"])
    # One value for the whole message: per recipient, one call would give two check-in facts that
    # differ only in this flag, and which of them a finding's message shows would depend on the
    # order the engine fires in (docs/engine-semantics.md, "Replies").
    after_received = kind != "note" and any(
        timeline.received_soon_before(at, pid, ctx.company_of(pid)) for pid in recipients
    )
    for pid in recipients:
        fact: dict[str, object] = {
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
        co = ctx.company_of(pid)
        if purpose is not None:
            fact.update(
                purpose=purpose,
                reply=event.get("in_reply_to") is not None,
                after_received=after_received,
            )
        if co is not None:
            fact["co"] = co
            _set_time(fact, "company_interview_at", timeline.interview_at(at, co))
        _set_time(fact, "previous_at", _latest_before(timeline.sent.get((pid, kind, purpose), ()), at))
        _set_time(fact, "met_interview_at", _latest_before(timeline.by_met.get(pid, ()), at))
        out.append(fact)


def _received_fact(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    sender = event.get("from")
    if sender is None:
        return
    about = event.get("about")
    base.update(person=str(sender), name=ctx.name(sender))
    fact: dict[str, object] = {
        "t": "received",
        "ev": event.id,
        "key": event.id,
        "via": event.type,
        "person": str(sender),
        "name": ctx.name(sender),
        "at": at,
        "purpose": base["purpose"],
    }
    if about is not None:
        fact["about"] = str(about)
    co = ctx.company_of(sender)
    if co is not None:
        fact["co"] = co
    out.append(fact)


def _social_facts(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    body = str(event.get("body") or "")
    base.update(
        action=str(event.get("action")),
        network=str(event.get("network", "social media")),
        nw=fold(event.get("network", "social media")),
        interview_word=ctx.patterns.matches("interview", body),
    )
    if event.get("target") is not None:
        base["target"] = str(event.get("target"))
    _set_time(base, "interview_at", ctx.timeline.interview_at(at))
    out.extend(_mentions(event.id, at, body, ctx.companies, ctx.timeline))


def _reference_facts(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    ref = str(event.get("reference"))
    base.update(person=ref, name=ctx.name(ref))
    if event.type == "reference_contact":
        base["request"] = str(event.get("request", "heads_up"))
    named = _company_of(event, ctx.interviews)
    if named is not None:
        base.update(company=named, co=_fold(named))


def _decision_facts(
    ctx: _Facts, event: Event, at: int | float, base: dict[str, object], out: list[dict[str, object]]
) -> None:
    base["outcome"] = str(event.get("outcome"))
    named = _company_of(event, ctx.interviews)
    if named is not None:
        base.update(company=named, co=_fold(named))


_KIND_FACTS: Mapping[str, Callable[[_Facts, Event, int | float, dict[str, object], list[dict[str, object]]], None]] = {
    "interview": _interview_facts,
    "email": _message_facts,
    "call": _message_facts,
    "note": _message_facts,
    "social": _social_facts,
    "reference_contact": _reference_facts,
    "reference_check": _reference_facts,
    "decision": _decision_facts,
}


def _email_content(fact: dict[str, object], event: Event, patterns: Patterns) -> None:
    fact["proofread"] = event.get("proofread_by") is not None
    if event.get("subject") is not None:
        fact["subject"] = str(event.get("subject"))
    includes = event.get("includes")
    fact["read_from_body"] = includes is None  # a message can then say that `includes` settles it
    if includes is not None:
        given = set(ids(includes, unique=True))
        fact.update({flag: flag in given for flag in CONTENT_FLAGS})
        return
    text = f"{event.get('subject') or ''}\n{event.get('body') or ''}"
    fact.update({flag: patterns.matches(flag, text) for flag in CONTENT_FLAGS})


def _mentions(
    event_id: str, at: int | float, body: str, companies: list[str], timeline: _Timeline
) -> list[dict[str, object]]:
    folded = body.casefold()
    out: list[dict[str, object]] = []
    for co in companies:
        if co and co in folded:
            fact: dict[str, object] = {"t": "mention", "ev": event_id, "event": event_id, "company": co, "co": co}
            _set_time(fact, "interview_at", timeline.interview_at(at, co))
            out.append(fact)
    return out
