"""``audit --cache DIR`` (SPEC §9.5): the same output byte for byte as without it, in every format,
with waivers and --fail-on; results reused only inside their window; entries that survive two runs
at once and a killed run; corrupt entries ignored with a warning; the folder's size bounded; a pack
whose time tests are not understood is not cached."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from followup.audit import Auditor
from followup.audit.parallel import audit_one
from followup.cache import CacheSetup, Plan, ResultCache, evict
from followup.cache.horizon import MARGIN
from followup.cli import cli
from followup.compile.facts import epoch
from followup.diagnostics import InputError
from followup.history import read_history
from followup.io import Source, iter_sources
from followup.model import HistoryResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-25T12:00:00+00:00"
FORMATS = ("text", "json", "sarif", "junit", "markdown", "github", "ics", "html")
TIMEOUT = 600  # seconds for one subprocess run: far more than any takes; a hang is a failure
KILLED_BATCH = 600  # histories in the run that is killed part way


def _lines(count: int, seed: int = 3) -> list[str]:
    spec = importlib.util.spec_from_file_location("followup_bench_batch", ROOT / "benchmarks/batch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = random.Random(seed)
    return [json.dumps(module.make_history(rng, n), separators=(",", ":")) for n in range(count)]


def _audit(*args: str, as_of: str = AS_OF) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["audit", "--as-of", as_of, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _run(*args: str, as_of: str = AS_OF) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "import sys; from followup.cli import main; sys.exit(main())"]
    return subprocess.run(
        [*command, "audit", "--as-of", as_of, *args], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("??/*") if not p.name.startswith(".tmp-"))


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("followup: warning:")]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("batch") / "batch.jsonl"
    path.write_text("\n".join(_lines(60)) + "\n", encoding="utf-8")
    return path


# -- the same output -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_byte_identical_cold_and_warm(fmt: str, tmp_path: Path, batch: Path) -> None:
    inputs = (str(EXAMPLES), str(batch))
    plain = _audit(*inputs, "--format", fmt, "--jobs", "1")
    folder = tmp_path / "cache"
    cold = _audit(*inputs, "--format", fmt, "--jobs", "1", "--cache", str(folder))
    warm = _audit(*inputs, "--format", fmt, "--jobs", "1", "--cache", str(folder))
    assert cold == plain
    assert warm == plain
    assert len(_entries(folder)) == 63  # 60 lines and 3 valid examples (broken.yaml is not cached)


def test_several_reports_waivers_and_fail_on_from_the_cache(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    entry = {"reason": "accepted", "approved_by": "coach@example.com", "expires": "2026-12-31"}
    waived = [{"rule": "thank-you-email-content", "history": "Tom Price", **entry}]
    waivers.write_text(yaml.safe_dump({"waivers": waived}), encoding="utf-8")
    folder = tmp_path / "cache"
    outputs: list[tuple[int, str, str, bytes, bytes]] = []
    for cache in ((), ("--cache", str(folder)), ("--cache", str(folder))):
        sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
        args = ("--report", f"sarif={sarif}", "--report", f"junit={junit}", "--waivers", str(waivers))
        code, out, err = _audit(
            str(EXAMPLES / "jane.yaml"), str(EXAMPLES / "struggling.yaml"), "--fail-on", "warning", *args, *cache
        )
        outputs.append((code, out, err, sarif.read_bytes(), junit.read_bytes()))
    assert outputs[0][0] == 1
    assert "thank-you-email-content on e1 (waived)" in outputs[0][1]
    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]


def test_parallel_workers_use_the_cache_too(tmp_path: Path, batch: Path) -> None:
    plain = _run(str(batch), "--format", "json", "--jobs", "1")
    folder = tmp_path / "cache"
    cold = _run(str(batch), "--format", "json", "--jobs", "2", "--cache", str(folder))
    warm = _run(str(batch), "--format", "json", "--jobs", "2", "--cache", str(folder))
    assert (cold.returncode, cold.stdout, cold.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert (warm.returncode, warm.stdout, warm.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert len(_entries(folder)) == 60


# -- reuse only while it holds ---------------------------------------------------------------------


def _cache(folder: Path, auditor: Auditor) -> ResultCache:
    return ResultCache(CacheSetup.create(str(folder), auditor.pack, "durable"), auditor)


def test_a_second_pass_is_all_hits_and_a_later_deadline_is_a_miss(tmp_path: Path) -> None:
    auditor = Auditor.for_pack("interview-follow-up")
    sources = list(iter_sources([str(EXAMPLES / f"{name}.yaml") for name in ("jane", "struggling", "upcoming")]))
    as_of = datetime.fromisoformat(AS_OF)
    cache = _cache(tmp_path, auditor)
    first = [audit_one(auditor, s, as_of, cache) for s in sources]
    assert (cache.stats.hits, cache.stats.stored) == (0, 3)
    second = [audit_one(auditor, s, as_of, cache) for s in sources]
    assert cache.stats.hits == 3
    assert second == first
    # upcoming.yaml has an interview on 2026-12-01 13:00 Chicago time: its result holds until then.
    upcoming = next(s for s in sources if s.name.endswith("upcoming.yaml"))
    interview = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    history = read_history(upcoming, as_of)
    assert not isinstance(history, InputError)
    result = auditor.audit(history, as_of)
    window = Plan.for_pack(auditor.compiled).window(auditor.facts(history), result.findings, epoch(as_of))
    assert window is not None
    assert window.until == epoch(interview) - MARGIN
    just_before = datetime.fromtimestamp(epoch(interview) - 1, UTC)
    audit_one(auditor, upcoming, just_before, cache)
    assert cache.stats.hits == 4
    after = audit_one(auditor, upcoming, interview, cache)
    assert cache.stats.hits == 4  # a miss: audited again
    assert after == auditor.audit(history, interview)
    assert after != result
    # At the interview's very instant the window is unknown (a threshold right at the audit time):
    # the entry of the 25th is left as it was. Two hours later (after it ended) it is replaced, and from then on an
    # earlier audit time than the entry's is never taken from it.
    assert cache.stats.uncacheable == 1
    audit_one(auditor, upcoming, as_of, cache)
    assert cache.stats.hits == 5
    audit_one(auditor, upcoming, datetime(2026, 12, 1, 21, 0, tzinfo=UTC), cache)
    assert cache.stats.stored == 4
    audit_one(auditor, upcoming, as_of, cache)
    assert cache.stats.hits == 5


def test_a_line_moved_in_its_file_is_a_hit_with_its_new_line(tmp_path: Path) -> None:
    auditor = Auditor.for_pack("interview-follow-up")
    line = _lines(1)[0]
    as_of = datetime.fromisoformat(AS_OF)
    cache = _cache(tmp_path, auditor)
    audit_one(auditor, Source("b.jsonl", line, line_offset=3, format="jsonl"), as_of, cache)
    moved = Source("b.jsonl", line, line_offset=40, format="jsonl")
    hit = audit_one(auditor, moved, as_of, cache)
    assert cache.stats.hits == 1
    assert hit == audit_one(auditor, moved, as_of)
    assert isinstance(hit, HistoryResult) and hit.history is not None and hit.history.line == 41


# -- robust on disk --------------------------------------------------------------------------------


def test_two_runs_at_once_on_one_folder(tmp_path: Path, batch: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(_lines(400, seed=11)) + "\n", encoding="utf-8")
    plain = _run(str(big), "--format", "json", "--jobs", "1")
    folder = str(tmp_path / "cache")
    command = [sys.executable, "-c", "import sys; from followup.cli import main; sys.exit(main())", "audit"]
    args = [*command, "--as-of", AS_OF, str(big), "--format", "json", "--jobs", "1", "--cache", folder]
    runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        out, err = run.communicate(timeout=TIMEOUT)
        assert (run.returncode, out, err) == (plain.returncode, plain.stdout, plain.stderr)
    warm = _run(str(big), "--format", "json", "--jobs", "1", "--cache", folder)
    assert (warm.returncode, warm.stdout, warm.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert len(_entries(Path(folder))) == 400


def test_a_killed_run_leaves_nothing_half_written(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(_lines(KILLED_BATCH, seed=5)) + "\n", encoding="utf-8")
    folder = tmp_path / "cache"
    command = [sys.executable, "-c", "import sys; from followup.cli import main; sys.exit(main())", "audit"]
    args = [*command, "--as-of", AS_OF, str(big), "--format", "json", "--jobs", "1", "--cache", str(folder)]
    run = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT
    while len(_entries(folder)) < 20 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=TIMEOUT)
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    written = len(_entries(folder))
    assert 0 < written < KILLED_BATCH
    plain = _run(str(big), "--format", "json", "--jobs", "1")
    again = _run(str(big), "--format", "json", "--jobs", "1", "--cache", str(folder))
    assert (again.returncode, again.stdout, again.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert len(_entries(folder)) == KILLED_BATCH


def test_a_corrupt_or_cut_entry_is_ignored_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    inputs = (str(EXAMPLES / "jane.yaml"), str(EXAMPLES / "struggling.yaml"))
    plain = _audit(*inputs, "--format", "json")
    _audit(*inputs, "--format", "json", "--cache", str(folder))
    first, second = _entries(folder)
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0x20  # one changed bit in the body
    first.write_bytes(bytes(data))
    second.write_bytes(second.read_bytes()[:100])  # cut short, as by a full disk
    code, out, err = _audit(*inputs, "--format", "json", "--cache", str(folder))
    assert (code, out) == plain[:2]
    warned = _warnings(err)
    assert len(warned) == 2
    assert all("ignoring the corrupt cache entry" in w for w in warned)
    assert err.replace("\n".join(warned) + "\n", "", 1) == plain[2]
    # Both entries were written anew: the next run is quiet.
    assert _audit(*inputs, "--format", "json", "--cache", str(folder)) == plain


def test_an_entry_filed_under_another_key_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    jane, struggling = str(EXAMPLES / "jane.yaml"), str(EXAMPLES / "struggling.yaml")
    _audit(jane, "--cache", str(folder))
    [entry] = _entries(folder)
    plain = _audit(struggling, "--format", "json")
    _audit(struggling, "--cache", str(folder))
    other = next(p for p in _entries(folder) if p != entry)
    other.write_bytes(entry.read_bytes())  # jane's result under struggling's key
    code, out, err = _audit(struggling, "--format", "json", "--cache", str(folder))
    assert (code, out) == plain[:2]
    assert "ignoring the corrupt cache entry" in err


def test_an_unusable_folder_means_no_cache_not_an_error(tmp_path: Path) -> None:
    occupied = tmp_path / "file"
    occupied.write_text("not a folder", encoding="utf-8")
    plain = _audit(str(EXAMPLES / "jane.yaml"), "--format", "json")
    inside = occupied / "cache"  # a folder that cannot be made: its parent is a file
    code, out, err = _audit(str(EXAMPLES / "jane.yaml"), "--format", "json", "--cache", str(inside))
    assert (code, out) == plain[:2]
    assert err.startswith(f"followup: warning: cannot use {inside} as a cache: ")
    assert err.endswith("; auditing without it\n")


def test_the_folder_stays_under_its_size_least_recently_used_first(tmp_path: Path) -> None:
    lines = _lines(40, seed=9)
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    new.write_text("\n".join(lines[20:]) + "\n", encoding="utf-8")
    folder = tmp_path / "cache"
    _audit(str(old), "--cache", str(folder))
    sizes = [p.stat().st_size for p in _entries(folder)]
    for entry in _entries(folder):  # used long ago
        os.utime(entry, (time.time() - 86400, time.time() - 86400))
    limit = 25 * max(sizes)
    plain = _audit(str(new), "--format", "json")
    assert _audit(str(new), "--format", "json", "--cache", str(folder), "--cache-max-size", str(limit)) == plain
    left = _entries(folder)
    assert sum(p.stat().st_size for p in left) <= limit
    assert len(left) < 40
    newest = {p for p in left if p.stat().st_mtime > time.time() - 3600}
    assert len(newest) == 20  # every entry of the last run survived; only old ones went


def test_eviction_removes_stale_temporary_files_and_nothing_else(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    (folder / "ab").mkdir(parents=True)
    stale, fresh = folder / "ab" / ".tmp-1-aaaa", folder / "ab" / ".tmp-2-bbbb"
    stranger, note = folder / "ab" / "notes.txt", folder / "README"
    for path in (stale, fresh, stranger, note):
        path.write_text("x", encoding="utf-8")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    os.utime(stranger, (0, 0))
    assert evict(str(folder), 0) == 1
    assert not stale.exists()
    assert fresh.exists() and stranger.exists() and note.exists()


# -- what is not cached ----------------------------------------------------------------------------


def _plan_with(auditor: Auditor, **changes: object) -> Plan:
    return Plan.for_pack(dataclasses.replace(auditor.compiled, **changes))


def test_an_unknown_test_operator_is_not_cached() -> None:
    auditor = Auditor.for_pack("interview-follow-up")
    ruleset = {name: dict(rule) for name, rule in auditor.compiled.ruleset.items()}
    name = next(n for n in ruleset if n.startswith("send-thank-you-email"))
    patterns = list(ruleset[name]["all"])  # type: ignore[call-overload]
    patterns.append({"x": {"$and": [{"t": "email"}, {"$mt": {"subject": ".*"}}]}})
    ruleset[name] = {"all": patterns}
    plan = _plan_with(auditor, ruleset=ruleset)
    assert plan.refused is not None and "$mt" in plan.refused
    assert plan.window([], [], 0.0) is None


def test_a_message_or_derived_value_that_reads_the_audit_time_is_not_cached() -> None:
    from followup.compile import expr as ex
    from followup.compile import template as tpl

    auditor = Auditor.for_pack("interview-follow-up")
    rules = dict(auditor.compiled.rules)
    name = next(n for n in rules if n.startswith("send-thank-you-email"))
    message = (*rules[name].message, tpl.Placeholder(ex.Ref("asof", "at"), "date", ()))
    rules[name] = dataclasses.replace(rules[name], message=message)
    assert _plan_with(auditor, rules=rules).refused is not None
    rules = dict(auditor.compiled.rules)
    derive = next(n for n in rules if rules[n].kind == "derive")
    rules[derive] = dataclasses.replace(rules[derive], set={**rules[derive].set, "when": ex.Ref("asof", "at")})
    assert _plan_with(auditor, rules=rules).refused is not None


DERIVED_PACK = """\
pack: stale-thanks
version: "1.0.0"
extends: interview-follow-up
rules:
  - id: thank-you-long-ago
    title: A thank-you more than ten days ago
    severity: info
    rationale: Time to check in again.
    violation:
      when:
        - {fact: thank_you, as: t, where: {at: {before: asof.at - 10d}}}
      subject: t.email
      message: Check in again.
"""


def test_a_derived_fact_compared_with_the_audit_time_bounds_the_window(tmp_path: Path) -> None:
    pack = tmp_path / "stale.yaml"
    pack.write_text(DERIVED_PACK, encoding="utf-8")
    auditor = Auditor.for_pack(str(pack))
    plan = Plan.for_pack(auditor.compiled)
    assert plan.refused is None
    assert any(t.fact == "thank_you" for t in plan.tests)
    as_of = datetime(2026, 11, 12, 20, 30, tzinfo=UTC)  # after the last event, an hour before ten days
    source = next(iter(iter_sources([str(EXAMPLES / "jane.yaml")])))
    history = read_history(source, as_of)
    assert not isinstance(history, InputError)
    thanks = [e.at for e in history.events if e.type == "email" and e.get("purpose") == "thank_you"]
    result = auditor.audit(history, as_of)
    window = plan.window(auditor.facts(history), result.findings, epoch(as_of))
    assert window is not None
    ten_days = 10 * 86400
    assert window.until == min(epoch(t) for t in thanks if epoch(t) + ten_days > epoch(as_of)) + ten_days - MARGIN
    default = Auditor.for_pack("interview-follow-up")
    plain = Plan.for_pack(default.compiled).window(default.facts(history), result.findings, epoch(as_of))
    assert plain is not None and plain.until > window.until  # the new rule's test is what ends it


@pytest.mark.parametrize("broken", ["encode", "window"])
def test_a_failure_inside_the_cache_never_changes_the_outcome(
    broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from followup.cache import store

    def fail(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    if broken == "encode":
        monkeypatch.setattr(store, "encode", fail)
    else:
        monkeypatch.setattr(Plan, "window", fail)
    auditor = Auditor.for_pack("interview-follow-up")
    source = next(iter(iter_sources([str(EXAMPLES / "jane.yaml")])))
    as_of = datetime.fromisoformat(AS_OF)
    cache = _cache(tmp_path, auditor)
    assert audit_one(auditor, source, as_of, cache) == audit_one(auditor, source, as_of)
    assert (cache.stats.uncacheable, cache.stats.stored) == (1, 0)


@pytest.mark.parametrize("as_of", ["2026-11-13T12:00:00+00:00", "2026-11-25T12:00:00+00:00"])
def test_a_calendar_pack_is_cached_exactly(tmp_path: Path, batch: Path, as_of: str) -> None:
    """Business-day and weekday fields come from the pack's calendar: a cached result of such a
    pack must be the one the pack gives (the facts a cache hit stands for carry those fields)."""
    pack = str(ROOT / "examples" / "packs" / "agency-calendar.yaml")
    inputs = (str(EXAMPLES), str(batch), "--pack", pack, "--format", "json", "--jobs", "1")
    plain = _audit(*inputs, as_of=as_of)
    folder = tmp_path / "cache"
    assert _audit(*inputs, "--cache", str(folder), as_of=as_of) == plain
    assert _audit(*inputs, "--cache", str(folder), as_of=as_of) == plain
    # Most are stored; a history whose window the horizon cannot bound is audited every time.
    assert len(_entries(folder)) >= 50
