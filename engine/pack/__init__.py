"""Rule packs: the model, parsing and checking (text patterns too), overlays, examples, and the docs."""

from .load import (
    DEFAULT_PACK,
    MAX_EXTENDS_DEPTH,
    CheckedPack,
    PackNotFoundError,
    builtin_packs,
    check_pack,
    is_tests_file,
    load_layers,
    load_pack,
    pack_of_tests_file,
)
from .model import COMPARISONS, Example, Location, Pack, Pattern, Rule, Where
from .parse import duration_hint
from .textpattern import PatternError, compile_patterns, pattern_problem, translate

__all__ = [
    "COMPARISONS",
    "DEFAULT_PACK",
    "MAX_EXTENDS_DEPTH",
    "CheckedPack",
    "Example",
    "Location",
    "Pack",
    "PackNotFoundError",
    "Pattern",
    "PatternError",
    "Rule",
    "Where",
    "builtin_packs",
    "check_pack",
    "compile_patterns",
    "duration_hint",
    "is_tests_file",
    "load_layers",
    "load_pack",
    "pack_of_tests_file",
    "pattern_problem",
    "translate",
]
