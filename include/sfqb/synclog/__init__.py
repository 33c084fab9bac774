"""The sync log (R-OPS-2): every sfqb run's summary where a person sees it without opening
task logs. A small FastAPI app that the Airflow plugin ``plugins/sfqb_sync_log.py`` mounts on
the api-server at ``/sfqb``; it reads the DAG runs and the XCom of their ``summarize_run`` task
from the metadata database, as Airflow's own REST API does.

- ``GET /sfqb/runs``: an HTML page, the recent runs of both sfqb DAGs (state, scope, counts
  per area, every warning); the UI shows it as the "Sync log" menu entry.
- ``GET /sfqb/runs/{dag_id}/{run_id}``: one run; the UI shows it as a "Sync log" tab of each
  DAG run.
- ``GET /sfqb/api/runs?dag_id=&limit=``: the same data as JSON.
"""

from __future__ import annotations

import html

from sfqb.report import format_summary

DAG_IDS = ("sfqb_sync", "sfqb_invoice_migration")
SUMMARY_TASK = "summarize_run"


def xcom_value(row):
    """An XCom row's value through the configured XCom backend: a large summary kept in object
    storage (docs/multi-machine.md) is read from there, not shown as its path."""
    from airflow.sdk.execution_time.xcom import resolve_xcom_backend

    return resolve_xcom_backend().deserialize_value(row)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def recent_runs(dag_ids=DAG_IDS, limit: int = 25, run_id: str | None = None) -> list[dict]:
    """The newest runs of ``dag_ids`` with their summaries (None: the run has none yet)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id.in_(list(dag_ids)))
        if run_id is not None:
            query = query.where(DagRun.run_id == run_id)
        runs = session.scalars(query.order_by(DagRun.id.desc()).limit(limit)).all()
        rows = session.scalars(
            select(XComModel).where(
                XComModel.dag_id.in_(list(dag_ids)),
                XComModel.run_id.in_([r.run_id for r in runs]),
                XComModel.task_id == SUMMARY_TASK,
                XComModel.key == "return_value",
            )
        ).all()
        summaries = {(x.dag_id, x.run_id): xcom_value(x) for x in rows}
        return [
            {
                "dag_id": r.dag_id,
                "run_id": r.run_id,
                "state": str(r.state),
                "run_type": str(r.run_type),
                "logical_date": _iso(r.logical_date),
                "start_date": _iso(r.start_date),
                "end_date": _iso(r.end_date),
                "note": r.note,
                "summary": summaries.get((r.dag_id, r.run_id)),
            }
            for r in runs
        ]


def render_run(run: dict) -> str:
    """One run as an HTML section (pure)."""
    head = (
        f"<h2>{html.escape(run['dag_id'])} &middot; {html.escape(run['run_id'])} "
        f"&middot; {html.escape(run['state'])}</h2>"
    )
    times = (
        f"<p>{html.escape(run['run_type'])} run, started {run['start_date']}, ended "
        f"{run['end_date']}</p>"
    )
    if run["summary"] is None:
        body = "<p>No summary: the run has not reached summarize_run (see its task logs).</p>"
    else:
        body = f"<pre>{html.escape(format_summary(run['summary']), quote=False)}</pre>"
    return f"<section>{head}{times}{body}</section>"


def render_page(runs: list[dict], title: str = "sfqb sync log") -> str:
    """The page (pure)."""
    sections = "".join(render_run(r) for r in runs) or "<p>No sfqb run yet.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}pre{background:#f4f4f4;padding:.5em;"
        f"overflow-x:auto}}</style></head><body><h1>{html.escape(title)}</h1>{sections}</body></html>"
    )


def create_app():
    """The FastAPI app the plugin mounts."""
    from fastapi import FastAPI, HTTPException, Query
    from fastapi.responses import HTMLResponse

    app = FastAPI(title="sfqb sync log")

    @app.get("/api/runs")
    def runs_json(dag_id: str | None = None, limit: int = Query(25, ge=1, le=500)) -> dict:
        return {"runs": recent_runs([dag_id] if dag_id else DAG_IDS, limit)}

    @app.get("/runs", response_class=HTMLResponse)
    def runs_page(limit: int = Query(25, ge=1, le=500)) -> str:
        return render_page(recent_runs(DAG_IDS, limit))

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
    def run_page(dag_id: str, run_id: str) -> str:
        found = recent_runs([dag_id], 1, run_id=run_id)
        if not found:
            raise HTTPException(status_code=404, detail=f"no run {run_id} of {dag_id}")
        return render_page(found, title=f"sfqb sync log: {run_id}")

    return app
