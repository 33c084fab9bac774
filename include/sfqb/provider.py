"""Airflow provider info: registers the ``quickbooks`` connection type (UI form, hook).

Airflow finds it through the ``apache_airflow_provider`` entry point in pyproject.toml. The
form fields are the connection's extras (docs/connections.md); the refresh token is a
password field so the UI never shows it.
"""

from __future__ import annotations


def _text(label: str, *, secret: bool = False) -> dict:
    schema: dict = {"type": ["string", "null"]}
    if secret:
        schema["format"] = "password"
    return {"label": label, "schema": schema}


def get_provider_info() -> dict:
    return {
        "package-name": "sfqb",
        "name": "sfqb",
        "description": "Salesforce <-> QuickBooks Online sync: the QuickBooks Online connection.",
        "connection-types": [
            {
                "connection-type": "quickbooks",
                "hook-class-name": "sfqb.hooks.quickbooks.QuickBooksHook",
                "hook-name": "QuickBooks Online",
                "conn-fields": {
                    "realm_id": _text("Realm (company) ID"),
                    "refresh_token": _text("Refresh Token (bootstrap)", secret=True),
                    "environment": _text("Environment: production, sandbox or discovery URL"),
                    "base_url": _text("API base URL override"),
                    "minor_version": {
                        "label": "Minor version",
                        "schema": {"type": ["integer", "null"]},
                    },
                    "redirect_uri": _text("Redirect URI"),
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "host"],
                    "relabeling": {"login": "Client ID", "password": "Client Secret"},
                },
            }
        ],
    }
