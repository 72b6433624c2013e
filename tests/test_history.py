"""History checking: every kind of bad input located exactly, and a good history's model."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator

from followup.diagnostics import InputError, Problem
from followup.history import history_schema, load_histories, parse_history
from followup.history import schema as history_schema_module
from followup.io import load_document
from followup.model import History, Person

AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")

# The example of SPEC §2, plus a reference heads-up relying on the `request` default.
GOOD = """\
version: 1
timezone: America/New_York        # applies to timestamps without an offset
candidate: {name: Jane Doe, email: jane@example.com, phone: "+1 555 0100"}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
  - {id: sam, name: Sam Roe, role: reference}
  - {id: dad, name: Al Doe, role: family}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme,
     with: [kim]}
  - {id: e1, at: 2026-11-02T16:30, type: email, direction: sent, to: [kim], about: i1,
     purpose: thank_you, proofread_by: dad, includes: [thanks, interest, fit, contact_info]}
  - {id: h1, at: 2026-11-01T09:00-08:00, type: reference_contact, reference: sam, company: Acme}
  - {id: c1, at: 2026-11-09T11:00, type: call, direction: sent, to: kim}
"""

# A small valid base: error tests append events (line 7 onwards) or change one line.
BASE = """\
version: 1
candidate: {name: Jane Doe}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, type: interview, company: Acme, with: [kim]}
"""


def parse(text: str, as_of: datetime = AS_OF) -> History:
    data, positions = load_document(text, "h.yaml")
    return parse_history(data, positions, "h.yaml", as_of)


def problems(text: str, as_of: datetime = AS_OF) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        parse(text, as_of)
    return caught.value.problems


def col(text: str, line: int, needle: str, nth: int = 1) -> tuple[int, int]:
    """(line, column) of the ``nth`` ``needle`` on ``line`` of ``text``, counted independently."""
    row = text.splitlines()[line - 1]
    index = -1
    for _ in range(nth):
        index = row.index(needle, index + 1)
    return line, index + 1


def only(text: str) -> tuple[int, int, str]:
    [problem] = problems(text)
    assert problem.source == "h.yaml"
    return problem.line, problem.column, problem.message


# -- a good history -------------------------------------------------------------------------------


def test_good_history_builds_the_model() -> None:
    h = parse(GOOD)
    assert (h.source, h.timezone, h.version, h.line) == ("h.yaml", "America/New_York", 1, 0)
    assert h.candidate.name == "Jane Doe"
    assert h.candidate.phone == "+1 555 0100"
    assert [p.id for p in h.people] == ["kim", "sam", "dad"]
    kim = h.person("kim")
    assert kim is not None
    assert (kim.role, kim.company) == ("interviewer", "Acme")
    sam = h.person("sam")
    assert sam is not None
    assert sam.company is None
    # Sorted by time: h1 (Nov 1, 12:00 New York) comes first.
    assert [e.id for e in h.events] == ["h1", "i1", "e1", "c1"]


def test_good_history_times_are_aware_in_the_history_zone() -> None:
    h = parse(GOOD)
    h1, i1, e1, _ = h.events
    assert i1.at == datetime(2026, 11, 2, 10, 0, tzinfo=NEW_YORK)
    assert i1.at.tzinfo is NEW_YORK
    assert i1.at.utcoffset() == timedelta(hours=-5)  # after the DST change of Nov 1
    assert i1.get("ends") == datetime(2026, 11, 2, 11, 0, tzinfo=NEW_YORK)
    assert e1.at.isoformat() == "2026-11-02T16:30:00-05:00"
    # An explicit offset keeps its instant and is shown in the history's zone.
    assert h1.at == datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=-8)))
    assert h1.at.isoformat() == "2026-11-01T12:00:00-05:00"


def test_good_history_fields_are_normalised_with_defaults() -> None:
    h = parse(GOOD)
    by_id = {e.id: e for e in h.events}
    assert dict(by_id["i1"].data) == {
        "ends": datetime(2026, 11, 2, 11, 0, tzinfo=NEW_YORK),
        "company": "Acme",
        "with": ("kim",),
    }
    assert by_id["e1"].get("to") == ("kim",)
    assert by_id["e1"].get("includes") == ("thanks", "interest", "fit", "contact_info")
    assert by_id["e1"].get("purpose") == "thank_you"
    assert by_id["c1"].get("purpose") == "other"  # default
    assert by_id["c1"].get("to") == ("kim",)  # a single id becomes a tuple
    assert by_id["h1"].get("request") == "heads_up"  # default
    assert "about" not in by_id["c1"].data  # absent stays absent
    assert (by_id["i1"].line, by_id["i1"].column) == (9, 5)
    assert (by_id["e1"].line, by_id["e1"].column) == (11, 5)


def test_events_at_the_same_instant_keep_file_order() -> None:
    text = BASE + (
        "  - {id: n2, at: 2026-11-03T10:00, type: note, to: kim}\n"
        "  - {id: n1, at: 2026-11-03T10:00, type: note, to: kim}\n"
        "  - {id: n0, at: 2026-11-02T12:00, type: note, to: kim}\n"
    )
    assert [e.id for e in parse(text).events] == ["i1", "n0", "n2", "n1"]


def test_timezone_defaults_to_utc() -> None:
    h = parse(BASE)
    assert h.timezone == "UTC"
    assert h.events[0].at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_upcoming_interview_is_fine() -> None:
    text = BASE + "  - {id: i2, at: 2026-12-01T10:00, type: interview, company: Acme, with: kim}\n"
    assert parse(text).events[-1].id == "i2"


def test_schema_key_is_allowed() -> None:
    # An editor's `$schema` line is accepted and leaves no trace in the model: the history equals
    # BASE's, except that every line moved down by one.
    h = parse('$schema: "https://followup.example/schemas/history.schema.json"\n' + BASE)
    base = parse(BASE)
    assert h == replace(base, events=tuple(replace(e, line=e.line + 1) for e in base.events))


def test_reference_person_need_not_have_role_reference() -> None:
    text = BASE + (
        "  - {id: h1, at: 2026-11-01T10:00, type: reference_contact, reference: kim, about: i1}\n"
    )
    h = parse(text)
    # Kim stays an interviewer, and the heads-up to Kim is kept as written (with the `request` default).
    assert h.people == (Person("kim", "Kim Lee", "interviewer", "Acme"),)
    [contact] = [e for e in h.events if e.id == "h1"]
    assert (contact.type, dict(contact.data)) == (
        "reference_contact",
        {"request": "heads_up", "reference": "kim", "about": "i1"},
    )


def test_audit_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse(BASE, as_of=datetime(2026, 11, 25))


# -- each kind of error, located ------------------------------------------------------------------


def test_unknown_field_with_suggestion() -> None:
    text = BASE + "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: sent, tto: kim}\n"
    message = "unknown field 'tto' in email event; did you mean 'to'?"
    assert only(text) == (*col(text, 7, "tto"), message)


def test_unknown_top_level_field() -> None:
    assert only(BASE + "evnts: []\n") == (7, 1, "unknown field 'evnts'; did you mean 'events'?")


def test_unknown_event_type_with_suggestion() -> None:
    text = BASE + "  - {id: e1, at: 2026-11-02T16:00, type: emial, direction: sent, to: kim}\n"
    message = "unknown event type 'emial'; did you mean 'email'?"
    assert only(text) == (*col(text, 7, "emial"), message)


def test_unknown_event_type_without_close_match_lists_types() -> None:
    text = BASE + "  - {id: x1, at: 2026-11-02T16:00, type: telegram}\n"
    line, column, message = only(text)
    assert (line, column) == col(text, 7, "telegram")
    assert message.startswith("unknown event type 'telegram'; expected one of: interview, email,")


def test_unknown_person_with_suggestion() -> None:
    text = BASE + (
        "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: sent,\n"
        "       to: [kim, kimm]}\n"
    )
    message = "unknown person 'kimm' in 'to'; did you mean 'kim'?"
    assert only(text) == (*col(text, 8, "kimm"), message)


def test_a_person_named_by_name_is_pointed_at_the_id() -> None:
    text = BASE + "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: sent, to: ' kim  LEE'}\n"
    message = (
        "unknown person ' kim  LEE' in 'to': that is the name of person 'kim'; "
        "events name people by id, write 'kim'"
    )
    assert only(text) == (*col(text, 7, "' kim"), message)


@pytest.mark.parametrize("network", ["linkedin", "LinkedIn", "xing", "twitter"])
def test_a_network_written_as_an_event_type_suggests_a_social_event(network: str) -> None:
    text = BASE + f"  - {{id: s1, at: 2026-11-02T16:00, type: {network}}}\n"
    message = (
        f"unknown event type '{network}'; activity on a social network is an event of type "
        f"'social' with network '{network}' and an 'action' (e.g. connect, message)"
    )
    assert only(text) == (*col(text, 7, network), message)


def test_unknown_person_in_each_reference_field() -> None:
    text = BASE + (
        "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: sent, proofread_by: mom}\n"
        "  - {id: e2, at: 2026-11-02T17:00, type: email, direction: received, from: lee}\n"
        "  - {id: s1, at: 2026-11-02T18:00, type: social, action: connect, target: kin}\n"
        "  - {id: r1, at: 2026-11-02T19:00, type: reference_check, reference: sam, company: Acme}\n"
    )
    found = [(p.line, p.message) for p in problems(text)]
    assert found == [
        (7, "unknown person 'mom' in 'proofread_by'; whoever proofread the message is listed under "
         "'people' like anyone else (e.g. role: friend)"),
        (8, "unknown person 'lee' in 'from'"),
        (9, "unknown person 'kin' in 'target'; did you mean 'kim'?"),
        (10, "unknown person 'sam' in 'reference'"),
    ]


def test_unknown_interview_id() -> None:
    text = BASE + "  - {id: n1, at: 2026-11-02T16:00, type: note, to: kim, about: i11}\n"
    message = "unknown interview 'i11' in 'about'; did you mean 'i1'?"
    assert only(text) == (*col(text, 7, "i11"), message)


def test_about_naming_a_non_interview_event() -> None:
    text = BASE + (
        "  - {id: n1, at: 2026-11-02T16:00, type: note, to: kim}\n"
        "  - {id: n2, at: 2026-11-02T17:00, type: note, to: kim, about: n1}\n"
    )
    assert only(text) == (
        *col(text, 8, "n1"),
        "'about' must name an interview, but 'n1' is the note event on line 7",
    )


def test_duplicate_event_id() -> None:
    text = BASE + "  - {id: i1, at: 2026-11-03T10:00, type: note, to: kim}\n"
    assert only(text) == (*col(text, 7, "i1"), "duplicate event id 'i1'; first used on line 6")


def test_duplicate_person_id() -> None:
    text = BASE.replace("events:", "  - {id: kim, name: Kim Two, role: recruiter}\nevents:")
    assert only(text) == (*col(text, 5, "kim"), "duplicate person id 'kim'; first used on line 4")


def test_duplicate_key() -> None:
    text = BASE + "  - {id: n1, at: 2026-11-02T16:00, type: note, to: kim, to: kim}\n"
    first = col(text, 7, "to:")
    assert only(text) == (
        *col(text, 7, "to:", nth=2),
        f"duplicate key 'to'; first defined at line 7, column {first[1]}",
    )


def test_missing_required_field() -> None:
    text = BASE.replace("company: Acme, with: [kim]", "with: [kim]")
    assert only(text) == (6, 5, "missing required field 'company' in interview event")


def test_missing_one_of_two_fields() -> None:
    text = BASE + "  - {id: d1, at: 2026-11-06T10:00, type: decision, outcome: offer}\n"
    assert only(text) == (
        7,
        5,
        "missing required field 'about' or 'company' in decision event",
    )


def test_missing_top_level_field() -> None:
    text = BASE.replace("candidate: {name: Jane Doe}\n", "")
    assert only(text) == (1, 1, "missing required field 'candidate'")


def test_unparseable_time() -> None:
    text = BASE + "  - {id: n1, at: 2026-11-31T10:00, type: note, to: kim}\n"
    line, column, message = only(text)
    assert (line, column) == col(text, 7, "2026")
    assert message.startswith("unparseable time '2026-11-31T10:00'; write an ISO 8601")


def test_time_must_be_a_string() -> None:
    text = BASE + "  - {id: n1, at: 1730000000, type: note, to: kim}\n"
    message = "'at' must be a string (got an integer); put it in quotes"
    assert only(text) == (*col(text, 7, "173"), message)


def test_date_without_time_of_day() -> None:
    text = BASE + "  - {id: n1, at: 2026-11-03, type: note, to: kim}\n"
    assert only(text) == (
        *col(text, 7, "2026"),
        "time '2026-11-03' needs a time of day, such as 2026-11-03T10:00",
    )


def test_nonexistent_local_time() -> None:
    text = BASE.replace("version: 1\n", "version: 1\ntimezone: America/New_York\n")
    text += "  - {id: n1, at: 2026-03-08T02:30, type: note, to: kim}\n"
    line, column, message = only(text)
    assert (line, column) == col(text, 8, "2026")
    assert "does not exist in America/New_York" in message


def test_ends_before_at() -> None:
    text = BASE.replace("at: 2026-11-02T10:00,", "at: 2026-11-02T10:00, ends: 2026-11-02T09:30,")
    message = "'ends' 2026-11-02T09:30 is before 'at' 2026-11-02T10:00"
    assert only(text) == (*col(text, 6, "2026", nth=2), message)


def test_future_non_interview_event() -> None:
    text = BASE + "  - {id: e9, at: 2026-11-26T09:00, type: note, to: kim}\n"
    assert only(text) == (
        *col(text, 7, "2026"),
        "event e9 at 2026-11-26T09:00:00+00:00 is after the audit time "
        "2026-11-25T12:00:00+00:00; an event in the future cannot have happened yet",
    )


def test_event_exactly_at_the_audit_time_is_fine() -> None:
    h = parse(BASE + "  - {id: n1, at: 2026-11-25T12:00Z, type: note, to: kim}\n")
    assert (h.events[-1].id, h.events[-1].at) == ("n1", AS_OF)
    # The boundary is exact: one second later the same note is in the future.
    later = BASE + "  - {id: n1, at: 2026-11-25T12:00:01Z, type: note, to: kim}\n"
    assert only(later)[2].startswith("event n1 at 2026-11-25T12:00:01+00:00 is after the audit time")


def test_unknown_timezone_with_suggestion() -> None:
    text = BASE.replace("version: 1\n", "version: 1\ntimezone: America/New_Yrok\n")
    message = "unknown time zone 'America/New_Yrok'; did you mean 'America/New_York'?"
    assert only(text) == (*col(text, 2, "America"), message)


def test_unknown_enum_value() -> None:
    text = BASE + "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: snet, to: kim}\n"
    assert only(text) == (*col(text, 7, "snet"), "unknown direction 'snet'; did you mean 'sent'?")


def test_unsupported_version() -> None:
    assert only(BASE.replace("version: 1", "version: 2")) == (
        1,
        10,
        "unsupported history version 2; this followup reads version 1",
    )


def test_empty_list_of_people_met() -> None:
    text = BASE.replace("with: [kim]", "with: []")
    assert only(text) == (*col(text, 6, "[]"), "'with' must not be empty")


def test_recipient_field_must_match_direction() -> None:
    text = BASE + (
        "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: sent, from: kim}\n"
        "  - {id: c1, at: 2026-11-03T16:00, type: call, direction: received, to: kim}\n"
    )
    assert [(p.line, p.column, p.message) for p in problems(text)] == [
        (*col(text, 7, "from"), "a sent email names its recipients in 'to', not 'from'"),
        (*col(text, 8, "to:"), "a received call names its sender in 'from', not 'to'"),
    ]


def test_event_that_is_not_a_mapping() -> None:
    assert only(BASE + "  - just words\n") == (7, 5, "event 2 must be a mapping (got a string)")


def test_empty_and_non_mapping_documents() -> None:
    empty = "the document is empty: a history needs version, candidate and events"
    assert only("") == (1, 1, empty)
    assert only("- 1\n") == (1, 1, "the history must be a mapping (got a list)")


def test_all_errors_of_a_file_are_collected() -> None:
    text = """\
version: 1
timezone: Europe/Berln
candidate: {name: Jane Doe, nickname: JD}
people:
  - {id: kim, name: Kim Lee, role: boss}
events:
  - {id: i1, at: 2026-11-02T10:00, type: interview, with: [kim]}
  - {id: e1, at: 2026-11-02T16:00, type: emial}
  - {id: e1, at: soon, type: note, to: kym, about: i9}
"""
    found = [(p.line, p.column, p.message) for p in problems(text)]
    assert found == [
        (*col(text, 2, "Europe"), "unknown time zone 'Europe/Berln'; did you mean "
         "'Europe/Berlin'?"),
        (*col(text, 3, "nickname"), "unknown field 'nickname' in candidate; did you mean 'name'?"),
        (*col(text, 5, "boss"), "unknown role 'boss'; expected one of: interviewer, recruiter, "
         "hiring_manager, reference, friend, family, other"),
        (*col(text, 7, "{"), "missing required field 'company' in interview event"),
        (*col(text, 8, "emial"), "unknown event type 'emial'; did you mean 'email'?"),
        (*col(text, 9, "e1"), "duplicate event id 'e1'; first used on line 8"),
        (*col(text, 9, "soon"), "unparseable time 'soon'; write an ISO 8601 date and time such "
         "as 2026-11-02T10:00 or 2026-11-02T10:00-05:00"),
        (*col(text, 9, "kym"), "unknown person 'kym' in 'to'; did you mean 'kim'?"),
        (*col(text, 9, "i9"), "unknown interview 'i9' in 'about'"),
    ]
    assert all(p.source == "h.yaml" for p in problems(text))


def test_problems_carry_json_pointers() -> None:
    text = BASE + "  - {id: e1, at: 2026-11-02T16:00, type: email, direction: sent, tto: kim}\n"
    [problem] = problems(text)
    assert problem.pointer == "/events/1/tto"


# -- files, batches and stdin ---------------------------------------------------------------------


def _event(**fields: Any) -> dict[str, Any]:
    return {"id": "i1", "at": "2026-11-02T10:00", "type": "interview", "company": "Acme",
            "with": ["kim"], **fields}  # fmt: skip


def _history(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 1,
        "candidate": {"name": "Jane Doe"},
        "people": [{"id": "kim", "name": "Kim Lee", "role": "interviewer"}],
        "events": list(events) or [_event()],
    }


def test_jsonl_problems_carry_the_real_line(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    good = json.dumps(_history())
    bad = json.dumps(_history(_event(type="interveiw")))
    batch.write_text(f"{good}\n\n{bad}\n{{not json\n{good}\n")
    results = list(load_histories([str(batch)], AS_OF))
    assert [type(r).__name__ for r in results] == ["History", "InputError", "InputError", "History"]
    first, bad_type, bad_json, last = results
    assert isinstance(first, History)
    assert isinstance(last, History)
    assert (first.line, last.line) == (1, 5)
    assert first.events[0].line == 1
    assert isinstance(bad_type, InputError)
    [problem] = bad_type.problems
    column = bad.index('"interveiw"') + 1
    assert (problem.source, problem.line, problem.column) == (str(batch), 3, column)
    assert problem.message == "unknown event type 'interveiw'; did you mean 'interview'?"
    assert isinstance(bad_json, InputError)
    assert (bad_json.problems[0].line, bad_json.problems[0].column) == (4, 2)


def test_json_file_positions(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    note = {"id": "n1", "at": "x", "type": "note", "to": "kim"}
    path.write_text(json.dumps(_history(_event(), note), indent=2))
    [result] = load_histories([str(path)], AS_OF)
    assert isinstance(result, InputError)
    [problem] = result.problems
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if '"at": "x"' in text)
    assert (problem.line, problem.column) == (line, lines[line - 1].index('"x"') + 1)
    assert problem.message.startswith("unparseable time 'x'")


def test_directory_of_histories(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(BASE)
    (tmp_path / "a.yml").write_text("version: [\n")
    (tmp_path / "notes.txt").write_text("not a history")
    results = list(load_histories([str(tmp_path)], AS_OF))
    assert isinstance(results[0], InputError)
    assert results[0].problems[0].source == str(tmp_path / "a.yml")
    assert results[0].problems[0].message.startswith("YAML syntax error")
    assert isinstance(results[1], History)
    assert results[1].source == str(tmp_path / "sub" / "b.yaml")
    assert len(results) == 2


def test_missing_file_is_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(BASE)
    results = list(load_histories([str(tmp_path / "nope.yaml"), str(tmp_path / "ok.yaml")], AS_OF))
    assert isinstance(results[0], InputError)
    assert results[0].problems[0].message.startswith("cannot read")
    assert isinstance(results[1], History)


def test_stdin_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((BASE + "x: 1\n").encode())))
    [result] = load_histories(["-"], AS_OF)
    assert isinstance(result, InputError)
    assert str(result) == "<stdin>:7:1: unknown field 'x'"


# -- the schema -----------------------------------------------------------------------------------


def test_schema_is_valid_and_documented() -> None:
    schema = history_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://followup.example/schemas/history.schema.json"

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if set(sub) != {"const"}:  # the `if` of a type dispatch
                    assert {"title", "description", "examples"} <= set(sub), name
            for sub in node.values():
                walk(sub)
        elif isinstance(node, list):
            for sub in node:
                walk(sub)

    walk(schema)


def test_whole_schema_agrees_with_the_split_validators() -> None:
    """The schema file as published (one validator) accepts what the checker accepts."""
    data, _ = load_document(GOOD, "h.yaml")
    assert list(Draft202012Validator(history_schema()).iter_errors(data)) == []
    bad = json.loads(json.dumps(data))
    bad["events"][1]["tto"] = "kim"
    assert [e.validator for e in Draft202012Validator(history_schema()).iter_errors(bad)] == [
        "additionalProperties"
    ]


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.update(version=True),
        lambda h: h["events"][0].update(type="interview", extra=1),
        lambda h: h["events"][0].update({"with": []}),
        lambda h: h["events"][0].update({"with": ["kim", "kim"]}),
        lambda h: h["events"][0].update({"with": [1]}),
        lambda h: h["events"][0].update(company=""),
        lambda h: h["events"].append({"id": "d", "at": "x", "type": "decision", "outcome": "no"}),
        lambda h: h["events"].append({"id": "d", "at": "x", "type": "note", "to": [True]}),
        lambda h: h["people"][0].update(role=1),
        lambda h: h["candidate"].pop("name"),
        lambda h: h.update(people={}),
    ],
)
def test_fast_check_never_lets_through_what_jsonschema_rejects(change: Any) -> None:
    data = _history()
    change(data)
    validators = history_schema_module.validators()
    jsonschema_errors = list(Draft202012Validator(history_schema()).iter_errors(data))
    events = data["events"] if isinstance(data["events"], list) else []
    fast = validators.document_ok(data) and all(
        validators.type_ok[e["type"]](e) for e in events
    )
    assert jsonschema_errors, "the change should make the history invalid"
    assert not fast


def test_validators_are_built_once() -> None:
    assert history_schema_module.validators() is history_schema_module.validators()


def test_a_mistyped_interview_type_is_one_error_not_a_cascade() -> None:
    from datetime import UTC, datetime

    from followup.diagnostics import InputError
    from followup.history import parse_history

    doc = {
        "version": 1,
        "candidate": {"name": "T"},
        "people": [{"id": "k", "name": "K", "role": "interviewer", "company": "A"}],
        "events": [
            {"id": "i1", "at": "2026-11-02T10:00", "type": "interveiw", "company": "A", "with": ["k"]},
            {"id": "e1", "at": "2026-11-02T12:00", "type": "email", "direction": "sent", "to": "k", "about": "i1"},
            {"id": "e2", "at": "2026-11-02T13:00", "type": "email", "direction": "sent", "to": "k", "about": "i1"},
        ],
    }
    with pytest.raises(InputError) as caught:
        parse_history(doc, {}, "h.yaml", datetime(2026, 11, 25, tzinfo=UTC))
    assert [p.message for p in caught.value.problems] == ["unknown event type 'interveiw'; did you mean 'interview'?"]
