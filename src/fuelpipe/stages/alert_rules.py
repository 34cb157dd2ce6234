"""The alert rules both homes evaluate: the pipeline's own and the outlook's.

One list, called by the embedded home's `watch` (cli/watch.py) and by the AWS home's
evaluators (``homes/aws_alerts.py``: the hourly retry_recheck Lambda, and the outlook Lambda
after a refresh that changed forecasts), so the homes and evaluators cannot drift apart: a rule
added here alerts in both homes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fuelpipe.ports.alerts import AlertRule
from fuelpipe.ports.store import StatusSummary
from fuelpipe.stages.alerting import default_rules
from fuelpipe.stages.outlook_rules import outlook_rules

RETIRED_RULES: Mapping[str, str | None] = {}
"""Alert rule names no longer in use: each to the rule it was renamed to, or None for one
removed. A rule renamed or removed is listed here (never taken off), so the alerts it left
active carry on under the new name or clear once, rather than stay active for ever
(``fuelpipe.domain.alerts.retire``; docs/DEPLOY.md, "Alert state across releases")."""


def alert_rules(*, quarantined: Sequence[StatusSummary] | None = None) -> list[AlertRule]:
    """Every alert rule: the pipeline's (:func:`default_rules`) and the outlook's
    (:func:`outlook_rules`, which read the stored forecasts without numpy: the retry_recheck
    Lambda ships none, ``fuelpipe.outlook.forecast``).

    ``quarantined``: the store's summaries of its quarantined records
    (``Store.status_summaries``), if the caller read them already."""
    return [*default_rules(quarantined=quarantined), *outlook_rules()]
