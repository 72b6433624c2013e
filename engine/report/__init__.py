"""Reports: one module per format (text, json, sarif, junit, markdown, github, ics, html); the
registry, the shared summary and context, and whole-or-nothing report files are in ``base``."""

from .base import FORMATS, Context, Formatter, Summary, formatter, report_file

__all__ = ["FORMATS", "Context", "Formatter", "Summary", "formatter", "report_file"]
