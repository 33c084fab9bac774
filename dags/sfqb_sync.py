"""
## sfqb_sync: keep Salesforce and QuickBooks in step

Runs hourly (and on demand from **Trigger DAG**). One run, in this order:

1. `begin_run`: checks the preferences (Variable `sfqb.preferences`) and the run's params,
   records the install date, and fixes the run's upper time bound once; every extract window
   ends there. Then `take_lease`: one writer at a time. When another sfqb run (a manual one, a
   backfill, the migration, `airflow dags test`) holds the run lease, this run waits up to
   `lease_wait_seconds`, then fails without writing, naming that run; `give_back_lease` returns
   the lease when the run ends, also after a failure.
2. `preflight`: validates the Salesforce org with great-expectations (package fields on page
   layouts, Standard Price Book active, every mapped field present with a compatible type);
   any failure fails the run before anything is written, with one message listing every
   problem and its fix. Beside it, on QuickBooks Desktop, `await_web_connector` waits
   (deferred, holding no worker slot) for the Web Connector's next update; its session then
   stays open for the run's later tasks. On the first run it then links records that already
   exist on both sides (Accounts <-> Customers by exact name, Products <-> Items by
   ProductCode).
3. `items`: QuickBooks Items -> Products and Standard Price Book entries (the first run exports
   every active item, later runs the changed ones); customers wait for it.
4. `customers`: Customers <-> Accounts and billing Contacts, both ways
   (QuickBooks wins conflicts). Each area is extract -> plan -> load -> commit; a watermark
   moves only after its load succeeded.
5. `opportunities`: closed/won Opportunities -> QuickBooks Invoices or Sales Receipts (by their
   Transaction Type), linked back on the Opportunity and its products.
6. `transactions`: QuickBooks changes to those invoices and sales receipts (lines, amounts,
   dates, numbers, address blocks) back onto the Opportunity and its products.
7. `invoices`: QuickBooks Invoices (and the payments applied to them, voids and deletions)
   -> Invoice__c and Invoice_Item__c, linked to their opportunities.
8. `reconcile`: compares both systems on what the sync owns (accounts and customers, won
   opportunities and their transactions, invoice and customer balances, duplicate customers and
   products); each difference is a WARNING naming the records (docs/reconciliation.md).
9. `summarize_run`: per area, created / updated / skipped / failed, and every warning.
10. `start_migration`: with the preference `migrate_historical_invoices` on, starts the one-shot
   `sfqb_invoice_migration` once (it logs why not otherwise).

In the graph `begin_run` has one edge, to `take_lease`: every later task reads what `begin_run`
returned (the run's bounds, preferences and params) from its result, and runs after it.

**Trigger DAG.** The form narrows a manual run: *Areas to run* (the others are skipped) and a
*Full resync* of one area from a day. Left as they are, the run does what a scheduled run does.
A param that cannot be used fails `begin_run` at once, in one sentence naming it.

**"Unpause on trigger" is ticked by default** in the trigger dialog (Airflow's choice; a DAG
cannot change it). Left ticked, triggering a paused `sfqb_sync` unpauses it: that turns on the
hourly schedule, and the scheduler at once queues a scheduled run of all areas for the last
hour, which may run before your manual run (one run at a time). For a one-off test run, untick
it.

Each run covers a real data interval (a `CronDataIntervalTimetable`), so a backfill re-syncs its
interval. Connections: `salesforce_default`, `quickbooks_default`. Preferences: the Variable
`sfqb.preferences`. A failed run, or one whose warnings reach the `alert_min_level`
preference, e-mails `alert_emails`. See docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag

from sfqb.notify import RunAlert
from sfqb.tasks.customers import customers_group
from sfqb.tasks.defaults import DEFAULT_ARGS, START_DATE, TAGS
from sfqb.tasks.invoices import invoices_group
from sfqb.tasks.items import items_group
from sfqb.tasks.lease import lease_scope
from sfqb.tasks.migration import start_migration
from sfqb.tasks.opportunities import opportunities_group
from sfqb.tasks.params import run_params
from sfqb.tasks.preflight import preflight_group
from sfqb.tasks.reconcile import reconcile
from sfqb.tasks.run import begin_run, summarize_run
from sfqb.tasks.transactions import transactions_group


@dag(
    dag_id="sfqb_sync",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    description="Keeps Salesforce and QuickBooks in step, hourly: items, customers, won "
    "opportunities, their transactions and invoices",
    doc_md=__doc__,
    params=run_params(),
    on_failure_callback=RunAlert(),
)
def sfqb_sync():
    run = begin_run()
    # Only take_lease gets the run as an argument (an edge); every later task reads it from
    # begin_run's XCom (sfqb.tasks.context) and comes after take_lease.
    taken, released = lease_scope(run)
    with released:  # every task made here is in the lease's scope: the teardown follows them all
        match_report = preflight_group(after=taken)
        item_report = items_group(after=match_report)
        customer_report = customers_group(after=item_report)
        opportunity_report = opportunities_group(after=customer_report)
        transaction_report = transactions_group(after=opportunity_report)
        invoice_report = invoices_group(after=transaction_report)
        reports = [
            match_report,
            item_report,
            customer_report,
            opportunity_report,
            transaction_report,
            invoice_report,
        ]
        summarize_run([*reports, reconcile(reports)])  # type: ignore[arg-type, list-item]  # TaskFlow: XComArgs for typed params
    # The migration takes the same lease: start it once this run gave it back.
    migration = start_migration()
    invoice_report >> migration
    released >> migration


sfqb_sync()
