"""Plans, outcomes and the per-area report (R-GEN-1, R-GEN-5, R-OPS-2)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sfqb.outcomes import (
    CREATED,
    FAILED,
    UPDATED,
    WARNING,
    Plan,
    area_report,
    log_problems,
    outcomes,
    skips,
)

pytestmark = pytest.mark.unit


def test_given_a_load_with_one_failure_when_reported_then_counts_and_the_warning_name_the_record():
    """R-GEN-5: one record's failure is a warning naming it; the rest are counted as loaded."""
    plan = Plan("customers")
    plan.add_skips(skips(["001A"], "no closed/won opportunity yet"))
    plan.add_skips(skips(["QB:7"], "sub-customer's parent failed", level=WARNING))
    done = outcomes(
        [
            {"key": "001B", "action": CREATED, "target_id": "58", "reason": ""},
            {"key": "001C", "action": UPDATED, "target_id": "59", "reason": ""},
            {"key": "001D", "action": FAILED, "target_id": None, "reason": "Duplicate Name Exists Error [6240]"},
        ]
    )
    report = area_report("customers", plan.skips, done)
    assert {k: report[k] for k in ("created", "updated", "skipped", "failed")} == {
        "created": 1, "updated": 1, "skipped": 2, "failed": 1
    }
    assert report["warnings"] == [
        "customers: 001D: Duplicate Name Exists Error [6240]",
        "customers: QB:7: sub-customer's parent failed",
    ]


def test_given_failures_when_logged_then_each_is_a_warning_line_and_info_skips_stay_info(caplog):
    """R-OPS-2: warnings at WARNING level so Airflow's log filtering finds them."""
    skipped = pd.concat(
        [skips(["006X"], "stage is not closed/won"), skips(["006Y"], "product P-1 has no QuickBooks item", WARNING)]
    )
    done = outcomes([{"key": "006Z", "action": FAILED, "target_id": None, "reason": "Stale Object Error [5010]"}])
    with caplog.at_level(logging.INFO):
        log_problems(logging.getLogger("test"), "opportunities", skipped, done)
    by_level = {(r.levelname, r.getMessage()) for r in caplog.records}
    assert ("INFO", "opportunities: skipped 006X: stage is not closed/won") in by_level
    assert ("WARNING", "opportunities: skipped 006Y: product P-1 has no QuickBooks item") in by_level
    assert (
        "WARNING",
        "opportunities: failed 006Z: Stale Object Error [5010] (it will be retried on the next run)",
    ) in by_level
