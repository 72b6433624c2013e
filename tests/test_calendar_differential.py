"""Both engines agree on generated calendar packs: weekday sets, times of day, business-day
parameters, weekends and calendars are drawn, not fixed, and audited on generated histories.

The overlay of test_differential.py (test_engines_agree_on_the_local_calendar_and_business_days)
uses every construct once with the default pack's rules; this varies the constructs themselves.
durable_rules runs in a forked child per example (run_isolated), so a crash fails one example.
"""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followup.backends import Fact
from followup.backends.durable import DurableBackend
from followup.backends.reference import ReferenceBackend
from followup.compile import CompiledPack, Patterns, compile_pack, history_facts
from followup.compile.facts import epoch
from followup.diagnostics import FollowupError
from followup.history import parse_history
from followup.pack import load_pack
from strategies import histories
from test_differential import canonical, in_forked_child

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
EXAMPLES = 200 if CI else 25
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMPARE = ("after", "before", "at_or_after", "at_or_before")

PACK = """\
pack: generated-calendar
calendar: {calendar}
params: {{within: {within}}}
derive:
  - fact: sent
    description: A time copied from a recipient fact, so that its calendar is copied too.
    when: [{{fact: to, as: r, where: {{via: {{in: [email, call]}}}}}}]
    set: {{event: r.event, at: r.at, person: r.person}}
rules:
  - id: day-and-hour
    title: t
    rationale: r
    severity: warning
    violation:
      when:
        - {{fact: sent, as: s, where: {{at.weekday: {{{weekday_op}: {weekdays}}}, at.time: {{{hour_op}: {hour}h}}}}}}
      subject: s.event
      message: "{{s.at.date}} {{s.at.weekday}} {{s.at.time|duration}}"
  - id: same-day
    title: t
    rationale: r
    severity: info
    violation:
      when:
        - {{fact: interview, as: i}}
        - {{fact: to, as: r, where: {{at.date: i.start.date, previous_at.weekday: {{exists: {previous}}}}}}}
      subject: r.event
      message: "{{i.start.date}}"
  - id: business-deadline
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {{fact: interview, as: i}}
        - {{fact: to, as: r, where: {{at: {{{deadline_op}: i.start {sign} within}}}}}}
      subject: r.event
      message: "{{i.start {sign} within|time}} {{within}}"
    next_step:
      when:
        - {{fact: interview, as: i, where: {{start: {{at_or_after: asof.at - within}}}}}}
      subject: i.key
      due: i.start + within - 1h
      message: "{{due|time}}"
"""


@st.composite
def calendar_packs(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from((None, "DE", "US", "GB", "FR")))
    parts = [] if country is None else [f"country: {country}"]
    if country == "DE" and draw(st.booleans()):
        parts.append("subdivision: " + draw(st.sampled_from(("BE", "BY", "SN"))))
    extra = draw(st.lists(st.integers(1, 30), max_size=3, unique=True))
    if extra:
        parts.append("extra_holidays: [" + ", ".join(f"2026-11-{d:02d}" for d in extra) + "]")
    weekend = draw(st.sampled_from((("sat", "sun"), ("fri", "sat"), ("sun",), ())))
    parts.append("weekend: [" + ", ".join(weekend) + "]")
    weekdays = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=6, unique=True))
    weekday_op = draw(st.sampled_from(("in", "not"))) if len(weekdays) == 1 else "in"
    return PACK.format(
        calendar="{" + ", ".join(parts) + "}",
        within=f"{draw(st.integers(0, 12))}bd",
        weekday_op=weekday_op,
        weekdays=weekdays[0] if weekday_op == "not" else "[" + ", ".join(weekdays) + "]",
        hour_op=draw(st.sampled_from(COMPARE)),
        hour=draw(st.integers(0, 24)),
        previous=draw(st.sampled_from(("true", "false"))),
        deadline_op=draw(st.sampled_from(COMPARE)),
        sign=draw(st.sampled_from(("+", "-"))),
    )


def run(compiled: CompiledPack, facts: list[Fact], as_of: float, engine: str) -> tuple[str, object]:
    """("ok", canonical firings) or ("error", exception class name); durable in a forked child."""

    def audit() -> tuple[str, object]:
        backend = DurableBackend(compiled) if engine == "durable" else ReferenceBackend(compiled)
        try:
            return ("ok", canonical(backend.run(facts, as_of)))
        except FollowupError as exc:
            return ("error", type(exc).__name__)

    return audit() if engine != "durable" else in_forked_child(audit)


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(calendar_packs(), histories())
def test_engines_agree_on_generated_calendar_packs(
    tmp_path_factory: pytest.TempPathFactory, text: str, case: tuple[dict[str, object], datetime]
) -> None:
    path = tmp_path_factory.mktemp("calendar") / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    pack = load_pack(str(path))
    compiled = compile_pack(pack)
    doc, as_of = case
    history = parse_history(doc, {}, "gen", as_of)
    facts = history_facts(history, Patterns(pack.patterns), False, compiled.calendar)
    reference = run(compiled, facts, epoch(as_of), "reference")
    assert reference[0] == "ok", reference
    assert run(compiled, facts, epoch(as_of), "durable") == reference
