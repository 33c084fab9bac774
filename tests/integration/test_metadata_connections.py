"""sfqb_sync with its connections in Airflow's metadata database, as `make demo`, docker-compose
and deployments keep them (the rest of the suite passes them as AIRFLOW_CONN_* variables)."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def database_connections(sync_env, monkeypatch):
    """The sandbox connections moved from the environment into the metadata database."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    moved = {}
    for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
        moved[name[len("AIRFLOW_CONN_") :].lower()] = os.environ[name]
        monkeypatch.delenv(name)
    with create_session() as session:
        for conn_id, spec in moved.items():
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            session.add(Connection.from_json(spec, conn_id=conn_id))
    yield sync_env
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id.in_(list(moved))).delete()


def test_given_connections_in_the_metadata_database_when_the_sync_runs_then_reads_on_second_threads_find_them(
    database_connections,
):
    """R-GEN-2 (each extract reads its windows) with the overlapped reads (for speed) under Airflow
    3's task runner: the customers extract and the reconciliation read Salesforce on a second
    thread, where a connection kept in the metadata database cannot be looked up ("The conn_id
    `salesforce_default` isn't defined" failed `make demo`); the hook connects on the task's thread
    first, so the whole run succeeds."""
    dag_run, states, summary = database_connections.run()

    assert states["customers.extract_customers"] == "success"
    assert states["reconcile"] == "success"
    assert dag_run.state == "success" and summary is not None
