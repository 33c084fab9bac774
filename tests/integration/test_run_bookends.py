"""Both DAGs run end to end on Airflow (dag.test() on SQLite) with what is installed so far."""

from __future__ import annotations

import pytest

from tests.conftest import load_dag

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("dag_id", ["sfqb_sync", "sfqb_invoice_migration"])
def test_given_a_dag_when_run_with_dag_test_then_every_task_succeeds(airflow_db, dag_id):
    """The DAG runs green, and begin_run hands the run's fixed upper bound to the summary."""
    dag = load_dag(dag_id)
    dag_run = dag.test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    summary = next(
        ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize_run"
    ).xcom_pull(task_ids="summarize_run")
    assert summary["run_id"] == dag_run.run_id
    assert summary["upper_bound"] == dag_run.run_after.isoformat()
