"""followup: a policy checker for job-search follow-up.

The flow, one module per step: ``load`` (YAML/JSON with positions) -> ``history`` (schema and
semantic checks -> ``model``) -> ``pack`` (rule packs, overlays) -> ``compiler`` (pack -> plain-data
durable_rules rulesets) -> ``facts`` (history -> facts) -> ``backends`` (durable, reference) ->
``findings`` -> ``formats`` -> ``cli``.
"""

__version__ = "0.1.0"
