"""The Python API (docs/api.md): ``followup.load_pack``, ``followup.audit``, ``followup.audit_many``,
their errors, and results whose ``to_dict()`` is the JSON report's entry for that history."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import followup
from conftest import ROOT
from followup.cli import cli
from followup.io import load_document

AS_OF = "2026-11-25T12:00:00+00:00"
EXAMPLES = [str(ROOT / "examples" / name) for name in ("jane.yaml", "struggling.yaml", "upcoming.yaml")]
BROKEN = str(ROOT / "examples" / "broken.yaml")
STRICT = str(ROOT / "examples" / "packs" / "strict-agency.yaml")


@pytest.fixture(scope="module")
def pack() -> followup.RulePack:
    return followup.load_pack("interview-follow-up")


def json_report(*args: str) -> dict[str, Any]:
    done = CliRunner().invoke(cli, ["audit", *args, "--as-of", AS_OF, "--format", "json", "--fail-on", "never"])
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def history_data(path: str) -> dict[str, object]:
    data, _ = load_document(Path(path).read_text(encoding="utf-8"), path)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("path", EXAMPLES)
def test_to_dict_is_the_json_report_entry(pack: followup.RulePack, path: str) -> None:
    [entry] = json_report(path)["histories"]
    result = followup.audit(path, pack=pack, as_of=AS_OF)
    assert result.to_dict() == entry
    assert result.findings  # every bundled example has something to report
    assert result.source == path
    assert len(result.violations) + len(result.next_steps) == len(result.findings)


def test_to_dict_with_another_pack_by_path() -> None:
    report = json_report(*EXAMPLES, "--pack", STRICT)
    strict = followup.load_pack(STRICT)
    assert strict.name == report["pack"]["name"]
    got = [followup.audit(path, pack=strict, as_of=AS_OF).to_dict() for path in EXAMPLES]
    assert got == report["histories"]
    # A path is accepted where a pack is, and a pathlib.Path where a path is.
    assert followup.audit(Path(EXAMPLES[1]), pack=Path(STRICT), as_of=AS_OF).to_dict() == got[1]


def test_the_default_pack_is_the_built_in_one(pack: followup.RulePack) -> None:
    assert pack.name == "interview-follow-up"
    assert "send-thank-you-email" in pack.rules
    by_default = followup.audit(EXAMPLES[0], as_of=AS_OF)
    assert by_default.to_dict() == followup.audit(EXAMPLES[0], pack=pack, as_of=AS_OF).to_dict()


def test_audit_many_streams_the_report_entries_in_order(pack: followup.RulePack) -> None:
    report = json_report(*EXAMPLES, BROKEN)
    for jobs in (1, 2):
        outcomes = list(followup.audit_many([*EXAMPLES, BROKEN], pack=pack, as_of=AS_OF, jobs=jobs))
        assert [o.to_dict() for o in outcomes if isinstance(o, followup.AuditResult)] == report["histories"]
        [error] = [o for o in outcomes if isinstance(o, followup.InputError)]
        assert [_problem(p) for p in error.problems] == report["errors"]


def test_a_bad_history_raises_every_problem_located(pack: followup.RulePack) -> None:
    with pytest.raises(followup.InputError) as raised:
        followup.audit(BROKEN, pack=pack, as_of=AS_OF)
    problems = raised.value.problems
    assert [_problem(p) for p in problems] == json_report(BROKEN)["errors"]
    assert len(problems) >= 4
    assert all(p.source == BROKEN and p.line > 1 and p.column >= 1 for p in problems)
    assert any("did you mean 'America/New_York'" in p.message for p in problems)


def test_an_unreadable_path_raises_input_error(pack: followup.RulePack, tmp_path: Path) -> None:
    missing = str(tmp_path / "nobody.yaml")
    with pytest.raises(followup.InputError) as raised:
        followup.audit(missing, pack=pack, as_of=AS_OF)
    [problem] = raised.value.problems
    assert (problem.source, problem.line, problem.column) == (missing, 1, 1)
    assert "cannot read" in problem.message


def test_a_mapping_is_audited_like_its_file(pack: followup.RulePack) -> None:
    for path in EXAMPLES:
        from_file = followup.audit(path, pack=pack, as_of=AS_OF).to_dict()
        from_data = followup.audit(history_data(path), pack=pack, as_of=AS_OF, source=path).to_dict()
        assert from_data == from_file
    unnamed = followup.audit(history_data(EXAMPLES[0]), pack=pack, as_of=AS_OF)
    assert unnamed.source == "<mapping>"


def test_a_bad_mapping_raises_problems_with_their_pointer(pack: followup.RulePack) -> None:
    data = history_data(EXAMPLES[0])
    data["timezone"] = "America/New_Yrok"
    events = data["events"]
    assert isinstance(events, list)
    events[0]["type"] = "interviw"
    with pytest.raises(followup.InputError) as raised:
        followup.audit(data, pack=pack, as_of=AS_OF, source="candidate 42")
    problems = raised.value.problems
    assert {p.pointer for p in problems} >= {"/timezone", "/events/0/type"}
    assert all((p.source, p.line, p.column) == ("candidate 42", 1, 1) for p in problems)
    assert any("did you mean 'interview'" in p.message for p in problems)


def test_a_mapping_with_values_json_cannot_hold_is_an_input_error(pack: followup.RulePack) -> None:
    data = history_data(EXAMPLES[0])
    data["candidate"] = {"name": "Jane", "born": datetime(1990, 1, 1)}
    with pytest.raises(followup.InputError) as raised:
        followup.audit(data, pack=pack, as_of=AS_OF)
    [problem] = raised.value.problems
    assert problem.source == "<mapping>"
    assert "JSON values only" in problem.message


def test_a_bad_pack_raises_pack_error_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: bad\nversion: '1'\nextends: interview-folow-up\n")
    with pytest.raises(followup.PackError) as raised:
        followup.load_pack(bad)
    assert isinstance(raised.value, followup.InputError)  # any bad input, when that is all one needs
    [problem] = raised.value.problems
    assert problem.source.endswith("bad.yaml") and problem.line == 3
    assert "interview-follow-up" in problem.message  # the did-you-mean
    with pytest.raises(followup.PackError) as unknown:
        followup.load_pack("interview-folow-up")
    assert "did you mean" in str(unknown.value)
    copied = pickle.loads(pickle.dumps(unknown.value))
    assert type(copied) is followup.PackError and copied.problems == unknown.value.problems
    with pytest.raises(followup.PackError):
        followup.audit(EXAMPLES[0], pack="no-such-pack", as_of=AS_OF)


def test_as_of_text_and_datetime_agree(pack: followup.RulePack) -> None:
    text = followup.audit(EXAMPLES[1], pack=pack, as_of="2026-11-25T12:00Z").to_dict()
    aware = followup.audit(EXAMPLES[1], pack=pack, as_of=datetime(2026, 11, 25, 12, tzinfo=UTC)).to_dict()
    naive = followup.audit(EXAMPLES[1], pack=pack, as_of=datetime(2026, 11, 25, 12)).to_dict()
    assert text == aware == naive
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        followup.audit(EXAMPLES[1], pack=pack, as_of="next tuesday")
    with pytest.raises(ValueError, match="out of range"):
        followup.audit(EXAMPLES[1], pack=pack, as_of="9999-01-01")


def test_a_file_of_several_histories_is_for_audit_many(pack: followup.RulePack, tmp_path: Path) -> None:
    batch = tmp_path / "two.jsonl"
    line = json.dumps(history_data(EXAMPLES[0]))
    batch.write_text(f"{line}\n{line}\n")
    with pytest.raises(ValueError, match="audit_many"):
        followup.audit(batch, pack=pack, as_of=AS_OF)
    outcomes = list(followup.audit_many([batch], pack=pack, as_of=AS_OF))
    assert [o.source for o in outcomes if isinstance(o, followup.AuditResult)] == [f"{batch}:1", f"{batch}:2"]


def test_audit_many_mixes_paths_and_mappings(pack: followup.RulePack) -> None:
    data = history_data(EXAMPLES[2])
    outcomes = list(followup.audit_many([EXAMPLES[0], data, {"version": 1}], pack=pack, as_of=AS_OF))
    first, second, third = outcomes
    assert isinstance(first, followup.AuditResult) and isinstance(second, followup.AuditResult)
    assert second.source == "<mapping>[2]"
    assert second.findings == followup.audit(EXAMPLES[2], pack=pack, as_of=AS_OF).findings
    assert isinstance(third, followup.InputError)
    assert {p.source for p in third.problems} == {"<mapping>[3]"}


def test_a_pack_pickles_and_audits_the_same_after(pack: followup.RulePack) -> None:
    copy = pickle.loads(pickle.dumps(pack))
    assert copy.name == pack.name and copy.rules == pack.rules
    assert followup.audit(EXAMPLES[1], pack=copy, as_of=AS_OF).to_dict() == json_report(EXAMPLES[1])["histories"][0]


def test_the_reference_engine_gives_the_same_entries() -> None:
    reference = followup.load_pack("interview-follow-up", engine="reference")
    got = [followup.audit(path, pack=reference, as_of=AS_OF).to_dict() for path in EXAMPLES]
    assert got == json_report(*EXAMPLES)["histories"]


def test_import_is_cheap_and_the_names_are_public() -> None:
    code = (
        "import sys, followup\n"
        "heavy = [m for m in ('followup.api', 'followup.audit', 'durable_rules_engine', 'jsonschema', 'click') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
        "print(sorted(n for n in followup.__all__ if not hasattr(followup, n)))\n"
        "print(callable(followup.audit), followup.audit.Auditor.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == ["[]", "[]", "True Auditor"]
    assert set(followup.__all__) <= set(dir(followup))
    with pytest.raises(AttributeError):
        getattr(followup, "no_such_name")  # noqa: B009  (the module's __getattr__ is what is tested)


def _problem(p: followup.Problem) -> dict[str, object]:
    return {"source": p.source, "line": p.line, "column": p.column, "message": p.message}


def test_the_first_example_of_the_docs_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    doc = (ROOT / "docs" / "api.md").read_text("utf-8")
    start = doc.index("```python\n") + len("```python\n")
    code = doc[start : doc.index("```", start)]
    monkeypatch.chdir(ROOT)
    names: dict[str, object] = {}
    exec(compile(code, "docs/api.md", "exec"), names)  # the docs' own words, run as written
    assert capsys.readouterr().out == ""  # jane.yaml has no violation, only a next step
    result = names["result"]
    assert isinstance(result, followup.AuditResult)
    [entry] = json_report("examples/jane.yaml")["histories"]
    assert result.to_dict() == entry
