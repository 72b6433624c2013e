"""Replies (`in_reply_to`): what the history check refuses, and histories with the exact findings
they must give on both engines (tests/histories/replies/*.yaml).

A reply answers a received email or call: it is not a check-in (no early check-in, no repeated
contact, no check-in used up, no restart of the wait), and a reply with purpose thank_you is still
a thank-you.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import make_history
from followup.audit import Auditor
from followup.cli import cli
from followup.diagnostics import InputError
from followup.history import load_histories, parse_history
from followup.model import Finding

HISTORIES = Path(__file__).parent / "histories" / "replies"
AS_OF = datetime.fromisoformat("2026-11-30T12:00+00:00")


def record(finding: Finding) -> dict[str, object]:
    return {
        "rule": finding.rule,
        "kind": finding.kind,
        "subject": finding.subject,
        "person": finding.person,
        "due": None if finding.due is None else finding.due.isoformat(),
        "message": finding.message,
    }


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_history_gives_exactly_its_findings(
    path: Path, engine: str, auditor: Auditor, reference_auditor: Auditor
) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    as_of = datetime.fromisoformat(case["as_of"])
    history = parse_history(case["history"], {}, path.name, as_of)
    subject = auditor if engine == "durable" else reference_auditor
    assert [record(f) for f in subject.audit(history, as_of).findings] == case["findings"]


# -- the history check -----------------------------------------------------------------------------

INTERVIEW = {"id": "i1", "at": "2026-11-24T10:00", "type": "interview", "company": "Acme", "with": ["kim"]}
RECEIVED = {"id": "r1", "at": "2026-11-26T10:00", "type": "email", "direction": "received", "from": "ray"}


def problems(*events: dict[str, object]) -> list[tuple[str, str]]:
    """(JSON pointer, message) of each problem of a history of these events."""
    with pytest.raises(InputError) as caught:
        make_history([INTERVIEW, RECEIVED, *events], as_of=AS_OF)
    return [(p.pointer, p.message) for p in caught.value.problems]


def sent(kind: str = "email", at: str = "2026-11-26T11:00", **fields: object) -> dict[str, object]:
    return {"id": "e1", "at": at, "type": kind, "direction": "sent", "to": "ray", **fields}


def test_a_reply_to_an_earlier_received_email_or_call_is_accepted() -> None:
    call = {"id": "r2", "at": "2026-11-26T10:30", "type": "call", "direction": "received", "from": "kim"}
    history = make_history(
        [INTERVIEW, RECEIVED, call, sent(in_reply_to="r1"), sent("call", id="c1", in_reply_to="r2")], as_of=AS_OF
    )
    assert [e.get("in_reply_to") for e in history.events if e.id in ("e1", "c1")] == ["r1", "r2"]


def test_a_reply_in_the_same_minute_as_the_message_is_accepted() -> None:
    make_history([INTERVIEW, RECEIVED, sent(at="2026-11-26T10:00", in_reply_to="r1")], as_of=AS_OF)


def test_an_unknown_id_suggests_the_received_messages() -> None:
    assert problems(sent(in_reply_to="r11")) == [
        ("/events/2/in_reply_to", "unknown event 'r11' in 'in_reply_to'; did you mean 'r1'?")
    ]
    [(_, message)] = problems(sent(in_reply_to="zzz"))
    assert message == "unknown event 'zzz' in 'in_reply_to'; the received emails and calls are 'r1'"


def test_a_sent_message_cannot_be_answered() -> None:
    other = sent(id="e0", at="2026-11-26T10:30")
    assert problems(other, sent(in_reply_to="e0")) == [
        (
            "/events/3/in_reply_to",
            "'in_reply_to' must name a received email or call, but 'e0' is a sent email on line 1",
        )
    ]


def test_an_event_of_another_type_cannot_be_answered() -> None:
    [(pointer, message)] = problems(sent(in_reply_to="i1"))
    assert pointer == "/events/2/in_reply_to"
    assert message.startswith("'in_reply_to' must name a received email or call, but 'i1' is the interview event")


def test_a_reply_cannot_answer_a_later_message() -> None:
    [(pointer, message)] = problems(sent(at="2026-11-26T09:00", in_reply_to="r1"))
    assert pointer == "/events/2/in_reply_to"
    assert message == (
        "'in_reply_to' names 'r1' (line 1), received at 2026-11-26T10:00:00+00:00, after this email at "
        "2026-11-26T09:00:00+00:00: a reply answers an earlier message"
    )


def test_a_received_message_cannot_be_a_reply() -> None:
    answer = {"id": "r2", "at": "2026-11-26T12:00", "type": "call", "direction": "received", "from": "ray"}
    assert problems({**answer, "in_reply_to": "r1"}) == [
        (
            "/events/2/in_reply_to",
            "a received call cannot carry 'in_reply_to': it marks a sent email or call that answers a received one "
            "(put it on your answer)",
        )
    ]


def test_a_note_has_no_in_reply_to() -> None:
    [(pointer, message)] = problems(
        {"id": "n1", "at": "2026-11-26T12:00", "type": "note", "to": "ray", "in_reply_to": "r1"}
    )
    assert pointer == "/events/2/in_reply_to"
    assert message.startswith("unknown field 'in_reply_to' in note event")


def test_errors_are_located_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(
        "version: 1\n"
        "candidate: {name: Jane Doe}\n"
        "people: [{id: ray, name: Ray Fox, role: recruiter, company: Acme}]\n"
        "events:\n"
        "  - {id: r1, at: 2026-11-26T10:00, type: email, direction: received, from: ray}\n"
        "  - {id: e1, at: 2026-11-26T09:00, type: email, direction: sent, to: ray, in_reply_to: r1}\n",
        encoding="utf-8",
    )
    [result] = list(load_histories([str(path)], AS_OF))
    assert isinstance(result, InputError)
    [problem] = result.problems
    assert (problem.line, problem.column) == (6, 88)
    assert str(problem).startswith(f"{path}:6:88: 'in_reply_to' names 'r1' (line 5)")


# -- the HTML timeline -----------------------------------------------------------------------------


def test_the_html_timeline_draws_a_reply_as_an_answer(tmp_path: Path) -> None:
    case = yaml.safe_load((HISTORIES / "issue-reply-an-hour-later.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "ana.yaml"
    path.write_text(yaml.safe_dump(case["history"]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", str(path), "--as-of", case["as_of"], "--format", "html"])
    assert result.exit_code == 0, result.output
    page = result.output
    centre = {
        m["id"]: (m["x"], m["y"])
        for m in re.finditer(r'data-event-id="(?P<id>\w+)".*?<circle cx="(?P<x>[\d.]+)" cy="(?P<y>[\d.]+)"', page)
    }
    # one arc, from the recruiter's email (r1) to the answer (e2), marked with ↩
    [arc] = re.findall(r'<path class="reply-link" d="M([\d.]+) ([\d.]+) C[^"]* ([\d.]+) ([\d.]+)"/>', page)
    assert (arc[0], arc[1]) == centre["r1"]
    assert (arc[2], arc[3]) == centre["e2"]
    assert page.count('class="reply-glyph"') == 1
    # the mark's tooltip and the event log say what it answers
    assert page.count("Email to Lena Fischer (↩ reply to r1)") == 2
