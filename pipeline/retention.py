"""Retention states: where each recording stands against the retention period.

A recording expires ``retention.days`` after its start time. Its state is:

- ``active``: more than ``retention.due_soon_days`` left;
- ``due``: expiry within ``retention.due_soon_days``;
- ``overdue``: expired while the file is still on disk, a breach of the rules;
- ``deleted``: purged by recwatch, which keeps a tombstone row;
- ``missing``: the file left the disk without a purge by recwatch.

The state is computed in SQL at query time from the configured period, so a
change of the period applies at once and no stored value can silently extend it.
"""

from __future__ import annotations

from pipeline.config import Config

STATES = ("active", "due", "overdue", "deleted", "missing")


def expires_at_sql(config: Config) -> str:
    """Return a SQL expression for a recording's expiry instant."""
    days = int(config["retention.days"])
    return f"(start_time + INTERVAL {days} DAY)"


def state_sql(config: Config, now_param: str = "$now") -> str:
    """Return a SQL CASE expression for the retention state at ``now_param``."""
    due_days = int(config["retention.due_soon_days"])
    expires = expires_at_sql(config)
    return (
        "CASE"
        " WHEN status = 'deleted' THEN 'deleted'"
        " WHEN missing_since IS NOT NULL THEN 'missing'"
        f" WHEN {expires} <= {now_param} THEN 'overdue'"
        f" WHEN {expires} <= {now_param} + INTERVAL {due_days} DAY THEN 'due'"
        " ELSE 'active' END"
    )
