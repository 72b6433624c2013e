"""followup: a policy checker for job-search follow-up.

The Python API (docs/api.md)::

    import followup
    pack = followup.load_pack("interview-follow-up")          # a name or a path
    result = followup.audit(history, pack=pack, as_of="2026-11-25T12:00Z")
    result.to_dict()       # equals that history's entry in the JSON report

The names in ``__all__`` are the public API (semantic versioning); everything else, the
subpackages included, is internal. They load on first use, so ``import followup`` stays cheap.

The flow, one subpackage per step:

- ``io``: YAML and JSON with a table of positions; finding the inputs.
- ``history``: the history schema, the checks of meaning, reading into the frozen ``model``.
- ``pack``: rule packs (schema, parsing, text patterns, overlays, examples); ``pack.testing`` runs
  a pack's examples and tests.
- ``compile``: a pack -> plain-data durable_rules rulesets; a history -> facts.
- ``backends``: durable_rules and the independent reference evaluator.
- ``audit``: firings -> findings, waivers, worker processes; also callable, as ``followup.audit``.
- ``report``: one module per output format.
- ``cli``: the ``followup`` command.
- ``diagnostics``: located problems, did-you-mean, schema errors in words, for every step.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AuditResult",
    "Finding",
    "FollowupError",
    "InputError",
    "PackError",
    "Problem",
    "RulePack",
    "__version__",
    "audit",
    "audit_many",
    "load_pack",
]

if TYPE_CHECKING:
    from .api import AuditResult, PackError, RulePack, audit, audit_many, load_pack
    from .diagnostics import FollowupError, InputError, Problem
    from .model import Finding

# Where each public name is defined; ``audit`` is the subpackage ``followup.audit``, which is
# callable (it calls ``followup.api.audit``), so that the subpackage and the function share the name.
_LAZY = {
    "AuditResult": "api",
    "Finding": "model",
    "FollowupError": "diagnostics",
    "InputError": "diagnostics",
    "PackError": "api",
    "Problem": "diagnostics",
    "RulePack": "api",
    "audit_many": "api",
    "load_pack": "api",
}


def __getattr__(name: str) -> Any:
    if name == "audit":
        return importlib.import_module(".audit", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'followup' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
