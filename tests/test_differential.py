"""Differential tests: durable_rules and the reference evaluator give the same answers (SPEC §8).

Both engines get the same compiled pack and the same facts of thousands of generated histories
(tests/strategies.py); their raw firings must be the same (as sorted JSON), and the findings
built from them identical in every field. ``HYPOTHESIS_PROFILE=ci`` (as .ci/run sets) runs the full
count; ``FOLLOWUP_DIFF_EXAMPLES=N`` overrides it for a longer soak.

durable_rules runs in a child process: its C engine has crashed the interpreter on some inputs
(docs/engine-semantics.md), and a crash must fail one example, and be shrunk to a minimal
history by hypothesis, rather than take the whole test run down with it.

Every counterexample found lives on in tests/regressions/ with the exact findings decided right.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from followup.audit import Auditor
from followup.backends import Backend, Fact, Firing
from followup.backends.durable import DurableBackend
from followup.backends.reference import FactPool, ReferenceBackend, RulesetError, matches, parse_rule
from followup.compile import GATE, CompiledPack, CompiledRule, Patterns, compile_pack
from followup.compile import expr as ex
from followup.diagnostics import FollowupError
from followup.history import parse_history
from followup.model import Finding
from followup.pack import load_pack
from strategies import histories

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
SOAK = int(os.environ.get("FOLLOWUP_DIFF_EXAMPLES", "0"))
DEFAULT_EXAMPLES = SOAK or (2000 if CI else 100)
OVERLAY_EXAMPLES = SOAK or (1000 if CI else 50)
TIMEOUT = 60.0  # seconds for one history: far more than any takes; a hang is a failure
REGRESSIONS = Path(__file__).parent / "regressions"
OVERLAY = """\
pack: strict
version: "1.0.0"
extends: interview-follow-up
params: {thank_you_within: 12h, check_in_after: 5d, max_check_ins: 2, note_within: 1d}
"""
# Every construct of the local calendar and business days (docs/pack-language.md): calendar parts
# of prepared times, of ordering fields and of derived copies (in `in:`, `not:`, comparisons with
# durations, joins between two facts' dates, messages), business days in parameters, dues,
# messages, and comparisons on either side (moved onto the compared field or kept on the other).
# The generated histories span US daylight saving's end, two of the extra dates and Veterans Day.
CALENDAR_OVERLAY = """\
pack: calendar-differential
version: "1.0.0"
extends: interview-follow-up
calendar: {country: US, subdivision: NY, extra_holidays: [2026-11-05, 2026-11-10]}
params: {check_in_after: 3bd, thank_you_within: 1bd, note_within: 2bd}
derive:
  - fact: late_hour
    description: A time copied from an email, through a derived fact.
    when:
      - {fact: email, as: e, where: {direction: sent}}
    set: {email: e.key, at: e.at}
rules:
  - id: weekend-check-in
    title: t
    severity: warning
    rationale: r
    violation:
      when:
        - {fact: check_in, as: c, where: {at.weekday: {in: [sat, sun]}}}
      subject: c.event
      message: "{c.at.weekday} {c.at.date} {c.at.time|duration} {c.at|time}"
  - id: night-email
    title: t
    severity: info
    rationale: r
    violation:
      when:
        any:
          - [{fact: late_hour, as: e, where: {at.time: {at_or_after: 22h}}}]
          - [{fact: late_hour, as: e, where: {at.time: {before: 7h}, at.weekday: {not: mon}}}]
      subject: e.email
      message: "{e.at.time|duration}"
  - id: same-day-thanks
    title: t
    severity: info
    rationale: r
    violation:
      when:
        - {fact: interview, as: i}
        - {fact: thank_you, as: t, where: {interview: i.key, at.date: i.start.date}}
      subject: t.email
      message: "{i.start.date} {t.at.weekday}"
  - id: ordering-calendar
    title: t
    severity: info
    rationale: r
    violation:
      when:
        any:
          - [{fact: to, as: r, where: {previous_at.weekday: {in: [fri, sat]}}}]
          - [{fact: social, as: r, where: {interview_at.date: {exists: true}, at.weekday: {not: sun}}}]
          - [{fact: last_heard, as: r, where: {at.weekday: {in: [mon, tue, wed]}}}]
      subject: r.ev
      message: "{r.at|time}"
  - id: business-deadline
    title: t
    severity: info
    rationale: r
    violation:
      when:
        - {fact: interview, as: i, where: {start: {before: asof.at - 2bd}}}
        - {fact: met, as: m, where: {interview: i.key, at: {at_or_after: i.at - 1bd + 1h}}}
        - {none: to, where: {person: m.person, at: {before: i.start + 2bd, after: i.start}}}
      subject: i.key
      person: m.person
      message: "{i.start + 2bd|time} {i.start + 2bd - 30m|time} {i.start - 1bd|date} {check_in_after}"
    next_step:
      when:
        - {fact: waiting, as: w, where: {at: {at_or_after: asof.at - 4bd}}}
      subject: w.interview
      due: w.at + 4bd - 1h
      message: "{due|time}"
"""

# Narrowings (`unless:`) of every form: facts to look for and tests on the rule's own matches with
# each operator (whose opposites include "the field is missing"), per kind and for every kind, and
# two narrowings of one rule (from two overlays), which compile to one rule per way of failing both.
NARROWED = """\
pack: narrowed
version: "1.0.0"
extends: interview-follow-up
derive:
  - fact: decided
    description: The company decided.
    when:
      - {fact: interview, as: i}
      - {fact: decision, as: d, where: {co: i.co, at: {at_or_after: i.at}}}
    set: {interview: i.key, at: d.at}
overrides:
  no-friending-interviewer:
    unless:
      - {match: s, where: {action: connect, network: LinkedIn}}
      - {fact: decided, where: {interview: m.interview, at: {before: s.at}}}
  send-thank-you-email:
    unless:
      next_step: [{fact: note, where: {at: {at_or_after: i.at}}}]
      violation: [{match: i, where: {company: {in: [Globex, Initech]}, position: {exists: true}}}]
  handwritten-thank-you-note:
    unless: [{match: m, where: {role: {not: interviewer}}}]
  no-posting-about-interview:
    unless: [{match: s, where: {network: X}}, {match: i, where: {start: {before: s.at - 1h}}}]
  proofread-follow-up-email:
    unless: [{match: e, where: {subject: {exists: true}}}]
  no-early-check-in:
    unless: [{fact: received, where: {co: {exists: true}, at: {at_or_before: c.at}}}]
  tell-references:
    unless: {violation: [{match: c, where: {at: {at_or_before: asof.at - 3d}}}]}
"""
NARROWED_TWICE = """\
pack: narrowed-twice
version: "1.0.0"
extends: narrowed.yaml
overrides:
  no-friending-interviewer:
    unless: [{match: s, where: {network: {not: Facebook}}}, {match: m, where: {role: recruiter}}]
  tell-references:
    unless: {violation: [{fact: reference_contact, where: {person: c.person}}]}
"""


class Recording:
    """A backend that keeps the firings of its last run (the raw output, before findings)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.firings: list[Firing] = []

    def run(self, facts: Sequence[Fact], as_of: float) -> list[Firing]:
        self.firings = self.backend.run(facts, as_of)
        return self.firings


def auditor(pack_ref: str, engine: str) -> tuple[Auditor, Recording]:
    pack = load_pack(pack_ref)
    compiled = compile_pack(pack)
    backend = DurableBackend(compiled) if engine == "durable" else ReferenceBackend(compiled)
    recording = Recording(backend)
    return Auditor(pack, compiled, recording, Patterns(pack.patterns)), recording


def canonical(firings: Sequence[Firing]) -> list[str]:
    """Firings as sorted JSON: equal lists mean the same multiset of (rule, bindings)."""
    return sorted(json.dumps([f.rule, f.bindings], sort_keys=True, ensure_ascii=False) for f in firings)


Outcome = tuple[str, object, object]  # ("ok", firings, findings) or ("error", kind, message)


def audit(engine: tuple[Auditor, Recording], doc: Mapping[str, object], as_of: datetime) -> Outcome:
    subject, recording = engine
    try:
        history = parse_history(doc, {}, "gen", as_of)
        findings = subject.audit(history, as_of).findings
    except FollowupError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", canonical(recording.firings), findings)


def _serve(pack_ref: str, conn: Connection) -> None:
    """The child: audits what it receives with durable_rules, until told to stop."""
    engine = auditor(pack_ref, "durable")
    conn.send(engine[0].compiled.name)
    while (request := conn.recv()) is not None:
        conn.send(audit(engine, *request))


class DurableWorker:
    """durable_rules in a child process, restarted after a crash."""

    def __init__(self, pack_ref: str, compiled_name: str) -> None:
        self.pack_ref = pack_ref
        self.compiled_name = compiled_name
        self.process: Any = None
        self.conn: Connection | None = None

    def _start(self) -> Connection:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        ours, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(self.pack_ref, theirs), daemon=True)
        self.process.start()
        theirs.close()
        self.conn = ours
        name = self._receive("starting")
        assert name == self.compiled_name, "the child compiled a different pack"
        return ours

    def _receive(self, what: str) -> Any:
        assert self.conn is not None
        if not self.conn.poll(TIMEOUT):
            self.stop(kill=True)
            raise AssertionError(f"durable_rules did not answer within {TIMEOUT:.0f}s ({what})")
        try:
            return self.conn.recv()
        except EOFError:
            self.process.join(5)
            code = self.process.exitcode
            self.process = self.conn = None
            how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            raise AssertionError(f"durable_rules crashed the process ({how}) {what}") from None

    def audit(self, doc: Mapping[str, object], as_of: datetime) -> Outcome:
        conn = self.conn if self.process is not None and self.process.is_alive() else self._start()
        assert conn is not None
        conn.send((doc, as_of))
        result: Outcome = self._receive("auditing a history")
        return result

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if not kill and self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(0 if kill else 5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.process = self.conn = None


class Pair:
    """The two engines on one pack: durable in a child process, the reference here."""

    def __init__(self, pack_ref: str) -> None:
        self.pack_ref = pack_ref
        self.reference = auditor(pack_ref, "reference")
        self.compiled = self.reference[0].compiled
        self.durable = DurableWorker(pack_ref, self.compiled.name)


def describe(findings: object) -> str:
    if not isinstance(findings, tuple):
        return repr(findings)
    return "\n".join(
        f"  {f.rule} {f.kind} {f.severity} subject={f.subject} person={f.person} due={f.due} "
        f"events={list(f.events)} message={f.message!r}"
        for f in findings
    )


def assert_agree(
    pair: Pair, doc: Mapping[str, object], as_of: datetime, worker: DurableWorker | None = None
) -> tuple[Finding, ...]:
    durable = (worker or pair.durable).audit(doc, as_of)
    reference = audit(pair.reference, doc, as_of)
    assert durable[0] == "ok", f"durable_rules failed: {durable[1]}: {durable[2]}"
    assert reference[0] == "ok", f"the reference evaluator failed: {reference[1]}: {reference[2]}"
    durable_firings, reference_firings = durable[1], reference[1]
    assert isinstance(durable_firings, list) and isinstance(reference_firings, list)
    only_durable = sorted(set(durable_firings) - set(reference_firings))
    only_reference = sorted(set(reference_firings) - set(durable_firings))
    assert durable_firings == reference_firings, (
        "the engines fired differently\n"
        f"only durable_rules: {json.dumps(only_durable, indent=1)}\n"
        f"only the reference: {json.dumps(only_reference, indent=1)}"
    )
    assert durable[2] == reference[2], (
        f"same firings, different findings\ndurable:\n{describe(durable[2])}\nreference:\n{describe(reference[2])}"
    )
    findings = reference[2]
    assert isinstance(findings, tuple)
    return findings


@pytest.fixture(scope="module")
def default_pair() -> Iterator[Pair]:
    pair = Pair("interview-follow-up")
    yield pair
    pair.durable.stop()


@pytest.fixture(scope="module")
def strict_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    path = tmp_path_factory.mktemp("packs") / "strict.yaml"
    path.write_text(OVERLAY, encoding="utf-8")
    pair = Pair(str(path))
    yield pair
    pair.durable.stop()


@pytest.fixture(scope="module")
def narrowed_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    folder = tmp_path_factory.mktemp("narrowed")
    (folder / "narrowed.yaml").write_text(NARROWED, encoding="utf-8")
    (folder / "twice.yaml").write_text(NARROWED_TWICE, encoding="utf-8")
    pair = Pair(str(folder / "twice.yaml"))
    yield pair
    pair.durable.stop()


@pytest.fixture(scope="module")
def calendar_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    path = tmp_path_factory.mktemp("packs") / "calendar.yaml"
    path.write_text(CALENDAR_OVERLAY, encoding="utf-8")
    pair = Pair(str(path))
    yield pair
    pair.durable.stop()


SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=DEFAULT_EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(histories())
def test_engines_agree_on_the_default_pack(default_pair: Pair, case: tuple[dict[str, object], datetime]) -> None:
    assert_agree(default_pair, *case)


@settings(max_examples=OVERLAY_EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(histories())
def test_engines_agree_on_an_overlay_with_other_parameters(
    strict_pair: Pair, case: tuple[dict[str, object], datetime]
) -> None:
    assert_agree(strict_pair, *case)


@settings(max_examples=OVERLAY_EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(histories())
def test_engines_agree_on_narrowed_rules(narrowed_pair: Pair, case: tuple[dict[str, object], datetime]) -> None:
    assert_agree(narrowed_pair, *case)


def test_the_narrowed_overlay_compiles_every_way_to_fail_its_narrowings() -> None:
    """The overlay above is what the test means it to be: two narrowings of one rule give the product
    of their ways (2 tests x 2 ways each, plus the absence, times 2 own tests x 2 ways)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "narrowed.yaml").write_text(NARROWED, encoding="utf-8")
        (Path(folder) / "twice.yaml").write_text(NARROWED_TWICE, encoding="utf-8")
        compiled = compile_pack(load_pack(str(Path(folder) / "twice.yaml")))
    friending = [name for name in compiled.ruleset if name.startswith("no-friending-interviewer:")]
    assert len(friending) == (2 * 2 + 1) * (2 * 2)
    telling = [name for name in compiled.ruleset if name.startswith("tell-references:violation:")]
    assert len(telling) == 2 * 1  # at_or_before: its opposite, or no `at`; then the absence


@settings(max_examples=OVERLAY_EXAMPLES, deadline=None, suppress_health_check=SLOW)
@given(histories())
def test_engines_agree_on_the_local_calendar_and_business_days(
    calendar_pair: Pair, case: tuple[dict[str, object], datetime]
) -> None:
    assert_agree(calendar_pair, *case)


def test_the_calendar_overlay_reads_calendar_fields(calendar_pair: Pair) -> None:
    """The overlay above really makes the facts carry calendar fields, prepared and copied."""
    needs = calendar_pair.compiled.calendar.fields
    assert "at.weekday" in needs["to"] and "previous_at.weekday" in needs["to"]
    assert "start.after_2bd" in needs["interview"] and "at.after_1bd" in needs["met"]
    copied = calendar_pair.compiled.rules["derive:check_in:9"].set
    assert copied["at.weekday"] == ex.Ref("f", "at.weekday")


# -- regressions: every counterexample found, with the findings decided right ------------------------


def finding_record(finding: Finding) -> dict[str, object]:
    record = asdict(finding)
    record["events"] = list(finding.events)
    record["due"] = None if finding.due is None else finding.due.isoformat()
    del record["waived"], record["baseline_state"]  # set by a run, not by the engines
    del record["remedy"]  # advice rendered from the same firing, not a decision (assert_agree compares it)
    return record


def regression_files() -> list[Path]:
    return sorted(REGRESSIONS.glob("*.yaml"))


@pytest.mark.parametrize("path", regression_files(), ids=lambda p: p.stem)
def test_regression(path: Path, default_pair: Pair, strict_pair: Pair) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    pair = strict_pair if case.get("pack") == "strict" else default_pair
    as_of = datetime.fromisoformat(case["as_of"])
    fresh = DurableWorker(pair.pack_ref, pair.compiled.name)  # the first session of a new ruleset
    try:
        findings = assert_agree(pair, case["history"], as_of, fresh)
    finally:
        fresh.stop()
    assert [finding_record(f) for f in findings] == case["findings"]


# -- durable_rules memory errors: the compiled rulesets must steer clear of them ---------------------
#
# Both crash the process only now and then (it depends on what the heap holds), so no example-based
# test catches them reliably; these check the compiled rulesets for the workarounds instead. Found
# with instrumented builds of durable_rules 2.0.28 (docs/engine-semantics.md).

# The always-true join test the workaround appends: a fact's type is never the gate's.
GUARD = {"$neq": {"t": {"asof": "t"}}}


def is_join(test: object) -> bool:
    """A test durable_rules evaluates in its beta sequence: it refers to a bound fact."""
    if not isinstance(test, dict) or len(test) != 1:
        return False
    ((key, body),) = test.items()
    if key in ("$and", "$or", "$ex", "$nex"):
        return False
    if key in ("$neq", "$gt", "$gte", "$lt", "$lte") and isinstance(body, dict) and len(body) == 1:
        body = next(iter(body.values()))
    return isinstance(body, dict)


def beta_sequence(condition: object) -> list[object]:
    """The expression sequence durable_rules builds for a condition (rete.c, createAlpha)."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((key, body),) = condition.items()
        if key in ("$and", "$or") and isinstance(body, list):
            return [key, *(item for test in body for item in beta_sequence(test)), "$end"]
    return [condition] if is_join(condition) else []


def unsafe_patterns(ruleset: Mapping[str, Mapping[str, object]]) -> list[str]:
    """Patterns where a join test that can fail is the last of its group: when it decides the
    group, durable_rules' skip loop (events.c:614) starts past the group's end marker."""
    found = []
    for name, rule in ruleset.items():
        patterns = rule["all"]
        assert isinstance(patterns, list)
        for pattern in patterns:
            ((alias, condition),) = pattern.items()
            sequence = beta_sequence(condition)
            for test, following in itertools.pairwise(sequence):
                if following == "$end" and is_join(test) and test != GUARD:
                    found.append(f"{name} {alias}: {json.dumps(test)}")
    return found


def fires_without_facts(ruleset: Mapping[str, Mapping[str, object]], strata: int) -> bool:
    """Does some rule fire on the gates alone, so that every session runs an action?"""
    pool = FactPool()
    for stratum in range(1, strata + 1):
        pool.add({"t": GATE, "n": stratum, "at": 0})
        for name, raw in ruleset.items():
            try:
                rule = parse_rule(name, raw, stratum)
            except RulesetError:
                continue  # not a rule of this stratum
            if next(matches(rule, pool), None) is not None:
                return True
    return False


def test_no_join_test_that_can_fail_ends_a_pattern(default_pair: Pair) -> None:
    assert unsafe_patterns(default_pair.compiled.ruleset) == []


def test_every_session_runs_an_action(default_pair: Pair, strict_pair: Pair) -> None:
    """Else deleting the session frees a pointer durable_rules never set (the compiler's `$end`)."""
    for pair in (default_pair, strict_pair):
        assert fires_without_facts(pair.compiled.ruleset, pair.compiled.strata)


def test_the_trap_detectors_detect() -> None:
    failing_last = {
        "r": {"all": [{"asof": {"t": GATE}}, {"e": {"$and": [{"t": "email"}, {"$gt": {"at": {"asof": "at"}}}]}}]}
    }
    guarded = {
        "r": {"all": [{"asof": {"t": GATE}}, {"e": {"$and": [{"t": "email"}, {"$gt": {"at": {"asof": "at"}}}, GUARD]}}]}
    }
    assert unsafe_patterns(failing_last) == ['r e: {"$gt": {"at": {"asof": "at"}}}']
    assert unsafe_patterns(guarded) == []
    alive = {"$alive": {"all": [{"g": {"$and": [{"t": GATE}, {"n": 1}]}}]}}
    assert not fires_without_facts(failing_last, 1)
    assert fires_without_facts(alive, 1)
    assert fires_without_facts({"$end": {"all": [{"g": {"$and": [{"t": GATE}, {"n": 3}]}}]}}, 3)


# -- the semantic corners the reference copies from durable_rules, pinned on both engines ------------
#
# Tiny hand-written rulesets where the default pack never goes: if a durable_rules upgrade changes
# one of these answers, the reference (and docs/engine-semantics.md) must follow. Each join pattern
# ends with GUARD, to keep durable_rules clear of its out-of-bounds read.


def gated(stratum: int, *patterns: dict[str, object]) -> dict[str, object]:
    return {"all": [{"asof": {"$and": [{"t": GATE}, {"n": stratum}]}}, *patterns]}


def join(alias: str, *tests: object) -> dict[str, object]:
    return {alias: {"$and": [*tests, GUARD]}}


def tiny_pack(
    base: CompiledPack, rules: Mapping[str, dict[str, object]], derive: Mapping[str, str] = {}
) -> CompiledPack:
    """``rules``: name -> ruleset entry; ``derive``: name -> fact type (the fact copies ``key``)."""
    meanings = {}
    for name, rule in rules.items():
        stratum = int(rule["all"][0]["asof"]["$and"][1]["n"])
        aliases = tuple(a for p in rule["all"][1:] for a in p if not a.endswith("$not"))
        if name in derive:
            projection = {"key": ex.Ref(aliases[0], "key")}
            meanings[name] = CompiledRule(name, stratum, "derive", fact=derive[name], set=projection, aliases=aliases)
        else:
            meanings[name] = CompiledRule(name, stratum, "violation", rule_id=name, aliases=aliases)
    ruleset = {**rules, "$sink": {"all": [{"g": {"t": "$never"}}, {"s": {"$ex": {"t": 1}}}]}}
    ruleset["$end"] = gated(max(m.stratum for m in meanings.values()))
    strata = max(m.stratum for m in meanings.values())
    return dataclasses.replace(base, name=f"tiny-{next(_tiny)}", strata=strata, ruleset=ruleset, rules=meanings)


_tiny = itertools.count()


def in_forked_child(run: Callable[[], tuple[str, object]]) -> tuple[str, object]:
    """``run()`` in a forked child process: durable_rules can hang or abort the whole process,
    which must fail the test that found it rather than end the run."""
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=lambda: theirs.send(run()), daemon=True)
    child.start()
    theirs.close()
    if not ours.poll(TIMEOUT):
        child.kill()
        raise AssertionError("durable_rules hung")
    try:
        result: tuple[str, object] = ours.recv()
    except EOFError:
        child.join()
        raise AssertionError(f"durable_rules crashed the process (exit {child.exitcode})") from None
    child.join()
    return result


def run_isolated(compiled: CompiledPack, facts: list[dict[str, object]], engine: str) -> tuple[str, object]:
    """("ok", canonical firings) or ("error", exception class name); durable in a forked child."""

    def run() -> tuple[str, object]:
        backend = DurableBackend(compiled) if engine == "durable" else ReferenceBackend(compiled)
        # A first session that runs an action: a later session that fails would otherwise make
        # delete_state free a pointer durable_rules never set (docs/engine-semantics.md, trap 2).
        backend.run([], 1000)
        try:
            return ("ok", canonical(backend.run(facts, 1000)))
        except FollowupError as exc:
            return ("error", type(exc).__name__)

    return run() if engine != "durable" else in_forked_child(run)


EMAIL, EMAIL2 = {"t": "email", "key": "e1", "at": 10}, {"t": "email", "key": "e2", "at": 20}
INTERVIEW = {"t": "interview", "key": "i1", "at": 5, "start": 7}
CORNERS: dict[str, tuple[dict[str, dict[str, object]], dict[str, str], list[dict[str, object]], object]] = {
    "one fact never binds two aliases": (
        {"r": gated(1, {"a": {"t": "email"}}, join("c", {"t": "email"}))},
        {},
        [EMAIL],
        [],
    ),
    "two facts bind two aliases in both orders": (
        {"r": gated(1, {"a": {"t": "email"}}, join("c", {"t": "email"}))},
        {},
        [EMAIL, EMAIL2],
        2,
    ),
    "an absence does not see the facts bound before it": (
        {"r": gated(1, {"a": {"t": "email"}}, {"x$not": {"t": "email"}})},
        {},
        [EMAIL],
        1,
    ),
    "an absence sees the facts bound after it": (
        {"r": gated(1, {"i": {"t": "interview"}}, {"x$not": {"t": "email"}}, {"e": {"t": "email"}})},
        {},
        [INTERVIEW, EMAIL],
        [],
    ),
    "an equality with a missing field of the bound fact matches nothing": (
        {"r": gated(1, {"e": {"t": "email"}}, join("i", {"t": "interview"}, {"key": {"e": "about"}}))},
        {},
        [EMAIL, INTERVIEW],
        [],
    ),
    "a comparison with a missing field of the bound fact is an error": (
        {"r": gated(1, {"e": {"t": "email"}}, join("i", {"t": "interview"}, {"$lt": {"at": {"e": "sent"}}}))},
        {},
        [EMAIL, INTERVIEW],
        "error",
    ),
    "a deadline is met at exactly the deadline": (
        {
            "r": gated(
                1,
                {"i": {"t": "interview"}},
                join("e", {"t": "email"}, {"$gt": {"at": {"$add": {"$l": {"i": "start"}, "$r": 3}}}}),
            )
        },
        {},
        [INTERVIEW, EMAIL, {"t": "email", "key": "e0", "at": 9.5}],  # at 10 = start + 3: in time
        [],
    ),
    "a join before an $or that ends the pattern is kept": (
        {
            "r": gated(
                1,
                {"i": {"t": "interview"}},
                {
                    "e": {
                        "$and": [
                            {"t": "email"},
                            {"$lt": {"at": {"i": "at"}}},
                            GUARD,
                            {"$or": [{"key": "e1"}, {"key": "e2"}]},
                        ]
                    }
                },
            )
        },
        {},
        [INTERVIEW, EMAIL, EMAIL2],
        [],
    ),
    "derived facts reach the next stratum": (
        {"d": gated(1, {"i": {"t": "interview"}}), "next": gated(2, {"s": {"t": "seen"}})},
        {"d": "seen"},
        [INTERVIEW],
        1,
    ),
}


@pytest.mark.parametrize("name", list(CORNERS))
def test_the_engines_agree_on_semantic_corners(name: str, default_pair: Pair) -> None:
    rules, derive, facts, expected = CORNERS[name]
    compiled = tiny_pack(default_pair.compiled, rules, derive)
    durable = run_isolated(compiled, facts, "durable")
    reference = run_isolated(compiled, facts, "reference")
    if expected == "error":
        assert durable == ("error", "EngineError")
        assert reference == ("error", "EvaluationError")
        return
    assert durable == reference
    assert durable[0] == "ok"
    firings = durable[1]
    assert isinstance(firings, list)
    assert (len(firings) if isinstance(expected, int) else firings) == expected
