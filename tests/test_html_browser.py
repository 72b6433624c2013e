"""``--format html`` in a real browser: Debian's headless chromium renders the page.

Screenshots at phone and desktop width, the DOM after the browser parsed (and ran) the page, the
severity filter, the page without JavaScript, layout measurements and the absence of any network
request. Skipped only when chromium is missing outside CI; in CI (``CI`` set) a missing chromium
fails. Set ``FOLLOWUP_UPDATE_SCREENSHOT=1`` to rewrite ``docs/timeline.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from followup.cli import cli

AS_OF = "2026-11-25T12:00Z"
EXAMPLES = ("struggling.yaml", "upcoming.yaml", "jane.yaml")
HOSTILE = "<script>alert(1)</script>"
HOSTILE_HISTORY = f"""\
version: 1
timezone: UTC
candidate: {{name: "Eve <img src=x onerror=alert(2)>"}}
people:
  - {{id: kim, name: "Kim <iframe src=https://evil.example/></iframe>", role: interviewer, company: Acme}}
events:
  - {{id: i1, at: 2026-11-02T10:00, type: interview, company: "Acme\\" onclick=\\"alert(3)", with: [kim]}}
  - {{id: e1, at: 2026-11-02T16:00, type: email, direction: sent, to: kim, about: i1, purpose: thank_you,
     proofread_by: kim, includes: [thanks, interest, fit, contact_info], body: "{HOSTILE} see https://evil.example/"}}
"""
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # should anything try the network, it finds nothing
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI is set: the browser tests must run in CI")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these tests")
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser")


def render(paths: list[str], out: Path, as_of: str = AS_OF) -> None:
    result = CliRunner().invoke(cli, ["audit", *paths, "--as-of", as_of, "--format", "html", "--output", str(out)])
    assert result.exit_code in (0, 1), result.output
    assert out.stat().st_size > 1000


@pytest.fixture(scope="module")
def report(workdir: Path) -> Path:
    """The three example histories in one page."""
    out = workdir / "report.html"
    render([str(ROOT / "examples" / name) for name in EXAMPLES], out)
    return out


@pytest.fixture(scope="module")
def hostile(workdir: Path) -> Path:
    source = workdir / "eve.yaml"
    source.write_text(HOSTILE_HISTORY, encoding="utf-8")
    out = workdir / "hostile.html"
    render([str(source)], out)
    return out


def browse(chromium: str, workdir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)  # a fresh profile every time
    try:
        return subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", *args, url],
            capture_output=True, text=True, timeout=120, check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(chromium: str, workdir: Path, page: Path, *args: str, fragment: str = "") -> str:
    done = browse(chromium, workdir, page.as_uri() + fragment, "--dump-dom", *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "</html>" in done.stdout
    return done.stdout


class Dom(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, *classes: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if set(classes) <= set(a.get("class", "").split())]

    def tags(self, name: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == name]


def json_findings(paths: list[str]) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["audit", *paths, "--as-of", AS_OF, "--format", "json"])
    return [f for h in json.loads(result.stdout_bytes)["histories"] for f in h["findings"]]


# --- screenshots ---------------------------------------------------------------------------------


def png_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values the image data holds (a blank page: few)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_screenshots(chromium: str, workdir: Path, report: Path, width: int, height: int) -> None:
    shot = workdir / f"shot-{width}.png"
    done = browse(chromium, workdir, report.as_uri(), f"--screenshot={shot}", f"--window-size={width},{height}")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert len(data) > 20_000  # text, chips and colours, not a blank page
    w, h, distinct = png_facts(data)
    assert (w, h) == (width, height)
    assert distinct > 100


def test_docs_screenshot(chromium: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/timeline.png is a real desktop screenshot (rewritten with FOLLOWUP_UPDATE_SCREENSHOT=1)."""
    target = ROOT / "docs" / "timeline.png"
    if os.environ.get("FOLLOWUP_UPDATE_SCREENSHOT"):
        page = workdir / "docs.html"
        monkeypatch.chdir(ROOT)  # the page shows the path as a user would type it
        render(["examples/struggling.yaml"], page, as_of="2026-11-17T12:00Z")
        done = browse(chromium, workdir, page.as_uri(), f"--screenshot={target}", "--window-size=1280,1000")
        assert done.returncode == 0, done.stderr[-2000:]
    width, _, distinct = png_facts(target.read_bytes())
    assert width == 1280 and distinct > 100


# --- the DOM -------------------------------------------------------------------------------------


def test_dom_has_a_mark_per_event_and_finding(chromium: str, workdir: Path, report: Path) -> None:
    dom = Dom(dump_dom(chromium, workdir, report))
    marks = dom.having("event-mark")
    assert all(m.get("data-event-id") for m in marks)
    # struggling: 8 events, upcoming: 2, jane: 7
    assert len(marks) == 17
    assert [m["data-event-id"] for m in marks[-7:]] == ["s1", "h1", "i1", "e1", "n1", "c1", "r1"]
    findings = json_findings([str(ROOT / "examples" / n) for n in EXAMPLES])
    violations = dom.having("finding-mark", "violation")
    steps = dom.having("finding-mark", "next-step")
    assert len(violations) == sum(f["kind"] == "violation" for f in findings) == 12
    assert len(steps) == sum(f["kind"] == "next_step" for f in findings) == 5
    for severity in ("error", "warning"):
        expected = sum(f["kind"] == "violation" and f["severity"] == severity for f in findings)
        assert len(dom.having("finding-mark", f"severity-{severity}")) == expected
    # every violation badge sits on an event of its history and names its rule
    assert {v["data-subject"] for v in violations} <= {m["data-event-id"] for m in marks}
    assert all(v["data-rule"] for v in violations)
    text = "".join(dom.text)
    assert "As of Wed 25 Nov 2026 12:00 GMT" in text and "As of Wed 25 Nov 2026 06:00 CST" in text
    assert "Don't friend or follow the interviewer" in text  # the rule's title from the pack


def test_hostile_text_stays_text(chromium: str, workdir: Path, hostile: Path) -> None:
    source = hostile.read_text(encoding="utf-8")
    assert HOSTILE not in source
    dom = Dom(dump_dom(chromium, workdir, hostile))
    assert len(dom.tags("script")) == 1  # only the page's own filter script
    assert not dom.tags("img") and not dom.tags("iframe")
    assert not [a for _, a in dom.elements if any(k.startswith("on") for k in a)]
    text = "".join(dom.text)
    assert HOSTILE in text  # shown, as text
    assert "Eve <img src=x onerror=alert(2)>" in text
    # no URL anywhere but inside escaped text
    for _, attrs in dom.elements:
        assert not any(re.search(r"https?://", v) for v in attrs.values()), attrs
    stripped = re.sub(r"https://evil\.example/(&gt;&lt;/iframe&gt;)?", "", source)
    assert re.search(r"https?://", stripped) is None


def test_filters_hide_and_show(chromium: str, workdir: Path, report: Path) -> None:
    dom = Dom(dump_dom(chromium, workdir, report, fragment="#hide=warning,next-step"))
    fieldset = dom.tags("fieldset")[0]
    assert "hidden" not in fieldset  # the script shows the filters
    filtered = dom.having("filtered")
    assert filtered and {f["data-filter"] for f in filtered} == {"warning", "next-step"}
    assert not [a for a in dom.having("finding-mark") if a["data-filter"] == "error" and "filtered" in a["class"]]


def test_without_javascript_everything_shows(chromium: str, workdir: Path, report: Path) -> None:
    # --dump-dom needs JavaScript itself, so the page's script is kept from running by its CSP.
    page = report.read_text(encoding="utf-8")
    blocked = re.sub(r"script-src 'sha256-[^']+'", "script-src 'none'", page)
    assert blocked != page
    copy = workdir / "no-script.html"
    copy.write_text(blocked, encoding="utf-8")
    dom = Dom(dump_dom(chromium, workdir, copy, fragment="#hide=warning"))
    assert "hidden" in dom.tags("fieldset")[0]  # no checkboxes that would do nothing
    assert not dom.having("filtered")
    assert len(dom.having("finding-mark")) == 17


# --- layout and network --------------------------------------------------------------------------

PROBE = """<script>
var svg = document.querySelector('svg.timeline').getBoundingClientRect();
var box = document.querySelector('.timeline-scroll').getBoundingClientRect();
var size = parseFloat(getComputedStyle(document.body).fontSize);
parent.postMessage(JSON.stringify({
  scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
  svg: svg.width, box: box.right, font: size,
  resources: performance.getEntriesByType('resource').map(function (r) { return r.name; })
}), '*');
</script>"""


@pytest.fixture(scope="module")
def probe(report: Path, workdir: Path) -> Path:
    """A copy of the report that measures itself (its CSP lifted for the probe script only)."""
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', "", report.read_text(encoding="utf-8"))
    copy = workdir / "probe.html"
    copy.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return copy


@pytest.mark.parametrize("width", [390, 1280])
def test_layout_fits_and_nothing_is_fetched(chromium: str, workdir: Path, probe: Path, width: int) -> None:
    # An iframe gives the page an exact viewport (a headless window is at least 500px wide).
    frame = workdir / f"frame-{width}.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{probe.name}" '
        f'style="width:{width}px;height:900px;border:0"></iframe><script>'
        "addEventListener('message', function (e) { document.body.setAttribute('data-probe', e.data); });"
        "</script></body></html>",
        encoding="utf-8",
    )
    dom = Dom(dump_dom(chromium, workdir, frame, "--virtual-time-budget=5000"))
    body = dom.tags("body")[0]
    assert "data-probe" in body, "the probe did not report"
    facts = json.loads(body["data-probe"])
    assert facts["resources"] == []  # no font, image, style or script loaded from anywhere
    assert facts["scroll"] <= facts["client"]  # no sideways scrolling of the page itself
    assert facts["box"] <= facts["client"]  # the timeline scrolls inside its own box
    assert facts["font"] >= 15
    if width >= 1000:
        assert facts["svg"] >= 900  # the timeline uses the width it gets
    else:
        assert facts["svg"] >= 700  # readable: wider than the phone, scrolled sideways
