"""A scaled-down run of bench_large.py: a 10k-customer company pages 1000 rows quickly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_given_medium_company_when_paging_1000_rows_then_fast(tmp_path, monkeypatch):
    """The company loads and answers a 1000-row page fast enough for benchmarks."""
    spec = importlib.util.spec_from_file_location(
        "bench_large", Path(__file__).with_name("bench_large.py")
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    results = bench.measure("medium", tmp_path)
    assert results["page_1000_last_rows"] == 1000
    assert results["page_1000_middle_s"] < 2.0
    assert results["count_query_s"] < 2.0
    assert results["restart_load_s"] < 60
