"""The local calendar and business days (docs/pack-language.md, "The local calendar"): the acceptance
case of issue 11, how calendar fields and business days are computed, what `pack validate` refuses,
and the example overlay passing its own tests and boundary checks."""

from __future__ import annotations

import json
import textwrap
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import durable_rules_engine as engine
import pytest
from click.testing import CliRunner

from conftest import make_history, summary
from followup.audit import Auditor
from followup.cli import cli
from followup.compile import expr as ex
from followup.compile.calendar import (
    WorkCalendar,
    apply_business_days,
    calendar_value,
    comparison_business_days,
)
from followup.diagnostics import InputError
from followup.pack import load_pack
from followup.pack.model import CalendarSpec

ROOT = Path(__file__).resolve().parents[1]
AGENCY = ROOT / "examples" / "packs" / "agency-calendar.yaml"
BERLIN = ZoneInfo("Europe/Berlin")
AS_OF = datetime.fromisoformat("2026-12-01T12:00+00:00")
INTERVIEW = {
    "id": "i1",
    "at": "2026-11-16T10:00+01:00",
    "ends": "2026-11-16T11:00+01:00",
    "type": "interview",
    "company": "Acme",
    "with": ["kim"],
}


def check_in(at: str) -> dict[str, object]:
    return {
        "id": "c1",
        "at": at,
        "type": "call",
        "direction": "sent",
        "to": "kim",
        "about": "i1",
        "purpose": "check_in",
    }


@pytest.fixture(scope="module", params=["durable", "reference"])
def agency(request: pytest.FixtureRequest) -> Auditor:
    return Auditor.for_pack(str(AGENCY), engine=request.param)


@pytest.mark.parametrize(
    ("local", "fires"),
    [
        ("2026-11-28T00:30", True),  # Saturday 00:30 in Berlin: Friday 23:30 in UTC
        ("2026-11-30T00:30", False),  # Monday 00:30 in Berlin: Sunday 23:30 in UTC
        ("2026-11-29T23:59:59", True),
        ("2026-11-27T23:59:59", False),
    ],
)
def test_a_weekend_check_in_is_decided_in_the_history_s_time_zone(agency: Auditor, local: str, fires: bool) -> None:
    history = make_history([INTERVIEW, check_in(local)], timezone="Europe/Berlin", as_of=AS_OF)
    utc_weekday = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC")).strftime("%a")
    assert utc_weekday in ("Fri", "Sun", "Sat")  # the UTC day differs at 00:30: the zone decides
    findings = agency.audit(history, AS_OF).findings
    expected = [("no-weekend-check-ins", "violation", "c1", None, None)] if fires else []
    assert summary(findings, "no-weekend-check-ins") == expected


def test_the_same_check_in_in_utc_is_a_friday(agency: Auditor) -> None:
    history = make_history([INTERVIEW, check_in("2026-11-27T23:30")], timezone="UTC", as_of=AS_OF)
    assert summary(agency.audit(history, AS_OF).findings, "no-weekend-check-ins") == []


def test_the_check_in_is_due_five_business_days_later_across_christmas(agency: Auditor) -> None:
    interview = {**INTERVIEW, "at": "2026-12-18T10:00", "ends": "2026-12-18T11:00"}
    as_of = datetime.fromisoformat("2026-12-21T12:00+01:00")
    history = make_history([interview], timezone="Europe/Berlin", as_of=as_of)
    (step,) = [f for f in agency.audit(history, as_of).findings if f.rule == "check-in-after-a-week"]
    assert step.due == datetime.fromisoformat("2026-12-29T11:00+01:00")


# -- computing the fields ------------------------------------------------------------------------


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_calendar_parts_are_local_and_daylight_saving_correct() -> None:
    work = WorkCalendar()
    before, after = epoch("2026-10-24T23:30+02:00"), epoch("2026-10-25T23:30+01:00")  # clocks go back
    assert [calendar_value(before, p, BERLIN, work) for p in ("weekday", "date", "time")] == [
        "sat",
        "2026-10-24",
        23 * 3600 + 1800,
    ]
    assert [calendar_value(after, p, BERLIN, work) for p in ("weekday", "date", "time")] == [
        "sun",
        "2026-10-25",
        23 * 3600 + 1800,
    ]
    assert after - before == 25 * 3600  # the day had 25 hours; the clock reading is the same
    assert calendar_value(epoch("2026-11-27T23:30+00:00"), "weekday", BERLIN, work) == "sat"


def test_business_days_skip_weekends_public_holidays_and_the_pack_s_dates() -> None:
    berlin = WorkCalendar(CalendarSpec("DE", "BE", ("2026-12-24", "2026-12-31")))
    assert berlin.shift(date(2026, 12, 18), 5) == date(2026, 12, 29)  # Fri; 24, 25, 26 Dec off
    assert berlin.shift(date(2026, 12, 29), -5) == date(2026, 12, 18)
    assert berlin.shift(date(2026, 11, 28), 1) == date(2026, 11, 30)  # Saturday + 1bd: Monday
    assert berlin.shift(date(2026, 3, 6), 1) == date(2026, 3, 9)  # 8 March, a Berlin holiday, is a Sunday
    assert berlin.shift(date(2027, 3, 5), 1) == date(2027, 3, 9)  # 8 March 2027 is a Monday: off in Berlin
    bavaria = WorkCalendar(CalendarSpec("DE", "BY"))
    assert bavaria.shift(date(2027, 3, 5), 1) == date(2027, 3, 8)  # ...but not in Bavaria
    gulf = WorkCalendar(CalendarSpec(weekend=("fri", "sat")))
    assert gulf.shift(date(2026, 11, 26), 1) == date(2026, 11, 29)  # Thursday + 1bd: Sunday
    assert WorkCalendar().shift(date(2026, 12, 24), 1) == date(2026, 12, 25)  # no country: weekends only


def test_a_business_day_keeps_the_local_clock_time_across_a_change_of_clocks() -> None:
    start = epoch("2026-10-23T11:00+02:00")
    moved = calendar_value(start, "after_5bd", BERLIN, WorkCalendar())
    assert moved == epoch("2026-10-30T11:00+01:00")
    assert isinstance(moved, int)


def test_business_days_move_the_time_written_before_them() -> None:
    w_at = ex.Ref("w", "at")
    plus = apply_business_days(ex.BinOp("-", ex.BinOp("+", w_at, ex.BDays(5)), ex.Const(3600)), "asof")
    assert plus == ex.BinOp("-", ex.Ref("w", "at.after_5bd"), ex.Const(3600))
    late = ex.BinOp("-", ex.BinOp("-", ex.Ref("t", "at"), ex.Ref("i", "start")), ex.BDays(2))
    assert apply_business_days(late, "asof") == ex.BinOp("-", ex.Ref("t", "at"), ex.Ref("i", "start.after_2bd"))
    with pytest.raises(ex.ExprError, match="must follow the time"):
        apply_business_days(ex.BinOp("+", ex.Const(60), ex.BDays(1)), "asof")
    with pytest.raises(ex.ExprError, match="audit time"):
        apply_business_days(ex.BinOp("+", ex.Ref("asof", "at"), ex.BDays(1)), "asof")


def test_in_a_comparison_a_business_day_deadline_counts_forward_from_the_earlier_time() -> None:
    # at: {after: c.at - 5bd} reads as at + 5bd after c.at; start: {before: asof.at - 2bd} as start + 2bd before it
    taken = ex.BinOp("-", ex.Ref("c", "at"), ex.BDays(5))
    assert comparison_business_days("at", taken, "asof") == ("at.after_5bd", ex.Ref("c", "at"))
    audit = ex.BinOp("-", ex.Ref("asof", "at"), ex.BDays(2))
    assert comparison_business_days("start", audit, "asof") == ("start.after_2bd", ex.Ref("asof", "at"))
    added = ex.BinOp("+", ex.Ref("i", "start"), ex.BDays(1))
    assert comparison_business_days("at", added, "asof") == ("at", ex.Ref("i", "start.after_1bd"))


def test_durable_rules_reads_a_field_whose_name_has_a_dot_as_one_field() -> None:
    """Calendar fields are flat keys such as ``at.weekday``: the engine must match them as written
    (not as a path into a nested object, which the facts do not have)."""
    rules = {"r": {"all": [{"a": {"$and": [{"t": "x"}, {"at.weekday": "sat"}]}}]}}
    handle = engine.create_ruleset("calendar-dotted-field", json.dumps(rules))
    try:
        facts = [{"id": "1", "t": "x", "at.weekday": "sat"}, {"id": "2", "t": "x", "at.weekday": "sun"}]
        _, state = engine.assert_facts(handle, json.dumps(facts))
        fired = []
        result = engine.start_action_for_state(handle, state)
        while result:
            fired.append(json.loads(result[1] if isinstance(result, tuple) else result))
            result = engine.complete_and_start_action(handle, state)
        assert [f["r"]["a"]["id"] for f in fired] == ["1"]
    finally:
        engine.delete_state(handle, "0")
        engine.delete_ruleset(handle)


def test_the_default_pack_computes_no_calendar_field(auditor: Auditor) -> None:
    assert not auditor.compiled.calendar


# -- what pack validate refuses ------------------------------------------------------------------


def problems(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "p.yaml"
    path.write_text("pack: p\nextends: interview-follow-up\n" + textwrap.dedent(body))
    try:
        load_pack(str(path))
    except InputError as exc:
        return [f"{p.line}:{p.column}: {p.message}" for p in exc.problems]
    return []


def rule(when: str, message: str = "m", extra: str = "") -> str:
    return f"""
rules:
  - id: r
    title: t
    rationale: r
    severity: warning
    violation:
      when:
        - {when}
      subject: c.event
      message: "{message}"
{extra}"""


def test_a_valid_calendar_rule(tmp_path: Path) -> None:
    assert problems(tmp_path, rule("{fact: check_in, as: c, where: {at.weekday: {in: [sat, sun]}}}")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("calendar: {country: XX}\n", "3:21: unknown country code 'XX' for public holidays (ISO 3166, e.g. DE, FR"),
        ("calendar: {country: de}\n", "3:21: unknown country code 'de' for public holidays; did you mean 'DE'?"),
        (
            "calendar: {country: Germany}\n",
            "3:21: unknown country code 'Germany' for public holidays; did you mean 'DE'?",
        ),
        (
            "calendar: {country: DE, subdivision: Berlin}\n",
            "3:38: unknown subdivision 'Berlin' of DE; did you mean 'BE'?",
        ),
        ("calendar: {country: DE, subdivision: XY}\n", "3:38: unknown subdivision 'XY' of DE (DE has: BB, BE, BW"),
        ("calendar: {subdivision: BE}\n", "a subdivision needs the `country` it belongs to"),
        ("calendar: {extra_holidays: [2026-02-30]}\n", "3:29: '2026-02-30' is not a date; write it as 2026-12-24"),
        ("calendar: {extra_holidays: [24.12.2026]}\n", "3:29: '24.12.2026': a date is written 2026-12-24"),
        ("calendar: {weekend: [sat, sunday]}\n", "did you mean 'sun'?"),
        ("params: {check_in_after: 5 bd}\n", "3:26: parameter 'check_in_after': '5 bd' is not a duration"),
        (
            rule("{fact: check_in, as: c, where: {at.weekday: {in: [sat, sunday]}}}"),
            "'sunday' is not a weekday: write one of mon, tue, wed, thu, fri, sat, sun; did you mean 'sun'?",
        ),
        (
            rule("{fact: check_in, as: c, where: {at.weekday: {after: fri}}}"),
            "check_in.at.weekday: a weekday is tested with equality, `not:` or `in:`",
        ),
        (
            rule("{fact: check_in, as: c, where: {at.date: 24-12-2026}}"),
            "check_in.at.date: '24-12-2026' is not a date; write it as 2026-12-24",
        ),
        (
            rule("{fact: check_in, as: c, where: {at: {after: 1795000000}}}"),
            "check_in.at: a time is compared with the plain number 1795000000; write a time",
        ),
        (rule("{fact: check_in, as: c, where: {at: {after: 7d}}}"), "a time is compared with the plain number '7d'"),
        (rule("{fact: check_in, as: c, where: {at.wekday: sat}}"), "did you mean 'at.weekday'?"),
        (rule("{fact: check_in, as: c}", "{c.at + 2h + 60 - 5bd|time}"), ""),
        (rule("{fact: check_in, as: c}", "{5bd + c.at|time}"), "5bd must follow the time it moves"),
        (rule("{fact: check_in, as: c}", "{asof.at + 1bd|time}"), "business days cannot move asof.at, the audit time"),
        (rule("{fact: check_in, as: c}", "{asof.at.weekday}"), "asof.at.weekday: the audit time has no local calendar"),
        (
            rule(
                "{fact: late, as: c}",
                "{c.at + 1bd|time}",
                "derive:\n  - {fact: late, description: d, when: [{fact: email, as: e}], set: {event: e.key, at: e.at + 1h}}",
            ),
            "business days cannot move c.at: only a time of an event, or a derived field that copies one",
        ),
    ],
)
def test_pack_validate_refuses_what_the_calendar_cannot_mean(tmp_path: Path, body: str, message: str) -> None:
    found = problems(tmp_path, body)
    if not message:
        assert found == []
        return
    assert any(message in p for p in found), found


def test_a_computed_time_has_no_calendar_but_a_copied_one_has(tmp_path: Path) -> None:
    derive = (
        "derive:\n  - {fact: late, description: d, when: [{fact: email, as: e}], set: {event: e.key, at: e.at + 1h}}\n"
        "  - {fact: copy, description: d, when: [{fact: email, as: e}], set: {event: e.key, at: e.at}}"
    )
    computed = problems(tmp_path, rule("{fact: late, as: c, where: {at.weekday: sat}}", extra=derive))
    assert any("late has no field 'at.weekday'" in p for p in computed), computed
    assert problems(tmp_path, rule("{fact: copy, as: c, where: {at.weekday: sat}}", extra=derive)) == []


def test_an_overlay_s_calendar_replaces_the_base_s(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"pack: child\nextends: {AGENCY}\ncalendar: {{country: FR}}\n")
    assert load_pack(str(child)).calendar == CalendarSpec("FR", origin="child")
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"pack: plain\nextends: {AGENCY}\n")
    assert load_pack(str(plain)).calendar.subdivision == "BE"


# -- the example overlay -------------------------------------------------------------------------


def test_the_agency_calendar_pack_passes_its_tests_and_boundaries() -> None:
    result = CliRunner().invoke(cli, ["pack", "test", str(AGENCY), "--min-coverage", "100", "--boundaries"])
    assert result.exit_code == 0, result.output
    assert "0 failed, 0 windows not checked" in result.output
    assert "check-in-after-a-week (next step): due w.at + check_in_after, counted in business days" in result.output
    assert "starting before the holiday of 2026-12-24" in result.output


def test_the_agency_calendar_pack_holds_the_agency_s_four_policies_with_remedies() -> None:
    pack = load_pack(str(AGENCY))
    rules = {r.id: r for r in pack.rules}
    own = sorted(r.id for r in pack.rules if r.origin.get("id") == "agency-calendar")
    assert own == ["no-weekend-check-ins", "thank-every-interviewer"]
    for rule_id in own:
        assert "violation" in rules[rule_id].kinds and rules[rule_id].remedy, rule_id
    assert pack.params["check_in_after"].value == "5bd"
    (friending,) = rules["no-friending-interviewer"].outcomes
    assert [n.origin for n in friending.unless] == ["agency-calendar"]
