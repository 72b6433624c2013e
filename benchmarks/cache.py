"""The nightly re-run with ``--cache``: how much faster than auditing everything again.

Generates N JSON Lines histories (benchmarks/batch.py's generator), then times, as subprocesses
(wall time, best of ``--repeat``), every run writing a JSON report to a file:

1. fill: ``followup audit FILE --as-of T --cache DIR`` on an empty DIR (the first night: the cost
   of writing the cache, against the same run without it);
2. 1% of the histories edited (a new e-mail address for the candidate) and the audit time moved
   on by one day (T + 1 day);
3. cold: ``followup audit FILE --as-of T+1d`` without the cache;
4. warm: the same with ``--cache DIR``, the folder from step 1 (copied afresh for every repeat).

and prints the speed-up (cold ÷ warm), checks that the warm report equals the cold one byte for
byte, and counts the entries the warm run wrote (the histories it audited again). The machine's
load average is printed first: other work on the machine slows every run.

    python benchmarks/cache.py                    # 10,000 histories, --jobs 1
    python benchmarks/cache.py -n 2000 --jobs 2 --repeat 3
"""

from __future__ import annotations

import argparse
import filecmp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch import AS_OF, followup_command, write_batch


def run(file: Path, as_of: str, out: Path, jobs: str, cache: Path | None = None) -> tuple[float, float]:
    """Wall time and CPU time (the process and its workers) of one ``followup audit``."""
    command = [*followup_command(), "audit", str(file), "--as-of", as_of, "--format", "json", "--output", str(out)]
    command += ["--fail-on", "never", *(["--jobs", jobs] if jobs != "default" else [])]
    if cache is not None:
        command += ["--cache", str(cache)]
    with tempfile.TemporaryFile() as errors:
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - began
        errors.seek(0)
        said = errors.read().decode()
    if os.waitstatus_to_exitcode(status) != 0 or said:
        raise SystemExit(f"followup exited {os.waitstatus_to_exitcode(status)}:\n{said}")
    return elapsed, usage.ru_utime + usage.ru_stime


def edit(file: Path, share: float, seed: int = 2) -> int:
    """Give ``share`` of the histories a new candidate e-mail address; returns how many."""
    lines = file.read_text(encoding="utf-8").splitlines()
    chosen = random.Random(seed).sample(range(len(lines)), round(len(lines) * share))
    for number in chosen:
        lines[number] = lines[number].replace('@example.com"}', '@example.org"}', 1)
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(chosen)


def entries(folder: Path) -> list[Path]:
    return [p for p in folder.glob("??/*") if not p.name.startswith(".tmp-")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--histories", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting; the best counts")
    parser.add_argument("--jobs", default="1", help="--jobs for every run ('default': not given)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of histories edited")
    args = parser.parse_args(argv)
    later = (datetime.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        batch, filled = root / "batch.jsonl", root / "filled"
        write_batch(batch, args.histories)
        plain_first = min(run(batch, AS_OF, root / "p.json", args.jobs) for _ in range(args.repeat))
        fill = []
        for _ in range(args.repeat):
            shutil.rmtree(filled, ignore_errors=True)
            fill.append(run(batch, AS_OF, root / "f.json", args.jobs, filled))
        assert filecmp.cmp(root / "p.json", root / "f.json", shallow=False), "the filling run's report differs"
        size = sum(p.stat().st_size for p in entries(filled))
        changed = edit(batch, args.changed)
        cold = min(run(batch, later, root / "cold.json", args.jobs) for _ in range(args.repeat))
        warm_times, rewritten = [], 0
        for _ in range(args.repeat):
            folder = root / "warm"
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(filled, folder)
            before = {p.name for p in entries(folder)}
            started = time.time()
            warm_times.append(run(batch, later, root / "warm.json", args.jobs, folder))
            rewritten = sum(1 for p in entries(folder) if p.name not in before or p.stat().st_mtime >= started)
        warm = min(warm_times)
        same = filecmp.cmp(root / "cold.json", root / "warm.json", shallow=False)
    n = args.histories
    print(f"{n} histories, --jobs {args.jobs}, best of {args.repeat} (by wall time)")
    print("| run | wall s | histories/s | CPU s |\n|---|---|---|---|")
    rows = [
        (f"first night without cache (as of {AS_OF})", plain_first),
        ("first night filling the cache", min(fill)),
        (f"next night without cache ({changed} edited, one day later)", cold),
        ("next night with the cache", warm),
    ]
    for label, (wall, cpu) in rows:
        print(f"| {label} | {wall:.2f} | {n / wall:,.0f} | {cpu:.2f} |")
    print(f"speed-up, next night: {cold[0] / warm[0]:.1f}x wall, {cold[1] / warm[1]:.1f}x CPU")
    print(f"cache size {size / 2**20:.1f} MiB ({size / n:,.0f} B/history)")
    print(f"entries written by the warm run (histories audited again): {rewritten}")
    print(f"warm report identical to cold: {same}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not same:
        raise SystemExit("the cached report differs from the uncached one")


if __name__ == "__main__":
    main()
