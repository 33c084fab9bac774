"""Whole-DAG runs on QuickBooks Desktop: the Desktop company emulator and the Salesforce org in
their own sandbox process, sfqb's Web Connector service on uvicorn in a thread, and the Web
Connector emulator polling it every 0.2 s in another (docs/quickbooks-desktop.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sfqb_sandbox.desktop_rig import (
    WebConnectorRig,
    company_of,
    desktop_connection,
    start_rig,
    user_request,
)
from tests.integration.conftest import SyncEnv


@dataclass
class DesktopSyncEnv(SyncEnv):
    """``SyncEnv`` on a Desktop company; ``qb()`` is the Desktop adapter on the test's queue."""

    rig: WebConnectorRig | None = None

    def qb(self):
        from sfqb.hooks.desktop import DesktopQuickBooks

        return DesktopQuickBooks.from_connection(timeout=120, poll_interval=0.05)

    def in_quickbooks(self, request: str) -> str:
        """A QuickBooks user's edit: one request (``<InvoiceAddRq>...``) straight to the company
        file, the Web Connector paused meanwhile (QuickBooks takes one session at a time); the
        answer, which must be a success."""
        self.rig.stop()
        try:
            answer = user_request(
                company_of(
                    self.sandbox.connections["quickbooks_desktop"],
                    self.sandbox.connections["ca_bundle"],
                ),
                request,
            )
        finally:
            self.rig.start()
        assert 'statusCode="0"' in answer, answer
        return answer

    def writes(self) -> dict[str, int]:
        return {
            "quickbooks": self.sandbox.counters("quickbooks_desktop")["writes"],
            "salesforce": self.sandbox.counters("salesforce")["writes"],
        }


def prepare_desktop_env(sandbox, monkeypatch, tmp_path: Path) -> DesktopSyncEnv:
    """Both sandboxes reset to the tiny seed, no sfqb Variables, no unfinished run, the
    connections pointing at them and at the test's own queue, the Web Connector polling."""
    from sfqb.state import MetadataDbVariables
    from sfqb_sandbox.connections import salesforce_connection
    from tests.integration.conftest import end_unfinished_runs

    end_unfinished_runs()
    for service in ("quickbooks_desktop", "salesforce"):
        sandbox.reset(service, seed="tiny")
    sandbox.call("quickbooks_desktop", "DELETE", "company/faults")
    variables = MetadataDbVariables()
    for key in variables.keys("sfqb."):
        variables.delete(key)
    info = sandbox.connections["quickbooks_desktop"]
    queue_url = f"sqlite:///{tmp_path / 'qbwc-queue.sqlite3'}"
    env = {
        "REQUESTS_CA_BUNDLE": sandbox.connections["ca_bundle"],
        "AIRFLOW_CONN_SALESFORCE_DEFAULT": json.dumps(
            salesforce_connection(sandbox.connections["salesforce"])
        ),
        "AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT": json.dumps(desktop_connection(info)),
        "AIRFLOW_CONN_SFQB_QBWC_QUEUE": json.dumps(
            {"conn_type": "generic", "extra": json.dumps({"url": queue_url})}
        ),
        "SFQB_RETRY_BASE_DELAY": "0.05",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rig = start_rig(info, queue_url, sandbox.connections["ca_bundle"])
    return DesktopSyncEnv(sandbox, rig)
