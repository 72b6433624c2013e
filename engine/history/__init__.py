"""Histories: the JSON Schema, the checks of meaning and of time, and the frozen model they build."""

from .instants import InstantError, check_range, leap_second, leap_second_message
from .read import load_histories, parse_history, read_history
from .schema import history_schema

__all__ = [
    "InstantError",
    "check_range",
    "history_schema",
    "leap_second",
    "leap_second_message",
    "load_histories",
    "parse_history",
    "read_history",
]
