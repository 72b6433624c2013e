"""Invalid packs as golden files: each `tests/packs/invalid/<case>.yaml` lies beside
`<case>.expected`, the exact output of `followup pack validate <case>.yaml` run in that folder.

To add a case, write `<case>.yaml` (and `<case>.tests.yaml` if the case is about a tests file;
packs a case extends go in `_bases/`, which is not a case itself), then write its expectation:

    UPDATE_GOLDEN=1 pytest tests/test_pack_golden.py

That rewrites every `.expected` file from what `pack validate` prints now; read the diff
(`git diff tests/packs`) before committing it: a changed message is a changed user interface.

An `.expected` file holds the exit code, then stdout, then stderr, each line as printed:

    exit 1
    --- stdout
    case.yaml:3:1: duplicate key 'version'
    --- stderr
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from followup.cli import cli

INVALID = Path(__file__).resolve().parent / "packs" / "invalid"
CASES = sorted(p.name.removesuffix(".yaml") for p in INVALID.glob("*.yaml") if not p.name.endswith(".tests.yaml"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def validate(case: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The output of `followup pack validate <case>.yaml` in the cases' folder, as an .expected text."""
    monkeypatch.chdir(INVALID)  # so that messages name the file as a user would: relative
    result = CliRunner().invoke(cli, ["pack", "validate", f"{case}.yaml"], catch_exceptions=False)
    return f"exit {result.exit_code}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def test_there_are_cases() -> None:
    assert len(CASES) >= 30, CASES  # a wrong folder or glob would otherwise pass with nothing checked


@pytest.mark.parametrize("case", CASES)
def test_invalid_pack_gives_the_expected_output(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected_file = INVALID / f"{case}.expected"
    got = validate(case, monkeypatch)
    if UPDATE:
        expected_file.write_text(got, "utf-8")
    assert expected_file.exists(), f"no {expected_file.name}: write it with UPDATE_GOLDEN=1 (see the top of this file)"
    assert got == expected_file.read_text("utf-8")
    # Every case is an invalid pack: a case that became valid belongs elsewhere.
    assert not got.startswith("exit 0\n")
