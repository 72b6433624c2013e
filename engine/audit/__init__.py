"""Auditing histories: facts to findings, waivers, and the worker processes of a batch.

This subpackage shares its name with the API function ``followup.audit``: calling it
(``followup.audit(history, pack=..., as_of=...)``) calls :func:`followup.api.audit`.
"""

from __future__ import annotations

import os
import sys
import types
from datetime import datetime
from typing import TYPE_CHECKING

from .auditor import Auditor, audit_paths
from .findings import build_findings
from .waivers import Waiver, Waivers, load_waivers, names_a_file, parse_waivers, waivers_schema

if TYPE_CHECKING:
    from ..api import AuditResult, History, RulePack

__all__ = [
    "Auditor",
    "Waiver",
    "Waivers",
    "audit_paths",
    "build_findings",
    "load_waivers",
    "names_a_file",
    "parse_waivers",
    "waivers_schema",
]


class _CallableModule(types.ModuleType):
    """The class of this module: ``followup.audit`` is both this subpackage and the API's
    ``audit`` function (the import system makes a subpackage its parent's attribute, so the two
    could not be told apart by name otherwise)."""

    def __call__(
        self,
        history: History,
        *,
        pack: RulePack | str | os.PathLike[str] | None = None,
        as_of: str | datetime | None = None,
        source: str | None = None,
    ) -> AuditResult:
        """Audit one history: see :func:`followup.api.audit`."""
        from ..api import audit

        return audit(history, pack=pack, as_of=as_of, source=source)


sys.modules[__name__].__class__ = _CallableModule
