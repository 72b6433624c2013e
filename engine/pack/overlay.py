"""Overlays: a pack that ``extends`` another changes its base with ``params``, ``overrides``,
``patterns``, ``derive`` and new ``rules``. Each problem is reported in the overlay's own file.

Also what depends on what: which parameters a rule or the pack uses (an overlay's unused new
parameter is a typo; a rule whose parameters an overlay changed must prove its tests again).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from ..diagnostics import escape_segment, suggest
from .model import Narrowing, Outcome, OwnTests, Pack, Param, Pattern, Rule, Where
from .parse import DURATION_HINT, Parser

OVERRIDABLE = ("enabled", "severity", "message", "title", "remedy", "unless")


def overlay_pack(parser: Parser, base: Pack, own: Pack, data: Mapping[str, Any]) -> Pack:
    """``base`` changed by the overlay document ``data`` (parsed by ``parser`` into ``own``); every
    problem, including a new parameter that nothing uses, goes to ``parser``."""
    overlay = _Overlay(parser)
    merged = overlay.apply(base, own, data)
    overlay.unused_params(merged)
    return merged


class _Overlay:
    """One overlay file applied to the pack it extends."""

    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.new_params: list[str] = []  # parameters the overlay declares for its own rules

    def apply(self, base: Pack, own: Pack, data: Mapping[str, Any]) -> Pack:
        """Apply this file's params, overrides, patterns, derivations and new rules to ``base``."""
        params = dict(base.params)
        for name, raw in (data.get("params") or {}).items():
            pointer = f"/params/{escape_segment(name)}"
            new = own.params[name]
            if name not in params:
                if isinstance(raw, Mapping) and new.description:
                    params[name] = new  # a new parameter, declared for this overlay's own rules
                    self.new_params.append(name)
                    continue
                tip = suggest(name, params, otherwise=f" (known: {', '.join(params)})" if params else "")
                self.parser.error(
                    pointer,
                    f"unknown parameter {name!r}{tip}; a new parameter needs `{{value: ..., description: ...}}`",
                    key=True,
                )
                continue
            old = params[name]
            value_pointer = pointer + "/value" if isinstance(raw, Mapping) else pointer
            if isinstance(old.value, str) and not isinstance(new.value, str):
                self.parser.error(
                    value_pointer, f"parameter {name!r} is a duration ({old.value} in {old.origin!r}); {DURATION_HINT}"
                )
                continue
            if not isinstance(old.value, str) and isinstance(new.value, str):
                self.parser.error(
                    value_pointer, f"parameter {name!r} is a number ({old.value} in {old.origin!r}), not a duration"
                )
                continue
            params[name] = Param(name, new.value, new.seconds, new.description or old.description, own.name)
        rules = {r.id: r for r in base.rules}
        for rule_id, changes in (data.get("overrides") or {}).items():
            pointer = f"/overrides/{escape_segment(rule_id)}"
            if rule_id not in rules:
                self.parser.error(
                    pointer,
                    f"override of unknown rule {rule_id!r}{suggest(rule_id, rules)}",
                    key=True,
                )
                continue
            rules[rule_id] = self.override(rules[rule_id], changes, pointer, own.name)
        base_ids = {r.id for r in base.rules}
        for rule in own.rules:
            if rule.id in base_ids:
                self.parser.error(
                    f"{rule.loc.pointer}/id",
                    f"rule {rule.id!r} already exists in {base.name!r}; change it under `overrides` instead: "
                    f"`enabled`, `severity`, `title`, `message`, `remedy`, or narrow its condition with "
                    f"`unless: [PATTERN, ...]` (its findings are then suppressed whenever those patterns also match)",
                )
            elif rule.id not in rules:  # a second rule of the same id in this file is reported already
                rules[rule.id] = rule
        patterns = dict(base.patterns)
        patterns.update(own.patterns)
        base_people = base.examples_base.get("people")
        own_people = own.examples_base.get("people")
        examples_base = {**base.examples_base, **own.examples_base}
        if isinstance(own_people, list) and isinstance(base_people, list):
            examples_base["people"] = base_people + own_people
        return Pack(
            name=own.name,
            version=own.version,
            description=own.description or base.description,
            source=own.source,
            params=params,
            patterns=patterns,
            derivations=base.derivations + own.derivations,
            rules=tuple(rules.values()),
            examples_base=examples_base,
            extends=(base.name, *base.extends),
            calendar=own.calendar if "calendar" in data else base.calendar,  # a calendar is replaced whole
        )

    def override(self, rule: Rule, changes: Mapping[str, Any], pointer: str, origin: str) -> Rule:
        origin_map = dict(rule.origin)
        updates: dict[str, Any] = {}
        templates = dict(rule.templates)
        text_locs = dict(rule.text_locs)
        for key, value in changes.items():
            origin_map[key] = origin
            if key == "message":
                updates["outcomes"] = self.override_messages(rule, value, f"{pointer}/message")
            elif key == "unless":
                outcomes = updates.get("outcomes", rule.outcomes)
                updates["outcomes"] = self.narrow(rule, outcomes, value, f"{pointer}/unless", origin)
            elif key in ("title", "remedy"):
                updates[key] = templates[key] = " ".join(str(value).split()) if key == "remedy" else str(value)
                text_locs[key] = self.parser.loc(f"{pointer}/{key}")
            elif key in OVERRIDABLE:
                updates[key] = value
        return dataclasses.replace(
            rule,
            title=updates.get("title", rule.title),
            severity=updates.get("severity", rule.severity),
            outcomes=updates.get("outcomes", rule.outcomes),
            enabled=bool(updates.get("enabled", rule.enabled)),
            origin=origin_map,
            remedy=updates.get("remedy", rule.remedy),
            templates=templates,
            text_locs=text_locs,
        )

    def narrow(
        self, rule: Rule, outcomes: tuple[Outcome, ...], value: object, pointer: str, origin: str
    ) -> tuple[Outcome, ...]:
        """``outcomes`` with this overlay's ``unless:`` added: a list narrows every kind of the rule,
        ``{violation: [...], next_step: [...]}`` each kind named."""
        per_kind: dict[str, Narrowing] = {}
        if isinstance(value, list):
            per_kind = dict.fromkeys(rule.kinds, self.narrowing(rule, value, pointer, origin))
        else:
            assert isinstance(value, Mapping)  # the schema allows a list or a mapping of kinds
            for kind, items in value.items():
                where = f"{pointer}/{escape_segment(str(kind))}"
                if kind not in rule.kinds:
                    self.parser.error(
                        where, f"rule {rule.id!r} has no {kind} (it has: {', '.join(rule.kinds)})", key=True
                    )
                    continue
                per_kind[str(kind)] = self.narrowing(rule, items, where, origin)
        return tuple(
            dataclasses.replace(c, unless=(*c.unless, per_kind[c.kind])) if c.kind in per_kind else c
            for c in outcomes
        )

    def narrowing(self, rule: Rule, items: list[Mapping[str, Any]], pointer: str, origin: str) -> Narrowing:
        """One ``unless:`` list: patterns (facts to look for) and tests on the rule's own matches."""
        patterns: list[Pattern] = []
        own: list[OwnTests] = []
        types = {p.alias: p.fact for c in rule.outcomes for b in c.branches for p in b if p.alias and not p.negated}
        for i, item in enumerate(items):
            where = f"{pointer}/{i}"
            if "match" not in item:
                patterns.append(self.parser.pattern(item, where))
                continue
            alias = str(item["match"])
            tests: list[Where] = []
            for fname, spec in (item.get("where") or {}).items():
                if alias in types:  # literal values the history never has, as in any pattern
                    self.parser.check_values(types[alias], str(fname), spec, f"{where}/where/{escape_segment(fname)}")
                tests.extend(self.parser.where(str(fname), spec))
            own.append(OwnTests(alias, tuple(tests), self.parser.loc(where)))
        return Narrowing(tuple(patterns), tuple(own), origin, self.parser.loc(pointer))

    def override_messages(self, rule: Rule, value: object, pointer: str) -> tuple[Outcome, ...]:
        """New message templates; the checks they change point at the override (so that a bad
        placeholder is reported in this file)."""
        if isinstance(value, str):
            if len(rule.outcomes) > 1:
                kinds = " and ".join(rule.kinds)
                self.parser.error(
                    pointer, f"rule {rule.id!r} has {kinds} messages; give them as {{violation: ..., next_step: ...}}"
                )
                return rule.outcomes
            per_kind: dict[str, tuple[str, str]] = {rule.outcomes[0].kind: (value, pointer.removesuffix("/message"))}
        else:
            assert isinstance(value, Mapping)
            per_kind = {str(k): (str(v), f"{pointer}/{k}") for k, v in value.items()}
            for kind in per_kind:
                if kind not in rule.kinds:
                    self.parser.error(
                        f"{pointer}/{kind}",
                        f"rule {rule.id!r} has no {kind} (it has: {', '.join(rule.kinds)})",
                        key=True,
                    )
        return tuple(
            dataclasses.replace(
                c, message=" ".join(per_kind[c.kind][0].split()), loc=self.parser.loc(per_kind[c.kind][1])
            )
            if c.kind in per_kind
            else c
            for c in rule.outcomes
        )

    def unused_params(self, resolved: Pack) -> None:
        """Parameters this overlay declares anew that nothing in the resolved pack uses (a typo)."""
        used = params_used(resolved)
        for name in self.new_params:
            if name not in used:
                self.parser.error(
                    f"/params/{escape_segment(name)}",
                    f"parameter {name!r} is declared but no rule or derived fact uses it",
                    key=True,
                )


# -- what depends on what -------------------------------------------------------------------------


def params_used(pack: Pack) -> set[str]:
    """Names of parameters that any expression or message of the pack mentions."""
    names: set[str] = set()
    for d in pack.derivations:
        names |= _pattern_names(d.when)
        for text in d.set.values():
            names |= expression_names(text)
    for rule in pack.rules:
        names |= rule_param_names(rule)
    return names & set(pack.params)


def rule_param_names(rule: Rule) -> set[str]:
    """Bare names (parameters, and possibly aliases) in a rule's own expressions and messages."""
    names: set[str] = set()
    for check in rule.outcomes:
        for branch in check.branches:
            names |= _pattern_names(branch)
        for text in (check.subject, check.person, check.due):
            if text:
                names |= expression_names(text)
        for m in re.finditer(r"\{([^{}|]*)", check.message):
            names |= expression_names(m.group(1))
        for narrowing in check.unless:
            names |= _pattern_names(narrowing.patterns)
            for own in narrowing.own:
                names |= {n for w in own.where if w.is_expr for n in expression_names(str(w.value))}
    for text in rule.templates.values():
        for m in re.finditer(r"\{([^{}|]*)", text):
            names |= expression_names(m.group(1))
    return names


def _pattern_names(patterns: tuple[Pattern, ...]) -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if p.nth:
            names |= expression_names(p.nth)
        for w in p.where:
            if w.is_expr:
                names |= expression_names(str(w.value))
    return names


def expression_names(text: str) -> set[str]:
    """The bare names (no ``alias.field``) in an expression's text."""
    return {m.group(1) for m in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)(?![\w.])", text)}
