"""Cost of one history as it grows: the audit of N events should cost O(N), per engine.

Each row audits one generated history (a JSON file) in a fresh Python process, so that the peak
memory is that audit's own (``resource.getrusage(...).ru_maxrss`` of the child, interpreter and
imports included). Seconds cover reading, validating, preparing facts, the engine and building
the findings (not compiling the pack), wall clock and CPU time of the process; µs/event is CPU time
per event (steadier than the wall clock on a shared machine). Firings count every rule firing of
the engine, derivations included. Per-event cost should stay flat (within 2x) from 10 to 10,000
events in every mix.

    python benchmarks/linear.py                          # every mix, 10 to 10,000 events, both engines
    python benchmarks/linear.py --mix check-ins --sizes 100 1000 --engines durable
    python benchmarks/linear.py --mix company --sizes 300   # 300 people x 300 interviews, one company

Mixes (a realistic shape, scaled up):
- check-ins: one interview, then nothing but check-in emails and calls to the interviewer;
- interviews: many interviews at many companies, each with a thank-you, a note, a check-in, a reply;
- company: N people at one company, one interview with each, a thank-you and a check-in after each;
- replies: N interviews with one person at one company, each followed by a reply from them and a
  check-in (every reply is news for every earlier interview there);
- thank-yous: one interview, then thank-you email after thank-you email to the same people;
- posts: a few interviews, then posts that name the companies and the word "interview";
- mixed: the batch benchmark's history (two companies, two rounds, references...) repeated with
  new companies.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

AS_OF = datetime(2030, 1, 1, 12, tzinfo=UTC)
START = datetime(2026, 1, 5, 9, tzinfo=UTC)
BODY = (
    "Dear {name}, thank you for meeting me today. I am excited about the role: my experience "
    "with reporting fits what you described. You can reach me at jane@example.com."
)
SIZES = (10, 100, 1_000, 10_000)
ENGINES = ("durable", "reference")

Doc = dict[str, object]


class _Builder:
    """Collects people and events; events get ids e1, e2... and times as given."""

    def __init__(self) -> None:
        self.people: list[dict[str, object]] = [{"id": "dad", "name": "Al Doe", "role": "family"}]
        self.events: list[dict[str, object]] = []

    def person(self, role: str, company: str | None = None) -> str:
        pid = f"p{len(self.people)}"
        entry: dict[str, object] = {"id": pid, "name": f"Person {len(self.people)}", "role": role}
        if company is not None:
            entry["company"] = company
        self.people.append(entry)
        return pid

    def event(self, kind: str, at: datetime, **fields: object) -> str:
        eid = f"e{len(self.events) + 1}"
        self.events.append({"id": eid, "at": at.strftime("%Y-%m-%dT%H:%M:%S"), "type": kind, **fields})
        return eid

    def interview(self, at: datetime, company: str, met: list[str]) -> str:
        return self.event(
            "interview",
            at,
            ends=(at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            company=company,
            **{"with": met},
        )

    def thank_you(self, at: datetime, to: list[str], about: str | None = None) -> str:
        fields: dict[str, object] = {"direction": "sent", "to": to, "purpose": "thank_you", "proofread_by": "dad"}
        if about is not None:
            fields["about"] = about
        return self.event("email", at, subject="Thank you", body=BODY.format(name=to[0]), **fields)

    def doc(self) -> Doc:
        return {
            "version": 1,
            "timezone": "UTC",
            "candidate": {"name": "Jane Doe", "email": "jane@example.com"},
            "people": self.people,
            "events": sorted(self.events, key=lambda e: str(e["at"])),
        }


def check_ins(n: int) -> Doc:
    b = _Builder()
    kim = b.person("interviewer", "Acme")
    b.interview(START, "Acme", [kim])
    for k in range(n - 1):
        at = START + timedelta(days=8, hours=k)
        if k % 2:
            b.event("call", at, direction="sent", to=kim, purpose="check_in")
        else:
            b.event("email", at, direction="sent", to=[kim], purpose="check_in", proofread_by="dad", body="Any news?")
    return b.doc()


def interviews(n: int) -> Doc:
    b = _Builder()
    for k in range(max(1, n // 5)):
        company = f"Company {k}"
        met = b.person("interviewer", company)
        at = START + timedelta(hours=3 * k)
        i = b.interview(at, company, [met])
        b.thank_you(at + timedelta(hours=5), [met], about=i)
        b.event("note", at + timedelta(days=1), to=met, about=i)
        b.event("call", at + timedelta(days=8), direction="sent", to=met, purpose="check_in")
        b.event("email", at + timedelta(days=9), direction="received", **{"from": met}, subject="Next round")
    return b.doc()


def company(n: int) -> Doc:
    b = _Builder()
    for k in range(max(1, n // 3)):
        met = b.person("interviewer", "Acme")
        at = START + timedelta(hours=3 * k)
        b.interview(at, "Acme", [met])
        b.thank_you(at + timedelta(hours=5), [met])
        b.event("email", at + timedelta(days=8), direction="sent", to=[met], purpose="check_in", proofread_by="dad")
    return b.doc()


def replies(n: int) -> Doc:
    b = _Builder()
    kim = b.person("interviewer", "Acme")
    for k in range(max(1, n // 3)):
        at = START + timedelta(hours=3 * k)
        b.interview(at, "Acme", [kim])
        b.event("email", at + timedelta(hours=1, minutes=30), direction="received", **{"from": kim}, subject="Thanks")
        b.event("call", at + timedelta(hours=2), direction="sent", to=kim, purpose="check_in")
    return b.doc()


def thank_yous(n: int) -> Doc:
    b = _Builder()
    kim = b.person("interviewer", "Acme")
    bo = b.person("recruiter", "Acme")
    i = b.interview(START, "Acme", [kim, bo])
    for k in range(n - 1):
        b.thank_you(START + timedelta(hours=2 + k), [kim, bo] if k % 3 else [kim], about=i if k % 2 else None)
    return b.doc()


def posts(n: int) -> Doc:
    b = _Builder()
    names = ("Acme", "Globex", "Initech", "Umbrella", "Hooli")
    for k, name in enumerate(names):
        b.interview(START + timedelta(days=k), name, [b.person("interviewer", name)])
    bodies = ("Fingers crossed for {c}!", "My interview went well", "Lovely hike today", "{c} is a nice place")
    for k in range(max(0, n - len(names))):
        body = bodies[k % len(bodies)].format(c=names[k % len(names)])
        b.event("social", START + timedelta(days=6, minutes=k), action="post", network="X", body=body)
    return b.doc()


def mixed(n: int) -> Doc:
    """The batch benchmark's realistic history, its processes repeated with new companies."""
    b = _Builder()
    ref = b.person("reference")
    b.event("social", START - timedelta(days=2), action="profile_update", network="LinkedIn")
    k = 0
    while len(b.events) < n:
        name = f"Company {k}"
        met = [b.person("interviewer", name), b.person("recruiter", name)]
        start = START + timedelta(days=2 * k)
        b.event("reference_contact", start - timedelta(days=1), reference=ref, company=name, request="heads_up")
        last = ""
        for round_ in range(2):
            at = start + timedelta(days=7 * round_)
            last = b.interview(at, name, met)
            b.thank_you(at + timedelta(hours=5 if k % 4 else 30), met, about=last)
            b.event("note", at + timedelta(days=1), to=met, about=last)
            b.event("call", at + timedelta(days=3 + 5 * (k % 2)), direction="sent", to=met[0], purpose="check_in")
            b.event("email", at + timedelta(days=5), direction="received", **{"from": met[0]}, subject="Next")
        b.event("social", start + timedelta(days=2), action="post", network="X", body=f"Great day at {name}!")
        if k % 5 == 0:
            b.event("social", start + timedelta(days=1), action="connect", network="LinkedIn", target=met[0])
        b.event("reference_check", start + timedelta(days=10), reference=ref, company=name)
        b.event("decision", start + timedelta(days=20), about=last, outcome=("offer", "rejection", "on_hold")[k % 3])
        k += 1
    return b.doc()


MIXES: dict[str, Callable[[int], Doc]] = {
    "check-ins": check_ins,
    "interviews": interviews,
    "company": company,
    "replies": replies,
    "thank-yous": thank_yous,
    "posts": posts,
    "mixed": mixed,
}


def child(path: str, engine: str) -> None:
    """Audit one history file; print seconds, events, firings, findings and peak memory as JSON."""
    from followup.audit import Auditor
    from followup.diagnostics import InputError
    from followup.history import load_histories

    auditor = Auditor.for_pack("interview-follow-up", engine)
    derived = count_derivations(engine)
    returned = [0]
    inner = auditor.backend

    class Counting:
        def run(self, facts: object, as_of: float) -> object:
            firings = inner.run(facts, as_of)  # type: ignore[arg-type]
            returned[0] += len(firings)
            return firings

    auditor = Auditor(auditor.pack, auditor.compiled, Counting(), auditor.patterns)  # type: ignore[arg-type]
    began, cpu = time.perf_counter(), time.process_time()
    (history,) = load_histories([path], AS_OF)
    if isinstance(history, InputError):
        raise SystemExit(str(history))
    result = auditor.audit(history, AS_OF)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fired = derived[0] + returned[0]
    print(json.dumps([seconds, cpu, len(history.events), fired, len(result.findings), peak]))


def count_derivations(engine: str) -> list[int]:
    """Counts every derivation firing of ``engine`` (each turns into a fact through ``derived_fact``)."""
    import importlib

    module = importlib.import_module(f"followup.backends.{engine}")
    original = module.derived_fact
    count = [0]

    def counting(compiled: object, firing: object) -> object:
        count[0] += 1
        return original(compiled, firing)

    module.derived_fact = counting
    return count


def measure(mix: str, size: int, engine: str, workdir: Path, timeout: float) -> list[float] | str:
    path = workdir / f"{mix}-{size}.json"
    if not path.exists():
        path.write_text(json.dumps(MIXES[mix](size)), encoding="utf-8")
    command = [sys.executable, __file__, "--child", str(path), engine]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s"
    if out.returncode != 0:
        return f"failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"
    return [float(x) for x in json.loads(out.stdout)]


def rows(args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    yield (
        f"{'mix':<11} {'engine':<9} {'events':>7} {'seconds':>8} {'CPU s':>7} {'µs/event':>9} {'firings':>9} "
        f"{'findings':>8} {'peak MiB':>8}"
    )
    for mix in args.mix:
        for engine in args.engines:
            for size in args.sizes:
                got = measure(mix, size, engine, workdir, args.timeout)
                if isinstance(got, str):
                    yield f"{mix:<11} {engine:<9} {size:>7} {got}"
                    continue
                seconds, cpu, events, fired, found, peak = got
                yield (
                    f"{mix:<11} {engine:<9} {int(events):>7} {seconds:>8.2f} {cpu:>7.2f} {cpu / events * 1e6:>9.0f} "
                    f"{int(fired):>9} {int(found):>8} {peak:>8.0f}"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", nargs="+", choices=sorted(MIXES), default=list(MIXES))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is given up")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for line in rows(args, Path(tmp)):
            print(line, flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
