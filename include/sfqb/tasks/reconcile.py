"""The reconcile task: last before ``summarize_run`` in every ``sfqb_sync`` run.

It compares Salesforce and QuickBooks on what the sync owns (``sfqb.steps.reconcile``, rules in
``sfqb.areas.reconcile``) and returns a report shaped like an area's: counts per check and one
WARNING per check with differences, naming the records. Differences never fail the run; a read
error fails the task (and is retried) like any other task's. The preference ``reconcile``
(default true) turns it off; a manual run narrowed to some areas (params) skips it, as the
areas it left out may hold changes it did not sync. docs/reconciliation.md says how to read it.
"""

from __future__ import annotations

from airflow.sdk import task

from sfqb.run_params import RunContext
from sfqb.tasks.lease import leased

AREA = "reconcile"


@task(
    task_id=AREA,
    pool="sfqb_quickbooks",
    trigger_rule="none_failed",
    multiple_outputs=False,
    show_return_value_in_logs=False,  # its warnings are logged once, as it finds them
)
@leased
def reconcile(run: RunContext, area_reports: list[dict] | None = None) -> dict | None:
    """Compare both systems after this run's areas wrote (``area_reports``: their load reports,
    whose records to retry are not differences); None when the preference is off."""
    import logging

    from airflow.sdk.exceptions import AirflowSkipException

    from sfqb.run_params import AREAS
    from sfqb.steps.common import preferences

    if set(run.get("areas", AREAS)) != set(AREAS):
        # The areas left out may hold changes this run did not sync: the next full run compares.
        raise AirflowSkipException(
            "a run narrowed to some areas is not reconciled (the next full run is)"
        )
    if not preferences(run).reconcile:
        logging.getLogger(__name__).info(
            "reconcile: the preference reconcile is off: nothing compared"
        )
        return None
    from sfqb.steps.common import track_warnings
    from sfqb.steps.reconcile import run_reconcile

    return track_warnings(
        run, run_reconcile(run, area_reports=[r for r in area_reports or [] if r])
    )
