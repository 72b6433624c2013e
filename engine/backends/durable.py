"""The durable_rules backend: the only module that imports the engine.

It talks to the C engine (``durable_rules_engine``) directly rather than through
``durable.engine.Host``: the Host starts two timer threads per instance that never stop and wraps
every firing in a Python closure (most of the engine's time, measured). Here an action is just
"record the match": the firing loop drains the engine's action queue after each gate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import durable_rules_engine as engine
import orjson

from ..compile.compiler import END, FLAG_FIELDS, SINK, CompiledPack
from ..compile.expr import ExprError
from ..compile.facts import FACT_FIELDS
from ..diagnostics import FollowupError
from .base import Fact, Firing, base_facts, derived_fact, fact_key, gate, release

_NOT_HANDLED, _OBSERVED = 1, 2  # result codes of the C engine's assert calls


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

    def _assert(self, handle: int, facts: Sequence[Fact]) -> list[Firing]:
        try:
            if len(facts) == 1:
                result = engine.assert_fact(handle, orjson.dumps(facts[0]).decode())
            else:
                result = engine.assert_facts(handle, orjson.dumps(list(facts)).decode())
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
                firings.append(Firing(rule, bindings))
            result = engine.complete_and_start_action(handle, state)
        return firings

    def run(self, facts: Sequence[Fact], as_of: float) -> list[Firing]:
        compiled = self.compiled
        found: list[Firing] = []
        seen: set[tuple[tuple[str, object], ...]] = set()
        # Base facts are distinct by construction; each stratum's gate goes last in the same
        # batch as the facts it must see (durable_rules handles a batch in order).
        batch, held = release(compiled, 0, base_facts(compiled, facts))
        try:
            for stratum in range(1, compiled.strata + 1):
                batch.append(gate(stratum, as_of))
                firings = [firing for handle in self._handles for firing in self._assert(handle, batch)]
                batch = []
                for firing in firings:
                    rule = compiled.rules.get(firing.rule)
                    if rule is None:
                        continue
                    if rule.kind != "derive":
                        found.append(firing)
                        continue
                    fact = derived_fact(compiled, firing)
                    key = fact_key(fact)
                    if key not in seen:  # durable_rules refuses an identical fact twice
                        seen.add(key)
                        batch.append(fact)
                batch, held = release(compiled, stratum, held + batch)
        finally:
            for handle in self._handles:
                engine.delete_state(handle, "0")
        return found


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
