"""sfqb_sync on the CeleryExecutor (docs/multi-machine.md): two workers that share nothing but the
metadata DB, the broker and the XCom object-storage path, triggered through the REST API.

One cluster for the module (conftest.py), two DAG runs: the first syncs the "tiny" seed and is
compared with a LocalExecutor run (dag.test()) of the same seed on the test session's own
sandbox; the second runs with one-minute QuickBooks access tokens, so every QuickBooks task
refreshes and the rotating refresh token has to travel between the workers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sfqb import soql
from tests.distributed.cluster import PASSWORD, WORKERS, Cluster
from tests.integration.conftest import SINCE_SEED, report_of

# The first test also waits for the cluster's start and the first run (minutes on a busy machine).
pytestmark = [pytest.mark.distributed, pytest.mark.timeout(1200)]

DAG_ID = "sfqb_sync"
TOKEN_STATE = "sfqb.quickbooks_default.token_state"
SF_LINKS = {
    "Account": "External_Account_ID__c",
    "Product2": "External_Item_ID__c",
    "Opportunity": "External_Transaction_ID__c",
    "Invoice__c": "External_Invoice_ID__c",
}
QB_ENTITIES = ("Customer", "Item", "Invoice", "SalesReceipt", "Payment")


@dataclass
class Run:
    run_id: str
    state: str
    tasks: dict[str, dict]
    summary: dict | None
    seconds: float
    refreshes: int  # calls to the QuickBooks token endpoint during the run (the sandbox's count)
    rotations: dict[str, int]  # "refresh token rotated and saved" in each worker's task logs


def linked_counts(sf, qb) -> dict[str, int]:
    """Records each side holds after a sync: Salesforce records carrying a QuickBooks link,
    QuickBooks records by entity."""
    counts = {
        f"salesforce {sobject} linked": sf.count(sobject, soql.compare(link, "!=", None))
        for sobject, link in SF_LINKS.items()
    }
    counts.update(
        {f"quickbooks {entity}": qb.count(entity, include_inactive=True) for entity in QB_ENTITIES}
    )
    return counts


def area_counts(summary: dict) -> dict[str, dict[str, dict[str, int]]]:
    """Per area, the counts per record type (R-GEN-11)."""
    return {area["area"]: area.get("records") or {} for area in summary["areas"]}


def cluster_linked_counts(cluster: Cluster) -> dict[str, int]:
    """linked_counts() against the cluster's sandbox, read from this process through sfqb's
    hooks: their own connection ids and a freshly minted refresh token held in memory, so the
    cluster's rotating token is never touched."""
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb_sandbox.connections import airflow_connections

    connections = dict(cluster.admin.connections)
    minted = cluster.admin.call("quickbooks", "POST", "oauth/refresh-token")
    connections["quickbooks"] = {
        **connections["quickbooks"],
        "refresh_token": minted["refresh_token"],
    }
    specs = airflow_connections(connections)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", connections["ca_bundle"])
        patch.setenv("AIRFLOW_CONN_DISTRIBUTED_QUICKBOOKS", json.dumps(specs["quickbooks_default"]))
        patch.setenv("AIRFLOW_CONN_DISTRIBUTED_SALESFORCE", json.dumps(specs["salesforce_default"]))
        return linked_counts(
            SfqbSalesforceHook("distributed_salesforce"),
            QuickBooksHook("distributed_quickbooks", token_store=InMemoryTokenStore()),
        )


def rotations(cluster: Cluster, run_id: str) -> dict[str, int]:
    return {
        worker: sum(
            p.read_text(errors="replace").count("refresh token rotated and saved")
            for p in (cluster.base / worker / "airflow" / "logs").rglob("*.log")
            if f"run_id={run_id}" in str(p)
        )
        for worker in WORKERS
    }


def refreshes(cluster: Cluster) -> int:
    return cluster.admin.counters("quickbooks")["by_operation"].get("token.refresh_token", 0)


@dataclass
class Triggered:
    run_id: str
    began: float
    refreshes_before: int


def trigger(cluster: Cluster, conf: dict | None = None) -> Triggered:
    before = refreshes(cluster)
    return Triggered(cluster.trigger(DAG_ID, conf), time.monotonic(), before)


def finished(cluster: Cluster, triggered: Triggered) -> Run:
    state = cluster.wait_run(DAG_ID, triggered.run_id)
    seconds = time.monotonic() - triggered.began
    tasks = {ti["task_id"]: ti for ti in cluster.task_instances(DAG_ID, triggered.run_id)}
    summary = (
        cluster.xcom(DAG_ID, triggered.run_id, "summarize_run") if state == "success" else None
    )
    return Run(
        triggered.run_id,
        state,
        tasks,
        summary,
        seconds,
        refreshes(cluster) - triggered.refreshes_before,
        rotations(cluster, triggered.run_id),
    )


@pytest.fixture(scope="module")
def first_trigger(cluster: Cluster) -> Triggered:
    """Preferences set and the DAG unpaused through the REST API, then one run triggered (the
    LocalExecutor comparison runs while the cluster works on it)."""
    answer = cluster.api(
        "PATCH",
        "/api/v2/variables/sfqb.preferences",
        json={"key": "sfqb.preferences", "value": json.dumps({"sync_start": SINCE_SEED})},
    )
    assert answer.ok, answer.text
    answer = cluster.api("PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
    assert answer.ok, answer.text
    return trigger(cluster)


@pytest.fixture(scope="module")
def first_run(cluster: Cluster, first_trigger: Triggered) -> Run:
    run = finished(cluster, first_trigger)
    cluster.timings["first run"] = run.seconds
    return run


@pytest.fixture(scope="module")
def second_run(cluster: Cluster, first_run: Run) -> Run:
    """The refresh token has to change hands: the worker that rotated it in the first run stops
    taking tasks, so the second run runs on the other one, which finds the newest token only in
    the token-state Variable. Access tokens live one minute and the current one is expired, so
    the hook refreshes (and rotates) before each QuickBooks task (it keeps a token only while
    more than five minutes are left). Narrowed to two areas (the trigger form's ``areas``)."""
    idle = [worker for worker in WORKERS if not first_run.rotations[worker]]
    assert len(idle) == 1, f"expected the first run's refresh on one worker: {first_run.rotations}"
    cluster.consume_only_on(idle[0])
    cluster.admin.call("quickbooks", "POST", "oauth/settings", {"access_token_ttl_seconds": 60})
    cluster.admin.call("quickbooks", "POST", "expire-tokens")
    run = finished(cluster, trigger(cluster, {"areas": ["customers", "invoices"]}))
    cluster.timings["second run"] = run.seconds
    return run


def test_given_the_same_seed_when_synced_on_the_local_executor_then_the_celery_run_gave_the_same_results(
    cluster, first_trigger, sync_env, request
):
    """Same results on any executor: a dag.test() (LocalExecutor path) run of the same "tiny" seed
    with the same preferences, made while the cluster works on its run, gives the same per-area
    created/updated/skipped/failed counts and leaves the same numbers of linked records in
    Salesforce and QuickBooks as the Celery run."""
    sync_env.set_preferences(sync_start=SINCE_SEED)
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states
    local_linked = linked_counts(sync_env.sf(), sync_env.qb())

    first_run = request.getfixturevalue("first_run")
    assert first_run.summary is not None, first_run.state
    assert area_counts(first_run.summary) == area_counts(summary)
    celery_linked = cluster_linked_counts(cluster)
    assert celery_linked == local_linked
    assert report_of(summary, "customers")["created"] > 0
    assert (
        celery_linked["salesforce Account linked"] > 0 and celery_linked["quickbooks Invoice"] > 0
    )


def test_given_two_celery_workers_when_sfqb_sync_is_triggered_through_the_rest_api_then_every_task_succeeds_on_both(
    cluster, first_run
):
    """Operating it on Celery: the run triggered through the public API v2 succeeds; every task of
    the DAG (as the dag-processor serialized it) ran and succeeded; the tasks were spread over BOTH
    workers (each reports its own hostname) and each worker wrote the logs of its tasks, and
    only those, under its own AIRFLOW_HOME."""
    assert first_run.state == "success", {t: ti["state"] for t, ti in first_run.tasks.items()}
    dag_tasks = cluster.api("GET", f"/api/v2/dags/{DAG_ID}/tasks").json()["tasks"]
    assert set(first_run.tasks) == {task["task_id"] for task in dag_tasks}
    assert {t: ti["state"] for t, ti in first_run.tasks.items() if ti["state"] != "success"} == {}
    hosts = {ti["hostname"] for ti in first_run.tasks.values()}
    assert hosts == set(WORKERS), hosts
    for worker in WORKERS:
        ran_here = {t for t, ti in first_run.tasks.items() if ti["hostname"] == worker}
        logs = list(
            (cluster.base / worker / "airflow" / "logs").rglob(
                f"run_id={first_run.run_id}/task_id=*/*.log"
            )
        )
        logged = {p.parent.name.removeprefix("task_id=") for p in logs}
        assert logged == ran_here, (worker, logged ^ ran_here)


def test_given_frames_above_the_threshold_when_tasks_pass_them_on_then_they_travel_through_object_storage(
    cluster, first_run
):
    """With the compose file's XCom backend and threshold, no XCom row in the metadata
    DB reaches the threshold; the large values (the extracted frames) are files under the
    shared object-storage path, and the DB holds only their paths."""
    threshold = int(cluster.env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"])
    rows = cluster.sql("SELECT task_id, value::text FROM xcom WHERE run_id = %s", first_run.run_id)
    assert rows
    too_big = {
        task: len(value) for task, value in rows if value and len(value.encode()) >= threshold
    }
    assert too_big == {}
    stored = [json.loads(value) for _, value in rows if value and str(cluster.xcom_dir) in value]
    assert stored, "no XCom went to object storage: the threshold or the backend is not in effect"
    for reference in stored:
        size = Path(reference.removeprefix("file://")).stat().st_size
        assert size >= threshold, (reference, size)


def test_given_the_refresh_token_rotated_on_one_worker_when_the_other_runs_the_next_sync_then_the_rotation_holds(
    cluster, first_run, second_run
):
    """R-OPS-4 (two workers): the worker that did not rotate the refresh token in the first run runs
    the whole second run (the other one stopped consuming), with every QuickBooks task
    refreshing: it succeeds; every refresh the token endpoint saw was rotated and saved on that
    worker (none refused); no log of any process says invalid_grant; the token-state Variable
    holds the newest refresh token (the token endpoint accepts it) while the connection's
    original one has been rotated away (refused with invalid_grant)."""
    assert second_run.state == "success", {t: ti["state"] for t, ti in second_run.tasks.items()}
    ran = {t: ti for t, ti in second_run.tasks.items() if ti["state"] != "skipped"}
    assert {ti["state"] for ti in ran.values()} == {"success"}
    assert {"customers.load_customers", "invoices.load_invoices"} <= set(ran)
    (second_worker,) = {ti["hostname"] for ti in ran.values()}
    assert first_run.rotations[second_worker] == 0, first_run.rotations
    assert sum(first_run.rotations.values()) >= 1, first_run.rotations
    assert second_run.rotations[second_worker] >= 2, second_run.rotations
    assert second_run.refreshes == sum(second_run.rotations.values()), (
        second_run.refreshes,
        second_run.rotations,
    )
    refused = [
        str(p) for p in cluster.log_files() if "invalid_grant" in p.read_text(errors="replace")
    ]
    assert refused == []

    from sfqb.hooks.token_store import SEALED, unseal

    extra = json.loads(cluster.connection_extra("quickbooks_default"))
    sealed = cluster.variable(TOKEN_STATE)
    assert sealed.startswith(SEALED) and extra["refresh_token"] not in sealed  # R-OPS-4
    state = json.loads(unseal(sealed, extra["refresh_token"]))
    assert state["bootstrap_refresh_token"] == extra["refresh_token"]
    info = cluster.admin.connections["quickbooks"]
    session = requests.Session()
    session.trust_env = False  # this process's REQUESTS_CA_BUNDLE is the session sandbox's
    session.verify = cluster.admin.connections["ca_bundle"]
    endpoint = session.get(info["discovery_url"], timeout=30).json()["token_endpoint"]

    def refresh(token: str) -> requests.Response:
        return session.post(
            endpoint,
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=(info["client_id"], info["client_secret"]),
            timeout=30,
        )

    original = refresh(extra["refresh_token"])
    assert original.status_code == 400 and original.json()["error"] == "invalid_grant", (
        original.text
    )
    # Checking that the newest token is accepted spends it (every refresh rotates): a grace
    # window keeps it working for the next run, which gets the successor this check was given.
    cluster.admin.call("quickbooks", "POST", "oauth/settings", {"grace_seconds": 3600})
    newest = refresh(state["refresh_token"])
    assert newest.status_code == 200, newest.text


def test_given_the_cluster_at_debug_when_both_runs_are_done_then_no_log_holds_a_credential(
    cluster, first_run, second_run
):
    """R-OPS-4 on the Celery path: every process of the cluster logs at DEBUG (the Celery
    workers' task supervisors print each message a task sent, the token state's Variable writes
    included); after both runs no process log and no task log holds a connection's secret, the
    cluster's Fernet key, JWT secret or UI password, a token of the token state, or any token
    the sandboxes minted."""
    from sfqb.hooks.token_store import unseal
    from tests.integration.test_secrets import leaks

    assert cluster.env["AIRFLOW__LOGGING__LOGGING_LEVEL"] == "DEBUG"
    extra = json.loads(cluster.connection_extra("quickbooks_default"))
    state = json.loads(unseal(cluster.variable(TOKEN_STATE), extra["refresh_token"]))
    quickbooks, salesforce = (
        cluster.admin.connections["quickbooks"],
        cluster.admin.connections["salesforce"],
    )
    secrets = {
        "QuickBooks client secret": quickbooks["client_secret"],
        "QuickBooks refresh token (connection)": extra["refresh_token"],
        "QuickBooks refresh token (rotated)": state["refresh_token"],
        "QuickBooks access token": state["access_token"],
        "Salesforce password": salesforce["password"],
        "Salesforce consumer secret": salesforce["consumer_secret"],
        "Salesforce security token": salesforce["security_token"],
        "Salesforce long-lived session": salesforce["access_token"],
        "Airflow Fernet key": cluster.fernet_key,
        "Airflow JWT secret": cluster.jwt_secret,
        "Airflow UI password": PASSWORD,
    }
    files = [p for p in cluster.log_files() if p.name != "sandbox.log"]  # the test servers' own
    supervisors = "".join(p.read_text(errors="replace") for p in files if p.parent.name == "logs")
    assert "Received message from task runner" in supervisors  # the DEBUG lines were written
    found = leaks(
        {str(p.relative_to(cluster.base)): p.read_text(errors="replace") for p in files}, secrets
    )
    assert not found, found


def test_given_a_sync_and_the_migration_triggered_together_when_both_workers_run_them_then_one_writes_at_a_time(
    cluster, second_run
):
    """R-GEN-10 (docs/multi-machine.md): sfqb_sync and sfqb_invoice_migration triggered at once
    through the REST API, both workers taking tasks, QuickBooks /batch slowed: the two runs'
    leases (from take_lease's end to give_back_lease's start) never overlap, the later one
    logged that it waited for the other, both succeed, the heartbeat thread renewed the lease
    under the workers' task supervisor, and no lease entry is left."""
    migration = "sfqb_invoice_migration"
    cluster.consume_on_all()
    prefs = {
        "sync_start": SINCE_SEED,
        "migration_date": "2020-01-01",
        "lease_wait_seconds": 600,
        "lease_expiry_seconds": 60,
    }
    answer = cluster.api(
        "PATCH",
        "/api/v2/variables/sfqb.preferences",
        json={"key": "sfqb.preferences", "value": json.dumps(prefs)},
    )
    assert answer.ok, answer.text
    assert cluster.api("PATCH", f"/api/v2/dags/{migration}", json={"is_paused": False}).ok
    cluster.admin.add_fault("quickbooks", kind="slow", path="/batch$", delay_ms=3000, times=None)
    # One read outlasts a heartbeat interval (expiry / 6 = 10 s), so the task making it lasts long
    # enough for the heartbeat thread to renew (on a quiet machine every task is shorter).
    cluster.admin.add_fault("quickbooks", kind="slow", path="/query", delay_ms=12000, times=1)
    try:
        runs = {
            DAG_ID: cluster.trigger(DAG_ID),
            migration: cluster.trigger(migration, {"migration_date": prefs["migration_date"]}),
        }
        states = {dag_id: cluster.wait_run(dag_id, run_id) for dag_id, run_id in runs.items()}
    finally:
        cluster.admin.clear_faults("quickbooks")
    tasks = {
        dag_id: {ti["task_id"]: ti for ti in cluster.task_instances(dag_id, run_id)}
        for dag_id, run_id in runs.items()
    }
    assert states == {DAG_ID: "success", migration: "success"}, "\n".join(
        cluster.why_failed(dag_id, run_id) for dag_id, run_id in runs.items()
    )
    held = sorted(
        (tis["take_lease"]["end_date"], tis["give_back_lease"]["start_date"], dag_id)
        for dag_id, tis in tasks.items()
    )
    assert held[0][1] <= held[1][0], held  # ISO instants in UTC compare as text
    logs = {
        p: p.read_text(errors="replace")
        for worker in WORKERS
        for p in (cluster.base / worker / "airflow" / "logs").rglob("*.log")
    }
    later = held[1][2]
    assert any(
        "waiting for the lease: " + held[0][2] in text
        for p, text in logs.items()
        if f"dag_id={later}" in str(p) and "task_id=take_lease" in str(p)
    )
    assert any("the lease heartbeat thread renewed the lease" in text for text in logs.values())
    assert cluster.sql("SELECT key FROM variable WHERE key LIKE 'sfqb.lease.%%'") == []
