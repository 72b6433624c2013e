"""Shared fixtures and hypothesis profiles (``ci``: thousands of examples; ``dev``: quick)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from followup.audit import Auditor
from followup.history import parse_history
from followup.model import Finding, History
from followup.pack import Pack, load_pack

settings.register_profile(
    "ci",
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# An --as-of without an offset is read on the computer's clock: tests (and the commands they
# start, which inherit it) run on UTC whatever the machine's zone, so that their results hold.
os.environ["TZ"] = "UTC"
time.tzset()

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def default_pack() -> Pack:
    return load_pack("interview-follow-up")


@pytest.fixture(scope="session")
def auditor(default_pack: Pack) -> Auditor:
    return Auditor.for_pack(default_pack)


@pytest.fixture(scope="session")
def reference_auditor(default_pack: Pack) -> Auditor:
    return Auditor.for_pack(default_pack, engine="reference")


def make_history(
    events: list[dict[str, object]],
    people: list[dict[str, object]] | None = None,
    timezone: str = "UTC",
    as_of: datetime | None = None,
) -> History:
    """A history document with the usual cast (Kim at Acme, Bo at Globex, Sam the reference)."""
    doc = {
        "version": 1,
        "timezone": timezone,
        "candidate": {"name": "Jane Doe"},
        "people": people
        if people is not None
        else [
            {"id": "kim", "name": "Kim Lee", "role": "interviewer", "company": "Acme"},
            {"id": "ray", "name": "Ray Fox", "role": "recruiter", "company": "Acme"},
            {"id": "bo", "name": "Bo Chan", "role": "interviewer", "company": "Globex"},
            {"id": "sam", "name": "Sam Roe", "role": "reference"},
            {"id": "dad", "name": "Al Doe", "role": "family"},
        ],
        "events": events,
    }
    return parse_history(doc, {}, "test", as_of or datetime.fromisoformat("2030-01-01T00:00+00:00"))


def thank_you_events(body: str) -> list[dict[str, object]]:
    """An interview with Kim at Acme (i1) and a thank-you e-mail to Kim (e1) whose content is read
    from ``body``: the smallest history in which the content patterns decide something."""
    return [
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
    ]


def summary(findings: tuple[Finding, ...], rule: str | None = None) -> list[tuple[object, ...]]:
    """Findings as comparable tuples (rule, kind, subject, person, due ISO)."""
    return [
        (f.rule, f.kind, f.subject, f.person, f.due.isoformat() if f.due else None)
        for f in findings
        if rule is None or f.rule == rule
    ]
