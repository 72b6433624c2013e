"""Rendering a pack for people: ``followup pack show`` (the resolved pack as YAML, with the pack
that set each value), ``followup pack docs`` (a Markdown reference) and ``followup explain`` (one
rule). Everything is rendered from the pack's own data: titles, rationales, conditions, parameters
and examples. The commands themselves are in ``cli.pack``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence

from ..audit.auditor import Auditor
from .model import Example, Outcome, OwnTests, Pack, Param, Pattern, Rule, Where
from .testing.plan import behaviour, plan
from .testing.run import ExampleResult, run_example
from .texts import fill

KIND_WORDS = {"violation": "violation", "next_step": "next step"}
OP_WORDS = {"after": "after", "before": "before", "at_or_after": "at or after", "at_or_before": "at or before"}


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


def condition_lines(pack: Pack, check: Outcome, indent: str = "") -> list[str]:
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
    for narrowing in check.unless:
        items = [_pattern_words(pack, x) for x in narrowing.patterns]
        items += [f"{own.alias}'s {', '.join(_test_words(pack, w) for w in own.where)}" for own in narrowing.own]
        lines.append(f"{indent}  unless ({narrowing.origin}) all of: {'; '.join(items)}")
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


def _names(check: Outcome) -> list[tuple[str, str]]:
    """The names a check's condition binds, each with its fact type (every alternative's, once)."""
    found: dict[str, str] = {}
    for branch in check.branches:
        for p in branch:
            if p.alias and not p.negated:
                found.setdefault(p.alias, p.fact)
    return list(found.items())


def _own_data(own: OwnTests) -> dict[str, object]:
    where = _pattern_data(Pattern("", None, False, own.where)).get("where", {})
    return {"match": own.alias, "where": where}


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


def show_text(ref: str, layers: Sequence[Pack]) -> str:
    """The resolved pack (the last of ``layers``, its ``extends`` chain base first) as YAML, with
    the pack that set each value as a comment; ``ref`` is how the user named it."""
    p = layers[-1]
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
    if p.calendar.origin:  # a pack that names its working calendar (business days)
        c = p.calendar
        fields = {"country": c.country, "subdivision": c.subdivision, "extra_holidays": list(c.extra_holidays)}
        shown = {k: v for k, v in fields.items() if v} | {"weekend": list(c.weekend)}
        out.add(f"calendar: {_flow(shown)}", c.origin)
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
    return out.render()


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
    for check in rule.outcomes:
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
        names = ", ".join(f"{alias} ({fact})" for alias, fact in _names(check))
        out.add(f"      # names (for unless: and messages): {names}, asof.at (the audit time)")
        for narrowing in check.unless:
            items = [_pattern_data(x) for x in narrowing.patterns] + [_own_data(o) for o in narrowing.own]
            out.add(f"      unless: {_flow(items)}", narrowing.origin)
        out.add(f"      subject: {_scalar(check.subject)}")
        if check.person:
            out.add(f"      person: {_scalar(check.person)}")
        if check.due:
            out.add(f"      due: {_scalar(check.due)}")
        out.add(f"      message: {_scalar(check.message)}", rule.origin.get("message", home))
    if rule.remedy:
        out.add(f"    remedy: {_scalar(rule.remedy)}", rule.origin.get("remedy", home))
    if rule.examples:
        out.add(f"    # examples: {len(rule.examples)}, written for {home}")


# -- docs -----------------------------------------------------------------------------------------


def docs_markdown(ref: str, layers: Sequence[Pack]) -> str:
    """A Markdown reference of the pack's rules: what each checks, why, its parameters, and an
    example history that fires it and one that does not (from the pack's examples)."""
    p = layers[-1]
    auditor = Auditor.for_pack(p)
    lines = [f"# Rule pack `{p.name}` {p.version}", "", " ".join(p.description.split()), ""]
    if p.extends:
        lines += [f"Extends {' → '.join(f'`{n}`' for n in p.extends)}; generated by `followup pack docs {ref}`.", ""]
    else:
        lines += [f"Generated by `followup pack docs {ref}`.", ""]
    lines += ["## Parameters", "", "| parameter | value | meaning |", "|---|---|---|"]
    lines += [f"| `{x.name}` | {x.value} | {x.description or '–'} |" for x in p.params.values()]
    if p.calendar.origin:
        lines += ["", f"Business days (`bd`) are counted on: {p.calendar.describe()}."]
    lines += ["", "## Rules", "", "| rule | kinds | title |", "|---|---|---|"]
    for rule in p.rules:
        off = " (disabled)" if not rule.enabled else ""
        lines.append(f"| [`{rule.id}`](#{rule.id}) | {_kinds(rule)}{off} | {rule.title} |")
    lines.append("")
    # Examples an overlay changed the outcome of are not shown (see docs/pack-tests.md).
    usable = [case.example for case in plan(layers) if case.skip is None]
    for rule in p.rules:
        lines += _rule_markdown(p, rule, auditor, usable)
    return "\n".join(lines).rstrip() + "\n"


def _rule_markdown(p: Pack, rule: Rule, auditor: Auditor, usable: Sequence[Example]) -> list[str]:
    lines = [f"## {rule.id}", "", f"**{rule.title}** · {_kinds(rule)}", ""]
    if not rule.enabled:
        lines += ["*Disabled in this pack: it is not run.*", ""]
    lines += ["### What it does", ""]
    for check in rule.outcomes:
        lines += ["```text", *condition_lines(p, check), "```", ""]
    lines += ["### Why", "", rule.rationale, ""]
    if rule.remedy:
        lines += ["### What to do after a violation", "", fill(rule.remedy, dict(p.params), titled=False), ""]
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


def explain_text(p: Pack, rule: Rule, ref: str) -> str:
    """A rule's title, rationale, parameters and condition (``ref``: how the user named the pack)."""
    lines = [f"{rule.id}: {rule.title}", f"  pack {p.name} {p.version}, {rule.loc.source}:{rule.loc.line}"]
    if not rule.enabled:
        lines.append("  disabled in this pack: it is not run")
    lines += [f"  {_kinds(rule)}", "", "Why:", *_wrap(rule.rationale, "  "), ""]
    if rule.remedy:
        lines += ["What to do after a violation:", *_wrap(fill(rule.remedy, dict(p.params), titled=False), "  "), ""]
    params = _params_of(p, rule)
    if params:
        lines.append("Parameters:")
        width = max(len(x.name) for x in params)
        lines += [f"  {x.name:<{width}} = {x.value}  ({x.origin}) {x.description}".rstrip() for x in params]
        lines.append("")
    for check in rule.outcomes:
        lines += condition_lines(p, check)
        lines.append("")
    tests = [
        t for t in p.tests if t.rule == rule.id or any(w.get("rule") == rule.id for w in (*t.expect, *t.expect_not))
    ]
    where = f"{len(rule.examples)} in the pack"
    if tests:
        where += f", {len(tests)} in {', '.join(dict.fromkeys(t.loc.source for t in tests))}"
    lines.append(f"Examples: {where}; run them with `followup pack test {ref}`.")
    return "\n".join(lines)


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
