"""Reading input documents: YAML and JSON with a table of positions, and finding the inputs."""

from .jsondoc import load_json
from .sources import DEFAULT_MAX_SIZE, STDIN_NAME, Source, Warn, iter_sources, parse_size
from .yamldoc import MAX_ALIAS_VALUES, load_document

__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_ALIAS_VALUES",
    "STDIN_NAME",
    "Source",
    "Warn",
    "iter_sources",
    "load_document",
    "load_json",
    "parse_size",
]
