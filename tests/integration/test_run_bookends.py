"""Both DAGs run end to end on Airflow (dag.test() on SQLite) with what is installed so far."""

from __future__ import annotations

import pytest

from tests.conftest import load_dag

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("dag_id", ["sfqb_invoice_migration"])
def test_given_a_dag_when_run_with_dag_test_then_every_task_succeeds(airflow_db, dag_id):
    """The DAG runs green, and begin_run hands the run's fixed upper bound to the summary.
    (sfqb_sync's full runs are in the area tests, with the sandbox connections.)"""
    dag = load_dag(dag_id)
    dag_run = dag.test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    summary = next(
        ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize_run"
    ).xcom_pull(task_ids="summarize_run")
    assert summary["run_id"] == dag_run.run_id
    assert summary["upper_bound"] == dag_run.run_after.isoformat()


def test_given_a_bad_preference_when_the_sync_runs_then_it_fails_at_the_first_task_without_retries(
    airflow_db,
):
    """SPEC 8: a bad preference fails the run at its start (no area runs; retrying cannot help).

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
    assert all(state != "success" for task_id, (state, _) in states.items() if task_id != "begin_run")
