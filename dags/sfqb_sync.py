"""
## sfqb_sync: keep Salesforce and QuickBooks in step

Runs hourly (and on demand from **Trigger DAG**). One run, in the order of SPEC R-GEN-8:

1. `begin_run`: fixes the run's upper time bound once; every extract window ends there.
2. preflight and the sync areas (items, customers, opportunities, QuickBooks changes back,
   invoices and payments): task groups added area by area.
3. `summarize_run`: per area, created / updated / skipped / failed, and every warning.

Each run covers a real data interval (a `CronDataIntervalTimetable`), so a backfill re-syncs its
interval. Connections: `salesforce_default`, `quickbooks_default`. Preferences: the Variable
`sfqb.preferences`. See the README for operations.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag

from sfqb.tasks.defaults import DEFAULT_ARGS, START_DATE, TAGS
from sfqb.tasks.run import begin_run, summarize_run


@dag(
    dag_id="sfqb_sync",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    doc_md=__doc__,
)
def sfqb_sync():
    run = begin_run()
    summarize_run(run)


sfqb_sync()
