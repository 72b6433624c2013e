"""Triage (per-history ``summary``, ``--sort urgency``, the batch views' lead) and baselines
(``--baseline``: new / unchanged / absent, ``--fail-on`` counting only new findings). Driven
through the CLI on the bundled examples."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from conftest import ROOT
from followup.cli import cli
from followup.model import Finding, HistoryResult
from followup.report.triage import triage, urgency

AS_OF = "2026-11-25T12:00Z"
EARLIER = "2026-11-13T12:00Z"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The three good examples in a folder of their own (relative names in every report)."""
    for name in ("jane.yaml", "struggling.yaml", "upcoming.yaml"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def report_schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads((ROOT / "schemas" / "report.schema.json").read_text("utf-8"))
    return schema


def json_report(*args: str) -> tuple[int, dict[str, object]]:
    code, out, _ = run(*args, "--format", "json")
    report = json.loads(out)
    jsonschema.Draft202012Validator(report_schema()).validate(report)
    return code, report


def histories(report: dict[str, object]) -> list[dict[str, object]]:
    items = report["histories"]
    assert isinstance(items, list)
    return items


# -- the per-history summary ---------------------------------------------------------------------


def test_json_summary_per_history(examples: Path) -> None:
    _, report = json_report("jane.yaml", "struggling.yaml", "upcoming.yaml", "--as-of", AS_OF)
    summaries = {h["source"]: h["summary"] for h in histories(report)}
    assert summaries == {
        "jane.yaml": {"errors": 0, "warnings": 0, "next_steps": 1, "overdue": 1, "next_due": None},
        "struggling.yaml": {"errors": 5, "warnings": 7, "next_steps": 2, "overdue": 2, "next_due": None},
        "upcoming.yaml": {
            "errors": 0,
            "warnings": 0,
            "next_steps": 2,
            "overdue": 0,
            "next_due": "2026-12-01T13:00:00-06:00",
        },
    }


def test_json_summary_does_not_count_waived(examples: Path) -> None:
    (examples / "waivers.yaml").write_text(
        "waivers:\n  - {rule: thank-you-email-within-24h, history: Tom Price, reason: agreed with the recruiter,"
        " approved_by: coach@example.com, expires: 2026-12-31}\n",
        encoding="utf-8",
    )
    _, report = json_report("struggling.yaml", "--as-of", AS_OF, "--waivers", "waivers.yaml")
    [history] = histories(report)
    assert history["summary"]["errors"] == 4  # 5 errors, one of them waived


def test_next_due_is_the_earliest_not_overdue() -> None:
    as_of = datetime(2026, 11, 25, 12, tzinfo=UTC)

    def step(hours: float) -> Finding:
        return Finding("r", "next_step", "info", "i1", None, ("i1",), as_of + timedelta(hours=hours), "m")

    result = HistoryResult("h.yaml", "C", (step(-1), step(30), step(5), step(-40)))
    t = triage(result, as_of)
    assert (t.overdue, t.next_steps, t.next_due) == (2, 4, as_of + timedelta(hours=5))
    on_time = HistoryResult("h.yaml", "C", (step(0),))  # due exactly now: not yet overdue
    assert triage(on_time, as_of).overdue == 0


def test_urgency_order() -> None:
    as_of = datetime(2026, 11, 25, 12, tzinfo=UTC)

    def result(source: str, errors: int = 0, overdue: int = 0, due_in: float | None = None) -> HistoryResult:
        findings = [Finding("e", "violation", "error", f"x{n}", None, (f"x{n}",), None, "m") for n in range(errors)]
        findings += [
            Finding("s", "next_step", "info", f"o{n}", None, (f"o{n}",), as_of - timedelta(days=1), "m")
            for n in range(overdue)
        ]
        if due_in is not None:
            findings.append(Finding("s", "next_step", "info", "d", None, ("d",), as_of + timedelta(hours=due_in), "m"))
        return HistoryResult(source, source, tuple(findings))

    batch = [
        result("a.yaml"),
        result("b.yaml", due_in=48),
        result("c.yaml", due_in=2),
        result("d.yaml", overdue=1),
        result("e.yaml", overdue=3, due_in=1),
        result("f.yaml", errors=1),
        result("g.yaml", errors=1, overdue=1),
        result("h.yaml", errors=2),
        result("i.yaml"),
    ]
    ordered = sorted(batch, key=lambda r: urgency(r, as_of))
    assert [r.source for r in ordered] == [
        "h.yaml", "g.yaml", "f.yaml", "e.yaml", "d.yaml", "c.yaml", "b.yaml", "a.yaml", "i.yaml",
    ]


# -- --sort urgency in every format ---------------------------------------------------------------

URGENT_ORDER = ["struggling.yaml", "jane.yaml", "upcoming.yaml"]


def _order(text: str, names: list[str]) -> list[str]:
    found = sorted((text.index(name), name) for name in names)
    return [name for _, name in found]


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "github", "ics", "html"])
def test_sort_urgency_in_every_format(examples: Path, fmt: str) -> None:
    args = ["upcoming.yaml", "jane.yaml", "struggling.yaml", "--as-of", AS_OF, "--format", fmt]
    _, by_source, _ = run(*args)
    _, by_urgency, _ = run(*args, "--sort", "urgency")
    if fmt == "ics":  # names the candidates, not the files
        names = ["Tom Price", "Jane Doe", "Maria Garcia"]
        assert _order(by_urgency, names) == names
        return
    if fmt == "html":  # the history sections come after the overview table (ranked in both)
        by_source = by_source[by_source.index('<section class="card history"') :]
        by_urgency = by_urgency[by_urgency.index('<section class="card history"') :]
    if fmt != "github":  # annotations come errors first whatever the order of the histories
        assert _order(by_source, URGENT_ORDER) == ["upcoming.yaml", "jane.yaml", "struggling.yaml"]
    assert _order(by_urgency, URGENT_ORDER) == URGENT_ORDER


def test_sort_default_is_source_and_unknown_sort_is_refused(examples: Path) -> None:
    code, _, _ = run("jane.yaml", "--sort", "urgent")
    assert code == 2
    _, report = json_report("upcoming.yaml", "jane.yaml", "struggling.yaml", "--as-of", AS_OF)
    assert [h["source"] for h in histories(report)] == ["upcoming.yaml", "jane.yaml", "struggling.yaml"]


def test_text_batch_leads_with_who_needs_attention(examples: Path) -> None:
    _, out, _ = run("upcoming.yaml", "jane.yaml", "struggling.yaml", "--as-of", AS_OF)
    lines = out.splitlines()
    assert lines[0] == "Needs attention: 3 histories of 3, most urgent first"
    assert lines[1] == "    1. struggling.yaml — Tom Price: 5 errors, 7 warnings, 2 overdue next steps"
    assert lines[2] == "    2. jane.yaml — Jane Doe: 1 overdue next step"
    assert lines[3] == (
        "    3. upcoming.yaml — Maria Garcia: 2 later next steps; next due Tue 1 Dec 2026 13:00 CST"
    )
    # The details follow in the order asked for (here: as given).
    assert lines.index("upcoming.yaml — Maria Garcia (as of Wed 25 Nov 2026 06:00 CST)") < lines.index(
        "jane.yaml — Jane Doe (as of Wed 25 Nov 2026 07:00 EST)"
    )


def test_text_single_history_has_no_overview(examples: Path) -> None:
    _, out, _ = run("jane.yaml", "--as-of", AS_OF)
    assert not out.startswith("Needs attention")
    assert out.startswith("jane.yaml — Jane Doe")


def test_markdown_batch_leads_with_ranked_table(examples: Path) -> None:
    _, out, _ = run("upcoming.yaml", "jane.yaml", "struggling.yaml", "--as-of", AS_OF, "--format", "markdown")
    lines = out.splitlines()
    head = lines.index("### Needs attention (3 histories, most urgent first)")
    assert lines[head + 2] == "| # | History | Errors | Warnings | Overdue | Next due | Next steps |"
    assert lines[head + 4] == "| 1 | struggling.yaml — Tom Price | 5 | 7 | 2 | — | 2 |"
    assert lines[head + 5] == "| 2 | jane.yaml — Jane Doe | 0 | 0 | 1 | — | 1 |"
    assert lines[head + 6] == "| 3 | upcoming.yaml — Maria Garcia | 0 | 0 | 0 | Tue 1 Dec 2026 13:00 CST | 2 |"
    assert head < lines.index("### upcoming.yaml — Maria Garcia")


def test_html_overview_ranked_and_sortable(examples: Path) -> None:
    _, out, _ = run("upcoming.yaml", "jane.yaml", "struggling.yaml", "--as-of", AS_OF, "--format", "html")
    table = out[out.index('<table class="overview"') : out.index("</table>")]
    assert _order(table, ["Tom Price", "Jane Doe", "Maria Garcia"]) == ["Tom Price", "Jane Doe", "Maria Garcia"]
    headers = re.findall(r'<th[^>]*data-sort="(\w+)"', table)
    assert headers == ["number", "text", "number", "number", "number", "time", "number"]
    # Every sortable cell carries the value it sorts by.
    assert table.count("data-value=") == 3 * 7


# -- baselines ---------------------------------------------------------------------------------------


@pytest.fixture
def baseline(examples: Path) -> Path:
    """Last week's report: Jane (the same overdue step), Tom (every finding), Maria (one step)."""
    _, out, _ = run("jane.yaml", "struggling.yaml", "upcoming.yaml", "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    tom = histories(report)[1]
    tom["findings"] = [f for f in tom["findings"] if f["rule"] != "tell-references"]  # new tonight
    maria = histories(report)[2]
    maria["findings"].append(  # resolved since
        {"rule": "send-thank-you-email", "kind": "next_step", "severity": "info", "subject": "i0", "person": None,
         "events": ["i0"], "due": "2026-11-20T10:00:00-06:00", "message": "Send a thank-you email."}
    )
    path = examples / "last.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def test_baseline_states_and_absent(baseline: Path) -> None:
    code, report = json_report("jane.yaml", "struggling.yaml", "upcoming.yaml", "--as-of", AS_OF,
                               "--baseline", str(baseline))
    jane, tom, maria = histories(report)
    assert {f["baseline_state"] for f in jane["findings"]} == {"unchanged"} and jane["absent"] == []
    new = [f["rule"] for f in tom["findings"] if f["baseline_state"] == "new"]
    assert new == ["tell-references"]
    assert [f["rule"] for f in maria["absent"]] == ["send-thank-you-email"]
    assert report["summary"]["new"] == 1 and report["summary"]["resolved"] == 1
    # The one new violation is an error: --fail-on error fails on it alone.
    assert code == 1


def test_fail_on_counts_only_new_findings(examples: Path) -> None:
    code, out, _ = run("struggling.yaml", "--as-of", AS_OF, "--format", "json")
    assert code == 1
    (examples / "last.json").write_text(out, encoding="utf-8")
    code, _, _ = run("struggling.yaml", "--as-of", AS_OF, "--baseline", "last.json")
    assert code == 0  # nothing new
    code, _, _ = run("struggling.yaml", "--as-of", AS_OF, "--baseline", "last.json", "--format", "json",
                     "-o", "last.json")  # the nightly pattern: today's report becomes tomorrow's baseline
    assert code == 0
    assert json.loads((examples / "last.json").read_text("utf-8"))["summary"]["new"] == 0


def test_baseline_follows_the_candidate_id_across_renames(examples: Path) -> None:
    text = (examples / "struggling.yaml").read_text("utf-8")
    with_id = re.sub(r"candidate: \{", "candidate: {id: C-17, ", text, count=1)
    assert with_id != text
    (examples / "tom.yaml").write_text(with_id, encoding="utf-8")
    _, out, _ = run("tom.yaml", "--as-of", AS_OF, "--format", "json")
    (examples / "last.json").write_text(out, encoding="utf-8")
    renamed = with_id.replace("name: Tom Price", "name: Thomas Price")
    (examples / "archive").mkdir()
    (examples / "archive" / "thomas.yaml").write_text(renamed, encoding="utf-8")
    _, report = json_report("archive/thomas.yaml", "--as-of", AS_OF, "--baseline", "last.json")
    [history] = histories(report)
    assert history["candidate_id"] == "C-17"
    assert {f["baseline_state"] for f in history["findings"]} == {"unchanged"}


def test_baseline_without_ids_tells_same_names_apart_by_source(examples: Path) -> None:
    (examples / "other").mkdir()
    shutil.copy(examples / "jane.yaml", examples / "other" / "jane.yaml")
    _, out, _ = run("jane.yaml", "other/jane.yaml", "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    histories(report)[1]["findings"] = []  # the second Jane had nothing last time
    (examples / "last.json").write_text(json.dumps(report), encoding="utf-8")
    _, report = json_report("jane.yaml", "other/jane.yaml", "--as-of", AS_OF, "--baseline", "last.json")
    first, second = histories(report)
    assert [f["baseline_state"] for f in first["findings"]] == ["unchanged"]
    assert [f["baseline_state"] for f in second["findings"]] == ["new"]


def test_baseline_from_an_older_report_is_accepted(examples: Path) -> None:
    _, out, _ = run("jane.yaml", "--as-of", AS_OF, "--format", "json")
    report = json.loads(out)
    for history in histories(report):
        del history["summary"], history["candidate_id"]
    (examples / "old.json").write_text(json.dumps(report), encoding="utf-8")
    _, report = json_report("jane.yaml", "--as-of", AS_OF, "--baseline", "old.json")
    assert histories(report)[0]["findings"][0]["baseline_state"] == "unchanged"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "bad.json:1:1: the baseline is empty; it must be a JSON report (followup audit --format json)"),
        ("{\n  \"report_version\": 1,\n  \"histories\": [\n", "bad.json:4:1: JSON syntax error: Expecting value"),
        (
            '{"report_version": 1,\n "histories": [{"source": "a.yaml", "candidat": "A", "findings": []}]}',
            "bad.json:2:37: unknown field 'candidat' in history 1; did you mean 'candidate'?",
        ),
        (
            '{"report_version": 1, "histories": [{"source": "a.yaml", "candidate": "A", "findings": [\n'
            ' {"rule": "r", "kind": "violaton", "severity": "error", "subject": "e", "person": null,'
            ' "events": ["e"], "due": null, "message": "m"}]}]}',
            "bad.json:2:24: unknown kind 'violaton'; did you mean 'violation'? in finding 1 of history 1",
        ),
        (
            '{"report_version": 1, "histories": [{"source": "a.yaml", "candidate": "A", "findings": [\n'
            ' {"rule": "r", "kind": "next_step", "severity": "info", "subject": "e", "person": null,'
            ' "events": ["e"], "due": "next tuesday", "message": "m"}]}]}',
            "bad.json:2:113: 'due' 'next tuesday' is not an ISO 8601 time in finding 1 of history 1",
        ),
    ],
)
def test_bad_baseline_is_located(examples: Path, content: str, expected: str) -> None:
    (examples / "bad.json").write_text(content, encoding="utf-8")
    code, out, err = run("jane.yaml", "--as-of", AS_OF, "--baseline", "bad.json")
    assert code == 2 and out == ""
    assert expected in err.splitlines()
    assert "Traceback" not in err


def test_missing_baseline_is_reported(examples: Path) -> None:
    code, _, err = run("jane.yaml", "--as-of", AS_OF, "--baseline", "nowhere.json")
    assert code == 2
    assert err.startswith("nowhere.json:1:1: cannot read the baseline:")


@pytest.mark.parametrize(("fmt", "new_mark", "resolved_mark"), [
    ("text", "(new)", "Resolved since the baseline (1)"),
    ("markdown", "🆕", "**Resolved since the baseline (1)**"),
    ("html", 'class="chip chip-new"', "Resolved since the baseline"),
    ("github", "title=New%3A ", "resolved since the baseline"),
    ("junit", "new since the baseline", "resolved since the baseline"),
])
def test_every_format_shows_new_and_resolved(baseline: Path, fmt: str, new_mark: str, resolved_mark: str) -> None:
    _, out, _ = run("jane.yaml", "struggling.yaml", "upcoming.yaml", "--as-of", AS_OF, "--baseline", str(baseline),
                    "--format", fmt)
    assert new_mark in out
    assert resolved_mark in out


def test_sarif_baseline_states(baseline: Path) -> None:
    _, out, _ = run("jane.yaml", "struggling.yaml", "upcoming.yaml", "--as-of", AS_OF, "--baseline", str(baseline),
                    "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    states = [r["baselineState"] for r in results]
    assert states.count("new") == 1 and states.count("absent") == 1
    assert states.count("unchanged") == len(results) - 2
    [absent] = [r for r in results if r["baselineState"] == "absent"]
    assert absent["ruleId"] == "send-thank-you-email"


# -- the HTML overview in a real browser -------------------------------------------------------------


def test_html_overview_sorts_on_click_in_chromium(examples: Path) -> None:
    """The page's own script in Debian's headless chromium: a test script (the page's CSP, which
    admits only the page's script, is taken out for it) clicks column headings and records the order."""
    from test_html_browser import find_chromium

    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI is set: the browser tests must run in CI")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these tests")
    _, page, _ = run("upcoming.yaml", "jane.yaml", "struggling.yaml", "--as-of", AS_OF, "--format", "html")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    probe = """<script>
function order(){return [].map.call(document.querySelectorAll('table.overview tbody tr'),
 function(r){return r.cells[1].getAttribute('data-value');}).join('|');}
var b=document.querySelectorAll('table.overview th button'),seen=[order()];
b[1].click();seen.push(order());b[5].click();seen.push(order());b[5].click();seen.push(order());
b[2].click();seen.push(order());b[0].click();seen.push(order());
document.body.setAttribute('data-seen',seen.join(';'));
</script></body>"""
    (examples / "page.html").write_text(page.replace("</body>", probe), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={examples / 'profile'}",
         "--dump-dom", (examples / "page.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    found = re.search(r'data-seen="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    assert found.group(1).split(";") == [
        "tom price|jane doe|maria garcia",  # as written: most urgent first
        "jane doe|maria garcia|tom price",  # Candidate: A to Z
        "maria garcia|tom price|jane doe",  # Next due: soonest first, none last (rank breaks ties)
        "tom price|jane doe|maria garcia",  # Next due again: latest first
        "tom price|jane doe|maria garcia",  # Errors: most first
        "tom price|jane doe|maria garcia",  # #: back to urgency
    ]


def _probe(examples: Path, page: str, probe: str, *flags: str) -> str:
    """The page in headless chromium with a test script after its own (the CSP, which admits only
    the page's script, is taken out for it); returns what the probe put in ``body[data-seen]``."""
    from test_html_browser import find_chromium

    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI is set: the browser tests must run in CI")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these tests")
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    path = examples / "probe.html"
    path.write_text(page.replace("</body>", f"<script>{probe}</script></body>"), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={examples / 'profile'}", *flags, "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    found = re.search(r'data-seen="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    return found.group(1)


@pytest.mark.parametrize(("width", "scrolled"), [(390, True), (1280, False)])
def test_candidate_page_timeline_opens_at_today(examples: Path, width: int, scrolled: bool) -> None:
    _, page, _ = run("struggling.yaml", "--as-of", AS_OF, "--format", "html")
    probe = """
var box=document.querySelector('.timeline-scroll'),line=box.querySelector('.asof-line');
var b=box.getBoundingClientRect(),l=line.getBoundingClientRect();
document.body.setAttribute('data-seen',[box.scrollLeft>0,l.left>=b.left&&l.right<=b.right].join(','));"""
    seen = _probe(examples, page, probe, f"--window-size={width},900")
    assert seen == f"{str(scrolled).lower()},true"  # today in view; scrolled to it only on a phone


def test_candidate_page_leads_with_what_to_do(examples: Path) -> None:
    _, page, _ = run("struggling.yaml", "--as-of", AS_OF, "--format", "html")
    assert "--fail-on" not in page.split("<main")[1]  # no CI wording on the candidate's page
    assert '<p class="verdict fail">Start with the 2 overdue next steps. Below them: what to do differently' in page
    section = page[page.index('<section class="card history"') :]
    assert section.index("Overdue (2)") < section.index("Violations (12)")
    assert "was due <time" in section and "— 12 days overdue</span>: Send a handwritten" in section
    # Each violation says what to do now (its rule's remedy; a rule without one: why it matters).
    assert section.count('<p class="remedy"><b>What to do:</b> ') == 12


def test_candidate_text_leads_with_what_to_do(examples: Path) -> None:
    _, out, _ = run("jane.yaml", "--as-of", AS_OF)
    lines = out.splitlines()
    assert lines[1:4] == [
        "  Next steps (1)",
        "    Overdue (1)",
        "      → was due Thu 19 Nov 2026 15:00 EST — 5 days overdue  [check-in-after-a-week]",
    ]
    _, out, _ = run("struggling.yaml", "--as-of", AS_OF)
    assert out.index("Next steps (2)") < out.index("Violations (12)")
    assert out.count("      What to do: ") == 12
    _, out, _ = run("upcoming.yaml", "--as-of", AS_OF)
    assert "    Due within a week (2)\n      → due Tue 1 Dec 2026 13:00 CST, in 6 days  [review-social-profiles]" in out
    _, batch, _ = run("jane.yaml", "struggling.yaml", "--as-of", AS_OF)
    assert "Why it matters" not in batch  # the coach knows the rules


def test_sarif_fingerprints_follow_the_candidate_id(examples: Path) -> None:
    text = (examples / "jane.yaml").read_text("utf-8").replace("candidate: {", "candidate: {id: C-9, ", 1)
    (examples / "a.yaml").write_text(text, encoding="utf-8")
    (examples / "moved").mkdir()
    (examples / "moved" / "b.yaml").write_text(text.replace("Jane Doe", "Jane Smith"), encoding="utf-8")

    def prints(path: str) -> list[str]:
        _, out, _ = run(path, "--as-of", AS_OF, "--format", "sarif")
        return [r["partialFingerprints"]["followup/v1"] for r in json.loads(out)["runs"][0]["results"]]

    assert prints("a.yaml") == prints("moved/b.yaml")  # renamed and moved: the id keeps the finding
    assert prints("a.yaml") != prints("jane.yaml")  # without the id: file and name
