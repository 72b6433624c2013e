"""Incremental audits (``audit --cache DIR``): results kept on disk and reused while the audit time
stays before the first instant at which any of them could change (``horizon``)."""

from .horizon import Plan, Window
from .store import DEFAULT_MAX_SIZE, CacheSetup, ResultCache, Stats, evict, prepare

__all__ = ["DEFAULT_MAX_SIZE", "CacheSetup", "Plan", "ResultCache", "Stats", "Window", "evict", "prepare"]
