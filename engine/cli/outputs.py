"""Where ``followup audit`` writes, checked against what it reads: no output may be an input (a
history, the file on stdin, the pack, the waivers) or another output, and a folder audit never reads
this run's own reports. Files are the same when their device and inode are (links included); names
of files that do not exist yet are compared where they lead (``os.path.realpath``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .audit import AuditOptions


def _identity(path: str) -> tuple[int, int] | None:
    """Device and inode of a regular file (what makes two names one file), else None."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


def _same_file(a: str, b: str) -> bool:
    first, second = _identity(a), _identity(b)
    if first is not None or second is not None:
        return first == second
    # Neither exists yet (or neither is a regular file): compare where the names lead.
    return not os.path.exists(a) and os.path.realpath(a) == os.path.realpath(b)


def conflict(options: AuditOptions, stdin: int | None) -> str | None:
    """Why the outputs cannot be written without destroying an input or each other, or None."""
    targets = [(options.format, options.output), *options.reports]
    labels = [f"-o {path}" if i == 0 else f"--report {name}={path}" for i, (name, path) in enumerate(targets)]
    files = [(label, path) for label, (_, path) in zip(labels, targets, strict=True) if path not in (None, "-")]
    to_stdout = [label for label, (_, path) in zip(labels, targets, strict=True) if path == "-"]
    if options.output in (None, "-") and any(path == "-" for _, path in options.reports):
        to_stdout.insert(0, f"--format {options.format} (standard output)")
    if len(to_stdout) > 1:
        return f"{to_stdout[0]} and {to_stdout[1]} both write to standard output; give each report its own file"
    for i, (label, path) in enumerate(files):
        for other_label, other in files[:i]:
            if _same_file(other, path):
                return f"{other_label} and {label} write to the same file; give each report its own file"
    inputs = [(f"history {path}", path) for path in options.paths if path != "-"]
    if os.path.isfile(options.pack):
        inputs.append((f"--pack {options.pack}", options.pack))
    if options.waivers is not None:
        inputs.append((f"--waivers {options.waivers}", options.waivers))
    for label, path in files:
        mine = _identity(path)
        if mine is None:
            continue
        for input_label, input_path in inputs:
            if _identity(input_path) == mine:
                return f"{label} would overwrite the input {input_label}; write the report to another file"
        if "-" in options.paths and stdin is not None and _stdin_identity(stdin) == mine:
            return f"{label} would overwrite the input read from standard input; write the report to another file"
    return None


def _stdin_identity(fd: int) -> tuple[int, int] | None:
    try:
        status = os.fstat(fd)
    except OSError:
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


def walk_skip(options: AuditOptions) -> Callable[[str], bool]:
    """Files of an audited folder that are reports of this run: never read as histories (an
    existing report by its inode, one still to be written by its path)."""
    paths = [p for p in (options.output, *(path for _, path in options.reports)) if p not in (None, "-")]
    identities = {i for i in map(_identity, paths) if i is not None}
    names = {os.path.realpath(p) for p in paths}

    def skip(file: str) -> bool:
        return _identity(file) in identities or os.path.realpath(file) in names

    return skip
