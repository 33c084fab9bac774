"""Fixtures for the QuickBooks sandbox tests: one QBO-only sandbox process per test session.

Only this service is started (``--only quickbooks``) so a half-built Salesforce sandbox cannot
break these tests. ``qbo.client()`` builds a python-quickbooks client the way sfqb does:
intuit-oauth ``AuthClient`` with the discovery URL as ``environment``, then ``QuickBooks`` with
a fresh refresh token (minted through the admin surface) and ``api_url_v3`` set per instance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests


@dataclass
class QBOSandbox:
    admin: Any  # SandboxAdmin
    sessions: list = field(default_factory=list)

    @property
    def info(self) -> dict:
        return self.admin.connections["quickbooks"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self.admin.call("quickbooks", method, path, body)

    def refresh_token(self) -> str:
        return self.call("POST", "oauth/refresh-token")["refresh_token"]

    def auth_client(self):
        from intuitlib.client import AuthClient

        info = self.info
        client = AuthClient(
            info["client_id"],
            info["client_secret"],
            info["redirect_uri"],
            environment=info["discovery_url"],
        )
        self.sessions.append(client)
        return client

    def client(self, refresh_token: str | None = None):
        from quickbooks import QuickBooks

        auth = self.auth_client()
        qb = QuickBooks(
            auth_client=auth,
            refresh_token=refresh_token or self.refresh_token(),
            company_id=self.info["realm_id"],
            minorversion=75,
        )
        qb.api_url_v3 = self.info["api_base"]
        self.sessions.append(qb.session)
        return qb

    def http(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        """A raw API call (for shapes the library hides), with a bearer token."""
        url = f"{self.info['api_base']}/company/{self.info['realm_id']}/{path.lstrip('/')}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            **kwargs.pop("headers", {}),
        }
        return requests.request(method, url, headers=headers, timeout=30, **kwargs)

    def reset(self, seed: str | None = "tiny") -> None:
        self.admin.reset("quickbooks", seed)

    def close_sessions(self, admin: bool = True) -> None:
        """Close kept-alive TLS connections: uvicorn waits for them when it shuts down."""
        for session in self.sessions:
            session.close()
        self.sessions.clear()
        if admin:
            self.admin.session.close()


@pytest.fixture(scope="session")
def qbo_sandbox(tmp_path_factory):
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(
        tmp_path_factory.mktemp("qbo-sandbox"), seed="tiny", extra_args=["--only", "quickbooks"]
    )
    admin = process.start()
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = admin.connections["ca_bundle"]
    sandbox = QBOSandbox(admin)
    try:
        yield sandbox
    finally:
        sandbox.close_sessions()
        process.stop()
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


@pytest.fixture
def qbo(qbo_sandbox, monkeypatch):
    """The sandbox with clean admin state (no faults, latency, counters) for each test; its CA
    trusted for the test (another session sandbox on the same worker may have set another)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", qbo_sandbox.admin.connections["ca_bundle"])
    qbo_sandbox.admin.clear_faults("quickbooks")
    qbo_sandbox.admin.clear_counters("quickbooks")
    qbo_sandbox.admin.set_latency("quickbooks", 0)
    yield qbo_sandbox
    qbo_sandbox.admin.clear_faults("quickbooks")
    qbo_sandbox.admin.set_latency("quickbooks", 0)
    qbo_sandbox.close_sessions(admin=False)
    qbo_sandbox.call(
        "POST",
        "throttle",
        {
            "enabled": True,
            "per_minute": 500,
            "concurrent": 10,
            "batch_per_minute": 40,
            "work_ms": 0,
            "xml": False,
            "retry_after": 60,
            "reset_windows": True,
        },
    )


@pytest.fixture
def qb(qbo):
    """A fresh python-quickbooks client."""
    return qbo.client()


@pytest.fixture
def qbo_sandbox_type():
    """The helper class, for tests that start their own sandbox process."""
    return QBOSandbox
