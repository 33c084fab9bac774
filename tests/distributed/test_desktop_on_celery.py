"""sfqb_sync on QuickBooks Desktop on the CeleryExecutor (docs/multi-machine.md, "QuickBooks
Desktop"): the cluster of test_celery_sync.py (conftest.py starts it once), plus
docker-compose.yaml's ``qbwc`` service (sfqb's Web Connector service, its command and
environment) and its ``webconnector`` service (the Web Connector emulator) as processes. The
queue is the compose file's: its own database on the cluster's PostgreSQL, named by
AIRFLOW_CONN_SFQB_QBWC_QUEUE in every Airflow process. The emulator runs the sandbox's Desktop
company against the service over HTTP on localhost; the workers reach the company only through
the queue.

Runs after test_celery_sync.py (file order) and starts from a reset Salesforce org and Desktop
company with no sfqb Variable, so it does not depend on what the Online runs left.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sfqb import soql
from sfqb.qbwc import DONE, JobQueue
from sfqb.qbwc.settings import queue_url
from tests.distributed.cluster import WORKERS, Cluster, wait_until
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.distributed, pytest.mark.timeout(900)]

DAG_ID = "sfqb_sync"
WAKE = ":web-connector:"  # in the key of await_web_connector's read


@dataclass
class DesktopRun:
    run_id: str
    state: str
    tasks: dict[str, dict]
    summary: dict | None
    seconds: float
    writes: dict[str, int]  # writes each sandbox saw during the run


@dataclass
class Desktop:
    first: DesktopRun
    second: DesktopRun
    queue: JobQueue
    password: str
    company_ids: dict[str, set[str]]  # ListIDs in the company after both runs, by kind
    salesforce_links: dict[str, set[str]]  # External IDs Salesforce holds, by object


def writes(cluster: Cluster) -> dict[str, int]:
    """Writes so far, by the sandbox's counters: the company file's write requests (adds, mods,
    deletes, voids: every request but a query) and Salesforce's writes."""
    return {
        "quickbooks_desktop": cluster.admin.counters("quickbooks_desktop")["writes"],
        "salesforce": cluster.admin.counters("salesforce")["writes"],
    }


def run_once(cluster: Cluster, before_wait=None) -> DesktopRun:
    before = writes(cluster)
    began = time.monotonic()
    run_id = cluster.trigger(DAG_ID)
    if before_wait is not None:
        before_wait()
    state = cluster.wait_run(DAG_ID, run_id)
    seconds = time.monotonic() - began
    tasks = {ti["task_id"]: ti for ti in cluster.task_instances(DAG_ID, run_id)}
    assert state == "success", cluster.why_failed(DAG_ID, run_id)
    summary = cluster.xcom(DAG_ID, run_id, "summarize_run")
    after = writes(cluster)
    return DesktopRun(
        run_id, state, tasks, summary, seconds, {k: after[k] - before[k] for k in after}
    )


def company_ids(cluster: Cluster) -> dict[str, set[str]]:
    """The ListIDs of the company's customers and items, read straight from the company file
    (the Web Connector stopped: QuickBooks takes one session at a time)."""
    from sfqb_sandbox.webconnector import HttpCompany
    from tests.sandbox.qbd.conftest import message

    info = cluster.admin.connections["quickbooks_desktop"]
    company = HttpCompany(
        info["qbxml_url"].removesuffix("/qbxml"), verify=cluster.admin.connections["ca_bundle"]
    )
    company.open("")
    try:
        out = {}
        for kind in ("Customer", "Item"):
            answer = company.process(message(f"<{kind}QueryRq/>", on_error="stopOnError"))
            assert 'statusCode="0"' in answer, answer[:500]
            out[kind] = set(re.findall(r"<ListID>([^<]+)</ListID>", answer))
    finally:
        company.close()
    return out


def salesforce_links(cluster: Cluster) -> dict[str, set[str]]:
    """The QuickBooks ids Salesforce holds on Accounts and Products, read through sfqb's hook."""
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb_sandbox.connections import salesforce_connection

    connections = cluster.admin.connections
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", connections["ca_bundle"])
        patch.setenv(
            "AIRFLOW_CONN_DISTRIBUTED_SALESFORCE",
            json.dumps(salesforce_connection(connections["salesforce"])),
        )
        sf = SfqbSalesforceHook("distributed_salesforce")
        return {
            sobject: {
                row[link]
                for row in sf.query(
                    soql.select(sobject, [link], where=soql.compare(link, "!=", None))
                )
            }
            for sobject, link in (
                ("Account", "External_Account_ID__c"),
                ("Product2", "External_Item_ID__c"),
            )
        }


@pytest.fixture(scope="module")
def desktop(cluster: Cluster) -> Iterator[Desktop]:
    """The Desktop set-up a compose user makes, then two runs through the REST API.

    1. A fresh start: the org and the company reset to the "tiny" seed, every sfqb Variable but
       the preferences deleted, preferences ``quickbooks_edition: desktop``, the DAG unpaused.
    2. ``quickbooks_desktop_default`` as airflow-init-sandbox makes it (``python -m sfqb_sandbox
       airflow-connections --desktop-password-file``, the password kept in config/secrets/),
       created through the REST API.
    3. The qbwc service and the Web Connector emulator started; once it has polled, the
       emulator is stopped, so the run's wake read waits for it deferred on the triggerer; it
       comes back once that read is queued.
    4. Two runs: the second finds nothing to do.
    """
    began = time.monotonic()
    for service in ("quickbooks_desktop", "salesforce"):
        cluster.admin.reset(service, seed="tiny")
    variables = cluster.api("GET", "/api/v2/variables", params={"limit": 1000}).json()
    for variable in variables["variables"]:
        if variable["key"].startswith("sfqb.") and variable["key"] != "sfqb.preferences":
            assert cluster.api("DELETE", f"/api/v2/variables/{variable['key']}").ok
    answer = cluster.api(
        "PATCH",
        "/api/v2/variables/sfqb.preferences",
        json={"key": "sfqb.preferences", "value": json.dumps({"quickbooks_edition": "desktop"})},
    )
    assert answer.ok, answer.text
    answer = cluster.api("PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
    assert answer.ok, answer.text

    imported = subprocess.run(
        [
            sys.executable,
            "-m",
            "sfqb_sandbox",
            "airflow-connections",
            "--data-dir",
            str(cluster.sandbox.data_dir),
            "--desktop-password-file",
            str(cluster.desktop_password_file()),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    conn = json.loads(imported.stdout)["quickbooks_desktop_default"]
    password = cluster.desktop_password_file().read_text().strip()
    assert conn["password"] == password and len(password) >= 20
    answer = cluster.api(
        "POST",
        "/api/v2/connections",
        json={
            "connection_id": "quickbooks_desktop_default",
            "conn_type": conn["conn_type"],
            "login": conn["login"],
            "password": conn["password"],
            "extra": conn["extra"],
        },
    )
    assert answer.ok, answer.text

    cluster.start_qbwc()
    with pytest.MonkeyPatch.context() as patch:  # the queue the cluster's processes open
        patch.setenv("AIRFLOW_CONN_SFQB_QBWC_QUEUE", cluster.env["AIRFLOW_CONN_SFQB_QBWC_QUEUE"])
        queue = JobQueue.from_url(queue_url(), migrate=False)
    try:
        cluster.start_webconnector()
        wait_until(
            "the Web Connector's first poll",
            lambda: queue.last_poll() is not None,
            120,
            [cluster.proc("qbwc"), cluster.proc("webconnector")],
        )
        cluster.stop_proc("webconnector")
        cluster.timings["desktop set-up"] = time.monotonic() - began

        def web_connector_comes_back() -> None:
            wait_until("the wake read", lambda: any(WAKE in j.key for j in queue.jobs()), 300)
            time.sleep(1.0)
            cluster.start_webconnector()

        first = run_once(cluster, web_connector_comes_back)
        cluster.timings["desktop first run"] = first.seconds
        second = run_once(cluster)
        cluster.timings["desktop second run"] = second.seconds
        cluster.stop_proc("webconnector")
        yield Desktop(
            first, second, queue, password, company_ids(cluster), salesforce_links(cluster)
        )
    finally:
        queue.close()


def test_given_a_desktop_company_when_synced_on_two_celery_workers_then_both_systems_are_linked(
    cluster, desktop
):
    """R-QBD-1, R-QBD-3 on Celery: the first run, triggered through the REST API, succeeds on
    both workers; it creates items and customers in QuickBooks through the qbwc service's queue
    (nothing failed), and every QuickBooks id Salesforce then holds on an Account or a Product
    is a customer or an item of the company file, as on one machine
    (tests/integration/test_desktop_sync.py)."""
    first = desktop.first
    assert {ti["state"] for ti in first.tasks.values()} <= {"success", "skipped"}, first.tasks
    assert {ti["hostname"] for ti in first.tasks.values() if ti["hostname"]} == set(WORKERS)
    items, customers = report_of(first.summary, "items"), report_of(first.summary, "customers")
    assert items["created"] > 0 and items["failed"] == 0, items
    assert customers["created"] > 0 and customers["failed"] == 0, customers
    assert first.writes["quickbooks_desktop"] > 0
    links = desktop.salesforce_links
    assert links["Account"] and links["Account"] <= desktop.company_ids["Customer"], links
    assert links["Product2"] and links["Product2"] <= desktop.company_ids["Item"], links


def test_given_a_synced_desktop_company_when_the_next_run_comes_then_it_writes_nothing(desktop):
    """R-GEN-3 on Celery: the second run succeeds, creates nothing in any area and writes to
    neither the company nor the org."""
    second = desktop.second
    assert second.writes == {"quickbooks_desktop": 0, "salesforce": 0}, second.writes
    assert all(
        report_of(second.summary, a["area"])["created"] == 0 for a in second.summary["areas"]
    )


def test_given_the_web_connector_between_updates_when_the_run_starts_then_the_triggerer_waits(
    cluster, desktop
):
    """R-QBD-2 with the cluster's triggerer: the first run's ``await_web_connector`` queued its
    wake read while the Web Connector was away and deferred (its log says so); the read was
    answered once, when the Web Connector came back, and the run went on."""
    (task_id,) = [t for t in desktop.first.tasks if t.endswith("await_web_connector")]
    logs = cluster.task_logs(DAG_ID, desktop.first.run_id, task_id)
    assert any("deferring to the triggerer until job(s)" in p.read_text() for p in logs), logs
    (wake,) = [j for j in desktop.queue.jobs() if WAKE in j.key and desktop.first.run_id in j.key]
    assert wake.state == DONE and wake.attempts == 1, wake


def test_given_both_runs_done_when_the_queue_and_the_sessions_are_read_then_nothing_is_left_open(
    cluster, desktop
):
    """R-QBD-1, R-QBD-8: after both runs every job in the queue (on its own PostgreSQL database)
    is done, none queued, sent or in doubt; the Web Connector's sessions are recorded, with no
    error in either run's summary (the first run's session, kept open by the service's linger,
    served the second run too); the queue's tables are not in Airflow's metadata DB."""
    jobs = desktop.queue.jobs()
    assert jobs and {j.state for j in jobs} == {DONE}, {j.key: j.state for j in jobs}
    assert desktop.queue.in_doubt() == []
    assert desktop.queue.sessions(limit=1000)
    first, second = (run.summary["web_connector"] for run in (desktop.first, desktop.second))
    assert first["last_poll"] and first["sessions"] > 0 and first["errors"] == [], first
    # the second run started while the first run's session lingered: it ran in that session
    assert second["last_poll"] > first["last_poll"] and second["errors"] == [], second
    assert cluster.sql("SELECT to_regclass('sfqb_qbwc_jobs')") == [(None,)]
    assert desktop.queue.engine.url.database == "sfqb_qbwc"


def test_given_the_desktop_runs_when_every_log_is_read_then_none_holds_the_web_connector_password(
    cluster, desktop
):
    """R-OPS-4: the Web Connector's password (in the connection, checked by the qbwc service on
    every authenticate) appears in no process log and no task log of the cluster."""
    files = [p for p in cluster.log_files() if p.name != "sandbox.log"]
    found = [str(p) for p in files if desktop.password in p.read_text(errors="replace")]
    assert found == []
