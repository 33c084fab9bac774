"""The sync log's routes (R-OPS-2): the JSON API and the pages, with the database reader
replaced by fixed runs (the integration tests read a real metadata database)."""

from __future__ import annotations

import pytest

from sfqb.synclog import app as app_module
from sfqb.synclog import reader

pytestmark = pytest.mark.unit

RUN = {
    "dag_id": "sfqb_sync",
    "run_id": "manual__1",
    "state": "failed",
    "run_type": "manual",
    "start_date": "2026-12-06T10:00:00+00:00",
    "end_date": "2026-12-06T10:01:30+00:00",
    "context": {"upper_bound": "2026-12-06T10:00:00+00:00"},
    "summary": None,
    "task_instances": [
        {"task_id": "begin_run", "map_index": -1, "state": "failed", "try_number": 1},
        {"task_id": "summarize_run", "map_index": -1, "state": "upstream_failed", "try_number": 0},
    ],
}
CALLS: list[dict] = []


@pytest.fixture
def client(monkeypatch):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    def recent_runs(dag_ids, limit=25, run_id=None, *, offset=0, with_logs=False):
        CALLS.append(
            {"dag_ids": tuple(dag_ids), "limit": limit, "offset": offset, "logs": with_logs}
        )
        return [dict(RUN)] if run_id in (None, RUN["run_id"]) else []

    monkeypatch.setattr(reader, "recent_runs", recent_runs)
    monkeypatch.setattr(reader, "count_runs", lambda dag_ids: 31)
    monkeypatch.setattr(
        reader,
        "links",
        lambda: {"salesforce": None, "quickbooks": "https://app.qbo.intuit.com/app"},
    )
    CALLS.clear()
    parent = FastAPI()
    parent.mount("/sfqb", app_module.create_app())
    return TestClient(parent, root_path="/airflow")


def test_given_runs_when_the_json_api_is_read_then_each_run_has_its_summary_and_the_pages_fields(
    client,
):
    """R-OPS-2: ``/sfqb/api/runs`` keeps its fields (state, summary) and adds what the page shows:
    duration, window, progress with the failed task's log link, warnings, dry run; paged."""
    answer = client.get(
        "/airflow/sfqb/api/runs", params={"dag_id": "sfqb_sync", "limit": 5, "offset": 5}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["total"], body["offset"], body["limit"]) == (31, 5, 5)
    assert CALLS == [{"dag_ids": ("sfqb_sync",), "limit": 5, "offset": 5, "logs": False}]
    (run,) = body["runs"]
    assert (run["state"], run["summary"], run["duration_seconds"]) == ("failed", None, 90)
    assert run["window"]["upper_bound"] == "2026-12-06T10:00:00+00:00"
    (failed,) = run["progress"]["failed"]
    assert (
        failed["log_url"] == "/airflow/dags/sfqb_sync/runs/manual__1/tasks/begin_run?try_number=1"
    )
    assert run["progress"]["upstream_failed"] == 1
    assert run["warnings"] == [] and run["dry_run"] is None


def test_given_the_runs_page_when_read_then_it_is_paged_and_another_dag_is_refused(client):
    """R-OPS-2: the runs list pages with limit/offset; only sfqb's DAGs can be chosen."""
    page = client.get("/airflow/sfqb/runs", params={"offset": 10})
    assert page.status_code == 200
    assert 'data-testid="pagination"' in page.text
    assert CALLS[-1] == {
        "dag_ids": ("sfqb_sync", "sfqb_invoice_migration"),
        "limit": 10,
        "offset": 10,
        "logs": False,
    }
    assert client.get("/airflow/sfqb/runs", params={"dag_id": "etl"}).status_code == 404
    assert client.get("/airflow/sfqb/api/runs", params={"dag_id": "etl"}).status_code == 404


def test_given_a_run_tab_when_read_then_sfqb_runs_show_with_their_logs_and_other_dags_get_one_line(
    client,
):
    """R-OPS-2: the DAG run tab reads the failed tasks' log lines; on a run of another DAG it
    says it is sfqb's, links the sfqb runs (under the UI's base path) and reads nothing."""
    page = client.get("/airflow/sfqb/runs/sfqb_sync/manual__1")
    assert page.status_code == 200 and 'data-testid="failed-tasks"' in page.text
    assert CALLS[-1]["logs"] is True
    CALLS.clear()
    other = client.get("/airflow/sfqb/runs/etl_daily/scheduled__1")
    assert other.status_code == 200
    assert 'data-testid="not-sfqb-notice"' in other.text
    assert 'href="/airflow/plugin/sfqb-sync-log"' in other.text
    assert CALLS == []
    assert client.get("/airflow/sfqb/runs/sfqb_sync/no_such_run").status_code == 404
