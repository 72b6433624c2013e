"""The cost of a history grows linearly with its length: counts of engine firings, not times.

A rule that paired every check-in (thank-you, post...) with every earlier one made N events cost
N²/2 firings; the default pack now joins a fact to the previous one (ordering facts prepared with
the history, ranks for `nth`). Speed itself is measured by benchmarks/linear.py, never here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from followup.audit import Auditor
from followup.compile import Patterns, compile_pack, epoch, history_facts
from followup.history import parse_history
from followup.model import Finding
from followup.pack import load_pack

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
AS_OF = datetime(2027, 1, 1, tzinfo=UTC)
ENGINES = ("durable", "reference")
Doc = dict[str, object]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _doc(people: list[Doc], events: list[Doc]) -> Doc:
    return {
        "version": 1,
        "timezone": "UTC",
        "candidate": {"name": "Jane Doe", "email": "jane@example.com"},
        "people": [{"id": "dad", "name": "Al Doe", "role": "family"}, *people],
        "events": events,
    }


def _interview(eid: str, at: datetime, company: str, met: list[str]) -> Doc:
    return {"id": eid, "at": _iso(at), "ends": _iso(at + timedelta(hours=1)), "type": "interview",
            "company": company, "with": met}


def check_ins(n: int, *, same_time: int = 1) -> Doc:
    """One interview, then n check-ins (calls and emails) to the interviewer, ``same_time`` at each hour."""
    events = [_interview("i1", START, "Acme", ["kim"])]
    for k in range(1, n + 1):
        at = _iso(START + timedelta(days=8, hours=(k - 1) // same_time))
        if k % 2:
            events.append({"id": f"c{k}", "at": at, "type": "call", "direction": "sent", "to": "kim", "purpose": "check_in"})
        else:
            events.append({"id": f"c{k}", "at": at, "type": "email", "direction": "sent", "to": ["kim"],
                           "purpose": "check_in", "proofread_by": "dad"})
    return _doc([{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}], events)


def thank_yous(n: int) -> Doc:
    """One interview, then n thank-you emails to the interviewer (with and without `about`)."""
    events = [_interview("i1", START, "Acme", ["kim"])]
    for k in range(1, n + 1):
        email: Doc = {"id": f"t{k}", "at": _iso(START + timedelta(hours=1 + k)), "type": "email", "direction": "sent",
                      "to": ["kim"], "purpose": "thank_you", "proofread_by": "dad", "includes": ["thanks"]}
        if k % 2:
            email["about"] = "i1"
        events.append(email)
    return _doc([{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}], events)


def company(n: int) -> Doc:
    """n people at one company, an interview with each, then a thank-you and a check-in to each."""
    people: list[Doc] = []
    events: list[Doc] = []
    for k in range(1, n + 1):
        people.append({"id": f"p{k}", "name": f"Person {k}", "role": "interviewer", "company": "Acme"})
        at = START + timedelta(hours=3 * k)
        events.append(_interview(f"i{k}", at, "Acme", [f"p{k}"]))
        events.append({"id": f"t{k}", "at": _iso(at + timedelta(hours=2)), "type": "email", "direction": "sent",
                       "to": [f"p{k}"], "purpose": "thank_you", "proofread_by": "dad"})
        events.append({"id": f"c{k}", "at": _iso(at + timedelta(days=8)), "type": "call", "direction": "sent",
                       "to": f"p{k}", "purpose": "check_in"})
    events.sort(key=lambda e: str(e["at"]))
    return _doc(people, events)


def posts(n: int) -> Doc:
    """Three interviews, then n posts naming the companies or the word interview."""
    names = ("Acme", "Globex", "Initech")
    people = [{"id": f"p{k}", "name": f"Person {k}", "role": "interviewer", "company": c} for k, c in enumerate(names)]
    events = [_interview(f"i{k}", START + timedelta(days=k), c, [f"p{k}"]) for k, c in enumerate(names)]
    bodies = ("Fingers crossed for {c}!", "My interview went well", "Lovely hike")
    for k in range(n):
        body = bodies[k % 3].format(c=names[k % 3])
        events.append({"id": f"s{k}", "at": _iso(START + timedelta(days=5, minutes=k)), "type": "social",
                       "action": "post", "network": "X", "body": body})
    return _doc(people, events)


class Counted:
    """Audits with one engine and counts its firings: derivations and findings alike."""

    def __init__(self, engine: str, monkeypatch: pytest.MonkeyPatch, pack: str = "interview-follow-up") -> None:
        self.auditor = Auditor.for_pack(pack, engine)
        self.derived = 0
        module = importlib.import_module(f"followup.backends.{engine}")
        original = module.derived_fact

        def counting(compiled: object, firing: object) -> object:
            self.derived += 1
            return original(compiled, firing)

        monkeypatch.setattr(module, "derived_fact", counting)

    def audit(self, doc: Doc) -> tuple[int, tuple[Finding, ...]]:
        history = parse_history(doc, {}, "gen", AS_OF)
        facts = history_facts(history, self.auditor.patterns, members="member" in self.auditor.compiled.fact_types)
        self.derived = 0
        firings = self.auditor.backend.run(facts, epoch(AS_OF))
        return self.derived + len(firings), self.auditor.audit(history, AS_OF).findings


MIXES: dict[str, Callable[[int], Doc]] = {
    "check-ins": check_ins,
    "thank-yous": thank_yous,
    "company": company,
    "posts": posts,
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mix", sorted(MIXES))
def test_twice_the_events_at_most_about_twice_the_firings(mix: str, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = Counted(engine, monkeypatch)
    small, _ = counted.audit(MIXES[mix](60))
    large, _ = counted.audit(MIXES[mix](120))
    assert small >= 30  # the rules do fire on these histories
    assert large <= 2.2 * small, f"{mix}: {small} firings for 60, {large} for 120"


def by_rule(findings: tuple[Finding, ...], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


@pytest.mark.parametrize("engine", ENGINES)
def test_fifty_check_ins_in_one_silence_are_forty_nine_repeats(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fired, findings = Counted(engine, monkeypatch).audit(check_ins(50))
    repeated = by_rule(findings, "no-repeated-contact")
    assert [f.subject for f in repeated] == [f"c{k}" for k in range(2, 51)]
    # the evidence names the check-in just before, and the interview whose silence it is
    assert [f.events for f in repeated] == [(f"c{k}", "i1", f"c{k - 1}") for k in range(2, 51)]
    assert fired < 50 * 6  # a few firings per check-in, never one per pair (1,225 pairs)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_check_ins_allowed_the_third_and_later_repeat(engine: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    overlay = tmp_path / "two.yaml"
    overlay.write_text('pack: two\nversion: "1.0.0"\nextends: interview-follow-up\nparams: {max_check_ins: 2}\n')
    _, findings = Counted(engine, monkeypatch, str(overlay)).audit(check_ins(20))
    repeated = by_rule(findings, "no-repeated-contact")
    assert [f.subject for f in repeated] == [f"c{k}" for k in range(3, 21)]
    assert [f.events for f in repeated] == [(f"c{k}", "i1", f"c{k - 2}", f"c{k - 1}") for k in range(3, 21)]


@pytest.mark.parametrize("engine", ENGINES)
def test_check_ins_at_the_same_instant_are_one_step_of_the_count(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # c1, c2 at 8 days; c3, c4 an hour later; c5, c6 an hour after that
    _, findings = Counted(engine, monkeypatch).audit(check_ins(6, same_time=2))
    repeated = by_rule(findings, "no-repeated-contact")
    assert [f.subject for f in repeated] == ["c3", "c4", "c5", "c6"]
    assert [f.events for f in repeated] == [("c3", "i1", "c2"), ("c4", "i1", "c2"), ("c5", "i1", "c4"), ("c6", "i1", "c4")]


@pytest.mark.parametrize("engine", ENGINES)
def test_thirty_thank_yous_to_one_person_are_twenty_nine_repeats(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _, findings = Counted(engine, monkeypatch).audit(thank_yous(30))
    repeated = by_rule(findings, "no-repeated-contact")
    assert [(f.subject, f.events) for f in repeated] == [(f"t{k}", (f"t{k}", f"t{k - 1}")) for k in range(2, 31)]


@pytest.mark.parametrize("engine", ENGINES)
def test_at_one_company_a_contact_follows_up_the_latest_interview(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # c_k, 8 days after interview k, goes to p_k; interviews every 3 hours: the latest before every
    # c_k is i40 (everyone at the company belongs to every interview at it), never i_k. i40 ends at
    # 121 h, c_k is at 3k + 192 h: within a week of it for k <= 32.
    n = 40
    _, findings = Counted(engine, monkeypatch).audit(company(n))
    early = by_rule(findings, "no-early-check-in")
    repeated = by_rule(findings, "no-repeated-contact")
    assert [f.subject for f in early] == [f"c{k}" for k in range(1, 33)]
    assert [f.subject for f in repeated] == [f"c{k}" for k in range(2, n + 1)]
    assert {f.events[1] for f in early + repeated} == {f"i{n}"}


def test_ordering_facts() -> None:
    doc = _doc(
        [
            {"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"},
            {"id": "bo", "name": "Bo Chen", "role": "recruiter", "company": "ACME"},
            {"id": "ray", "name": "Ray Ng", "role": "interviewer", "company": "Globex"},
        ],
        [
            _interview("i1", START, "Acme", ["kim", "ray"]),
            _interview("i2", START + timedelta(days=1), "Globex", ["ray"]),
            {"id": "e1", "at": _iso(START + timedelta(days=2)), "type": "email", "direction": "sent",
             "to": ["kim", "bo", "ray"], "purpose": "thank_you"},
            {"id": "e2", "at": _iso(START + timedelta(days=3)), "type": "email", "direction": "sent",
             "to": ["kim"], "purpose": "thank_you"},
            {"id": "e3", "at": _iso(START + timedelta(days=3)), "type": "call", "direction": "sent", "to": "kim"},
            {"id": "r1", "at": _iso(START + timedelta(days=4)), "type": "email", "direction": "received", "from": "bo"},
            {"id": "s1", "at": _iso(START + timedelta(days=5)), "type": "social", "action": "post",
             "body": "Thanks acme"},
        ],
    )
    history = parse_history(doc, {}, "gen", AS_OF)
    facts = history_facts(history, Patterns({}), members=False)
    day = 86400
    i1 = epoch(START)
    to = {(f["event"], f["person"]): f for f in facts if f["t"] == "to"}
    assert to["e1", "kim"]["co"] == "acme" and to["e1", "bo"]["co"] == "acme"
    assert to["e1", "kim"]["company_interview_at"] == i1 and to["e1", "kim"]["met_interview_at"] == i1
    assert "met_interview_at" not in to["e1", "bo"]  # never met
    assert to["e1", "ray"]["met_interview_at"] == i1 + day and to["e1", "ray"]["company_interview_at"] == i1 + day
    assert "previous_at" not in to["e1", "kim"] and to["e2", "kim"]["previous_at"] == i1 + 2 * day
    assert "previous_at" not in to["e3", "kim"]  # a call is not the same kind of message as an email
    [received] = [f for f in facts if f["t"] == "received"]
    assert received["co"] == "acme"
    [social] = [f for f in facts if f["t"] == "social"]
    assert social["interview_at"] == i1 + day
    [mention] = [f for f in facts if f["t"] == "mention"]
    assert mention["co"] == "acme" and mention["interview_at"] == i1
    assert not [f for f in facts if f["t"] == "member"]
    assert {f["person"] for f in history_facts(history, Patterns({})) if f["t"] == "member"} == {"kim", "bo", "ray"}


def test_member_facts_only_for_a_pack_that_matches_them() -> None:
    assert "member" not in compile_pack(load_pack("interview-follow-up")).fact_types
    overlay = Path(__file__).parents[1] / "examples" / "packs" / "strict-agency.yaml"
    assert "member" in compile_pack(load_pack(str(overlay))).fact_types


def test_nth_compiles_to_rank_joins_without_time_comparisons() -> None:
    compiled = compile_pack(load_pack("interview-follow-up"))
    assert compiled.ranks == {"check_in": (("interview",),)}
    [rule] = [v for k, v in compiled.ruleset.items() if k == "no-repeated-contact:violation:0"]
    second = rule["all"][3]["c__2"]["$and"]
    assert {"rank_by_interview": {"$add": {"$l": {"c__1": "rank_by_interview"}, "$r": 1}}} in second
    assert not [t for t in second if "$gt" in t and "c__1" in str(t)]


def replies(n: int) -> Doc:
    """n interviews with kim at Acme, three days apart; a day after each, kim writes back; a day
    after that, a check-in call to kim. Every reply is news for every earlier interview at Acme."""
    events: list[Doc] = []
    for k in range(1, n + 1):
        at = START + timedelta(days=3 * k)
        events.append(_interview(f"i{k}", at, "Acme", ["kim"]))
        events.append({"id": f"r{k}", "at": _iso(at + timedelta(days=1)), "type": "email", "direction": "received",
                       "from": "kim"})
        events.append({"id": f"c{k}", "at": _iso(at + timedelta(days=2)), "type": "call", "direction": "sent",
                       "to": "kim", "purpose": "check_in"})
    return _doc([{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}], events)


@pytest.mark.parametrize("engine", ENGINES)
def test_news_for_many_interviews_at_one_company_costs_firings_linear_in_them(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each reply is news for every earlier interview at Acme: a fact per pair made this quadratic.
    counted = Counted(engine, monkeypatch)
    small, _ = counted.audit(replies(50))
    large, _ = counted.audit(replies(100))
    assert small >= 150
    assert large <= 2.2 * small, f"{small} firings for 50 interviews, {large} for 100"


@pytest.mark.parametrize("engine", ENGINES)
def test_the_waiting_stretch_starts_at_the_latest_news_before_the_check_in(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, findings = Counted(engine, monkeypatch).audit(replies(3))
    silence = [(f.rule, f.kind, f.subject, f.events, f.due, f.message) for f in findings
               if f.rule in ("no-early-check-in", "check-in-after-a-week", "no-repeated-contact")]
    assert silence == [
        # c_k is a day after r_k, the latest news before it (not i_k's end, nor a later reply)
        ("no-early-check-in", "violation", f"c{k}", (f"c{k}", f"i{k}", f"r{k}"), None,
         f"You checked in on {_day(3 * k + 2)}, only 1 day after Acme's email of {_day(3 * k + 1)}; wait 1 week."
         " If it answered their message, mark it with in_reply_to (the id of their message): a reply is not a"
         " check-in.")
        for k in (1, 2, 3)
    ] + [
        # every interview's silence starts at the latest news of all, r3, even the first one's;
        # i3 was checked in on after r3 (c3), so only i1 and i2 are still waiting for news
        ("check-in-after-a-week", "next_step", f"i{k}", (f"i{k}", "r3"), START + timedelta(days=17),
         f"No news from Acme since {_day(10)}: call Kim Lee to check in on {_day(17)} 09:00 UTC if there is still none by then.")
        for k in (1, 2)
    ]


def _day(days: int) -> str:
    return (START + timedelta(days=days)).strftime("%a %-d %b %Y")
