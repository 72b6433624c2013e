"""Finding and reading histories: files, folders (recursively) and stdin, as ``Source`` texts.

Nothing here parses YAML or JSON (that is :mod:`load`); this module decides what is read and
how much. It never raises for a bad path: a Source carries the problem instead. A folder that
cannot be listed is an error, never a silent skip; entries that are not regular files (named
pipes, devices, sockets) are skipped with a warning, and refused when named directly, because
opening a pipe waits for a writer and a device may never end. At most ``max_size + 1`` bytes of
a history are read, so /dev/zero or a runaway file cannot take the memory.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..diagnostics import Problem, excerpt

# ``data``: a mapping handed to the Python API, as JSON text (no file: nothing to locate in it).
Format = Literal["yaml", "json", "jsonl", "data"]

HISTORY_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
STDIN_NAME = "<stdin>"
# A history is at most this many bytes (a JSON Lines file: each line); `--max-history-size`.
DEFAULT_MAX_SIZE = 16 * 2**20


@dataclass(frozen=True)
class Source:
    """One history's text (or why it could not be read), named for error messages.

    ``line_offset`` is the number of lines before the text in its file; ``format`` says how to
    parse the text: ``jsonl`` is one line of a JSON Lines file (``line_offset`` = its line - 1).
    """

    name: str
    text: str | None
    line_offset: int = 0
    problem: Problem | None = None
    format: Format = "yaml"


Warn = Callable[[Problem], object]


def _warn_on_stderr(problem: Problem) -> None:
    sys.stderr.write(f"{problem}\n")


def iter_sources(
    paths: Sequence[str],
    max_size: int = DEFAULT_MAX_SIZE,
    warn: Warn | None = None,
    skip: Callable[[str], bool] | None = None,
) -> Iterator[Source]:
    """Every history named by ``paths``: files, directories (recursively) or ``-`` for stdin.

    Never raises for a bad path: the Source carries the problem instead, so one unreadable file
    does not hide the others. A folder that cannot be listed is such a problem too. What is
    skipped inside a folder (a named pipe, a device, a link to a folder) is passed to ``warn``
    (default: printed on stderr). A history over ``max_size`` bytes (JSON Lines: a line over it)
    is a problem, found without reading more than ``max_size + 1`` bytes of it. ``skip`` leaves
    out files found in a folder (the run's own reports).
    """
    report = warn or _warn_on_stderr
    for path in paths:
        if path == "-":
            yield from _stdin_sources(max_size)
        elif os.path.isdir(path):
            found = False
            for file, problem in _walk(path, report):
                if skip is not None and skip(file):
                    continue
                found = True
                if problem is not None:
                    yield Source(file, None, problem=problem)
                else:
                    yield from _file_sources(file, max_size)
            if not found:
                message = "no history files (*.yaml, *.yml, *.json, *.jsonl) in this directory"
                yield Source(path, None, problem=Problem(path, 1, 1, message))
        else:
            yield from _file_sources(path, max_size)


def history_files(folder: str, warn: Warn | None = None) -> list[tuple[str, Problem | None]]:
    """The history files under ``folder`` in the order :func:`iter_sources` reads them, each with
    the problem of its folder if any (for splitting a batch by file: a Dask partition each)."""
    return _walk(folder, warn or _warn_on_stderr)


def stream_sources(name: str, stream: Any, max_size: int = DEFAULT_MAX_SIZE) -> Iterator[Source]:
    """The histories of an open binary JSON Lines stream called ``name`` (a file on a remote
    store), exactly as :func:`iter_sources` reads a local ``.jsonl`` file."""
    return _jsonl_sources(name, _lines(stream, max_size), max_size)


_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def _kind(mode: int) -> str:
    return next((words for test, words in _FILE_KINDS if test(mode)), "not a regular file")


def _walk(directory: str, warn: Warn) -> list[tuple[str, Problem | None]]:
    """History files under ``directory``, sorted, each with the problem of its folder if any.

    Hidden folders (.git, .venv...) are skipped. A folder that cannot be listed is an error at
    its place in the order; entries that are not regular files are skipped with a warning
    (opening a named pipe would wait forever for a writer).
    """
    found: list[tuple[str, Problem | None]] = []

    def unreadable(exc: OSError) -> None:
        name = exc.filename if isinstance(exc.filename, str) else directory
        reason = exc.strerror or str(exc)
        found.append((name, Problem(name, 1, 1, f"cannot read this folder: {reason}")))

    for root, dirs, files in os.walk(directory, onerror=unreadable):
        for d in list(dirs):
            if d.startswith("."):
                dirs.remove(d)
            elif os.path.islink(os.path.join(root, d)):
                link = os.path.join(root, d)
                warn(Problem(link, 1, 1, "warning: a link to a folder is not followed; name its target to audit it"))
        for f in files:
            if not f.endswith(HISTORY_SUFFIXES) or f.startswith("."):
                continue
            file = os.path.join(root, f)
            try:
                mode = os.stat(file).st_mode
            except OSError:
                mode = stat.S_IFREG  # a dangling link, say: opening it reports why
            if stat.S_ISREG(mode):
                found.append((file, None))
            else:
                warn(Problem(file, 1, 1, f"warning: skipped: {_kind(mode)}, not a regular file"))
    return sorted(found, key=lambda item: Path(item[0]).parts)


def _format_of(path: str) -> Format:
    if path.endswith(".jsonl"):
        return "jsonl"
    return "json" if path.endswith(".json") else "yaml"


def _unreadable(name: str, reason: str, line: int = 1) -> Source:
    return Source(name, None, line - 1, Problem(name, line, 1, f"cannot read: {reason}"))


def format_size(size: int) -> str:
    """``16 MiB``, ``1.5 KiB``, ``300 bytes``: as `--max-history-size` accepts it back."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} bytes"


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b|bytes?)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``32MiB``, ``500 KB``, ``1G``, ``4096``: a size in bytes (K, M, G are powers of 1024).

    Raises ValueError with a plain-words reason.
    """
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"{excerpt(text)} is not a size; write e.g. 16MiB, 500KiB or 1048576 (bytes)")
    unit = (m.group(2) or "b").lower()
    scale = {"k": 2**10, "m": 2**20, "g": 2**30}.get(unit[0], 1)
    size = int(float(m.group(1)) * scale)
    if size < 1:
        raise ValueError("the size must be at least 1 byte")
    return size


def _too_big(max_size: int, what: str = "history") -> str:
    return (
        f"cannot read: this {what} is larger than the {format_size(max_size)} limit; "
        "raise it with --max-history-size if it is genuine"
    )


def _file_sources(path: str, max_size: int) -> Iterator[Source]:
    form = _format_of(path)
    try:
        # Non-blocking, so that a named pipe without a writer cannot hold the run: it is refused
        # below, from what the open file is, without a race between a check and the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if "\\" in path and not os.path.exists(path):
            posix = path.replace("\\", "/")
            reason += "; paths use '/' here" + (f": did you mean {posix!r}?" if os.path.exists(posix) else "")
        yield _unreadable(path, reason)
        return
    with open(fd, "rb") as stream:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                what = _kind(info.st_mode)
                hint = "; to read a pipe, pass - and send it to standard input" if stat.S_ISFIFO(info.st_mode) else ""
                yield _unreadable(path, f"{what}, not a regular file{hint}")
                return
            if form == "jsonl":  # line by line: memory stays flat for big batches
                yield from _jsonl_sources(path, _lines(stream, max_size), max_size)
                return
            if info.st_size > max_size:
                yield Source(path, None, problem=Problem(path, 1, 1, _too_big(max_size)))
                return
            raw = stream.read(max_size + 1)  # a file that grows meanwhile still stops here
        except OSError as exc:
            yield _unreadable(path, exc.strerror or str(exc))
            return
    if len(raw) > max_size:
        yield Source(path, None, problem=Problem(path, 1, 1, _too_big(max_size)))
        return
    yield _decoded(path, raw, 0, form)


def _decoded(name: str, raw: bytes, line_offset: int, form: Format) -> Source:
    try:
        text = raw.decode("utf-8-sig" if line_offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = line_offset + before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        reason = f"cannot read: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        problem = Problem(name, line, column, reason)
        return Source(name, None, line_offset, problem, form)
    return Source(name, text, line_offset, None, form)


def _lines(stream: Any, max_size: int) -> Iterator[bytes | None]:
    """The lines of ``stream``, each read up to ``max_size`` bytes; None for a longer line.

    A longer line is skipped to its end in bounded pieces, so one runaway line (or /dev/zero
    behind a pipe) never needs more memory than the limit.
    """
    while True:
        raw: bytes = stream.readline(max_size + 1)
        if not raw:
            return
        if len(raw) <= max_size or (raw.endswith(b"\n") and len(raw) - 1 <= max_size):
            yield raw
            continue
        yield None
        while raw and not raw.endswith(b"\n"):
            raw = stream.readline(2**20)


def _jsonl_sources(name: str, lines: Iterable[bytes | None], max_size: int) -> Iterator[Source]:
    """One Source a non-blank line; None (a line over ``max_size``) becomes that line's error."""
    found = False
    for number, raw in enumerate(lines):
        if raw is None:
            found = True
            problem = Problem(name, number + 1, 1, _too_big(max_size, "line (one history)"))
            yield Source(name, None, number, problem, "jsonl")
        elif raw.strip():
            found = True
            yield _decoded(name, raw.rstrip(b"\r\n"), number, "jsonl")
    if not found:
        # Nothing is dropped in silence: an empty export is more often a failed one than a batch
        # of no candidates, and a report that does not mention the file would hide it.
        message = "no histories: this JSON Lines file is empty (one history a line expected)"
        yield Source(name, None, problem=Problem(name, 1, 1, message), format="jsonl")


def _stdin_sources(max_size: int) -> Iterator[Source]:
    """Stdin holds one YAML/JSON document, or JSON Lines when its first two lines are objects."""
    if sys.stdin is None or sys.stdin.closed:
        yield _unreadable(STDIN_NAME, "there is no standard input")
        return
    stream = sys.stdin.buffer
    lines = _lines(stream, max_size)
    head: list[bytes | None] = []
    objects = 0
    for raw in lines:
        head.append(raw)
        if raw is None:
            break
        if raw.strip():
            if not raw.lstrip().startswith(b"{"):
                break
            objects += 1
            if objects == 2:
                break
    if objects == 2:
        yield from _jsonl_sources(STDIN_NAME, _chain(head, lines), max_size)
        return
    if None in head:
        yield Source(STDIN_NAME, None, problem=Problem(STDIN_NAME, 1, 1, _too_big(max_size)))
        return
    start = b"".join(raw for raw in head if raw is not None)
    raw = start + stream.read(max_size + 1 - len(start))
    if len(raw) > max_size:
        yield Source(STDIN_NAME, None, problem=Problem(STDIN_NAME, 1, 1, _too_big(max_size)))
        return
    yield _decoded(STDIN_NAME, raw, 0, "yaml")


def _chain(head: list[bytes | None], rest: Iterable[bytes | None]) -> Iterator[bytes | None]:
    yield from head
    yield from rest
