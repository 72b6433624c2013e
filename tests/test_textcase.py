"""Free text that people type (`company`, `network`) compares ignoring case in every pack test, in
both engines; ids and enumerated values stay exact, and messages show the text as written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from followup.audit import Auditor
from followup.compile import compile_pack
from followup.compile.textcase import fold_where, with_twins
from followup.history import parse_history
from followup.model import Engine
from followup.pack import load_pack
from followup.pack.model import Where

ROOT = Path(__file__).resolve().parents[1]
NARROWING = ROOT / "examples" / "packs" / "agency-calendar.yaml"
AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
ENGINES: tuple[Engine, ...] = ("durable", "reference")


@pytest.mark.parametrize(
    ("where", "folded"),
    [
        (Where("network", "eq", "LinkedIn"), Where("nw", "eq", "linkedin")),
        (Where("company", "not", "ACME"), Where("co", "not", "acme")),
        (Where("company", "in", ["Globex", "Initech"]), Where("co", "in", ["globex", "initech"])),
        (Where("company", "eq", "i.company", True), Where("co", "eq", "i.co", True)),
        (Where("company", "not", "i.co", True), Where("co", "not", "i.co", True)),
        (Where("network", "eq", "s.network", True), Where("nw", "eq", "s.nw", True)),
    ],
)
def test_equality_on_free_text_compares_the_folded_twins(where: Where, folded: Where) -> None:
    assert fold_where(where) == folded


@pytest.mark.parametrize(
    "where",
    [
        Where("action", "eq", "Connect"),  # an enumerated value: exact
        Where("person", "eq", "Kim"),  # an id: exact
        Where("company", "exists", True),
        Where("company", "eq", "p.name", True),  # the engine cannot fold a value it joins to
    ],
)
def test_other_tests_stay_as_written(where: Where) -> None:
    assert fold_where(where) is where


def test_a_derived_fact_gets_the_twin_of_the_free_text_it_copies() -> None:
    assert with_twins({"company": "ACME Corp", "network": "LinkedIn"}) == {
        "company": "ACME Corp",
        "network": "LinkedIn",
        "co": "acme corp",
        "nw": "linkedin",
    }
    assert with_twins({"company": "Acme", "co": "set by the pack"})["co"] == "set by the pack"


PACK = """\
pack: cased
version: "1.0.0"
derive:
  - fact: applied
    description: An interview's company, copied.
    when: [{fact: interview, as: i}]
    set: {company: i.company, at: i.at, interview: i.key}
rules:
  - id: acme-decided
    title: t
    rationale: r
    severity: error
    violation:
      when:
        - {fact: applied, as: a, where: {company: Acme}}
        - {fact: decision, as: d, where: {company: a.company, outcome: {in: [offer]}}}
        - {fact: social, as: s, where: {network: {in: [LinkedIn]}, action: connect}}
      subject: d.key
      message: "{a.company} decided; {s.network} seen"
"""


def _history(company: str, network: str, outcome: str = "offer") -> dict[str, Any]:
    return {
        "version": 1,
        "candidate": {"name": "Jane Doe"},
        "people": [{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}],
        "events": [
            {"id": "i1", "at": "2026-11-02T10:00", "type": "interview", "company": company, "with": ["kim"]},
            {
                "id": "d1",
                "at": "2026-11-06T10:00",
                "type": "decision",
                "company": company.swapcase(),
                "outcome": outcome,
            },
            {"id": "s1", "at": "2026-11-07T10:00", "type": "social", "action": "connect", "network": network},
        ],
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("company", "network", "outcome", "found"),
    [
        ("Acme", "LinkedIn", "offer", True),
        ("ACME", "linkedin", "offer", True),
        ("acme", "LINKEDIN", "offer", True),
        ("Acme Corp", "LinkedIn", "offer", False),  # another company
        ("Acme", "Linked In", "offer", False),  # another network
        ("Acme", "LinkedIn", "rejection", False),
    ],
)
def test_literals_joins_and_derived_copies_ignore_case(
    tmp_path: Path, engine: Engine, company: str, network: str, outcome: str, found: bool
) -> None:
    path = tmp_path / "cased.yaml"
    path.write_text(PACK, encoding="utf-8")
    auditor = Auditor.for_pack(load_pack(str(path)), engine)
    doc = _history(company, network, outcome)
    findings = auditor.audit(parse_history(doc, {}, "h.yaml", AS_OF), AS_OF).findings
    messages = [f.message for f in findings if f.rule == "acme-decided"]
    # shown as written, compared ignoring case
    assert messages == ([f"{company} decided; {network} seen"] if found else [])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("network", ["LinkedIn", "linkedin", "LINKEDIN"])
def test_the_agency_narrowing_allows_linkedin_however_it_is_written(engine: Engine, network: str) -> None:
    auditor = Auditor.for_pack(load_pack(str(NARROWING)), engine)
    doc = {
        "version": 1,
        "candidate": {"name": "Jane Doe"},
        "people": [{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}],
        "events": [
            {"id": "i1", "at": "2026-11-02T10:00", "type": "interview", "company": "Acme", "with": ["kim"]},
            {"id": "d1", "at": "2026-11-10T10:00", "type": "decision", "company": "ACME", "outcome": "rejection"},
            {
                "id": "s1",
                "at": "2026-11-12T10:00",
                "type": "social",
                "action": "connect",
                "network": network,
                "target": "kim",
            },
        ],
    }
    findings = auditor.audit(parse_history(doc, {}, "h.yaml", AS_OF), AS_OF).findings
    assert [f for f in findings if f.rule == "no-friending-interviewer"] == []


def test_the_compiled_narrowing_compares_the_folded_network() -> None:
    compiled = compile_pack(load_pack(str(NARROWING)))
    text = repr(compiled.ruleset)
    assert "'nw': 'linkedin'" in text
    assert "'network': 'LinkedIn'" not in text


@pytest.mark.parametrize("engine", ENGINES)
def test_a_long_in_list_of_companies_ignores_case_too(tmp_path: Path, engine: Engine) -> None:
    # past IN_LIST_INLINE values, `in:` compiles to a flag the backends set on each fact
    names = ", ".join([*(f"Other{k}" for k in range(20)), "Acme"])
    path = tmp_path / "long.yaml"
    path.write_text(
        f"""pack: long
version: "1.0.0"
rules:
  - id: listed
    title: t
    rationale: r
    severity: error
    violation:
      when: [{{fact: interview, as: i, where: {{company: {{in: [{names}]}}}}}}]
      subject: i.key
      message: "{{i.company}}"
""",
        encoding="utf-8",
    )
    compiled = compile_pack(load_pack(str(path)))
    assert [m.field for m in compiled.memberships.values()] == ["co"]
    auditor = Auditor.for_pack(load_pack(str(path)), engine)
    findings = auditor.audit(parse_history(_history("ACME", "X"), {}, "h.yaml", AS_OF), AS_OF).findings
    assert [f.message for f in findings if f.rule == "listed"] == ["ACME"]
