"""Unit tests of the small modules: expressions, templates, facts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import make_history
from followup.compile import Patterns, history_facts
from followup.compile import expr as ex
from followup.compile import template as tpl


def test_expressions_parse_resolve_and_compile() -> None:
    parsed = ex.parse("i.start + within - 1h")
    resolved = ex.fold(ex.resolve(parsed, {"within": 86400}, frozenset({"i"})))
    assert ex.to_durable(resolved) == {"$sub": {"$l": {"$add": {"$l": {"i": "start"}, "$r": 86400}}, "$r": 3600}}
    assert ex.evaluate(resolved, {"i": {"start": 100}}) == 100 + 86400 - 3600
    assert ex.fold(ex.resolve(ex.parse("most + 1"), {"most": 2}, frozenset())) == ex.Const(3)


@pytest.mark.parametrize("text", ["", "+", "i.at +", "i.at + + 1", "i.at * 2", "2x"])
def test_bad_expressions_are_refused(text: str) -> None:
    with pytest.raises(ex.ExprError):
        ex.parse(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90m", 5400), ("24h", 86400), ("7d", 604800), ("2w", 1209600), ("1 day", None)]
)
def test_durations(text: str, seconds: int | None) -> None:
    assert ex.parse_duration(text) == seconds


def test_templates_render_times_in_the_history_zone_and_durations() -> None:
    raw = tpl.parse("due {due.at|time} ({d.at - d.start|duration}); lacks {e|missing:thanks,fit}; {s.action|words}")
    names = frozenset({"due", "d", "e", "s"})
    parts = tuple(
        p if isinstance(p, str) else tpl.Placeholder(ex.resolve(p.expr, {}, names), p.filter, p.args) for p in raw
    )
    bindings = {
        "due": {"at": 1793700000},
        "d": {"at": 90061, "start": 0},
        "e": {"thanks": True, "fit": False},
        "s": {"action": "friend_request"},
    }
    text = tpl.render(parts, bindings, ZoneInfo("America/New_York"))
    assert text == "due Tue 3 Nov 2026 05:00 EST (1 day 1 hour); lacks why you fit the job; friend request"


def test_unknown_filter_is_an_error() -> None:
    with pytest.raises(tpl.TemplateError, match="unknown filter 'tme'"):
        tpl.parse("{i.at|tme}")


def test_facts_flatten_recipients_and_resolve_companies() -> None:
    history = make_history(
        [
            {
                "id": "i1",
                "at": "2026-11-02T10:00Z",
                "ends": "2026-11-02T11:00Z",
                "type": "interview",
                "company": "Acme",
                "with": ["kim"],
            },
            {
                "id": "e1",
                "at": "2026-11-02T12:00Z",
                "type": "email",
                "direction": "sent",
                "to": ["kim", "ray"],
                "purpose": "thank_you",
                "body": "Thank you! Reach me at jane@example.com",
            },
            {"id": "d1", "at": "2026-11-05T12:00Z", "type": "decision", "about": "i1", "outcome": "offer"},
            {
                "id": "p1",
                "at": "2026-11-05T13:00Z",
                "type": "social",
                "action": "post",
                "body": "Offer from ACME after my Interview!",
            },
        ],
        as_of=datetime.fromisoformat("2026-11-10T00:00+00:00"),
    )
    facts = history_facts(
        history, Patterns({"thanks": ("thank",), "contact_info": (r"\S+@\S+",), "interview": (r"\binterview",)})
    )
    by_type: dict[str, list[dict[str, object]]] = {}
    for f in facts:
        by_type.setdefault(str(f["t"]), []).append(f)
    assert [(f["person"], f["event"]) for f in by_type["to"]] == [("kim", "e1"), ("ray", "e1")]
    assert {f["person"] for f in by_type["member"]} == {"kim", "ray"}  # met + works at Acme
    assert [f["person"] for f in by_type["met"]] == ["kim"]
    [interview] = by_type["interview"]
    assert interview["start"] == interview["at"] + 3600
    [email] = by_type["email"]
    assert (email["thanks"], email["contact_info"], email["interest"], email["proofread"]) == (True, True, False, False)
    [decision] = by_type["decision"]
    assert decision["co"] == "acme"  # company through `about`
    [post] = by_type["social"]
    assert post["interview_word"] is True
    assert [m["co"] for m in by_type["mention"]] == ["acme"]
    assert not any("id" in f for f in facts)  # durable_rules mis-joins on `id`


@pytest.mark.parametrize("text", ["{e.at|date", "due e.at|date}", "{a.b} {"])
def test_unmatched_braces_are_errors(text: str) -> None:
    with pytest.raises(tpl.TemplateError, match="unmatched"):
        tpl.parse(text)


def test_yaml_syntax_errors_get_plain_hints() -> None:
    from followup.diagnostics import InputError
    from followup.io import load_document

    with pytest.raises(InputError, match="indent with spaces, not tabs"):
        load_document("version: 1\ncandidate:\n\tname: Tom\n", "h.yaml")
    with pytest.raises(InputError) as caught:
        load_document('a: 1\nb: "open\nc: 2\n', "h.yaml")
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (2, 4)
    assert "never closed" in problem.message
