"""Fixtures for the hook tests against the sandbox servers (shared by both hooks' tests).

Each hook's sandbox runs alone (``--only``), one per test module, and the environment a DAG
would have (REQUESTS_CA_BUNDLE and the ``AIRFLOW_CONN_*`` variable) is set per test, so test
modules that start other sandboxes (with other CAs) do not interfere.
"""

from __future__ import annotations

import importlib.util
import json
import threading

import pytest


def _solo_sandbox(tmp_path_factory, service: str):
    """One sandbox service alone, seeded 'tiny' (a generator: yields its SandboxAdmin)."""
    if importlib.util.find_spec(f"sfqb_sandbox.{service}.service") is None:
        pytest.skip(f"the {service} sandbox (sfqb_sandbox.{service}.service) is not available")
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(
        tmp_path_factory.mktemp(f"{service}-hook-sandbox"),
        seed="tiny",
        extra_args=["--only", service],
    )
    admin = process.start()
    try:
        yield admin
    finally:
        process.stop()


# --- Salesforce hook ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sf_hook_sandbox(tmp_path_factory):
    """The Salesforce sandbox alone, seeded 'tiny', for one test module."""
    yield from _solo_sandbox(tmp_path_factory, "salesforce")


@pytest.fixture
def sf_hook_env(sf_hook_sandbox, monkeypatch):
    """The environment of a task that uses ``salesforce_default`` against the sandbox; faults
    and counters are cleared before the test."""
    from sfqb_sandbox.connections import salesforce_connection

    info = sf_hook_sandbox.connections
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", info["ca_bundle"])
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_DEFAULT", json.dumps(salesforce_connection(info["salesforce"]))
    )
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
        bulk_wait=0.05,
        timeout=(5.0, 10.0),
    )
    yield hook
    hook.session.close()  # a keep-alive connection would hold up the server's shutdown


@pytest.fixture
def sf_hook_fresh(sf_hook_env):
    """For tests that write: the org is re-seeded 'tiny' afterwards."""
    yield sf_hook_env
    sf_hook_env.reset("salesforce", "tiny")


# --- QuickBooks hook ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def qb_hook_sandbox(tmp_path_factory):
    """The QuickBooks sandbox alone, seeded 'tiny', for one test module."""
    yield from _solo_sandbox(tmp_path_factory, "quickbooks")


@pytest.fixture
def qb_hook_env(qb_hook_sandbox, monkeypatch):
    """The environment of a task that uses ``quickbooks_default`` against the sandbox, with a
    freshly minted refresh token (``qb_hook_env.refresh_token``); faults, counters and
    throttle windows are cleared before the test."""
    from sfqb_sandbox.connections import quickbooks_connection

    admin = qb_hook_sandbox
    info = dict(admin.connections["quickbooks"])
    info["refresh_token"] = admin.call("quickbooks", "POST", "oauth/refresh-token")["refresh_token"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", admin.connections["ca_bundle"])
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(quickbooks_connection(info)))
    admin.clear_faults("quickbooks")
    admin.call("quickbooks", "DELETE", "throttle")
    admin.clear_counters("quickbooks")
    admin.qb_info = info
    yield admin
    admin.clear_faults("quickbooks")


def _new_qb_hook(**kwargs):
    """A QuickBooksHook with test-speed retries, short timeouts and an in-memory token store
    (pass ``token_store=`` to test persistence)."""
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.retry import RetryPolicy
    from sfqb.hooks.token_store import InMemoryTokenStore

    kwargs.setdefault("token_store", InMemoryTokenStore())
    kwargs.setdefault("retry_policy", RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
    kwargs.setdefault("timeout", (5.0, 10.0))
    return QuickBooksHook(**kwargs)


@pytest.fixture
def make_qb_hook(qb_hook_env):
    """A factory of QuickBooksHooks on ``quickbooks_default``; each is closed after the test."""
    made = []

    def make(**kwargs):
        hook = _new_qb_hook(**kwargs)
        made.append(hook)
        return hook

    yield make
    for hook in made:
        hook.close()


@pytest.fixture
def qb_hook(make_qb_hook):
    """A QuickBooksHook on ``quickbooks_default`` (in-memory token store)."""
    return make_qb_hook()


@pytest.fixture
def qb_hook_fresh(qb_hook_env):
    """For tests that write: the company is re-seeded 'tiny' afterwards."""
    yield qb_hook_env
    qb_hook_env.reset("quickbooks", "tiny")


# --- both -------------------------------------------------------------------------------


class InFlight:
    """Replaces ``owner.<name>`` (a method or a session's ``request``) with a wrapper that
    records how many calls were running at once (``most``) and on which threads."""

    def __init__(self, owner, name: str) -> None:
        self.lock, self.now, self.most, self.threads = threading.Lock(), 0, 0, set()
        call = getattr(owner, name)

        def counted(*args, **kwargs):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.threads.add(threading.get_ident())
            try:
                return call(*args, **kwargs)
            finally:
                with self.lock:
                    self.now -= 1

        setattr(owner, name, counted)


@pytest.fixture
def in_flight():
    """``in_flight(owner, name)``: an ``InFlight`` counter around ``owner.<name>``."""
    return InFlight
