"""Speed and memory of followup, next to the floor (merely parsing the input) and to the reference
evaluator. Prints a table; the figures go into docs/performance.md by hand, with the machine.

    python benchmarks/bench.py              # 10,000 histories (+ memory at 100,000: slow)
    python benchmarks/bench.py -n 2000 --no-big

What it measures, all on one process unless said:
- parse: reading the JSON Lines and ``json.loads`` of every line (the floor);
- load+validate: our loader and checks (schema, references, times) into the model;
- durable / reference: the whole audit of each history (load, validate, facts, engine, findings);
- cold audit: wall time and peak memory of ``followup audit examples/jane.yaml`` (a new process);
- peak memory of ``followup audit --jobs 1`` over 10,000 and 100,000 histories (flat is the goal).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import AS_OF, followup_command, write_batch

ROOT = Path(__file__).resolve().parents[1]


class _TimedEngine:
    """The C engine module with every call timed: what the floor (the C matcher alone) costs."""

    def __init__(self, real: object, spent: dict[str, float], clock: Callable[[], float]) -> None:
        self._real, self._spent, self._clock = real, spent, clock

    def __getattr__(self, name: str) -> Callable[..., object]:
        function = getattr(self._real, name)

        def timed(*args: object) -> object:
            start = self._clock()
            try:
                return function(*args)
            finally:
                self._spent["of which in the C engine (the floor)"] += self._clock() - start

        return timed


def stage_breakdown(path: Path) -> dict[str, float]:
    """CPU seconds per stage of the durable audit of every history in ``path``, in one process
    (CPU time: on a shared machine the wall clock counts other processes' work)."""
    from followup.audit import Auditor, build_findings
    from followup.audit.parallel import tune_allocator
    from followup.backends import durable
    from followup.compile import epoch, history_facts
    from followup.history import read_history
    from followup.io import iter_sources

    tune_allocator()  # as `followup audit --jobs 1` does
    as_of = datetime.fromisoformat(AS_OF)
    auditor = Auditor.for_pack("interview-follow-up")
    spent = dict.fromkeys(("load + validate", "facts", "durable engine", "findings"), 0.0)
    clock = time.process_time
    spent["of which in the C engine (the floor)"] = 0.0
    durable.engine = _TimedEngine(durable.engine, spent, clock)  # type: ignore[assignment]
    for source in iter_sources([str(path)]):
        t0 = clock()
        history = read_history(source, as_of)
        t1 = clock()
        if not hasattr(history, "events"):
            continue
        facts = history_facts(history, auditor.patterns, members="member" in auditor.compiled.fact_types)  # type: ignore[arg-type]
        t2 = clock()
        firings = auditor.backend.run(facts, epoch(as_of))
        t3 = clock()
        build_findings(auditor.compiled, firings, history)  # type: ignore[arg-type]
        t4 = clock()
        for key, seconds in zip(list(spent)[:4], (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            spent[key] += seconds
    return spent


def parse_only(path: Path) -> float:
    start = time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)
    return time.perf_counter() - start


def child_run(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    code = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
        "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    wall, rss = json.loads(out.stdout)
    return float(wall), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="histories in the batch (default 10,000)")
    parser.add_argument("--no-big", action="store_true", help="skip the 100,000-history memory run")
    args = parser.parse_args()
    followup = followup_command()
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.jsonl"
        write_batch(batch, args.n)
        events = sum(len(json.loads(line)["events"]) for line in batch.open())
        print(
            f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()} · {datetime.now().date()}"
        )
        print(f"{args.n:,} histories, {events:,} events ({events / args.n:.1f} a history)\n")

        def audit(engine: str) -> list[str]:
            return [
                *followup,
                "audit",
                str(batch),
                "--as-of",
                AS_OF,
                "--format",
                "json",
                "--output",
                os.devnull,
                "--jobs",
                "1",
                "--fail-on",
                "never",
                "--engine",
                engine,
            ]

        floor = parse_only(batch)
        rows = [("parse only (json.loads: the floor)", floor, 0)]
        for engine in ("reference", "durable"):
            wall, rss = child_run(audit(engine))
            rows.append((f"`followup audit --engine {engine}`", wall, rss))
        reference = rows[1][1]
        print("End to end, one process (a new `followup` process: start, load, validate, audit, JSON report):\n")
        print(
            f"| {'what':<36} | {'seconds':>7} | {'histories/s':>11} | {'events/s':>9} | {'× floor':>7} "
            f"| {'× reference':>11} | {'peak MiB':>8} |"
        )
        print(f"|{'-' * 38}|{'-' * 9}|{'-' * 13}|{'-' * 11}|{'-' * 9}|{'-' * 13}|{'-' * 10}|")
        for label, seconds, rss in rows:
            print(
                f"| {label:<36} | {seconds:7.2f} | {args.n / seconds:11,.0f} | {events / seconds:9,.0f} "
                f"| {seconds / floor:7.1f} | {seconds / reference:11.2f} | {rss / 1024 if rss else 0:8.1f} |"
            )
        spent = stage_breakdown(batch)
        floor_key = "of which in the C engine (the floor)"
        total = sum(seconds for stage, seconds in spent.items() if stage != floor_key)
        print("\nWhere the durable audit's time goes (in process, CPU time per history):\n")
        for stage, seconds in spent.items():
            print(f"- {stage}: {seconds / args.n * 1000:.3f} ms ({seconds / total:.0%})")
        jane = [*followup, "audit", str(ROOT / "examples" / "jane.yaml"), "--as-of", AS_OF]
        wall, rss = min(child_run(jane) for _ in range(5))
        print(f"\ncold `followup audit examples/jane.yaml`: {wall:.3f} s wall (best of 5), {rss / 1024:.1f} MiB peak")
        small_rss = rows[2][2]
        if not args.no_big:
            big = Path(tmp) / "big.jsonl"
            write_batch(big, args.n * 10, seed=2)
            command = audit("durable")
            command[command.index(str(batch))] = str(big)
            wall, rss_big = child_run(command)
            growth = (rss_big - small_rss) / small_rss * 100
            print(
                f"`followup audit --jobs 1` on {args.n * 10:,}: {wall:.1f} s wall, {rss_big / 1024:.1f} MiB peak "
                f"({growth:+.1f}% over {args.n:,}: {small_rss / 1024:.1f} MiB)"
            )


if __name__ == "__main__":
    main()
