"""The HTML timeline's labels and badges do not overlap, at phone (390 px) and desktop (1280 px)
width, measured in Debian's headless chromium.

The page is rendered with its real style sheet; a probe script (the page's CSP, which admits only the
page's own script, is taken out for it) collects the on-screen box of every event label, finding
badge, reply glyph, next-step mark, lane label, "as of" label and tick label of each timeline and
reports every pair that intersects. The pages: each bundled example, and a generated history with
many events on one day (some of them with several findings), so that marks crowd together.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from followup.report.html_layout import (
    BADGE_PITCH,
    BADGE_ROWS,
    BADGE_SHIFT,
    BADGE_W,
    GLYPH_W,
    ID_SIZE,
    LABEL_ROWS,
    Mark,
    plan_lane,
    text_width,
)
from test_html_browser import Dom, chromium, dump_dom, render, workdir  # noqa: F401  (fixtures)

AS_OF = "2026-11-25T12:00Z"
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml") if p.name != "broken.yaml")  # broken: no timeline

PROBE = """<script>
(function () {
  var kinds = {
    'event label': '.event-mark .id', 'badge': '.badge rect', 'reply glyph': '.reply-glyph',
    'next step': '.next-step', 'lane label': '.lane-label', 'as-of label': '.asof-label',
    'tick label': '.tick-label', 'time zone': '.tz'
  };
  var found = [], boxes = 0;
  [].forEach.call(document.querySelectorAll('svg.timeline'), function (svg, n) {
    var items = [];
    Object.keys(kinds).forEach(function (kind) {
      [].forEach.call(svg.querySelectorAll(kinds[kind]), function (el) {
        var r = el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) {  // an element hidden by the style sheet takes no room
          var what = el.textContent || el.parentNode.getAttribute('data-subject') || '';
          items.push({kind: kind, what: what.trim().slice(0, 30), l: r.left, t: r.top, r: r.right, b: r.bottom});
        }
      });
    });
    boxes += items.length;
    for (var i = 0; i < items.length; i++) {
      for (var j = i + 1; j < items.length; j++) {
        var a = items[i], c = items[j];
        // half a pixel of anti-aliasing is not an overlap
        if (a.l < c.r - 0.5 && c.l < a.r - 0.5 && a.t < c.b - 0.5 && c.t < a.b - 0.5) {
          found.push(n + ': ' + a.kind + ' "' + a.what + '" × ' + c.kind + ' "' + c.what + '"');
        }
      }
    }
  });
  parent.postMessage(JSON.stringify({
    timelines: document.querySelectorAll('svg.timeline').length, boxes: boxes, overlaps: found
  }), '*');
})();
</script>"""


def dense_history() -> str:
    """Thirty events on one day, a month after the first contact: emails and calls every few minutes,
    thank-you notes sent late and without proofreading (several findings each), received emails and
    the replies to them."""
    start = datetime(2026, 11, 20, 9, 0)
    lines = [
        "version: 1", "timezone: Europe/Berlin", "candidate: {name: Dana Dense, email: dana@example.com}",
        "people:",
        "  - {id: ana, name: Ana Silva, role: interviewer, company: Globex}",
        "  - {id: ben, name: Ben Okafor, role: recruiter, company: Globex}",
        "  - {id: liz, name: Liz Wong, role: reference}",
        "events:",
        "  - {id: interview-1, at: 2026-10-20T10:00, type: interview, company: Globex, with: [ana, ben]}",
        "  - {id: interview-2, at: 2026-11-20T08:00, ends: 2026-11-20T09:00, type: interview, company: Globex, with: [ana]}",
    ]
    for i in range(30):
        at = (start + timedelta(minutes=7 * i)).isoformat(timespec="minutes")
        if i % 3 == 0 and i % 2 == 1:
            lines.append(f"  - {{id: call-{i}, at: {at}, type: call, direction: sent, to: ben, purpose: check_in}}")
        elif i % 3 == 1:
            lines.append(f"  - {{id: mail-{i}, at: {at}, type: email, direction: received, from: ben, body: News?}}")
        elif i % 3 == 2:
            lines.append(f"  - {{id: reply-{i}, at: {at}, type: email, direction: sent, to: ben, "
                         f"in_reply_to: mail-{i - 1}, body: Thanks}}")
        else:
            lines.append(f"  - {{id: mail-{i}, at: {at}, type: email, direction: sent, to: ana, "
                         f"purpose: thank_you, about: interview-1, body: Thanks}}")
    lines.append("  - {id: post-1, at: 2026-11-20T10:00, type: social, action: post, network: X, body: Nailed it}")
    lines.append("  - {id: friend-1, at: 2026-11-20T10:05, type: social, action: friend_request, network: Facebook, target: ana}")
    return "\n".join(lines) + "\n"


def measure(chromium: str, workdir: Path, page: Path, width: int) -> dict[str, object]:  # noqa: F811
    """The probe's findings for ``page`` shown in a frame exactly ``width`` CSS pixels wide."""
    source = page.read_text(encoding="utf-8")
    head, sep, tail = source.partition('<meta http-equiv="Content-Security-Policy"')
    assert sep, "the page has no CSP to lift"
    copy = page.with_name(f"probe-{page.stem}-{width}.html")
    copy.write_text((head + tail.partition(">")[2]).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    # An iframe gives the page an exact viewport (a headless window is at least 500px wide).
    frame = page.with_name(f"frame-{page.stem}-{width}.html")
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{copy.name}" '
        f'style="width:{width}px;height:900px;border:0"></iframe><script>'
        "addEventListener('message', function (e) { document.body.setAttribute('data-probe', e.data); });"
        "</script></body></html>",
        encoding="utf-8",
    )
    body = Dom(dump_dom(chromium, workdir, frame, "--virtual-time-budget=5000")).tags("body")[0]
    assert "data-probe" in body, "the probe did not report"
    facts: dict[str, object] = json.loads(body["data-probe"])
    return facts


# The examples as of the usual audit time, as of a day after their last event (a short span: marks spread
# out) and months later (a long span: a history's marks crowd into a few pixels).
PAGES = [("examples", AS_OF), ("examples", "2026-11-21T12:00Z"), ("examples", "2027-03-01T12:00Z"), ("dense", AS_OF)]


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize(("name", "as_of"), PAGES)
def test_labels_and_badges_do_not_overlap(chromium: str, workdir: Path, name: str, as_of: str, width: int) -> None:  # noqa: F811
    page = workdir / f"layout-{name}-{as_of[:10]}.html"
    if name == "dense":
        sources = [workdir / "dense.yaml"]
        sources[0].write_text(dense_history(), encoding="utf-8")
    else:
        sources = [ROOT / "examples" / example for example in EXAMPLES]
    if not page.exists():
        render([str(s) for s in sources], page, as_of=as_of)
    facts = measure(chromium, workdir, page, width)
    assert facts["timelines"] == len(sources)
    # labels, badges and ticks were measured (on a phone the event labels are hidden)
    assert isinstance(facts["boxes"], int) and facts["boxes"] >= 12 * len(sources)
    overlaps = facts["overlaps"]
    assert isinstance(overlaps, list)
    assert overlaps == [], f"{len(overlaps)} overlapping pairs, e.g. {overlaps[:5]}"


# --- the placement itself, without a browser ----------------------------------------------------


@given(st.lists(st.tuples(st.floats(150, 975), st.integers(0, 4), st.text("abcmw-0123456789", min_size=1, max_size=12),
                          st.booleans()), max_size=40))
def test_lane_plan_keeps_items_apart(marks: list[tuple[float, int, str, bool]]) -> None:
    """Badge groups, labels and glyphs of one lane, as boxes in viewBox units, never intersect; every
    badge is placed (labels and glyphs may be left out)."""
    lane = [Mark(f"m{i}", x, n, label, reply) for i, (x, n, label, reply) in enumerate(marks)]
    plan = plan_lane(lane, 52)
    boxes: list[tuple[float, float, float, float]] = []
    for m in lane:
        if m.badges:
            centre, row = plan.badges[m.key]
            assert abs(centre - m.x) <= BADGE_SHIFT or row >= BADGE_ROWS
            half = ((m.badges - 1) * BADGE_PITCH + BADGE_W) / 2
            y = plan.badge_y(row)
            boxes.append((centre - half, y - 8, centre + half, y + 8))
        if m.key in plan.labels:
            half = text_width(m.label, ID_SIZE) / 2
            y = plan.label_y(plan.labels[m.key])
            boxes.append((m.x - half, y - 10, m.x + half, y + 3))
        if m.key in plan.glyphs:
            boxes.append((m.x + 5, plan.cy - 19, m.x + 5 + GLYPH_W, plan.cy - 6))
    assert len([m for m in lane if m.badges]) == len(plan.badges)
    for i, a in enumerate(boxes):
        assert a[1] >= 0 and a[3] <= plan.height  # inside the lane
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_crowded_marks_stack_and_labels_give_way() -> None:
    lane = [Mark(f"e{i}", 500.0, 2, f"e{i}", False) for i in range(6)]
    plan = plan_lane(lane, 52)
    assert sorted(plan.badges.values()) != [(500.0, 0)] * 6  # not all on one spot
    assert len(plan.labels) == LABEL_ROWS  # two rows of labels, the rest left out
    assert plan.height > 52
