"""Both DAGs on Airflow (dag.test() on SQLite) without sandbox servers: configuration errors stop a
run at its start."""

from __future__ import annotations

import pytest

from tests.conftest import load_dag

pytestmark = pytest.mark.integration


def test_given_no_migration_date_when_the_migration_is_triggered_then_the_run_is_refused_naming_it(
    airflow_db,
):
    """R-MIG-1: the migration date is a required param (the trigger form will not start a run
    without it): a trigger without it, here as from the command line, is refused before any
    run exists, naming the param on its first line; nothing is read or written."""
    from airflow.models.dagrun import DagRun

    before = len(DagRun.find(dag_id="sfqb_invoice_migration"))
    with pytest.raises(ValueError) as caught:
        load_dag("sfqb_invoice_migration").test()
    first = str(caught.value).splitlines()[0]
    assert first == "Invalid input for param migration_date: None is not of type 'string'"
    assert len(DagRun.find(dag_id="sfqb_invoice_migration")) == before


def test_given_a_migration_date_and_a_bad_preference_when_the_migration_is_triggered_then_begin_run_fails(
    airflow_db,
):
    """R-MIG-1, docs/rules.md section 8: with its date given, the migration still checks the
    preferences first: a bad one fails begin_run (no retry), before the lease is taken."""
    import json

    from sfqb.state import MetadataDbVariables

    variables = MetadataDbVariables()
    variables.set("sfqb.preferences", json.dumps({"migration_chunk": 5}))
    try:
        dag_run = load_dag("sfqb_invoice_migration").test(run_conf={"migration_date": "2025-01-01"})
    finally:
        variables.delete("sfqb.preferences")
    states = {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}
    assert states["begin_run"] == ("failed", 1)
    assert states["take_lease"][0] == "upstream_failed"
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
