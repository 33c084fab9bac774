"""
## sfqb_invoice_migration: one-shot import of historical QuickBooks invoices

Trigger it once (**Trigger DAG**; the form has the options below). It copies QuickBooks
invoices dated on or after the migration date into Salesforce as Invoice__c and
Invoice_Item__c, with their current balances, by the same rules and code as the ongoing
`invoices` sync (docs/migration.md):

- it never links an invoice to an existing Opportunity; with *Create missing opportunities*
  each invoice gets one placeholder Opportunity in Stage "Migrated";
- it runs once: a second trigger ends at once saying so (reset with
  `python -m sfqb state reset migration`); invoices already in Salesforce, for example made by
  the ongoing sync, are skipped, never duplicated;
- it loads in chunks of up to 1000 invoices with a progress line per chunk, and saves its
  position after each: an interrupted migration continues where it stopped when the task is
  retried or the DAG triggered again;
- items without a Product are one WARNING per item; the migration goes on;
- *Dry run* plans every chunk and writes nothing; its summary says what a real run would
  write ("dry run: nothing written; would write 343 invoices, 667 items").

The form requires the *Migration date* (a date picker). When `sfqb_sync` starts the migration
itself (preference `migrate_historical_invoices`), it gives the `migration_date` preference.
*Create missing opportunities* left at "from preferences" takes
`migration_create_missing_opportunities`. A param that cannot be used fails `begin_run` at
once, in one sentence naming it.

**"Unpause on trigger" is ticked by default** in the trigger dialog (Airflow's choice; a DAG
cannot change it). This DAG has no schedule, so unpausing it starts nothing by itself, but a
migration run that `sfqb_sync` asked for while it was paused starts then too, one after the
other with yours (the second finds the migration done, or continues it). Untick it for a run
you want alone.

It writes only while it holds the run lease it shares with `sfqb_sync` (`take_lease`, given
back by `give_back_lease`): started beside a sync, it waits up to `lease_wait_seconds`, then
fails without writing, naming the run that holds it. On QuickBooks Desktop,
`await_web_connector` then waits (deferred, holding no worker slot) for the Web Connector's next
update before the migration reads QuickBooks.

The run's summary is the same sync log as `sfqb_sync`'s (task `summarize_run`), and alerts go
out the same way (preferences `alert_emails`, `alert_min_level`). Docs: docs/migration.md.
"""

from __future__ import annotations

from airflow.sdk import dag

from sfqb.notify import RunAlert
from sfqb.tasks.defaults import DEFAULT_ARGS, START_DATE, TAGS
from sfqb.tasks.desktop_wait import await_web_connector
from sfqb.tasks.lease import lease_scope
from sfqb.tasks.migration import migrate_invoices, migration_params, prepare_migration
from sfqb.tasks.run import begin_run, summarize_run


@dag(
    dag_id="sfqb_invoice_migration",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "migration"],
    description="One-shot copy of historical QuickBooks invoices into Salesforce: trigger it "
    "once, with a migration date",
    doc_md=__doc__,
    on_failure_callback=RunAlert(),
    params=migration_params(),
)
def sfqb_invoice_migration():
    run = begin_run()
    taken, released = lease_scope(run)
    with released:  # the tasks here read the run from begin_run's XCom: no edge each
        prepared = prepare_migration()
        taken >> await_web_connector() >> prepared
        summarize_run([migrate_invoices(prepared)])  # type: ignore[arg-type, list-item]  # TaskFlow: XComArgs for typed params


sfqb_invoice_migration()
