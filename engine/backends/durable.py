"""The durable_rules backend: the only module that imports the engine.

It talks to the C engine (``durable_rules_engine``) directly rather than through
``durable.engine.Host``: the Host starts two timer threads per instance that never stop and wraps
every firing in a Python closure (most of the engine's time, measured). Here an action is just
"record the match": the firing loop drains the engine's action queue after each gate.

Every fact goes in with an explicit ``id`` the backend chooses (see ``_EngineIds``), removed again
from the facts a firing binds: the rest of the program never sees it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import durable_rules_engine as engine
import orjson

from ..compile.compiler import END, FLAG_FIELDS, SINK, CompiledPack
from ..compile.expr import ExprError
from ..compile.facts import FACT_FIELDS
from ..compile.textcase import FOLDED
from ..diagnostics import FollowupError
from .base import Fact, Firing, base_facts, derived_fact, fact_key, gate, release

_NOT_HANDLED, _OBSERVED = 1, 2  # result codes of the C engine's assert calls
_ID = "id"
# The id of the session's own state message, which the engine stores beside the facts (events.c,
# handleMessageCore: `"id":"sid-%s"`); a fact id must not share its hash either.
_STATE_ID = "sid-0"
_FNV_32_OFFSET_BASIS, _FNV_32_PRIME, _MASK_32 = 0x811C9DC5, 16777619, 0xFFFFFFFF


def engine_hash(text: str) -> int:
    """The 32-bit hash by which durable_rules tells two facts (or sessions) apart: FNV-1a over the
    id's bytes with C's signed ``char`` (state.c, fnv1Hash32), compared by this hash alone (state.c,
    storeMessage and the GET_FIRST macro). Equal hashes mean "the same fact": result code 2."""
    value = _FNV_32_OFFSET_BASIS
    for byte in text.encode():
        value = ((value ^ (byte if byte < 0x80 else (byte - 0x100) & _MASK_32)) * _FNV_32_PRIME) & _MASK_32
    return value


class _EngineIds:
    """Fact ids whose engine hashes are pairwise distinct (and distinct from the session state's).

    Without an ``id`` field, durable_rules names a fact by a 64-bit hash of its content cut to 19
    digits, then files it under the 32-bit hash of that name and refuses a second fact whose name
    hashes alike as "the same fact twice": two distinct facts of one history collide with
    probability about n²/2³³ (state.c: calculateId, storeMessage). With ids from this list the n
    facts of a session have n distinct hashes, so no valid history can collide. The list grows on
    demand (a counter in base 36, skipping the rare value whose hash is taken) and every session
    reuses its prefix.
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._taken = {engine_hash(_STATE_ID)}
        self._next = 0

    def first(self, count: int) -> list[str]:
        while len(self._ids) < count:
            text = _base36(self._next)
            self._next += 1
            value = engine_hash(text)
            if value not in self._taken:
                self._taken.add(value)
                self._ids.append(text)
        return self._ids[:count]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if not number:
            return text


class EngineError(FollowupError):
    """durable_rules refused a fact or failed; never swallowed."""


class DurableBackend:
    """One engine ruleset per part of the compiled pack (one, unless the pack is too large for
    one: enginelimits); one session (sid "0") per history in each, deleted after.

    Every fact goes to every ruleset, in the same order, so each sees exactly what a single
    ruleset would: the history's facts, then each stratum's gate with the facts derived before it
    (by any ruleset). A rule therefore fires as it would if all rules shared one ruleset.
    """

    def __init__(self, compiled: CompiledPack) -> None:
        self.compiled = compiled
        parts = len(compiled.parts())
        self._handles: list[int] = []
        self._ids = _EngineIds()
        self._used = 0  # ids handed out in the current session
        # A derivation may set a field named `id` itself (nothing forbids it); its facts keep the
        # engine's old identification (their own id, else the content hash) and their `id` field.
        self._own_id = frozenset(r.fact for r in compiled.rules.values() if r.kind == "derive" and _ID in r.set)
        self._matched = matched_types(compiled)
        try:
            for part in range(parts):
                name = compiled.name if parts == 1 else f"{compiled.name}-{part + 1}"
                definition = orjson.dumps(compiled.definition(part)).decode()
                try:
                    self._handles.append(engine.create_ruleset(name, definition))
                except Exception as exc:  # the C engine raises plain exceptions with an error code
                    raise EngineError(f"durable_rules refused the rules: {exc}") from exc
            # Warm-up: one session whose last gate fires the `$end` rule. durable_rules never
            # initialises a fresh session node's action context; once an action has completed in
            # it, the pointers are reset and every later session reuses the node safely, even one
            # whose assert fails before any rule fired (docs/engine-semantics.md, crash 3).
            self.run([], 0)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Free the engine's rulesets (a backend is unusable afterwards)."""
        for handle in self._handles:
            engine.delete_ruleset(handle)
        self._handles = []

    def _encode(self, facts: Sequence[Fact]) -> str:
        """``facts`` as the JSON the engine reads, each with the next unused id of the session.

        The history's facts never carry ``id`` (joins use ``key``: durable_rules mis-joins on a
        field named ``id``), so appending it cannot clash with a field of the fact.
        """
        ids = self._ids.first(self._used + len(facts))[self._used :]
        self._used += len(facts)
        own = self._own_id
        encoded = [
            orjson.dumps(fact)
            if own and fact.get("t") in own
            else orjson.dumps(fact)[:-1] + b',"id":"' + ident.encode() + b'"}'
            for fact, ident in zip(facts, ids, strict=True)
        ]
        return (encoded[0] if len(encoded) == 1 else b"[" + b",".join(encoded) + b"]").decode()

    def _assert(self, handle: int, facts: Sequence[Fact], text: str) -> list[Firing]:
        try:
            result = engine.assert_fact(handle, text) if len(facts) == 1 else engine.assert_facts(handle, text)
        except Exception as exc:  # the C engine raises plain exceptions with an error code
            raise EngineError(f"durable_rules refused the facts: {exc}") from exc
        code, state = result
        if code == _OBSERVED:
            raise EngineError("durable_rules saw the same fact twice in one session")
        if code == _NOT_HANDLED:
            raise EngineError("durable_rules did not handle a fact")
        return self._drain(handle, state)

    def _drain(self, handle: int, state: int) -> list[Firing]:
        firings = []
        result = engine.start_action_for_state(handle, state)
        while result:
            message = orjson.loads(result[1] if isinstance(result, tuple) else result)
            for rule, bindings in message.items():
                for fact in bindings.values():
                    if fact.get("t") not in self._own_id:
                        fact.pop(_ID, None)  # the backend's own id (``_encode``), no part of the fact
                firings.append(Firing(rule, bindings))
            result = engine.complete_and_start_action(handle, state)
        return firings

    def run(self, facts: Sequence[Fact], as_of: float) -> list[Firing]:
        compiled = self.compiled
        found: list[Firing] = []
        seen: set[tuple[tuple[str, object], ...]] = set()
        # Base facts are distinct by construction; each stratum's gate goes last in the same
        # batch as the facts it must see (durable_rules handles a batch in order).
        matched = self._matched
        if matched is not None:
            facts = [fact for fact in facts if fact.get("t") in matched]
        batch, held = release(compiled, 0, base_facts(compiled, facts))
        try:
            for stratum in range(1, compiled.strata + 1):
                batch.append(gate(stratum, as_of))
                text = self._encode(batch)  # one id per fact, the same in every ruleset
                firings = [firing for handle in self._handles for firing in self._assert(handle, batch, text)]
                batch = []
                for firing in firings:
                    rule = compiled.rules.get(firing.rule)
                    if rule is None:
                        continue
                    if rule.kind != "derive":
                        found.append(firing)
                        continue
                    fact = derived_fact(compiled, firing)
                    if matched is not None and fact["t"] not in matched:
                        continue
                    key = fact_key(fact)
                    if key not in seen:  # durable_rules refuses an identical fact twice
                        seen.add(key)
                        batch.append(fact)
                batch, held = release(compiled, stratum, held + batch)
        finally:
            self._used = 0
            for handle in self._handles:
                engine.delete_state(handle, "0")
        return found


def matched_types(compiled: CompiledPack) -> frozenset[str] | None:
    """The fact types that some compiled pattern (positive or `none`) tests for, gates included;
    None when a pattern's type cannot be read from the ruleset (then every fact is asserted).

    A fact of any other type can take part in no match: only the `$sink` rule, which never fires,
    would store it. Leaving such facts out (in the default pack: calls, notes and received
    messages, which rules see through their `to`, `last_heard`... facts) saves the engine the
    work of parsing and storing them. The reference backend keeps them, so the differential tests
    check that leaving them out changes nothing.
    """
    kinds: set[str] = set()
    for name, rule in compiled.ruleset.items():
        if name == SINK:
            continue
        patterns = rule.get("all")
        if not isinstance(patterns, list):
            return None
        for pattern in patterns:
            tests = next(iter(pattern.values())) if isinstance(pattern, dict) and len(pattern) == 1 else None
            first = tests.get("$and", [None])[0] if isinstance(tests, dict) else None
            kind = first.get("t") if isinstance(first, dict) and len(first) == 1 else None
            if not isinstance(kind, str):
                return None
            kinds.add(kind)
    return frozenset(kinds)


# What the C engine's error codes mean for a pack (durable_rules 2.0.28, src/rules/rules.h).
_CODES = {
    "108": "one part of the engine links at most 256 rules to one test (BETA_LIST_LENGTH)",
    "303": "a fact may leave at most 64 tests pending in the engine (MAX_STACK_SIZE)",
    "304": "one match binds at most 16 facts, the stratum gate included (MAX_MESSAGE_FRAMES)",
    "113": "a pattern holds at most 32 tests (MAX_SEQUENCE_EXPRESSIONS)",
}


def _explain(exc: BaseException) -> str:
    text = str(exc)
    code = text.rsplit(" ", 1)[-1]
    return f"{text} ({_CODES[code]})" if code in _CODES else text


def probe_facts(compiled: CompiledPack) -> list[Fact]:
    """One fact of every type the pack can match, every field set: what a trial assert sends."""
    kinds = {**{k: tuple(v) for k, v in FACT_FIELDS.items()}}
    for rule in compiled.rules.values():
        if rule.kind == "derive":
            kinds[rule.fact] = tuple(dict.fromkeys((*kinds.get(rule.fact, ()), *rule.set)))
    # the folded twins the facts carry besides the fields a pack names (textcase)
    kinds = {k: (*v, *(FOLDED[n] for n in v if n in FOLDED and FOLDED[n] not in v)) for k, v in kinds.items()}
    facts: list[Fact] = []
    for kind, fields in kinds.items():
        fact: dict[str, object] = {"t": kind, "ev": ""}
        for name in fields:
            fact[name] = 0 if name in ("at", "start") else False if name in FLAG_FIELDS else "probe"
        fact["key"] = f"probe-{kind}"
        facts.append(fact)
    return facts


def trial(compiled: CompiledPack) -> tuple[str | None, str] | None:
    """Build ``compiled`` in the engine and assert a probe fact of every type into it.

    None when the engine takes it; else the compiled rule that it refuses on its own (None when
    only the rules together are refused) and the engine's reason.
    """
    failure = _try(compiled)
    if failure is None:
        return None
    for names in compiled.parts():
        for name in names:
            alone = dataclasses.replace(
                compiled,
                name=f"{compiled.name}-trial-{name}",
                ruleset={k: compiled.ruleset[k] for k in (name, SINK, END)},
                rules={name: compiled.rules[name]},
                partitions=(),
            )
            single = _try(alone)
            if single is not None:
                return name, single
    return None, failure


def _try(compiled: CompiledPack) -> str | None:
    try:
        backend = DurableBackend(compiled)
    except EngineError as exc:
        return _explain(exc)
    try:
        backend.run(probe_facts(compiled), 0)
    except EngineError as exc:
        # Only a limit of the engine's tables is the pack's fault; anything else the probe's
        # made-up values may provoke is left to the audit, which reports it for the history.
        if str(exc).rsplit(" ", 1)[-1] in _CODES:
            return _explain(exc)
    except (ExprError, ValueError, TypeError, KeyError):
        pass  # a derived fact computed from probe values: not the engine's concern
    finally:
        backend.close()
    return None
