"""``--format junit``: JUnit XML, for CI test dashboards (GitLab, Jenkins, Azure, junitparser).

A ``<testsuite>`` per history, named by its source (``file:line`` for a line of a JSON Lines file)
and candidate, with a ``<testcase>`` per active rule of the pack (``classname`` = that source,
``name`` = the rule id):

- violations at or above ``--fail-on``: one ``<failure>`` (message, and a text listing each);
- violations below the threshold and next steps: listed in ``<system-out>``; the test passes;
- a rule with waived violations and no failing one: ``<skipped message="waived: reason">``;
  what was waived is listed in ``<system-out>``.

Input errors come last, in a testsuite ``input errors`` with a testcase per file and an ``<error>``
listing its problems. Histories stream; errors are kept (few).

Every value is XML-escaped; what comes from a history (or a file name) is also written on one line
with its control and bidi characters as readable escapes (``\\n``, ``\\x1b``), so the file is
always well-formed XML 1.0 and a CI that prints a failure's text shows nothing it would obey. File
names with a colon or such characters are quoted, as in ``file:line:col`` lines.
"""

from __future__ import annotations

from datetime import UTC
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from ..diagnostics import Problem, display_path, printable
from ..model import SEVERITY_RANK, Finding, HistoryResult, Waived
from ..wording import plural
from .base import Context, Summary, quoted_source
from .sarif import subject_position


def attr(text: object) -> str:
    """An attribute value: one line; also what XML 1.0 cannot carry (NUL, ESC, U+FFFE, a lone
    surrogate) is among what ``printable`` escapes, so the document always parses."""
    return quoteattr(printable(str(text)))


def body(text: str) -> str:
    """Element text: lines joined by this module stay lines; each is ``printable``."""
    return escape("\n".join(printable(line) for line in text.split("\n")))


def _line(result: HistoryResult, f: Finding) -> str:
    line, column = subject_position(result, f)
    who = f" ({f.person})" if f.person else ""
    new = " (new since the baseline)" if f.baseline_state == "new" else ""
    text = f"{display_path(result.source)}:{line}:{column}: {f.severity}{new}: {f.subject}{who}: {f.message}"
    return printable(text)


class Formatter:
    def __init__(self, out: TextIO, context: Context) -> None:
        self.out = out
        self.context = context
        self.threshold = SEVERITY_RANK.get(context.fail_on, 99)
        self.rules = context.pack.active_rules
        self.errors: list[Problem] = []
        # JUnit timestamps carry no offset: the audit time in UTC.
        self.timestamp = context.as_of.astimezone(UTC).replace(tzinfo=None).isoformat()

    def begin(self) -> None:
        c = self.context
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        self.out.write(f"<testsuites name={attr(f'followup {c.pack.name} {c.pack.version}')}>\n")

    def history(self, result: HistoryResult) -> None:
        label = quoted_source(result)
        by_rule: dict[str, list[Finding]] = {}
        for f in result.findings:
            by_rule.setdefault(f.rule, []).append(f)
        cases: list[str] = []
        failures = skipped = 0
        for rule in self.rules:
            case, outcome = self.case(result, label, rule.id, by_rule.get(rule.id, []))
            cases.append(case)
            failures += outcome == "failure"
            skipped += outcome == "skipped"
        name = f"{label} ({result.candidate})"
        self.out.write(
            f'  <testsuite name={attr(name)} tests="{len(cases)}" failures="{failures}" errors="0" '
            f'skipped="{skipped}" timestamp={attr(self.timestamp)}>\n'
            "    <properties>\n"
            f'      <property name="source" value={attr(result.source)}/>\n'
            f'      <property name="candidate" value={attr(result.candidate)}/>\n'
            + (
                f'      <property name="candidate_id" value={attr(result.candidate_id)}/>\n'
                if result.candidate_id is not None
                else ""
            )
            + "    </properties>\n"
        )
        self.out.write("".join(cases))
        self.out.write("  </testsuite>\n")

    def case(self, result: HistoryResult, label: str, rule_id: str, findings: list[Finding]) -> tuple[str, str]:
        failing: list[Finding] = []
        waived: list[tuple[Finding, Waived]] = []
        notes: list[str] = []
        for f in findings:
            if f.waived is not None:
                waived.append((f, f.waived))
            elif f.kind == "next_step":
                due = f" (due {f.due.isoformat()})" if f.due else ""
                notes.append(printable(f"next step{due}: {f.subject}: {f.message}"))
            elif f.baseline_state == "unchanged":  # with --baseline only new violations fail
                notes.append(f"unchanged since the baseline: {_line(result, f)}")
            elif SEVERITY_RANK[f.severity] >= self.threshold:
                failing.append(f)
            else:
                notes.append(f"below --fail-on {self.context.fail_on}: {_line(result, f)}")
        resolved = (f for f in result.absent or () if f.rule == rule_id)
        notes.extend(f"resolved since the baseline: {_line(result, f)}" for f in resolved)
        for f, w in waived:
            notes.append(printable(f"waived by {w.approved_by} until {w.expires} ({w.reason}): ") + _line(result, f))
        inner: list[str] = []
        outcome = "passed"
        if failing:
            outcome = "failure"
            worst = max(failing, key=lambda f: SEVERITY_RANK[f.severity]).severity
            count = plural(len(failing), "violation")
            message = f"{count} of {rule_id}: {failing[0].message}"
            text = "\n".join(_line(result, f) for f in failing)
            inner.append(f"      <failure message={attr(message)} type={attr(worst)}>{body(text)}</failure>\n")
        elif waived:
            outcome = "skipped"
            inner.append(f"      <skipped message={attr('waived: ' + waived[0][1].reason)}/>\n")
        if notes:
            inner.append(f"      <system-out>{body(chr(10).join(notes))}</system-out>\n")
        head = f"    <testcase classname={attr(label)} name={attr(rule_id)}"
        if not inner:
            return head + "/>\n", outcome
        return head + ">\n" + "".join(inner) + "    </testcase>\n", outcome

    def error(self, problem: Problem) -> None:
        self.errors.append(problem)

    def end(self, summary: Summary) -> None:
        if self.errors:
            by_source: dict[str, list[Problem]] = {}
            for p in self.errors:
                by_source.setdefault(p.source, []).append(p)
            self.out.write(
                f'  <testsuite name="input errors" tests="{len(by_source)}" failures="0" '
                f'errors="{len(by_source)}" skipped="0">\n'
            )
            for source, problems in by_source.items():
                count = plural(len(problems), "problem")
                message = f"invalid input ({count}): {problems[0].message}"
                text = "\n".join(str(p) for p in problems)
                self.out.write(
                    f'    <testcase classname={attr(display_path(source))} name="valid input">\n'
                    f'      <error message={attr(message)} type="InputError">{body(text)}</error>\n'
                    "    </testcase>\n"
                )
            self.out.write("  </testsuite>\n")
        self.out.write("</testsuites>\n")
