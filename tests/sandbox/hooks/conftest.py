"""Fixtures for the hook tests against the sandbox servers (shared by both hooks' tests).

Each hook's sandbox runs alone (``--only``), one per test module, and the environment a DAG
would have (REQUESTS_CA_BUNDLE and the ``AIRFLOW_CONN_*`` variable) is set per test, so test
modules that start other sandboxes (with other CAs) do not interfere.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

# --- Salesforce hook ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sf_hook_sandbox(tmp_path_factory):
    """The Salesforce sandbox alone, seeded 'tiny', for one test module."""
    if importlib.util.find_spec("sfqb_sandbox.salesforce.service") is None:
        pytest.skip("the Salesforce sandbox (sfqb_sandbox.salesforce.service) is not available")
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(tmp_path_factory.mktemp("sf-hook-sandbox"), seed="tiny",
                             extra_args=["--only", "salesforce"])
    admin = process.start()
    try:
        yield admin
    finally:
        process.stop()


@pytest.fixture
def sf_hook_env(sf_hook_sandbox, monkeypatch):
    """The environment of a task that uses ``salesforce_default`` against the sandbox; faults
    and counters are cleared before the test."""
    from sfqb_sandbox.connections import salesforce_connection

    info = sf_hook_sandbox.connections
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_bundle"])
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT",
                       json.dumps(salesforce_connection(info["salesforce"])))
    sf_hook_sandbox.clear_faults("salesforce")
    sf_hook_sandbox.clear_counters("salesforce")
    yield sf_hook_sandbox
    sf_hook_sandbox.clear_faults("salesforce")


@pytest.fixture
def sf_hook(sf_hook_env):
    """An SfqbSalesforceHook on ``salesforce_default`` with test-speed retries and bulk polls."""
    from sfqb.hooks.retry import RetryPolicy
    from sfqb.hooks.salesforce import SfqbSalesforceHook

    hook = SfqbSalesforceHook(
        retry_policy=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05),
        bulk_wait=0.05, timeout=(5.0, 10.0))
    yield hook
    hook.session.close()  # a keep-alive connection would hold up the server's shutdown


@pytest.fixture
def sf_hook_fresh(sf_hook_env):
    """For tests that write: the org is re-seeded 'tiny' afterwards."""
    yield sf_hook_env
    sf_hook_env.reset("salesforce", "tiny")
