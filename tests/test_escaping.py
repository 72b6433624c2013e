"""Hostile text from histories and file names, through every report format of the installed
command: nothing forges a CI workflow command line, reaches a terminal raw, goes live in Markdown
or breaks a document; a file name with a newline or a colon is quoted in ``file:line:col`` lines."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from junitparser import JUnitXml

from followup.diagnostics import UNSAFE, Problem, display_path, printable
from followup.report import FORMATS
from followup.report.github import escape_data
from followup.report.ics import fold
from followup.report.markdown import WORD_JOINER, cell

FOLLOWUP = str(Path(sys.executable).parent / "followup")
AS_OF = "2026-11-06T12:00"

# Lines a CI runner would obey (GitHub: "::cmd" at a line's start, leading blanks trimmed; the
# legacy "##[cmd]", Azure's "##vso[" and TeamCity's "##teamcity[" anywhere in a line).
LOG_COMMANDS = [
    "\n::error file=x.yaml,line=1::pwned",
    "\r\n::add-mask::s3cret",
    "\n  ::stop-commands::tok",
    "\u2028::error::after-a-line-separator",
    "\x85::error::after-nel",
    "##[add-mask]x",
    "##vso[task.setvariable variable=a]b",
]
TERMINAL = ["\x1b[31mred\x1b[0m", "\x07bell", "\x00nul", "\x08\x0b\x0c\x7f\x9b", "\ufffe"]
BIDI = ["\u202eevil\u202c", "\u2066iso\u2069", "\u202a\u202b\u202d"]
MARKDOWN = [
    "@octocat",
    "#1",
    "GH-2",
    "https://evil.example/x",
    "www.evil.example",
    "eve@evil.example",
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "[link](javascript:alert(1))",
    "![img](https://evil.example/i.png)",
    "a | b",
    "*em* _em_ `code` ~~s~~ &amp; $x$",
]
# Ordinary text that must print exactly as written.
KIND = "José Müller 中文 🙂"


def hostile(label: str, parts: list[str]) -> str:
    return label + " " + " ".join(parts)


NAME = hostile("Eve", LOG_COMMANDS[:1] + TERMINAL[:1] + BIDI[:1] + MARKDOWN[:3] + [KIND])
KIM = hostile("Kim", LOG_COMMANDS[1:3] + TERMINAL[1:3] + MARKDOWN[3:8])
RAE = hostile("Rae", LOG_COMMANDS[3:5] + BIDI[1:] + MARKDOWN[8:])
COMPANY = hostile("Acme", LOG_COMMANDS[5:] + TERMINAL[3:] + ["|", "#12", "@acme"])
NETWORK = hostile("Link", ["\n::warning::net", "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"])
POSITION = hostile("Dev", ["\r\n::notice::pos", "<b>bold</b>"])
SUBJECT = hostile("Thanks", ["\n::error::subject", "@team"])
BODY = "Hi\n::error::body\n##[error]body\n\x1b[2J" + " ".join(MARKDOWN)
# Ids are free text too (the schema only asks for one character at least).
EVENT_ID = "i\n::error::id"
PERSON_ID = "kim\x1b[1m"


def history_yaml() -> str:
    doc = {
        "version": 1,
        "timezone": "America/New_York",
        "candidate": {"name": NAME, "email": "eve@example.com"},
        "people": [
            {"id": PERSON_ID, "name": KIM, "role": "interviewer", "company": COMPANY},
            {"id": "rae", "name": RAE, "role": "reference"},
        ],
        "events": [
            {"id": EVENT_ID, "at": "2026-11-02T10:00", "ends": "2026-11-02T11:00", "type": "interview",
             "company": COMPANY, "with": [PERSON_ID], "position": POSITION},
            {"id": "s1", "at": "2026-11-03T09:00", "type": "social", "action": "friend_request",
             "network": NETWORK, "target": PERSON_ID},
            {"id": "e1", "at": "2026-11-04T09:00", "type": "email", "direction": "sent", "to": PERSON_ID,
             "about": EVENT_ID, "purpose": "thank_you", "subject": SUBJECT, "body": BODY},
        ],
    }
    # JSON is YAML; what YAML may not hold raw is written as an escape (not the emoji: PyYAML
    # does not join a surrogate pair).
    text = json.dumps(doc, ensure_ascii=False)
    return re.sub("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe]", lambda m: f"\\u{ord(m[0]):04x}", text)


SIMPLE = """\
version: 1
candidate: {name: Sam Simple}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme, with: [kim]}
"""
BROKEN = """\
version: 1
candidate: {name: Bad Bob}
events:
  - {id: i1, at: 2026-11-02T10:00, type: interveiw, company: Acme, with: []}
"""
# File names a folder may hold; each with a history that has findings or an input error.
WEIRD_FILES = {
    "new\n::error::line.yaml": SIMPLE,
    "co:lon.yaml": SIMPLE,
    "esc\x1b[31m.yaml": SIMPLE,
    "bad\n::warning::x.yaml": BROKEN,
    "bad:colon.yaml": BROKEN,
}
# What must never appear raw in any format (CR and LF aside: ICS ends its lines with CRLF).
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
OUR_ANNOTATION = re.compile(r"::(error|warning|notice)( (file|line|col|title)=[^,:]*(,(file|line|col|title)=[^,:]*)*)?::")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("escaping")
    folder = root / "histories"
    folder.mkdir()
    (folder / "hostile.yaml").write_text(history_yaml(), encoding="utf-8")
    for name, text in WEIRD_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (root / "waivers.yaml").write_text(
        "waivers:\n"
        "  - rule: no-friending-interviewer\n"
        "    history: histories/hostile.yaml\n"
        "    subject: s1\n"
        f"    reason: {json.dumps('cousin' + LOG_COMMANDS[0] + TERMINAL[0] + ' @octocat')}\n"
        "    approved_by: coach@example.com\n"
        "    expires: 2026-12-31\n",
        encoding="utf-8",
    )
    return root


def run(workdir: Path, fmt: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [FOLLOWUP, "audit", "histories", "--as-of", AS_OF, "--format", fmt, "--waivers", "waivers.yaml"],
        capture_output=True,
        cwd=workdir,
        timeout=120,
    )


@pytest.fixture(scope="module")
def outputs(workdir: Path) -> dict[str, tuple[str, str]]:
    """Each format's stdout and stderr, decoded strictly (a report is always valid UTF-8)."""
    done: dict[str, tuple[str, str]] = {}
    for fmt in FORMATS:
        result = run(workdir, fmt)
        assert result.returncode == 2, (fmt, result.stderr)  # the broken files are input errors
        assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr
        done[fmt] = (result.stdout.decode("utf-8"), result.stderr.decode("utf-8"))
    return done


def lines(text: str) -> list[str]:
    return re.split(r"\r\n|\n", text)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_line_is_a_ci_command(outputs: dict[str, tuple[str, str]], fmt: str) -> None:
    out, err = outputs[fmt]
    for line in lines(out) + lines(err):
        if fmt == "github" and line in lines(out) and OUR_ANNOTATION.match(line):
            continue
        assert not line.lstrip().startswith("::"), (fmt, line)
        assert not re.search(r"##[A-Za-z]*\[", line), (fmt, line)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_raw_control_or_bidi_character(outputs: dict[str, tuple[str, str]], fmt: str) -> None:
    out, err = outputs[fmt]
    assert not RAW_CONTROL.findall(out), fmt
    assert not RAW_CONTROL.findall(err), fmt
    allowed_breaks = "\r\n" if fmt == "ics" else "\n"
    assert set(re.findall(r"[\r\n]+", out)) <= {allowed_breaks, allowed_breaks * 2, allowed_breaks * 3}, fmt
    if fmt in ("text", "github", "markdown"):
        assert "\t" not in out and "\r" not in out


def test_text_report_escapes_readably_and_keeps_ordinary_text(outputs: dict[str, tuple[str, str]]) -> None:
    out, _ = outputs["text"]
    header = next(line for line in lines(out) if line.startswith("histories/hostile.yaml — "))
    assert printable(NAME) in header
    assert "Eve \\n::error file=x.yaml,line=1::pwned \\x1b[31mred\\x1b[0m \\u202eevil\\u202c @octocat" in header
    assert KIND in header  # accents, CJK and emoji as written
    assert "Kim \\r\\n::add-mask::s3cret \\n  ::stop-commands::tok \\x07bell" in out
    assert "Acme ##\\x5badd-mask]x ##vso\\x5btask.setvariable variable=a]b \\x08\\x0b\\x0c\\x7f\\x9b" in out
    assert "i\\n::error::id" in out  # the subject (an event id)


def test_github_annotations_are_one_line_each(outputs: dict[str, tuple[str, str]]) -> None:
    out, _ = outputs["github"]
    annotations = [line for line in lines(out) if line.startswith("::")]
    assert annotations and all(OUR_ANNOTATION.match(line) for line in annotations)
    assert lines(out)[-2].startswith("followup: ")  # the summary, then the final newline
    # Beyond what GitHub shows per step, findings are plain indented lines that are not commands.
    assert all(line.startswith(("::", "  ", "followup: ")) for line in lines(out)[:-1])
    assert not any(line.lstrip().startswith("::") for line in lines(out) if not line.startswith("::"))
    assert any("Eve %0A::error file=x.yaml,line=1::pwned \\x1b[31mred\\x1b[0m \\u202eevil" in a for a in annotations)
    # A file name the runner can match keeps file= (its colon %-escaped); others are named, quoted.
    assert any(a.startswith("::error file=histories/bad%3Acolon.yaml,line=4,col=") for a in annotations)
    assert any("file=histories/co%3Alon.yaml," in a for a in annotations)
    newline = [a for a in annotations if '"histories/new\\n::error::line.yaml":' in a]
    assert newline and not any("file=" in a.split("::")[1] for a in newline)
    assert any(a.startswith('::error::"histories/bad\\n::warning::x.yaml":4:') for a in annotations)


# What GitHub links, mentions or references in rendered text (see markdown.py); the rendered text
# is the source without its backslash escapes.
LIVE_ON_GITHUB = re.compile(
    r"(?:^|\W)@[A-Za-z0-9]|[\w.+-]@[A-Za-z0-9]|(?<![\w/])#\d|\bGH-\d|[a-z0-9+.-]://|\bwww\.", re.IGNORECASE
)
# What the report writes itself: line breaks in cells, the folded list, rule ids as code, a
# dollar sign as an entity.
OUR_HTML = re.compile(r"<br>|</?details>|<summary>|</summary>|`[a-z0-9-]+`|^\*\*Next steps\*\*$|&#36;")


def rendered_text(line: str) -> str:
    return re.sub(r"\\(.)", r"\1", line)


def unescaped(line: str, char: str) -> list[int]:
    """Positions of ``char`` in a Markdown line that are not backslash-escaped."""
    return [m.start() for m in re.finditer(r"(?<!\\)(?:\\\\)*" + re.escape(char), line)]


def test_markdown_has_no_live_mention_link_html_or_broken_table(outputs: dict[str, tuple[str, str]]) -> None:
    out, _ = outputs["markdown"]
    assert WORD_JOINER in out
    for line in lines(out):
        bare = OUR_HTML.sub("", line)
        for char in "<>[]`*_~&$":
            assert not unescaped(bare, char), (char, line)
        if not line.startswith(("#", "Audit time")):  # the report's own headings and time
            assert not LIVE_ON_GITHUB.search(rendered_text(bare)), line
    tables: list[list[str]] = []
    for line in lines(out):
        if line.startswith("|"):
            if tables and tables[-1]:
                tables[-1].append(line)
            else:
                tables.append([line])
        elif tables and tables[-1]:
            tables.append([])
    for table in filter(None, tables):
        widths = {len(unescaped(row.replace("\\\\", ""), "|")) for row in table}
        assert len(widths) == 1, table
    headings = [line for line in lines(out) if line.startswith("### ")]
    assert any(line.startswith("### histories/hostile.yaml — Eve <br>::error") for line in headings)
    assert KIND in out


def test_junit_parses(outputs: dict[str, tuple[str, str]]) -> None:
    out, _ = outputs["junit"]
    ET.fromstring(out.encode("utf-8"))
    xml = JUnitXml.fromstring(out.encode("utf-8"))
    names = [suite.name for suite in xml]
    assert any(name is not None and name.startswith("histories/hostile.yaml (Eve \\n::error") for name in names)
    assert '"histories/co:lon.yaml" (Sam Simple)' in names
    assert '"histories/new\\n::error::line.yaml" (Sam Simple)' in names
    errors = next(suite for suite in xml if suite.name == "input errors")
    classnames = {case.classname for case in errors}
    assert classnames == {'"histories/bad\\n::warning::x.yaml"', '"histories/bad:colon.yaml"'}


def test_json_and_sarif_parse_and_keep_the_text_exactly(outputs: dict[str, tuple[str, str]]) -> None:
    report = json.loads(outputs["json"][0])
    candidates = {h["candidate"] for h in report["histories"]}
    assert NAME in candidates
    sarif = json.loads(outputs["sarif"][0])
    results = sarif["runs"][0]["results"]
    assert any(r["properties"]["candidate"] == NAME for r in results)
    assert any(r["properties"]["subject"] == EVENT_ID for r in results)


def test_ics_reads_back(outputs: dict[str, tuple[str, str]]) -> None:
    calendar = icalendar.Calendar.from_ical(outputs["ics"][0])
    todos = list(calendar.walk("VTODO"))
    assert todos
    for todo in todos:
        for field in ("SUMMARY", "DESCRIPTION"):
            assert not RAW_CONTROL.search(str(todo[field]))
    assert any("Kim" in str(todo["SUMMARY"]) and "::add-mask::" in str(todo["SUMMARY"]) for todo in todos)


def test_html_keeps_hostile_text_as_text(outputs: dict[str, tuple[str, str]]) -> None:
    page = outputs["html"][0]
    assert "<img src=x" not in page and "<script>alert" not in page and "<b>bold" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Hi&#10;::error::body&#10;##&#91;error]body&#10;\\x1b[2J" in page
    assert page.count("<script>") == 1  # the report's own


def test_located_errors_quote_odd_file_names(outputs: dict[str, tuple[str, str]]) -> None:
    out, err = outputs["text"]
    assert err == ""  # the text report shows the input errors itself
    errors = [line for line in lines(out) if ":4:" in line]
    assert any(line.startswith('"histories/bad\\n::warning::x.yaml":4:') for line in errors)
    assert any(line.startswith('"histories/bad:colon.yaml":4:') for line in errors)
    # Each splits back into the file name and the position.
    located = re.compile(r'^("(?:[^"\\]|\\.)*"|[^:"][^:]*):(\d+):(\d+): ')
    for line in errors:
        match = located.match(line)
        assert match, line
        name = match.group(1)
        assert name.startswith('"') or ":" not in name
    assert any(line.startswith('"histories/co:lon.yaml" — Sam Simple') for line in lines(out))
    assert any(line.startswith('"histories/esc\\x1b[31m.yaml" — Sam Simple') for line in lines(out))
    assert "\nhistories/hostile.yaml — " in out  # an ordinary name, unquoted


def test_stderr_errors_are_quoted_too(workdir: Path) -> None:
    """With the report in a file, the input errors go to stderr, in the same form."""
    done = subprocess.run(
        [FOLLOWUP, "audit", "histories", "--as-of", AS_OF, "--format", "json", "-o", "report.json"],
        capture_output=True,
        cwd=workdir,
        timeout=120,
    )
    assert done.returncode == 2
    err = done.stderr.decode("utf-8")
    assert '"histories/bad\\n::warning::x.yaml":4:' in err and '"histories/bad:colon.yaml":4:' in err
    assert not any(line.lstrip().startswith("::") for line in err.split("\n"))


# -- the building blocks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, café, 中文, 🙂, C:\\path", "plain text, café, 中文, 🙂, C:\\path"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b[31m\x07\x00\x7f\x85\x9b", "\\x1b[31m\\x07\\x00\\x7f\\x85\\x9b"),
        ("\u2028\u2029\u202a\u202e\u2066\u2069\ufffe\ud800", "\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069\\ufffe\\ud800"),
        ("x ##[add-mask]y ##vso[task.x]z ##teamcity[m]", "x ##\\x5badd-mask]y ##vso\\x5btask.x]z ##teamcity\\x5bm]"),
        ("## heading [x]", "## heading [x]"),
    ],
)
def test_printable(text: str, expected: str) -> None:
    assert printable(text) == expected
    assert printable(expected) == expected  # applying it twice changes nothing


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("histories/jane.yaml", "histories/jane.yaml"),
        ("dossiers/José 中文.yaml", "dossiers/José 中文.yaml"),
        ("C:\\Users\\jo\\h.yaml", "C:\\Users\\jo\\h.yaml"),
        ("C:/Users/jo/h.yaml", "C:/Users/jo/h.yaml"),
        ("a:b.yaml", '"a:b.yaml"'),
        ("C:\\x\\a:b.yaml", '"C:\\\\x\\\\a:b.yaml"'),
        ("new\nline.yaml", '"new\\nline.yaml"'),
        ('"quoted".yaml', '"\\"quoted\\".yaml"'),
        ("bidi\u202e.yaml", '"bidi\\u202e.yaml"'),
        ("##[add-mask]x.yaml", '"##\\x5badd-mask]x.yaml"'),
    ],
)
def test_display_path(path: str, expected: str) -> None:
    assert display_path(path) == expected


def test_problem_is_one_line() -> None:
    problem = Problem("dir/a:b\n.yaml", 3, 5, "unknown person 'x'\n::error::y \x1b[2J")
    assert str(problem) == '"dir/a:b\\n.yaml":3:5: unknown person \'x\'\\n::error::y \\x1b[2J'
    assert str(Problem("histories/jane.yaml", 1, 2, "fine")) == "histories/jane.yaml:1:2: fine"


def test_github_escape_data_escapes_other_controls_readably() -> None:
    assert escape_data("a\nb\x1b[1m\u202e%") == "a%0Ab\\x1b[1m\\u202e%25"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@octocat", "@\u2060octocat"),
        ("mail eve@evil.example", "mail eve@\u2060evil.example"),
        ("see #12 and GH-3", "see \\#\u206012 and GH\u2060-3"),
        ("https://evil.example", "https\u2060://evil.example"),
        ("www.evil.example", "www\u2060.evil.example"),
        ("$x$", "&#36;x&#36;"),
        ("- item", "\\- item"),
        ("1. item", "1\\. item"),
        ("C# and @ alone", "C\\# and @ alone"),
        ("bell\x07", "bell\\\\x07"),
    ],
)
def test_markdown_cell_neutralises_what_github_links(text: str, expected: str) -> None:
    assert cell(text) == expected


@pytest.mark.parametrize("offset", range(60, 80))
def test_ics_folding_never_starts_a_line_with_two_colons(offset: int) -> None:
    line = "DESCRIPTION:" + "x" * offset + "::error::pwned é" * 8
    folded = fold(line)[:-2].split("\r\n")
    assert not any(part.lstrip().startswith("::") for part in folded)
    assert "".join([folded[0], *(part[1:] for part in folded[1:])]) == line
    assert all(len(part.encode()) <= 75 for part in folded)


# Text with a good share of what the escaping is about.
AWKWARD = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(list(":#@[]|\\\"$`<>&*_-.1a \n\r\t\x1b\x85\u2028\u202e\u2066")),
        st.sampled_from(["##[", "##vso[", "://", "www.", "GH-1", "C:\\", "@a", "#1", "a@b.c", "\n::error::"]),
    )
).map("".join)


@given(AWKWARD)
def test_printable_leaves_nothing_unsafe(text: str) -> None:
    out = printable(text)
    assert not UNSAFE.search(out) and not re.search(r"##[A-Za-z]*\[", out)
    assert printable(out) == out


@given(AWKWARD)
def test_display_path_is_a_python_literal_of_the_name(path: str) -> None:
    shown = display_path(path)
    if shown == path:
        assert ":" not in path[2:] and not UNSAFE.search(path)
    else:
        assert ast.literal_eval(shown) == path
        assert "\n" not in shown and not UNSAFE.search(shown)


@given(AWKWARD)
def test_markdown_cell_is_one_inert_line(text: str) -> None:
    out = cell(text)
    assert "\n" not in out and "\r" not in out and not UNSAFE.search(out)
    bare = OUR_HTML.sub(" ", out)
    for char in "<>[]`*_~|#&$":
        assert not unescaped(bare, char), (char, out)
    assert not LIVE_ON_GITHUB.search(rendered_text(bare)), out


def test_github_annotations_break_log_commands_of_other_ci_runners() -> None:
    """Azure Pipelines obeys `##vso[` anywhere in a line: an annotation's text never carries one."""
    from followup.report.github import command

    line = command("error", "Kim ##vso[task.setvariable variable=x]1 and ##[error]x", title="##teamcity[y]")
    assert "##vso[" not in line and "##[" not in line and "##teamcity[" not in line
    assert line.startswith("::error ")
