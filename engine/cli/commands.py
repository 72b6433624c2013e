"""The command line: ``followup audit``, ``followup pack ...``, ``followup explain``, ``followup schema``.

No input ever produces a traceback: every error is reported as ``file:line:col: message`` (or a
plain usage message) with exit code 2. Set FOLLOWUP_DEBUG=1 to see tracebacks of internal errors.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

import click

from .. import __version__
from ..diagnostics import FollowupError, InputError
from ..model import Engine
from ..report import FORMATS

FAIL_ON = ("error", "warning", "info", "never")


def parse_as_of(value: str | None) -> datetime:
    """``--as-of``: ISO 8601. Without an offset it is read on this computer's clock (its local
    time zone, daylight-saving correct), as a person at a terminal means it; a date alone is its
    local midnight. Times inside a history are read in the history's own zone instead."""
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    from ..history.instants import InstantError, check_range, leap_second, leap_second_message

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        if leap_second(value):
            raise click.BadParameter(leap_second_message(value), param_hint="--as-of") from None
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-25T12:00 or 2026-11-25T12:00-05:00"
        ) from None
    try:
        return check_range(moment if moment.tzinfo else _local(moment), value)
    except InstantError as error:
        raise click.BadParameter(str(error), param_hint="--as-of") from None


def _local(moment: datetime) -> datetime:
    try:
        return moment.astimezone()  # the C library's local zone: what `date` shows
    except (OverflowError, OSError, ValueError):
        return moment.replace(tzinfo=UTC)  # beyond the platform's clock; the range check says so


def as_of_clock(value: str | None, as_of: datetime) -> str:
    """How the report should name the clock of an ``--as-of`` without an offset ("" otherwise)."""
    if value is None or datetime.fromisoformat(value).tzinfo is not None:
        return ""
    offset = as_of.strftime("%z")
    return f"{as_of.tzname() or 'local time'}, UTC{offset[:3]}:{offset[3:]}"


def parse_max_size(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """``--max-history-size``: bytes, or with a unit (``32MiB``, ``500KiB``)."""
    from ..io.sources import parse_size

    try:
        return parse_size(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def parse_reports(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not path:
            raise click.BadParameter(f"{value!r}: write FORMAT=FILE, e.g. sarif=report.sarif", param_hint="--report")
        if name not in FORMATS:
            raise click.BadParameter(f"unknown format {name!r} (formats: {', '.join(FORMATS)})", param_hint="--report")
        out.append((name, path))
    return tuple(out)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="followup")
def cli() -> None:
    """Check a job seeker's interview follow-up against a rule pack.

    \b
    Start here:
      followup audit examples/jane.yaml      violations and next steps of one history
      followup pack list                     the built-in rule packs
      followup explain send-thank-you-email  what a rule checks and why
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--pack",
    default="interview-follow-up",
    show_default=True,
    metavar="NAME|PATH",
    help="Rule pack: a built-in name or a pack file.",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="Audit time, ISO 8601 (default: now). Without an offset it is this computer's local time; "
    "write Z or +01:00 for an exact instant.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="text",
    show_default=True,
    help="Format of the main report.",
)
@click.option("--output", "-o", metavar="FILE", help="Write the main report to FILE instead of stdout.")
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=FILE",
    help="Also write a report in FORMAT to FILE (repeatable).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="error",
    show_default=True,
    help="Exit 1 when a violation of this severity or worse is found.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker processes for batches (default: every CPU when the batch is large enough to gain from it, else 1).",
)
@click.option(
    "--waivers",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Accepted violations, with reason, approver and expiry.",
)
@click.option(
    "--engine",
    type=click.Choice(["durable", "reference"]),
    default="durable",
    show_default=True,
    help="Rules engine (reference: the independent cross-check).",
)
@click.option(
    "--max-history-size",
    metavar="SIZE",
    default="16MiB",
    show_default=True,
    callback=parse_max_size,
    help="Largest history read, e.g. 32MiB (for .jsonl: per line).",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Only histories whose candidate matches (repeatable): id, coach, cohort, tag or name, e.g. "
    "--where coach=Mia --where tag=remote. Different fields must all match; several values of one "
    "field are alternatives; case is ignored except in ids.",
)
@click.option(
    "--sort",
    type=click.Choice(["source", "urgency"]),
    default="source",
    show_default=True,
    help="Order of the histories in every report: as read, or most urgent first "
    "(errors, then overdue next steps, then the soonest due).",
)
@click.option(
    "--baseline",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="An earlier JSON report: mark findings new or unchanged, list those resolved; "
    "--fail-on then counts only new violations.",
)
@click.option(
    "--calendar-as",
    type=click.Choice(["todo", "event"]),
    default="todo",
    show_default=True,
    help="ics: next steps as to-dos, or as events with an alarm (for calendars that ignore to-dos).",
)
@click.option(
    "--calendar-source",
    type=click.Choice(["relative", "none"]),
    default="relative",
    show_default=True,
    help="ics: name each history's file relative to here (never a full local path), or not at all.",
)
@click.option(
    "--cache",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Keep each history's result in DIR and reuse it while it cannot change (same output).",
)
@click.option(
    "--cache-max-size",
    metavar="SIZE",
    default="1GiB",
    show_default=True,
    callback=parse_max_size,
    help="Largest size of the --cache folder; the least recently used results go first.",
)
def audit(  # noqa: PLR0913  click hands each of the command's options to it as a keyword
    *,
    paths: tuple[str, ...],
    pack: str,
    as_of: str | None,
    fmt: str,
    output: str | None,
    reports: tuple[str, ...],
    fail_on: str,
    jobs: int | None,
    waivers: str | None,
    engine: Engine,
    max_history_size: int,
    where: tuple[str, ...],
    sort: str,
    baseline: str | None,
    calendar_as: str,
    calendar_source: str,
    cache: str | None,
    cache_max_size: int,
) -> None:
    """Audit history files, directories (*.yaml, *.yml, *.json, *.jsonl, recursively) or - (stdin).

    \b
    Examples:
      followup audit jane.yaml --as-of 2026-11-25T12:00-05:00
      followup audit exports/ --format json -o report.json --report sarif=report.sarif
      followup audit batch.jsonl --fail-on warning --waivers waivers.yaml
      followup audit exports/ --sort urgency --baseline last.json --format json -o today.json

    \b
    Exit codes: 0 no violation at or above --fail-on; 1 at least one;
                2 usage error, invalid history or invalid pack.
    """
    from .audit import AuditOptions, run_audit
    from .select import Where

    try:
        selection = Where.parse(where)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--where") from None
    moment = parse_as_of(as_of)
    options = AuditOptions(
        paths=paths,
        pack=pack,
        as_of=moment,
        as_of_clock=as_of_clock(as_of, moment),
        format=fmt,
        output=output,
        reports=parse_reports(reports),
        fail_on=fail_on,
        jobs=jobs,
        waivers=waivers,
        engine=engine,
        max_history_size=max_history_size,
        where=selection,
        sort=sort,
        baseline=baseline,
        calendar_as=calendar_as,
        calendar_source=calendar_source,
        cache=cache,
        cache_max_size=cache_max_size,
    )
    sys.exit(run_audit(options, sys.stdout))


@cli.command()
@click.argument("what", type=click.Choice(["history", "pack", "report", "waivers"]))
def schema(what: str) -> None:
    """Print the JSON Schema of a history, a pack, the JSON report or a waivers file."""
    from importlib import resources

    click.echo(resources.files("followup.schemas").joinpath(f"{what}.schema.json").read_text("utf-8"), nl=False)


def _register_pack_commands() -> None:
    from .pack import explain, pack

    cli.add_command(pack)
    cli.add_command(explain)


_register_pack_commands()


def main(argv: list[str] | None = None) -> Any:
    """Entry point: every FollowupError becomes a located message and exit 2, never a traceback."""
    try:
        return cli.main(args=argv, prog_name="followup", standalone_mode=True)
    except InputError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(2)
    except FollowupError as exc:
        click.echo(f"followup: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("followup: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug of ours: say so briefly rather than dumping a traceback
        if os.environ.get("FOLLOWUP_DEBUG"):
            raise
        click.echo(
            f"followup: internal error: {type(exc).__name__}: {exc} (set FOLLOWUP_DEBUG=1 for details)", err=True
        )
        sys.exit(2)
