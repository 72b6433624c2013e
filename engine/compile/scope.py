"""The names a condition has bound so far, each with its fact type: one value per point of a branch,
never changed in place (binding a name gives a new scope)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .facts import GATE

# The gate fact's alias in every compiled rule: the audit time and the stratum.
ASOF = "asof"


def _gate_only() -> Mapping[str, str]:
    return {ASOF: GATE}


@dataclass(frozen=True)
class Scope:
    """Bound names in order, their fact types, and each `nth` alias's last step."""

    names: tuple[str, ...] = (ASOF,)
    types: Mapping[str, str] = field(default_factory=_gate_only)
    renamed: Mapping[str, str] = field(default_factory=dict)  # `nth` alias -> the name of its last step

    def bind(self, name: str, fact: str) -> Scope:
        return Scope((*self.names, name), {**self.types, name: fact}, self.renamed)

    def rename(self, alias: str, last: str) -> Scope:
        return Scope(self.names, self.types, {**self.renamed, alias: last})

    def with_due(self) -> Scope:
        """The scope of a message of a next step, which may also name ``due``."""
        return Scope((*self.names, "due"), self.types, self.renamed)

    def uses(self, alias: str) -> bool:
        """Whether ``alias`` is already a name here (bound or an `nth` alias)."""
        return alias in self.names or alias in self.renamed

    def resolve(self, alias: str) -> str:
        return self.renamed.get(alias, alias)

    def fact_of(self, alias: str) -> str | None:
        return self.types.get(alias)

    def visible(self) -> frozenset[str]:
        """Every name an expression may use here."""
        return frozenset(self.names) | frozenset(self.renamed)
