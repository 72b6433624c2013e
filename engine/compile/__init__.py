"""A checked pack becomes plain-data durable_rules rulesets: expressions, templates, facts, engine limits."""

from .compiler import END, FLAG_FIELDS, SINK, CompiledPack, CompiledRule, compile_pack, rank_field
from .enginelimits import with_memberships
from .expr import MAX_SECONDS, MAX_SECONDS_WORDS, ExprError, evaluate, parse_duration, too_large
from .facts import CONTENT_FLAGS, FACT_FIELDS, GATE, Patterns, epoch, history_facts
from .template import format_time

__all__ = [
    "CONTENT_FLAGS",
    "END",
    "FACT_FIELDS",
    "FLAG_FIELDS",
    "GATE",
    "MAX_SECONDS",
    "MAX_SECONDS_WORDS",
    "SINK",
    "CompiledPack",
    "CompiledRule",
    "ExprError",
    "Patterns",
    "compile_pack",
    "epoch",
    "evaluate",
    "format_time",
    "history_facts",
    "parse_duration",
    "rank_field",
    "too_large",
    "with_memberships",
]
