"""The CI resilience regression gate: summarize runs (:mod:`.summary`), judge a current run against its baseline
(:mod:`.rules`: the one rule, with thresholds and a noise band), and show it (:mod:`.render`). The CLI commands
are ``chaoskit compare``, ``chaoskit baseline save`` and ``chaoskit history``; pytest has ``result.compare``."""
