"""Whole-DAG runs against the sandbox servers: a clean company and org per test."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.conftest import load_dag

# Every seeded record predates the test; the tests that want the seed synced say so.
SINCE_SEED = "2020-01-01T00:00:00+00:00"


@dataclass
class SyncEnv:
    """A reset sandbox pair, Airflow connections pointing at it, and helpers to run the DAG."""

    sandbox: object

    def set_preferences(self, **prefs) -> None:
        from sfqb.state import MetadataDbVariables

        MetadataDbVariables().set("sfqb.preferences", json.dumps(prefs))

    def run(self, dag_id: str = "sfqb_sync", *, task_retries: int | None = None, **kwargs):
        """One dag.test() run of a freshly parsed DAG; returns (dag_run, states, summary).

        ``task_retries=0`` lets a test that makes a task fail see the failure at once
        (dag.test() waits out each retry delay, minutes with the DAG's defaults)."""
        dag = load_dag(dag_id)
        if task_retries is not None:
            for task in dag.tasks:
                task.retries = task_retries
        dag_run = dag.test(**kwargs)
        tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
        states = {task_id: ti.state for task_id, ti in tis.items()}
        summary = (
            tis["summarize_run"].xcom_pull(task_ids="summarize_run")
            if states.get("summarize_run") == "success"
            else None
        )
        return dag_run, states, summary

    def sf(self):
        from sfqb.hooks.salesforce import SfqbSalesforceHook

        return SfqbSalesforceHook()

    def qb(self):
        from sfqb.hooks.quickbooks import QuickBooksHook

        return QuickBooksHook()

    def writes(self) -> dict[str, int]:
        return {s: self.sandbox.counters(s)["writes"] for s in ("quickbooks", "salesforce")}


def report_of(summary: dict, area: str) -> dict:
    """An area's report as the tests read it (``report_view``)."""
    return report_view(next(a for a in summary["areas"] if a["area"] == area))


def report_view(report: dict) -> dict:
    """A report for assertions: each action's total over the area's record types (``created``,
    ``failed``, ...: the summary a person reads never adds unlike records, R-GEN-11; a test may
    ask whether anything at all failed), the warnings as ``area: key: reason`` lines, and the
    report itself (``records``, ``warning_entries`` with their states)."""
    from sfqb.outcomes import ACTIONS, count, warning_line

    entries = report.get("warnings") or []
    return {
        **report,
        **{action: count(report, action) for action in ACTIONS},
        "warnings": [w if isinstance(w, str) else warning_line(w) for w in entries],
        "warning_entries": entries,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (``item.rep_call``): a fixture's teardown can tell
    whether the test failed (the browser test saves a screenshot then)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def sync_env(sandbox, airflow_db, monkeypatch):
    env = prepare_sync_env(sandbox, monkeypatch)
    sandbox.clear_counters()
    return env


@pytest.fixture(scope="session")
def desktop_sandbox(tmp_path_factory):
    """The Salesforce org and a QuickBooks Desktop company (``serve --quickbooks desktop``) in
    a sandbox process of their own, seeded tiny, for the Desktop runs."""
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(
        tmp_path_factory.mktemp("desktop-sandbox"),
        seed="tiny",
        extra_args=["--quickbooks", "desktop"],
    )
    admin = process.start()
    try:
        yield admin
    finally:
        admin.session.close()
        process.stop()


@pytest.fixture
def desktop_env(desktop_sandbox, airflow_db, monkeypatch, tmp_path):
    """``sync_env`` on QuickBooks Desktop (tests/integration/desktop.py): the Web Connector
    polls sfqb's service for the whole test."""
    from tests.integration.desktop import prepare_desktop_env

    env = prepare_desktop_env(desktop_sandbox, monkeypatch, tmp_path)
    desktop_sandbox.clear_counters()
    try:
        yield env
    finally:
        env.rig.close()


def end_unfinished_runs() -> None:
    """Mark failed, as a user would in the UI, every DAG run a former test left unfinished (a
    killed ``airflow dags test`` leaves its run and its running task behind). The metadata
    database is shared by the tests of a worker: a scheduler started later would otherwise see
    that run as active (``max_active_runs=1``) and queue its own behind it for ever."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, State, TaskInstanceState
    from sqlalchemy import select, update

    with create_session() as session:
        active = (DagRunState.RUNNING, DagRunState.QUEUED)
        for run in session.scalars(select(DagRun).where(DagRun.state.in_(active))):
            run.set_state(DagRunState.FAILED)
            session.execute(
                update(TaskInstance)
                .where(
                    TaskInstance.dag_id == run.dag_id,
                    TaskInstance.run_id == run.run_id,
                    TaskInstance.state.in_([s for s in State.unfinished if s is not None]),
                )
                .values(state=TaskInstanceState.FAILED)
            )


def prepare_sync_env(sandbox, monkeypatch) -> SyncEnv:
    """What ``sync_env`` sets up (also for module-scoped fixtures): both sandboxes reset to the
    tiny seed dated an hour back, no sfqb Variables, no unfinished DAG run, connections to the
    sandbox."""
    end_unfinished_runs()
    from sfqb.state import MetadataDbVariables
    from sfqb_sandbox.connections import airflow_connections

    # The seed is dated an hour ago (one clock serves both servers), so it is plainly older
    # than any run's install date and lookback, whatever the test's timing.
    sandbox.set_clock("quickbooks", advance_seconds=-3600)
    try:
        for service in ("quickbooks", "salesforce"):
            sandbox.reset(service, seed="tiny")
    finally:
        sandbox.set_clock("quickbooks", reset=True)
    # Trust this sandbox's CA for the test (another session sandbox may have set another).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.connections["ca_bundle"])
    variables = MetadataDbVariables()
    for key in variables.keys("sfqb."):
        variables.delete(key)
    connections = dict(sandbox.connections)
    minted = sandbox.call("quickbooks", "POST", "oauth/refresh-token")
    connections["quickbooks"] = {
        **connections["quickbooks"],
        "refresh_token": minted["refresh_token"],
    }
    for conn_id, spec in airflow_connections(connections).items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(spec))
    # Retries still happen, with short pauses: the fault tests exhaust them in seconds.
    monkeypatch.setenv("SFQB_RETRY_BASE_DELAY", "0.05")
    return SyncEnv(sandbox)


class _SmtpSession:
    """One SMTP conversation (RFC 5321's minimum: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
    QUIT); each accepted message is handed to ``deliver``."""

    def __init__(self, rfile, wfile, deliver) -> None:
        self.rfile, self.wfile, self.deliver = rfile, wfile, deliver

    def reply(self, text: str) -> None:
        self.wfile.write(f"{text}\r\n".encode())
        self.wfile.flush()

    def serve(self) -> None:
        self.reply("220 sfqb-test ESMTP")
        sender, rcpts = None, []
        for raw in iter(self.rfile.readline, b""):
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.reply("250-sfqb-test\r\n250 8BITMIME")
            elif verb == "HELO" or verb == "NOOP":
                self.reply("250 OK")
            elif verb == "MAIL":
                sender, rcpts = command.split(":", 1)[1].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(command.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                for line in iter(self.rfile.readline, b""):
                    if line in (b".\r\n", b".\n"):
                        break
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.deliver({"from": sender, "to": rcpts, "data": b"".join(lines)})
                self.reply("250 OK: queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


@dataclass
class SmtpServer:
    """A local SMTP server (stdlib socketserver) that keeps every message it receives."""

    host: str
    port: int
    messages: list

    def mails(self) -> list:
        """The received messages, parsed (``email.message.EmailMessage``)."""
        from email import message_from_bytes, policy

        return [message_from_bytes(m["data"], policy=policy.default) for m in self.messages]

    def connection_json(self, from_email: str = "sfqb-alerts@example.com") -> str:
        """An Airflow SMTP connection (JSON form) for this server: no TLS, no login."""
        return json.dumps(
            {
                "conn_type": "smtp",
                "host": self.host,
                "port": self.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": from_email,
                    "timeout": 10,
                },
            }
        )


@pytest.fixture
def smtp_server(monkeypatch):
    """A real SMTP server on a free local port for one test, set as Airflow's ``smtp_default``
    connection (env var); yields ``SmtpServer`` whose ``messages`` fill as mail arrives."""
    import socketserver
    import threading

    messages: list = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            _SmtpSession(self.rfile, self.wfile, messages.append).serve()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    smtp = SmtpServer("127.0.0.1", server.server_address[1], messages)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.connection_json())
    try:
        yield smtp
    finally:
        server.shutdown()
        server.server_close()
