"""Hypothesis strategies: realistic follow-up histories (SPEC §2) with an audit time.

Times cluster around every boundary the packs care about: each event is placed relative to an
earlier one (an interview's start or end, a reply, a check-in...) at a delay that is often a
rule parameter exactly, one second or one hour either side of it. The default pack's parameters
(24h, 3d, 7d) and those of the stricter test overlay (12h, 1d, 5d) are both covered.

The audit time is placed the same way; interviews may fall after it (upcoming), every other event
that would fall after it is dropped or moved onto it (a future email is an input error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

HOUR, DAY = 3600, 86400
PARAMETERS = (12 * HOUR, DAY, 3 * DAY, 5 * DAY, 7 * DAY)
JITTER = (0, 1, -1, HOUR, -HOUR)
BOUNDARIES = tuple(sorted({p + j for p in PARAMETERS for j in JITTER} | {0, 1, 60, 30 * 60, 2 * HOUR, 2 * DAY}))
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe")

COMPANIES = ("Acme", "Globex", "Initech", "Umbrella")
FIRST_NAMES = ("Kim", "Bo", "Ray", "Ana", "Lee", "Zoë", "Sam", "Al", "Jo", "Max", "Eve", "Ugo")
FLAGS = ("thanks", "interest", "fit", "contact_info")
BODY_PARTS = (
    "Thank you for your time today.",
    "I really appreciated the conversation.",
    "I am excited about the role.",
    "I look forward to hearing from you.",
    "My experience with data pipelines fits the team.",
    "My background in support is a good match.",
    "Reach me at jane@example.com.",
    "Call me on +1 555 0100.",
    "Lovely hike today.",
    "Just checking in.",
)
POST_PARTS = (
    "Fingers crossed for {COMPANY}!",
    "Great chat with the {company} folks",
    "My INTERVIEW went well",
    "interviewing is exhausting",
    "Lovely hike today",
    "New blog post about compilers",
    "{company}ville is a nice town",
)


def delay() -> st.SearchStrategy[float]:
    """Seconds after an anchor: mostly a boundary (±1 s, ±1 h), sometimes anything in a fortnight."""
    whole = st.one_of(
        st.sampled_from(BOUNDARIES),
        st.sampled_from(BOUNDARIES).map(lambda s: -s),
        st.integers(-3 * DAY, 16 * DAY),
    )
    return st.one_of(whole, whole, whole, whole.map(lambda s: s + 0.5)).map(float)


class _World:
    """What the events of one history can refer to; collects the document as it is drawn."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.zone = draw(st.sampled_from(ZONES))
        self.companies = draw(st.lists(st.sampled_from(COMPANIES), min_size=1, max_size=3, unique=True))
        self.people: list[dict[str, object]] = []
        self.by_company: dict[str, list[str]] = {}
        self.references: list[str] = []
        self.helpers: list[str] = []  # family and friends: proofreaders
        self.counts: dict[str, int] = {}
        self.events: list[tuple[float, dict[str, object]]] = []  # (epoch, event without "at")
        self.interviews: list[tuple[str, str, float, float]] = []  # id, company, at, clock start

    def new_id(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}{self.counts[prefix]}"

    def person(self, role: str, company: str | None = None) -> str:
        pid = self.new_id("p")
        name = f"{self.draw(st.sampled_from(FIRST_NAMES))} {pid.upper()}"
        entry: dict[str, object] = {"id": pid, "name": name, "role": role}
        if company is not None:
            # Company names are matched case-insensitively: vary the spelling.
            entry["company"] = self.draw(st.sampled_from((company, company.upper(), company.lower())))
        self.people.append(entry)
        return pid

    def cast(self) -> None:
        draw = self.draw
        for company in self.companies:
            roles = draw(
                st.lists(st.sampled_from(("interviewer", "recruiter", "hiring_manager")), min_size=1, max_size=3)
            )
            self.by_company[company] = [self.person(role, company) for role in roles]
        if draw(st.booleans()):
            self.person("recruiter", "Hooli")  # works for a company never interviewed with
        self.references = [self.person("reference") for _ in range(draw(st.integers(0, 2)))]
        self.helpers = [
            self.person(draw(st.sampled_from(("family", "friend")))) for _ in range(draw(st.integers(0, 2)))
        ]

    @property
    def everyone(self) -> list[str]:
        return [str(p["id"]) for p in self.people]

    def company_people(self) -> list[str]:
        return [pid for company in self.companies for pid in self.by_company[company]]

    def interview_plan(self) -> None:
        draw = self.draw
        for _ in range(draw(st.integers(1, 4))):
            company = draw(st.sampled_from(self.companies))
            at = START.timestamp() + draw(st.integers(0, 20)) * DAY + draw(st.sampled_from((0, 1, 2, 5, 7))) * HOUR
            if self.interviews and draw(st.integers(0, 4)) == 0:  # same time as, or right after, another
                at = self.interviews[-1][2] + draw(st.sampled_from((0, 1, HOUR, DAY)))
            staff = self.by_company[company]
            met = draw(st.lists(st.sampled_from(staff), min_size=1, max_size=len(staff), unique=True))
            if draw(st.integers(0, 5)) == 0:
                met.append(draw(st.sampled_from(self.everyone)))  # someone from elsewhere came along
                met = list(dict.fromkeys(met))
            event: dict[str, object] = {"type": "interview", "company": company, "with": met}
            start = at
            if draw(st.booleans()):
                start = at + draw(st.sampled_from((0, 30 * 60, HOUR, 90 * 60, 3 * HOUR)))
                event["ends_epoch"] = start
            if draw(st.integers(0, 3)) == 0:
                event["position"] = draw(st.sampled_from(("Analyst", "Engineer", "Support lead")))
            iid = self.new_id("i")
            event["id"] = iid
            self.interviews.append((iid, company, at, start))
            self.events.append((at, event))

    def anchors(self) -> list[float]:
        return [t for _, _, at, start in self.interviews for t in (at, start)] + [t for t, _ in self.events]

    def pick_time(self) -> float:
        return self.draw(st.sampled_from(self.anchors())) + self.draw(delay())

    def interview(self) -> tuple[str, str, float, float]:
        return self.draw(st.sampled_from(self.interviews))

    def maybe_about(self, event: dict[str, object], chance: int = 2) -> None:
        if self.draw(st.integers(0, chance)) == 0:
            event["about"] = self.interview()[0]

    def recipients(self) -> list[str]:
        draw = self.draw
        pool = self.company_people() if draw(st.integers(0, 5)) else self.everyone
        return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))

    def ids(self, people: list[str]) -> object:
        return people[0] if len(people) == 1 and self.draw(st.booleans()) else people

    def body(self, parts: tuple[str, ...]) -> str:
        company = self.draw(st.sampled_from(self.companies))
        chosen = self.draw(st.lists(st.sampled_from(parts), min_size=1, max_size=4))
        return " ".join(chosen).format(company=company, COMPANY=company.upper())

    # -- one event of each type -------------------------------------------------------------------

    def email_or_call(self, kind: str) -> dict[str, object]:
        draw = self.draw
        event: dict[str, object] = {"type": kind}
        received = draw(st.integers(0, 3)) == 0
        event["direction"] = "received" if received else "sent"
        if received:
            if draw(st.integers(0, 6)):
                event["from"] = draw(
                    st.sampled_from(self.company_people() if draw(st.integers(0, 4)) else self.everyone)
                )
        elif draw(st.integers(0, 10)):
            event["to"] = self.ids(self.recipients())
        self.maybe_about(event)
        purpose = draw(st.sampled_from(("thank_you", "thank_you", "check_in", "check_in", "other", None)))
        if purpose is not None:
            event["purpose"] = purpose
        if kind == "email":
            if draw(st.booleans()):
                event["includes"] = draw(st.lists(st.sampled_from(FLAGS), unique=True))
            if draw(st.booleans()):
                event["body"] = self.body(BODY_PARTS)
            if draw(st.integers(0, 3)) == 0:
                event["subject"] = draw(st.sampled_from(("Thank you", "Following up", "Re: interview", "Hello")))
            if len(self.helpers) > 0 and draw(st.booleans()):
                event["proofread_by"] = draw(st.sampled_from(self.helpers))
        return event

    def note(self) -> dict[str, object]:
        event: dict[str, object] = {"type": "note", "to": self.ids(self.recipients())}
        self.maybe_about(event)
        return event

    def social(self) -> dict[str, object]:
        draw = self.draw
        action = draw(
            st.sampled_from(
                ("profile_review", "profile_update", "friend_request", "connect", "follow", "message", "post", "post")
            )
        )
        event: dict[str, object] = {"type": "social", "action": action}
        if draw(st.integers(0, 3)):
            # typed by people: packs compare it ignoring case
            event["network"] = self.typed(draw(st.sampled_from(("LinkedIn", "Facebook", "X"))))
        if action in ("friend_request", "connect", "follow", "message") and draw(st.integers(0, 5)):
            event["target"] = draw(st.sampled_from(self.company_people() if draw(st.integers(0, 3)) else self.everyone))
        if action == "post":
            if draw(st.integers(0, 4)):
                event["body"] = self.body(POST_PARTS)
            self.maybe_about(event)
        return event

    def reference_contact(self) -> dict[str, object]:
        draw = self.draw
        pool = self.references or self.everyone
        event: dict[str, object] = {"type": "reference_contact", "reference": draw(st.sampled_from(pool))}
        request = draw(st.sampled_from(("heads_up", "heads_up", "contact_employer", None)))
        if request is not None:
            event["request"] = request
        how = draw(st.sampled_from(("about", "company", "both")))
        if how in ("about", "both"):
            event["about"] = self.interview()[0]
        if how in ("company", "both"):
            event["company"] = self.typed(draw(st.sampled_from((*self.companies, "Hooli"))))
        return event

    def reference_check(self) -> dict[str, object]:
        draw = self.draw
        pool = self.references or self.everyone
        company = draw(st.sampled_from((*self.companies, self.interview()[1].upper())))
        return {"type": "reference_check", "reference": draw(st.sampled_from(pool)), "company": company}

    def decision(self) -> dict[str, object]:
        draw = self.draw
        event: dict[str, object] = {
            "type": "decision",
            "outcome": draw(st.sampled_from(("offer", "rejection", "on_hold"))),
        }
        how = draw(st.sampled_from(("about", "company", "both")))
        if how in ("about", "both"):
            event["about"] = self.interview()[0]
        if how in ("company", "both"):
            event["company"] = self.typed(draw(st.sampled_from(self.companies)))
        return event

    def typed(self, text: str) -> str:
        """``text`` as someone may type it: mostly as written, sometimes in another case."""
        return self.draw(st.sampled_from((text, text, text.lower(), text.upper())))

    def other_events(self) -> None:
        draw = self.draw
        makers = {
            "email": lambda: self.email_or_call("email"),
            "call": lambda: self.email_or_call("call"),
            "note": self.note,
            "social": self.social,
            "reference_contact": self.reference_contact,
            "reference_check": self.reference_check,
            "decision": self.decision,
        }
        weighted = (
            ("email",) * 4
            + ("call",) * 2
            + ("note", "social", "social", "reference_contact")
            + (
                "reference_check",
                "decision",
            )
        )
        for _ in range(draw(st.integers(0, 16))):
            kind = draw(st.sampled_from(weighted))
            event = makers[kind]()
            event["id"] = self.new_id(kind[0] if kind != "reference_check" else "k")
            self.events.append((self.pick_time(), event))

    def replies(self, timed: list[tuple[float, dict[str, object]]]) -> None:
        """Mark some sent emails and calls as answers (`in_reply_to`) to a received email or call
        at or before them, once the final times are known (events after the audit time move)."""
        received = sorted(
            (moment, str(e["id"]))
            for moment, e in timed
            if e["type"] in ("email", "call") and e["direction"] == "received"
        )
        for moment, event in timed:
            if event["type"] not in ("email", "call") or event["direction"] != "sent":
                continue
            earlier = [rid for at, rid in received if at <= moment]
            if earlier and self.draw(st.integers(0, 2)) == 0:
                # Often the latest message before it (the usual answer), else any earlier one.
                event["in_reply_to"] = earlier[-1] if self.draw(st.booleans()) else self.draw(st.sampled_from(earlier))

    # -- the document ------------------------------------------------------------------------------

    def stamp(self, moment: float) -> str:
        """An ISO 8601 time for ``moment``: in UTC, in the history's zone with its offset, or naive."""
        value = datetime.fromtimestamp(moment, UTC)
        style = self.draw(st.sampled_from(("utc", "local", "naive")))
        if style == "local":
            return value.astimezone(ZoneInfo(self.zone)).isoformat()
        if style == "naive" and self.zone == "UTC":
            return value.replace(tzinfo=None).isoformat()
        return value.isoformat()

    def document(self, as_of: float) -> dict[str, object]:
        draw = self.draw
        timed: list[tuple[float, dict[str, object]]] = []
        for planned, event in self.events:
            moment = planned
            if event["type"] != "interview" and planned > as_of:
                if draw(st.integers(0, 2)):
                    continue  # it has not happened yet
                moment = as_of  # just in time
            out = {k: v for k, v in event.items() if k != "ends_epoch"}
            out["at"] = self.stamp(moment)
            if "ends_epoch" in event:
                out["ends"] = self.stamp(float(event["ends_epoch"]))
            timed.append((moment, out))
        self.replies(timed)
        events = draw(st.permutations([out for _, out in timed]))  # file order is not time order
        candidate: dict[str, object] = {"name": "Jane Doe"}
        if draw(st.booleans()):
            candidate["email"] = "jane@example.com"
        doc: dict[str, object] = {"version": 1, "candidate": candidate, "people": self.people, "events": events}
        if self.zone != "UTC" or draw(st.booleans()):
            doc["timezone"] = self.zone
        return doc


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[str, object], datetime]:
    """A valid version 1 history document and an audit time (aware, UTC)."""
    world = _World(draw)
    world.cast()
    world.interview_plan()
    # The audit time first, so that "nothing yet by the audit time" happens at every boundary.
    _, _, at, start = world.interview()
    as_of = draw(st.sampled_from((at, start))) + draw(delay())
    world.other_events()
    return world.document(as_of), datetime.fromtimestamp(as_of, UTC)


__all__ = ["BOUNDARIES", "PARAMETERS", "histories"]
