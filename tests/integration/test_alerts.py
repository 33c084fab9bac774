"""Alerts (SPEC R-OPS-3): e-mails through the Airflow SMTP connection to a real local SMTP server
(the ``smtp_server`` fixture), from the notifier itself and from whole dag.test() runs."""

from __future__ import annotations

import json
import logging

import pytest

from sfqb.notify import RunAlert
from sfqb.preferences import Preferences
from tests.integration.conftest import SINCE_SEED

pytestmark = pytest.mark.integration

TO = "ops@example.com, finance@example.com"


def summary(failed: int = 0) -> dict:
    warnings = ["items: 42: Widget has no sales price: its Product has no standard price"]
    return {"run_id": "manual__test", "upper_bound": "2026-11-26T04:00:00+00:00",
            "areas": [{"area": "items", "created": 2, "updated": 0, "skipped": 1, "failed": failed,
                       "warning_count": len(warnings), "warnings": warnings}]}


def body_of(mail) -> str:
    return mail.get_body(preferencelist=("html", "plain")).get_content()


def test_given_warnings_at_the_minimum_level_when_the_notifier_runs_then_the_mail_lists_them(smtp_server):
    """R-OPS-3: a run with warnings at or above alert_min_level (WARNING) e-mails every
    address of alert_emails through the SMTP connection, listing the warnings."""
    RunAlert(summary=summary(), preferences=Preferences(alert_emails=TO))({"dag": None})
    (mail,) = smtp_server.mails()
    assert smtp_server.messages[0]["to"] == ["ops@example.com", "finance@example.com"]
    assert mail["From"] == "sfqb-alerts@example.com"
    assert mail["Subject"] == "[sfqb] sfqb run manual__test: 1 warning(s) (WARNING)"
    assert "items: 42: Widget has no sales price" in body_of(mail)


def test_given_warnings_below_the_minimum_level_when_the_notifier_runs_then_no_mail_is_sent(smtp_server):
    """R-OPS-3: with alert_min_level ERROR, warnings alone send nothing; a failed record does;
    without alert_emails nothing is ever sent."""
    RunAlert(summary=summary(), preferences=Preferences(alert_emails=TO, alert_min_level="ERROR"))({"dag": None})
    RunAlert(summary=summary(failed=1), preferences=Preferences())({"dag": None})
    assert smtp_server.messages == []
    RunAlert(summary=summary(failed=1), preferences=Preferences(alert_emails=TO, alert_min_level="ERROR"))(
        {"dag": None})
    (mail,) = smtp_server.mails()
    assert mail["Subject"].endswith("(ERROR)")


def test_given_a_run_that_fails_when_it_ends_then_the_failure_callback_mails_it(smtp_server, airflow_db):
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
def test_given_a_sync_that_ends_with_warnings_when_summarized_then_the_mail_lists_them(sync_env, smtp_server,
                                                                                       caplog):
    """R-OPS-3, R-OPS-2: summarize_run sends the alert for a finished run whose warnings reach
    the minimum level; the mail lists each warning of the summary, and the task log has each
    at WARNING level."""
    from tests.integration.test_customers_sync import new_won_account

    bad = new_won_account(sync_env, "Colon: Trading")
    sync_env.set_preferences(sync_start=SINCE_SEED, alert_emails="ops@example.com")
    dag_run, states, summary = sync_env.run(run_conf={"areas": ["customers"]})
    assert states["summarize_run"] == "success"
    warnings = [w for a in summary["areas"] for w in a["warnings"]]
    assert any(bad in w for w in warnings)
    (mail,) = smtp_server.mails()
    assert mail["Subject"].startswith(f"[sfqb] sfqb_sync run {dag_run.run_id}: {len(warnings)} warning(s)")
    body = body_of(mail)
    logged = {r.getMessage() for r in caplog.records if r.name == "sfqb.tasks.run" and r.levelno == logging.WARNING}
    for warning in warnings:
        assert warning in body
        assert warning in logged
