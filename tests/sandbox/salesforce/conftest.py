"""The Salesforce sandbox alone, seeded 'tiny', reached the way a DAG reaches it: through an
Airflow connection (``AIRFLOW_CONN_SALESFORCE_DEFAULT``) and the provider's SalesforceHook."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def sf_sandbox(tmp_path_factory):
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(
        tmp_path_factory.mktemp("sf-sandbox"), seed="tiny", extra_args=["--only", "salesforce"]
    )
    admin = process.start()
    admin.process = process
    try:
        yield admin
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def sf_env(request, monkeypatch):
    """Per test, the environment a task would have: REQUESTS_CA_BUNDLE and the Airflow
    connection of this sandbox (other suites start sandboxes with other CAs and ports)."""
    if "sf_sandbox" not in request.fixturenames:
        return
    from sfqb_sandbox.connections import salesforce_connection

    admin = request.getfixturevalue("sf_sandbox")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", admin.connections["ca_bundle"])
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_DEFAULT",
        json.dumps(salesforce_connection(admin.connections["salesforce"])),
    )


@pytest.fixture
def sf(sf_sandbox, sf_env):
    """A simple-salesforce client built by the provider's hook from the connection alone."""
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    conn = SalesforceHook(salesforce_conn_id="salesforce_default").conn
    yield conn
    # an open keep-alive TLS connection would hold up the server's shutdown at the end
    conn.session.close()


@pytest.fixture
def fresh(sf_sandbox):
    """For tests that write: the org is re-seeded 'tiny' (and admin settings cleared) afterwards."""
    yield sf_sandbox
    sf_sandbox.reset("salesforce", "tiny")
    sf_sandbox.call("salesforce", "POST", "layout", {"reset": True})
    sf_sandbox.call("salesforce", "POST", "limits", {"max": 100_000, "used": 0})
    sf_sandbox.call("salesforce", "POST", "session", {"ttl_seconds": 7200})
    sf_sandbox.set_clock("salesforce", reset=True)


def sfinfo(sf_sandbox) -> dict:
    return sf_sandbox.connections["salesforce"]
