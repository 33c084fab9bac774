"""The sync log (R-OPS-2, R-OPS-3): every sfqb run's summary where a person sees it without
opening task logs. A small FastAPI app (``app``) that the Airflow plugin
``plugins/sfqb_sync_log.py`` mounts on the api-server at ``/sfqb``; it reads the DAG runs, the
XComs of their ``begin_run`` and ``summarize_run`` tasks and their task instances from the
metadata database, as Airflow's own REST API does (``reader``), turns each run into what the
page shows (``view``, pure) and renders it (``page``, pure).

- ``GET /sfqb/runs?dag_id=&limit=&offset=``: the runs of both sfqb DAGs, newest first, ten a
  page, the newest unfolded; the UI shows it as the "Sync log" menu entry.
- ``GET /sfqb/runs/{dag_id}/{run_id}``: one run, with its failed tasks' last ERROR lines; the UI
  shows it as the "Sync log" tab of a DAG run (on another DAG's run it says it is sfqb's).
- ``GET /sfqb/api/runs?dag_id=&limit=&offset=``: the same as JSON.
"""

from __future__ import annotations

from sfqb.synclog.app import create_app
from sfqb.synclog.page import render_not_sfqb, render_page, render_run
from sfqb.synclog.reader import recent_runs, xcom_value
from sfqb.synclog.view import DAG_IDS, NAV_ROUTE, RUN_TAB_ROUTE, SUMMARY_TASK, run_view

__all__ = [
    "DAG_IDS",
    "NAV_ROUTE",
    "RUN_TAB_ROUTE",
    "SUMMARY_TASK",
    "create_app",
    "recent_runs",
    "render_not_sfqb",
    "render_page",
    "render_run",
    "run_view",
    "xcom_value",
]
