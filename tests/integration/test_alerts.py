"""Alerts (R-OPS-3): e-mails through the Airflow SMTP connection to a real local SMTP server
(the ``smtp_server`` fixture), from the notifier itself and from whole dag.test() runs."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from sfqb.notify import RunAlert
from sfqb.outcomes import warning_line
from sfqb.preferences import Preferences
from tests.integration.conftest import SINCE_SEED

pytestmark = pytest.mark.integration

TO = "ops@example.com, finance@example.com"


def summary(failed: int = 0) -> dict:
    warnings = [
        {
            "id": "w1",
            "area": "items",
            "key": "42",
            "kind": "skipped",
            "state": "new",
            "since": "t",
            "reason": "Widget has no sales price: its Product has no standard price",
        }
    ]
    warnings += [
        {
            "id": f"f{n}",
            "area": "items",
            "key": f"4{n}",
            "kind": "failed",
            "state": "new",
            "since": "t",
            "reason": "Stale Object Error [5010]",
        }
        for n in range(failed)
    ]
    return {
        "run_id": "manual__test",
        "upper_bound": "2026-11-26T04:00:00+00:00",
        "areas": [
            {
                "area": "items",
                "records": {"Salesforce Product": {"created": 2, "skipped": 1, "failed": failed}},
                "warning_count": len(warnings),
                "warning_counts": {"new": len(warnings)},
                "warnings": warnings,
            }
        ],
    }


def body_of(mail) -> str:
    return mail.get_body(preferencelist=("html", "plain")).get_content()


def test_given_warnings_at_the_minimum_level_when_the_notifier_runs_then_the_mail_lists_them(
    smtp_server,
):
    """R-OPS-3: a run with warnings at or above alert_min_level (WARNING) e-mails every
    address of alert_emails through the SMTP connection, listing the warnings."""
    RunAlert(summary=summary(), preferences=Preferences(alert_emails=TO))({"dag": None})
    (mail,) = smtp_server.mails()
    assert smtp_server.messages[0]["to"] == ["ops@example.com", "finance@example.com"]
    assert mail["From"] == "sfqb-alerts@example.com"
    assert mail["Subject"] == "[sfqb] sfqb run manual__test: 1 new warning(s) (WARNING)"
    assert "items: 42: Widget has no sales price" in body_of(mail)


def test_given_warnings_below_the_minimum_level_when_the_notifier_runs_then_no_mail_is_sent(
    smtp_server,
):
    """R-OPS-3: with alert_min_level ERROR, warnings alone send nothing; a failed record does;
    without alert_emails nothing is ever sent."""
    RunAlert(summary=summary(), preferences=Preferences(alert_emails=TO, alert_min_level="ERROR"))(
        {"dag": None}
    )
    RunAlert(summary=summary(failed=1), preferences=Preferences())({"dag": None})
    assert smtp_server.messages == []
    RunAlert(
        summary=summary(failed=1), preferences=Preferences(alert_emails=TO, alert_min_level="ERROR")
    )({"dag": None})
    (mail,) = smtp_server.mails()
    assert mail["Subject"].endswith("(ERROR)")


def test_given_a_run_that_fails_when_it_ends_then_the_failure_callback_mails_it(
    smtp_server, airflow_db
):
    """R-OPS-3: the DAG's on_failure_callback (the notifier) e-mails a failed run, naming the
    task that failed; R-OPS-1: here begin_run refuses a param a form cannot check (a resync
    area without its date), before any other task runs."""
    from sfqb.state import MetadataDbVariables
    from tests.conftest import load_dag

    variables = MetadataDbVariables()
    variables.set("sfqb.preferences", json.dumps({"alert_emails": TO}))
    try:
        dag = load_dag("sfqb_sync")
        for task in dag.tasks:
            task.retries = 0
        dag_run = dag.test(run_conf={"resync_area": "customers"})
    finally:
        variables.delete("sfqb.preferences")
    assert dag_run.state == "failed"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["begin_run"] == "failed"
    assert "success" not in {s for t, s in states.items() if t != "begin_run"}
    (mail,) = smtp_server.mails()
    assert mail["Subject"] == f"[sfqb] sfqb_sync run {dag_run.run_id} FAILED (ERROR)"
    assert "begin_run" in body_of(mail)


@pytest.mark.sandbox
def test_given_a_sync_that_ends_with_warnings_when_summarized_then_the_mail_lists_them(
    sync_env, smtp_server, caplog
):
    """R-OPS-3, R-OPS-2: summarize_run sends the alert for a finished run whose warnings reach
    the minimum level; the mail lists each warning of the summary, and the task log has each
    at WARNING level. Each warning is logged once by the load that found it (naming the
    Account by its name too) and once in the summary, never echoed again in a task's
    returned value."""
    from tests.integration.test_customers_sync import new_won_account

    bad = new_won_account(sync_env, "Colon: Trading")
    sync_env.set_preferences(sync_start=SINCE_SEED, alert_emails="ops@example.com")
    dag_run, states, summary = sync_env.run(run_conf={"areas": ["customers"]})
    assert states["summarize_run"] == "success"
    warnings = [warning_line(w) for a in summary["areas"] for w in a["warnings"]]
    assert any(bad in w for w in warnings)
    assert {w["state"] for a in summary["areas"] for w in a["warnings"]} == {"new"}
    (mail,) = smtp_server.mails()
    assert mail["Subject"].startswith(
        f"[sfqb] sfqb_sync run {dag_run.run_id}: {len(warnings)} new warning(s)"
    )
    body = body_of(mail)
    logged = {
        r.getMessage()
        for r in caplog.records
        if r.name == "sfqb.tasks.run" and r.levelno == logging.WARNING
    }
    for warning in warnings:
        assert warning in body
        assert f"{warning} (new)" in logged
    entries = [w for a in summary["areas"] for w in a["warnings"]]
    for entry in entries:
        lines = [
            r
            for r in caplog.records
            if entry["reason"] in r.getMessage() and entry["key"] in r.getMessage()
        ]
        found, summarized = sorted(r.name for r in lines)  # no third: no echo
        assert found.startswith("sfqb.steps.") and summarized == "sfqb.tasks.run", found
    (account,) = [w for w in entries if w["key"] == bad]
    assert f"customers: skipped {bad} (Colon: Trading): {account['reason']}" in {
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    }


@pytest.mark.sandbox
def test_given_an_hourly_series_when_warnings_stand_appear_and_resolve_then_nobody_gets_the_same_mail_twice(
    sync_env, smtp_server
):
    """R-OPS-3: a new warning is mailed in its run; the next runs, where it stands, send
    nothing; a second new warning is mailed alone; a fixed record's warning is reported
    resolved; a day later the standing one comes once, in the daily digest."""
    from sfqb.state import MetadataDbVariables, SyncState
    from tests.integration.test_customers_sync import new_won_account

    def run() -> dict:
        _, states, summary = sync_env.run(run_conf={"areas": ["customers"]})
        assert states["summarize_run"] == "success", states
        return {w["key"]: w["state"] for a in summary["areas"] for w in a["warnings"]}

    first = new_won_account(sync_env, "Colon: First Co")
    sync_env.set_preferences(sync_start=SINCE_SEED, alert_emails="ops@example.com")
    assert run()[first] == "new"
    assert run()[first] == "standing"
    assert len(smtp_server.mails()) == 1 and first in body_of(smtp_server.mails()[0])

    second = new_won_account(sync_env, "Colon: Second Co")
    states = run()
    assert (states[first], states[second]) == ("standing", "new")
    mails = smtp_server.mails()
    assert len(mails) == 2 and second in body_of(mails[1]) and first not in body_of(mails[1])

    sync_env.sf().update("Account", [{"Id": first, "Name": "First Co Fixed"}])
    states = run()
    assert (states[first], states[second]) == ("resolved", "standing")
    assert len(smtp_server.mails()) == 2

    # A day passes (the alert state says so): the standing warning comes once, in the digest.
    alerts = SyncState(MetadataDbVariables())
    saved = alerts.alerts()
    yesterday = dt.datetime.fromisoformat(
        saved["alerted"][next(iter(saved["alerted"]))]
    ) - dt.timedelta(days=1)
    alerts.save_alerts(
        {"last_digest_at": None, "alerted": {k: yesterday.isoformat() for k in saved["alerted"]}}
    )
    run()
    run()
    mails = smtp_server.mails()
    assert len(mails) == 3
    assert (
        "daily digest" in mails[2]["Subject"]
        and second in body_of(mails[2])
        and first not in body_of(mails[2])
    )
