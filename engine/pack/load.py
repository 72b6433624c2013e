"""Loading rule packs: finding them, reading each file of an ``extends`` chain and its sibling
tests file, and checking the result (a trial compile included).

Every problem of every file in an ``extends`` chain is collected before anything is raised, each at
the line and column of the key or value it is about (overlay problems in the overlay's file): the
loader keeps each file's position table (JSON pointer -> line, column) on the side and also uses it
to place the compiler's problems, which carry JSON pointers.

The steps, in the order a file goes through them: ``pack.schema`` (JSON Schema, dropping refused
parts), ``pack.parse`` (document -> pack model, with the semantic checks; ``pack.textpattern`` for
text patterns, run by RE2), ``pack.overlay`` (an ``extends`` overlay merged into its base),
``pack.examples`` (the examples and tests as histories), then ``compile.compiler``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..diagnostics import InputError, Positions, Problem, locate, suggest
from ..io.yamldoc import load_document
from .examples import check_examples
from .model import Example, Pack
from .overlay import overlay_pack
from .parse import Parser
from .schema import prune_invalid, schema_problems
from .texts import with_texts

if TYPE_CHECKING:
    from ..compile.compiler import CompiledPack

DEFAULT_PACK = "interview-follow-up"
TESTS_SUFFIX = ".tests.yaml"
PACK_SUFFIXES = (".yaml", ".yml")
# The longest `extends` chain, the pack itself included: deep enough for any real layering, small
# enough that a hostile chain costs a bounded number of file reads.
MAX_EXTENDS_DEPTH = 32


class PackNotFoundError(InputError):
    """The pack named on the command line is neither a file nor a built-in pack (a usage error)."""


@dataclass(frozen=True)
class CheckedPack:
    """The outcome of loading and checking a pack: the model (when one could be built), each layer
    of its ``extends`` chain (base first; the last is the pack itself), every problem found, and
    the position table of every file read (by source name)."""

    pack: Pack | None
    layers: tuple[Pack, ...]
    problems: tuple[Problem, ...]
    positions: Mapping[str, Positions]

    @property
    def ok(self) -> bool:
        return self.pack is not None and not self.problems


# -- built-in packs and files ---------------------------------------------------------------------


def builtin_packs() -> dict[str, str]:
    """Name -> path of the packs shipped inside the package."""
    folder = resources.files("followup.rules")
    return {
        Path(str(entry)).stem: str(entry)
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and not entry.name.endswith(TESTS_SUFFIX)
    }


def resolve_pack_path(ref: str, relative_to: Path | None = None) -> Path:
    """A built-in pack name or a path (relative to ``relative_to`` when given)."""
    builtins = builtin_packs()
    if ref in builtins:
        return Path(builtins[ref])
    path = Path(ref)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    return path


def tests_path(pack_path: Path) -> Path | None:
    """The sibling tests file of a pack (``name.yaml`` -> ``name.tests.yaml``), if there is one."""
    stem = pack_path.name
    for suffix in PACK_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    for suffix in (TESTS_SUFFIX, ".tests.yml"):
        candidate = pack_path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def is_tests_file(ref: str) -> bool:
    return ref.endswith((TESTS_SUFFIX, ".tests.yml"))


def pack_of_tests_file(ref: str) -> str:
    """``a/b.tests.yaml`` -> ``a/b.yaml`` (the pack a tests file belongs to)."""
    for suffix in (TESTS_SUFFIX, ".tests.yml"):
        if ref.endswith(suffix):
            base = ref[: -len(suffix)]
            for ext in PACK_SUFFIXES:
                if os.path.exists(base + ext):
                    return base + ext
            return base + ".yaml"
    return ref


# -- public entry points --------------------------------------------------------------------------


def load_pack(ref: str, *, tests: bool = False) -> Pack:
    """Load a pack by built-in name or path, resolving its ``extends`` chain, and check it fully
    (schema, meaning, and a trial compile); raise InputError with every problem.

    ``tests`` also loads the sibling ``*.tests.yaml`` files into ``Pack.tests``.
    """
    result = check_pack(ref, tests=tests, examples=False)
    if result.problems or result.pack is None:
        raise InputError(list(result.problems))
    return result.pack


def load_layers(ref: str, *, tests: bool = False) -> tuple[Pack, ...]:
    """The resolved pack after each step of its ``extends`` chain, base first, pack itself last."""
    result = check_pack(ref, tests=tests, examples=False)
    if result.problems or result.pack is None:
        raise InputError(list(result.problems))
    return result.layers


def check_pack(ref: str, *, tests: bool = True, examples: bool = True) -> CheckedPack:
    """Load and check a pack, collecting every problem instead of raising.

    Raises only PackNotFoundError, when ``ref`` names neither a file nor a built-in pack.
    ``examples`` also checks the histories, times and rule names of examples and tests.
    """
    path = resolve_pack_path(ref)
    if not path.is_file():
        tip = suggest(ref, builtin_packs(), otherwise=f" (built-in packs: {', '.join(sorted(builtin_packs()))})")
        raise PackNotFoundError([Problem(ref, 1, 1, f"no pack file or built-in pack named {ref!r}{tip}")])
    display = f"<builtin>/{ref}.yaml" if ref in builtin_packs() else ref
    loader = _Loader(with_tests=tests)
    pack = loader.load(path, display)
    if pack is not None:
        loader.compile_check(pack)
        if examples and not loader.pruned:
            check_examples(pack, loader.positions, loader.problems)
    problems = sorted(set(loader.problems))
    return CheckedPack(pack, tuple(loader.layers), tuple(problems), dict(loader.positions))


@dataclass(frozen=True)
class _Layer:
    """One file of an ``extends`` chain, parsed, before it is applied to its base."""

    data: dict[str, Any]
    parser: Parser
    own: Pack
    tests: tuple[Example, ...]


# -- loading --------------------------------------------------------------------------------------


class _Loader:
    """Loads one pack and its ``extends`` chain, collecting problems and position tables."""

    def __init__(self, with_tests: bool) -> None:
        self.with_tests = with_tests
        self.problems: list[Problem] = []
        self.positions: dict[str, Positions] = {}
        self.layers: list[Pack] = []
        self.pruned = False  # a schema problem removed part of a file: example checks would mislead

    def read_yaml(self, path: Path, source: str, tests_file: bool) -> tuple[object, Positions] | None:
        """The YAML at ``path`` with its positions, or None with the problem that stops reading it."""
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(source, 1, 1, f"cannot read: {exc}"))
            return None
        try:
            return load_document(text, source, kind="tests file" if tests_file else "pack")
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def read(
        self, path: Path, source: str, tests_file: bool = False, base_of: _Layer | None = None
    ) -> dict[str, Any] | None:
        """The checked document at ``path``; ``base_of`` is the layer whose ``extends`` named it."""
        loaded = self.read_yaml(path, source, tests_file)
        if loaded is None:
            return None
        data, positions = loaded
        self.positions[source] = positions
        if base_of is not None and not (isinstance(data, dict) and "pack" in data):
            # Whatever the file holds stays out of the message: `extends` may name a file that is
            # not the user's to show (nothing but its path and what is wrong is printed).
            base_of.parser.error(
                "/extends", f"{source} is not a rule pack (a pack is a mapping that starts with `pack: <name>`)"
            )
            return None
        if isinstance(data, dict) and "pack" not in data and ("events" in data or "candidate" in data):
            self.problems.append(
                Problem(
                    source,
                    1,
                    1,
                    "this file is a history, not a rule pack: audit it with "
                    f"`followup audit {source}` (a pack starts with `pack: <name>`)",
                )
            )
            return None
        problems = schema_problems(data, positions, source)
        if problems:
            # Drop the parts the schema refuses, when that leaves a valid document, so that the
            # semantic checks still run and every problem of the file is reported at once.
            pruned = prune_invalid(data, problems, tests_file)
            self.problems.extend(problems)
            if pruned is None:
                return None
            self.pruned |= not tests_file  # a dropped rule would make its tests look wrong
            data, problems = pruned, []
        if isinstance(data, dict):
            is_tests = "tests" in data and "pack" not in data
            if tests_file and not is_tests:
                problems.append(Problem(source, 1, 1, "a tests file holds `tests:` (a list of tests), not a pack"))
            elif not tests_file and is_tests:
                problems.append(
                    Problem(source, 1, 1, f"this is a tests file, not a pack; name it *{TESTS_SUFFIX} beside its pack")
                )
        if problems:
            self.problems.extend(problems)
            return None
        assert isinstance(data, dict)  # the schema requires a mapping
        return data

    def load(self, path: Path, source: str) -> Pack | None:
        """The pack at ``path`` with its ``extends`` chain applied, base first.

        The chain is followed with a loop, not recursion, and at most MAX_EXTENDS_DEPTH files deep:
        a long or hostile chain costs a bounded number of reads and never exhausts the stack.
        """
        files: list[_Layer] = []
        chain: list[Path] = []
        while True:
            base = bool(files)
            data = self.read(path, source, base_of=files[-1] if base else None)
            if data is None:
                return None
            parser = Parser(source, self.positions[source], self.problems)
            layer = _Layer(data, parser, parser.pack(data), self.load_tests(path, source) if self.with_tests else ())
            files.append(layer)
            chain.append(path.resolve())
            base_ref = data.get("extends")
            if base_ref is None:
                break
            if len(files) >= MAX_EXTENDS_DEPTH:
                parser.error(
                    "/extends",
                    f"the `extends` chain is too deep: this pack is number {MAX_EXTENDS_DEPTH} in it, and a chain "
                    f"holds at most {MAX_EXTENDS_DEPTH} packs (the pack named first included)",
                )
                return None
            found = self.base_path(str(base_ref), path, parser, chain)
            if found is None:
                return None
            path, source = found, _base_source(source, str(base_ref))
        # Apply the overlays base first; each layer's problems go to its own file.
        pack = with_texts(dataclasses.replace(files[-1].own, tests=files[-1].tests))
        self.layers.append(pack)
        for layer in reversed(files[:-1]):
            merged = overlay_pack(layer.parser, pack, layer.own, layer.data)
            pack = with_texts(dataclasses.replace(merged, tests=pack.tests + layer.tests))
            self.layers.append(pack)
        return pack

    def base_path(self, ref: str, path: Path, parser: Parser, chain: list[Path]) -> Path | None:
        """The file ``extends: ref`` names in the pack at ``path``, or None after reporting why not.

        Only a built-in pack or a ``.yaml``/``.yml`` file is read: ``extends`` must never make the
        loader open (and quote) an arbitrary file such as a secrets file. A YAML pack outside the
        pack's folder (``../``, an absolute path) is allowed, as packs are shared that way.
        """
        builtins = builtin_packs()
        if ref not in builtins and not ref.lower().endswith(PACK_SUFFIXES):
            tip = suggest(ref, builtins)
            if tip:
                parser.error("/extends", f"cannot find the pack {ref!r} to extend{tip}")
            else:
                parser.error(
                    "/extends",
                    f"`extends` names a built-in pack or a .yaml/.yml pack file, not {ref!r} "
                    f"(built-in packs: {', '.join(sorted(builtins))})",
                )
            return None
        base_path = resolve_pack_path(ref, path.parent)
        if not base_path.is_file():
            known = f" (built-in packs: {', '.join(sorted(builtins))}; paths are relative to this file)"
            tip = suggest(ref, builtins, otherwise=known)
            parser.error("/extends", f"cannot find the pack {ref!r} to extend{tip}")
            return None
        if base_path.resolve() in chain:
            names = [*chain, base_path.resolve()]
            start = names.index(base_path.resolve())
            cycle = " -> ".join(p.name for p in names[start:])
            parser.error("/extends", f"packs extend each other in a cycle: {cycle}")
            return None
        return base_path

    def load_tests(self, pack_path: Path, pack_source: str) -> tuple[Example, ...]:
        path = tests_path(pack_path)
        if path is None:
            return ()
        source = _sibling_source(pack_source, path.name)
        data = self.read(path, source, tests_file=True)
        if data is None:
            return ()
        parser = Parser(source, self.positions[source], self.problems)
        return tuple(
            parser.example(test, f"/tests/{i}", None if test.get("rule") is None else str(test["rule"]))
            for i, test in enumerate(data["tests"])
            if test is not None
        )

    def compile_check(self, pack: Pack) -> None:
        """Compile the pack (every rule, enabled or not) and place the compiler's problems."""
        from ..compile.compiler import compile_pack

        everything = dataclasses.replace(pack, rules=tuple(dataclasses.replace(r, enabled=True) for r in pack.rules))
        try:
            compiled = compile_pack(everything)
        except InputError as exc:
            # Patterns are checked (more precisely) while parsing each file.
            self.problems.extend(self.place(p) for p in exc.problems if not p.pointer.startswith("/patterns/"))
            return
        self.engine_check(everything, compiled)

    def engine_check(self, pack: Pack, compiled: CompiledPack) -> None:
        """Build the compiled pack in durable_rules and assert a probe fact of each type: the
        compiler keeps within the engine's limits (enginelimits), and this proves it, so that a
        pack that validates never fails (or hangs) in the engine at audit time."""
        from ..backends.durable import trial

        failed = trial(compiled)
        if failed is None:
            return
        name, why = failed
        rule = compiled.rules.get(name or "")
        loc = None
        if rule is not None and rule.kind == "derive":
            loc = pack.derivations[int(name.rsplit(":", 1)[1])].loc if name else None
        elif rule is not None:
            loc = next((r.loc for r in pack.rules if r.id == rule.rule_id), None)
        what = f"rule {rule.rule_id!r}" if rule and rule.rule_id else f"derived fact {rule.fact!r}" if rule else ""
        if loc is None:
            self.problems.append(
                Problem(pack.source, 1, 1, f"the pack's rules together are more than the engine can hold: {why}")
            )
        else:
            message = f"{what} cannot run in the engine: {why}"
            self.problems.append(Problem(loc.source or pack.source, loc.line or 1, loc.column or 1, message))

    def place(self, problem: Problem) -> Problem:
        """The problem at the position of its JSON pointer (or of the pointer's nearest ancestor)."""
        positions = self.positions.get(problem.source)
        pointer = problem.pointer
        if positions is None or not pointer:
            return dataclasses.replace(problem, pointer=pointer.removesuffix("#key"))
        line, column = locate(positions, pointer)
        return Problem(problem.source, line, column, problem.message, pointer.removesuffix("#key"))


def _base_source(source: str, ref: str) -> str:
    if ref in builtin_packs():
        return f"<builtin>/{ref}.yaml"
    if os.path.isabs(ref):
        return ref
    return os.path.normpath(os.path.join(os.path.dirname(source), ref))


def _sibling_source(source: str, name: str) -> str:
    folder = os.path.dirname(source)
    return f"{folder}/{name}" if folder else name
