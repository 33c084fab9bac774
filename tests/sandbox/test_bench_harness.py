"""The benchmark harness itself (bench/README.md), on a company small enough for the suite: the
commands `make bench` runs keep working as the steps they call change, and what they report
holds at this size too."""

from __future__ import annotations

import json
import logging
import os

import pytest

from bench import desktop_sync, planning, sync

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture
def kept_environment():
    """The harness points Airflow's connections and the CA bundle at its own sandbox through
    os.environ, and bench.planning silences logging: put both back for the tests after this one."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)
    logging.disable(logging.NOTSET)


def test_given_a_small_company_when_bench_sync_runs_then_loads_sit_near_their_floor_and_quiet_runs_write_nothing(
    tmp_path, kept_environment
):
    """R-GEN-4 (write only what changed) and the benchmark targets at 30 customers: every load's
    write calls exceed the batch floor by a constant of at most 2 (the customers load writes
    Accounts in phases: at 1k and 10k customers every load is within 1.1x, bench/results); the
    second run (reading the first's writes) and the no-change run write nothing; the no-change
    run reads in a few dozen calls."""
    assert (
        sync.main(
            ["--sizes", "30", "--latency", "0", "--transform-rows", "1000", "--out", str(tmp_path)]
        )
        == 0
    )

    runs = {
        r["run"]: r for r in json.loads((tmp_path / "sync.json").read_text())["sizes"][0]["runs"]
    }
    initial, echo, quiet = runs["initial sync"], runs[sync.ECHO_RUN], runs["no change"]
    assert initial["loads"] and all(
        load["write_calls"] <= load["floor"] + 2 for load in initial["loads"]
    ), initial["loads"]
    assert echo["loads"] == [] and quiet["loads"] == []
    assert sum(quiet["sync_calls_total"].values()) <= 50, quiet["sync_calls_total"]
    assert "| run | seconds |" in (tmp_path / "sync.md").read_text()


def test_given_a_small_capture_when_bench_planning_grows_it_then_every_plan_scales_with_the_copies(
    tmp_path, kept_environment
):
    """The pure transforms alone: bench.planning captures two real runs, grows each
    area's extract by copies with fresh ids and names, and each area's plan gives exactly
    copies x the captured plan's outputs (the exit code says so); every area with something to
    plan is measured, in both scenarios."""
    capture = tmp_path / "capture.pkl"
    argv = [
        "--capture",
        "30",
        "--sizes",
        "300",
        "--trace-max-rows",
        "300",
        "--capture-file",
        str(capture),
        "--out",
        str(tmp_path),
    ]

    assert planning.main(argv) == 0

    rows = json.loads((tmp_path / "planning.json").read_text())["rows"]
    measured = {(r["scenario"], r["area"]) for r in rows if not r.get("empty")}
    assert {("initial", "customers"), ("initial", "invoices"), ("second", "invoices")} <= measured
    assert all(r["same_as_copies"] and r["copies"] > 1 for r in rows if not r.get("empty"))
    assert capture.exists()


def test_given_a_small_desktop_company_when_bench_desktop_sync_runs_then_reads_page_at_the_floor_and_quiet_runs_write_nothing(
    tmp_path, kept_environment
):
    """The whole sync on QuickBooks Desktop through sfqb's QBWC service and the Web Connector
    emulator, at 30 customers: every read walks its iterator in exactly ceil(records /
    MaxReturned) pages (R-QBD-3), every message set the Web Connector carried is counted and at
    least the floor's; the initial sync writes to QuickBooks in sets of at most 30, the second
    and the no-change runs write to neither system (R-GEN-4) and the no-change run reads in a
    few dozen requests; one Web Connector session per run, none ending in an error."""
    assert (
        desktop_sync.main(
            ["--sizes", "30", "--latency", "0", "--noop-wait", "0.2", "--out", str(tmp_path)]
        )
        == 0
    )

    size = json.loads((tmp_path / "desktop_sync.json").read_text())["sizes"][0]
    runs = {r["run"]: r for r in size["runs"]}
    initial, echo, quiet = runs["initial sync"], runs[sync.ECHO_RUN], runs["no change"]
    assert size["web_connector_errors"] == []
    for run in runs.values():
        total = run["desktop_total"]
        assert total["queries_over_floor"] == 0, run["desktop"]
        assert total["message_sets"] >= total["floor_sets"] > 0, total
        assert run["web_connector"]["sessions"] == 1, run["web_connector"]
    assert initial["desktop_total"]["write_requests"] > 0
    writes = [s["desktop"] for a in initial["areas"].values() for s in a["steps"].values()]
    assert all(
        d["write_sets"] >= -(-d["write_requests"] // desktop_sync.WRITE_GROUP) for d in writes
    )
    for run in (echo, quiet):
        assert run["desktop_total"]["write_requests"] == 0, run["desktop"]
        assert run["loads"] == [], run["loads"]
    assert 0 < quiet["sync_requests"] <= 30, quiet["desktop"]
    assert "| run | seconds | floor s |" in (tmp_path / "desktop_sync.md").read_text()
