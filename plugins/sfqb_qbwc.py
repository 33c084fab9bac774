"""Airflow plugin: sfqb's QuickBooks Web Connector service in the api-server (R-QBD-1), opt-in.

Only when the environment variable ``SFQB_QBWC_IN_AIRFLOW`` is ``1`` or ``true``: then the
service (``sfqb.qbwc.app.create_lazy_app``) is mounted at ``/quickbooks-desktop``, and the
Web Connector's AppURL is ``http(s)://AIRFLOW-HOST:PORT/quickbooks-desktop/qbwc``. Otherwise
the plugin mounts nothing: a deployment without QuickBooks Desktop exposes no SOAP endpoint.
``SFQB_QBWC_LINGER_SECONDS`` sets the service's linger (``serve --linger``; default 120).

The prefix is not under the sync log's ``/sfqb`` mount. Every Airflow component imports this
file; the service opens its queue and reads its connections on the first SOAP call, never at
import (docs/quickbooks-desktop.md, "Inside Airflow's api-server").
"""

from __future__ import annotations

import os

from airflow.plugins_manager import AirflowPlugin

ENV_VAR = "SFQB_QBWC_IN_AIRFLOW"
URL_PREFIX = "/quickbooks-desktop"


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true")


def _apps() -> list[dict]:
    if not enabled():
        return []
    from sfqb.qbwc.app import create_lazy_app, default_service, settings_from_env

    settings = settings_from_env()  # a bad SFQB_QBWC_LINGER_SECONDS fails here, named
    return [
        {
            "app": create_lazy_app(lambda: default_service(settings)),
            "url_prefix": URL_PREFIX,
            "name": "sfqb QuickBooks Web Connector service",
        }
    ]


class SfqbQbwcPlugin(AirflowPlugin):
    name = "sfqb_qbwc"
    fastapi_apps = _apps()
