"""``followup pack list|validate|test|show|docs`` and ``followup explain``."""

from __future__ import annotations

import sys

import click

from .audit import Auditor
from .compiler import compile_pack
from .errors import InputError
from .pack import DEFAULT_PACK, builtin_packs, load_pack
from .packmodel import Pack, Rule


@click.group()
def pack() -> None:
    """Work with rule packs: list, validate, test, show, document."""


@pack.command("list")
def pack_list() -> None:
    """List the built-in packs."""
    for name in sorted(builtin_packs()):
        loaded = load_pack(name)
        click.echo(f"{name}  {loaded.version}  {len(loaded.rules)} rules  {loaded.description.strip()}")


@pack.command()
@click.argument("packs", nargs=-1, required=True, metavar="PACK...")
def validate(packs: tuple[str, ...]) -> None:
    """Check packs against the schema and for semantic errors; errors as file:line:col: message.

    Exit 0 when every pack is valid, 1 when one is not.
    """
    bad = 0
    for ref in packs:
        try:
            compile_pack(load_pack(ref))
        except InputError as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(str(problem))
            continue
        click.echo(f"{ref}: valid")
    sys.exit(1 if bad else 0)


@pack.command()
@click.argument("packs", nargs=-1, required=True, metavar="PACK...")
def test(packs: tuple[str, ...]) -> None:
    """Run each pack's own tests (the examples of its rules); exit 1 on any failure."""
    from .packtest import all_examples, run_example

    failed = ran = 0
    for ref in packs:
        loaded = load_pack(ref)
        auditor = Auditor.for_pack(loaded)
        for example in all_examples(loaded):
            result = run_example(auditor, loaded, example)
            ran += 1
            status = "PASS" if result.passed else "FAIL"
            click.echo(f"{status} {example.rule or '-'}: {example.name}")
            for failure in result.failures:
                failed += 0
                click.echo(f"     {failure}")
            failed += not result.passed
    click.echo(f"{ran - failed} passed, {failed} failed")
    if ran == 0:
        click.echo("no test ran: a pack must carry tests", err=True)
    sys.exit(1 if failed or ran == 0 else 0)


@pack.command()
@click.argument("ref", metavar="PACK")
def show(ref: str) -> None:
    """Print the resolved pack after extends and overrides."""
    loaded = load_pack(ref)
    click.echo(f"pack: {loaded.name}  version {loaded.version}")
    if loaded.extends:
        click.echo(f"extends: {' -> '.join(loaded.extends)}")
    click.echo("params:")
    for p in loaded.params.values():
        click.echo(f"  {p.name}: {p.value}")
    click.echo("rules:")
    for rule in loaded.rules:
        state = "" if rule.enabled else "  (disabled)"
        click.echo(f"  {rule.id}: {', '.join(rule.kinds)}, severity {rule.severity}{state}")


@pack.command()
@click.argument("ref", metavar="PACK")
def docs(ref: str) -> None:
    """Print a Markdown reference of a pack's rules."""
    loaded = load_pack(ref)
    click.echo(f"# Pack `{loaded.name}` {loaded.version}\n\n{loaded.description.strip()}\n")
    for rule in loaded.rules:
        click.echo(_rule_markdown(loaded, rule))


def _rule_markdown(loaded: Pack, rule: Rule) -> str:
    lines = [f"## `{rule.id}`: {rule.title}", "", f"**Kind:** {', '.join(rule.kinds)} · **Severity:** {rule.severity}", "",
             "### Why", "", rule.rationale, ""]
    for check in rule.checks:
        lines += [f"### {check.kind.replace('_', ' ').capitalize()}", "", f"Message: {check.message}", ""]
        if check.due:
            lines += [f"Due: `{check.due}`", ""]
    return "\n".join(lines)


@click.command()
@click.argument("rule_id")
@click.option("--pack", "ref", default=DEFAULT_PACK, show_default=True, metavar="NAME|PATH")
def explain(rule_id: str, ref: str) -> None:
    """Show a rule's title, rationale, parameters and condition."""
    import difflib

    loaded = load_pack(ref)
    rule = loaded.rule(rule_id)
    if rule is None:
        hint = difflib.get_close_matches(rule_id, [r.id for r in loaded.rules], n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else ""
        raise click.UsageError(f"no rule {rule_id!r} in pack {loaded.name!r}{tip}")
    click.echo(_rule_markdown(loaded, rule))
