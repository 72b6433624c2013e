"""``audit --cache``: for every history and every sequence of audit times and edits, a run that
uses the cache gives exactly what a run without it gives (findings, JSON report bytes, errors).

Each example starts from a generated history (tests/strategies.py: audit times on the pack's
deadlines, give or take a second) and takes steps: the audit time moves forward or back by amounts
that land on and next to those deadlines, an event is dropped or moved, or the history's line
moves in its JSON Lines file. After every step the cached and the uncached outcome must agree.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import tempfile
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from followup import __version__
from followup.audit import Auditor
from followup.audit.parallel import audit_one, positions_only
from followup.cache import CacheSetup, ResultCache
from followup.cache.codec import exact
from followup.diagnostics import InputError
from followup.io import Source
from followup.model import HistoryResult
from followup.report import Context, Summary, formatter
from strategies import BOUNDARIES, histories

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
# A horizon that ignored the pack's time tests (dues only) took about 300 examples to be caught.
EXAMPLES = 500 if CI else 60
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("time"), st.sampled_from(BOUNDARIES), st.sampled_from((1, 1, 1, -1))),
        st.tuples(st.just("time"), st.integers(1, 3 * 86400), st.just(1)),
        st.tuples(st.just("drop"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("move"), st.integers(0, 30), st.sampled_from((-86400, -3600, -1, 1, 3600, 86400))),
        st.tuples(st.just("line"), st.integers(0, 5), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)


@functools.cache
def _auditor() -> Auditor:
    return Auditor.for_pack("interview-follow-up")


def _json_report(outcome: HistoryResult | InputError, as_of: datetime) -> str:
    auditor = _auditor()
    out = io.StringIO()
    writer = formatter("json", out, Context(__version__, auditor.pack, as_of, "error"))
    summary = Summary()
    writer.begin()
    if isinstance(outcome, InputError):
        for problem in outcome.problems:
            summary.errors += 1
            writer.error(problem)
    else:
        summary.add(outcome, "error")
        writer.history(outcome)
    writer.end(summary)
    return out.getvalue()


def _moved(doc: dict[str, object], index: int, seconds: int) -> dict[str, object]:
    events = doc["events"]
    assert isinstance(events, list)
    if not events:
        return doc
    event = events[index % len(events)]
    for name in ("at", "ends"):
        if name in event:
            moment = datetime.fromisoformat(event[name]) + timedelta(seconds=seconds)
            event[name] = moment.isoformat()
    return doc


def _same(cached: HistoryResult | InputError, fresh: HistoryResult | InputError, as_of: datetime) -> None:
    if isinstance(fresh, InputError):
        assert isinstance(cached, InputError)
        assert [str(p) for p in cached.problems] == [str(p) for p in fresh.problems]
        return
    assert isinstance(cached, HistoryResult)
    assert cached.findings == fresh.findings
    assert exact(cached, fresh)
    assert _json_report(cached, as_of) == _json_report(fresh, as_of)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories(), STEPS)
def test_cached_runs_equal_uncached_runs(drawn: tuple[dict[str, object], datetime], steps: list[tuple[str, int, int]]) -> None:
    doc, as_of = copy.deepcopy(drawn[0]), drawn[1]
    auditor = _auditor()
    line = 0
    with tempfile.TemporaryDirectory() as folder:
        setup = CacheSetup.create(folder, auditor.pack, "durable")
        cache = ResultCache(setup, auditor, warn=_no_warnings)
        # The same folder read as a run whose reports need only positions (--format json, sarif...).
        cut = ResultCache(setup, auditor, warn=_no_warnings, full_history=False)
        for kind, amount, sign in [("time", 0, 1), *steps]:
            if kind == "time":
                as_of += timedelta(seconds=sign * amount)
            elif kind == "drop":
                events = doc["events"]
                assert isinstance(events, list)
                if events:
                    events.pop(amount % len(events))
            elif kind == "move":
                doc = _moved(doc, amount, sign)
            else:
                line = amount
            source = Source("batch.jsonl", json.dumps(doc), line_offset=line, format="jsonl")
            fresh = audit_one(auditor, source, as_of)
            cached = audit_one(auditor, source, as_of, cache)
            _same(cached, fresh, as_of)
            again = audit_one(auditor, source, as_of, cache)  # now surely from the cache, if cacheable
            _same(again, fresh, as_of)
            short = audit_one(auditor, source, as_of, cut)
            _same(_positions(short), _positions(fresh), as_of)


def _positions(outcome: HistoryResult | InputError) -> HistoryResult | InputError:
    return outcome if isinstance(outcome, InputError) else positions_only(outcome)


def _no_warnings(message: str) -> None:
    raise AssertionError(f"unexpected cache warning: {message}")
