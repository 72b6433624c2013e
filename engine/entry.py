"""The console script starts here, before the command is imported.

Importing the command (click, the pack loader, the rules engine) takes a noticeable moment on a
cold start; a Ctrl-C in that moment must end like a Ctrl-C later on (a short line, exit 130), not
with Python's traceback of an interrupted import.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("followup: interrupted\n")
        raise SystemExit(130) from None
    run()
