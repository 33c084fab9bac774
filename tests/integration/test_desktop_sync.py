"""sfqb_sync on QuickBooks Desktop, end to end: the DAG's tasks reach the company only through
sfqb's Web Connector service, polled by the Web Connector emulator (R-QBD-1, R-QBD-3,
R-QBD-8, R-GEN-3)."""

from __future__ import annotations

import pytest

from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_given_a_desktop_company_when_synced_twice_then_the_second_run_writes_nothing(
    desktop_env,
):
    """The first run links, exports items and customers both ways through the queue; the
    second finds nothing to do and writes to neither system (R-QBD-1, R-QBD-3, R-GEN-3)."""
    desktop_env.set_preferences(quickbooks_edition="desktop")
    dag_run, states, summary = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    items, customers = report_of(summary, "items"), report_of(summary, "customers")
    assert items["created"] > 0 and items["failed"] == 0
    assert customers["created"] > 0 and customers["failed"] == 0
    served = desktop_env.rig.queue.jobs()
    assert served and all(j.state == "done" for j in served)
    polled = summary["web_connector"]
    assert polled["last_poll"] and polled["sessions"] > 0 and polled["errors"] == []

    desktop_env.sandbox.clear_counters()
    dag_run, states, summary = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    assert desktop_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert all(report_of(summary, a["area"])["created"] == 0 for a in summary["areas"])


def test_given_the_web_connector_stopped_when_the_sync_runs_then_it_fails_clearly_and_the_next_completes(
    desktop_env, monkeypatch, capfd
):
    """The Web Connector is closed on the QuickBooks PC: the run fails at its first QuickBooks
    read, saying the Web Connector is not running and when it last polled, with nothing
    written and no work left queued; once it runs again, the next run completes (R-QBD-2)."""
    import json
    import os
    import time

    conn = json.loads(os.environ["AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT"])
    extra = {**json.loads(conn["extra"]), "max_poll_minutes": 0.02}  # 1.2 s of silence
    monkeypatch.setenv(
        "AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT",
        json.dumps({**conn, "extra": json.dumps(extra)}),
    )
    desktop_env.set_preferences(quickbooks_edition="desktop")
    desktop_env.rig.stop()
    time.sleep(1.5)
    desktop_env.sandbox.clear_counters()

    dag_run, states, _ = desktop_env.run(task_retries=0)

    assert dag_run.state == "failed"
    failed = sorted(t for t, s in states.items() if s == "failed")
    assert failed and failed[0].startswith("preflight"), states
    logged = capfd.readouterr().out
    assert "the Web Connector is not running: it last polled at" in logged
    assert "Nothing was queued" in logged
    assert desktop_env.writes()["quickbooks"] == 0
    assert not desktop_env.rig.queue.has_work()

    # Running again, with the connection's usual allowance (1.2 s is for the stop above: a
    # busy machine can leave that long between two of a session's requests).
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT", json.dumps(conn))
    desktop_env.rig.start()
    dag_run, states, summary = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    assert report_of(summary, "customers")["created"] > 0


def test_given_the_web_connector_between_updates_when_a_run_starts_then_it_waits_deferred(
    desktop_env, capfd
):
    """The Web Connector polled a moment ago and is between two updates when the run starts:
    ``await_web_connector`` queues its wake read and defers (no worker slot held); the Web
    Connector's next update answers it, and the session it opened stays open for the rest of
    the run, which completes in that one session (R-QBD-2)."""
    import threading
    import time

    desktop_env.set_preferences(quickbooks_edition="desktop")
    queue = desktop_env.rig.queue
    desktop_env.rig.stop()

    def next_update() -> None:  # the Web Connector comes a second after the wake read is queued
        deadline = time.monotonic() + 120
        while not [j for j in queue.jobs() if ":web-connector:" in j.key]:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        time.sleep(1.0)
        desktop_env.rig.start()

    watcher = threading.Thread(target=next_update, daemon=True)
    watcher.start()
    dag_run, states, summary = desktop_env.run(task_retries=0)
    watcher.join(5)

    assert dag_run.state == "success", states
    logged = capfd.readouterr().out
    assert "deferring to the triggerer until job(s)" in logged
    (wake,) = [j for j in queue.jobs() if ":web-connector:" in j.key]
    assert wake.state == "done" and wake.attempts == 1
    assert summary["web_connector"]["sessions"] == 1, summary["web_connector"]
    assert report_of(summary, "customers")["created"] > 0


def test_given_a_lost_answer_after_customer_adds_when_synced_then_each_customer_exists_once(
    desktop_env,
):
    """QuickBooks applies the first message set of customer adds, but its answer never reaches
    the service (the Web Connector reports the failure): the write is in doubt, is looked up by
    its adds' identities instead of being sent again, and every new customer exists exactly
    once; a further run writes nothing (R-QBD-4, R-GEN-3)."""
    desktop_env.set_preferences(quickbooks_edition="desktop")
    desktop_env.sandbox.call(
        "quickbooks_desktop",
        "POST",
        "company/faults",
        {"kind": "lose_response", "request": "CustomerAddRq", "times": 1},
    )

    dag_run, states, summary = desktop_env.run(task_retries=0)
    if dag_run.state != "success":  # the in-doubt write settles on the next run at the latest
        dag_run, states, summary = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    (fault,) = desktop_env.sandbox.call("quickbooks_desktop", "GET", "company/faults")
    assert fault["fired"] == 1, fault
    names = [c["DisplayName"].strip().lower() for c in desktop_env.qb().query_all("Customer")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    accounts = desktop_env.sf().query(
        "SELECT Name, External_Account_ID__c FROM Account WHERE External_Account_ID__c != null"
    )
    ids = [a["External_Account_ID__c"] for a in accounts]
    assert len(ids) == len(set(ids))
    settled = [j for j in desktop_env.rig.queue.jobs() if j.kind == "write" and j.note]
    assert settled and "applied" in settled[0].note, [j.note for j in settled]

    desktop_env.sandbox.clear_counters()
    dag_run, states, _ = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    assert desktop_env.writes()["quickbooks"] == 0


def test_given_a_stale_edit_sequence_mid_load_when_synced_then_retried_once_both_edits_kept(
    desktop_env,
):
    """A QuickBooks user edits a customer between the run's read and its update from
    Salesforce: QuickBooks refuses the update's stale EditSequence (3200), the adapter reads the
    customer again and retries once; the customer keeps the user's edit and gets Salesforce's
    phone, nothing is duplicated, and a further run writes nothing to QuickBooks (R-QBD-4,
    R-GEN-3)."""
    desktop_env.set_preferences(
        quickbooks_edition="desktop", allow_salesforce_to_modify_quickbooks=True
    )
    dag_run, states, _ = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    sf, qb = desktop_env.sf(), desktop_env.qb()
    customers = {c["Id"]: c for c in qb.query_all("Customer")}
    account = next(
        a
        for a in sf.query("SELECT Id, External_Account_ID__c FROM Account")
        if a["External_Account_ID__c"] in customers
    )
    sf.update("Account", [{"Id": account["Id"], "Phone": "(415) 555-0199"}])
    from sfqb_sandbox.desktop_rig import UserEditsBeforeMod

    connector = desktop_env.rig.connector
    user = UserEditsBeforeMod(connector.company)
    connector.company = user
    count_before = len(customers)

    dag_run, states, _ = desktop_env.run(task_retries=0)

    assert dag_run.state == "success", states
    assert user.edited == [account["External_Account_ID__c"]]
    (after,) = qb.query_in("Customer", "Id", [account["External_Account_ID__c"]])
    assert after["PrimaryPhone"]["FreeFormNumber"] == "(415) 555-0199"
    assert after["Notes"] == "Edited in QuickBooks meanwhile"
    assert len(list(qb.query_all("Customer"))) == count_before

    desktop_env.sandbox.clear_counters()
    dag_run, states, _ = desktop_env.run(task_retries=0)
    assert dag_run.state == "success", states
    assert desktop_env.writes()["quickbooks"] == 0
