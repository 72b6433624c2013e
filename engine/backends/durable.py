"""The durable_rules backend: the only module that imports the engine.

It talks to the C engine (``durable_rules_engine``) directly rather than through
``durable.engine.Host``: the Host starts two timer threads per instance that never stop and wraps
every firing in a Python closure (most of the engine's time, measured). Here an action is just
"record the match": the firing loop drains the engine's action queue after each gate.
"""

from __future__ import annotations

from collections.abc import Sequence

import durable_rules_engine as engine
import orjson

from ..compiler import CompiledPack
from ..errors import FollowupError
from ..facts import GATE
from . import Fact, Firing, derived_fact, fact_key, release

_NOT_HANDLED, _OBSERVED = 1, 2  # result codes of the C engine's assert calls


class EngineError(FollowupError):
    """durable_rules refused a fact or failed; never swallowed."""


class DurableBackend:
    """One ruleset handle per compiled pack; one session (sid "0") per history, deleted after."""

    def __init__(self, compiled: CompiledPack) -> None:
        self.compiled = compiled
        self._handle = engine.create_ruleset(compiled.name, orjson.dumps(compiled.definition()).decode())
        # Warm-up: one session whose last gate fires the `$end` rule. durable_rules never
        # initialises a fresh session node's action context; once an action has completed in it,
        # the pointers are reset and every later session reuses the node safely, even one whose
        # assert fails before any rule fired (docs/engine-semantics.md, crash 3).
        self.run([], 0)

    def _assert(self, facts: Sequence[Fact]) -> list[Firing]:
        try:
            if len(facts) == 1:
                result = engine.assert_fact(self._handle, orjson.dumps(facts[0]).decode())
            else:
                result = engine.assert_facts(self._handle, orjson.dumps(list(facts)).decode())
        except Exception as exc:  # the C engine raises plain exceptions with an error code
            raise EngineError(f"durable_rules refused the facts: {exc}") from exc
        code, state = result
        if code == _OBSERVED:
            raise EngineError("durable_rules saw the same fact twice in one session")
        if code == _NOT_HANDLED:
            raise EngineError("durable_rules did not handle a fact")
        return self._drain(state)

    def _drain(self, state: int) -> list[Firing]:
        firings = []
        result = engine.start_action_for_state(self._handle, state)
        while result:
            message = orjson.loads(result[1] if isinstance(result, tuple) else result)
            for rule, bindings in message.items():
                firings.append(Firing(rule, bindings))
            result = engine.complete_and_start_action(self._handle, state)
        return firings

    def run(self, facts: Sequence[Fact], as_of: float) -> list[Firing]:
        compiled = self.compiled
        found: list[Firing] = []
        seen: set[tuple[tuple[str, object], ...]] = set()
        # Base facts are distinct by construction; each stratum's gate goes last in the same
        # batch as the facts it must see (durable_rules handles a batch in order).
        batch, held = release(compiled, 0, facts)
        try:
            for stratum in range(1, compiled.strata + 1):
                batch.append({"t": GATE, "n": stratum, "at": as_of})
                firings = self._assert(batch)
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
            engine.delete_state(self._handle, "0")
        return found
