"""
## sfqb_invoice_migration: one-shot import of historical QuickBooks invoices

Trigger it once (**Trigger DAG**; the form has the options below). It copies QuickBooks
invoices dated on or after the migration date into Salesforce as Invoice__c and
Invoice_Item__c, with their current balances, by the same rules and code as the ongoing
`invoices` sync (docs/rules.md section 6):

- it never links an invoice to an existing Opportunity (R-MIG-2); with *create missing
  opportunities* each invoice gets one placeholder Opportunity in Stage "Migrated";
- it runs once: a second trigger ends at once saying so (reset with
  `python -m sfqb state reset migration`); invoices already in Salesforce, for example made by
  the ongoing sync, are skipped, never duplicated (R-MIG-3);
- it loads in chunks of up to 1000 invoices with a progress line per chunk, and saves its
  position after each: an interrupted migration continues where it stopped when the task is
  retried or the DAG triggered again;
- items without a Product are one WARNING per item (R-MIG-4); the migration goes on;
- *dry run* plans every chunk and logs the counts without writing anything.

It writes only while it holds the run lease it shares with `sfqb_sync` (`take_lease`, given
back by `give_back_lease`): started beside a sync, it waits up to `lease_wait_seconds`, then
fails without writing, naming the run that holds it.

Params left empty take the preferences (Variable `sfqb.preferences`: `migration_date`,
`migration_create_missing_opportunities`). The run's summary is the same sync log as
`sfqb_sync`'s (task `summarize_run`), and alerts go out the same way (preferences
`alert_emails`, `alert_min_level`). Docs: docs/migration.md.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from sfqb.areas.migration import CHOICES, FROM_PREFERENCES, MAX_CHUNK
from sfqb.notify import RunAlert
from sfqb.tasks.defaults import DEFAULT_ARGS, START_DATE, TAGS
from sfqb.tasks.lease import lease_scope
from sfqb.tasks.migration import migrate_invoices, prepare_migration
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
    on_failure_callback=RunAlert(),
    params={
        "migration_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Migration date",
            description="Invoices dated on or after this day are migrated. Empty: the "
            "migration_date preference.",
        ),
        "create_missing_opportunities": Param(
            FROM_PREFERENCES,
            type="string",
            enum=list(CHOICES),
            title="Create missing opportunities",
            description='One Opportunity in Stage "Migrated" per migrated invoice.',
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Read and plan every chunk, log the counts, write nothing.",
        ),
        "chunk_size": Param(
            MAX_CHUNK,
            type="integer",
            minimum=1,
            maximum=MAX_CHUNK,
            title="Chunk size",
            description=(
                "Invoices per chunk (one QuickBooks page; the position is saved after each)."
            ),
        ),
    },
)
def sfqb_invoice_migration():
    run = begin_run()
    taken, released = lease_scope(run)
    with released:
        prepared = prepare_migration(run)
        taken >> prepared
        summarize_run(run, [migrate_invoices(run, prepared)])  # type: ignore[arg-type, list-item]  # TaskFlow: XComArgs for typed params


sfqb_invoice_migration()
