"""followup: a policy checker for job-search follow-up.

The flow, one subpackage per step:

- ``io``: YAML and JSON with a table of positions; finding the inputs.
- ``history``: the history schema, the checks of meaning, reading into the frozen ``model``.
- ``pack``: rule packs (schema, parsing, text patterns, overlays, examples); ``pack.testing`` runs
  a pack's examples and tests.
- ``compile``: a pack -> plain-data durable_rules rulesets; a history -> facts.
- ``backends``: durable_rules and the independent reference evaluator.
- ``audit``: firings -> findings, waivers, worker processes.
- ``report``: one module per output format.
- ``cli``: the ``followup`` command.
- ``diagnostics``: located problems, did-you-mean, schema errors in words, for every step.
"""

__version__ = "0.1.0"
