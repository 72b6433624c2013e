"""The `followup` command: audit, pack, explain and schema, and the checks on where reports go."""

from .commands import cli, main

__all__ = ["cli", "main"]
