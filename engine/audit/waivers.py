"""Waivers (``--waivers FILE``): violations a coach has accepted, for a reason, until a date.

A waivers file is YAML (or JSON) checked against ``schemas/waivers.schema.json``, then against the
pack (every rule must exist and be able to report violations). Every problem of the file is
collected and reported as ``file:line:col: message`` before any history is audited.

Matching: a waiver applies to a *violation* of its ``rule`` in a history named by ``history``
and, when ``subject`` is given, anchored to that event. ``history`` is a file when it looks like
a path (it holds ``/`` or ``\\``, or ends in a history suffix, with ``:LINE`` for one line of a
JSON Lines file) and then matches that file only; otherwise it is a candidate's name and
matches that candidate only. A name never matches a file called that, nor a path a candidate
whose name is that text. Next steps
are never waived: they are advice, not failures. A waiver applies up to the end of its ``expires``
day (UTC); after that it no longer applies and is reported as expired. A waiver that matched no
violation in the whole run is reported as unused.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from ..diagnostics import (
    DocumentKind,
    InputError,
    Problem,
    SchemaMessage,
    SchemaPath,
    Suggester,
    excerpt,
    json_pointer,
    locate,
    schema_messages,
    shorten,
)
from ..io.sources import STDIN_NAME
from ..io.yamldoc import load_document
from ..model import HistoryResult, Waived
from ..pack.model import Pack

SCHEMA_FILE = "waivers.schema.json"


def waivers_schema() -> dict[str, Any]:
    text = resources.files("followup.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(waivers_schema())


@dataclass(frozen=True)
class Waiver:
    rule: str
    history: str  # a name or a file; "" when the waiver names a candidate id
    subject: str | None
    reason: str
    approved_by: str
    expires: date
    # Where the entry is written, for warnings about it.
    source: str
    line: int
    column: int
    candidate_id: str | None = None

    @property
    def named(self) -> str:
        """Who the waiver is for, as warnings quote it."""
        if self.candidate_id is not None:
            return f"candidate id {excerpt(self.candidate_id)}"
        return excerpt(self.history)

    @property
    def waived(self) -> Waived:
        return Waived(self.reason, self.approved_by, self.expires.isoformat())

    def where(self, message: str) -> Problem:
        return Problem(self.source, self.line, self.column, message, self.rule)

    def key(self) -> str:
        """What the waiver names: a candidate id, a file (``path``, ``path:line``) or a name."""
        if self.candidate_id is not None:
            return _ID + self.candidate_id
        if names_a_file(self.history):
            return _FILE + _path_key(self.history)
        return _CANDIDATE + self.history


# Keys of the kinds of names never meet: a candidate called "jane.yaml" is not the file, nor is
# a candidate whose id is "Jane Doe" the candidate of that name.
_FILE, _CANDIDATE, _ID = "file:", "candidate:", "id:"
_HISTORY_FILE = re.compile(r"\.(?:ya?ml|jsonl?)(?::\d+)?$", re.IGNORECASE)


def names_a_file(history: str) -> bool:
    """Whether a waiver's ``history`` is a path: ``/`` or ``\\`` in it, or a history suffix."""
    return "/" in history or "\\" in history or history == STDIN_NAME or _HISTORY_FILE.search(history) is not None


def _path_key(path: str) -> str:
    """A path as given on the command line or in a waiver, made comparable: absolute, normalised."""
    return os.path.abspath(os.path.normpath(path.replace("\\", "/")))


def _result_keys(result: HistoryResult) -> tuple[str, ...]:
    """What names ``result``: its candidate, its file, and for a JSON Lines history ``file:line``."""
    path = _FILE + _path_key(result.source)
    line = result.history.line if result.history is not None else 0
    candidate = _CANDIDATE + result.candidate
    keys = (candidate, path, f"{path}:{line}") if line else (candidate, path)
    return keys if result.candidate_id is None else (*keys, _ID + result.candidate_id)


class Waivers:
    """The waivers of one file, bound to one audit time; remembers which ones were used."""

    def __init__(self, entries: tuple[Waiver, ...], as_of: datetime) -> None:
        today = as_of.astimezone(UTC).date()
        self.active = tuple(w for w in entries if w.expires >= today)
        self.expired = tuple(w for w in entries if w.expires < today)
        self._used: set[int] = set()
        # name waiver number -> the candidate ids it covered: one name, two ids is worth a warning
        self._ids: dict[int, set[str]] = {}
        # history key -> numbers of the active waivers it selects, so that a batch of thousands
        # of histories costs a few lookups each, whatever the number of waivers.
        self._by_key: dict[str, list[int]] = {}
        for number, waiver in enumerate(self.active):
            self._by_key.setdefault(waiver.key(), []).append(number)

    def warnings(self) -> Iterator[Problem]:
        """Expired waivers: known as soon as the file is loaded."""
        for w in self.expired:
            when = w.expires.isoformat()
            yield w.where(f"waiver expired on {when}; {w.rule} for {w.named} is no longer waived")

    def apply(self, result: HistoryResult) -> HistoryResult:
        """``result`` with every violation that an active waiver covers marked waived."""
        if not self._by_key:
            return result
        numbers = sorted({n for key in _result_keys(result) for n in self._by_key.get(key, ())})
        if not numbers:
            return result
        changed = False
        findings = list(result.findings)
        for index, finding in enumerate(findings):
            if finding.kind != "violation":
                continue
            for number in numbers:  # file order: the first waiver that fits is the one shown
                waiver = self.active[number]
                if waiver.rule == finding.rule and waiver.subject in (None, finding.subject):
                    self._used.add(number)
                    if result.candidate_id is not None and waiver.key().startswith(_CANDIDATE):
                        self._ids.setdefault(number, set()).add(result.candidate_id)
                    findings[index] = dataclasses.replace(finding, waived=waiver.waived)
                    changed = True
                    break
        return dataclasses.replace(result, findings=tuple(findings)) if changed else result

    def unused(self) -> Iterator[Problem]:
        """What only the whole batch tells (call after it): active waivers that matched no
        violation, and waivers by name that covered candidates of different ids."""
        for number, w in enumerate(self.active):
            if number not in self._used:
                what = f"{w.rule} on {w.subject}" if w.subject else w.rule
                yield w.where(f"unused waiver: no violation of {what} in {w.named}")
            elif len(ids := self._ids.get(number, ())) > 1:
                shown = ", ".join(excerpt(i) for i in sorted(ids)[:5]) + (", ..." if len(ids) > 5 else "")
                yield w.where(
                    f"waiver for the name {excerpt(w.history)} covered {len(ids)} different candidates "
                    f"(ids {shown}); name one with 'candidate_id' instead of 'history'"
                )


def load_waivers(path: str, pack: Pack, as_of: datetime) -> Waivers:
    """Read and check a waivers file; InputError with every problem found."""
    try:
        with open(path, encoding="utf-8-sig") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Problem(path, 1, 1, f"cannot read waivers: {reason}")]) from None
    data, positions = load_document(text, path, kind="waivers file")
    return Waivers(parse_waivers(data, positions, path, pack), as_of)


def parse_waivers(
    data: object, positions: Mapping[str, tuple[int, int]], source: str, pack: Pack
) -> tuple[Waiver, ...]:
    problems = _schema_problems(data, positions, source)
    if problems:
        raise InputError(problems)
    assert isinstance(data, dict)  # the schema requires a mapping
    rules = {rule.id: rule for rule in pack.rules}
    suggest = Suggester()  # one for the file: thousands of unknown rules stay cheap
    entries: list[Waiver] = []
    for index, item in enumerate(data["waivers"]):
        base = f"/waivers/{index}"
        line, column = locate(positions, base)
        rule = rules.get(item["rule"])
        if rule is None:
            tip = suggest(item["rule"], rules)
            at = locate(positions, f"{base}/rule")
            message = f"unknown rule {excerpt(item['rule'])} in pack {pack.name!r}{tip}"
            problems.append(Problem(source, *at, message, f"{base}/rule"))
        elif "violation" not in rule.kinds:
            at = locate(positions, f"{base}/rule")
            message = f"rule {rule.id!r} reports only next steps; only violations can be waived"
            problems.append(Problem(source, *at, message, f"{base}/rule"))
        if ("history" in item) == ("candidate_id" in item):
            at = locate(positions, base)
            message = (
                "a waiver names either 'history' (a candidate's name or a file) or 'candidate_id', not both"
                if "history" in item
                else "missing 'history' (a candidate's name or a file) or 'candidate_id' in this waiver"
            )
            problems.append(Problem(source, *at, message, base))
        try:
            expires = date.fromisoformat(item["expires"])
        except ValueError:
            at = locate(positions, f"{base}/expires")
            message = f"'expires' {excerpt(item['expires'])} is not a date (YYYY-MM-DD)"
            problems.append(Problem(source, *at, message, f"{base}/expires"))
            continue
        entries.append(
            Waiver(
                rule=item["rule"],
                history=item.get("history", ""),
                subject=item.get("subject"),
                reason=item["reason"],
                approved_by=item["approved_by"],
                expires=expires,
                source=source,
                line=line,
                column=column,
                candidate_id=item.get("candidate_id"),
            )
        )
    if problems:
        raise InputError(problems)
    return tuple(entries)


def _entry(path: SchemaPath) -> str:
    return f" in waiver {int(path[1]) + 1}" if len(path) >= 2 and path[0] == "waivers" else ""


def _name(path: SchemaPath) -> str:
    return next((str(p) for p in reversed(path) if isinstance(p, str)), "")


def _label(path: SchemaPath) -> str:
    field = _name(path)
    return excerpt(field) if field else "the waivers file"


# The waivers file's own words for a few keywords, as they always were.
_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer"}


def _type(error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester) -> Iterator[SchemaMessage]:
    wanted: Any = error.validator_value
    words = _TYPES.get(wanted, wanted) if isinstance(wanted, str) else " or ".join(wanted)
    yield SchemaMessage(json_pointer(path), f"{_label(path)} must be {words}{_entry(path)}")


def _pattern(
    error: ValidationError, path: SchemaPath, kind: DocumentKind, suggest: Suggester
) -> Iterator[SchemaMessage]:
    if _name(path) == "expires":
        message = f"'expires' {excerpt(error.instance)} is not a date (YYYY-MM-DD){_entry(path)}"
    else:
        message = _fallback(error, path, kind)
    yield SchemaMessage(json_pointer(path), message)


def _fallback(error: ValidationError, path: SchemaPath, kind: DocumentKind) -> str:
    return f"{_name(path) or 'waivers'}: {shorten(error.message, 200)}{_entry(path)}"


def _fields(options: Sequence[str]) -> str:
    return f" (fields: {', '.join(options)})"


WAIVERS = DocumentKind(
    noun="waivers",
    empty="the waivers file is empty; it needs a 'waivers' list",
    label=_label,
    context=_entry,
    suffix=_entry,
    known=_fields,
    wording={"type": _type, "pattern": _pattern},
    fallback=_fallback,
)


def _schema_problems(data: object, positions: Mapping[str, tuple[int, int]], source: str) -> list[Problem]:
    if data is None:
        return [Problem(source, 1, 1, WAIVERS.empty)]
    suggest = Suggester()
    said = (m for error in _validator().iter_errors(data) for m in schema_messages(error, WAIVERS, suggest))
    # One failure can reach us along two schema paths (and `required` once per missing field).
    return [
        Problem(source, *locate(positions, m.at), m.message, m.at.removesuffix("#key")) for m in dict.fromkeys(said)
    ]
