"""Batch throughput: histories per second of ``followup audit`` on 1 and 2 worker processes.

Generates N JSON Lines histories (about 20 events each, a mix of good and sloppy follow-up so that
every rule of the default pack has something to find), then times, as subprocesses (wall time, best of ``--repeat``)::

    followup audit FILE --format json --output /dev/null --jobs 1
    followup audit FILE --format json --output /dev/null --jobs 2

and prints a table: histories/s, the speed-up of 2 jobs over 1, the CPU time of each run (all
its processes) and the peak memory of its largest process. The machine's load average is printed
first: other work on the machine lowers the speed-up.

    python benchmarks/batch.py                  # 10,000 histories
    python benchmarks/batch.py -n 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

AS_OF = "2026-12-31T12:00:00+00:00"
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay")
FIRST = ("Kim", "Raj", "Ana", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ida", "Jo")
LAST = ("Lee", "Patel", "Ruiz", "Chen", "Okafor", "Smith", "Nagy", "Berg")
BODY = (
    "Dear {name}, thank you for meeting me today. I am excited about the role: my experience "
    "with reporting fits what you described. You can reach me at {email}."
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def make_history(rng: random.Random, number: int) -> dict[str, object]:
    """One plausible history of about 20 events: two companies, two rounds at the first."""
    people: list[dict[str, str]] = []
    events: list[dict[str, object]] = []

    def person(role: str, company: str | None = None) -> str:
        pid = f"p{len(people) + 1}"
        entry = {"id": pid, "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "role": role}
        if company:
            entry["company"] = company
        people.append(entry)
        return pid

    def event(kind: str, at: datetime, **fields: object) -> str:
        eid = f"e{len(events) + 1}"
        events.append({"id": eid, "at": _iso(at), "type": kind, **fields})
        return eid

    ref = person("reference")
    family = person("family")
    start = datetime(2026, 10, 1, 9, tzinfo=UTC) + timedelta(days=rng.randint(0, 20))
    if rng.random() < 0.7:
        event("social", start - timedelta(days=2), action="profile_update", network="LinkedIn")
    for company in rng.sample(COMPANIES, 2):
        met = [person("interviewer", company) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.6:
            event("reference_contact", start - timedelta(days=1), reference=ref, company=company, request="heads_up")
        previous = None
        for round_ in range(2):
            at = start + timedelta(days=7 * round_)
            interview = event(
                "interview",
                at,
                ends=_iso(at + timedelta(hours=1)),
                company=company,
                **{"with": met},
                position="Analyst",
            )
            previous = interview
            if rng.random() < 0.9:  # a thank-you, sometimes late, sometimes sloppy
                late = timedelta(hours=rng.choice((3, 5, 30)))
                mail: dict[str, object] = {
                    "direction": "sent",
                    "to": met,
                    "about": interview,
                    "purpose": "thank_you",
                    "subject": "Thank you",
                    "body": BODY.format(name=people[-1]["name"], email="cand@example.com"),
                }
                if rng.random() < 0.8:
                    mail["proofread_by"] = family
                if rng.random() < 0.15:
                    mail["includes"] = ["thanks", "interest"]  # says nothing of fit or contact
                event("email", at + late, **mail)
            if rng.random() < 0.7:
                event("note", at + timedelta(days=1), to=met, about=interview)
            if rng.random() < 0.5:
                event(
                    "call",
                    at + timedelta(days=rng.choice((3, 8))),
                    direction="sent",
                    to=met[0],
                    about=interview,
                    purpose="check_in",
                )
                if rng.random() < 0.2:  # and again, too soon
                    event("call", at + timedelta(days=9), direction="sent", to=met[0], about=interview)
            if rng.random() < 0.5:
                event(
                    "email",
                    at + timedelta(days=5),
                    direction="received",
                    **{"from": met[0]},
                    about=interview,
                    subject="Next round",
                )
        if rng.random() < 0.3:
            event(
                "social",
                start + timedelta(days=rng.choice((2, 9))),
                action="post",
                network="LinkedIn",
                body=rng.choice((f"Great day at {company}!", "My interview went well today!")),
            )
        if rng.random() < 0.1:
            event("social", start + timedelta(days=1), action="friend_request", network="LinkedIn", target=met[0])
        if rng.random() < 0.05:
            event(
                "reference_contact",
                start + timedelta(days=2),
                reference=ref,
                company=company,
                request="contact_employer",
            )
        if rng.random() < 0.2:
            event("reference_check", start + timedelta(days=10), reference=ref, company=company)
        if rng.random() < 0.3:
            event(
                "decision",
                start + timedelta(days=20),
                about=previous,
                outcome=rng.choice(("offer", "rejection", "on_hold")),
            )
        start += timedelta(days=3)
    return {
        "version": 1,
        "timezone": rng.choice(("UTC", "America/New_York", "Europe/Berlin")),
        "candidate": {"name": f"Candidate {number}", "email": f"c{number}@example.com"},
        "people": people,
        "events": events,
    }


def write_batch(path: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            out.write(json.dumps(make_history(rng, number), separators=(",", ":")) + "\n")


def followup_command() -> list[str]:
    """The installed ``followup`` beside this Python, else ``python -m``-style via the entry point."""
    script = Path(sys.executable).with_name("followup")
    if script.exists():
        return [str(script)]
    found = shutil.which("followup")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from followup.cli import main; sys.exit(main())"]


def time_audit(file: Path, jobs: int) -> tuple[float, float, float]:
    """Wall time of one run, its CPU time (the process and its workers) and the peak resident
    memory of its largest process."""
    command = [*followup_command(), "audit", str(file), "--as-of", AS_OF, "--format", "json"]
    command += ["--output", os.devnull, "--jobs", str(jobs), "--fail-on", "never"]
    with tempfile.TemporaryFile() as errors:
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        # wait4: this run's own usage, including the worker processes it waited for.
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - began
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            raise SystemExit(f"followup exited {code}:\n{errors.read().decode()}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--histories", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting; the best counts")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "batch.jsonl"
        write_batch(file, args.histories)
        events = sum(len(json.loads(line)["events"]) for line in file.open(encoding="utf-8"))
        size = file.stat().st_size / 1e6
        print(
            f"{args.histories:,} histories, {events / args.histories:.1f} events each, "
            f"{size:.1f} MB; {os.cpu_count()} CPUs"
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (others' work skews wall times)")
        print(f"{'jobs':>4}  {'wall s':>8}  {'histories/s':>11}  {'speed-up':>8}  {'CPU s':>7}  {'peak RSS MB':>11}")
        # Settings alternate run by run, so that a burst of other work hits all of them alike.
        best: dict[int, tuple[float, float, float]] = {}
        for _ in range(args.repeat):
            for jobs in args.jobs:
                best[jobs] = min(best.get(jobs, (float("inf"), 0.0, 0.0)), time_audit(file, jobs))
        base = None
        for jobs in args.jobs:
            seconds, cpu, rss = best[jobs]
            base = base or seconds
            rate = args.histories / seconds
            print(f"{jobs:>4}  {seconds:>8.2f}  {rate:>11,.0f}  {base / seconds:>7.2f}×  {cpu:>7.1f}  {rss:>11.0f}")


if __name__ == "__main__":
    main()
