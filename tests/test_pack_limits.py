"""What validates, runs: large packs, long `in:` lists, filter types, duration bounds, `extends`.

Generated packs go through the installed command (subprocess, generous timeouts: they prove "does
not hang", never a speed), on both engines, and their findings are counted against what the
generator knows each rule does on the one history audited.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from followup.audit import Auditor
from followup.backends import get_backend
from followup.backends.durable import DurableBackend, trial
from followup.compile import compile_pack, enginelimits, history_facts
from followup.diagnostics import InputError
from followup.history import parse_history
from followup.model import History
from followup.pack import MAX_EXTENDS_DEPTH, check_pack, load_pack

FOLLOWUP = str(Path(sys.executable).parent / "followup")
AS_OF = "2026-11-20T00:00Z"
HISTORY = """version: 1
timezone: UTC
candidate: {name: Jane Doe, email: jane@example.com}
people:
  - {id: kim, name: Kim Lee, role: interviewer, company: Acme}
events:
  - {id: i1, at: 2026-11-02T10:00, ends: 2026-11-02T11:00, type: interview, company: Acme, with: [kim]}
  - {id: e1, at: 2026-11-02T21:00, type: email, direction: sent, to: [kim], about: i1, purpose: thank_you,
     subject: Thanks, body: Thank you.}
"""
HEAD = "pack: generated\nversion: '1'\nrules:\n"


def rule(i: int, in_values: int = 3) -> str:
    """Rule ``i`` of a generated pack: four shapes, all but the first with a join."""
    head = f"  - id: r-{i}\n    title: Rule {i}\n    severity: warning\n    rationale: Generated.\n    violation:\n"
    shape = i % 4
    if shape == 0:  # the email is sent 10 hours after the interview ends: late only if i % 20 < 10
        when = (
            "      - {fact: interview, as: i}\n"
            f"      - {{fact: email, as: e, where: {{about: i.key, at: {{after: i.start + {i % 20}h}}}}}}\n"
        )
        subject = "e.key"
    elif shape == 1:
        when = "      - {fact: interview, as: i, where: {company: Acme}}\n      - {none: note, where: {about: i.key}}\n"
        subject = "i.key"
    elif shape == 2:  # the list ends with the email's subject
        values = ", ".join([*(f"v{i}-{k}" for k in range(in_values - 1)), "Thanks"])
        when = (
            f"      - {{fact: email, as: e, where: {{direction: sent, subject: {{in: [{values}]}}}}}}\n"
            "      - {fact: to, as: r, where: {event: e.key}}\n"
        )
        subject = "e.key"
    else:
        when = (
            "      - {fact: person, as: p, where: {role: interviewer}}\n"
            "      - {fact: met, as: m, where: {person: p.person}}\n"
        )
        subject = "m.interview"
    return head + "      when:\n" + when + f"      subject: {subject}\n      message: Rule {i} fired.\n"


def hist(text: str, as_of: datetime) -> History:
    return parse_history(yaml.safe_load(text), {}, "h.yaml", as_of)


def expected(rules: range) -> set[str]:
    return {f"r-{i}" for i in rules if not (i % 4 == 0 and i % 20 >= 10)}


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FOLLOWUP, *args], capture_output=True, text=True, timeout=timeout)


def audit_rules(tmp_path: Path, pack_text: str, engine: str) -> set[str]:
    (tmp_path / "p.yaml").write_text(pack_text)
    (tmp_path / "h.yaml").write_text(HISTORY)
    done = run(
        "audit",
        str(tmp_path / "h.yaml"),
        "--pack",
        str(tmp_path / "p.yaml"),
        "--engine",
        engine,
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--fail-on",
        "never",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [history] = json.loads(done.stdout)["histories"]
    rules = [f["rule"] for f in history["findings"]]
    assert len(rules) == len(set(rules)), "each generated rule fires once on this history"
    return set(rules)


# -- large packs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["durable", "reference"])
@pytest.mark.parametrize("size", [200, 1000])
def test_large_packs_audit_with_the_right_findings(tmp_path: Path, engine: str, size: int) -> None:
    pack = HEAD + "".join(rule(i) for i in range(size))
    assert audit_rules(tmp_path, pack, engine) == expected(range(size))


def test_a_large_pack_is_spread_over_rulesets_within_the_bounds(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(HEAD + "".join(rule(i) for i in range(200)))
    compiled = compile_pack(load_pack(str(tmp_path / "p.yaml")))
    assert len(compiled.partitions) > 1
    assert sorted(n for part in compiled.partitions for n in part) == sorted(compiled.rules)
    for part in compiled.partitions:
        costs = [enginelimits.rule_cost(n, compiled.ruleset[n]["all"]) for n in part]
        assert len(part) <= enginelimits.MAX_RULES_PER_RULESET
        for kind in {k for c in costs for k in c.patterns}:
            assert sum(c.patterns.get(kind, 0) for c in costs) <= enginelimits.MAX_PATTERNS_PER_TYPE


def test_rules_split_one_per_ruleset_find_what_one_ruleset_finds() -> None:
    """The default pack's derived facts cross strata: each ruleset must see every derived fact."""
    pack = load_pack("interview-follow-up")
    whole = compile_pack(pack)
    assert len(whole.partitions) == 1
    split = dataclasses.replace(whole, name=whole.name + "-split", partitions=tuple((n,) for n in whole.rules))
    root = Path(__file__).resolve().parents[1]
    as_of = datetime(2026, 11, 25, 12, tzinfo=UTC)
    one, many = DurableBackend(whole), DurableBackend(split)
    try:
        for name in ("jane.yaml", "struggling.yaml", "upcoming.yaml"):
            history = hist((root / "examples" / name).read_text(), as_of)
            facts = history_facts(history, Auditor.for_pack(pack).patterns)
            key = lambda fs: sorted((f.rule, json.dumps(f.bindings, sort_keys=True)) for f in fs)  # noqa: E731
            found = key(one.run(facts, as_of.timestamp()))
            assert found, name
            assert key(many.run(facts, as_of.timestamp())) == found
    finally:
        one.close()
        many.close()


def test_a_rule_with_65_patterns_is_refused_located(tmp_path: Path) -> None:
    nones = "".join(f"        - {{none: email, where: {{about: i.key, subject: s{k}}}}}\n" for k in range(65))
    text = (
        "pack: p\nrules:\n  - id: wide\n    title: W\n    severity: warning\n    rationale: x.\n    violation:\n"
        "      when:\n        - {fact: interview, as: i}\n" + nones + "      subject: i.key\n      message: m\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    done = run("pack", "validate", str(tmp_path / "p.yaml"), timeout=120)
    assert done.returncode == 1
    assert done.stdout.startswith(
        f"{tmp_path / 'p.yaml'}:8:7: rule 'wide' cannot run in the engine: it has 65 patterns"
    )
    assert f"at most {enginelimits.MAX_PATTERNS_PER_TYPE}" in done.stdout
    audit = run("audit", "--pack", str(tmp_path / "p.yaml"), "-", timeout=120)
    assert audit.returncode == 2 and "Traceback" not in audit.stderr and "cannot run in the engine" in audit.stderr


def test_validate_locates_a_rule_the_engine_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the compiler's bound missing, the engine trial would still refuse the rule, at the rule."""
    monkeypatch.setattr(enginelimits, "MAX_PATTERNS_PER_TYPE", 10_000)
    nones = "".join(f"        - {{none: email, where: {{about: i.key, subject: s{k}}}}}\n" for k in range(65))
    text = (
        "pack: p\nrules:\n  - id: wide\n    title: W\n    severity: warning\n    rationale: x.\n    violation:\n"
        "      when:\n        - {fact: interview, as: i}\n" + nones + "      subject: i.key\n      message: m\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    [problem] = check_pack(str(tmp_path / "p.yaml")).problems
    assert (problem.line, problem.column) == (3, 5)
    assert problem.message.startswith("rule 'wide' cannot run in the engine: ")
    assert "error code: 303" in problem.message and "at most 64" in problem.message


def test_a_match_of_more_facts_than_the_engine_binds_is_refused(tmp_path: Path) -> None:
    emails = "".join(f"        - {{fact: email, as: e{k}, where: {{about: i.key}}}}\n" for k in range(15))
    text = (
        "pack: p\nrules:\n  - id: many\n    title: M\n    severity: warning\n    rationale: x.\n    violation:\n"
        "      when:\n        - {fact: interview, as: i}\n" + emails + "      subject: i.key\n      message: m\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    [problem] = check_pack(str(tmp_path / "p.yaml")).problems
    assert (problem.line, problem.column) == (8, 7)
    assert "matches 16 facts at once" in problem.message and "at most 15" in problem.message


def test_the_engine_trial_catches_what_the_compiler_let_through(tmp_path: Path) -> None:
    """Validate builds the pack in durable_rules: 70 join rules forced into one ruleset fail there."""
    (tmp_path / "p.yaml").write_text(HEAD + "".join(rule(4 * i) for i in range(70)))
    compiled = compile_pack(load_pack(str(tmp_path / "p.yaml")))
    assert len(compiled.partitions) == 2 and trial(compiled) is None
    together = dataclasses.replace(compiled, name=compiled.name + "-one", partitions=(tuple(compiled.rules),))
    failed = trial(together)
    assert failed is not None
    assert failed[0] is None and "error code: 303" in failed[1] and "MAX_STACK_SIZE" in failed[1]


def test_validate_reports_an_engine_refusal_at_the_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enginelimits, "MAX_PATTERNS_PER_TYPE", 10_000)  # the compiler no longer splits
    (tmp_path / "p.yaml").write_text(HEAD + "".join(rule(4 * i) for i in range(70)))
    [problem] = check_pack(str(tmp_path / "p.yaml")).problems
    assert (problem.source, problem.line) == (str(tmp_path / "p.yaml"), 1)
    assert problem.message.startswith("the pack's rules together are more than the engine can hold")


# -- long in: lists -----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["durable", "reference"])
@pytest.mark.parametrize("values", [16, 17, 500, 1000])
def test_long_in_lists_audit_with_the_right_findings(tmp_path: Path, engine: str, values: int) -> None:
    pack = HEAD + "".join(rule(i, values) for i in range(8))
    assert audit_rules(tmp_path, pack, engine) == expected(range(8))


def test_a_long_in_list_becomes_a_membership_flag(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(HEAD + rule(2, 1000) + rule(6, 3))
    compiled = compile_pack(load_pack(str(tmp_path / "p.yaml")))
    [(flag, membership)] = compiled.memberships.items()
    assert (membership.fact, membership.field, len(membership.values)) == ("email", "subject", 1000)
    tests = compiled.ruleset["r-2:violation:0"]["all"][1]["e"]["$and"]
    assert {flag: True} in tests and not any("$or" in t for t in tests)
    short = compiled.ruleset["r-6:violation:0"]["all"][1]["e"]["$and"]
    assert any("$or" in t for t in short)  # a short list stays a plain disjunction


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_membership_is_exact_and_works_in_absence(engine: str, tmp_path: Path) -> None:
    """Values outside the list, and a number for its text, never match; `none` with a long list."""
    values = ", ".join([*(f"a{k}" for k in range(40)), "Thanks"])
    text = f"""pack: p
rules:
  - id: no-listed-email
    title: T
    severity: warning
    rationale: x.
    violation:
      when:
        - {{fact: interview, as: i}}
        - {{none: email, where: {{about: i.key, subject: {{in: [{values}]}}}}}}
      subject: i.key
      message: m
  - id: listed-email
    title: T
    severity: warning
    rationale: x.
    violation:
      when:
        - {{fact: email, as: e, where: {{subject: {{in: [{values.replace("Thanks", "7")}]}}}}}}
      subject: e.key
      message: m
"""
    (tmp_path / "p.yaml").write_text(text)
    compiled = compile_pack(load_pack(str(tmp_path / "p.yaml")))
    assert len(compiled.memberships) == 2
    backend = get_backend(engine, compiled)
    as_of = datetime(2026, 11, 20, tzinfo=UTC)
    history = hist(HISTORY, as_of)
    facts = history_facts(history, Auditor.for_pack("interview-follow-up").patterns)
    assert [f.rule for f in backend.run(facts, as_of.timestamp())] == []  # "Thanks" is listed: no absence
    other = hist(HISTORY.replace("subject: Thanks", "subject: '7'"), as_of)
    fired = {f.rule for f in backend.run(history_facts(other, Auditor.for_pack("interview-follow-up").patterns), 0)}
    assert fired == {"no-listed-email:violation:0"}  # the text '7' is not the number 7 the list holds


# -- filters, durations -----------------------------------------------------------------------------


def one_rule(message: str, when: str = "        - {fact: interview, as: i}\n", params: str = "") -> str:
    return (
        f"pack: p\n{params}rules:\n  - id: r\n    title: T\n    severity: warning\n    rationale: x.\n"
        f'    violation:\n      when:\n{when}      subject: i.key\n      message: "{message}"\n'
    )


def problems_of(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "p.yaml").write_text(text)
    return [str(p) for p in check_pack(str(tmp_path / "p.yaml")).problems]


def test_a_time_filter_on_text_is_an_error_at_the_message(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, one_rule("Sent {i.key|time}."))
    assert problem.startswith(f"{tmp_path / 'p.yaml'}:11:16: rule 'r': message: {{i.key|time}}: i.key is text, ")
    assert "the `time` filter cannot show" in problem
    assert "time, date and duration show a number" in problem and "missing shows a whole match" in problem


@pytest.mark.parametrize(
    ("placeholder", "wrong"),
    [
        ("{i|date}", "i is a whole fact"),
        ("{i.at|missing:thanks}", "i.at is a number"),
        ("{i}", "i is a whole fact, not a value to show"),
        ("{i.company|duration}", "i.company is text"),
    ],
)
def test_filters_that_do_not_fit_the_value(tmp_path: Path, placeholder: str, wrong: str) -> None:
    [problem] = problems_of(tmp_path, one_rule(placeholder))
    assert wrong in problem


def test_filters_that_fit(tmp_path: Path) -> None:
    text = one_rule(
        "{i.at|time} {i.start + 2h|date} {asof.at - i.at|duration} {i.company|words} {i.names} {e|missing:thanks,fit}",
        when="        - {fact: interview, as: i}\n        - {fact: email, as: e, where: {about: i.key}}\n",
    )
    assert problems_of(tmp_path, text) == []


def test_a_derived_field_has_the_kind_of_what_sets_it(tmp_path: Path) -> None:
    text = one_rule(
        "{t.at|time} {t.email|time}", when="        - {fact: interview, as: i}\n        - {fact: thank_you, as: t}\n"
    )
    text = text.replace(
        "rules:",
        "derive:\n  - fact: thank_you\n    when: [{fact: email, as: e}]\n    set: {email: e.key, at: e.at + 1h}\nrules:",
    )
    [problem] = problems_of(tmp_path, text)
    assert "{t.email|time}: t.email is text" in problem


def test_a_duration_past_100_years_is_refused_with_the_bound(tmp_path: Path) -> None:
    text = "pack: p\nextends: interview-follow-up\nparams:\n  thank_you_within: 99999999999w\n"
    [problem] = problems_of(tmp_path, text)
    assert problem.startswith(f"{tmp_path / 'p.yaml'}:4:21: parameter 'thank_you_within': '99999999999w' is longer")
    assert "100 years (36524d" in problem
    assert problems_of(tmp_path, text.replace("99999999999w", "5217w")) == []


def test_huge_numbers_in_params_and_expressions_are_refused_briefly(tmp_path: Path) -> None:
    digits = "9" * 100_000  # (the YAML loader's own message about such a number is not the pack's)
    found = problems_of(
        tmp_path, "pack: p\nextends: interview-follow-up\nparams:\n  max_check_ins: 99999999999999999999999\n"
    )
    found += problems_of(
        tmp_path,
        one_rule("m", when=f"        - {{fact: interview, as: i, where: {{at: {{after: i.start + {digits}d}}}}}}\n"),
    )
    assert len(found) == 2 and all(len(p) < 400 for p in found), found
    assert "larger than the largest number a pack may use" in found[0]
    assert "longer than the longest duration" in found[1]


# -- extends --------------------------------------------------------------------------------------------


SECRET = "SECRET_TOKEN=hunter2-do-not-print"


@pytest.mark.parametrize(
    ("target", "content", "message"),
    [
        (
            "../../secret.env",
            SECRET,
            "`extends` names a built-in pack or a .yaml/.yml pack file, not '../../secret.env'",
        ),
        ("ABSOLUTE/secret.yaml", SECRET, "secret.yaml is not a rule pack"),
        ("../../config.yml", f"token: {SECRET}\n", "config.yml is not a rule pack"),
        ("/etc/passwd", "", "not '/etc/passwd'"),
    ],
)
def test_extends_never_shows_a_file(tmp_path: Path, target: str, content: str, message: str) -> None:
    name = target.rsplit("/", 1)[-1]
    if content:
        (tmp_path / name).write_text(content)
    target = target.replace("ABSOLUTE", str(tmp_path))
    pack = tmp_path / "a" / "b" / "p.yaml"
    pack.parent.mkdir(parents=True)
    pack.write_text(f"pack: p\nextends: {target}\n")
    (tmp_path / "h.yaml").write_text(HISTORY)
    for done in (
        run("pack", "validate", str(pack), timeout=120),
        run("pack", "show", str(pack), timeout=120),
        run("audit", "--pack", str(pack), str(tmp_path / "h.yaml"), timeout=120),
    ):
        assert done.returncode in (1, 2)
        output = done.stdout + done.stderr
        assert "hunter2" not in output and "SECRET" not in output and "root:" not in output
        assert f"{pack}:2:10: " in output and message in output and "Traceback" not in output


def test_a_yaml_pack_outside_the_folder_can_be_extended(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "base.yaml"
    shared.parent.mkdir()
    shared.write_text(HEAD + rule(1))
    pack = tmp_path / "team" / "p.yaml"
    pack.parent.mkdir()
    for ref in (str(shared), "../shared/base.yaml"):
        pack.write_text(f"pack: team\nextends: {ref}\n")
        assert check_pack(str(pack)).ok


def chain(tmp_path: Path, length: int) -> Path:
    for i in range(length):
        nxt = f"extends: p{i + 1}.yaml\n" if i < length - 1 else ""
        (tmp_path / f"p{i}.yaml").write_text(f"pack: p{i}\n{nxt}" + ("" if nxt else "rules: []\n"))
    return tmp_path / "p0.yaml"


def test_an_extends_chain_at_the_limit_loads(tmp_path: Path) -> None:
    result = check_pack(str(chain(tmp_path, MAX_EXTENDS_DEPTH)))
    assert result.ok and len(result.layers) == MAX_EXTENDS_DEPTH


def test_a_1500_deep_extends_chain_is_refused_at_the_limit(tmp_path: Path) -> None:
    done = run("pack", "validate", str(chain(tmp_path, 1500)), timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    last = tmp_path / f"p{MAX_EXTENDS_DEPTH - 1}.yaml"
    assert done.stdout == (
        f"{last}:2:10: the `extends` chain is too deep: this pack is number {MAX_EXTENDS_DEPTH} in it, and a chain "
        f"holds at most {MAX_EXTENDS_DEPTH} packs (the pack named first included)\n"
    )


def test_a_cycle_is_still_located(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("pack: a\nextends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("pack: b\nextends: a.yaml\n")
    [problem] = check_pack(str(tmp_path / "a.yaml")).problems
    assert str(problem) == f"{tmp_path / 'b.yaml'}:2:10: packs extend each other in a cycle: a.yaml -> b.yaml -> a.yaml"


def test_load_pack_raises_input_errors_only(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(one_rule("{i.key|time}"))
    with pytest.raises(InputError):
        load_pack(str(tmp_path / "p.yaml"))
