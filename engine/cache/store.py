"""``audit --cache DIR``: each history's result kept on disk and reused while it cannot change.

An entry is keyed by the history's text (a file, or one line of a JSON Lines file), where it was
read from, the resolved pack, the engine and the tool (its version and the digest of its code), and
holds the result as audited (waivers are applied afterwards, on every run) with the interval of
audit times it holds for (``horizon.Plan.window``). A later run whose ``--as-of`` falls in that
interval reuses it; any other run audits the history again and replaces the entry.

On disk: ``DIR/ab/cdef…`` (the key's first two hex digits name a folder), a header line
``followup-cache 1 DIGEST START UNTIL`` and the JSON body. DIGEST is the SHA-256 of the key, the
interval and the body: an entry cut short (a killed run, a full disk), edited, or filed under
another key fails it and is ignored with a warning. Entries are written to a temporary file in the
same folder and renamed into place, so that a reader, or another run on the same folder, sees a
whole entry or none. After a run the oldest entries (by modification time; a hit refreshes it at
most once an hour) are removed until the folder is under ``--cache-max-size``.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from ..audit.auditor import Auditor
from ..audit.parallel import positions_only
from ..compile.facts import epoch
from ..diagnostics import InputError
from ..history.read import read_history
from ..io.sources import Source
from ..model import Engine, HistoryResult
from ..pack.model import Pack
from .codec import decode, encode
from .horizon import Plan, Window

DEFAULT_MAX_SIZE = 1 << 30  # 1 GiB: about 200,000 histories of 20 events
MAGIC = b"followup-cache 1 "
TAG_FILE = "CACHEDIR.TAG"
TAG = b"Signature: 8a477f597d28d172789f06886806bc55\n# This folder is a cache of followup audit results.\n"
TOUCH_AFTER = 3600.0  # seconds: a hit refreshes its entry's time for eviction at most this often
STALE_TEMPORARY = 3600.0  # seconds: a temporary file this old was left by a run that was killed
EVICT_TO = 0.9  # eviction stops at this share of the limit, so that the next run need not evict again
MAX_WARNINGS = 5  # per process, about corrupt entries; then one line says more are ignored

Warn = Callable[[str], None]


def _warn_on_stderr(message: str) -> None:
    sys.stderr.write(f"followup: warning: {message}\n")


@dataclass(frozen=True)
class CacheSetup:
    """What a process needs to use a cache folder (pickled to every worker)."""

    directory: str
    max_size: int
    scope: str  # digest of the tool, the pack and the engine: part of every key

    @classmethod
    def create(cls, directory: str, pack: Pack, engine: Engine, max_size: int = DEFAULT_MAX_SIZE) -> CacheSetup:
        digest = hashlib.sha256()
        for part in (tool_digest(), pack_digest(pack), engine):
            digest.update(part.encode() + b"\0")
        return cls(directory, max_size, digest.hexdigest())


def tool_digest() -> str:
    """The tool's version, its code and schemas, and the rules engine's version: a change to any of
    them (also an edit of an installed copy, without a new version) is a new cache."""
    digest = hashlib.sha256(__version__.encode() + b"\0")
    package = Path(__file__).resolve().parents[1]
    files = sorted(package.rglob("*.py"))
    schemas = resources.files("followup.schemas")
    for file in files:
        digest.update(str(file.relative_to(package)).encode() + b"\0" + file.read_bytes() + b"\0")
    for entry in sorted(schemas.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    try:
        digest.update(metadata.version("durable-rules").encode())
    except metadata.PackageNotFoundError:
        digest.update(b"no durable-rules")
    return digest.hexdigest()


def pack_digest(pack: Pack) -> str:
    """A digest of the resolved pack (every rule, parameter, pattern and overlay applied)."""
    return hashlib.sha256(orjson.dumps(_canonical(pack))).hexdigest()


def _canonical(value: object) -> Any:
    """``value`` as JSON data that is the same in every process (sets sorted, types named)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, frozenset | set):
        return ["set", sorted((_canonical(v) for v in value), key=repr)]
    if isinstance(value, Mapping):
        return ["map", sorted(([repr(k), _canonical(v)] for k, v in value.items()), key=lambda kv: str(kv[0]))]
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return [type(value).__name__, [[name, _canonical(getattr(value, name))] for name in fields]]
    return [type(value).__name__, repr(value)]  # a repr that differs between runs only costs hits


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    uncacheable: int = 0


@dataclass
class ResultCache:
    """One process's use of a cache folder, for one pack, engine and audit time."""

    setup: CacheSetup
    auditor: Auditor
    warn: Warn = _warn_on_stderr
    # False when every report of the run reads of a history only what ``positions_only`` keeps:
    # a hit then builds just that (see ``codec.decode``).
    full_history: bool = True
    stats: Stats = field(default_factory=Stats)
    plan: Plan | None = None
    warnings: int = 0
    broken: bool = False  # the folder cannot be written: stop trying, said once

    def __post_init__(self) -> None:
        self.plan = Plan.for_pack(self.auditor.compiled)

    def audit(self, source: Source, as_of: datetime) -> HistoryResult | InputError:
        """The result for ``source`` at ``as_of``: from the cache when an entry holds for it, else
        audited (and stored when its window is known). Problems of the cache are warnings only."""
        at = float(epoch(as_of))
        key = self.key(source)
        path = self.path(key)
        if source.text is not None and source.problem is None:
            found = self._read(path, key, source, at)
            if found is not None:
                self.stats.hits += 1
                return found
        self.stats.misses += 1
        history = read_history(source, as_of)
        if isinstance(history, InputError):
            return history
        facts = self.auditor.facts(history)
        result = self.auditor.audit(history, as_of, facts)
        assert self.plan is not None
        try:
            window = self.plan.window(facts, result.findings, at)
        except Exception:  # the cache's own work must never change an outcome: just not cached
            window = None
        if window is None:
            self.stats.uncacheable += 1
        elif not self.broken:
            self._write(path, key, source, result, window)
        return result

    def key(self, source: Source) -> str:
        digest = hashlib.sha256(self.setup.scope.encode())
        offset = "" if source.format == "jsonl" else str(source.line_offset)  # JSON Lines: rebased
        digest.update(f"\0{source.format}\0{offset}\0{source.name}\0".encode("utf-8", "surrogatepass"))
        digest.update((source.text or "").encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def path(self, key: str) -> str:
        return os.path.join(self.setup.directory, key[:2], key[2:])

    def _read(self, path: str, key: str, source: Source, at: float) -> HistoryResult | None:
        try:
            with open(path, "rb") as stream:
                data = stream.read()
                modified = os.fstat(stream.fileno()).st_mtime
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._say(f"cannot read the cache entry {path}: {exc.strerror or exc}; auditing the history again")
            return None
        entry = _parse(data, key)
        if entry is None:
            self._say(f"ignoring the corrupt cache entry {path} (cut short or changed); auditing the history again")
            return None
        start, until, body = entry
        if not start <= at < until:
            return None  # its result may differ at this audit time
        head, _, events = body.partition(b"\n")
        try:
            full = orjson.loads(events) if self.full_history else None
            result = decode(orjson.loads(head), full, source.name, source.line_offset)
        except Exception:  # whatever the entry holds, it is no reason to fail the history
            self._say(f"ignoring the unreadable cache entry {path}; auditing the history again")
            return None
        if modified < time.time() - TOUCH_AFTER:
            with contextlib.suppress(OSError):  # removed meanwhile, or a read-only cache: the hit stands
                os.utime(path)
        return result

    def _write(self, path: str, key: str, source: Source, result: HistoryResult, window: Window) -> None:
        try:
            head, events = encode(result, source.line_offset)
            body = orjson.dumps(head) + b"\n" + orjson.dumps(events)  # orjson never writes a newline
            stored_head, _, stored_events = body.partition(b"\n")
            back = decode(orjson.loads(stored_head), orjson.loads(stored_events), source.name, source.line_offset)
            cut = decode(orjson.loads(stored_head), None, source.name, source.line_offset)
            offset = source.line_offset
            exact = _same(back, result, offset) and _same(cut, positions_only(result), offset)
        except Exception:  # NotExact, a number orjson cannot write, nesting too deep...: not cached
            exact = False
        if not exact:
            self.stats.uncacheable += 1
            return
        try:
            _put(path, _entry(key, window, body))
        except OSError as exc:
            self.broken = True
            self.warn(f"cannot write to the cache {self.setup.directory}: {exc.strerror or exc}; going on without it")
            return
        self.stats.stored += 1

    def _say(self, message: str) -> None:
        self.warnings += 1
        if self.warnings <= MAX_WARNINGS:
            self.warn(message)
        elif self.warnings == MAX_WARNINGS + 1:
            self.warn("more cache entries cannot be used; they are ignored without a word")


def _same(a: HistoryResult, b: HistoryResult, line_offset: int) -> bool:
    """Whether ``a`` is exactly ``b``: equal (every field, also fields the codec does not know), and
    equal as the codec writes them (types, time zones, order: what ``==`` overlooks). Cheaper than
    ``codec.exact``, and as strict, because ``encode`` writes different values differently."""
    return a == b and _dumped(a, line_offset) == _dumped(b, line_offset)


def _dumped(result: HistoryResult, line_offset: int) -> tuple[bytes, bytes]:
    head, events = encode(result, line_offset)
    return orjson.dumps(head), orjson.dumps(events)


def _digest(key: str, meta: bytes, body: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\n" + meta + b"\n" + body).hexdigest().encode()


def _entry(key: str, window: Window, body: bytes) -> bytes:
    meta = f"{window.start!r} {window.until!r}".encode()
    return MAGIC + _digest(key, meta, body) + b" " + meta + b"\n" + body


def _parse(data: bytes, key: str) -> tuple[float, float, bytes] | None:
    """The interval and body of an entry, or None when it is not a whole entry for ``key``."""
    head, newline, body = data.partition(b"\n")
    if not newline or not head.startswith(MAGIC):
        return None
    fields = head[len(MAGIC) :].split(b" ")
    if len(fields) != 3:
        return None
    digest, start_text, until_text = fields
    if digest != _digest(key, start_text + b" " + until_text, body):
        return None
    try:
        start, until = float(start_text), float(until_text)
    except ValueError:
        return None
    if math.isnan(start) or math.isnan(until):
        return None
    return start, until, body


def _put(path: str, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file in the same folder, then a rename."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".tmp-{os.getpid()}-{os.urandom(6).hex()}")
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def prepare(directory: str) -> str | None:
    """Create the cache folder (with a CACHEDIR.TAG) if needed; why it cannot be used, else None."""
    try:
        os.makedirs(directory, exist_ok=True)
        tag = os.path.join(directory, TAG_FILE)
        if not os.path.exists(tag):
            _put(tag, TAG)
    except OSError as exc:
        return f"cannot use {directory} as a cache: {exc.strerror or exc}"
    return None


def _files(directory: str) -> Iterator[os.DirEntry[str]]:
    """The cache's own files: entries and temporary files in its two-hex-digit folders."""
    with os.scandir(directory) as top:
        folders = [e for e in top if len(e.name) == 2 and _hex(e.name) and e.is_dir(follow_symlinks=False)]
    for folder in folders:
        try:
            with os.scandir(folder.path) as inner:
                yield from (e for e in inner if e.is_file(follow_symlinks=False) and _ours(e.name))
        except FileNotFoundError:
            continue  # removed by another run


def _hex(name: str) -> bool:
    return all(c in "0123456789abcdef" for c in name)


def _ours(name: str) -> bool:
    return name.startswith(".tmp-") or (len(name) == 62 and _hex(name))


def evict(directory: str, max_size: int) -> int:
    """Remove temporary files left by killed runs and, while the cache is over ``max_size`` bytes,
    its least recently used entries; returns how many files were removed. Files that are not the
    cache's own are never touched."""
    now = time.time()
    removed = 0
    entries: list[tuple[float, int, str]] = []
    total = 0
    try:
        for entry in _files(directory):
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.name.startswith(".tmp-"):
                if info.st_mtime < now - STALE_TEMPORARY:
                    removed += _unlink(entry.path)
                continue
            entries.append((info.st_mtime, info.st_size, entry.path))
            total += info.st_size
    except OSError:
        return removed
    if total <= max_size:
        return removed
    entries.sort()
    target = max_size * EVICT_TO
    for _, size, path in entries:
        if total <= target:
            break
        removed += _unlink(path)
        total -= size
    return removed


def _unlink(path: str) -> int:
    try:
        os.unlink(path)
    except OSError:
        return 0
    return 1
