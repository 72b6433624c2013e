"""``followup pack list|validate|test|show|docs`` and ``followup explain``.

Exit codes: ``validate`` 0 valid, 1 invalid, 2 usage (no such pack); ``test`` 0 all passed, 1 a
failure (or no test ran, or coverage below ``--min-coverage``, or a boundary check failed), 2 an
invalid or missing pack; the others 0, or 2 for an invalid or missing pack or unknown rule.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import NoReturn

import click

from .audit import Auditor
from .errors import Problem
from .pack import (
    DEFAULT_PACK,
    PackCheck,
    PackNotFoundError,
    builtin_packs,
    check_pack,
    is_tests_file,
    pack_of_tests_file,
)
from .packmodel import Check, Example, Pack, Param, Pattern, Rule, Where
from .packtest import ExampleResult, PackRun, behaviour, check_boundaries, plan, run_example, run_tests

KIND_WORDS = {"violation": "violation", "next_step": "next step"}
OP_WORDS = {"after": "after", "before": "before", "at_or_after": "at or after", "at_or_before": "at or before"}


def _fail(problems: Iterable[Problem]) -> NoReturn:
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(2)


def _checked(ref: str, *, tests: bool = False) -> PackCheck:
    """A valid pack, or its problems on stderr and exit 2."""
    try:
        result = check_pack(ref, tests=tests, examples=False)
    except PackNotFoundError as exc:
        _fail(exc.problems)
    if result.problems or result.pack is None:
        _fail(result.problems)
    return result


@click.group()
def pack() -> None:
    """Work with rule packs: list, validate, test, show, document."""


@pack.command("list")
def pack_list() -> None:
    """List the built-in packs."""
    for name in sorted(builtin_packs()):
        try:
            loaded = check_pack(name, tests=False, examples=False)
        except PackNotFoundError:  # pragma: no cover - listed packs exist
            continue
        if loaded.pack is None or loaded.problems:
            click.echo(f"{name}  (invalid: run `followup pack validate {name}`)")
            continue
        p = loaded.pack
        enabled = len(p.active_rules)
        click.echo(f"{name}  {p.version}  {enabled} rules  {' '.join(p.description.split())}")


# -- validate -------------------------------------------------------------------------------------


@pack.command()
@click.argument("packs", nargs=-1, required=True, metavar="PACK...")
def validate(packs: tuple[str, ...]) -> None:
    """Check packs (and their tests files) against the schema and for semantic errors.

    Each problem is printed as file:line:col: message. A PACK is a built-in pack's name or a
    file; a *.tests.yaml file is checked with the pack beside it.

    \b
    Exit codes: 0 every pack is valid, 1 one is not, 2 a PACK does not exist.
    """
    bad = missing = 0
    refs = list(dict.fromkeys(pack_of_tests_file(r) if is_tests_file(r) else r for r in packs))
    for ref in refs:
        try:
            result = check_pack(ref, tests=True, examples=True)
        except PackNotFoundError as exc:
            missing += 1
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        if result.problems or result.pack is None:
            bad += 1
            for problem in result.problems:
                click.echo(str(problem))
            continue
        p = result.pack
        examples = sum(len(r.examples) for r in p.rules)
        click.echo(f"{ref}: valid ({len(p.rules)} rules, {examples} examples, {len(p.tests)} tests)")
    sys.exit(2 if missing else 1 if bad else 0)


# -- test -----------------------------------------------------------------------------------------


@pack.command()
@click.argument("packs", nargs=-1, required=True, metavar="PACK...")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail when tests cover less than PERCENT of the (rule, kind) pairs of enabled rules.",
)
@click.option(
    "--boundaries",
    is_flag=True,
    help="Also check every time window of the pack one second either side of its boundary.",
)
def test(packs: tuple[str, ...], min_coverage: float | None, boundaries: bool) -> None:
    """Run each pack's own tests: its rules' examples and its PACK.tests.yaml file.

    A *.tests.yaml file given as PACK runs the tests of the pack beside it. Prints a line per
    test, a diff for each failure, and which rules and kinds no test covers.

    \b
    Exit codes: 0 all passed; 1 a test failed, no test ran, coverage is below
    --min-coverage or a boundary check failed; 2 a PACK is missing or invalid.
    """
    failing = False
    packs = tuple(dict.fromkeys(pack_of_tests_file(r) if is_tests_file(r) else r for r in packs))
    for index, ref in enumerate(packs):
        result = _checked(ref, tests=True)
        assert result.pack is not None
        if len(packs) > 1:
            click.echo(("\n" if index else "") + f"== {result.pack.name} ({ref})")
        auditor = Auditor.for_pack(result.pack)
        run = run_tests(result.layers, auditor, result.positions)
        _print_run(run)
        failing |= run.failed > 0 or run.ran == 0
        if min_coverage is not None and run.coverage.percent < min_coverage:
            click.echo(f"coverage {run.coverage.percent:.1f}% is below --min-coverage {min_coverage:g}%")
            failing = True
        if boundaries:
            failing |= _print_boundaries(run, auditor)
    sys.exit(1 if failing else 0)


def _print_run(run: PackRun) -> None:
    width = max((len(r.case.label) for r in run.results), default=0)
    for r in run.results:
        example = r.case.example
        where = f"{example.loc.source}:{example.loc.line}"
        status = r.status.upper()
        click.echo(f"{status}  {r.case.label:<{width}}  {example.name or '(unnamed)'}  {where}")
        if r.status == "skip":
            click.echo(f"      {r.case.skip}")
        for line in r.failures:
            click.echo(f"      {line}")
    cov = run.coverage
    covered = len(cov.targets) - len(cov.missing)
    click.echo(
        f"coverage: {covered}/{len(cov.targets)} rule kinds ({cov.percent:.0f}%) of {len(cov.rules)} enabled rules"
    )
    for rule in cov.untested_rules:
        click.echo(f"  rule with no passing test: {rule}")
    for rule, kind in cov.missing:
        if rule not in cov.untested_rules:
            click.echo(f"  not covered: {rule} {KIND_WORDS[kind]}")
    passed = run.ran - run.failed
    click.echo(f"{passed} passed, {run.failed} failed, {run.skipped} skipped")
    if run.ran == 0:
        click.echo(f"no test ran: pack {run.pack.name!r} must carry tests (rule examples or a *.tests.yaml file)")


def _print_boundaries(run: PackRun, auditor: Auditor) -> bool:
    results = check_boundaries(run, auditor)
    click.echo("boundaries: each time window, its deciding event moved to 1s before, onto, and 1s after the boundary")
    for b in results:
        label = {"pass": "PASS", "fail": "FAIL", "unchecked": "NOT CHECKED"}[b.status]
        w = b.window
        click.echo(f"{label}  {w.rule} ({KIND_WORDS[w.kind]}): {w.describe()}")
        if b.example is not None:
            click.echo(f"      example {b.example.name!r} ({b.example.loc.source}:{b.example.loc.line}): {b.detail}")
        else:
            click.echo(f"      {b.detail}")
    if not results:
        click.echo("  the pack has no time windows")
    checked = sum(b.status != "unchecked" for b in results)
    failed = sum(b.status == "fail" for b in results)
    click.echo(f"{checked} boundary checks, {failed} failed, {len(results) - checked} windows not checked")
    return failed > 0


# -- rendering rules for people -------------------------------------------------------------------


def _value(pack: Pack, text: str) -> str:
    """An expression with the audit time named and parameter values shown."""
    out = text.replace("asof.at", "the audit time")
    for name, param in pack.params.items():
        out = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w.])", f"{name} ({param.value})", out)
    return out


def _test_words(pack: Pack, w: Where) -> str:
    if w.op == "eq":
        return f"{w.field} is {_scalar(w.value)}"
    if w.op == "not":
        return f"{w.field} is not {_scalar(w.value)}"
    if w.op == "in":
        values = [str(v) for v in w.value]  # type: ignore[attr-defined]
        return (
            f"{w.field} is {', '.join(values[:-1])} or {values[-1]}" if len(values) > 1 else f"{w.field} is {values[0]}"
        )
    if w.op == "exists":
        return f"has {'a' if w.value else 'no'} {w.field}"
    return f"{w.field} is {OP_WORDS[w.op]} {_value(pack, str(w.value))}"


def _pattern_words(pack: Pack, p: Pattern) -> str:
    article = "an" if p.fact[0] in "aeiou" else "a"
    head = f"no `{p.fact}`" if p.negated else f"{article} `{p.fact}`"
    if p.alias:
        head += f" ({p.alias})"
    if p.nth:
        head = f"the `{p.fact}` ({p.alias or '-'}) number {_value(pack, p.nth)} in time order"
    tests = [_test_words(pack, w) for w in p.where]
    return head + (" whose " + ", ".join(tests) if tests else "")


def condition_lines(pack: Pack, check: Check, indent: str = "") -> list[str]:
    """A check's condition in words, one pattern a line."""
    lines = []
    if len(check.branches) == 1:
        lines.append(f"{indent}{KIND_WORDS[check.kind].capitalize()} when all of:")
        lines.extend(f"{indent}  - {_pattern_words(pack, p)}" for p in check.branches[0])
    else:
        lines.append(f"{indent}{KIND_WORDS[check.kind].capitalize()} when any of:")
        for i, branch in enumerate(check.branches, 1):
            lines.append(f"{indent}  {i}. all of:")
            lines.extend(f"{indent}     - {_pattern_words(pack, p)}" for p in branch)
    details = [f"subject: {check.subject}"]
    if check.person:
        details.append(f"person: {check.person}")
    if check.due:
        details.append(f"due: {_value(pack, check.due)}")
    lines.append(f"{indent}  ({'; '.join(details)})")
    lines.append(f"{indent}  message: {check.message}")
    return lines


def _params_of(pack: Pack, rule: Rule) -> list[Param]:
    used = behaviour(pack, rule.id)
    return [pack.params[n] for n in (used.params if used else {})]


def _kinds(rule: Rule) -> str:
    return ", ".join(
        f"violation (severity {rule.severity})" if k == "violation" else "next step (info)" for k in rule.kinds
    )


# -- show -----------------------------------------------------------------------------------------


_PLAIN = re.compile(r"^(?:[A-Za-z_][\w.+\- ]*|\d+[smhdw])$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(value: object) -> str:
    """A YAML scalar that reads back as ``value`` (plain when safe, else JSON-quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) or value is None:
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value: object) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _pattern_data(p: Pattern) -> dict[str, object]:
    data: dict[str, object] = {"none" if p.negated else "fact": p.fact}
    if p.alias:
        data["as"] = p.alias
    if p.nth:
        data["nth"] = p.nth
    where: dict[str, object] = {}
    for w in p.where:
        if w.op == "eq":
            where[w.field] = w.value
        else:
            tests = where.setdefault(w.field, {})
            assert isinstance(tests, dict)
            tests[w.op] = list(w.value) if w.op == "in" else w.value  # type: ignore[call-overload]
    if where:
        data["where"] = where
    return data


class _Lines:
    """YAML-ish lines with the origin of each value as an aligned comment."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, text: str, origin: str = "") -> None:
        self.rows.append((text, origin))

    def render(self) -> str:
        width = min(max((len(t) for t, o in self.rows if o), default=0), 72)
        return "\n".join(f"{t:<{width}}  # {o}" if o else t for t, o in self.rows)


def _was(layers: Sequence[Pack], origin: str, current: object, get: object) -> str:
    """`` (was X in P)``: the value before the pack ``origin`` changed it."""
    names = [layer.name for layer in layers]
    if origin not in names or names.index(origin) == 0:
        return ""
    before = layers[names.index(origin) - 1]
    assert callable(get)
    old = get(before)
    return "" if old is None or old == current else f" (was {_scalar(old)} in {before.name})"


@pack.command()
@click.argument("ref", metavar="PACK")
def show(ref: str) -> None:
    """Print the resolved pack after extends and overrides, and which pack set each value.

    The output is YAML; the comment after each value names the pack it comes from.
    """
    result = _checked(ref, tests=True)
    layers, p = result.layers, result.layers[-1]
    out = _Lines()
    chain = " -> ".join([p.name, *p.extends])
    out.add(f"# The pack {p.name!r} as `followup audit --pack {ref}` uses it ({chain}).")
    out.add("# After each value: the pack that set it.")
    out.add(f"pack: {_scalar(p.name)}", p.source)
    out.add(f"version: {json.dumps(p.version)}", p.name)
    if p.extends:
        out.add(f"extends: {_flow(list(p.extends))}", "nearest first")
    out.add(f"description: {_scalar(' '.join(p.description.split()))}")
    out.add("params:")
    for param in p.params.values():
        was = _was(
            layers,
            param.origin,
            param.value,
            lambda layer, n=param.name: layer.params[n].value if n in layer.params else None,
        )
        out.add(f"  {param.name}: {_scalar(param.value)}", f"{param.origin}{was}")
    out.add("patterns:")
    for name, items in p.patterns.items():
        out.add(f"  {name}: {_flow(list(items))}", _layer_of(layers, lambda layer, n=name: layer.patterns.get(n)))
    out.add("derive:")
    for i, d in enumerate(p.derivations):
        home = next((layer.name for layer in layers if len(layer.derivations) > i), p.name)
        out.add(f"  - fact: {d.fact}", home)
        out.add(f"    when: {_flow([_pattern_data(x) for x in d.when])}")
        out.add(f"    set: {_flow(dict(d.set))}")
    out.add("rules:")
    for rule in p.rules:
        _show_rule(out, layers, rule)
    if p.tests:
        out.add(f"# tests: {len(p.tests)} in {', '.join(dict.fromkeys(t.loc.source for t in p.tests))}")
    click.echo(out.render())


def _layer_of(layers: Sequence[Pack], get: object) -> str:
    """The last pack of the chain that changed a value (``get`` reads it from a layer)."""
    assert callable(get)
    origin = layers[0].name
    for before, after in itertools.pairwise(layers):
        if get(after) != get(before):
            origin = after.name
    return origin


def _show_rule(out: _Lines, layers: Sequence[Pack], rule: Rule) -> None:
    home = rule.origin.get("id", layers[-1].name)

    def field_origin(key: str, current: object, get: object) -> str:
        origin = rule.origin.get(key, home)
        return origin + _was(layers, origin, current, get)

    def previous(attr: str) -> object:
        return lambda layer: getattr(layer.rule(rule.id), attr, None) if layer.rule(rule.id) else None

    out.add(f"  - id: {rule.id}", home)
    out.add(f"    title: {_scalar(rule.title)}", field_origin("title", rule.title, previous("title")))
    out.add(f"    severity: {rule.severity}", field_origin("severity", rule.severity, previous("severity")))
    out.add(f"    enabled: {_scalar(rule.enabled)}", field_origin("enabled", rule.enabled, previous("enabled")))
    out.add(f"    rationale: {_scalar(rule.rationale)}", home)
    for check in rule.checks:
        out.add(f"    {check.kind}:", home)
        if len(check.branches) == 1:
            out.add("      when:")
            for x in check.branches[0]:
                out.add(f"        - {_flow(_pattern_data(x))}")
        else:
            out.add("      when:")
            out.add("        any:")
            for branch in check.branches:
                out.add(f"          - {_flow([_pattern_data(x) for x in branch])}")
        out.add(f"      subject: {_scalar(check.subject)}")
        if check.person:
            out.add(f"      person: {_scalar(check.person)}")
        if check.due:
            out.add(f"      due: {_scalar(check.due)}")
        out.add(f"      message: {_scalar(check.message)}", rule.origin.get("message", home))
    if rule.examples:
        out.add(f"    # examples: {len(rule.examples)}, written for {home}")


# -- docs -----------------------------------------------------------------------------------------


@pack.command()
@click.argument("ref", metavar="PACK")
def docs(ref: str) -> None:
    """Print a Markdown reference of a pack's rules: what each checks, why, its parameters, and
    an example history that fires it and one that does not (from the pack's examples)."""
    result = _checked(ref, tests=True)
    p = result.layers[-1]
    auditor = Auditor.for_pack(p)
    lines = [f"# Rule pack `{p.name}` {p.version}", "", " ".join(p.description.split()), ""]
    if p.extends:
        lines += [f"Extends {' → '.join(f'`{n}`' for n in p.extends)}; generated by `followup pack docs {ref}`.", ""]
    else:
        lines += [f"Generated by `followup pack docs {ref}`.", ""]
    lines += ["## Parameters", "", "| parameter | value | meaning |", "|---|---|---|"]
    lines += [f"| `{x.name}` | {x.value} | {x.description or '–'} |" for x in p.params.values()]
    lines += ["", "## Rules", "", "| rule | kinds | title |", "|---|---|---|"]
    for rule in p.rules:
        off = " (disabled)" if not rule.enabled else ""
        lines.append(f"| [`{rule.id}`](#{rule.id}) | {_kinds(rule)}{off} | {rule.title} |")
    lines.append("")
    # Examples an overlay changed the outcome of are not shown (see docs/pack-tests.md).
    usable = [case.example for case in plan(result.layers) if case.skip is None]
    for rule in p.rules:
        lines += _rule_markdown(p, rule, auditor, usable)
    click.echo("\n".join(lines).rstrip() + "\n")


def _rule_markdown(p: Pack, rule: Rule, auditor: Auditor, usable: Sequence[Example]) -> list[str]:
    lines = [f"## {rule.id}", "", f"**{rule.title}** · {_kinds(rule)}", ""]
    if not rule.enabled:
        lines += ["*Disabled in this pack: it is not run.*", ""]
    lines += ["### What it does", ""]
    for check in rule.checks:
        lines += ["```text", *condition_lines(p, check), "```", ""]
    lines += ["### Why", "", rule.rationale, ""]
    params = _params_of(p, rule)
    if params:
        lines += ["### Parameters", ""]
        lines += [f"- `{x.name}` = {x.value}: {x.description or 'no description'}" for x in params]
        lines.append("")
    examples = [
        e for e in usable if e.rule == rule.id or any(w.get("rule") == rule.id for w in (*e.expect, *e.expect_not))
    ]
    for kind in rule.kinds:
        fires = next(
            (e for e in examples if any(w.get("rule") == rule.id and w.get("kind", kind) == kind for w in e.expect)),
            None,
        )
        if fires is not None:
            lines += [f"### Example: a {KIND_WORDS[kind]}", "", *_example_markdown(p, rule, fires, auditor, kind)]
    quiet = next(
        (
            e
            for e in examples
            if any(w.get("rule") == rule.id for w in e.expect_not)
            and not any(w.get("rule") == rule.id for w in e.expect)
        ),
        None,
    )
    if quiet is not None:
        lines += ["### Use instead", "", *_example_markdown(p, rule, quiet, auditor, None)]
    return lines


def _example_markdown(p: Pack, rule: Rule, example: Example, auditor: Auditor, kind: str | None) -> list[str]:
    history = dict(example.history)
    lines = [
        f"*{example.name or 'example'}* ({example.loc.source}:{example.loc.line}), audited at {example.as_of}:",
        "",
        "```yaml",
    ]
    for key, value in history.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"  - {_flow(item)}" for item in value)
        else:
            lines.append(f"{key}: {_flow(value)}")
    lines += ["```", ""]
    result: ExampleResult = run_example(auditor, p, example)
    mine = [f for f in result.findings if f.rule == rule.id and (kind is None or f.kind == kind)]
    if kind is None:
        lines += [
            f"No finding of `{rule.id}`." if not mine else "(the example does not pass: run `followup pack test`)",
            "",
        ]
    else:
        for f in mine:
            due = f" (due {f.due.isoformat()})" if f.due else ""
            lines += [f"→ {KIND_WORDS[f.kind]} on `{f.subject}`{due}: {f.message}", ""]
        if not mine:
            lines += ["(the example does not pass: run `followup pack test`)", ""]
    return lines


# -- explain --------------------------------------------------------------------------------------


@click.command()
@click.argument("rule_id")
@click.option(
    "--pack", "ref", default=DEFAULT_PACK, show_default=True, metavar="NAME|PATH", help="The pack the rule is in."
)
def explain(rule_id: str, ref: str) -> None:
    """Show a rule's title, rationale, parameters and condition."""
    result = _checked(ref, tests=False)
    p = result.layers[-1]
    rule = p.rule(rule_id)
    if rule is None:
        hint = difflib.get_close_matches(rule_id, [r.id for r in p.rules], n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else f" (rules: {', '.join(r.id for r in p.rules)})"
        raise click.UsageError(f"no rule {rule_id!r} in pack {p.name!r}{tip}")
    lines = [f"{rule.id}: {rule.title}", f"  pack {p.name} {p.version}, {rule.loc.source}:{rule.loc.line}"]
    if not rule.enabled:
        lines.append("  disabled in this pack: it is not run")
    lines += [f"  {_kinds(rule)}", "", "Why:", *_wrap(rule.rationale, "  "), ""]
    params = _params_of(p, rule)
    if params:
        lines.append("Parameters:")
        width = max(len(x.name) for x in params)
        lines += [f"  {x.name:<{width}} = {x.value}  ({x.origin}) {x.description}".rstrip() for x in params]
        lines.append("")
    for check in rule.checks:
        lines += condition_lines(p, check)
        lines.append("")
    count = len(rule.examples)
    lines.append(f"Examples: {count} in the pack; run them with `followup pack test {ref}`.")
    click.echo("\n".join(lines))


def _wrap(text: str, indent: str, width: int = 96) -> list[str]:
    lines, current = [], indent
    for word in text.split():
        if len(current) + len(word) + 1 > width and current.strip():
            lines.append(current.rstrip())
            current = indent
        current += word + " "
    if current.strip():
        lines.append(current.rstrip())
    return lines


__all__ = ["condition_lines", "explain", "pack"]
