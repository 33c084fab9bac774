"""The sync log's FastAPI app, mounted by ``plugins/sfqb_sync_log.py`` on the api-server at
``/sfqb`` (R-OPS-2). The routes are listed in ``sfqb.synclog``'s docstring."""

from __future__ import annotations

import datetime as dt
from typing import Any

# FastAPI reads the route functions' annotations at run time: Request must be a module name.
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from sfqb.synclog import page, reader
from sfqb.synclog.view import DAG_IDS, run_view

PAGE_SIZE = 10
MOUNTED_AT = "/sfqb"


def _bases(request: Request) -> tuple[str, str]:
    """(this app's base path, the Airflow UI's base path), from where the app is mounted."""
    base = str(request.scope.get("root_path") or MOUNTED_AT).rstrip("/")
    ui_base = base[: -len(MOUNTED_AT)] if base.endswith(MOUNTED_AT) else ""
    return base, ui_base


def _views(runs: list[dict[str, Any]], ui_base: str) -> list[dict[str, Any]]:
    links = reader.links()
    now = dt.datetime.now(dt.UTC)
    return [run_view(r, links=links, now=now, ui_base=ui_base) for r in runs]


def create_app():
    """The FastAPI app the plugin mounts."""
    app = FastAPI(title="sfqb sync log")

    def dag_ids(dag_id: str | None) -> tuple[str, ...]:
        if dag_id is None:
            return DAG_IDS
        if dag_id not in DAG_IDS:
            raise HTTPException(status_code=404, detail=f"{dag_id} is not an sfqb DAG")
        return (dag_id,)

    @app.get("/api/runs")
    def runs_json(
        request: Request,
        dag_id: str | None = None,
        limit: int = Query(25, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> dict:
        """The runs as JSON: each run as read (summary, context, task instances) and what the
        page shows of it (window, progress, warnings with links, dry run, ...)."""
        chosen = dag_ids(dag_id)
        runs = reader.recent_runs(chosen, limit, offset=offset)
        views = _views(runs, _bases(request)[1])
        return {
            "total": reader.count_runs(chosen),
            "offset": offset,
            "limit": limit,
            "runs": [{**run, **view} for run, view in zip(runs, views, strict=True)],
        }

    @app.get("/runs", response_class=HTMLResponse)
    def runs_page(
        request: Request,
        dag_id: str | None = None,
        limit: int = Query(PAGE_SIZE, ge=1, le=100),
        offset: int = Query(0, ge=0),
    ) -> str:
        chosen = dag_ids(dag_id)
        base, ui_base = _bases(request)
        runs = reader.recent_runs(chosen, limit, offset=offset)
        return page.render_page(
            _views(runs, ui_base),
            base=base,
            ui_base=ui_base,
            total=reader.count_runs(chosen),
            offset=offset,
            limit=limit,
            dag_id=dag_id,
        )

    @app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, dag_id: str, run_id: str) -> str:
        base, ui_base = _bases(request)
        if dag_id not in DAG_IDS:
            return page.render_not_sfqb(dag_id, ui_base=ui_base)
        found = reader.recent_runs([dag_id], 1, run_id=run_id, with_logs=True)
        if not found:
            raise HTTPException(status_code=404, detail=f"no run {run_id} of {dag_id}")
        return page.render_page(
            _views(found, ui_base), base=base, ui_base=ui_base, title=f"sfqb sync log: {run_id}"
        )

    return app
