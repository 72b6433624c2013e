"""How pack size and `in:` list length cost: compile time, engine build time (create_ruleset over
every engine ruleset of the pack), and the time to audit one small history, on both engines.

    python benchmarks/pack_limits.py                 # the default sizes
    python benchmarks/pack_limits.py --rules 50 200 1000 --in-values 16 500 1000 5000

Packs are generated: N rules of four shapes (an interview joined to a late email, an interview
with no note, an email whose purpose is in a list, joined to its recipients, a person joined to
the interviews they met), each firing a known number of times on the one history audited.
Figures are printed, never asserted (tests/test_pack_limits.py checks the findings).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from followup.audit import Auditor
from followup.backends import get_backend
from followup.compile import compile_pack
from followup.history import load_histories
from followup.model import History
from followup.pack import load_pack

HISTORY = """version: 1
timezone: UTC
candidate: {name: Jane Doe, email: jane@example.com}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme, with: [kim]}
  - {id: e1, at: 2026-11-02T21:00, type: email, direction: sent, to: [kim], about: i1, purpose: thank_you,
     subject: Thanks, body: Thank you.}
"""
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


def rule(i: int, in_values: int) -> str:
    """Rule ``i``: one of four shapes; how often it fires on HISTORY is ``expected_firings``."""
    head = f"  - id: r-{i}\n    title: Rule {i}\n    severity: warning\n    rationale: Generated.\n    violation:\n"
    shape = i % 4
    if shape == 0:  # fires when the email (10 h after the interview ends) is later than i % 20 hours
        when = (
            "      - {fact: interview, as: i}\n"
            f"      - {{fact: email, as: e, where: {{about: i.key, at: {{after: i.start + {i % 20}h}}}}}}\n"
        )
        subject = "e.key"
    elif shape == 1:
        when = "      - {fact: interview, as: i, where: {company: Acme}}\n      - {none: note, where: {about: i.key}}\n"
        subject = "i.key"
    elif shape == 2:
        values = ", ".join([*(f"v{i}-{k}" for k in range(max(0, in_values - 1))), "Thanks"][-max(1, in_values) :])
        when = (
            f"      - {{fact: email, as: e, where: {{direction: sent, subject: {{in: [{values}]}}}}}}\n"
            "      - {fact: to, as: r, where: {event: e.key}}\n"
        )
        subject = "e.key"
    else:
        when = (
            "      - {fact: person, as: p, where: {role: interviewer}}\n"
            "      - {fact: met, as: m, where: {person: p.person}}\n"
        )
        subject = "m.interview"
    return head + "      when:\n" + when + f"      subject: {subject}\n      message: Rule {i} fired.\n"


def make_pack(rules: int, in_values: int = 3) -> str:
    return "pack: generated\nversion: '1'\nrules:\n" + "".join(rule(i, in_values) for i in range(rules))


def expected_firings(rules: int) -> int:
    return sum(0 if i % 4 == 0 and i % 20 >= 10 else 1 for i in range(rules))


def history(folder: Path) -> History:
    path = folder / "h.yaml"
    path.write_text(HISTORY)
    [loaded] = list(load_histories([str(path)], AS_OF))
    assert isinstance(loaded, History), loaded
    return loaded


def measure(label: str, text: str, folder: Path, expected: int) -> None:
    path = folder / "p.yaml"
    path.write_text(text)
    started = time.perf_counter()
    pack = load_pack(str(path))  # checks the pack, the trial build in the engine included
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    compiled = compile_pack(pack)
    compiled_s = time.perf_counter() - started
    started = time.perf_counter()
    get_backend("durable", compiled)
    build = time.perf_counter() - started
    figures = []
    for engine in ("durable", "reference"):
        auditor = Auditor.for_pack(pack, engine)
        started = time.perf_counter()
        result = auditor.audit(history(folder), AS_OF)
        figures.append(f"{engine} {time.perf_counter() - started:7.3f}s {len(result.findings):5d}")
    ok = "ok" if all(f.endswith(f"{expected:5d}") for f in figures) else f"EXPECTED {expected}"
    print(
        f"{label:24s} rulesets {len(compiled.parts()):3d}  load+check {loaded:7.3f}s  "
        f"compile {compiled_s:7.3f}s  create_ruleset {build:7.3f}s  audit: {'  '.join(figures)}  {ok}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, nargs="*", default=[10, 50, 100, 200, 500, 1000])
    parser.add_argument("--in-values", type=int, nargs="*", default=[16, 17, 100, 500, 1000, 5000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in args.rules:
            measure(f"{n} rules", make_pack(n), folder, expected_firings(n))
        for k in args.in_values:
            measure(f"4 rules, in: {k} values", make_pack(4, k), folder, expected_firings(4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
