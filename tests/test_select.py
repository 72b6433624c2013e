"""Candidate metadata: `audit --where` selects histories, a candidate id claimed twice is warned
about, and ids reach every report that names a candidate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from followup.cli import cli
from followup.cli.select import Where
from followup.model import Candidate

AS_OF = "2026-11-06T12:00Z"


def history(candidate: str) -> str:
    return f"""\
version: 1
timezone: Europe/Berlin
candidate: {candidate}
people:
  - {{id: kim, name: Kim Lee, role: interviewer, company: Acme}}
events:
  - {{id: i1, at: 2026-11-02T10:00, type: interview, company: Acme, with: [kim]}}
"""


@pytest.fixture
def batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    people = {
        "ana.yaml": "{id: c-1, name: Ana, coach: Mia Jensen, cohort: 2026-autumn, tags: [remote, data]}",
        "ben.yaml": "{id: c-2, name: Ben, coach: 'mia  jensen', tags: [onsite]}",
        "cleo.yaml": "{id: c-3, name: Cleo, coach: Tom, tags: [Remote]}",
        "dan.yaml": "{name: Dan}",
    }
    for name, candidate in people.items():
        (tmp_path / name).write_text(history(candidate), encoding="utf-8")
    return tmp_path


def audit(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "--as-of", AS_OF, "--format", "json", "--fail-on", "never", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def names(out: str) -> list[str]:
    return [h["candidate"] for h in json.loads(out)["histories"]]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ((), ["Ana", "Ben", "Cleo", "Dan"]),
        (("coach=Mia Jensen",), ["Ana", "Ben"]),  # case and spacing of typed text are ignored
        (("tag=remote",), ["Ana", "Cleo"]),
        (("tag=remote", "tag=onsite"), ["Ana", "Ben", "Cleo"]),  # one field: alternatives
        (("coach=mia jensen", "tag=REMOTE"), ["Ana"]),  # two fields: both
        (("id=c-2",), ["Ben"]),
        (("id=C-2",), []),  # ids are exact
        (("cohort=2026-autumn",), ["Ana"]),
        (("name=dan",), ["Dan"]),
    ],
)
def test_where_selects_by_candidate_metadata(batch: Path, where: tuple[str, ...], expected: list[str]) -> None:
    args = [f"--where={w}" for w in where]
    code, out, err = audit("ana.yaml", "ben.yaml", "cleo.yaml", "dan.yaml", *args)
    assert code == 0, err
    assert names(out) == expected
    if where:
        assert err == f"followup: --where left out {4 - len(expected)} histor{'y' if 4 - len(expected) == 1 else 'ies'}, {len(expected)} reported\n"
    else:
        assert err == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("coach", "'coach': write FIELD=VALUE, e.g. coach=Mia (fields: id, coach, cohort, tag, name)"),
        ("tags=x", "unknown field 'tags' in 'tags=x'; did you mean 'tag'?"),
        ("mood=ok", "unknown field 'mood' in 'mood=ok'; fields: id, coach, cohort, tag, name"),
    ],
)
def test_a_bad_where_is_a_usage_error(batch: Path, value: str, message: str) -> None:
    code, _out, err = audit("ana.yaml", "--where", value)
    assert code == 2
    assert message in " ".join(err.split())


def test_where_unit_matching() -> None:
    where = Where.parse(["coach= Mia ", "tag=a"])
    assert where.selects(Candidate("x", coach="MIA", tags=("b", "A")))
    assert not where.selects(Candidate("x", coach="MIA"))
    assert not where.selects(Candidate("x", tags=("a",)))
    assert not Where.parse([])  # no condition: everything is selected
    assert Where.parse([]).selects(Candidate("x"))


def test_a_candidate_id_claimed_by_two_histories_is_warned_about(batch: Path) -> None:
    (batch / "ana-again.yaml").write_text(history("{name: Ana Again, id: c-1}"), encoding="utf-8")
    code, out, err = audit("ana.yaml", "ana-again.yaml", "ben.yaml")
    assert code == 0
    assert names(out) == ["Ana", "Ana Again", "Ben"]  # both reported: a warning, not an error
    assert err == (
        "ana-again.yaml:3:34: warning: candidate id 'c-1' is also claimed by ana.yaml; reports, "
        "waivers and baselines treat the two histories as one candidate\n"
    )


def test_json_report_carries_each_candidate_id(batch: Path) -> None:
    _code, out, _err = audit("ana.yaml", "dan.yaml")
    assert [h["candidate_id"] for h in json.loads(out)["histories"]] == ["c-1", None]


def _report(fmt: str, *paths: str) -> str:
    result = CliRunner().invoke(
        cli, ["audit", "--as-of", AS_OF, "--format", fmt, "--fail-on", "never", *paths], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_sarif_junit_and_html_carry_the_candidate_id(batch: Path) -> None:
    sarif = json.loads(_report("sarif", "ana.yaml", "dan.yaml"))
    ids = {r["properties"]["candidate"]: r["properties"].get("candidate_id") for r in sarif["runs"][0]["results"]}
    assert ids == {"Ana": "c-1", "Dan": None}
    junit = _report("junit", "ana.yaml", "dan.yaml")
    assert junit.count('<property name="candidate_id" value="c-1"/>') == 1
    assert junit.count('name="candidate_id"') == 1  # Dan has none: no empty property
    html = _report("html", "ana.yaml")
    assert ('<p class="who-meta">id <strong>c-1</strong> · coach <strong>Mia Jensen</strong> · cohort '
            '<strong>2026-autumn</strong> · tags <strong>remote</strong>, <strong>data</strong></p>') in html
