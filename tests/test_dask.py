"""followup.dask (docs/scale.md): a partitioned JSON Lines dataset audited on a LocalCluster of two
worker processes gives the CLI's report byte for byte, bad histories as errors of their own, and
each worker process compiles the pack once."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import followup
from conftest import ROOT
from followup.cli import cli

distributed = pytest.importorskip("distributed", reason="the dask extra: pip install -e '.[dask]'")
followup_dask = pytest.importorskip("followup.dask")

AS_OF = "2026-12-31T12:00:00+00:00"
PARTS = 4
PER_PART = 25


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PARTS JSON Lines files of generated histories, one line broken, and a YAML history."""
    spec = importlib.util.spec_from_file_location("followup_bench_batch", ROOT / "benchmarks/batch.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    folder = tmp_path_factory.mktemp("dataset")
    rng = random.Random(14)
    for part in range(PARTS):
        lines = [json.dumps(generator.make_history(rng, part * PER_PART + n)) for n in range(PER_PART)]
        if part == 1:
            lines[3] = lines[3].replace('"type":"interview"', '"type":"interveiw"', 1).replace(
                '"type": "interview"', '"type": "interveiw"', 1
            )
            lines.insert(5, "")  # a blank line: skipped, but later lines keep their numbers
        (folder / f"part-{part:04d}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    shutil.copy(ROOT / "examples" / "struggling.yaml", folder / "zz-struggling.yaml")
    return folder


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


def cli_report(*args: str) -> str:
    done = CliRunner().invoke(cli, ["audit", *args, "--as-of", AS_OF, "--jobs", "1"])
    return done.stdout


def test_the_report_is_the_clis_byte_for_byte(dataset: Path, client: object) -> None:
    results = followup_dask.audit_bag(str(dataset), pack="interview-follow-up", as_of=AS_OF)
    assert results.npartitions == PARTS + 1  # one a file
    out = io.StringIO()
    summary = followup_dask.write_report(results, out, as_of=AS_OF, format="json")
    expected = cli_report(str(dataset), "--format", "json")
    assert out.getvalue() == expected
    report = json.loads(expected)
    assert summary.histories == PARTS * PER_PART  # every good history, the YAML one included
    [error] = report["errors"]
    assert error["source"] == str(dataset / "part-0001.jsonl") and error["line"] == 4
    assert "did you mean 'interview'" in error["message"]
    # lines 1-3, 5 and 7 of part 1 (4 is bad, 6 blank): numbers stay those of the file
    assert report["histories"][PER_PART + 4]["source"] == f"{dataset / 'part-0001.jsonl'}:7"
    # Each of the two worker processes compiled the pack once (or not at all), not once a partition.
    built = client.run(followup_dask.engines_built)  # type: ignore[attr-defined]
    assert len(built) == 2 and set(built.values()) <= {0, 1} and sum(built.values()) >= 1


def test_elements_are_api_results_and_errors(dataset: Path, client: object) -> None:
    files = [str(dataset / "part-0001.jsonl"), str(dataset / "zz-struggling.yaml")]
    outcomes = followup_dask.audit_bag(files, as_of=AS_OF).compute()
    expected = json.loads(cli_report(*files, "--format", "json"))
    assert [o.to_dict() for o in outcomes if isinstance(o, followup.AuditResult)] == expected["histories"]
    [bad] = [o for o in outcomes if isinstance(o, followup.InputError)]
    assert [(p.source, p.line) for p in bad.problems] == [(e["source"], e["line"]) for e in expected["errors"]]


def test_other_formats_and_a_missing_file(dataset: Path, client: object, tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.jsonl")
    files = [str(dataset / "part-0000.jsonl"), missing]
    out = io.StringIO()
    followup_dask.write_report(followup_dask.audit_bag(files, as_of=AS_OF), out, as_of=AS_OF, format="sarif")
    assert out.getvalue() == cli_report(*files, "--format", "sarif")


def test_a_bad_pack_fails_before_anything_runs(dataset: Path) -> None:
    with pytest.raises(followup.PackError):
        followup_dask.audit_bag(str(dataset), pack="interview-folow-up", as_of=AS_OF)
