"""The calendar for people (``--format ics``): priority from urgency, the candidate named in a
batch, no local paths, UIDs by candidate id and never twice in one calendar, steps done since the
baseline closed, events with alarms for calendars that ignore to-dos. Read back with icalendar."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from conftest import ROOT
from followup.cli import cli

AS_OF = "2026-11-25T12:00Z"


def run(*args: str) -> tuple[int, bytes]:
    result = CliRunner().invoke(cli, ["audit", *args], catch_exceptions=False)
    return result.exit_code, result.stdout_bytes


def calendar(*args: str, kind: str = "VTODO") -> list[icalendar.cal.Component]:
    _, out = run(*args, "--format", "ics")
    items: list[icalendar.cal.Component] = icalendar.Calendar.from_ical(out).walk(kind)
    return items


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("jane.yaml", "struggling.yaml", "upcoming.yaml"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_priority_follows_urgency(examples: Path) -> None:
    [jane] = calendar("jane.yaml", "--as-of", AS_OF)  # overdue
    assert jane["PRIORITY"] == 1
    soon = calendar("upcoming.yaml", "--as-of", AS_OF)  # in 6 days
    assert {t["PRIORITY"] for t in soon} == {5}
    tomorrow = calendar("upcoming.yaml", "--as-of", "2026-11-30T19:00-06:00")
    assert {t["PRIORITY"] for t in tomorrow} == {3}
    later = calendar("upcoming.yaml", "--as-of", "2026-11-21T12:00Z")
    assert {t["PRIORITY"] for t in later} == {7}


def test_summary_names_the_candidate_only_in_a_batch(examples: Path) -> None:
    [alone] = calendar("jane.yaml", "--as-of", AS_OF)
    assert str(alone["SUMMARY"]) == "Call Kim Lee and Raj Patel at Acme to check in"
    batch = calendar("jane.yaml", "upcoming.yaml", "--as-of", AS_OF)
    assert sorted(str(t["SUMMARY"]).split(": ")[0] for t in batch) == ["Jane Doe", "Maria Garcia", "Maria Garcia"]
    assert "Jane Doe: Call Kim Lee and Raj Patel at Acme to check in" in {str(t["SUMMARY"]) for t in batch}


def test_no_local_path_in_shared_fields(examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = str(examples / "jane.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _, out = run(absolute, "--as-of", AS_OF, "--format", "ics")
    assert str(examples).encode() not in out.replace(b"\r\n ", b"")
    [todo] = icalendar.Calendar.from_ical(out).walk("VTODO")
    assert str(todo["X-FOLLOWUP-SOURCE"]) == "jane.yaml"
    assert "Candidate: Jane Doe (jane.yaml)" in str(todo["DESCRIPTION"])
    monkeypatch.chdir(examples)  # under the working folder: relative, as given
    (examples / "team").mkdir()
    shutil.copy(examples / "jane.yaml", examples / "team" / "jane.yaml")
    [todo] = calendar(str(examples / "team" / "jane.yaml"), "--as-of", AS_OF)
    assert str(todo["X-FOLLOWUP-SOURCE"]) == "team/jane.yaml"
    [todo] = calendar("team/jane.yaml", "--as-of", AS_OF, "--calendar-source", "none")
    assert "X-FOLLOWUP-SOURCE" not in todo
    assert "jane.yaml" not in str(todo["DESCRIPTION"])


def _with_id(text: str, candidate_id: str, name: str | None = None) -> str:
    head, sep, rest = text.partition("candidate: {")
    assert sep
    out = f"{head}candidate: {{id: {candidate_id}, {rest}"
    return out.replace("name: Jane Doe", f"name: {name}") if name else out


def test_uids_follow_the_candidate_id_and_never_repeat(examples: Path) -> None:
    jane = (examples / "jane.yaml").read_text("utf-8")
    (examples / "a.yaml").write_text(_with_id(jane, "C-1"), encoding="utf-8")
    (examples / "b.yaml").write_text(_with_id(jane, "C-1", name="Jane Smith"), encoding="utf-8")
    [first] = calendar("a.yaml", "--as-of", AS_OF)
    [renamed] = calendar("b.yaml", "--as-of", AS_OF)
    assert first["UID"] == renamed["UID"]  # the id, not the name, identifies the candidate
    [no_id] = calendar("jane.yaml", "--as-of", AS_OF)
    assert no_id["UID"] != first["UID"]
    # Two histories of one candidate (by id, or by name and e-mail) in one calendar: distinct UIDs.
    shutil.copy(examples / "jane.yaml", examples / "jane2.yaml")
    both = calendar("a.yaml", "b.yaml", "jane.yaml", "jane2.yaml", "--as-of", AS_OF)
    uids = [str(t["UID"]) for t in both]
    assert len(uids) == len(set(uids)) == 4
    assert uids[0] == str(first["UID"])  # the first keeps the UID it always had


def test_step_done_since_the_baseline_is_completed(examples: Path) -> None:
    before = calendar("upcoming.yaml", "--as-of", AS_OF)
    review = next(t for t in before if str(t["X-FOLLOWUP-RULE"]) == "review-social-profiles")
    _, report = run("upcoming.yaml", "--as-of", AS_OF, "--format", "json")
    (examples / "last.json").write_text(report.decode(), encoding="utf-8")
    with (examples / "upcoming.yaml").open("a", encoding="utf-8") as history:
        history.write("  - {id: s1, at: 2026-11-26T09:00, type: social, action: profile_review, network: LinkedIn}\n")
    after = calendar("upcoming.yaml", "--as-of", "2026-11-26T18:00Z", "--baseline", "last.json")
    done = [t for t in after if str(t["STATUS"]) == "COMPLETED"]
    assert [str(t["UID"]) for t in done] == [str(review["UID"])]  # the same to-do, now closed
    assert done[0]["COMPLETED"].dt == datetime(2026, 11, 26, 18, tzinfo=UTC)
    assert done[0]["PERCENT-COMPLETE"] == 100
    still = [t for t in after if str(t["STATUS"]) == "NEEDS-ACTION"]
    assert [str(t["X-FOLLOWUP-RULE"]) for t in still] == ["tell-references"]


def test_events_with_alarms_for_calendars_without_todos(examples: Path) -> None:
    events = calendar("jane.yaml", "upcoming.yaml", "--as-of", AS_OF, "--calendar-as", "event", kind="VEVENT")
    assert len(events) == 3
    assert not calendar("jane.yaml", "--as-of", AS_OF, "--calendar-as", "event")  # no VTODO at all
    overdue = next(e for e in events if str(e["SUMMARY"]).startswith("Jane Doe: "))
    assert overdue["DTSTART"].dt == datetime(2026, 11, 25, 12, tzinfo=UTC)  # put on today, not in the past
    assert overdue["PRIORITY"] == 1
    ahead = next(e for e in events if "Tell your reference" in str(e["SUMMARY"]))
    assert ahead["DTSTART"].dt == datetime(2026, 12, 1, 19, tzinfo=UTC)
    for event in events:
        [alarm] = event.walk("VALARM")
        assert str(alarm["ACTION"]) == "DISPLAY" and alarm["TRIGGER"].dt.total_seconds() == -3600
        assert str(event["STATUS"]) == "CONFIRMED"
    assert len({str(e["UID"]) for e in events}) == 3
