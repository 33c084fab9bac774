"""``python -m sfqb qbwc serve`` over HTTPS, as an operator runs it: a subprocess with a
certificate from a local CA, the connection in ``AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT``, the
queue a SQLite file in ``SFQB_QBWC_DIR``. A Web Connector emulator that trusts the CA runs a
session to the end; one that does not trust it never reaches the service; SIGTERM stops it in
seconds even while a client holds an idle TLS connection; a key that is not the certificate's is
refused before anything starts (R-QBD-1, R-QBD-8)."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sfqb.qbwc import DONE, QUEUED, JobQueue
from sfqb.qbwc.qwc import guids, qwc_text
from sfqb_sandbox.common.tls import TlsFiles, ensure_tls
from sfqb_sandbox.qbd.company import DEFAULT_FILE, DesktopCompany
from sfqb_sandbox.qbd.connector import LocalCompany
from sfqb_sandbox.webconnector import ConnectorSettings, SessionRecord, WebConnector, parse_qwc
from tests.sandbox.qbd.conftest import make_company
from tests.sandbox.qbwc.conftest import free_port

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[3]
USER, PASSWORD = "sfqb", "s3cret-Passw0rd"
ADD = "<CustomerAddRq><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>"


@dataclass
class Server:
    """``python -m sfqb qbwc serve`` running with TLS, its queue and the company behind it."""

    process: subprocess.Popen
    port: int
    tls: TlsFiles
    queue: JobQueue
    company: DesktopCompany
    log_path: Path

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/qbwc"

    def output(self) -> str:
        """What the server wrote (stdout and stderr), for assertion messages."""
        return "--- the server's output ---\n" + self.log_path.read_text(errors="replace")

    def session(self, verify: bool | str) -> SessionRecord:
        """One Web Connector session against the service, trusting ``verify``."""
        qwc = parse_qwc(qwc_text(self.url, USER, *guids(self.queue)))
        settings = ConnectorSettings(call_timeout=10.0, noop_wait=0.05, verify=verify)
        return WebConnector(qwc, PASSWORD, LocalCompany(self.company), settings).run_session()


def _environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AIRFLOW_CONN_SFQB_QBWC_QUEUE", None)  # the queue is the file in SFQB_QBWC_DIR
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)  # not the test session's database
    paths = [str(ROOT / "include"), str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["SFQB_QBWC_DIR"] = str(tmp_path)
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    env["AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT"] = json.dumps(
        {
            "conn_type": "generic",
            "login": USER,
            "password": PASSWORD,
            "extra": {"company_file": DEFAULT_FILE, "edition": "enterprise"},
        }
    )
    return env


def _wait_until_up(process: subprocess.Popen, url: str, bundle: Path, log_path: Path) -> None:
    http = requests.Session()
    http.trust_env = False  # no proxy, no REQUESTS_CA_BUNDLE: only the bundle given
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited with {process.returncode}\n{log_path.read_text()}")
            try:
                # "Connection: close": the server ends the connection, which otherwise stays
                # open in the test process until the garbage collector finds it, and holds
                # uvicorn's shutdown for its grace time (app.SHUTDOWN_SECONDS)
                answer = http.get(
                    f"{url}?wsdl", verify=str(bundle), timeout=2, headers={"Connection": "close"}
                )
                if answer.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"serve did not answer {url}?wsdl in 60 s\n{log_path.read_text()}")
            time.sleep(0.1)
    finally:
        http.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``qbwc serve --certfile --keyfile`` on a free port of 127.0.0.1, stopped after the test."""
    tls = ensure_tls(tmp_path / "tls")
    port = free_port()
    log_path = tmp_path / "serve.log"
    company = make_company(tmp_path)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sfqb",
                "qbwc",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--certfile",
                str(tls.server_cert),
                "--keyfile",
                str(tls.server_key),
                # A session lingers 1 s after its last job (120 s by default), then closes.
                "--linger",
                "1",
            ],
            cwd=tmp_path,
            env=_environment(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    queue = None
    try:
        _wait_until_up(process, f"https://localhost:{port}/qbwc", tls.bundle, log_path)
        # the server migrated the file at start; the test queues work in the same file
        queue = JobQueue.from_url(f"sqlite:///{tmp_path / 'sfqb-qbwc-queue.sqlite3'}")
        yield Server(process, port, tls, queue, company, log_path)
    finally:
        if queue is not None:
            queue.close()
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_given_serve_with_a_certificate_when_a_trusting_web_connector_runs_then_the_read_is_done(
    server,
):
    """The Web Connector emulator trusts the local CA (the bundle): over HTTPS it authenticates
    against the connection given as JSON in the environment, the company check passes, the read
    is walked page by page and the job ends done with its pages; the session is logged in the
    queue and on the server's output; at start the server logged its HTTPS address, the
    certificate's names and the user it expects, and uvicorn's own start line (R-QBD-1,
    R-QBD-8)."""
    job = server.queue.enqueue_read(
        "<CustomerQueryRq><MaxReturned>4</MaxReturned></CustomerQueryRq>", "tls:customers"
    )

    record = server.session(verify=str(server.tls.bundle))

    output = server.output()
    assert record.outcome == "done", f"{record.errors}\n{output}"
    assert record.methods[:3] == ["serverVersion", "clientVersion", "authenticate"]
    assert record.percent_done[-1] == 100  # the lingering session's closing request
    done = server.queue.get(job.id)
    pages = server.queue.pages(job.id)
    assert done.state == DONE and len(pages) >= 2, output
    assert all("<CustomerRet>" in page for page in pages), output
    (session,) = server.queue.sessions()
    assert session.state == "ended" and session.error is None, output
    events = [e.event for e in server.queue.events(session.id)]
    assert events[:2] == ["start", "company"] and events[-1] == "end", output
    port = server.port
    assert f"qbwc: serving https://127.0.0.1:{port}/qbwc (TLS, certificate for localhost" in output
    assert "the Web Connector's user is 'sfqb', company file" in output, output
    assert f"Uvicorn running on https://127.0.0.1:{port}" in output, output
    assert f"qbwc session {session.id}: end" in output, output


def test_given_serve_with_a_certificate_when_a_web_connector_does_not_trust_it_then_nothing_is_sent(
    server, tmp_path
):
    """A Web Connector that trusts only the public CAs, and one that trusts another CA, both fail
    at the TLS handshake: no call reaches the service, no session is recorded, no poll is
    counted, the queued write stays queued and the company never sees it; the service goes on
    serving a client that trusts it (R-QBD-1)."""
    job = server.queue.enqueue_writes([ADD.format(name="Never Sent")], "tls:untrusted")
    other_ca = ensure_tls(tmp_path / "other-ca")

    records = [server.session(verify=True), server.session(verify=str(other_ca.bundle))]

    output = server.output()
    for record in records:
        assert record.outcome == "call_failed", f"{record.outcome} {record.errors}\n{output}"
        assert all(
            call.error and "CERTIFICATE_VERIFY_FAILED" in call.error for call in record.calls
        )
        assert "authenticate" not in record.methods and record.company_file is None
    assert server.queue.sessions() == [] and server.queue.last_poll() is None, output
    assert server.queue.get(job.id).state == QUEUED
    server.company.open("")
    found = server.company.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        '<CustomerQueryRq requestID="1"><FullName>Never Sent</FullName></CustomerQueryRq>'
        "</QBXMLMsgsRq></QBXML>"
    )
    assert "<CustomerRet>" not in found and 'statusCode="500"' in found
    assert "qbwc session" not in output
    trusted = server.session(verify=str(server.tls.bundle))
    assert trusted.outcome == "done" and server.queue.get(job.id).state == DONE, output


def test_given_an_idle_tls_connection_when_serve_is_stopped_then_it_exits_within_seconds(server):
    """The Web Connector keeps its connection open between calls. With one idle TLS connection
    open, SIGTERM stops ``serve`` in a few seconds and cleanly (uvicorn's last line logged),
    not after asyncio's 30 s wait for the client's TLS close (R-QBD-1)."""
    context = ssl.create_default_context(cafile=str(server.tls.ca_cert))
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with context.wrap_socket(raw, server_hostname="localhost") as idle:
        idle.sendall(b"GET /qbwc HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while b"sfqb QBWC service" not in answer:
            answer += idle.recv(4096)
        started = time.monotonic()

        server.process.terminate()
        try:
            code = server.process.wait(20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still runs 20 s after SIGTERM\n{server.output()}")
        took = time.monotonic() - started

    output = server.output()
    assert answer.startswith(b"HTTP/1.1 200"), answer
    # uvicorn ends by raising the signal it caught again: the exit status is SIGTERM's
    assert code in (0, -signal.SIGTERM) and took < 10, f"exit {code} after {took:.1f} s\n{output}"
    assert "Finished server process" in output, output


def test_given_a_key_that_is_not_the_certificates_when_serve_starts_then_it_exits_2(
    tmp_path, monkeypatch, capsys
):
    """A key from another pair, a certificate file that is missing, a certificate without its
    key: ``qbwc serve`` says what is wrong and exits 2 before it opens the queue or listens
    (R-QBD-1)."""
    from sfqb.__main__ import main

    monkeypatch.setenv("SFQB_QBWC_DIR", str(tmp_path))
    tls = ensure_tls(tmp_path / "tls")
    other = ensure_tls(tmp_path / "other")
    serve = ["qbwc", "serve", "--host", "127.0.0.1", "--port", str(free_port())]

    mismatched = main(
        [*serve, "--certfile", str(tls.server_cert), "--keyfile", str(other.server_key)]
    )
    mismatch_error = capsys.readouterr().err
    missing = main(
        [*serve, "--certfile", str(tmp_path / "nope.pem"), "--keyfile", str(tls.server_key)]
    )
    missing_error = capsys.readouterr().err
    half = main([*serve, "--certfile", str(tls.server_cert)])
    half_error = capsys.readouterr().err

    assert (mismatched, missing, half) == (2, 2, 2)
    assert "cannot be used" in mismatch_error and "KEY_VALUES_MISMATCH" in mismatch_error
    assert "nope.pem" in missing_error and "No such file" in missing_error
    assert "give both --certfile and --keyfile" in half_error
    assert not (tmp_path / "sfqb-qbwc-queue.sqlite3").exists()
