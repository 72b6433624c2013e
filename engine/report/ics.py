"""``--format ics``: the next steps as an iCalendar file (RFC 5545) of to-dos.

One ``VTODO`` per next step:

- ``DUE`` is written in UTC (``20261119T200000Z``). The choice over a ``VTIMEZONE``: it names the
  same instant in every calendar, needs no time-zone rules copied into the file, and calendars
  show it in their user's own zone; the due time in the history's zone is in ``DESCRIPTION``.
- ``SUMMARY`` is a short instruction (``Call Kim Lee and Raj Patel at Acme to check in``); for the
  rules of the default pack it is made from the subject event and the person, for any other rule
  it is the finding's message.
- ``DESCRIPTION`` holds the message, the rule's title and rationale, and whose history it is.
- ``UID`` is stable across runs: a hash of the candidate (name and e-mail; the history's source
  when there is no candidate), the rule, the subject and the person, plus ``@followup``. Importing
  a later run's calendar updates the same to-dos instead of adding copies.
- ``DTSTAMP`` and ``LAST-MODIFIED`` are the audit time, so the same audit gives the same bytes.

Input errors cannot be shown in a calendar: each becomes an ``X-FOLLOWUP-ERROR`` component, which
calendar programs ignore and scripts can read; the exit code says 2 as always.

Lines end with CRLF and are folded at 75 octets (never inside a UTF-8 sequence, never so that a
continuation line starts with ``::``, a CI workflow command once the leading space is trimmed);
TEXT values escape backslash, semicolon, comma and newlines, drop every other control and bidi
character, and write the ``[`` of a ``##…[`` log command as ``\\x5b``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import CI_COMMAND, Problem
from ..model import Event, Finding, History, HistoryResult
from ..wording import and_list, ids
from .base import Context, Summary

CRLF = "\r\n"
MAX_OCTETS = 75
PRIORITY = {"error": 1, "warning": 5, "info": 9}  # RFC 5545: 1 highest, 9 lowest
# TEXT allows HTAB and (escaped) newlines only; C1 controls, line separators, bidi overrides and
# lone surrogates (which no encoding can write) go too.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def escape_text(value: str) -> str:
    """An RFC 5545 TEXT value: ``\\`` ``;`` ``,`` and newlines escaped, other controls dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    if "##" in value:
        value = CI_COMMAND.sub(lambda m: m.group(1) + "\\x5b", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line at 75 octets (RFC 5545 §3.1): CRLF and a space before each part."""
    data = line.encode("utf-8")
    if len(data) <= MAX_OCTETS:
        return line + CRLF
    parts: list[str] = []
    start = 0
    limit = MAX_OCTETS  # the first line has 75 octets; the others a space and 74
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            end -= 1
        if data[end : end + 2] == b"::":  # would read as a CI command once the space is trimmed
            run = end
            while run > start + 1 and data[run - 1] == 0x3A:
                run -= 1
            if run > start + 1:  # start with the character before the colons instead
                end = run - 1
                while (data[end] & 0xC0) == 0x80:
                    end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start = end
        limit = MAX_OCTETS - 1
    return (CRLF + " ").join(parts) + CRLF


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def uid(history_key: str, f: Finding) -> str:
    """Stable across runs: the same candidate, rule, subject and person give the same UID."""
    text = "\x1f".join((history_key, f.rule, f.subject, f.person or ""))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32] + "@followup"


def history_key(result: HistoryResult) -> str:
    """Who the to-dos belong to: the candidate, so that moving or renaming the file keeps UIDs."""
    history = result.history
    if history is None:
        return f"source:{result.source}"
    candidate = history.candidate
    return f"candidate:{candidate.name.strip()}\x1f{(candidate.email or '').strip().lower()}"


# ---------------------------------------------------------------------------------------------
# Short summaries in the candidate's words


class Words:
    """The facts a summary is made of: names of people and of the subject's company."""

    def __init__(self, history: History, f: Finding) -> None:
        self.history = history
        self.finding = f
        self.subject: Event | None = next((e for e in history.events if e.id == f.subject), None)

    def name(self, person_id: str | None) -> str:
        if not person_id:
            return ""
        person = self.history.person(person_id)
        return person.name if person else person_id

    @property
    def company(self) -> str:
        value = self.subject.data.get("company") if self.subject else None
        return str(value) if value else "the employer"

    @property
    def met(self) -> str:
        return and_list(self.name(p) for p in ids(self.subject.data.get("with") if self.subject else None))


SUMMARIES: Mapping[str, Callable[[Words], str]] = {
    "send-thank-you-email": lambda w: f"Email {w.met or 'your interviewers'} at {w.company} to say thank you",
    "handwritten-thank-you-note": lambda w: (
        f"Send {w.name(w.finding.person) or 'your interviewer'} at {w.company} a handwritten thank-you note"
    ),
    "tell-references": lambda w: f"Tell your reference {w.name(w.finding.person)} about the {w.company} interview",
    "review-social-profiles": lambda w: f"Review your social profiles before the {w.company} interview",
    "check-in-after-a-week": lambda w: f"Call {w.met or 'the employer'} at {w.company} to check in",
}


def summary_text(f: Finding, history: History | None) -> str:
    make = SUMMARIES.get(f.rule)
    if make is None or history is None:
        return f.message
    words = Words(history, f)
    if words.subject is None:
        return f.message
    return make(words)


# ---------------------------------------------------------------------------------------------


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.stamp = utc_stamp(context.as_of)

    def _write(self, name: str, value: str) -> None:
        self.out.write(fold(f"{name}:{value}"))

    def begin(self) -> None:
        c = self.context
        self.out.write("BEGIN:VCALENDAR" + CRLF)
        self._write("VERSION", "2.0")
        self._write("PRODID", f"-//followup//followup {escape_text(c.tool_version)}//EN")
        self._write("CALSCALE", "GREGORIAN")
        self._write("METHOD", "PUBLISH")
        self._write("X-WR-CALNAME", escape_text(f"Follow-up next steps ({c.pack.name})"))

    def history(self, result: HistoryResult) -> None:
        history = result.history
        tz = ZoneInfo(history.timezone) if history else ZoneInfo("UTC")
        key = history_key(result)
        for f in result.findings:
            if f.kind != "next_step":
                continue
            self._todo(f, result, history, tz, key)

    def _todo(self, f: Finding, result: HistoryResult, history: History | None, tz: ZoneInfo, key: str) -> None:
        rule = self.context.pack.rule(f.rule)
        due = f.due or self.context.as_of
        description = [f.message, "", f"Due: {format_time(due.timestamp(), tz)}"]
        if rule is not None:
            description += ["", f"Why ({rule.title}): {rule.rationale.strip()}"]
        description += ["", f"Candidate: {result.candidate} ({result.source})",
                        f"Rule: {f.rule} · subject: {f.subject}" + (f" · person: {f.person}" if f.person else "")]
        self.out.write("BEGIN:VTODO" + CRLF)
        self._write("UID", uid(key, f))
        self._write("DTSTAMP", self.stamp)
        self._write("LAST-MODIFIED", self.stamp)
        self._write("DUE", utc_stamp(due))
        self._write("SUMMARY", escape_text(summary_text(f, history)))
        self._write("DESCRIPTION", escape_text("\n".join(description)))
        self._write("CATEGORIES", ",".join(escape_text(c) for c in ("Follow-up", f.rule)))
        self._write("PRIORITY", str(PRIORITY.get(f.severity, 9)))
        self._write("STATUS", "NEEDS-ACTION")
        self._write("X-FOLLOWUP-RULE", escape_text(f.rule))
        self._write("X-FOLLOWUP-SOURCE", escape_text(result.source))
        self.out.write("END:VTODO" + CRLF)

    def error(self, problem: Problem) -> None:
        self.out.write("BEGIN:X-FOLLOWUP-ERROR" + CRLF)
        self._write("X-FOLLOWUP-SOURCE", escape_text(problem.source))
        self._write("X-FOLLOWUP-LINE", str(problem.line))
        self._write("X-FOLLOWUP-COLUMN", str(problem.column))
        self._write("DESCRIPTION", escape_text(problem.message))
        self.out.write("END:X-FOLLOWUP-ERROR" + CRLF)

    def end(self, summary: Summary) -> None:
        self.out.write("END:VCALENDAR" + CRLF)
