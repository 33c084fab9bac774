"""The historical invoice migration's tasks (SPEC section 6): prepare, then migrate.

``prepare_migration`` resolves the trigger form's params over the preferences (a bad or missing
one fails the run naming it), says whether the migration already ran (R-MIG-3) and counts the
invoices to read. ``migrate_invoices`` loads them chunk by chunk through the invoices area's
rules, saving its position after every chunk: a retried task or a new trigger resumes where the
last one stopped (``sfqb.steps.migration``).
"""

from __future__ import annotations

from airflow.sdk import task


@task(pool="sfqb_quickbooks")
def prepare_migration(run: dict, **context) -> dict:
    """Settings, already-ran check and the count of invoices dated on or after the migration
    date. Returns what ``migrate_invoices`` does: skip, retry the failed ones, or migrate."""
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.areas.migration import MigrationConfigError
    from sfqb.steps import migration

    try:
        return migration.prepare(run, dict(context.get("params") or {}))
    except MigrationConfigError as exc:
        raise AirflowFailException(str(exc)) from exc


@task(pool="sfqb_quickbooks")
def migrate_invoices(run: dict, prepared: dict) -> dict:
    """Load the invoices in chunks with a progress line each; returns the run report."""
    from sfqb.steps import migration

    return migration.migrate(run, prepared)
