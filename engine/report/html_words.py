"""Small pieces every part of the HTML page uses: escaping (every string from a history or a pack
passes through `esc`), words for events and times, and the page's layout constants."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from ..compile.template import format_time
from ..diagnostics import CI_COMMAND, UNSAFE, escape_controls
from ..model import Event, History
from ..wording import ids, plural

SEVERITIES = ("error", "warning", "info")


SEVERITY_LABEL: Mapping[str, str] = {"error": "Error", "warning": "Warning", "info": "Info"}


SEVERITY_LETTER: Mapping[str, str] = {"error": "E", "warning": "W", "info": "i"}


LANES: tuple[tuple[str, str], ...] = (
    ("interview", "Interviews"),
    ("email", "Emails"),
    ("call", "Calls"),
    ("note", "Notes"),
    ("social", "Social media"),
    ("reference_contact", "To references"),
    ("reference_check", "Reference checks"),
    ("decision", "Decisions"),
)


LANE_LABEL = dict(LANES)


WORDS: Mapping[str, str] = {
    "thank_you": "thank-you",
    "check_in": "check-in",
    "heads_up": "heads-up",
    "contact_employer": "asked to contact the employer",
    "on_hold": "on hold",
}


# SVG geometry, in viewBox units.
VIEW_W = 1000
PLOT_X0, PLOT_X1 = 150, 975


TOP = 40  # room for the "as of" label


LANE_H = 52


STEP_ROW_H = 24


AXIS_H = 44


MAX_TICKS = 10


_BREAKS = str.maketrans({"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def esc(value: object) -> str:
    """Text or attribute value (always double-quoted) of anything not written by this module."""
    text = html.escape(str(value), quote=True)
    if UNSAFE.search(text):
        text = escape_controls(text.translate(_BREAKS))
    if "##" in text:
        text = CI_COMMAND.sub(lambda m: m.group(1) + "&#91;", text)
    return text


def esc_path(value: str) -> str:
    """A file name that may break after its slashes on narrow screens."""
    return esc(value).replace("/", "/<wbr>")


def words(value: object) -> str:
    text = str(value)
    return WORDS.get(text, text.replace("_", " "))


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return format_time(moment.timestamp(), tz)


def relative(delta_seconds: float) -> str:
    """``in 6 days`` / ``2 hours ago`` / ``now``."""
    seconds = abs(delta_seconds)
    if seconds < 60:
        return "now"
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size or unit == "minute":
            n = int(seconds // size)
            if unit == "week" and seconds < 14 * 86400:
                continue
            text = plural(n, unit)
            return f"in {text}" if delta_seconds > 0 else f"{text} ago"
    return "now"  # pragma: no cover - the loop always returns


def person_name(history: History, person_id: str) -> str:
    person = history.person(person_id)
    return person.name if person else person_id


def names(history: History, value: object) -> str:
    return ", ".join(person_name(history, p) for p in ids(value))


def describe(event: Event, history: History) -> str:
    """One line, in plain words, of what happened (not escaped)."""
    words_for = _DESCRIBERS.get(event.type)
    if words_for is None:
        return event.type.replace("_", " ").capitalize()
    return words_for(event, history)


def _interview(event: Event, history: History) -> str:
    get = event.data.get
    text = f"Interview at {get('company', '?')}"
    if get("position"):
        text += f" for {get('position')}"
    if get("with"):
        text += f" with {names(history, get('with'))}"
    return text


def _message(event: Event, history: History) -> str:
    """An email or a call."""
    get = event.data.get
    noun = "Email" if event.type == "email" else "Call"
    if get("direction") == "received":
        text = f"{noun} from {names(history, get('from')) or '?'}"
    else:
        text = f"{noun} to {names(history, get('to')) or '?'}"
    extras = []
    if get("in_reply_to"):
        extras.append(f"↩ reply to {get('in_reply_to')}")
    if get("purpose") and get("purpose") != "other":
        extras.append(words(get("purpose")))
    if get("proofread_by"):
        extras.append(f"proofread by {person_name(history, str(get('proofread_by')))}")
    if extras:
        text += f" ({', '.join(extras)})"
    if get("subject"):
        text += f": “{get('subject')}”"
    return text


def _note(event: Event, history: History) -> str:
    return f"Handwritten note to {names(history, event.data.get('to')) or '?'}"


def _social(event: Event, history: History) -> str:
    get = event.data.get
    action = words(get("action", "activity"))
    text = f"{get('network')}: {action}" if get("network") else action.capitalize()
    if get("target"):
        text += f" → {person_name(history, str(get('target')))}"
    return text


def _reference_contact(event: Event, history: History) -> str:
    get = event.data.get
    ref = person_name(history, str(get("reference", "?")))
    what = get("company") or get("about") or ""
    if get("request") == "contact_employer":
        return f"Asked reference {ref} to contact {what or 'the employer'}"
    return f"Heads-up to reference {ref}" + (f" about {what}" if what else "")


def _reference_check(event: Event, history: History) -> str:
    get = event.data.get
    ref = person_name(history, str(get("reference", "?")))
    return f"{get('company', 'The employer')} contacted reference {ref}"


def _decision(event: Event, history: History) -> str:
    get = event.data.get
    who = get("company") or get("about") or "Employer"
    return f"Decision from {who}: {words(get('outcome', '?'))}"


_DESCRIBERS: Mapping[str, Callable[[Event, History], str]] = {
    "interview": _interview,
    "email": _message,
    "call": _message,
    "note": _note,
    "social": _social,
    "reference_contact": _reference_contact,
    "reference_check": _reference_check,
    "decision": _decision,
}


def count_chips(by_severity: Mapping[str, int], next_steps: int) -> str:
    chips = [
        f'<span class="chip chip-{s}">{plural(n, SEVERITY_LABEL[s].lower())}</span>'
        for s in SEVERITIES if (n := by_severity.get(s))
    ]
    if next_steps:
        chips.append(f'<span class="chip chip-step">{plural(next_steps, "next step")}</span>')
    return " ".join(chips) or '<span class="chip chip-step">all clear</span>'
