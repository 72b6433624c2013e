# Over 400 lines: one translator whose parser, node types and emitter share private node classes and
# flag rules; split, they would become public only to cross a file line.
"""A pack's text patterns, run by RE2: linear time in the length of the text, whatever the pattern.

Patterns are written in RE2's syntax (which Python's ``re`` shares for everything but lookaround,
backreferences and possessive or atomic groups). Before RE2 compiles a pattern, the few escapes
whose meaning differs are rewritten so that a pattern means what Python's ``re`` meant on text:

- ``\\w \\W \\d \\D \\s \\S`` are Unicode in Python and ASCII in RE2: ``\\w`` becomes ``[\\pL\\pN_]``
  (letters and digits of every script), ``\\d`` becomes ``\\p{Nd}``, ``\\s`` every Unicode space.
- ``\\b`` is ASCII in RE2, which also has no lookaround to build a Unicode one. A
  boundary is decided from the pattern around it: where one side is sure to be a word character
  (``\\bthank``, ``skills?\\b``) the other side must be a non-word character; at the start or the end
  of the pattern that side is matched as one more character (or the edge of the text); where it is
  already settled the ``\\b`` is dropped. A ``\\b`` between two parts that may or may not be letters
  is refused with a hint, never guessed.
- ``\\B`` is refused (Python's never matches an empty text, a quirk RE2 cannot say).
- ``i`` and ``I`` also match the Turkish ``İ`` and ``ı`` (and the reverse), as Python's case-insensitive
  matching does and RE2's case folding does not.
- ``$`` (outside multi-line mode) also matches before a final newline, as in Python.
- Python's ``\\Z``, ``\\uXXXX``, ``\\UXXXXXXXX``, ``\\N{name}``, ``{,n}`` and ``(?#comments)`` are
  accepted too.

Only a boolean "does the text contain a match" is ever asked, so a translation may consume one
more character at either end than the original pattern did.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import re2  # type: ignore[import-untyped]

from ..diagnostics import FollowupError, escape_controls

WORD = r"[\pL\pN_]"
NOT_WORD = r"[^\pL\pN_]"
_WORD_ITEMS = r"\pL\pN_"
_SPACE_ITEMS = r"\t-\r\x{1c}-\x{20}\x{85}\pZ"  # Python's str.isspace(): these and the Z categories
_NEVER = r"[^\x00-\x{10FFFF}]"
# How many texts a Matcher searches pattern by pattern before it compiles their alternation.
ALTERNATION_AFTER = 64
# RE2's default budget (8 MiB) is too small for a dozen Unicode, case-folded classes in one pattern.
_MAX_MEM = 64 << 20

# What one side of a boundary can be: a word character, a non-word character (or the edge of the
# text), unknown, or the open end of the pattern (nothing of the pattern lies beyond).
W, N, U, OPEN = "w", "n", "u", "open"
ZERO = "zero"  # a boundary lies on the way: a side is no longer open to be consumed
Kinds = frozenset[str]
Flags = frozenset[str]  # the inline flags in force: i (always, at first), m, s, U


class PatternError(FollowupError, ValueError):
    """Why a pattern cannot run: ``offset`` is the 0-based character of the pattern it is about."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _Regexp(Protocol):  # what re2 gives
    def search(self, text: bytes) -> object: ...


class Matcher:
    """Several patterns, any of which may match.

    Each pattern is compiled and checked on its own (``regexps``: a pattern that cannot run is
    named), and the first texts are searched with each in turn. From the ``ALTERNATION_AFTER``-th
    text on, one alternation of them all is used: one pass over the text instead of one per
    pattern, measured 14-20 times faster on e-mail bodies of 50 bytes to 9 KB (default pack, 70
    patterns), but about ten times slower to compile (0.15 s for the default pack's lists), which
    only a batch earns back: a single history never pays it. RE2 bounds the alternation's
    automaton by ``max_mem`` and falls back to a slower, still linear simulation past it; the
    answer is the same either way. Should RE2 refuse the alternation (too large), the patterns
    stay searched one by one.
    """

    __slots__ = ("_any", "_patterns", "_searched", "regexps")

    def __init__(self, regexps: tuple[_Regexp, ...], patterns: tuple[str, ...] = ()) -> None:
        self.regexps = regexps
        self._patterns = patterns
        self._any: tuple[_Regexp, ...] | None = None
        self._searched = 0

    def search(self, text: str) -> bool:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (from JSON "\\ud800"): not a character, not a word
            data = _SURROGATE.sub("\ufffd", text).encode("utf-8")
        programs = self._any
        if programs is None:
            self._searched += 1
            programs = self.regexps
            if self._searched >= ALTERNATION_AFTER:
                programs = self._any = self._alternation()
        return any(r.search(data) is not None for r in programs)

    def _alternation(self) -> tuple[_Regexp, ...]:
        if len(self.regexps) < 2 or len(self._patterns) != len(self.regexps):
            return self.regexps
        try:
            # `(?flags)` inside a group holds to the group's end: each pattern keeps its own flags.
            return (_compile("|".join(f"(?:{translate(p)})" for p in self._patterns)),)
        except PatternError:
            return self.regexps


@dataclass(frozen=True)
class _Atom:
    """Consumes one character; ``kind`` says whether it is surely a word character or surely not."""

    text: str
    kind: str


@dataclass(frozen=True)
class _Edge:
    """Zero-width, other than a boundary: ``^ $ \\A \\z`` (``side`` start or end of text), flags, ""."""

    text: str
    side: str = ""
    dollar: bool = False  # Python's $: the end, or before a final newline
    offset: int = 0


@dataclass(frozen=True)
class _Boundary:
    offset: int


@dataclass(frozen=True)
class _Group:
    open: str
    alternatives: tuple[tuple[_Node, ...], ...]


@dataclass(frozen=True)
class _Repeat:
    body: _Node
    quantifier: str
    optional: bool
    many: bool


_Node = _Atom | _Edge | _Boundary | _Group | _Repeat

# Python's case-insensitive matching holds i, I, İ (U+0130) and ı (U+0131) equal; RE2's case folding
# (Unicode's simple folding) leaves the Turkish two apart. The only letters where the two differ.
_DOTTED_I = "iIİı"
_META = frozenset("\\.+*?()|[]{}^$-")
_QUANT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_POSIX_CLASS = re.compile(r"\[:(\^?)([a-z]+):\]")
_FLAGS = re.compile(r"\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])")
_GROUP_HINTS: Mapping[str, str] = {
    "(?=": "lookahead (?=...) is not supported: RE2 matches without looking around; "
    "match the text itself instead (a(?=b) as ab)",
    "(?!": "negative lookahead (?!...) is not supported: RE2 matches without looking around; "
    "list what may follow instead (a(?!b) as a(?:[^b]|$))",
    "(?<=": "lookbehind (?<=...) is not supported: RE2 matches without looking around; "
    "match the text itself instead ((?<=a)b as ab)",
    "(?<!": "negative lookbehind (?<!...) is not supported: RE2 matches without looking around; "
    "list what may come before instead ((?<!a)b as (?:^|[^a])b)",
    "(?>": "atomic groups (?>...) are not supported, and not needed: RE2 never backtracks; write (?:...)",
    "(?P=": "backreferences (?P=name) are not supported: RE2 cannot match text repeated from earlier "
    "in linear time; match the repeated part again as a pattern",
    "(?(": "conditional groups (?(1)...) are not supported; write the alternatives with |",
}
_RE2_HINTS: Mapping[str, str] = {
    "invalid repetition size": "RE2 repeats a part at most 1000 times: write a smaller count, or + or *",
    "bad repetition operator": "write a single quantifier: *, +, ?, {n,m}, optionally followed by ? (lazy)",
    "missing argument to repetition operator": "a *, + or ? must follow something to repeat; "
    "write \\*, \\+ or \\? for the character itself",
    "invalid escape sequence": "RE2 does not know this escape: write the character itself, "
    "\\x{hex} for a code point, or \\p{...} for a Unicode class",
    "invalid perl operator": "RE2 knows (?:...), (?P<name>...), (?<name>...) and the flags i, m, s, U "
    "as (?i) or (?i:...); it has no verbose mode (?x)",
    "pattern too large": "the pattern needs more memory than RE2 allows: use smaller repeat counts",
    "invalid character class range": "a range a-z must go from a lower to a higher character",
    "invalid named capture group": "name a group (?P<name>...) with letters, digits and _",
    "missing )": "a ( is not closed",
    "unexpected )": "a ) closes nothing: write \\) for the character itself",
    "missing ]": "a [ is not closed: write \\[ for the character itself",
}


def translate(pattern: str) -> str:
    """The RE2 pattern that means, on text, what ``pattern`` meant to Python's ``re``
    (ignoring which characters a match consumes); PatternError if there is none."""
    parser = _Parser(pattern)
    try:
        alternatives = parser.alternatives(frozenset({"i"}))
        if parser.pos < len(pattern):  # only a ) can stop the top level early
            raise PatternError("has a ) that closes nothing: write \\) for the character itself", parser.pos)
        return "|".join(_emit_seq(alt, frozenset({OPEN}), frozenset({OPEN})) for alt in alternatives)
    except RecursionError:
        raise PatternError("has groups nested too deeply") from None


def compile_patterns(items: Iterable[str]) -> Matcher:
    """One case-insensitive RE2 matcher for any of ``items``; PatternError on the first that cannot run."""
    patterns = tuple(items)
    return Matcher(tuple(_program(p) for p in patterns), patterns)


# A pack's patterns are checked when it is parsed, checked again by the compiler and compiled for
# the facts: one program each instead of three (an RE2 program with Unicode classes takes a few
# milliseconds to build, and the default pack has about seventy). Programs are immutable, so
# sharing them is safe; a pattern that cannot run raises every time (exceptions are not cached).
@functools.lru_cache(maxsize=2048)
def _program(pattern: str) -> _Regexp:
    return _compile(translate(pattern))


def as_written(pattern: str) -> str:
    r"""A pattern quoted as the pack writes it: '\bthank' shows as '\bthank', never with the
    backslash doubled as a Python repr would (only characters that cannot be printed are escaped)."""
    quote = "'" if "'" not in pattern else '"' if '"' not in pattern else "`"
    return quote + escape_controls(pattern) + quote


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a pack pattern (with how to write it instead), or None."""
    try:
        compile_patterns([pattern])
    except PatternError as exc:
        where = f" at character {exc.offset + 1}" if exc.offset is not None else ""
        return f"cannot be used{where}: {exc.message}"
    return None


def _compile(text: str) -> _Regexp:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = _MAX_MEM
    try:
        return re2.compile(text, options)  # type: ignore[no-any-return]
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        hint = next((h for key, h in _RE2_HINTS.items() if key in message), "")
        raise PatternError(f"RE2 refuses it: {message}" + (f" ({hint})" if hint else "")) from None


def _literal(char: str, flags: Flags) -> str:
    if char in _DOTTED_I and "i" in flags:
        return f"[{_DOTTED_I}]"
    return "\\" + char if char in _META else char


def _char_kind(char: str) -> str:
    return W if char.isalnum() or char == "_" else N


class _Parser:
    """A recursive-descent reader of the pattern: just enough structure to place each ``\\b``."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def alternatives(self, flags: Flags) -> list[tuple[_Node, ...]]:
        alternatives = []
        while True:
            seq, flags = self.sequence(flags)
            alternatives.append(seq)
            if self.peek() != "|":
                return alternatives
            self.pos += 1

    def sequence(self, flags: Flags) -> tuple[tuple[_Node, ...], Flags]:
        seq: list[_Node] = []
        while self.peek() not in ("", "|", ")"):
            start = self.pos
            node, flags = self.atom(flags)
            quantifier = self.quantifier()
            if quantifier is not None:
                text, optional, many = quantifier
                if isinstance(node, _Edge | _Boundary):
                    raise PatternError("repeats something that matches no character (like ^* or \\b+)", start)
                node = _Repeat(node, text, optional, many)
            seq.append(node)
        return tuple(seq), flags

    def quantifier(self) -> tuple[str, bool, bool] | None:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            text, optional, many = char, char != "+", char != "?"
        elif char == "{" and (m := _QUANT.match(self.text, self.pos)) and (m.group(1) or m.group(2)):
            self.pos = m.end()
            low = int(m.group(1) or 0)
            high = m.group(3)
            if m.group(2) is None:
                text, many = f"{{{low}}}", low > 1
            else:
                text, many = f"{{{low},{high}}}", not high or int(high) > 1
            optional = low == 0
        else:
            return None
        if self.peek() == "+":
            raise PatternError(
                f"possessive quantifiers like {text}+ are not supported, and not needed: RE2 never backtracks; "
                f"write {text}",
                self.pos,
            )
        if self.peek() == "?":
            self.pos += 1
            text += "?"
        return text, optional, many

    def atom(self, flags: Flags) -> tuple[_Node, Flags]:
        char = self.peek()
        start = self.pos
        self.pos += 1
        if char in ("*", "+", "?") or (char == "{" and (m := _QUANT.match(self.text, start)) and m.group(1)):
            raise PatternError(f"has {char} with nothing before it to repeat: write \\{char} for the character", start)
        if char == "(":
            return self.group(start, flags)
        return self.single(char, start, flags), flags

    def single(self, char: str, start: int, flags: Flags) -> _Node:
        """What ``char`` (read at ``start``, not a group) stands for: a class, escape, edge or literal."""
        if char == "[":
            return self.char_class(start, flags)
        if char == "\\":
            return self.escape(start, flags)
        if char == ".":
            return _Atom(".", U)
        if char == "^":
            return _Edge("^", "start")
        if char == "$":
            return _Edge("$", "end", dollar="m" not in flags, offset=start)
        return _Atom(_literal(char, flags), _char_kind(char))

    def group(self, start: int, flags: Flags) -> tuple[_Node, Flags]:
        rest = self.text[start:]
        for opening, hint in _GROUP_HINTS.items():
            if rest.startswith(opening):
                raise PatternError(hint, start)
        if rest.startswith("(?#"):
            end = self.text.find(")", start)
            if end < 0:
                raise PatternError("a (?# comment is not closed", start)
            self.pos = end + 1
            return _Edge(""), flags
        opening = "("
        inner = flags
        if (m := _FLAGS.match(self.text, start)) is not None and rest.startswith("(?") and not rest.startswith("(?P"):
            on, off, closing = m.group(1), m.group(2) or "", m.group(3)
            inner = (flags | set(on)) - set(off)
            if closing == ")":  # flags for the rest of the enclosing group
                self.pos = m.end()
                return _Edge(m.group(0)), inner
            opening = m.group(0)
        elif rest.startswith("(?P<") or rest.startswith("(?<"):
            close = self.text.find(">", start)
            if close < 0:
                raise PatternError("a group name (?P<name> is not closed with >", start)
            opening = self.text[start : close + 1]
        self.pos = start + len(opening)
        alternatives = self.alternatives(inner)
        if self.peek() != ")":
            raise PatternError("has a ( that is never closed", start)
        self.pos += 1
        return _Group(opening, tuple(alternatives)), flags

    def escape(self, start: int, flags: Flags) -> _Node:
        char = self.peek()
        if not char:
            raise PatternError("ends with a lone \\: write \\\\ for a backslash", start)
        self.pos += 1
        simple: Mapping[str, _Node] = {
            "w": _Atom(WORD, W),
            "W": _Atom(NOT_WORD, N),
            "d": _Atom(r"\p{Nd}", W),
            "D": _Atom(r"\P{Nd}", U),
            "s": _Atom(f"[{_SPACE_ITEMS}]", N),
            "S": _Atom(f"[^{_SPACE_ITEMS}]", U),
            "A": _Edge(r"\A", "start"),
            "z": _Edge(r"\z", "end"),
            "Z": _Edge(r"\z", "end"),
        }
        if char in simple:
            return simple[char]
        if char == "b":
            return _Boundary(start)
        if char == "B":  # Python's \B never matches an empty text: more quirk than RE2 can say
            raise PatternError(
                "\\B (not a word boundary) is not supported: say what surrounds the place instead, "
                "e.g. [\\pL\\pN_] for a letter or digit",
                start,
            )
        if char in "123456789":
            raise PatternError(
                f"backreferences like \\{char} are not supported: RE2 cannot match text repeated from "
                "earlier in linear time; match the repeated part again as a pattern "
                "(write \\x{hex} for a character code)",
                start,
            )
        if char == "Q":  # \Q...\E: the text between, literally
            end = self.text.find(r"\E", self.pos)
            stop = len(self.text) if end < 0 else end
            chars = self.text[self.pos : stop]
            self.pos = stop if end < 0 else end + 2
            if not chars:
                return _Edge("")
            return _Group("(?:", (tuple(_Atom(_literal(c, flags), _char_kind(c)) for c in chars),))
        if char in ("p", "P"):
            name = self.text[self.pos : self.text.find("}", self.pos) + 1] if self.peek() == "{" else self.peek()
            self.pos += len(name)
            return _Atom(f"\\{char}{name}", _unicode_class_kind(char, name))
        return self.escaped_char(char, start, flags)

    def escaped_char(self, char: str, start: int, flags: Flags) -> _Node:
        """A backslash and ``char`` that name one character (a code, or the character itself)."""
        code = self.code_point(char, start)
        if code is not None:
            text = _literal(chr(code), flags) if chr(code) in _DOTTED_I else f"\\x{{{code:x}}}"
            return _Atom(text, _char_kind(chr(code)))
        if not char.isascii():  # \é is é, as in Python
            return _Atom(_literal(char, flags), _char_kind(char))
        if char.isalnum():  # an escape RE2 knows (\n, \t, \pL...) or refuses: RE2 says which
            return _Atom("\\" + char, N if char in "afnrtv" else U)
        return _Atom("\\" + char, _char_kind(char))

    def code_point(self, char: str, start: int) -> int | None:
        """The character a ``\\x \\u \\U \\N \\0`` escape names (the backslash and ``char`` read)."""
        digits = {"x": 2, "u": 4, "U": 8}.get(char)
        if char == "x" and self.peek() == "{":
            end = self.text.find("}", self.pos)
            digits_text = self.text[self.pos + 1 : end] if end > 0 else ""
            self.pos = end + 1 if end > 0 else self.pos
        elif digits is not None:
            digits_text = self.text[self.pos : self.pos + digits]
            self.pos += digits
            if len(digits_text) != digits:
                digits_text = ""
        elif char == "N" and self.peek() == "{":
            end = self.text.find("}", self.pos)
            name = self.text[self.pos + 1 : end] if end > 0 else ""
            try:
                code = ord(unicodedata.lookup(name))
            except KeyError:
                raise PatternError(f"\\N{{{name}}} names no Unicode character", start) from None
            self.pos = end + 1
            return code
        elif char == "0":
            octal = re.match(r"[0-7]{0,2}", self.text[self.pos :])
            assert octal is not None
            self.pos += octal.end()
            return int("0" + octal.group(0), 8)
        else:
            return None
        try:
            code = int(digits_text, 16)
        except ValueError:
            raise PatternError(f"\\{char} must be followed by hexadecimal digits, e.g. \\x{{e9}}", start) from None
        if code > 0x10FFFF:
            raise PatternError(f"\\{char} names no character (beyond U+10FFFF)", start)
        return code

    def char_class(self, start: int, flags: Flags) -> _Node:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        items: list[str] = []
        negative: list[str] = []  # \W and \S: complements of sets, which a class cannot hold
        kinds: set[str] = set()
        first = True
        while True:
            char = self.peek()
            if not char:
                raise PatternError("has a [ that is never closed: write \\[ for the character itself", start)
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            if char == "[" and (m := _POSIX_CLASS.match(self.text, self.pos)):
                self.pos = m.end()
                items.append(m.group(0))
                named = {"alpha": W, "alnum": W, "digit": W, "upper": W, "lower": W, "word": W, "space": N}
                kinds.add(named.get(m.group(2), U) if not m.group(1) else U)
                continue
            low, low_text, low_kind = self.class_char()
            if low_text in (WORD, NOT_WORD) or low is None:
                if low_text in (NOT_WORD, f"[^{_SPACE_ITEMS}]"):
                    negative.append(low_text)
                else:
                    items.append(low_text)
                kinds.add(low_kind)
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                high, high_text, _ = self.class_char()
                if high is None:
                    raise PatternError("a range in [...] must end with a character, not a class like \\w", start)
                items.append(f"{low_text}-{high_text}")
                kinds.add(_range_kind(low, high))
                if "i" in flags and any(low <= ord(c) <= high for c in _DOTTED_I):
                    items.append(_DOTTED_I)
            else:
                items.append(_DOTTED_I if "i" in flags and chr(low) in _DOTTED_I else low_text)
                kinds.add(low_kind)
        return _class_node(items, negative, kinds, negated, start)

    def class_char(self) -> tuple[int | None, str, str]:
        """One item of a class: its code point (None for a set such as ``\\w``), RE2 text, kind."""
        start = self.pos
        char = self.peek()
        self.pos += 1
        if char != "\\":
            return ord(char), "\\" + char if char in _META else char, _char_kind(char)
        char = self.peek()
        if not char:
            raise PatternError("ends with a lone \\: write \\\\ for a backslash", start)
        self.pos += 1
        sets = {
            "w": (_WORD_ITEMS, W),
            "d": (r"\p{Nd}", W),
            "D": (r"\P{Nd}", U),
            "s": (_SPACE_ITEMS, N),
            "W": (NOT_WORD, N),
            "S": (f"[^{_SPACE_ITEMS}]", U),
        }
        if char in sets:
            text, kind = sets[char]
            return None, text if char != "w" else _WORD_ITEMS, kind
        if char in ("p", "P"):
            name = self.text[self.pos : self.text.find("}", self.pos) + 1] if self.peek() == "{" else self.peek()
            self.pos += len(name)
            return None, f"\\{char}{name}", _unicode_class_kind(char, name)
        if char == "b":
            return 8, r"\x{8}", N
        code = self.code_point(char, start) if char.isascii() else ord(char)
        if code is None and char.isalnum():
            if char in "123456789":
                raise PatternError(f"\\{char} in a class is not a character: write \\x{{hex}}", start)
            named = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7}.get(char)
            if named is None:
                return None, "\\" + char, U  # RE2 says whether it knows it
            code = named
        if code is None:
            code = ord(char)
        return code, f"\\x{{{code:x}}}", _char_kind(chr(code))


def _unicode_class_kind(char: str, name: str) -> str:
    """``\\pL``, ``\\p{Lu}``, ``\\p{Nd}``...: word characters; scripts and the rest: unknown."""
    letters = name.strip("{}")
    if char == "p" and letters[:1] in ("L", "N") and letters[1:] in ("", "u", "l", "t", "m", "o", "d"):
        return W
    return U


def _range_kind(low: int, high: int) -> str:
    if high - low > 5000:
        return U
    kinds = {_char_kind(chr(c)) for c in range(low, high + 1)}
    return kinds.pop() if len(kinds) == 1 else U


# -- emitting RE2 text, placing each boundary ------------------------------------------------------


def _first(node: _Node) -> tuple[Kinds, bool]:
    """Kinds of character a match of ``node`` can start with, and whether it can match nothing."""
    if isinstance(node, _Atom):
        return frozenset({node.kind}), False
    if isinstance(node, _Edge):
        if node.side == "end":
            return frozenset({N}), False  # the end of the text: not a word character
        return (frozenset({U}), False) if node.side else (frozenset(), True)
    if isinstance(node, _Boundary):
        return frozenset({ZERO}), True
    if isinstance(node, _Repeat):
        kinds, nullable = _first(node.body)
        return kinds, nullable or node.optional
    return _union(_seq_first(alt) for alt in node.alternatives)


def _last(node: _Node) -> tuple[Kinds, bool]:
    """Kinds of character a match of ``node`` can end with, and whether it can match nothing."""
    if isinstance(node, _Atom):
        return frozenset({node.kind}), False
    if isinstance(node, _Edge):
        if node.side == "start":
            return frozenset({N}), False  # the start of the text: not a word character
        return (frozenset({U}), False) if node.side else (frozenset(), True)
    if isinstance(node, _Boundary):
        return frozenset({ZERO}), True
    if isinstance(node, _Repeat):
        kinds, nullable = _last(node.body)
        return kinds, nullable or node.optional
    return _union(_seq_last(alt) for alt in node.alternatives)


def _union(results: Iterable[tuple[Kinds, bool]]) -> tuple[Kinds, bool]:
    kinds: set[str] = set()
    nullable = False
    for k, n in results:
        kinds |= k
        nullable = nullable or n
    return frozenset(kinds), nullable


def _emit_seq(seq: tuple[_Node, ...], left: Kinds, right: Kinds) -> str:
    """``seq`` as RE2 text, where ``left`` and ``right`` are what can come before and after it."""
    lefts = [left]
    for node in seq[:-1]:
        kinds, nullable = _last(node)
        lefts.append(kinds | lefts[-1] if nullable else kinds)
    rights = [right]
    for node in reversed(seq[1:]):
        kinds, nullable = _first(node)
        rights.append(kinds | rights[-1] if nullable else kinds)
    rights.reverse()
    return "".join(_emit(node, lefts[i], rights[i]) for i, node in enumerate(seq))


def _seq_first(seq: tuple[_Node, ...]) -> tuple[Kinds, bool]:
    kinds: set[str] = set()
    for node in seq:
        k, nullable = _first(node)
        kinds |= k
        if not nullable:
            return frozenset(kinds), False
    return frozenset(kinds), True


def _seq_last(seq: tuple[_Node, ...]) -> tuple[Kinds, bool]:
    kinds: set[str] = set()
    for node in reversed(seq):
        k, nullable = _last(node)
        kinds |= k
        if not nullable:
            return frozenset(kinds), False
    return frozenset(kinds), True


def _emit(node: _Node, left: Kinds, right: Kinds) -> str:
    if isinstance(node, _Edge) and node.dollar:
        if right != {OPEN}:
            raise PatternError(
                "has $ before more of the pattern; RE2 can only match Python's $ (the end of the text, or "
                "before a final newline) at the end of a pattern or of an alternative: move it there, "
                "or write \\z for the very end",
                node.offset,
            )
        return r"(?:\n?\z)"
    if isinstance(node, _Atom | _Edge):
        return node.text
    if isinstance(node, _Boundary):
        return _boundary(node, left, right)
    if isinstance(node, _Repeat):
        if node.many:  # one repeat can follow another: each sees the body on its other side
            left = left | _last(node.body)[0]
            right = right | _first(node.body)[0]
        return _group_text(_emit(node.body, left, right), node.body) + node.quantifier
    inner = "|".join(_emit_seq(alt, left, right) for alt in node.alternatives)
    return f"{node.open}{inner})"


def _group_text(text: str, node: _Node) -> str:
    """``text`` made one unit a quantifier can follow."""
    if isinstance(node, _Atom | _Group):  # an atom is one character, one class or one escape
        return text
    return f"(?:{text})"


def _boundary(node: _Boundary, left: Kinds, right: Kinds) -> str:
    """A Unicode ``\\b`` between what can come ``left`` and ``right`` of it."""

    def sure(kinds: Kinds) -> str:
        settled = kinds - {ZERO}  # another boundary between changes no character
        if len(settled) != 1 or U in settled or (OPEN in settled and ZERO in kinds):
            return ""
        return next(iter(settled))

    a, b = sure(left), sure(right)
    if a in (W, N) and b in (W, N):
        return "" if a != b else _NEVER
    # the open side (nothing of the pattern beyond) is matched as one more character, or the edge
    if a == OPEN and b in (W, N):
        return WORD if b == N else rf"(?:\A|{NOT_WORD})"
    if b == OPEN and a in (W, N):
        return WORD if a == N else rf"(?:\z|{NOT_WORD})"
    if a == OPEN and b == OPEN:
        return WORD  # a text has a boundary iff it has a word character
    raise PatternError(
        "\\b here stands between parts that may or may not be letters or digits, and RE2 can only "
        "test a boundary in ASCII; put \\b right next to a letter, e.g. \\bword or word\\b, "
        "or say what separates the words, e.g. [^\\pL\\pN_]",
        node.offset,
    )


def _class_node(items: list[str], negative: list[str], kinds: set[str], negated: bool, start: int) -> _Node:
    """A class read as ``items``, with ``\\W``/``\\S`` (``negative``) as alternatives beside it."""
    if negative and negated:
        raise PatternError(
            "a negated class [^...] cannot hold \\W or \\S in RE2; name what it keeps instead "
            "(e.g. [^\\W\\d] as [\\pL_])",
            start,
        )
    kind = kinds.pop() if len(kinds) == 1 else U
    if negated:
        kind = N if _WORD_ITEMS in items else U
        return _Atom(f"[^{''.join(items)}]", kind)
    parts = [f"[{''.join(items)}]"] if items else []
    parts.extend(negative)
    if len(parts) == 1:
        return _Atom(parts[0], kind)
    return _Group("(?:", tuple((_Atom(p, kind),) for p in parts))
