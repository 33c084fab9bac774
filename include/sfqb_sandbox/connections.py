"""Turn the sandbox's connections.json into Airflow connections.

The output is the JSON that ``airflow connections import`` and ``dag.test(conn_file_path=...)``
read: ``{conn_id: {conn_type, host, login, password, extra}}``. The sandbox owns the format
of connections.json; sfqb's hooks own the meaning of the connection fields (docs/connections.md).
"""

from __future__ import annotations

import json


def quickbooks_connection(info: dict) -> dict:
    return {
        "conn_type": "quickbooks",
        "login": info["client_id"],
        "password": info["client_secret"],
        "extra": json.dumps(
            {
                "realm_id": info["realm_id"],
                "refresh_token": info["refresh_token"],
                "environment": info["discovery_url"],
                "base_url": info["api_base"],
                "redirect_uri": info["redirect_uri"],
                "minor_version": 75,
            }
        ),
    }


def salesforce_connection(info: dict) -> dict:
    """The ``salesforce_default`` connection for the sandbox org (docs/sandbox-salesforce.md).

    The sandbox gives the OAuth username-password flow: login/password plus the connected
    app's ``consumer_key``/``consumer_secret`` and a ``domain`` that points simple-salesforce's
    token POST at the sandbox (``127.0.0.1:PORT/services/oauth2/token#``). ``instance_url``
    is kept for direct-session use (``SalesforceHook(session_id=...)``).

    No ``version`` extra: the sandbox serves simple-salesforce's default (59.0), and Airflow,
    which walks every extra value when it masks a connection, logs "Skipping masking for a
    secret as it's too short" for any value under 5 characters, secret or not.
    """
    extra = {"instance_url": info["instance_url"]}
    extra.update(info.get("airflow_extra", {}))
    conn = {"conn_type": "salesforce", "extra": json.dumps(extra)}
    for key in ("login", "password"):
        if info.get(f"airflow_{key}"):
            conn[key] = info[f"airflow_{key}"]
    return conn


def desktop_connection(info: dict, login: str, password: str) -> dict:
    """``quickbooks_desktop_default`` for the sandbox's Desktop company: ``login`` and
    ``password`` are the Web Connector's (sfqb's service checks them; the company does not)."""
    return {
        "conn_type": "generic",
        "login": login,
        "password": password,
        "extra": json.dumps(
            {
                "company_file": info["company_file"],
                "edition": info["edition"].lower(),
                "time_zone": info["time_zone"],
            }
        ),
    }


def airflow_connections(connections: dict, desktop: tuple[str, str] | None = None) -> dict:
    """``{"quickbooks_default": {...}, "salesforce_default": {...}}`` for the running sandbox;
    with ``desktop`` (the Web Connector's login and password) and a Desktop company served,
    ``quickbooks_desktop_default`` too."""
    out = {}
    if "quickbooks" in connections:
        out["quickbooks_default"] = quickbooks_connection(connections["quickbooks"])
    if "salesforce" in connections:
        out["salesforce_default"] = salesforce_connection(connections["salesforce"])
    if desktop and "quickbooks_desktop" in connections:
        out["quickbooks_desktop_default"] = desktop_connection(
            connections["quickbooks_desktop"], *desktop
        )
    return out
