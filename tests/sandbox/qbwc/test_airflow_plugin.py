"""The Web Connector service inside Airflow's api-server (``plugins/sfqb_qbwc.py``): mounted only
when ``SFQB_QBWC_IN_AIRFLOW`` asks for it, built on its first SOAP call, and driven by the Web
Connector emulator through Airflow's own api-server app and through two workers taking the
calls of one session in turn (R-QBD-1, R-QBD-8)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from lxml import etree
from starlette.routing import Mount

from sfqb.qbwc import DONE, JobQueue
from sfqb.qbwc.app import LazyService
from sfqb.qbwc.qwc import guids, qwc_text
from sfqb.qbwc.settings import QUEUE_FILE
from sfqb_sandbox.qbd.company import DEFAULT_FILE
from sfqb_sandbox.qbd.connector import LocalCompany
from sfqb_sandbox.webconnector import ConnectorSettings, WebConnector, parse_qwc
from tests.sandbox.qbd.conftest import make_company
from tests.sandbox.webconnector.conftest import Served

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "plugins" / "sfqb_qbwc.py"
USER, PASSWORD = "sfqb", "s3cret-Passw0rd"
FAST = ConnectorSettings(call_timeout=10.0, noop_wait=0.05)
READ = "<CustomerQueryRq><MaxReturned>4</MaxReturned></CustomerQueryRq>"
ADD = "<CustomerAddRq><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"


def load_plugin() -> ModuleType:
    """The plugin file executed afresh, as each Airflow process (each api-server worker) does."""
    spec = importlib.util.spec_from_file_location("sfqb_qbwc_under_test", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def desktop_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The plugin switched on, the connection as JSON, the queue file in tmp_path (its path)."""
    monkeypatch.setenv("SFQB_QBWC_IN_AIRFLOW", "1")
    monkeypatch.setenv("SFQB_QBWC_DIR", str(tmp_path))
    # a session lingers 1 s after its last job, not the default 2 minutes
    monkeypatch.setenv("SFQB_QBWC_LINGER_SECONDS", "1")
    monkeypatch.delenv("AIRFLOW_CONN_SFQB_QBWC_QUEUE", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT",
        json.dumps(
            {
                "conn_type": "generic",
                "login": USER,
                "password": PASSWORD,
                "extra": {"company_file": DEFAULT_FILE, "edition": "enterprise"},
            }
        ),
    )
    return tmp_path / QUEUE_FILE


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.mark.parametrize(
    ("value", "mounted"),
    [(None, False), ("", False), ("0", False), ("false", False), ("1", True), ("true", True)],
)
def test_given_sfqb_qbwc_in_airflow_when_the_plugin_is_imported_then_it_mounts_only_when_asked(
    monkeypatch, tmp_path, value, mounted
):
    """Unset, empty, "0" or "false": the plugin registers no app, so no SOAP endpoint. "1" or
    "true": one app at /quickbooks-desktop, outside the sync log's /sfqb, whose service is not
    built: importing the plugin opened no queue DB and read no connection (there is none to
    read here) (R-QBD-1)."""
    monkeypatch.setenv("SFQB_QBWC_DIR", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT", raising=False)
    if value is None:
        monkeypatch.delenv("SFQB_QBWC_IN_AIRFLOW", raising=False)
    else:
        monkeypatch.setenv("SFQB_QBWC_IN_AIRFLOW", value)

    apps = load_plugin().SfqbQbwcPlugin.fastapi_apps

    if mounted:
        (entry,) = apps
        assert entry["url_prefix"] == "/quickbooks-desktop"
        service = entry["app"].state.qbwc_service
        assert isinstance(service, LazyService) and service.built is None
    else:
        assert apps == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["soon", "-5", "nan"])
def test_given_a_bad_linger_when_the_plugin_is_imported_then_it_fails_naming_the_variable(
    monkeypatch, tmp_path, value
):
    """The in-Airflow service has no command line: its linger comes from
    SFQB_QBWC_LINGER_SECONDS. A value that is not 0 or more seconds stops the plugin at import,
    naming the variable and the value, rather than at the Web Connector's first call (R-QBD-1)."""
    monkeypatch.setenv("SFQB_QBWC_IN_AIRFLOW", "1")
    monkeypatch.setenv("SFQB_QBWC_DIR", str(tmp_path))
    monkeypatch.setenv("SFQB_QBWC_LINGER_SECONDS", value)

    with pytest.raises(ValueError, match=f"SFQB_QBWC_LINGER_SECONDS='{value}'"):
        load_plugin()


@pytest.fixture
def fresh_airflow_plugins() -> Iterator[None]:
    """Airflow loads plugins once per process and keeps them: forget them before and after, so
    this test's api-server loads them with its environment and later tests with theirs."""
    from airflow import plugins_manager

    def forget() -> None:
        for value in list(vars(plugins_manager).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()

    forget()
    yield
    forget()


def test_given_sfqb_qbwc_in_airflow_when_airflows_api_server_runs_then_a_session_goes_through_it(
    desktop_env, fresh_airflow_plugins, tmp_path
):
    """Airflow's own api-server app (``create_app``, its plugins loaded from plugins/) on uvicorn:
    the service is at /quickbooks-desktop/qbwc beside the sync log's /sfqb, its WSDL names that
    address, the .qwc's AppSupport is the service's support page under the same prefix (not
    Airflow's UI), the queue is opened only by the first SOAP call, and a Web Connector session
    reads a job to the end with its events kept (R-QBD-1, R-QBD-8)."""
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.tokens import get_signing_key

    # The Task SDK API's start needs a JWT secret (`airflow standalone` writes one into
    # airflow.cfg). Without one, Airflow's token code makes one for the whole process: done
    # here the same way, so the tokens of later tests in this process are signed and checked
    # with one secret.
    get_signing_key("api_auth", "jwt_secret", make_secret_key_if_needed=True)
    api = create_app()
    mounts = [route.path for route in api.routes if isinstance(route, Mount)]
    assert "/sfqb" in mounts and "/quickbooks-desktop" in mounts
    company = make_company(tmp_path)

    with Served(api) as served, http() as client:
        base = f"http://localhost:{served.port}/quickbooks-desktop"
        url = f"{base}/qbwc"
        wsdl = client.get(f"{url}?wsdl", timeout=10)
        plain = client.get(url, timeout=10)
        assert not desktop_env.exists()  # the GETs need no service
        queue = JobQueue.from_url(f"sqlite:///{desktop_env}")
        job = queue.enqueue_read(READ, "airflow:customers")
        qwc = parse_qwc(qwc_text(url, USER, *guids(queue)))
        support = client.get(qwc.app_support, timeout=10)

        record = WebConnector(qwc, PASSWORD, LocalCompany(company), FAST).run_session()

    assert wsdl.status_code == 200 and plain.status_code == 200, wsdl.text
    address = etree.fromstring(wsdl.content).find(f".//{{{WSDL_SOAP}}}address")
    assert address is not None and address.get("location") == url
    assert qwc.app_support == f"{base}/support"
    assert support.status_code == 200 and support.text.startswith("sfqb QBWC service")
    assert record.outcome == "done", record.errors
    assert queue.get(job.id).state == DONE and len(queue.pages(job.id)) >= 2
    (session,) = queue.sessions()
    events = [e.event for e in queue.events(session.id)]
    assert events[:2] == ["start", "company"] and events[-1] == "end"
    queue.close()


class TakingTurns:
    """One port whose requests go to each worker's app in turn: the api-server's uvicorn workers
    share one socket, and a Web Connector that opens a new connection may reach another one."""

    def __init__(self, *workers: Any) -> None:
        self.workers = workers
        self.posts = [0] * len(workers)
        self._next = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the workers have nothing to start or stop
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        index = self._next % len(self.workers)
        self._next += 1
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts[index] += 1
        await self.workers[index](scope, receive, send)


def test_given_two_api_server_workers_when_they_take_a_sessions_calls_in_turn_then_it_ends_done(
    desktop_env, tmp_path
):
    """Two workers, each having imported the plugin and built its own service on its first
    call, mounted the way Airflow mounts a plugin app (``app.mount(url_prefix, app)``), answer
    the calls of one session alternately: the ticket, the session, the read's iterator and the
    write group live in the queue DB, so the read is walked to its last page, the write is
    applied, and the session ends once (R-QBD-1, R-QBD-8)."""
    workers, services = [], []
    for _ in range(2):
        (entry,) = load_plugin().SfqbQbwcPlugin.fastapi_apps
        worker = FastAPI()
        worker.mount(entry["url_prefix"], entry["app"])
        workers.append(worker)
        services.append(entry["app"].state.qbwc_service)
    front = TakingTurns(*workers)
    company = make_company(tmp_path)
    queue = JobQueue.from_url(f"sqlite:///{desktop_env}")
    read = queue.enqueue_read(READ, "workers:customers")
    write = queue.enqueue_writes([ADD.format(name="Two Workers")], "workers:add")

    with Served(front) as served:
        url = f"http://localhost:{served.port}/quickbooks-desktop/qbwc"
        qwc = parse_qwc(qwc_text(url, USER, *guids(queue)))
        record = WebConnector(qwc, PASSWORD, LocalCompany(company), FAST).run_session()

    assert record.outcome == "done", record.errors
    assert min(front.posts) >= 3, front.posts
    first, second = (service.built for service in services)
    assert first is not None and second is not None and first.queue is not second.queue
    assert first.settings.linger_seconds == 1.0  # SFQB_QBWC_LINGER_SECONDS
    assert queue.get(read.id).state == DONE and len(queue.pages(read.id)) >= 2
    assert queue.get(write.id).state == DONE and 'statusCode="0"' in queue.pages(write.id)[0]
    (session,) = queue.sessions()
    assert session.state == "ended" and session.error is None
    assert [e.event for e in queue.events(session.id)].count("end") == 1
    queue.close()
