"""Operating sfqb_sync (docs/rules.md section 9): manual runs narrowed by params, full resyncs,
backfills and re-runs of old intervals, and the sync log page, through dag.test() against the
sandboxes."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.run_params import AREAS
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

RESYNC_FROM = "2020-01-01"


def watermarks() -> dict:
    from sfqb.state import MetadataDbVariables, SyncState

    return {
        k: v["value"]
        for k, v in SyncState(MetadataDbVariables()).show().items()
        if k.startswith("sfqb.watermark.")
    }


def area_states(states: dict, area: str) -> set:
    return {state for task_id, state in states.items() if task_id.startswith(f"{area}.")}


def xcom(dag_run, task_id: str):
    ti = next(t for t in dag_run.get_task_instances() if t.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id)


def other_areas_records(env) -> dict:
    """What the areas other than customers write (items, opportunities, transactions, invoices),
    with each record's version: equal snapshots mean those areas wrote nothing."""
    sf, qb = env.sf(), env.qb()
    snapshot = {
        obj: sorted(
            (r["Id"], r["SystemModstamp"])
            for r in sf.query(f"SELECT Id, SystemModstamp FROM {obj}")
        )
        for obj in (
            "Product2",
            "PricebookEntry",
            "Opportunity",
            "OpportunityLineItem",
            "Invoice__c",
        )
    }
    for entity in ("Item", "Invoice", "SalesReceipt"):
        snapshot[entity] = sorted((r["Id"], r["SyncToken"]) for r in qb.query_all(entity))
    return snapshot


def test_given_a_synced_pair_when_a_manual_run_resyncs_only_customers_then_other_areas_skip_and_no_watermark_moves(
    sync_env,
):
    """R-OPS-1: the trigger form's params narrow a manual run: the areas not selected end
    ``skipped`` (not failed) and write nothing, the preflight still runs and summarize_run
    succeeds; a full resync of customers from a date re-reads that area's window (the seed,
    older than the install date, is read again) and moves no watermark; R-OPS-2: the sync
    log page lists the run with its summary."""
    _, states, _ = sync_env.run()
    assert set(states.values()) == {"success"}, states
    before, others = watermarks(), other_areas_records(sync_env)
    assert before and others["Product2"] and others["Invoice"]

    dag_run, states, summary = sync_env.run(
        run_conf={"areas": ["customers"], "resync_area": "customers", "resync_from": RESYNC_FROM}
    )

    assert dag_run.state == "success"
    for area in set(AREAS) - {"customers"}:
        assert area_states(states, area) == {"skipped"}, (area, states)
    assert area_states(states, "preflight") == {"success"}
    assert area_states(states, "customers") == {"success"}
    assert states["summarize_run"] == "success"
    assert [a["area"] for a in summary["areas"]] == ["matching", "customers"]
    assert "full resync of customers" in summary["scope"]
    windows = xcom(dag_run, "customers.extract_customers")["windows"]
    assert {w["mode"] for w in windows.values()} == {"resync"}
    assert {w["start"][:10] for w in windows.values()} == {RESYNC_FROM}
    # The seed's customers are older than the install date: only the resync window reads them
    # again (the first run's export already synced them, so nothing is written for them).
    extracted = xcom(dag_run, "customers.extract_customers")
    assert not extracted["first_export"] and len(extracted["qb_changed"]) > 0
    assert other_areas_records(sync_env) == others
    assert watermarks() == before

    # The sync log (R-OPS-2), read through the api-server like the UI's "Sync log" page.
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app())
    listing = client.get("/sfqb/api/runs", params={"dag_id": "sfqb_sync"})
    assert listing.status_code == 200, listing.text
    run = next(r for r in listing.json()["runs"] if r["run_id"] == dag_run.run_id)
    assert run["state"] == "success"
    assert [a["area"] for a in run["summary"]["areas"]] == ["matching", "customers"]
    plugins = client.get("/api/v2/plugins").json()["plugins"]
    views = next(p for p in plugins if p["name"] == "sfqb_sync_log")["external_views"]
    assert {(v["destination"], v["href"]) for v in views} == {
        ("nav", "/sfqb/runs"),
        ("dag_run", "/sfqb/runs/{DAG_ID}/{RUN_ID}"),
    }
    assert run["progress"]["done"] == run["progress"]["total"] > 0
    assert run["progress"]["failed"] == [] and run["window"]["install_date"]
    page = client.get(f"/sfqb/runs/sfqb_sync/{dag_run.run_id}")
    assert page.status_code == 200
    assert "customers" in page.text and "full resync of customers" in page.text
    for testid in ("run-header", "run-window", "counts-table"):
        assert f'data-testid="{testid}"' in page.text, testid


def test_given_a_run_that_fails_at_its_start_when_its_sync_log_tab_is_read_then_it_names_the_failed_task(
    sync_env,
):
    """R-OPS-2: a run that failed before summarize_run (a bad preference stops begin_run) shows,
    in its sync log tab and the JSON API, the failed task with its try and a link to its log,
    and that the other tasks did not run."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    sync_env.set_preferences(no_such_preference=1)
    dag_run, states, summary = sync_env.run(task_retries=0)
    assert dag_run.state == "failed" and states["begin_run"] == "failed" and summary is None

    client = TestClient(create_app())
    listing = client.get("/sfqb/api/runs", params={"dag_id": "sfqb_sync", "limit": 1})
    (run,) = listing.json()["runs"]
    assert run["run_id"] == dag_run.run_id and run["summary"] is None
    (failed,) = run["progress"]["failed"]
    assert (failed["task_id"], failed["try_number"]) == ("begin_run", 1)
    assert failed["log_url"].endswith("/tasks/begin_run?try_number=1")
    assert run["progress"]["upstream_failed"] >= 1

    # dag.test() logs to the console: write the task's log file as a worker would (JSON
    # lines), where the UI's log view reads it; the tab shows its ERROR lines.
    write_task_log(
        dag_run,
        "begin_run",
        1,
        [
            {"event": "preferences read", "level": "info"},
            {
                "event": "Task failed with exception",
                "level": "error",
                # structlog's shape, which the UI's log view renders (it needs "frames")
                "error_detail": [
                    {
                        "exc_type": "AirflowFailException",
                        "exc_value": "no_such_preference: unknown",
                        "exc_notes": [],
                        "syntax_error": None,
                        "is_cause": False,
                        "frames": [{"filename": "run.py", "lineno": 45, "name": "begin_run"}],
                        "is_group": False,
                        "exceptions": [],
                    }
                ],
            },
        ],
    )
    page = client.get(f"/sfqb/runs/sfqb_sync/{dag_run.run_id}")
    assert page.status_code == 200
    assert 'data-testid="failed-tasks"' in page.text and "begin_run" in page.text
    assert 'data-testid="no-summary"' in page.text
    assert (
        "<li>Task failed with exception: AirflowFailException: no_such_preference: unknown</li>"
    ) in page.text


def write_task_log(dag_run, task_id: str, try_number: int, lines: list[dict]) -> None:
    """The task's log file at its try, where the file task handler looks for it."""
    import json
    from pathlib import Path

    from airflow.utils.log.log_reader import TaskLogReader

    ti = next(t for t in dag_run.get_task_instances() if t.task_id == task_id)
    handler = TaskLogReader().log_handler
    path = Path(handler.local_base, handler._render_filename(ti, try_number))
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat()
    path.write_text("".join(json.dumps({"timestamp": stamp, **line}) + "\n" for line in lines))


def _run_backfill_run(monkeypatch, env, backfill_run):
    """Execute one run that ``airflow backfill create`` made (run type ``backfill``, queued)
    with dag.test()'s loop: dag.test() would otherwise make a manual run of its own."""
    import airflow.models.dagrun as dagrun_module
    from airflow import settings

    def existing_run(*, dag, **_):
        session = settings.Session()
        run = session.get(dagrun_module.DagRun, backfill_run.id)
        run.state = "running"
        run.dag = dag
        session.commit()
        return run

    with monkeypatch.context() as patch:
        patch.setattr(dagrun_module, "get_or_create_dagrun", existing_run)
        return env.run(logical_date=backfill_run.logical_date)


def test_given_a_past_week_when_backfilled_then_its_intervals_resync_and_no_watermark_moves(
    sync_env, monkeypatch
):
    """R-OPS-1: a backfill of a past week (``airflow backfill create``'s runs) re-syncs each
    run's data interval: a QuickBooks customer stamped inside one interval, older than every
    watermark (the incremental runs missed it), reaches Salesforce; no watermark moves. A cleared old scheduled interval run
    again reads nothing new and never moves a watermark backwards. R-OPS-2: the run's summary
    names its data interval and the install date."""
    from airflow.models.backfill import _create_backfill
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    sync_env.set_preferences(sync_start=(now - dt.timedelta(days=10)).isoformat())
    _, states, _ = sync_env.run()
    assert set(states.values()) == {"success"}, states
    before = watermarks()

    # A customer the incremental windows missed: stamped three days ago, after the first run's
    # export had read every customer.
    qb = sync_env.qb()
    sync_env.sandbox.set_clock("quickbooks", advance_seconds=-3 * 86400)
    try:
        customer = qb.create(
            "Customer",
            {
                "DisplayName": "Missed Then Backfilled Co",
                "PrimaryPhone": {"FreeFormNumber": "(512) 555-0177"},
            },
            None,
        )
        edited_at = dt.datetime.fromisoformat(customer["MetaData"]["LastUpdatedTime"])
    finally:
        sync_env.sandbox.set_clock("quickbooks", reset=True)

    week_end = now - dt.timedelta(days=1)
    backfill = _create_backfill(
        dag_id="sfqb_sync",
        from_date=week_end - dt.timedelta(days=7),
        to_date=week_end,
        max_active_runs=1,
        reverse=False,
        dag_run_conf=None,
        triggering_user_name="test",
    )
    with create_session() as session:
        runs = (
            session.query(DagRun)
            .filter(DagRun.backfill_id == backfill.id)
            .order_by(DagRun.logical_date)
            .all()
        )
        session.expunge_all()
    assert len(runs) >= 7 * 24
    assert {str(r.run_type) for r in runs} == {"backfill"}
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.data_interval_end == later.data_interval_start  # the week, hour by hour
    (target,) = [r for r in runs if r.data_interval_start <= edited_at < r.data_interval_end]

    sync_env.sandbox.clear_counters()
    dag_run, states, summary = _run_backfill_run(monkeypatch, sync_env, target)

    assert dag_run.state == "success", states
    run = xcom(dag_run, "begin_run")
    assert run["backfill"] and run["data_interval_start"] == target.data_interval_start.isoformat()
    # The summary says which time the run covered and from when sfqb syncs (R-OPS-2).
    assert summary["backfill"] and summary["install_date"] == run["install_date"]
    assert (summary["data_interval_start"], summary["data_interval_end"]) == (
        run["data_interval_start"],
        run["data_interval_end"],
    )
    windows = xcom(dag_run, "customers.extract_customers")["windows"]
    assert {w["mode"] for w in windows.values() if w} == {"backfill"}
    (account,) = sync_env.sf().query(
        f"SELECT Phone FROM Account WHERE External_Account_ID__c = '{customer['Id']}'"
    )
    assert account["Phone"] == "(512) 555-0177"
    customers = report_of(summary, "customers")
    assert customers["created"] + customers["updated"] >= 1
    assert watermarks() == before

    # A scheduled run of an old interval, cleared and run again: its upper bound (run_after)
    # lies before every watermark; it moves none backwards and writes nothing.
    sync_env.sandbox.clear_counters()
    old = target.data_interval_end
    dag_run, states, _ = sync_env.run(logical_date=old, run_after=old)
    assert set(states.values()) == {"success"}, states
    assert xcom(dag_run, "begin_run")["upper_bound"] == old.isoformat()
    assert watermarks() == before
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
