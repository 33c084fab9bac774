"""
## sfqb_invoice_migration: one-shot import of historical QuickBooks invoices

Unscheduled: trigger it once from the Airflow UI (SPEC section 6). It imports QuickBooks
invoices dated on or after the migration date into Salesforce, never linked to existing
opportunities, and records its completion so a second trigger does nothing.

Tasks: `begin_run`, the migration task group (added with the migration issue), `summarize_run`.
"""

from __future__ import annotations

from airflow.sdk import dag

from sfqb.tasks.defaults import DEFAULT_ARGS, START_DATE, TAGS
from sfqb.tasks.run import begin_run, summarize_run


@dag(
    dag_id="sfqb_invoice_migration",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "migration"],
    doc_md=__doc__,
)
def sfqb_invoice_migration():
    run = begin_run()
    summarize_run(run)


sfqb_invoice_migration()
