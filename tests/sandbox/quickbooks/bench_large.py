"""Measure the QBO sandbox at scale: seed, restart, and 1000-row pages through python-quickbooks.

    .venv/bin/python tests/sandbox/quickbooks/bench_large.py [SIZE]   # default: large (100k)

Prints one JSON document with the timings (seconds). ``test_benchmark.py`` runs the same code
with a smaller company under the ``slow`` marker.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _client(admin):
    from intuitlib.client import AuthClient
    from quickbooks import QuickBooks

    info = admin.connections["quickbooks"]
    token = admin.call("quickbooks", "POST", "oauth/refresh-token")["refresh_token"]
    auth = AuthClient(
        info["client_id"],
        info["client_secret"],
        info["redirect_uri"],
        environment=info["discovery_url"],
    )
    qb = QuickBooks(
        auth_client=auth, refresh_token=token, company_id=info["realm_id"], minorversion=75
    )
    qb.api_url_v3 = info["api_base"]
    return qb, auth


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(size: str, data_dir: Path) -> dict:
    from quickbooks.objects.customer import Customer

    from sfqb_sandbox.admin_client import SandboxProcess

    results: dict = {"size": size}
    process = SandboxProcess(data_dir, seed=size, extra_args=["--only", "quickbooks"])
    started = time.perf_counter()
    admin = process.start(timeout=600)
    results["seed_and_start_s"] = round(time.perf_counter() - started, 2)
    os.environ["REQUESTS_CA_BUNDLE"] = admin.connections["ca_bundle"]
    try:
        results["counts"] = admin.call("quickbooks", "GET", "info")["counts"]
        qb, auth = _client(admin)
        total = Customer.count(qb=qb)
        results["customers_active"] = total
        results["count_query_s"] = round(_timed(lambda: Customer.count(qb=qb))[0], 3)
        for label, start in (
            ("first", 1),
            ("middle", max(1, total // 2)),
            ("last", max(1, total - 999)),
        ):
            seconds, rows = _timed(
                lambda s=start: Customer.where("", start_position=s, max_results=1000, qb=qb)
            )
            results[f"page_1000_{label}_s"] = round(seconds, 3)
            results[f"page_1000_{label}_rows"] = len(rows)
        seconds, rows = _timed(
            lambda: Customer.where("DisplayName LIKE 'Acme%'", max_results=1000, qb=qb)
        )
        results["like_filter_1000_s"] = round(seconds, 3)
        seconds, rows = _timed(
            lambda: Customer.where(
                "Active IN (true, false)", order_by="DisplayName", max_results=1000, qb=qb
            )
        )
        results["ordered_page_1000_s"] = round(seconds, 3)
        qb.session.close()
        auth.close()
        admin.session.close()
    finally:
        process.stop()
    started = time.perf_counter()
    admin = process.start(timeout=600)
    results["restart_load_s"] = round(time.perf_counter() - started, 2)
    admin.session.close()
    process.stop()
    return results


def main() -> int:
    size = sys.argv[1] if len(sys.argv) > 1 else "large"
    with tempfile.TemporaryDirectory(prefix="qbo-bench-") as tmp:
        print(json.dumps(measure(size, Path(tmp)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
