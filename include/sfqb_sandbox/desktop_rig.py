"""sfqb's Web Connector service and the Web Connector emulator, wired to a sandbox Desktop company.

What a QuickBooks Desktop site runs beside sfqb: the service (``sfqb.qbwc``) on uvicorn in a
thread of this process, on a free port of localhost, and the Web Connector emulator polling it
in another thread, every ``POLL_SECONDS``, with the sandbox company's request processor over
HTTP (docs/quickbooks-desktop.md, docs/web-connector-emulator.md). The whole-DAG Desktop tests
(tests/integration/desktop.py) and the business simulation's Desktop mode
(``python -m sfqb_sim --edition desktop``) use it.

- ``Served``: an ASGI app on uvicorn in a thread.
- ``WebConnectorRig``: the queue, the served service and the polling Web Connector; ``stop()``
  silences the Web Connector as a user closing it would, ``start()`` brings it back.
- ``start_rig``: all of it for one company, returned once the Web Connector has polled.
- ``desktop_connection``: the Airflow connection ``quickbooks_desktop_default`` for it.
- ``user_request``: a QuickBooks user's edit, one message set straight to the company's
  request processor (the Web Connector must be stopped meanwhile: QuickBooks takes one session
  at a time).
- ``UserEditsBeforeMod``: the Web Connector's company with a QuickBooks user who edits a
  customer just before sfqb's CustomerMod of it arrives (a stale EditSequence).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from sfqb_sandbox.webconnector import (
    ConnectorSettings,
    HttpCompany,
    Scheduler,
    WebConnector,
    parse_qwc,
)

USER, PASSWORD = "sfqb", "Desktop-s3cret-pw"
POLL_SECONDS = 0.2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """An ASGI app on uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        # The service's keep-alive (``serve``), so the Web Connector's NoOp pause keeps its
        # connection as it does against the real service.
        from sfqb.qbwc.app import KEEP_ALIVE_SECONDS

        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class WebConnectorRig:
    """The service, its queue and a polling Web Connector; ``stop()`` silences the Web
    Connector (as a user closing it would), ``start()`` brings it back."""

    queue: Any  # sfqb.qbwc.JobQueue
    served: Served
    connector: WebConnector
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    records: list = field(default_factory=list)
    """Every Web Connector session's record (``SessionRecord``), for a failing test to show."""

    @property
    def running(self) -> bool:
        return self._thread is not None

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


def desktop_connection(info: dict, password: str = PASSWORD, **extra: Any) -> dict:
    """The Airflow connection ``quickbooks_desktop_default`` for the company ``info`` (its block
    of the sandbox's connections.json); ``extra`` adds keys (``max_poll_minutes``)."""
    return {
        "conn_type": "generic",
        "login": USER,
        "password": password,
        "extra": json.dumps(
            {
                "company_file": info["company_file"],
                "edition": info["edition"],
                "time_zone": info["time_zone"],
                **extra,
            }
        ),
    }


def company_of(info: dict, ca_bundle: str) -> HttpCompany:
    """The company's request processor over HTTP (what the Web Connector talks to)."""
    return HttpCompany(info["qbxml_url"].removesuffix("/qbxml"), verify=ca_bundle)


def start_rig(
    info: dict,
    queue_url: str,
    ca_bundle: str,
    poll_timeout: float = 30,
    *,
    company: Callable[[Any], Any] = lambda company: company,
    noop_wait: float = 0.2,
    hold_seconds: float = 0.0,
) -> WebConnectorRig:
    """The service on a free port of localhost and a Web Connector polling it, once it has
    polled (the adapter queues nothing before the Web Connector's first poll); ``company``
    wraps the Web Connector's company (a benchmark adds QuickBooks' own time), ``noop_wait``
    is its pause after a NoOp (QBWC's: 5 s), ``hold_seconds`` the service's hold of a lingering
    session's request for work: none by default, since this Web Connector pauses only
    ``noop_wait`` and a test that stops it (a QuickBooks user's edit) would wait out each held
    request; a benchmark passes the service's default."""
    from sfqb.qbwc import JobQueue
    from sfqb.qbwc.app import create_app
    from sfqb.qbwc.qwc import guids, qwc_text
    from sfqb.qbwc.service import QbwcService, ServiceSettings
    from sfqb.qbwc.settings import DesktopSettings

    queue = JobQueue.from_url(queue_url)
    creds = DesktopSettings(USER, PASSWORD, info["company_file"], info["edition"].lower())
    settings = ServiceSettings(none_wait_seconds=0, hold_seconds=hold_seconds)
    service = QbwcService(queue, lambda: creds, settings)
    served = Served(create_app(service)).__enter__()
    url = f"http://localhost:{served.port}/qbwc"
    qwc = parse_qwc(qwc_text(url, USER, *guids(queue)))
    connector = WebConnector(
        qwc,
        PASSWORD,
        company(company_of(info, ca_bundle)),
        ConnectorSettings(call_timeout=60.0, noop_wait=noop_wait),
    )
    rig = WebConnectorRig(queue, served, connector)
    rig.start()
    deadline = time.monotonic() + poll_timeout
    while queue.last_poll() is None:
        if time.monotonic() > deadline:
            rig.close()
            raise TimeoutError("the Web Connector emulator never polled the service")
        time.sleep(0.02)
    return rig


def qbxml_message(body: str, on_error: str = "stopOnError", version: str = "13.0") -> str:
    """A qbXML request message set around ``body`` (one or more ``...Rq`` elements)."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{version}"?>'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>'
    )


def user_request(company: HttpCompany, body: str) -> str:
    """A QuickBooks user's request ``body`` in a session of its own; the answer message set."""
    company.open("")
    try:
        return company.process(qbxml_message(body))
    finally:
        company.close()


class UserEditsBeforeMod:
    """The Web Connector's company with a QuickBooks user who edits a customer (its Notes) just
    before one of sfqb's CustomerMods of it reaches QuickBooks, so that Mod's EditSequence is
    stale (3200). The ``skip + 1``-th to ``skip + times``-th message sets with a CustomerMod
    are preceded by such an edit; ``edited`` lists the customers' ListIDs."""

    def __init__(self, company: Any, times: int = 1, skip: int = 0) -> None:
        self.company, self.times, self.skip = company, times, skip
        self.seen = 0
        self.edited: list[str] = []

    def open(self, company_file: str) -> str:
        return self.company.open(company_file)

    def close(self) -> None:
        self.company.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.company, name)

    def _one(self, body: str) -> str:
        return self.company.process(qbxml_message(body))

    def process(self, request: str) -> str:
        at = request.find("<CustomerModRq")
        if at >= 0 and len(self.edited) < self.times:
            self.seen += 1
            if self.seen > self.skip:
                list_id = re.search(r"<ListID>([^<]+)</ListID>", request[at:]).group(1)
                found = self._one(f"<CustomerQueryRq><ListID>{list_id}</ListID></CustomerQueryRq>")
                sequence = re.search(r"<EditSequence>([^<]+)</EditSequence>", found).group(1)
                answer = self._one(
                    f"<CustomerModRq><CustomerMod><ListID>{list_id}</ListID>"
                    f"<EditSequence>{sequence}</EditSequence>"
                    "<Notes>Edited in QuickBooks meanwhile</Notes></CustomerMod></CustomerModRq>"
                )
                if 'statusCode="0"' not in answer:
                    raise RuntimeError(f"the QuickBooks user's edit failed: {answer}")
                self.edited.append(list_id)
        return self.company.process(request)
