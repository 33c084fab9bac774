"""sfqb_sync on QuickBooks Desktop, end to end: the DAG's tasks reach the company only through
X
R-GEN-3)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_given_a_desktop_company_when_synced_twice_then_the_second_run_writes_nothing(
    desktop_env,
):
    """The first run links, exports items and customers both ways through the queue; the
    second finds nothing to do and writes to neither system (R-QBD-1, R-QBD-3, R-GEN-3)."""
    desktop_env.set_preferences(quickbooks_edition="desktop")
    dag_run, states, summary = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    items, customers = report_of(summary, "items"), report_of(summary, "customers")
    assert items["created"] > 0 and items["failed"] == 0
    assert customers["created"] > 0 and customers["failed"] == 0
    served = desktop_env.rig.queue.jobs()
    assert served and all(j.state == "done" for j in served)

    desktop_env.sandbox.clear_counters()
    dag_run, states, summary = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert all(report_of(summary, a["area"])["created"] == 0 for a in summary["areas"])
