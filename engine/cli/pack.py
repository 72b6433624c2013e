"""``followup pack list|validate|test|show|docs`` and ``followup explain``.

Exit codes: ``validate`` 0 valid, 1 invalid, 2 usage (no such pack); ``test`` 0 all passed, 1 a
failure (or no test ran, or coverage below ``--min-coverage``, or a boundary check failed), 2 an
invalid or missing pack; the others 0, or 2 for an invalid or missing pack or unknown rule.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import NoReturn

import click

from ..audit.auditor import Auditor
from ..diagnostics import Problem, suggest
from ..pack.docs import KIND_WORDS, docs_markdown, explain_text, show_text
from ..pack.load import (
    DEFAULT_PACK,
    CheckedPack,
    PackNotFoundError,
    builtin_packs,
    check_pack,
    is_tests_file,
    pack_of_tests_file,
)
from ..pack.testing.boundaries import check_boundaries
from ..pack.testing.run import PackRun, run_tests


def _fail(problems: Iterable[Problem]) -> NoReturn:
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(2)


def _checked(ref: str, *, tests: bool = False) -> CheckedPack:
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
    what = "rule kinds" if all(kind in KIND_WORDS for _, kind in cov.targets) else "rule kinds and narrowings"
    click.echo(
        f"coverage: {covered}/{len(cov.targets)} {what} ({cov.percent:.0f}%) of {len(cov.rules)} enabled rules"
    )
    for rule in cov.untested_rules:
        click.echo(f"  rule with no passing test: {rule}")
    for rule, kind in cov.missing:
        if rule not in cov.untested_rules and kind in KIND_WORDS:
            click.echo(f"  not covered: {rule} {KIND_WORDS[kind]}")
        elif rule not in cov.untested_rules:
            click.echo(
                f"  not covered: {rule} {kind} (no passing test has an expect_not of the rule that only this "
                "narrowing makes hold)"
            )
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


# -- show -----------------------------------------------------------------------------------------


@pack.command()
@click.argument("ref", metavar="PACK")
def show(ref: str) -> None:
    """Print the resolved pack after extends and overrides, and which pack set each value.

    The output is YAML; the comment after each value names the pack it comes from.
    """
    result = _checked(ref, tests=True)
    click.echo(show_text(ref, result.layers))


# -- docs -----------------------------------------------------------------------------------------


@pack.command()
@click.argument("ref", metavar="PACK")
def docs(ref: str) -> None:
    """Print a Markdown reference of a pack's rules: what each checks, why, its parameters, and
    an example history that fires it and one that does not (from the pack's examples)."""
    result = _checked(ref, tests=True)
    click.echo(docs_markdown(ref, result.layers))


# -- explain --------------------------------------------------------------------------------------


@click.command()
@click.argument("rule_id")
@click.option(
    "--pack", "ref", default=DEFAULT_PACK, show_default=True, metavar="NAME|PATH", help="The pack the rule is in."
)
def explain(rule_id: str, ref: str) -> None:
    """Show a rule's title, rationale, parameters and condition."""
    result = _checked(ref, tests=True)  # its tests file's examples are counted too
    p = result.layers[-1]
    rule = p.rule(rule_id)
    if rule is None:
        ids = [r.id for r in p.rules]
        tip = suggest(rule_id, ids, otherwise=f" (rules: {', '.join(ids)})")
        raise click.UsageError(f"no rule {rule_id!r} in pack {p.name!r}{tip}")
    click.echo(explain_text(p, rule, ref))

