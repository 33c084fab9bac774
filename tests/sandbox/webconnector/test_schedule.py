"""The Web Connector's schedule and the command line (api-notes 9.2, 9.3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from sfqb_sandbox.webconnector import Scheduler, WebConnector, parse_qwc

from .conftest import Script, qwc_text

pytestmark = pytest.mark.sandbox


def connector(svc, company, settings, **kwargs):
    return WebConnector(parse_qwc(qwc_text(svc.url, **kwargs)), "secret", company, settings)


def test_given_a_short_interval_when_scheduled_then_two_sessions_run_that_far_apart(
    service, company, fast
):
    """Two sessions at a 0.5 s interval (the test override of the .qwc's 5 minutes): both
    complete, and the second starts about 0.5 s after the first started."""
    svc = service(Script(requests=[]))
    scheduler = Scheduler(connector(svc, company, fast), every_seconds=0.5)
    starts = []
    records = scheduler.run(max_sessions=2, on_session=lambda r: starts.append(time.monotonic()))
    assert [r.outcome for r in records] == ["service_error", "service_error"]
    assert svc.methods.count("authenticate") == 2
    assert svc.methods.count("closeConnection") == 2
    assert len({r.ticket for r in records}) == 2
    assert starts[1] - starts[0] >= 0.4


def test_given_a_qwc_in_seconds_when_scheduled_then_its_interval_is_used(service, company, fast):
    """Without an override the .qwc's RunEveryNSeconds is the interval."""
    svc = service()
    scheduler = Scheduler(
        connector(
            svc,
            company,
            fast,
            scheduler="<Scheduler><RunEveryNSeconds>1</RunEveryNSeconds></Scheduler>",
        )
    )
    assert scheduler.interval == 1.0


def test_given_a_postponement_when_scheduled_then_the_next_run_waits_that_long(
    service, company, fast
):
    """authenticate's third element postpones the next run by that many seconds."""
    svc = service(Script(auth_status="busy", auth_extra=["1"]))
    scheduler = Scheduler(connector(svc, company, fast), every_seconds=0.1)
    started = time.monotonic()
    records = scheduler.run(max_sessions=2)
    assert time.monotonic() - started >= 1.0
    assert [r.outcome for r in records] == ["busy", "busy"]


def test_given_a_minimum_interval_when_scheduled_then_the_interval_is_raised(
    service, company, fast
):
    """authenticate's fourth element is a floor for the interval."""
    svc = service(Script(auth_status="none", auth_extra=["", "1"]))
    scheduler = Scheduler(connector(svc, company, fast), every_seconds=0.1)
    started = time.monotonic()
    scheduler.run(max_sessions=2)
    assert time.monotonic() - started >= 1.0


def test_given_a_stop_when_waiting_then_the_schedule_ends_at_once(service, company, fast):
    """Setting the stop event ends the schedule between sessions."""
    svc = service(Script(auth_status="none"))
    scheduler = Scheduler(connector(svc, company, fast), every_seconds=30)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    records = scheduler.run(stop)
    assert len(records) == 1
    assert time.monotonic() - started < 5


def test_given_no_scheduler_when_run_on_a_schedule_then_it_is_refused(service, company, fast):
    """A .qwc without Scheduler runs once only (QBWC updates it when the user clicks)."""
    svc = service()
    scheduler = Scheduler(connector(svc, company, fast, scheduler=""))
    with pytest.raises(ValueError, match="no Scheduler"):
        scheduler.run()
    assert scheduler.run_once().outcome == "done"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sfqb_sandbox.webconnector", "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def test_given_the_cli_when_run_once_then_it_prints_the_session_and_exits_0(
    service, company_server, qwc_file, tmp_path
):
    """`python -m sfqb_sandbox.webconnector run --once` runs one session against the service
    with the company emulator's server, prints its summary as JSON and writes the log."""
    svc = service()
    log = tmp_path / "QWCLog.txt"
    done = cli(
        "--qwc",
        str(qwc_file(svc.url)),
        "--password",
        "secret",
        "--company",
        company_server,
        "--once",
        "--noop-wait",
        "0.05",
        "--log",
        str(log),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["outcome"] == "done"
    assert summary["percent_done"] == [50, 100]
    assert summary["calls"][-1] == "closeConnection"
    assert "closeConnection" in log.read_text()


def test_given_the_cli_when_run_on_a_schedule_then_each_session_is_printed(
    service, company_server, qwc_file
):
    """--every and --sessions: two sessions, two JSON lines."""
    svc = service(Script(auth_status="none"))
    done = cli(
        "--qwc",
        str(qwc_file(svc.url)),
        "--password",
        "secret",
        "--company",
        company_server,
        "--every",
        "0.2",
        "--sessions",
        "2",
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["outcome"] for line in lines] == ["no_work", "no_work"]


def test_given_a_refused_qwc_when_the_cli_runs_then_it_exits_2_with_qbwcs_message(
    qwc_file, company_server
):
    """A .qwc QBWC would not load: exit 2 and the QBWC10xx message."""
    done = cli(
        "--qwc",
        str(qwc_file("http://qbwc.example.com/qbwc")),
        "--password",
        "p",
        "--company",
        company_server,
        "--once",
    )
    assert done.returncode == 2
    assert "QBWC1010" in done.stderr


def test_given_an_invalid_user_when_the_cli_runs_then_it_exits_1(service, company_server, qwc_file):
    """A session that ends in an error ("nvu") exits 1."""
    svc = service(Script(auth_status="nvu"))
    done = cli(
        "--qwc",
        str(qwc_file(svc.url)),
        "--password",
        "wrong",
        "--company",
        company_server,
        "--once",
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["outcome"] == "invalid_user"
