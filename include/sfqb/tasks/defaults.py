"""Settings every sfqb DAG shares."""

from __future__ import annotations

import datetime as dt

import pendulum

OWNER = "sfqb"
TAGS = ["sfqb", "salesforce", "quickbooks"]
# The first interval any schedule can produce; catchup is off, so this is only a floor.
START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

DEFAULT_ARGS = {
    "owner": OWNER,
    # Transient API trouble (throttling, a dropped connection) gets two more chances with growing
    # pauses; per-record failures never fail a task (they are warnings, retried next run).
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=15),
}
