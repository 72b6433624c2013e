"""Auditing histories: facts to findings, waivers, and the worker processes of a batch."""

from .auditor import Auditor, audit_paths
from .findings import build_findings
from .waivers import Waiver, Waivers, load_waivers, names_a_file, parse_waivers, waivers_schema

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
