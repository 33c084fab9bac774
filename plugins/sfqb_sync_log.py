"""Airflow plugin: the sfqb sync log in the Airflow UI (R-OPS-2, ``sfqb.synclog``).

Mounts the sync log app on the api-server at ``/sfqb`` and adds it to the UI: a "Sync log"
menu entry (recent runs of both sfqb DAGs) and a "Sync log" tab on every DAG run.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sfqb.synclog import create_app


class SfqbSyncLogPlugin(AirflowPlugin):
    name = "sfqb_sync_log"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/sfqb", "name": "sfqb sync log"}]
    external_views = [
        {
            "name": "Sync log",
            "href": "/sfqb/runs",
            "destination": "nav",
            "category": "browse",
            "url_route": "sfqb-sync-log",
        },
        {
            "name": "Sync log",
            "href": "/sfqb/runs/{DAG_ID}/{RUN_ID}",
            "destination": "dag_run",
            "url_route": "sfqb-run-sync-log",
        },
    ]
