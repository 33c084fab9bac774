"""One writer at a time (R-GEN-10): real runs of both DAGs against the sandbox servers.

In this process (``dag.test()``): a run that finds the lease held waits its bound and ends
failed without writing, naming the holder; a holder that died stops blocking once its lease
expires; a failed run gives the lease back. In two other processes (``airflow dags test``, as
``make sync`` runs it): two runs started together with QuickBooks ``/batch`` slowed, so their
loads would overlap, and a holder killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sfqb.lease import lease_key
from sfqb.state import LEASE_PREFIX, MetadataDbVariables, SyncState
from tests.conftest import ROOT
from tests.integration import invariants as inv
from tests.integration.conftest import SINCE_SEED
from tests.integration.test_alerts import body_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

BIN = Path(sys.executable).parent
QB_BATCH = "/batch$"


def lease_entries() -> dict[str, dict]:
    variables = MetadataDbVariables()
    return {k: json.loads(variables.get(k)) for k in variables.keys(LEASE_PREFIX)}


def plant(dag_id: str, run_id: str, *, heartbeat_age: float, expiry: float) -> str:
    """A lease entry as a holder run leaves it (the heartbeat ``heartbeat_age`` s old)."""
    now = dt.datetime.now(dt.UTC)
    key = lease_key(dag_id, run_id)
    MetadataDbVariables().set(
        key,
        json.dumps(
            {
                "dag_id": dag_id,
                "run_id": run_id,
                "number": 1,
                "choosing": False,
                "registered_at": (now - dt.timedelta(minutes=5)).isoformat(),
                "acquired_at": (now - dt.timedelta(minutes=5)).isoformat(),
                "heartbeat_at": (now - dt.timedelta(seconds=heartbeat_age)).isoformat(),
                "expiry_seconds": expiry,
            }
        ),
    )
    return key


@pytest.mark.parametrize(
    ("dag_id", "holder_dag"),
    [("sfqb_sync", "sfqb_invoice_migration"), ("sfqb_invoice_migration", "sfqb_sync")],
)
def test_given_another_run_holding_the_lease_when_a_run_starts_then_it_waits_its_bound_and_ends_failed_without_writing(
    sync_env, smtp_server, capfd, dag_id, holder_dag
):
    """R-GEN-10, R-OPS-3, R-MIG-1: a run of either DAG that finds a live run of the other holding
    the lease waits lease_wait_seconds, then fails at take_lease without writing to either
    system; its task log names the holder run and its DAG, the failure alert the task; the
    holder's entry stays and the waiting run leaves none."""
    sync_env.set_preferences(
        sync_start=SINCE_SEED,
        lease_wait_seconds=2,
        alert_emails="ops@example.com",
        migration_date="2020-01-01",
    )
    holder_key = plant(holder_dag, "manual__the_holder", heartbeat_age=0, expiry=600)
    started = time.monotonic()

    conf = {"migration_date": "2020-01-01"} if dag_id == "sfqb_invoice_migration" else None
    dag_run, states, _ = sync_env.run(dag_id, task_retries=0, run_conf=conf)

    assert time.monotonic() - started >= 2
    assert dag_run.state == "failed"
    assert states["begin_run"] == "success" and states["take_lease"] == "failed"
    assert not {t: s for t, s in states.items() if s == "success" and t != "begin_run"}, states
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert list(lease_entries()) == [holder_key]
    (mail,) = smtp_server.mails()
    assert "The task that failed: take_lease." in html.unescape(body_of(mail))
    out, err = capfd.readouterr()
    assert (
        f"AirflowFailException: {holder_dag} run manual__the_holder (holds it since" in out + err
        and "waited 2 s (preference lease_wait_seconds) and ends without writing" in out + err
    )


def test_given_a_holder_that_died_when_the_next_run_starts_then_it_proceeds_once_the_lease_expired(
    sync_env,
):
    """R-GEN-10: a killed holder's lease (its heartbeat stopped) expires: the next run waits
    for the expiry, removes the dead entry, syncs, and gives the lease back."""
    sync_env.set_preferences(sync_start=SINCE_SEED, lease_wait_seconds=60)
    plant("sfqb_sync", "manual__killed", heartbeat_age=1, expiry=5)  # its run's expiry: 5 s
    started = time.monotonic()

    dag_run, states, summary = sync_env.run()

    assert dag_run.state == "success", states
    assert set(states.values()) == {"success"}, states
    assert summary["areas"]
    assert time.monotonic() - started >= 4  # it waited for the expiry
    assert lease_entries() == {}


def test_given_a_run_whose_area_fails_when_it_ends_then_it_gave_the_lease_back(sync_env):
    """R-GEN-10: a failed run does not block the next one until its lease expires: the
    teardown gives it back; the next run takes it at once."""
    sync_env.set_preferences(sync_start=SINCE_SEED, lease_wait_seconds=0)
    sync_env.sandbox.add_fault("quickbooks", kind="http_503", path=QB_BATCH, times=None)
    try:
        dag_run, states, _ = sync_env.run(task_retries=0)
    finally:
        sync_env.sandbox.clear_faults("quickbooks")
    assert dag_run.state == "failed"
    assert "failed" in {
        states[t] for t in states if t.startswith(("items.load", "customers.load"))
    }, states
    assert states["give_back_lease"] == "success"
    assert lease_entries() == {}

    dag_run, states, _ = sync_env.run()
    assert dag_run.state == "success", states


# -- real concurrent processes -------------------------------------------------------------------
def dags_test(
    tmp_path: Path, name: str, dag_id: str = "sfqb_sync"
) -> tuple[subprocess.Popen, Path]:
    """``airflow dags test DAG`` (what ``make sync`` runs) in its own process group, against
    this test's metadata database, sandbox and connections (the environment)."""
    log = tmp_path / f"{name}.log"
    # The CLI writes an airflow.cfg with a new Fernet key when AIRFLOW_HOME has none: two CLIs
    # started together would each encrypt Variables with their own. This process encrypts none.
    env = dict(os.environ, AIRFLOW__CORE__FERNET_KEY="")
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "airflow"), "dags", "test", dag_id],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log


def sync_dags_to_db() -> None:
    """What ``airflow dags test`` does first (write the parsed DAGs to the metadata database),
    done once here: two processes that both insert the DAGs at once collide on SQLite
    (``UNIQUE constraint failed: dag.dag_id``); once they exist, each only compares hashes."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    for bundle in manager.get_all_dag_bundles():
        if not bundle.is_initialized:
            bundle.initialize()
        sync_bag_to_db(
            BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name),
            bundle.name,
            bundle.version,
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def sync_runs() -> dict[str, dict]:
    """run_id -> {"state", "states", "summary"} of every sfqb_sync run in the database."""
    from airflow.models.dagrun import DagRun

    runs = {}
    for dag_run in DagRun.find(dag_id="sfqb_sync"):
        tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
        summary = (
            tis["summarize_run"].xcom_pull(task_ids="summarize_run")
            if tis.get("summarize_run") and tis["summarize_run"].state == "success"
            else None
        )
        runs[dag_run.run_id] = {
            "state": dag_run.state,
            "states": {t: ti.state for t, ti in tis.items()},
            "summary": summary,
        }
    return runs


def created(summary: dict, area: str) -> int:
    """The area's created records (of any type: here only QuickBooks transactions)."""
    from sfqb.outcomes import CREATED, count

    return next(count(a, CREATED) for a in summary["areas"] if a["area"] == area)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_given_two_runs_started_together_when_quickbooks_batches_are_slow_then_no_transaction_is_made_twice(
    sync_env, tmp_path
):
    """R-GEN-10, R-GEN-3, R-OPP-1: four new won opportunities, then two ``airflow dags test
    sfqb_sync`` processes started together against one company and org, every QuickBooks
    /batch slowed by 3 s (so one run's creates are still in flight when the other would look
    for them): one run holds the lease and makes the four invoices, the other waits for it and
    then finds nothing left to do. No record is made twice, each opportunity has exactly one
    invoice, and no lease entry is left."""
    from tests.integration.test_opportunities_sync import (
        linked_account,
        priced_products,
        won_opportunity,
    )

    env = sync_env
    env.set_preferences(sync_start=SINCE_SEED, lease_wait_seconds=600, lease_expiry_seconds=60)
    _, states, _ = env.run()  # the first run links the seed's accounts and products
    assert set(states.values()) == {"success"}, states
    account, (entry,) = linked_account(env), priced_products(env, 1)
    deals = {
        won_opportunity(env, account["Id"], "Invoice", lines=[(entry, n, 100, f"deal {n}")])
        for n in range(1, 5)
    }
    sf, qb = env.sf(), env.qb()
    before = inv.snapshot(sf, qb)
    env.sandbox.add_fault("quickbooks", kind="slow", path=QB_BATCH, delay_ms=3000, times=None)
    sync_dags_to_db()
    earlier = set(sync_runs())  # this test's first run, and other tests' runs in this database
    procs = [dags_test(tmp_path, "first"), dags_test(tmp_path, "second")]
    try:
        for proc, log in procs:
            assert proc.wait(timeout=800) == 0, log.read_text()[-4000:]
    finally:
        for proc, _ in procs:
            stop(proc)
        env.sandbox.clear_faults("quickbooks")

    runs = {i: r for i, r in sync_runs().items() if i not in earlier}
    assert len(runs) == 2 and {r["state"] for r in runs.values()} == {"success"}, runs
    logs = "\n".join(log.read_text() for _, log in procs)
    assert "waiting for the lease: sfqb_sync run " in logs  # one of them waited for the other
    made = sorted(created(r["summary"], "opportunities") for r in runs.values())
    assert made == [0, 4], made
    after = inv.check(
        SyncState(MetadataDbVariables()),
        before,
        sf,
        qb,
        inv.Expected(opportunities=deals),
        synced=True,
    )
    assert len(set(after.transactions) - set(before.transactions)) == 4
    assert lease_entries() == {}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_given_a_holder_killed_while_it_holds_the_lease_when_the_next_run_starts_then_it_proceeds_after_the_expiry(
    sync_env, tmp_path, caplog
):
    """R-GEN-10: ``airflow dags test`` killed (SIGKILL) while it holds the lease leaves its entry
    behind; the next run waits until that entry's heartbeat is older than its expiry (the
    killed run's: 8 s), removes it, takes the lease and syncs."""
    env = sync_env
    env.set_preferences(sync_start=SINCE_SEED, lease_wait_seconds=120, lease_expiry_seconds=8)
    sync_dags_to_db()
    proc, log = dags_test(tmp_path, "killed")
    try:
        deadline = time.monotonic() + 400
        while not any(e.get("acquired_at") for e in lease_entries().values()):
            assert proc.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, "the first run never took the lease"
            time.sleep(0.2)
    finally:
        stop(proc)
    (dead,) = lease_entries().values()
    env.set_preferences(sync_start=SINCE_SEED, lease_wait_seconds=120)  # this run: default expiry

    dag_run, states, summary = env.run()

    assert dag_run.state == "success", states
    assert dag_run.run_id != dead["run_id"] and summary["areas"]
    assert lease_entries() == {}
    removed = [
        r.getMessage()
        for r in caplog.records
        if r.name == "sfqb.lease" and "expired" in r.getMessage()
    ]
    assert any(f"sfqb_sync run {dead['run_id']} expired" in m for m in removed), removed
