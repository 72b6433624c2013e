"""``--format html`` and ``--format ics`` without a browser: escaping, structure, RFC 5545 details."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from conftest import ROOT
from followup.cli import cli
from followup.diagnostics import Problem
from followup.model import Candidate, Event, Finding, History, HistoryResult, Person
from followup.pack import load_pack
from followup.report import Context, Summary, html_assets, html_history, html_words, ics
from followup.report import html as html_format

AS_OF = "2026-11-13T12:00Z"
HOSTILE = "<script>alert(1)</script>"

# A candidate who breaks many rules, with hostile text in every free-text field the page shows.
ALEX = """\
version: 1
timezone: Europe/London
candidate: {name: "Alex <i>Kim</i> \\"Q\\"", email: alex@example.com}
people:
  - {id: pat, name: "Pat <img src=x onerror=alert(3)> Moss", role: interviewer, company: Globex}
  - {id: lee, name: Lee Chan, role: hiring_manager, company: Globex}
  - {id: ana, name: Ana Ruiz, role: reference}
  - {id: bo, name: Bo Berg, role: recruiter, company: "Initech\\" onmouseover=\\"alert(4)"}
events:
  - {id: i1, at: 2026-11-02T14:00, ends: 2026-11-02T15:30, type: interview, company: Globex, with: [pat, lee],
     position: Product Designer}
  - {id: s1, at: 2026-11-03T09:00, type: social, action: connect, network: LinkedIn, target: pat}
  - id: e1
    at: 2026-11-04T18:00
    type: email
    direction: sent
    to: [pat, lee]
    about: i1
    purpose: thank_you
    includes: [thanks, interest]
    subject: "Thanks & 'next' steps"
    body: "Thanks! <script>alert(1)</script> <iframe src=https://evil.example/></iframe> end"
  - {id: c1, at: 2026-11-06T10:00, type: call, direction: sent, to: pat, about: i1, purpose: check_in}
  - {id: h1, at: 2026-11-07T10:00, type: reference_contact, reference: ana, about: i1, request: contact_employer}
  - {id: k1, at: 2026-11-09T11:00, type: reference_check, reference: ana, company: Globex}
  - {id: i2, at: 2026-11-19T10:00, type: interview, company: Initech, with: [bo]}
"""


def audit(*args: str) -> tuple[int, bytes]:
    result = CliRunner().invoke(cli, ["audit", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout_bytes


@pytest.fixture
def alex(tmp_path: Path) -> Path:
    path = tmp_path / "alex.yaml"
    path.write_text(ALEX, encoding="utf-8")
    return path


def json_report(*args: str) -> dict[str, object]:
    _, out = audit(*args, "--format", "json")
    report: dict[str, object] = json.loads(out)
    return report


class Elements(HTMLParser):
    """Every start tag with its attributes, the text, and whether tags balance."""

    VOID = frozenset({"meta", "input", "br", "img", "link", "hr", "col", "wbr", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.unbalanced: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.unbalanced.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a.get("class", "").split()]


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


# --- HTML -----------------------------------------------------------------------------------------


def test_html_is_one_balanced_self_contained_page(alex: Path) -> None:
    code, out = audit(str(alex), "--as-of", AS_OF, "--format", "html")
    assert code == 1
    page = out.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    doc = parse(page)
    assert not doc.stack and not doc.unbalanced
    tags = [t for t, _ in doc.tags]
    assert tags.count("script") == 1 and tags.count("style") == 1
    for banned in ("img", "iframe", "link", "object", "embed", "image", "use", "foreignobject"):
        assert banned not in tags
    for tag, attrs in doc.tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert "src" not in attrs, tag
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs
    # no URL anywhere except inside escaped text from the history
    urls = re.findall(r"https?://[^\s\"'<>]*", page)
    assert urls and all(u.startswith("https://evil.example/") for u in urls)  # the escaped body only
    assert all(re.search(r"https?://", "".join(attrs.values())) is None for _, attrs in doc.tags)


def test_html_escapes_everything_from_the_history(alex: Path) -> None:
    _, out = audit(str(alex), "--as-of", AS_OF, "--format", "html")
    page = out.decode("utf-8")
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<i>Kim</i>" not in page and "&lt;i&gt;Kim&lt;/i&gt;" in page
    assert "<img" not in page and "onerror=alert" in page  # as text only
    assert 'onmouseover="alert(4)' not in page and "&quot; onmouseover=&quot;alert(4)" in page
    text = "".join(parse(page).text)
    assert HOSTILE in text  # the body reads as text
    assert 'Alex <i>Kim</i> "Q"' in text


def test_html_escapes_pack_text(alex: Path) -> None:
    pack = load_pack("interview-follow-up")
    hostile_rules = tuple(replace(r, title=f"{r.title} <b onclick=x>") for r in pack.rules)
    context = Context("0", replace(pack, name="p<ack>", rules=hostile_rules), datetime(2026, 11, 13, 12, tzinfo=UTC), "error")
    finding = Finding("send-thank-you-email", "violation", "error", "i1", None, ("i1",), None, "msg <u>x</u>")
    history = History(
        "s.yaml", "UTC", Candidate("C"), (Person("kim", "Kim", "interviewer", "Acme"),),
        (Event("i1", "interview", datetime(2026, 11, 2, 10, tzinfo=UTC), {"company": "Acme", "with": ("kim",)}),),
    )
    out = io.StringIO()
    fmt = html_format.Formatter(out, context)
    fmt.begin()
    fmt.history(HistoryResult("s.yaml", "C", (finding,), history))
    fmt.error(Problem("bad<1>.yaml", 3, 4, "unknown field 'x<y>'"))
    summary = Summary(histories=1, violations=1, errors=1, by_severity={"error": 1}, failing=1)
    fmt.end(summary)
    page = out.getvalue()
    assert "<b onclick" not in page and "&lt;b onclick=x&gt;" in page
    assert "<u>" not in page and "p<ack>" not in page and "bad<1>" not in page
    assert "bad&lt;1&gt;.yaml:3:4: unknown field &#x27;x&lt;y&gt;&#x27;" in page
    assert not parse(page).unbalanced


def test_html_marks_match_the_findings(alex: Path) -> None:
    jane = str(ROOT / "examples" / "jane.yaml")
    _, out = audit(str(alex), jane, "--as-of", AS_OF, "--format", "html")
    doc = parse(out.decode("utf-8"))
    report = json_report(str(alex), jane, "--as-of", AS_OF)
    histories = report["histories"]
    assert isinstance(histories, list)
    findings = [f for h in histories for f in h["findings"]]
    marks = doc.with_class("event-mark")
    assert [m["data-event-id"] for m in marks] == ["i1", "s1", "e1", "c1", "h1", "k1", "i2",
                                                   "s1", "h1", "i1", "e1", "n1", "c1", "r1"]
    violations = doc.with_class("violation")
    violations = [a for a in violations if "finding-mark" in a["class"].split()]
    steps = [a for a in doc.with_class("next-step") if "finding-mark" in a["class"].split()]
    assert len(violations) == sum(f["kind"] == "violation" for f in findings) > 0
    assert len(steps) == sum(f["kind"] == "next_step" for f in findings) > 0
    for mark in violations:
        assert re.fullmatch(r"finding-mark violation severity-(error|warning|info)( waived)? badge", mark["class"])
        assert mark["data-filter"] == mark["class"].split()[2].removeprefix("severity-")
    assert all(m["data-filter"] == "next-step" for m in steps)
    # jane: 7 events and one next step, no violation
    section = out.decode().split('id="h2"', 1)[1]
    assert section.count('class="finding-mark next-step') == 1
    assert "finding-mark violation" not in section


def test_html_head_filters_and_as_of(alex: Path) -> None:
    _, out = audit(str(alex), "--as-of", AS_OF, "--format", "html")
    page = out.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "@media (max-width:720px)" in page
    assert re.search(r'<svg class="timeline" viewBox="0 0 1000 \d+', page)
    assert "As of <strong><time datetime=\"2026-11-13T12:00:00+00:00\">Fri 13 Nov 2026 12:00 GMT" in page
    doc = parse(page)
    boxes = [a for t, a in doc.tags if t == "input"]
    assert [b["value"] for b in boxes] == ["error", "warning", "info", "next-step"]
    assert all("checked" in b for b in boxes)
    fieldset = next(a for t, a in doc.tags if t == "fieldset")
    assert "hidden" in fieldset  # without JS: no useless checkboxes, every finding shown
    assert not doc.with_class("filtered")
    # date ticks in the history's zone
    assert re.search(r'class="tick-label"[^>]*>4 Nov 2026<', page)


def test_html_csp_hash_matches_the_script() -> None:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(html_assets.SCRIPT.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in html_assets.CSP


def test_html_lists_input_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ncandidate: {name: B}\npeople: []\nevents:\n  - {id: x, at: nope, type: interview}\n")
    code, out = audit(str(broken), "--as-of", AS_OF, "--format", "html")
    assert code == 2
    page = out.decode()
    assert 'id="input-errors"' in page and "broken.yaml:5:" in page
    assert "0</b><span>histories audited" in page


def test_html_history_without_events_or_findings() -> None:
    pack = load_pack("interview-follow-up")
    out = io.StringIO()
    fmt = html_format.Formatter(out, Context("0", pack, datetime(2026, 11, 13, 12, tzinfo=UTC), "error"))
    fmt.begin()
    fmt.history(HistoryResult("quiet.yaml", "Quiet", (), History("quiet.yaml", "UTC", Candidate("Quiet"), (), ())))
    fmt.history(HistoryResult("gone.yaml", "Gone", (), None))
    fmt.end(Summary(histories=2))
    page = out.getvalue()
    assert page.count("Nothing to report") == 2
    assert "<svg class=\"timeline\"" not in page  # nothing to draw
    assert "Passes --fail-on error" in page
    assert not parse(page).unbalanced


def test_axis_ticks_are_round_local_times() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("America/New_York")
    days = html_history.make_axis([datetime(2026, 10, 20, 13, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)], tz)
    ticks = days.ticks()
    assert 3 <= len(ticks) <= html_words.MAX_TICKS
    assert all(t.hour == 0 and t.minute == 0 and t.weekday() == 0 for t, _ in ticks)  # Mondays, local midnight
    assert ticks[0][1].endswith("2026")
    hours = html_history.make_axis([datetime(2026, 11, 2, 14, tzinfo=UTC), datetime(2026, 11, 2, 22, tzinfo=UTC)], tz)
    assert [label for _, label in hours.ticks()][:3] == ["2 Nov 09:00", "10:00", "11:00"]
    years = html_history.make_axis([datetime(2024, 1, 5, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)], tz)
    assert all(t.day == 1 for t, _ in years.ticks())


def test_relative_times() -> None:
    assert html_words.relative(6 * 86400 + 5) == "in 6 days"
    assert html_words.relative(-10 * 86400) == "10 days ago"
    assert html_words.relative(15 * 86400) == "in 2 weeks"
    assert html_words.relative(3 * 3600) == "in 3 hours"
    assert html_words.relative(30) == "now"


# --- ICS ------------------------------------------------------------------------------------------


def test_text_escaping() -> None:
    assert ics.escape_text("a\\b;c,d\ne\r\nf\x07g\th") == "a\\\\b\\;c\\,d\\ne\\nfg\th"


@pytest.mark.parametrize("text", ["x" * 200, "é" * 100, "🙂" * 40, "a" + "日本語" * 60, "short"])
def test_folding_at_75_octets_keeps_utf8_whole(text: str) -> None:
    folded = ics.fold("DESCRIPTION:" + text)
    assert folded.endswith("\r\n")
    lines = folded[:-2].split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert all(line.startswith(" ") for line in lines[1:])
    assert "".join([lines[0], *(line[1:] for line in lines[1:])]) == "DESCRIPTION:" + text


def test_ics_one_vtodo_per_next_step_read_back(alex: Path) -> None:
    jane = str(ROOT / "examples" / "jane.yaml")
    code, out = audit(str(alex), jane, "--as-of", AS_OF, "--format", "ics")
    assert code == 1
    assert b"\n" not in out.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 75 for line in out.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(out)
    assert str(cal["VERSION"]) == "2.0" and "followup" in str(cal["PRODID"])
    todos = cal.walk("VTODO")
    report = json_report(str(alex), jane, "--as-of", AS_OF)
    histories = report["histories"]
    assert isinstance(histories, list)
    steps = [f for h in histories for f in h["findings"] if f["kind"] == "next_step"]
    assert len(todos) == len(steps) > 1
    assert sorted(t["DUE"].dt for t in todos) == sorted(datetime.fromisoformat(f["due"]) for f in steps)
    assert all(t["DUE"].dt.tzinfo is not None and t["DUE"].dt.utcoffset().total_seconds() == 0 for t in todos)
    assert len({str(t["UID"]) for t in todos}) == len(todos)
    assert all(str(t["UID"]).endswith("@followup") for t in todos)
    assert all(t["DTSTAMP"].dt == datetime(2026, 11, 13, 12, tzinfo=UTC) for t in todos)
    jane_todo = next(t for t in todos if "Acme" in str(t["SUMMARY"]))
    assert str(jane_todo["SUMMARY"]) == "Jane Doe: Call Kim Lee and Raj Patel at Acme to check in"  # a batch
    description = str(jane_todo["DESCRIPTION"])
    assert "No news from Acme since Thu 12 Nov 2026: call Kim Lee and Raj Patel to check in on Thu 19 Nov 2026 15:00 EST" in description
    assert "one call to the interviewer shows you are still interested" in description  # the rationale
    note = next(t for t in todos if "handwritten" in str(t["SUMMARY"]))
    assert str(note["SUMMARY"]).endswith("at Globex a handwritten thank-you note")
    assert "Alex <i>Kim</i>" in str(note["DESCRIPTION"])  # text, unescaped back by the reader


def test_ics_is_deterministic_and_uids_are_stable(alex: Path, tmp_path: Path) -> None:
    first = audit(str(alex), "--as-of", AS_OF, "--format", "ics")[1]
    assert audit(str(alex), "--as-of", AS_OF, "--format", "ics")[1] == first
    later = audit(str(alex), "--as-of", "2026-11-14T09:00Z", "--format", "ics")[1]
    moved = tmp_path / "elsewhere" / "renamed.yaml"
    moved.parent.mkdir()
    moved.write_text(alex.read_text())
    again = audit(str(moved), "--as-of", AS_OF, "--format", "ics")[1]

    def uids(data: bytes) -> dict[str, str]:
        return {str(t["UID"]): str(t["SUMMARY"]) for t in icalendar.Calendar.from_ical(data).walk("VTODO")}

    assert uids(later) == uids(first) == uids(again)
    assert b"DTSTAMP:20261114T090000Z" in later


def test_uid_depends_on_candidate_rule_subject_and_person() -> None:
    f = Finding("tell-references", "next_step", "info", "i1", "sam", ("i1",), None, "m")
    base = ics.uid("jane", f)
    assert base == ics.uid("jane", replace(f, message="other", due=datetime(2030, 1, 1, tzinfo=UTC)))
    assert len({base, ics.uid("john", f), ics.uid("jane", replace(f, person="ana")),
                ics.uid("jane", replace(f, subject="i2")), ics.uid("jane", replace(f, rule="x"))}) == 5


def test_ics_errors_and_unknown_rules(tmp_path: Path) -> None:
    pack = load_pack("interview-follow-up")
    context = Context("0.1", pack, datetime(2026, 11, 13, 12, tzinfo=UTC), "error")
    out = io.StringIO()
    fmt = ics.Formatter(out, context)
    fmt.begin()
    step = Finding("custom-rule", "next_step", "info", "i9", None, ("i9",), datetime(2026, 11, 20, tzinfo=UTC),
                   "Do the thing; now, please\nreally")
    fmt.history(HistoryResult("-", "Someone", (step,), None))
    fmt.error(Problem("bad.yaml", 7, 5, "unknown type 'meating'; did you mean 'meeting'?"))
    fmt.end(Summary())
    cal = icalendar.Calendar.from_ical(out.getvalue())
    (todo,) = cal.walk("VTODO")
    assert str(todo["SUMMARY"]) == "Do the thing; now, please\nreally"
    assert "SUMMARY:Do the thing\\; now\\, please\\nreally\r\n" in out.getvalue()
    (err,) = cal.walk("X-FOLLOWUP-ERROR")
    assert str(err["DESCRIPTION"]).startswith("unknown type 'meating'")
    assert out.getvalue().endswith("END:VCALENDAR\r\n")
