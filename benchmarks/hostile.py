"""Time and peak memory of loading hostile histories (the loader and checks, no engine).

    python benchmarks/hostile.py

Each case runs in a fresh process (so peak memory is its own) with a time limit; a case that
exceeds it prints "over LIMIT s". Cases:
- alias bomb: a 410-byte YAML file whose nested aliases stand for 387 million values;
- 2,000 unknown ids: 2,000 people and 2,000 emails each to a person not listed (did-you-mean);
- 16 MiB history: one valid history of about 128,000 events, just under the default size limit;
- /dev/zero on stdin: must stop at the size limit.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT = 300  # seconds per case

LOAD = """
import sys, time
from datetime import datetime, UTC
from followup.history import read_history
from followup.io import iter_sources
as_of = datetime(2026, 11, 30, tzinfo=UTC)
start = time.perf_counter()
for source in iter_sources(sys.argv[1:]):
    result = read_history(source, as_of)
    outcome = f"{len(result.problems)} problems" if hasattr(result, "problems") else f"{len(result.events)} events"
print(f"{time.perf_counter() - start:.2f} s  {outcome}")
"""


def alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return "x:\n" + "\n".join("  " + line for line in lines) + "\nversion: *i\ncandidate: {name: B}\nevents: []\n"


def unknown_ids(count: int = 2000) -> str:
    people = "".join(f"  - {{id: p{i:04d}, name: P {i}, role: recruiter, company: C}}\n" for i in range(count))
    events = "".join(
        f"  - {{id: e{i}, type: email, at: '2026-11-02T10:00', direction: sent, to: [q{i:04d}x]}}\n"
        for i in range(count)
    )
    return f"version: 1\ncandidate: {{name: Gen}}\npeople:\n{people}events:\n{events}"


def big_history(size: int = 16 * 2**20 - 300) -> str:
    head = (
        "version: 1\ncandidate: {name: Big}\npeople:\n"
        "  - {id: kim, name: Kim, role: recruiter, company: Acme}\nevents:\n"
    )
    parts, total, i = [head], len(head), 0
    while True:
        line = f"  - {{id: e{i}, type: email, at: '2026-11-02T10:00', direction: sent, to: [kim], subject: 'Hi {i}'}}\n"
        if total + len(line) > size:
            return "".join(parts)
        parts.append(line)
        total += len(line)
        i += 1


def measure(label: str, args: list[str], stdin: object = None) -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", LOAD, *args], stdin=stdin, capture_output=True, text=True, timeout=LIMIT, check=False
        )
        figure = done.stdout.strip() or done.stderr.strip().splitlines()[-1]
    except subprocess.TimeoutExpired:
        figure = f"over {LIMIT} s"
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    memory = f"{peak / 1024:.0f} MiB" if peak > before else "(below an earlier case)"
    print(f"{label:<22} load {figure:<28} process {wall:.2f} s, peak RSS {memory}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {"alias bomb": alias_bomb(), "2,000 unknown ids": unknown_ids(), "16 MiB history": big_history()}
        for label, text in cases.items():
            path = folder / (label.replace(" ", "_").replace(",", "") + ".yaml")
            path.write_text(text)
            measure(f"{label} ({len(text.encode()):,} B)", [str(path)])
        with open("/dev/zero", "rb") as zero:
            measure("/dev/zero on stdin", ["-"], stdin=zero)


if __name__ == "__main__":
    main()
