"""``--format ics``: the next steps as an iCalendar file (RFC 5545) of to-dos (or events).

One ``VTODO`` per next step (``--calendar-as event``: one ``VEVENT`` with a ``VALARM``, for
calendars that ignore to-dos, such as Google Calendar and Outlook's import):

- ``DUE`` is written in UTC (``20261119T200000Z``). The choice over a ``VTIMEZONE``: it names the
  same instant in every calendar, needs no time-zone rules copied into the file, and calendars
  show it in their user's own zone; the due time in the history's zone is in ``DESCRIPTION``.
- ``SUMMARY`` is a short instruction (``Call Kim Lee and Raj Patel at Acme to check in``); for the
  rules of the default pack it is made from the subject event and the person, for any other rule
  it is the finding's message. In a calendar of several histories it starts with the candidate's
  name (``Jane Doe: Call …``).
- ``PRIORITY`` comes from urgency: 1 (highest) overdue, 3 due within a day, 5 within a week,
  7 later.
- ``DESCRIPTION`` holds the message, the rule's title and rationale, and whose history it is.
  No local path goes into a shared field: the source is written relative to the working folder
  (as given when relative; only the file name when it lies elsewhere), or not at all with
  ``--calendar-source none``.
- ``UID`` is stable across runs: a hash of the candidate (``candidate.id`` when the history has
  one, else name and e-mail; the history's source when there is no candidate), the rule, the
  subject and the person, plus ``@followup``. Importing a later run's calendar updates the same
  to-dos instead of adding copies. A second history of the same candidate in one run adds its
  source to the hash, so that one calendar never holds a UID twice.
- With ``--baseline``, a next step of the baseline that is no longer due (done since) is written
  again with the same UID and ``STATUS:COMPLETED`` (an event: ``STATUS:CANCELLED``), so that
  importing the new calendar closes it instead of leaving the stale to-do open.
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
from .sarif import source_path

CRLF = "\r\n"
MAX_OCTETS = 75
# RFC 5545: 1 highest, 9 lowest; by how soon a step is due.
DAY = 86400
# An event for a step lasts this long; its alarm rings this long before it.
EVENT_MINUTES = 30
ALARM_MINUTES = 60
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
    """Who the to-dos belong to: the candidate (their id, else name and e-mail), so that moving or
    renaming the file keeps UIDs."""
    history = result.history
    if history is None:
        return f"source:{result.source}"
    candidate = history.candidate
    if candidate.id is not None:
        return f"id:{candidate.id}"
    return f"candidate:{candidate.name.strip()}\x1f{(candidate.email or '').strip().lower()}"


def priority(due: datetime, as_of: datetime) -> int:
    ahead = (due - as_of).total_seconds()
    if ahead < 0:
        return 1
    if ahead <= DAY:
        return 3
    return 5 if ahead <= 7 * DAY else 7


def shared_source(source: str) -> str:
    """A history's source fit for a shared calendar: relative when it can be, else the file name."""
    path = source_path(source)
    return path.rsplit("/", 1)[-1] if path.startswith("/") or (len(path) > 1 and path[1] == ":") else path


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
        # The first history waits for the second: only a calendar of several names its candidates.
        self.held: HistoryResult | None = None
        self.several = False
        self.keys: set[str] = set()

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
        if self.held is None and not self.several:
            self.held = result
            return
        self.several = True
        if self.held is not None:
            self._steps(self.held)
            self.held = None
        self._steps(result)

    def _steps(self, result: HistoryResult) -> None:
        history = result.history
        tz = ZoneInfo(history.timezone) if history else ZoneInfo("UTC")
        key = history_key(result)
        if key in self.keys:  # the same candidate again: their to-dos must not share UIDs
            key += f"\x1f{result.source}:{history.line if history else 0}"
        self.keys.add(key)
        for f in result.findings:
            if f.kind == "next_step":
                self._item(f, result, tz, key, done=False)
        for f in result.absent or ():
            if f.kind == "next_step":
                self._item(f, result, tz, key, done=True)

    def _item(self, f: Finding, result: HistoryResult, tz: ZoneInfo, key: str, *, done: bool) -> None:
        rule = self.context.pack.rule(f.rule)
        due = f.due or self.context.as_of
        description = [f.message, "", f"Due: {format_time(due.timestamp(), tz)}"]
        if done:
            description[:0] = ["Done: no longer due as of " + format_time(self.context.as_of.timestamp(), tz), ""]
        if rule is not None:
            description += ["", f"Why ({rule.title}): {rule.rationale.strip()}"]
        source = shared_source(result.source) if self.context.calendar_source == "relative" else None
        description += ["", f"Candidate: {result.candidate}" + (f" ({source})" if source else ""),
                        f"Rule: {f.rule} · subject: {f.subject}" + (f" · person: {f.person}" if f.person else "")]
        summary = summary_text(f, result.history)
        if self.several:
            summary = f"{result.candidate}: {summary}"
        event = self.context.calendar_as == "event"
        component = "VEVENT" if event else "VTODO"
        self.out.write(f"BEGIN:{component}" + CRLF)
        self._write("UID", uid(key, f))
        self._write("DTSTAMP", self.stamp)
        self._write("LAST-MODIFIED", self.stamp)
        if event:
            # An overdue step is put on the calendar now: an event in the past is easy to miss.
            start = due if due >= self.context.as_of or done else self.context.as_of
            self._write("DTSTART", utc_stamp(start))
            self._write("DURATION", f"PT{EVENT_MINUTES}M")
        else:
            self._write("DUE", utc_stamp(due))
        self._write("SUMMARY", escape_text(summary))
        self._write("DESCRIPTION", escape_text("\n".join(description)))
        self._write("CATEGORIES", ",".join(escape_text(c) for c in ("Follow-up", f.rule)))
        self._write("PRIORITY", str(priority(due, self.context.as_of)))
        if event:
            self._write("STATUS", "CANCELLED" if done else "CONFIRMED")
            self._write("TRANSP", "TRANSPARENT")
        elif done:
            self._write("STATUS", "COMPLETED")
            self._write("COMPLETED", self.stamp)
            self._write("PERCENT-COMPLETE", "100")
        else:
            self._write("STATUS", "NEEDS-ACTION")
        self._write("X-FOLLOWUP-RULE", escape_text(f.rule))
        if source:
            self._write("X-FOLLOWUP-SOURCE", escape_text(source))
        if event and not done:
            self.out.write("BEGIN:VALARM" + CRLF)
            self._write("ACTION", "DISPLAY")
            self._write("DESCRIPTION", escape_text(summary))
            self._write("TRIGGER", f"-PT{ALARM_MINUTES}M")
            self.out.write("END:VALARM" + CRLF)
        self.out.write(f"END:{component}" + CRLF)

    def error(self, problem: Problem) -> None:
        self.out.write("BEGIN:X-FOLLOWUP-ERROR" + CRLF)
        if self.context.calendar_source == "relative":
            self._write("X-FOLLOWUP-SOURCE", escape_text(shared_source(problem.source)))
        self._write("X-FOLLOWUP-LINE", str(problem.line))
        self._write("X-FOLLOWUP-COLUMN", str(problem.column))
        self._write("DESCRIPTION", escape_text(problem.message))
        self.out.write("END:X-FOLLOWUP-ERROR" + CRLF)

    def end(self, summary: Summary) -> None:
        if self.held is not None:
            self._steps(self.held)
        self.out.write("END:VCALENDAR" + CRLF)
