"""Faults (issue 9, points 2 and 3): outputs never destroy data, and a batch survives anything one
history or one worker does. End to end through the installed ``followup`` command, as a CI job or a
careless user runs it; the retry logic of the worker pool also directly, with workers made to die.

No assertion here is about time: subprocess timeouts only prove that nothing hangs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from followup.audit import parallel
from followup.audit.parallel import WorkerSetup, _audit_chunk, _Failed, audit_one, audit_parallel, audit_sources
from followup.backends.durable import EngineError
from followup.diagnostics import InputError
from followup.io import Source
from followup.model import HistoryResult

ROOT = Path(__file__).resolve().parents[1]
FOLLOWUP = str(Path(sys.executable).parent / "followup")
AS_OF = "2026-12-31T12:00:00+00:00"
TIMEOUT = 600  # seconds: generous, the machine may be busy; only "it does not hang" is asserted
JANE = (ROOT / "examples" / "jane.yaml").read_text("utf-8")
OUT_OF_RANGE = """\
version: 1
candidate: {name: Early Bird}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: "%s", type: interview, company: Acme, with: [kim]}
"""


def run(*args: str, cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOLLOWUP, "audit", "--as-of", AS_OF, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        **kwargs,
    )


def no_crash(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    assert "Exception ignored" not in stderr


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def jsonl_batch(path: Path, count: int) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("followup_bench_batch", ROOT / "benchmarks/batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = random.Random(11)
    path.write_text("".join(json.dumps(module.make_history(rng, n)) + "\n" for n in range(count)), "utf-8")


@pytest.fixture
def jane(tmp_path: Path) -> Path:
    path = tmp_path / "jane.yaml"
    path.write_text(JANE, "utf-8")
    return path


# -- outputs never destroy data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["jane.yaml", "-o", "jane.yaml"], ["-o jane.yaml", "history jane.yaml"]),
        (["jane.yaml", "--report", "json=jane.yaml"], ["--report json=jane.yaml", "history jane.yaml"]),
        (["jane.yaml", "--report", "sarif=./same.yaml"], ["--report sarif=./same.yaml", "history jane.yaml"]),
        (["jane.yaml", "-o", "link.yaml"], ["-o link.yaml", "history jane.yaml"]),
        (["jane.yaml", "--pack", "pack.yaml", "-o", "pack.yaml"], ["-o pack.yaml", "--pack pack.yaml"]),
        (["jane.yaml", "--waivers", "w.yaml", "--report", "json=w.yaml"], ["json=w.yaml", "--waivers w.yaml"]),
    ],
)
def test_an_input_is_never_an_output(tmp_path: Path, jane: Path, args: list[str], names: list[str]) -> None:
    os.link(jane, tmp_path / "same.yaml")  # the same file under another name
    (tmp_path / "link.yaml").symlink_to(jane)
    (tmp_path / "pack.yaml").write_text("pack: mine\nextends: interview-follow-up\n", "utf-8")
    (tmp_path / "w.yaml").write_text("waivers: []\n", "utf-8")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    no_crash(done.stderr)
    for name in names:
        assert name in done.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert done.stdout == ""


def test_stdin_file_is_never_an_output(tmp_path: Path, jane: Path) -> None:
    with jane.open("rb") as stdin:
        done = run("-", "-o", "jane.yaml", cwd=tmp_path, stdin=stdin)
    assert done.returncode == 2
    assert "standard input" in done.stderr
    assert jane.read_text("utf-8") == JANE


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--report", "json=r.out", "--report", "sarif=r.out"], ["--report json=r.out", "--report sarif=r.out"]),
        (["-o", "r.out", "--report", "sarif=sub/../r.out"], ["-o r.out", "--report sarif=sub/../r.out"]),
        (["--format", "json", "--report", "sarif=-"], ["--format json", "--report sarif=-"]),
    ],
)
def test_two_reports_never_share_a_file(tmp_path: Path, jane: Path, args: list[str], names: list[str]) -> None:
    (tmp_path / "sub").mkdir()
    done = run("jane.yaml", *args, cwd=tmp_path)
    assert done.returncode == 2
    no_crash(done.stderr)
    for name in names:
        assert name in done.stderr
    assert not (tmp_path / "r.out").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("report", ["d/report.json", "d/sub/report.json", "d/report.yaml"])
def test_a_folder_audit_never_reads_its_own_report(tmp_path: Path, report: str) -> None:
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "jane.yaml").write_text(JANE, "utf-8")
    first = run("d", "--format", "json", "-o", report, cwd=tmp_path)
    second = run("d", "--format", "json", "-o", report, cwd=tmp_path)  # now the report exists
    for done in (first, second):
        assert done.returncode == 0, done.stderr
        no_crash(done.stderr)
    written = json.loads((tmp_path / report).read_text("utf-8"))
    assert [h["source"] for h in written["histories"]] == ["d/jane.yaml"]
    assert written["errors"] == []
    assert leftovers(folder) == [] and leftovers(folder / "sub") == []


def test_a_report_is_replaced_only_when_complete(tmp_path: Path, jane: Path) -> None:
    previous = tmp_path / "report.json"
    previous.write_text("the previous report\n", "utf-8")
    previous.chmod(0o640)
    # A later report cannot be written: the run fails, and the earlier report is not replaced.
    if Path("/dev/full").exists():
        failed = run("jane.yaml", "--format", "json", "-o", "report.json", "--report", "sarif=/dev/full", cwd=tmp_path)
        assert failed.returncode == 2
        no_crash(failed.stderr)
        assert "cannot write the sarif report to /dev/full" in failed.stderr
        assert previous.read_text("utf-8") == "the previous report\n"
        assert leftovers(tmp_path) == []
    done = run("jane.yaml", "--format", "json", "-o", "report.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(previous.read_text("utf-8"))["summary"]["histories"] == 1
    assert stat.S_IMODE(previous.stat().st_mode) == 0o640  # replaced, mode kept
    assert leftovers(tmp_path) == []


def test_a_report_through_a_symbolic_link_keeps_the_link(tmp_path: Path, jane: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "latest.json").symlink_to("reports/r.json")
    done = run("jane.yaml", "--format", "json", "-o", "latest.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "latest.json").is_symlink()
    assert json.loads((tmp_path / "reports" / "r.json").read_text("utf-8"))["summary"]["histories"] == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("args", [["-o", "/dev/full"], ["--report", "json=/dev/full"]])
def test_a_full_device_is_a_clear_error(tmp_path: Path, jane: Path, args: list[str]) -> None:
    done = run("jane.yaml", *args, cwd=tmp_path)
    assert done.returncode == 2
    no_crash(done.stderr)
    assert "report to /dev/full: No space left on device" in done.stderr


def test_a_closed_pipe_is_a_clear_error(tmp_path: Path, jane: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # like `followup audit ... | head -0`, but certain: nobody ever reads
    try:
        done = subprocess.run(
            [FOLLOWUP, "audit", "--as-of", AS_OF, "jane.yaml"],
            cwd=tmp_path,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 2
    no_crash(done.stderr)
    assert done.stderr.strip() == "followup: cannot write the text report to standard output: Broken pipe"


def test_a_closed_stdout_is_a_clear_error(tmp_path: Path, jane: Path) -> None:
    done = subprocess.run(
        ["sh", "-c", '"$@" >&-', "sh", FOLLOWUP, "audit", "--as-of", AS_OF, "jane.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2
    no_crash(done.stderr)
    assert "standard output: it is closed" in done.stderr
    # With the report going to a file, a closed stdout does not matter.
    done = subprocess.run(
        ["sh", "-c", '"$@" >&-', "sh", FOLLOWUP, "audit", "--as-of", AS_OF, "jane.yaml", "-o", "r.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Jane Doe" in (tmp_path / "r.txt").read_text("utf-8")


# -- one history never ends the batch ----------------------------------------------------------


@pytest.mark.parametrize("instant", ["0001-01-01T00:30+05:00", "9999-12-31T23:59-05:00"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_history_that_cannot_be_audited_is_one_error(tmp_path: Path, jane: Path, instant: str, jobs: str) -> None:
    (tmp_path / "b.yaml").write_text(OUT_OF_RANGE % instant, "utf-8")
    (tmp_path / "c.yaml").write_text(JANE, "utf-8")
    done = run(
        "jane.yaml", "b.yaml", "c.yaml", "--format", "json", "--jobs", jobs, "--report", "sarif=r.sarif", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)  # complete and valid
    assert [h["source"] for h in report["histories"]] == ["jane.yaml", "c.yaml"]
    assert [e["source"] for e in report["errors"]] == ["b.yaml"]
    assert report["summary"]["errors"] == 1
    json.loads((tmp_path / "r.sarif").read_text("utf-8"))


class _Raising:
    """An auditor whose engine fails: what any unexpected failure of facts, engine or findings
    looks like to ``audit_one``."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def audit(self, history: object, as_of: datetime) -> HistoryResult:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (OverflowError("date value out of range"), "internal error: OverflowError: date value out of range"),
        (EngineError("durable_rules refused the facts: error code: 303"), "durable_rules refused the facts"),
        (MemoryError(), "ran out of memory"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (KeyError("x" * 5000), "internal error: KeyError"),
    ],
)
def test_audit_one_turns_any_failure_into_an_error_of_that_history(exc: Exception, words: str) -> None:
    as_of = datetime(2026, 12, 31, 12, tzinfo=UTC)
    source = Source("batch.jsonl", json.dumps(_jane_document()), 41, None, "jsonl")
    outcome = audit_one(_Raising(exc), source, as_of)
    assert isinstance(outcome, InputError)
    [problem] = outcome.problems
    assert (problem.source, problem.line, problem.column) == ("batch.jsonl", 42, 1)
    assert words in problem.message
    assert len(problem.message) < 400  # an excerpt, never the whole value


def _jane_document() -> object:
    import yaml

    return json.loads(json.dumps(yaml.safe_load(JANE), default=str))


# -- workers that die ---------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(n) for n in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _workers(pid: int) -> set[int]:
    """The pool's worker processes among a process's children (not multiprocessing's resource
    tracker, which also runs as a child)."""
    found = set()
    for child in _children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.add(child)
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended; only its parent's wait is missing


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")


@pytest.fixture(scope="module")
def big_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """2,000 histories and their report by --jobs 1 (the reference for byte-identical output)."""
    folder = tmp_path_factory.mktemp("big")
    jsonl_batch(folder / "batch.jsonl", 2000)
    single = run("batch.jsonl", "--format", "json", "--jobs", "1", cwd=folder)
    assert single.returncode == 1, single.stderr
    return folder, single.stdout


@needs_proc
def test_a_worker_killed_mid_batch_loses_nothing(big_batch: tuple[Path, str]) -> None:
    folder, expected = big_batch
    process = subprocess.Popen(
        [FOLLOWUP, "audit", "--as-of", AS_OF, "batch.jsonl", "--format", "json", "--jobs", "2"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        head = b""
        while head.count(b'{"source"') < 100:  # mid-batch: results are streaming
            chunk = process.stdout.read1(65536)
            assert chunk, "the report ended early"
            head += chunk
        victim = min(_workers(process.pid))
        os.kill(victim, signal.SIGKILL)
        rest, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait(timeout=TIMEOUT)
    assert process.returncode == 1, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert (head + rest).decode("utf-8") == expected  # every history, in order, byte for byte


@needs_proc
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_batch_and_leaves_nothing_behind(
    big_batch: tuple[Path, str], signum: int, code: int
) -> None:
    folder, _ = big_batch
    (folder / "report.json").write_text("the previous report\n", "utf-8")
    process = subprocess.Popen(
        [FOLLOWUP, "audit", "--as-of", AS_OF, "batch.jsonl", "--format", "json", "--jobs", "2", "-o", "report.json"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until(lambda: len(_workers(process.pid)) == 2 and leftovers(folder), "the workers")
        children = _children(process.pid)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait(timeout=TIMEOUT)
    assert process.returncode == code
    assert f"stopped by {signal.Signals(signum).name}" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert (folder / "report.json").read_text("utf-8") == "the previous report\n"
    assert leftovers(folder) == []
    _wait_until(lambda: not any(_alive(child) for child in children), "no process left")


@needs_proc
def test_workers_die_with_a_killed_parent(big_batch: tuple[Path, str]) -> None:
    folder, _ = big_batch
    process = subprocess.Popen(
        [FOLLOWUP, "audit", "--as-of", AS_OF, "batch.jsonl", "--format", "json", "--jobs", "2", "-o", "/dev/null"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until(lambda: len(_workers(process.pid)) == 2, "the workers")
        workers = _workers(process.pid)
    finally:
        process.kill()  # SIGKILL: the parent cannot clean up; the kernel ends its workers
        process.wait(timeout=TIMEOUT)
    _wait_until(lambda: not any(_alive(worker) for worker in workers), "the workers to end")


def test_jobs_above_the_cpu_count_are_capped_with_a_note(tmp_path: Path, jane: Path) -> None:
    done = run("jane.yaml", "jane.yaml", "--jobs", "1000", cwd=tmp_path)
    cpus = parallel.cpu_count()
    assert done.returncode in (0, 1), done.stderr
    assert f"followup: note: --jobs 1000 is more than the {cpus} CPUs available; using {cpus}\n" in done.stderr


# -- the retry logic, with workers made to die ---------------------------------------------------
# The pool pickles its task function by name, so a function of this module replaces the worker's
# task: it dies (as a crash of the C engine would) on the histories named so.


def _die_on_crash(sources: list[Source]) -> list[HistoryResult | _Failed]:
    if any(s.name == "crash.jsonl" for s in sources):
        os._exit(3)
    return _audit_chunk(sources)


def _die_once_on_flag(sources: list[Source]) -> list[HistoryResult | _Failed]:
    for source in sources:
        if source.name.endswith(".flag") and not os.path.exists(source.name + ".done"):
            Path(source.name + ".done").write_text("died once\n", "utf-8")
            os._exit(3)
    return _audit_chunk(sources)


def _always_die(sources: list[Source]) -> list[HistoryResult | _Failed]:
    os._exit(3)


def _batch(names: Iterator[str]) -> list[Source]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("followup_bench_batch", ROOT / "benchmarks/batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = random.Random(3)
    return [Source(name, json.dumps(module.make_history(rng, n)), n, None, "jsonl") for n, name in enumerate(names)]


def _setup(pack: object) -> WorkerSetup:
    return WorkerSetup(pack, "durable", datetime(2026, 12, 31, 12, tzinfo=UTC))


def test_a_history_that_kills_its_worker_twice_is_named(
    default_pack,
    auditor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ["good.jsonl"] * 150 + ["crash.jsonl"] + ["good.jsonl"] * 150
    sources = _batch(iter(names))
    setup = _setup(default_pack)
    expected = list(audit_sources(auditor, sources, setup.as_of))
    monkeypatch.setattr(parallel, "_audit_chunk", _die_on_crash)
    got = list(audit_parallel(setup, sources, 2))
    assert len(got) == len(sources)
    crashed = got.pop(150)
    assert isinstance(crashed, InputError)
    [problem] = crashed.problems
    assert (problem.source, problem.line) == ("crash.jsonl", 151)
    assert "stopped the worker process twice" in problem.message
    del expected[150]
    assert got == expected  # every other history, in input order, as in this process


def test_a_worker_that_died_once_is_replaced_and_nothing_is_lost(
    default_pack,
    auditor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flag = str(tmp_path / "x.flag")
    sources = _batch(iter(["a.jsonl"] * 100 + [flag] + ["b.jsonl"] * 100))
    setup = _setup(default_pack)
    expected = list(audit_sources(auditor, sources, setup.as_of))
    monkeypatch.setattr(parallel, "_audit_chunk", _die_once_on_flag)
    assert list(audit_parallel(setup, sources, 2)) == expected
    assert Path(flag + ".done").exists()  # the worker did die


def test_workers_that_always_die_name_every_history_then_stop(
    default_pack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "_audit_chunk", _always_die)
    setup = _setup(default_pack)
    few = [Source("x.jsonl", "{}", n, None, "jsonl") for n in range(3)]
    got = list(audit_parallel(setup, few, 2))
    assert [(e.problems[0].source, e.problems[0].line) for e in got if isinstance(e, InputError)] == [
        ("x.jsonl", 1),
        ("x.jsonl", 2),
        ("x.jsonl", 3),
    ]
    many = [Source("x.jsonl", "{}", n, None, "jsonl") for n in range(50)]
    with pytest.raises(parallel.WorkerCrashed) as caught:
        list(audit_parallel(setup, many, 2))
    assert f"died on {parallel.DEATHS_IN_A_ROW_LIMIT} histories in a row" in caught.value.problem.message


def test_ctrl_c_while_the_command_is_imported_is_quiet() -> None:
    """A Ctrl-C during the first moment (Python still importing the command) ends with exit 130
    and one line, like a Ctrl-C later on: simulated by an import that is interrupted."""
    code = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name in ('cli', 'followup.cli'):\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "from followup.entry import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130
    assert done.stderr == "followup: interrupted\n"
