"""Airflow provider info: registers the ``quickbooks`` connection type (UI form, hook).

Airflow finds it through the ``apache_airflow_provider`` entry point in pyproject.toml.
"""

from __future__ import annotations


def get_provider_info() -> dict:
    return {
        "package-name": "sfqb",
        "name": "sfqb",
        "description": "Salesforce <-> QuickBooks Online sync: the QuickBooks Online connection.",
        "connection-types": [
            {
                "connection-type": "quickbooks",
                "hook-class-name": "sfqb.hooks.quickbooks.QuickBooksHook",
            }
        ],
    }
