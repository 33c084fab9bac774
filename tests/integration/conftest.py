"""Whole-DAG runs against the sandbox servers: a clean company and org per test."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.conftest import load_dag

# Every seeded record predates the test; the tests that want the seed synced say so.
SINCE_SEED = "2020-01-01T00:00:00+00:00"


@dataclass
class SyncEnv:
    """A reset sandbox pair, Airflow connections pointing at it, and helpers to run the DAG."""

    sandbox: object

    def set_preferences(self, **prefs) -> None:
        from sfqb.state import MetadataDbVariables

        MetadataDbVariables().set("sfqb.preferences", json.dumps(prefs))

    def run(self, dag_id: str = "sfqb_sync", *, task_retries: int | None = None, **kwargs):
        """One dag.test() run of a freshly parsed DAG; returns (dag_run, states, summary).

        ``task_retries=0`` lets a test that makes a task fail see the failure at once
        (dag.test() waits out each retry delay, minutes with the DAG's defaults)."""
        dag = load_dag(dag_id)
        if task_retries is not None:
            for task in dag.tasks:
                task.retries = task_retries
        dag_run = dag.test(**kwargs)
        tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
        states = {task_id: ti.state for task_id, ti in tis.items()}
        summary = tis["summarize_run"].xcom_pull(task_ids="summarize_run") if states.get(
            "summarize_run") == "success" else None
        return dag_run, states, summary

    def sf(self):
        from sfqb.hooks.salesforce import SfqbSalesforceHook

        return SfqbSalesforceHook()

    def qb(self):
        from sfqb.hooks.quickbooks import QuickBooksHook

        return QuickBooksHook()

    def writes(self) -> dict[str, int]:
        return {s: self.sandbox.counters(s)["writes"] for s in ("quickbooks", "salesforce")}


def report_of(summary: dict, area: str) -> dict:
    return next(a for a in summary["areas"] if a["area"] == area)


@pytest.fixture
def sync_env(sandbox, airflow_db, monkeypatch):
    from sfqb.state import MetadataDbVariables
    from sfqb_sandbox.connections import airflow_connections

    # The seed is dated an hour ago (one clock serves both servers), so it is plainly older
    # than any run's install date and lookback, whatever the test's timing.
    sandbox.set_clock("quickbooks", advance_seconds=-3600)
    try:
        for service in ("quickbooks", "salesforce"):
            sandbox.reset(service, seed="tiny")
    finally:
        sandbox.set_clock("quickbooks", reset=True)
    # Trust this sandbox's CA for the test (another session sandbox may have set another).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.connections["ca_bundle"])
    variables = MetadataDbVariables()
    for key in variables.keys("sfqb."):
        variables.delete(key)
    connections = dict(sandbox.connections)
    minted = sandbox.call("quickbooks", "POST", "oauth/refresh-token")
    connections["quickbooks"] = {**connections["quickbooks"], "refresh_token": minted["refresh_token"]}
    for conn_id, spec in airflow_connections(connections).items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(spec))
    # Retries still happen, with short pauses: the fault tests exhaust them in seconds.
    monkeypatch.setenv("SFQB_RETRY_BASE_DELAY", "0.05")
    sandbox.clear_counters()
    return SyncEnv(sandbox)
