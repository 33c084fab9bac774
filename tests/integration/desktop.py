"""Whole-DAG runs on QuickBooks Desktop: the Desktop company emulator and the Salesforce org in
their own sandbox process, sfqb's Web Connector service on uvicorn in a thread, and the Web
Connector emulator polling it every 0.2 s in another (docs/quickbooks-desktop.md)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfqb.qbwc import JobQueue
from sfqb.qbwc.app import create_app
from sfqb.qbwc.qwc import guids, qwc_text
from sfqb.qbwc.service import QbwcService, ServiceSettings
from sfqb.qbwc.settings import DesktopSettings
from sfqb_sandbox.webconnector import (
    ConnectorSettings,
    HttpCompany,
    Scheduler,
    WebConnector,
    parse_qwc,
)
from tests.integration.conftest import SyncEnv
from tests.sandbox.webconnector.conftest import Served

USER, PASSWORD = "sfqb", "Desktop-s3cret-pw"
POLL_SECONDS = 0.2


@dataclass
class WebConnectorRig:
    """The service, its queue and a polling Web Connector; ``stop()`` silences the Web
    Connector (as a user closing it would), ``start()`` brings it back."""

    queue: JobQueue
    served: Served
    connector: WebConnector
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    records: list = field(default_factory=list)
    """Every Web Connector session's record (``SessionRecord``), for a failing test to show."""

    def start(self) -> None:
        self._stop = threading.Event()
        scheduler = Scheduler(self.connector, every_seconds=POLL_SECONDS)
        self._thread = threading.Thread(
            target=scheduler.run,
            args=(self._stop,),
            kwargs={"on_session": self.records.append},
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
            if self._thread.is_alive():
                raise RuntimeError("the Web Connector emulator's thread did not stop")
            self._thread = None

    def errors(self) -> list[str]:
        """The errors of the sessions that did not end well, oldest first."""
        return [
            f"{r.outcome}: {r.errors or r.last_error}"
            for r in self.records
            if r.outcome not in ("done", "no_work")
        ]

    def close(self) -> None:
        self.stop()
        self.served.__exit__(None, None, None)
        self.queue.close()


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
        from tests.sandbox.qbd.conftest import message

        info = self.sandbox.connections["quickbooks_desktop"]
        company = HttpCompany(
            info["qbxml_url"].removesuffix("/qbxml"), verify=self.sandbox.connections["ca_bundle"]
        )
        self.rig.stop()
        try:
            company.open("")
            answer = company.process(message(request, on_error="stopOnError"))
            company.close()
        finally:
            self.rig.start()
        assert 'statusCode="0"' in answer, answer
        return answer

    def writes(self) -> dict[str, int]:
        return {
            "quickbooks": self.sandbox.counters("quickbooks_desktop")["writes"],
            "salesforce": self.sandbox.counters("salesforce")["writes"],
        }


def desktop_connection(info: dict) -> dict:
    from sfqb_sandbox.connections import desktop_connection as sandbox_desktop

    return sandbox_desktop(info, USER, PASSWORD)


def start_rig(
    info: dict,
    queue_url: str,
    ca_bundle: str,
    *,
    company: Callable[[HttpCompany], Any] = lambda company: company,
    noop_wait: float = 0.2,
) -> WebConnectorRig:
    """The service on a free port of localhost and a Web Connector polling it; ``company``
    wraps the Web Connector's company (a benchmark adds QuickBooks' own time), ``noop_wait``
    is its pause after a NoOp (QBWC's: 5 s)."""
    queue = JobQueue.from_url(queue_url)
    creds = DesktopSettings(USER, PASSWORD, info["company_file"], info["edition"].lower())
    service = QbwcService(queue, lambda: creds, ServiceSettings(none_wait_seconds=0))
    served = Served(create_app(service)).__enter__()
    url = f"http://localhost:{served.port}/qbwc"
    qwc = parse_qwc(qwc_text(url, USER, *guids(queue)))
    connector = WebConnector(
        qwc,
        PASSWORD,
        company(HttpCompany(info["qbxml_url"].removesuffix("/qbxml"), verify=ca_bundle)),
        ConnectorSettings(call_timeout=60.0, noop_wait=noop_wait),
    )
    rig = WebConnectorRig(queue, served, connector)
    rig.start()
    # The adapter queues nothing before the Web Connector's first poll.
    deadline = time.monotonic() + 30
    while queue.last_poll() is None:
        if time.monotonic() > deadline:
            rig.close()
            raise TimeoutError("the Web Connector emulator never polled the service")
        time.sleep(0.02)
    return rig


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
