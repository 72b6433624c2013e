"""What worker processes cost and when they pay: the figures behind the default ``--jobs``.

Measures, on this machine:

- the start-up of one worker (spawn a Python, import followup, compile the pack, audit one
  history), as the wall time from creating a one-worker pool to its first result;
- the time one history takes in this process (the batch's generated histories, ~20 events);
- the break-even batch size for 2 workers: start-up ÷ (per-history time × (1 − 1/2));
- ``followup audit`` on a batch of ``--small`` histories (default 300) with ``--jobs 1``, the
  default and ``--jobs 2`` (subprocesses, best of ``--repeat``): the default must never be the
  slowest by more than noise;
- optionally (``--big N``) the same on N histories, ``--jobs 1`` against ``--jobs 2``.

    python benchmarks/workers.py
    python benchmarks/workers.py --small 300 --big 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import AS_OF, followup_command, write_batch


def startup_seconds(batch: Path, repeat: int) -> float:
    """Best wall time from creating a one-worker pool to the result of its first history."""
    import multiprocessing

    from followup.audit.parallel import WorkerSetup, audit_parallel
    from followup.io import iter_sources
    from followup.pack import load_pack

    pack = load_pack("interview-follow-up")
    setup = WorkerSetup.for_formats(pack, "durable", datetime.fromisoformat(AS_OF), ["json"])
    [first, *_] = list(iter_sources([str(batch)]))[:1]
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        list(audit_parallel(setup, [first], 1))
        best = min(best, time.perf_counter() - began)
    multiprocessing.active_children()  # reap
    return best


def per_history_seconds(batch: Path) -> float:
    """Seconds per history audited in this process (after a warm-up)."""
    from followup.audit import Auditor
    from followup.audit.auditor import audit_sources
    from followup.io import iter_sources

    auditor = Auditor.for_pack("interview-follow-up")
    sources = list(iter_sources([str(batch)]))
    as_of = datetime.fromisoformat(AS_OF)
    list(audit_sources(auditor, sources[:50], as_of))
    began = time.perf_counter()
    list(audit_sources(auditor, sources, as_of))
    return (time.perf_counter() - began) / len(sources)


def run_seconds(batch: Path, jobs: int | None) -> float:
    command = [*followup_command(), "audit", str(batch), "--as-of", AS_OF, "--format", "json"]
    command += ["--output", os.devnull, "--fail-on", "never"]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def compare(batch: Path, settings: list[int | None], repeat: int) -> dict[str, float]:
    """Best wall time of each ``--jobs`` setting; settings alternate run by run so that a burst of
    other work on the machine hits them alike."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        for jobs in settings:
            name = "default" if jobs is None else f"--jobs {jobs}"
            best[name] = min(best.get(name, float("inf")), run_seconds(batch, jobs))
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=300, help="histories of the small batch")
    parser.add_argument("--big", type=int, default=0, help="histories of the big batch (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} before")
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.jsonl"
        write_batch(small, args.small)
        start = startup_seconds(small, args.repeat)
        each = per_history_seconds(small)
        print(f"worker start-up (spawn, import, compile, first history): {start:.3f} s (best of {args.repeat})")
        print(f"one history in this process: {each * 1000:.2f} ms")
        print(f"2 workers break even at about {start / (each * 0.5):,.0f} histories")
        for count, path, settings in (
            (args.small, small, [1, None, 2]),
            (args.big, Path(tmp) / "big.jsonl", [1, 2]),
        ):
            if not count:
                continue
            if not path.exists():
                write_batch(path, count)
            times = compare(path, settings, args.repeat)
            base = times["--jobs 1"]
            row = ", ".join(f"{name} {s:.2f} s ({count / s:,.0f}/s, {base / s:.2f}×)" for name, s in times.items())
            print(f"{count:,} histories: {row}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps({"startup_s": round(start, 3), "per_history_ms": round(each * 1000, 3)}))


if __name__ == "__main__":
    main()
