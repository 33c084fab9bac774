"""bench.desktop_throughput at a tiny size: it runs through the service and the Web Connector
emulator and writes its table (the benchmark itself is not part of ``make test``)."""

from __future__ import annotations

import json

import pytest

from bench import desktop_throughput

pytestmark = pytest.mark.sandbox


def test_given_a_tiny_company_when_the_benchmark_runs_then_reads_and_writes_meet_the_floor(
    tmp_path,
):
    """A read of 200 customers in pages of 100 and a write group of 40 in sets of 30: one
    sendRequestXML per message set of the floor, results as JSON and markdown."""
    desktop_throughput.main(
        ["--sizes", "200", "--pages", "100", "--writes", "40", "--batches", "30"]
        + ["--latency", "0", "--out", str(tmp_path)]
    )
    rows = json.loads((tmp_path / "desktop_throughput.json").read_text())["rows"]
    read, write = rows
    assert read["send_request_xml"] == read["floor"] and read["polls"] == 1
    assert write["records"] == 40 and write["send_request_xml"] == write["floor"] == 2
    assert "| 200 | read, pages of 100 |" in (tmp_path / "desktop_throughput.md").read_text()
