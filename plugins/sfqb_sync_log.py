"""Airflow plugin: the sfqb sync log in the Airflow UI (R-OPS-2, ``sfqb.synclog``).

Mounts the sync log app on the api-server at ``/sfqb`` and adds it to the UI: a "Sync log"
menu entry (recent runs of both sfqb DAGs) and a "Sync log" tab on DAG runs. Airflow 3.3 offers
a DAG run tab on every DAG's runs (an external view has a destination, no DAG filter); on a run
of another DAG the tab says in one line that it is sfqb's and links the sfqb runs
(docs/operations.md, "The sync log").
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sfqb.synclog import NAV_ROUTE, RUN_TAB_ROUTE, create_app


class SfqbSyncLogPlugin(AirflowPlugin):
    name = "sfqb_sync_log"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/sfqb", "name": "sfqb sync log"}]
    external_views = [
        {
            "name": "Sync log",
            "href": "/sfqb/runs",
            "destination": "nav",
            "category": "browse",
            "url_route": NAV_ROUTE,
        },
        {
            "name": "Sync log",
            "href": "/sfqb/runs/{DAG_ID}/{RUN_ID}",
            "destination": "dag_run",
            "url_route": RUN_TAB_ROUTE,
        },
    ]
