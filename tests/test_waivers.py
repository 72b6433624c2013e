"""Waivers (SPEC §7): accepted violations stay reported, marked, and stop counting for --fail-on;
expired ones stop applying and are reported; unused ones are reported; a bad file is exit 2 with
every problem located."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from followup.audit import parse_waivers, waivers_schema
from followup.cli import cli
from followup.diagnostics import InputError
from followup.io import load_document
from followup.pack import Pack

AS_OF = "2026-11-06T12:00"
# Two errors (a late thank-you on e1, a friend request on s1), three warnings, three next steps.
HISTORY = """\
version: 1
timezone: America/New_York
candidate: {name: Sam Tester, email: sam@example.com}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
  - {id: ref, name: Rae Ref, role: reference}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme, with: [kim]}
  - {id: e1, at: 2026-11-04T09:00, type: email, direction: sent, to: kim, about: i1, purpose: thank_you, includes: [thanks]}
  - {id: s1, at: 2026-11-05T09:00, type: social, action: friend_request, network: LinkedIn, target: kim}
"""


def entry(rule: str, history: str = "Sam Tester", expires: str = "2026-12-31", **extra: str) -> dict[str, str]:
    return {
        "rule": rule,
        "history": history,
        "reason": f"accepted: {rule}",
        "approved_by": "coach@example.com",
        "expires": expires,
        **extra,
    }


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sam.yaml").write_text(HISTORY, encoding="utf-8")
    return tmp_path


def write_waivers(path: Path, *entries: dict[str, str]) -> str:
    path.write_text(yaml.safe_dump({"waivers": list(entries)}, sort_keys=False), encoding="utf-8")
    return path.name


def audit(*args: str, as_of: str = AS_OF) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "--as-of", as_of, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def findings(out: str) -> list[dict[str, object]]:
    report = json.loads(out)
    return [f for h in report["histories"] for f in h["findings"]]


def test_waived_findings_are_reported_marked_and_do_not_fail(workdir: Path) -> None:
    name = write_waivers(
        workdir / "waivers.yaml",
        entry("thank-you-email-within-24h", subject="e1"),
        entry("no-friending-interviewer", history="sam.yaml"),
    )
    code, out, err = audit("sam.yaml", "--format", "json", "--waivers", name)
    assert code == 0, err
    assert err == ""
    by_rule = {f["rule"]: f for f in findings(out)}
    assert by_rule["thank-you-email-within-24h"]["waived"] == {
        "reason": "accepted: thank-you-email-within-24h",
        "approved_by": "coach@example.com",
        "expires": "2026-12-31",
    }
    assert by_rule["no-friending-interviewer"]["waived"]["reason"] == "accepted: no-friending-interviewer"
    assert "waived" not in by_rule["thank-you-email-content"]
    assert json.loads(out)["summary"]["waived"] == 2
    # Without the waivers the same history fails.
    assert audit("sam.yaml", "--format", "json")[0] == 1


def test_waived_finding_shows_in_text(workdir: Path) -> None:
    name = write_waivers(workdir / "w.yaml", entry("no-friending-interviewer"))
    code, out, _ = audit("sam.yaml", "--waivers", name)
    assert code == 1  # the late thank-you still fails
    assert "no-friending-interviewer on s1 kim (waived)" in out
    assert "waived by coach@example.com until 2026-12-31: accepted: no-friending-interviewer" in out


def test_subject_restricts_the_waiver(workdir: Path) -> None:
    name = write_waivers(
        workdir / "w.yaml", entry("thank-you-email-within-24h", subject="e9"), entry("no-friending-interviewer")
    )
    code, out, err = audit("sam.yaml", "--format", "json", "--waivers", name)
    assert code == 1
    assert all("waived" not in f for f in findings(out) if f["rule"] == "thank-you-email-within-24h")
    assert re.search(
        r"^w\.yaml:2:\d+: unused waiver: no violation of thank-you-email-within-24h on e9 in 'Sam Tester'$", err, re.M
    ), err


@pytest.mark.parametrize("history", ["Sam Tester", "sam.yaml", "./sam.yaml", "SAMDIR/sam.yaml"])
def test_history_by_candidate_or_path(workdir: Path, history: str) -> None:
    history = history.replace("SAMDIR", str(workdir))
    name = write_waivers(workdir / "w.yaml", entry("thank-you-email-within-24h"), entry("no-friending-interviewer"))
    assert audit("sam.yaml", "--waivers", name)[0] == 0
    other = write_waivers(
        workdir / "o.yaml",
        entry("thank-you-email-within-24h", history="someone-else.yaml"),
        entry("no-friending-interviewer", history=history),
    )
    code, _, err = audit("sam.yaml", "--waivers", other)
    assert code == 1 and "unused waiver" in err and "someone-else.yaml" in err


def test_jsonl_line_is_a_history_name(workdir: Path) -> None:
    doc = yaml.safe_load(HISTORY)
    lines = [json.dumps(dict(doc, candidate={"name": f"C{n}"})) for n in range(3)]
    (workdir / "batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    name = write_waivers(workdir / "w.yaml", entry("no-friending-interviewer", history="batch.jsonl:2"))
    _, out, err = audit("batch.jsonl", "--format", "json", "--waivers", name)
    assert err == ""
    report = json.loads(out)
    waived = [(h["candidate"], f["rule"]) for h in report["histories"] for f in h["findings"] if "waived" in f]
    assert waived == [("C1", "no-friending-interviewer")]


def test_expired_waiver_no_longer_applies(workdir: Path) -> None:
    name = write_waivers(
        workdir / "w.yaml",
        entry("thank-you-email-within-24h", expires="2026-11-05"),
        entry("no-friending-interviewer", expires="2026-11-06"),
    )
    code, out, err = audit("sam.yaml", "--format", "json", "--waivers", name)
    assert code == 1
    assert re.search(
        r"^w\.yaml:2:\d+: waiver expired on 2026-11-05; thank-you-email-within-24h for 'Sam Tester' "
        r"is no longer waived$",
        err,
        re.M,
    ), err
    by_rule = {f["rule"]: f for f in findings(out)}
    assert "waived" not in by_rule["thank-you-email-within-24h"]
    # A waiver applies through its expiry day (UTC): 2026-11-06 is the audit's day.
    assert by_rule["no-friending-interviewer"]["waived"]["expires"] == "2026-11-06"
    assert "unused" not in err  # an expired waiver is reported once, as expired


def test_waived_violation_still_counts_as_a_violation(workdir: Path) -> None:
    name = write_waivers(workdir / "w.yaml", entry("no-friending-interviewer"))
    _, out, _ = audit("sam.yaml", "--format", "json", "--waivers", name)
    assert json.loads(out)["summary"]["violations"] == 5


# -- a bad waivers file: exit 2, every problem located, nothing audited ------------------------------

BAD_FILE = """\
waivers:
  - rule: thank-you-emial-within-24h
    history: Sam Tester
    reason: typo in the rule id
    approved_by: coach
    expires: 2026-12-31
  - rule: no-friending-interviewer
    history: Sam Tester
    approved_by: coach
    expires: 2026-12-31
  - rule: handwritten-thank-you-note
    history: Sam Tester
    reason: notes are optional here
    approved_by: coach
    expires: 2026-02-30
    subjcet: i1
"""


def test_bad_waivers_file_reports_every_problem(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text(BAD_FILE, encoding="utf-8")
    code, out, err = audit("sam.yaml", "--waivers", "bad.yaml")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert "bad.yaml:7:5: missing required field 'reason' in waiver 2" in lines
    assert "bad.yaml:16:5: unknown field 'subjcet' in waiver 3; did you mean 'subject'?" in lines
    assert len(lines) == 2  # the schema problems come first; the pack is checked once they are fixed
    (workdir / "bad.yaml").write_text(
        BAD_FILE.replace("    subjcet: i1\n", "").replace(
            "    approved_by: coach\n    expires: 2026-12-31\n  - rule: hand",
            "    reason: r\n    approved_by: coach\n    expires: 2026-12-31\n  - rule: hand",
        ),
        encoding="utf-8",
    )
    code, out, err = audit("sam.yaml", "--waivers", "bad.yaml")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "bad.yaml:2:11: unknown rule 'thank-you-emial-within-24h' in pack 'interview-follow-up'; "
        "did you mean 'thank-you-email-within-24h'?",
        "bad.yaml:12:11: rule 'handwritten-thank-you-note' reports only next steps; only violations can be waived",
        "bad.yaml:16:14: 'expires' '2026-02-30' is not a date (YYYY-MM-DD)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "w.yaml:1:1: the waivers file is empty; it needs a 'waivers' list"),
        ("waivers: {rule: x}\n", "w.yaml:1:10: 'waivers' must be a list"),
        ("waiver: []\n", "w.yaml:1:1: unknown field 'waiver'; did you mean 'waivers'?"),
        ("waivers: [}\n", "w.yaml:1:11: "),
        ("waivers: []\nwaivers: []\n", "w.yaml:2:1: duplicate key 'waivers'"),
        ("version: 2\nwaivers: []\n", "w.yaml:1:10: unsupported waivers version 2; this followup reads version 1"),
        (
            "waivers:\n  - {rule: no-friending-interviewer, history: x, reason: '', approved_by: c, expires: 2026-12-31}\n",
            "w.yaml:2:58: 'reason' must not be empty in waiver 1",
        ),
        (
            "waivers:\n  - {rule: no-friending-interviewer, history: x, reason: r, approved_by: c, expires: 31/12/2026}\n",
            "w.yaml:2:86: 'expires' '31/12/2026' is not a date (YYYY-MM-DD) in waiver 1",
        ),
    ],
)
def test_waivers_file_errors(workdir: Path, text: str, expected: str) -> None:
    (workdir / "w.yaml").write_text(text, encoding="utf-8")
    code, out, err = audit("sam.yaml", "--waivers", "w.yaml")
    assert code == 2 and out == ""
    assert any(line.startswith(expected) for line in err.splitlines()), err


def test_missing_waivers_file(workdir: Path) -> None:
    code, _, err = audit("sam.yaml", "--waivers", "nope.yaml")
    assert code == 2
    assert err.startswith("nope.yaml:1:1: cannot read waivers: ")


def test_schema_is_valid_and_shipped(default_pack: Pack) -> None:
    schema = waivers_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    text = (
        "waivers:\n  - {rule: no-friending-interviewer, history: Sam, reason: r, approved_by: c, expires: 2026-01-01}\n"
    )
    data, positions = load_document(text, "w.yaml")
    (waiver,) = parse_waivers(data, positions, "w.yaml", default_pack)
    assert (waiver.line, waiver.column, waiver.expires.isoformat()) == (2, 5, "2026-01-01")
    with pytest.raises(InputError):
        parse_waivers({"waivers": [{"rule": "x"}]}, {}, "w.yaml", default_pack)


def test_audit_time_decides_expiry(workdir: Path) -> None:
    name = write_waivers(
        workdir / "w.yaml",
        entry("thank-you-email-within-24h", expires="2026-11-06"),
        entry("no-friending-interviewer", expires="2026-11-06"),
    )
    assert audit("sam.yaml", "--waivers", name, as_of="2026-11-06T23:59:59+00:00")[0] == 0
    code, _, err = audit("sam.yaml", "--waivers", name, as_of="2026-11-07T00:00:00+00:00")
    assert code == 1 and err.count("waiver expired on 2026-11-06") == 2
    assert datetime(2026, 11, 7, tzinfo=UTC) > datetime(2026, 11, 6, 23, 59, 59, tzinfo=UTC)


def test_report_with_waivers_matches_the_report_schema(workdir: Path) -> None:
    from importlib import resources

    schema = json.loads(resources.files("followup.schemas").joinpath("report.schema.json").read_text("utf-8"))
    name = write_waivers(workdir / "w.yaml", entry("no-friending-interviewer"))
    _, out, _ = audit("sam.yaml", "--format", "json", "--waivers", name)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(json.loads(out))] == []


# -- candidate ids: two candidates of one name stay apart ------------------------------------------


def _maria(workdir: Path, name: str, candidate_id: str) -> str:
    text = HISTORY.replace("candidate: {name: Sam Tester, email: sam@example.com}",
                           f"candidate: {{id: {candidate_id}, name: Maria Garcia}}")
    (workdir / name).write_text(text, encoding="utf-8")
    return name


def _waived_sources(out: str) -> dict[str, list[str]]:
    report = json.loads(out)
    return {h["candidate_id"]: sorted(f["rule"] for f in h["findings"] if f.get("waived")) for h in report["histories"]}


def test_a_waiver_by_candidate_id_covers_that_candidate_only(workdir: Path) -> None:
    first, second = _maria(workdir, "m1.yaml", "c-1"), _maria(workdir, "m2.yaml", "c-2")
    waiver = entry("no-friending-interviewer", candidate_id="c-1")
    del waiver["history"]
    name = write_waivers(workdir / "waivers.yaml", waiver)
    code, out, err = audit(first, second, "--format", "json", "--waivers", name)
    assert code == 1, err  # c-2's friend request still counts
    assert err == ""
    assert _waived_sources(out) == {"c-1": ["no-friending-interviewer"], "c-2": []}


def test_a_waiver_by_name_that_covers_two_ids_is_warned_about(workdir: Path) -> None:
    first, second = _maria(workdir, "m1.yaml", "c-1"), _maria(workdir, "m2.yaml", "c-2")
    name = write_waivers(workdir / "waivers.yaml", entry("no-friending-interviewer", history="Maria Garcia"))
    _code, out, err = audit(first, second, "--format", "json", "--waivers", name)
    assert _waived_sources(out) == {"c-1": ["no-friending-interviewer"], "c-2": ["no-friending-interviewer"]}
    assert err == (
        "waivers.yaml:2:3: waiver for the name 'Maria Garcia' covered 2 different candidates "
        "(ids 'c-1', 'c-2'); name one with 'candidate_id' instead of 'history'\n"
    )


def test_a_candidate_id_is_never_a_name(workdir: Path) -> None:
    # A candidate named "c-1" is not the candidate whose id is c-1, nor the reverse.
    _maria(workdir, "m1.yaml", "c-1")
    name = write_waivers(workdir / "waivers.yaml", entry("no-friending-interviewer", history="c-1"))
    _code, out, err = audit("m1.yaml", "--format", "json", "--waivers", name)
    assert _waived_sources(out) == {"c-1": []}
    assert "unused waiver: no violation of no-friending-interviewer in 'c-1'" in err


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"history": "Sam Tester", "candidate_id": "c-1"},
         "a waiver names either 'history' (a candidate's name or a file) or 'candidate_id', not both"),
        ({}, "missing 'history' (a candidate's name or a file) or 'candidate_id' in this waiver"),
    ],
)
def test_a_waiver_names_its_history_one_way(workdir: Path, fields: dict[str, str], message: str) -> None:
    waiver = {k: v for k, v in entry("no-friending-interviewer").items() if k != "history"} | fields
    name = write_waivers(workdir / "waivers.yaml", waiver)
    code, _out, err = audit("sam.yaml", "--waivers", name)
    assert code == 2
    assert err.splitlines()[0] == f"waivers.yaml:2:3: {message}"
