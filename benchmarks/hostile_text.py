"""Time to audit histories whose text is hostile to a backtracking regex engine. Prints a table.

    python benchmarks/hostile_text.py                 # RE2, as followup runs it
    python benchmarks/hostile_text.py --compare-re    # also Python's re on the same text (before)

What it measures, in this process (wall seconds and CPU seconds of this process, which on a loaded
machine is the fairer figure):
- the default pack: the whole audit (load + validate, facts, engine, findings) of a history whose
  thank-you email body is 20 KB, 40 KB or 2 MB of a pasted base64 image, digits and spaces, one long
  word, one long accented word, and an almost-address (``a@a-`` repeated);
- staff patterns that are exponential for a backtracking engine, as a pack's ``thanks`` pattern,
  against a long text that almost matches: the whole audit of a history whose body is that text.

``--compare-re`` times Python's ``re`` (what followup used before) matching the same patterns on
the same texts, in a child process stopped after ``--re-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

AS_OF = datetime.fromisoformat("2026-11-10T12:00:00+00:00")
SIZES = {"20 KB": 20_000, "40 KB": 40_000, "2 MB": 2_000_000}
STAFF_PATTERNS = {
    "([ā-ž]+)+$": lambda n: "ž" * n + "!",
    "(.*a)+x": lambda n: "a" * n,
    r"(\w*a)+x": lambda n: "a" * n,
    "(.*a){10}x": lambda n: "a" * n,
}


def hostile_bodies() -> dict[str, Callable[[int], str]]:
    rng = random.Random(9)
    image = base64.b64encode(rng.randbytes(1_500_001)).decode()
    return {
        "base64 image": lambda n: image[:n],
        "digits and spaces": lambda n: ("12 345 6789 " * (n // 12 + 1))[:n],
        "one word": lambda n: "a" * n,
        "accented word": lambda n: ("żółćé" * (n // 5 + 1))[:n],
        "almost an address": lambda n: ("a@a-" * (n // 4 + 1))[:n],
    }


def history(body: str) -> dict[str, object]:
    return {
        "version": 1,
        "timezone": "UTC",
        "candidate": {"name": "Jane Doe", "email": "jane@example.com"},
        "people": [{"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"}],
        "events": [
            {"id": "i1", "at": "2026-11-02T10:00", "type": "interview", "company": "Acme", "with": ["kim"]},
            {
                "id": "e1",
                "at": "2026-11-02T16:00",
                "type": "email",
                "direction": "sent",
                "to": "kim",
                "purpose": "thank_you",
                "body": body,
            },
        ],
    }


def audit_time(auditor: object, path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds of auditing the history in ``path``, and the number of findings."""
    from followup.audit import Auditor, audit_paths

    assert isinstance(auditor, Auditor)
    wall, cpu = time.perf_counter(), time.process_time()
    results = list(audit_paths(auditor, [str(path)], AS_OF))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    [result] = results
    findings = getattr(result, "findings", None)
    if findings is None:
        raise SystemExit(f"the benchmark history is invalid: {result}")
    return wall, cpu, len(findings)


def python_re_time(pattern: str, text: str, timeout: float) -> str:
    """Seconds Python's re (case-insensitive search) takes, in a child stopped after ``timeout``."""
    code = (
        "import re, sys, time; p = re.compile(sys.argv[1], re.I); t = sys.stdin.read();"
        "s = time.process_time(); p.search(t); print(time.process_time() - s)"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, pattern],
            input=text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s"
    return f"{float(done.stdout):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare-re", action="store_true", help="also time Python's re on the same texts")
    parser.add_argument("--re-timeout", type=float, default=20.0, help="seconds before Python's re is stopped")
    parser.add_argument("--yaml", action="store_true", help="write the histories as YAML (default: JSON)")
    args = parser.parse_args()

    def write(path: Path, body: str) -> None:
        if args.yaml:
            import yaml

            path.write_text(yaml.safe_dump(history(body), allow_unicode=True, width=1 << 30), encoding="utf-8")
        else:
            path.write_text(json.dumps(history(body), ensure_ascii=False), encoding="utf-8")

    from followup.audit import Auditor
    from followup.pack import load_pack

    default = Auditor.for_pack("interview-follow-up")
    contact_info = "|".join(f"(?:{p})" for p in default.pack.patterns["contact_info"])
    print(f"python {sys.version.split()[0]}, histories as {'YAML' if args.yaml else 'JSON'}")
    print(
        f"{'body':<22}{'size':>8}{'wall':>9}{'cpu':>9}  findings"
        + ("  python re contact_info" if args.compare_re else "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("history.yaml" if args.yaml else "history.json")
        for kind, make in hostile_bodies().items():
            for size_name, size in SIZES.items():
                body = make(size)
                write(path, body)
                wall, cpu, found = audit_time(default, path)
                line = f"{kind:<22}{size_name:>8}{wall:>8.2f}s{cpu:>8.2f}s  {found:>8}"
                if args.compare_re and size <= 40_000:
                    line += f"  {python_re_time(contact_info, body, args.re_timeout):>12}"
                print(line)

        print()
        print("staff pattern (as `thanks`), near-miss text")
        print(f"{'pattern':<22}{'size':>8}{'wall':>9}{'cpu':>9}  findings" + ("  python re" if args.compare_re else ""))
        base = load_pack("interview-follow-up")
        for pattern, make in STAFF_PATTERNS.items():
            pack = dataclasses.replace(base, patterns={**base.patterns, "thanks": (pattern,)})
            auditor = Auditor.for_pack(pack)
            for size in (33, 20_000, 2_000_000):
                text = make(size)
                write(path, text)
                wall, cpu, found = audit_time(auditor, path)
                line = f"{pattern:<22}{size:>8}{wall:>8.2f}s{cpu:>8.2f}s  {found:>8}"
                if args.compare_re and size <= 33:
                    line += f"  {python_re_time(pattern, text, args.re_timeout):>12}"
                print(line)


if __name__ == "__main__":
    main()
