"""The CI formats: SARIF (schema-valid, loadable by sarif-tools), JUnit (junitparser), GitHub
workflow commands (escaping), Markdown (tables, escaping). Driven through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from followup.cli import cli
from followup.report.github import command, escape_data, escape_property
from followup.report.markdown import cell

# The official SARIF 2.1.0 schema (OASIS, errata 01), vendored unchanged so that the check always runs.
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
AS_OF = "2026-11-06T12:00"

# One history with violations of both severities, next steps, and text that needs escaping in
# every format (pipes, percent, colon, comma, angle brackets; a CR LF in the JSON one).
MIXED = """\
version: 1
timezone: America/New_York
candidate: {name: "Sam <Tester> | 100%", email: sam@example.com}
people:
  - {id: kim, name: "Kim | Lee, 50%: <b>", role: interviewer, company: "Acme, Inc: Labs"}
  - {id: ref, name: Rae Ref, role: reference}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: "Acme, Inc: Labs", with: [kim]}
  - id: e1
    at: 2026-11-04T09:00
    type: email
    direction: sent
    to: kim
    about: i1
    purpose: thank_you
    includes: [thanks]
  - {id: s1, at: 2026-11-05T09:00, type: social, action: friend_request, network: LinkedIn, target: kim}
"""
# Everything done right and the process closed: no violation, no next step.
CLEAN = """\
version: 1
candidate: {name: Cleo Clean}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
  - {id: mom, name: Mo Clean, role: family}
events:
  - {id: s1, at: 2026-10-20T09:00, type: social, action: profile_review, network: LinkedIn}
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme, with: [kim]}
  - {id: e1, at: 2026-11-02T15:00, type: email, direction: sent, to: kim, about: i1, purpose: thank_you,
     proofread_by: mom, includes: [thanks, interest, fit, contact_info]}
  - {id: n1, at: 2026-11-03T09:00, type: note, to: kim, about: i1}
  - {id: d1, at: 2026-11-04T09:00, type: decision, about: i1, outcome: offer}
"""
BAD = """\
version: 1
candidate: {name: Bad Bob}
events:
  - {id: i1, at: 2026-11-02T10:00, type: interveiw, company: Acme, with: []}
"""
WAIVERS = """\
waivers:
  - rule: no-friending-interviewer
    history: "Sam <Tester> | 100%"
    subject: s1
    reason: "the interviewer is the candidate's cousin"
    approved_by: coach@example.com
    expires: 2026-12-31
"""


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h").mkdir()
    (tmp_path / "h/mixed.yaml").write_text(MIXED, encoding="utf-8")
    (tmp_path / "h/clean.yaml").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "waivers.yaml").write_text(WAIVERS, encoding="utf-8")
    return {"mixed": "h/mixed.yaml", "clean": "h/clean.yaml", "bad": "bad.yaml", "waivers": "waivers.yaml"}


def audit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "--as-of", AS_OF, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- SARIF ------------------------------------------------------------------------------------------


def sarif_schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads(SARIF_SCHEMA.read_text("utf-8"))
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return schema


def validate_sarif(document: object) -> None:
    import jsonschema

    schema = sarif_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def test_sarif_is_schema_valid_and_complete(files: dict[str, str]) -> None:
    code, out, _ = audit(files["mixed"], files["clean"], "--format", "sarif", "--waivers", files["waivers"])
    assert code == 1
    document = json.loads(out)
    validate_sarif(document)
    (run,) = document["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert "send-thank-you-email" in ids and "no-posting-about-interview" in ids
    by_id = {r["id"]: r for r in rules}
    friend = by_id["no-friending-interviewer"]
    assert friend["shortDescription"]["text"] and friend["fullDescription"]["text"]
    assert friend["help"]["text"] and friend["help"]["markdown"]
    assert friend["defaultConfiguration"]["level"] == "error"
    assert by_id["thank-you-email-content"]["defaultConfiguration"]["level"] == "warning"
    assert by_id["handwritten-thank-you-note"]["defaultConfiguration"]["level"] == "note"

    results = run["results"]
    late = next(r for r in results if r["ruleId"] == "thank-you-email-within-24h")
    assert late["level"] == "error" and late["kind"] == "fail"
    location = late["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "h/mixed.yaml"
    assert location["region"] == {"startLine": 9, "startColumn": 5}  # the `- id: e1` item
    assert rules[late["ruleIndex"]]["id"] == "thank-you-email-within-24h"

    step = next(r for r in results if r["ruleId"] == "check-in-after-a-week")
    assert step["kind"] == "informational" and step["level"] == "none"
    assert step["properties"]["followup/kind"] == "next_step"
    assert step["properties"]["due"].startswith("2026-11-09T11:00:00-05:00")

    waived = next(r for r in results if r["ruleId"] == "no-friending-interviewer")
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "the interviewer is the candidate's cousin",
            "properties": {"approvedBy": "coach@example.com", "expires": "2026-12-31"},
        }
    ]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert "toolExecutionNotifications" not in invocation


def test_sarif_fingerprints_are_stable_across_runs_and_edits(files: dict[str, str], tmp_path: Path) -> None:
    def fingerprints() -> dict[tuple[str, str], str]:
        _, out, _ = audit(files["mixed"], "--format", "sarif")
        return {
            (r["ruleId"], r["properties"]["subject"]): r["partialFingerprints"]["followup/v1"]
            for r in json.loads(out)["runs"][0]["results"]
        }

    first = fingerprints()
    assert first == fingerprints()
    assert len(set(first.values())) == len(first)  # one per finding
    # Lines move when a comment is added at the top: the fingerprints do not.
    path = tmp_path / files["mixed"]
    path.write_text("# moved down a line\n" + path.read_text("utf-8"), encoding="utf-8")
    assert fingerprints() == first


def test_sarif_input_errors_are_notifications(files: dict[str, str]) -> None:
    code, out, err = audit(files["mixed"], files["bad"], "--format", "sarif")
    assert code == 2
    document = json.loads(out)
    validate_sarif(document)
    (invocation,) = document["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert "did you mean 'interview'" in note["message"]["text"]
    region = note["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == (4, "bad.yaml")
    # The good history is still fully reported, and the bad one is named on stderr too.
    assert any(r["ruleId"] == "thank-you-email-within-24h" for r in document["runs"][0]["results"])
    assert "bad.yaml:4:" in err


def test_sarif_loads_with_sarif_tools(files: dict[str, str], tmp_path: Path) -> None:
    from sarif import loader  # a test dependency (pyproject): never skipped

    target = tmp_path / "report.sarif"
    code, _, _ = audit(files["mixed"], "--format", "sarif", "--output", str(target))
    assert code == 1
    sarif_file = loader.load_sarif_file(str(target))
    records = sarif_file.get_records()
    assert len(records) == sarif_file.get_result_count() == 8
    codes = {r["Code"] for r in records}
    assert {"thank-you-email-within-24h", "no-friending-interviewer", "check-in-after-a-week"} <= codes
    assert {r["Location"] for r in records} == {"h/mixed.yaml"}
    report = sarif_file.get_report()
    assert report.get_issue_count_for_severity("error") == 2
    assert report.get_issue_count_for_severity("warning") == 3


# -- JUnit ------------------------------------------------------------------------------------------


def junit(path: Path) -> tuple[ModuleType, Any]:
    import junitparser  # a test dependency (pyproject): never skipped

    return junitparser, junitparser.JUnitXml.fromfile(str(path))


def test_junit_suites_cases_failures_and_output(files: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    code, _, _ = audit(
        files["mixed"], files["clean"], "--format", "junit", "--output", str(target), "--waivers", files["waivers"]
    )
    assert code == 1
    junitparser, xml = junit(target)
    suites = list(xml)
    assert [s.name for s in suites] == ["h/mixed.yaml (Sam <Tester> | 100%)", "h/clean.yaml (Cleo Clean)"]
    mixed, clean = suites
    cases = {c.name: c for c in mixed}
    assert len(cases) == 13  # every active rule of the pack
    assert all(c.classname == "h/mixed.yaml" for c in cases.values())
    late = cases["thank-you-email-within-24h"]
    (failure,) = late.result
    assert isinstance(failure, junitparser.Failure)
    assert "1 violation of thank-you-email-within-24h" in failure.message
    assert "h/mixed.yaml:9:5: error: e1:" in failure.text
    # Warnings are below --fail-on error: reported, not failed.
    content = cases["thank-you-email-content"]
    assert content.result == [] and "below --fail-on error" in content.system_out
    # Waived: skipped with the reason.
    (skipped,) = cases["no-friending-interviewer"].result
    assert isinstance(skipped, junitparser.Skipped)
    assert skipped.message == "waived: the interviewer is the candidate's cousin"
    assert "next step" in cases["check-in-after-a-week"].system_out
    assert (mixed.tests, mixed.failures, mixed.skipped, mixed.errors) == (13, 1, 1, 0)
    assert clean.tests == 13 and clean.failures == 0 and all(c.is_passed for c in clean)


def test_junit_fail_on_warning_fails_warnings(files: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    audit(files["mixed"], "--format", "junit", "--output", str(target), "--fail-on", "warning")
    _, xml = junit(target)
    (suite,) = list(xml)
    failed = sorted(c.name for c in suite if not c.is_passed)
    assert failed == [
        "no-friending-interviewer",
        "proofread-follow-up-email",
        "review-social-profiles",
        "thank-you-email-content",
        "thank-you-email-within-24h",
    ]


def test_junit_input_errors_suite(files: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    code, _, _ = audit(files["mixed"], files["bad"], "--format", "junit", "--output", str(target))
    assert code == 2
    junitparser, xml = junit(target)
    suites = {s.name: s for s in xml}
    assert set(suites) == {"h/mixed.yaml (Sam <Tester> | 100%)", "input errors"}
    (case,) = list(suites["input errors"])
    assert case.classname == "bad.yaml"
    (error,) = case.result
    assert isinstance(error, junitparser.Error)
    assert "bad.yaml:4:" in error.text and "interveiw" in error.text


def test_junit_survives_control_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    doc = yaml.safe_load(CLEAN)
    doc["candidate"]["name"] = "Odd\x01Name & <Co>"
    (tmp_path / "odd.json").write_text(json.dumps(doc, default=str), encoding="utf-8")
    code, out, _ = audit("odd.json", "--format", "junit")
    assert code == 0
    (tmp_path / "out.xml").write_text(out, encoding="utf-8")
    _, xml = junit(tmp_path / "out.xml")
    assert [s.name for s in xml] == ["odd.json (Odd\\x01Name & <Co>)"]


# -- GitHub workflow commands -----------------------------------------------------------------------


def test_github_escaping_rules() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("warning", "line one\nline two", file="h/a,b.yaml", line=3, col=7, title="T: x")
    assert line == "::warning file=h/a%2Cb.yaml,line=3,col=7,title=T%3A x::line one%0Aline two"


def test_github_annotations(files: dict[str, str], tmp_path: Path) -> None:
    doc = json.loads(json.dumps(yaml.safe_load(MIXED), default=str))
    doc["people"][0]["name"] = "Kim\r\nLee"
    (tmp_path / "nl.json").write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = audit(files["mixed"], "nl.json", files["bad"], "--format", "github", "--waivers", files["waivers"])
    assert code == 2
    lines = out.splitlines()
    assert all(line.startswith("::") for line in lines[:-1])
    assert lines[-1].startswith("followup: 2 histories")
    late = next(x for x in lines if "thank-you-email-within-24h" in x and "h/mixed.yaml" in x)
    assert late.startswith("::error file=h/mixed.yaml,line=9,col=5,title=Don't let the thank-you email wait past")
    # Message data: % escaped; ':' and ',' only escaped in properties.
    assert "Sam <Tester> | 100%25: " in late and "Acme, Inc: Labs interview" in late
    content = next(x for x in lines if "[thank-you-email-content]" in x and "h/mixed.yaml" in x)
    assert content.startswith("::warning ") and "title=Say thanks%2C interest%2C fit" in content
    assert any(x.startswith("::notice file=h/mixed.yaml") and "title=Next step%3A " in x for x in lines)
    waived = next(x for x in lines if "no-friending-interviewer" in x and "h/mixed.yaml" in x)
    assert (
        waived.startswith("::notice ")
        and "(waived)" in waived
        and "the interviewer is the candidate's cousin" in waived
    )
    nl = [x for x in lines if "file=nl.json" in x]
    assert nl and all("\r" not in x for x in nl) and any("Kim%0D%0ALee" in x for x in nl)
    bad = [x for x in lines if "file=bad.yaml" in x]
    assert len(bad) == 1 and re.match(r"::error file=bad\.yaml,line=4,col=\d+::unknown event type", bad[0])


# -- Markdown ---------------------------------------------------------------------------------------


def test_markdown_cell_escaping() -> None:
    assert cell("a | b") == "a \\| b"
    assert cell("one\ntwo\r\nthree") == "one<br>two<br>three"
    assert cell("<script>*x*_y_ [l](u) `c`") == "\\<script\\>\\*x\\*\\_y\\_ \\[l\\](u) \\`c\\`"


def test_markdown_report(files: dict[str, str]) -> None:
    code, out, _ = audit(
        files["mixed"], files["clean"], files["bad"], "--format", "markdown", "--waivers", files["waivers"]
    )
    assert code == 2
    lines = out.splitlines()
    assert lines[0].startswith("## followup: interview-follow-up ")
    head = lines.index("| Histories | Errors | Warnings | Info | Next steps | Input errors | Waived |")
    assert lines[head + 2] == "| 2 | 2 | 3 | 0 | 3 | 1 | 1 |"
    assert "### h/mixed.yaml — Sam \\<Tester\\> \\| 100%" in lines
    rows = [x for x in lines if x.startswith("| ") and "thank-you-email-within-24h" in x]
    assert len(rows) == 1
    # Every table row keeps its column count: no pipe from a history leaks into the table.
    for row in (x for x in lines if x.startswith("|")):
        unescaped = len(re.findall(r"(?<!\\)\|", row))
        assert unescaped in (5, 6, 8), row
    assert any("Kim \\| Lee, 50%: \\<b\\>" in x for x in lines)
    assert any("waived" in x and "cousin" in x for x in lines)
    assert "### Input errors (1)" in lines
    assert any(x.startswith("| bad.yaml | 4 |") for x in lines)
    assert "<details><summary>1 history with nothing to report</summary>" in lines
    assert "- h/clean.yaml — Cleo Clean" in lines
