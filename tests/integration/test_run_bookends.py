"""Both DAGs on Airflow (dag.test() on SQLite) without sandbox servers: configuration errors stop a
run at its start."""

from __future__ import annotations

import pytest

from tests.conftest import load_dag

pytestmark = pytest.mark.integration


def test_given_no_migration_date_when_the_migration_is_triggered_then_it_fails_at_prepare_without_retries(
    airflow_db,
):
    """R-MIG-1, docs/rules.md section 8: with no migration date in the trigger form or the
    preferences the migration fails at prepare_migration (a configuration error: no retry), before
    anything is read or written; begin_run ran and fixed the run's bounds."""
    dag_run = load_dag("sfqb_invoice_migration").test()
    states = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}
    assert states["begin_run"][0] == "success"
    assert states["prepare_migration"] == ("failed", 1)
    assert states["migrate_invoices"][0] == "upstream_failed"
    assert dag_run.state == "failed"


def test_given_a_bad_preference_when_the_sync_runs_then_it_fails_at_the_first_task_without_retries(
    airflow_db,
):
    """docs/rules.md section 8: a bad preference fails the run at its start (no area runs; retrying
    cannot help).

    Variables go into the metadata DB, not through dag.test(variable_file_path=...): Airflow
    caches the secrets backends per process, so a file backend would leak into later tests.
    """
    import json

    from sfqb.state import MetadataDbVariables

    variables = MetadataDbVariables()
    variables.set("sfqb.preferences", json.dumps({"sync_itmes": True}))
    try:
        dag_run = load_dag("sfqb_sync").test()
    finally:
        variables.delete("sfqb.preferences")
    states = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}
    assert states["begin_run"] == ("failed", 1)
    assert all(
        state != "success" for task_id, (state, _) in states.items() if task_id != "begin_run"
    )
