"""The historical invoice migration's tasks (docs/rules.md section 6): prepare, then migrate.

``prepare_migration`` resolves the trigger form's params over the preferences (a bad or missing
one fails the run naming it), says whether the migration already ran (R-MIG-3) and counts the
invoices to read. ``migrate_invoices`` loads them chunk by chunk through the invoices area's
rules, saving its position after every chunk: a retried task or a new trigger resumes where the
last one stopped (``sfqb.steps.migration``).
"""

from __future__ import annotations

from typing import cast

from airflow.sdk import Context, Param, task

from sfqb.areas.migration import CHOICES, FROM_PREFERENCES, MAX_CHUNK, TITLES
from sfqb.run_params import RunContext
from sfqb.tasks.context import with_run
from sfqb.tasks.lease import leased

MIGRATION_DATE = "migration_date"


def migration_params() -> dict:
    """The trigger form of ``sfqb_invoice_migration`` (fresh Param objects per parse, as
    ``sfqb.tasks.params.run_params`` says why).

    The migration date is a date picker the form requires: its type leaves out null, so the
    form will not trigger while it is empty. Its default stays None: a Param without any
    default makes Airflow 3.3's in-process runs (``dag.test()``, ``airflow dags test``, so
    ``make demo``) fail every task while building its context, even with the date in the run's
    conf. A trigger from the command line or the REST API without the date is refused by
    Airflow before a run exists ("Invalid input for param migration_date: None is not of type
    'string'", then its schema); ``start_migration`` passes the preference's. ``begin_run``
    checks the values with ``sfqb.areas.migration.resolve_settings``, one sentence per bad
    param."""
    return {
        MIGRATION_DATE: Param(
            None,
            type="string",
            format="date",
            title=TITLES[MIGRATION_DATE],
            description="Invoices dated on or after this day are migrated. Required; when "
            "sfqb_sync starts the migration itself, it gives the migration_date preference.",
        ),
        "create_missing_opportunities": Param(
            FROM_PREFERENCES,
            type="string",
            enum=list(CHOICES),
            values_display={
                FROM_PREFERENCES: "As the preference migration_create_missing_opportunities says",
                "yes": "Yes",
                "no": "No",
            },
            title=TITLES["create_missing_opportunities"],
            description='One Opportunity in Stage "Migrated" per migrated invoice, linked to '
            "it (an invoice is never linked to an Opportunity that exists).",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title=TITLES["dry_run"],
            description="Read and plan every chunk and report what a real run would write; "
            "write nothing, not even the migration's progress.",
        ),
        "chunk_size": Param(
            MAX_CHUNK,
            type="integer",
            minimum=1,
            maximum=MAX_CHUNK,
            title=TITLES["chunk_size"],
            description=f"Invoices per chunk, 1 to {MAX_CHUNK} (one QuickBooks page; the "
            "position is saved after each).",
        ),
    }


@task(pool="sfqb_quickbooks", multiple_outputs=False)
@leased
def prepare_migration(run: RunContext, /, **context) -> dict:
    """Settings, already-ran check and the count of invoices dated on or after the migration
    date. Returns what ``migrate_invoices`` does: skip, retry the failed ones, or migrate."""
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.areas.migration import MigrationConfigError
    from sfqb.steps import migration

    try:
        return migration.prepare(run, dict(context.get("params") or {}))
    except MigrationConfigError as exc:
        raise AirflowFailException(str(exc)) from exc


@task(pool="sfqb_quickbooks", multiple_outputs=False, show_return_value_in_logs=False)
@leased
def migrate_invoices(run: RunContext, prepared: dict) -> dict:
    """Load the invoices in chunks with a progress line each; returns the run report, its
    warnings told apart as new, standing and resolved (a migration run checks everything it
    covers: a warning it does not find again is resolved, R-OPS-3)."""
    from sfqb.steps import migration
    from sfqb.steps.common import track_warnings

    report = migration.migrate(run, prepared)
    # A dry run writes nothing, not even the warnings' state; a skipped run looked at nothing.
    return track_warnings(
        run,
        report,
        complete=prepared.get("action") != migration.SKIP,
        save=not report.get("dry_run"),
    )


MIGRATION_DAG_ID = "sfqb_invoice_migration"


@task(multiple_outputs=False)
@with_run
def start_migration(run: RunContext, /, **context) -> str:
    """Start ``sfqb_invoice_migration`` when ``sync_should_start`` says so (its params then come
    from the preferences); otherwise log why not and return it. The task always succeeds."""
    import logging

    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

    from sfqb.areas.migration import sync_should_start
    from sfqb.state import SyncState, TaskVariables
    from sfqb.steps.common import preferences

    log = logging.getLogger(__name__)
    start, why = sync_should_start(preferences(run), SyncState(TaskVariables()).migration())
    if not start:
        log.log(logging.WARNING if "not finished" in why else logging.INFO, "%s", why)
        return why
    try:
        target = context["ti"].get_dag(MIGRATION_DAG_ID)
    except Exception as exc:  # noqa: BLE001 - not known to Airflow (never parsed): do not fail the sync
        log.warning(
            "%s is not known to Airflow (%s): the migration cannot be started from here; "
            "trigger it once its DAG is parsed",
            MIGRATION_DAG_ID,
            exc,
        )
        return "unknown"
    if target.is_paused:
        log.warning(
            "%s is paused: the migration run waits until it is unpaused in the Airflow UI",
            MIGRATION_DAG_ID,
        )
    log.info("%s (%s)", why, MIGRATION_DAG_ID)
    # The migration date is a required param: the preference's (required with
    # migrate_historical_invoices); the other params take their defaults ("from preferences").
    date = preferences(run).migration_date
    conf = {MIGRATION_DATE: date.isoformat()} if date else {}
    # The operator's execute hands the trigger to the task runner (it raises the SDK's trigger
    # request); an existing run of the same id (a retried task) is not triggered twice.
    TriggerDagRunOperator(
        task_id="trigger_migration",
        trigger_dag_id=MIGRATION_DAG_ID,
        trigger_run_id=f"migration_from__{run['run_id']}",
        conf=conf,
        skip_when_already_exists=True,
    ).execute(cast(Context, context))
    return "triggered"
