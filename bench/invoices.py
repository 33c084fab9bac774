"""Benchmark: the invoices area at scale (SPEC section 5; issue 10: 10k invoices).

    python -m bench.invoices [--customers 6000] [--latency-ms 0] [--out bench/results]

Starts both sandbox servers in a temporary directory, seeds QuickBooks with a company of N
customers (1.5 invoices per active customer or sub-customer: about 10,000 for 6,000, with 1-3
sales lines each) stamped after the install date, and an empty Salesforce org, makes an Account for every customer and a
Product for every item (what the earlier areas would have done; not measured), then runs the
invoices area's steps (extract -> plan -> load -> commit) through the real hooks, exactly as the
tasks call them, twice: the first load, then a run with nothing changed. For each: wall time,
API calls per service and endpoint (the sandboxes' own counters) and the floor of Salesforce
write calls with sObject Collections of 200. Results as JSON and markdown in ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from bench.items import _calls, _connections


def _seed(tokens) -> dict:
    """Salesforce Accounts for every QuickBooks customer and Products for every item (the
    earlier areas' work); returns the invoice and sales line counts of the seed."""
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook

    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    started = time.perf_counter()
    customers = list(qb.query_all("Customer", include_inactive=True))
    sf.create("Account", [{"Name": f"Bench {c['Id']}", "External_Account_ID__c": c["Id"]}
                          for c in customers])
    items = list(qb.query_all("Item", include_inactive=True))
    sf.create("Product2", [{"Name": i["Name"], "ProductCode": i["FullyQualifiedName"],
                            "IsActive": True} for i in items])
    invoices = qb.count("Invoice")
    lines = sum(
        sum(line["DetailType"] == "SalesItemLineDetail" for line in r["Line"])
        for r in qb.query_all("Invoice")
    )
    return {"customers": len(customers), "items": len(items), "invoices": invoices,
            "sales_lines": lines, "seconds": round(time.perf_counter() - started, 1)}


def _run(state, tokens, run_id: str, upper: dt.datetime, install: dt.datetime) -> dict:
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb.preferences import Preferences
    from sfqb.steps import invoices
    from sfqb.steps.common import run_context

    run = run_context(run_id=run_id, upper_bound=upper, install_date=install,
                      preferences_json=Preferences().as_json())
    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    started = time.perf_counter()
    extracted = invoices.extract(run, sf=sf, qb=qb, state=state)
    planned = invoices.plan(run, extracted)
    report = invoices.load(run, planned, sf=sf)
    invoices.commit(run, extracted, report, state=state)
    return {"seconds": round(time.perf_counter() - started, 2), "report": report,
            "invoices": len(planned["invoices"]),
            "items": len(planned["item_creates"]) + len(planned["item_updates"])}


def measure(customers: int, latency_ms: float) -> dict:
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb_sandbox.admin_client import SandboxProcess

    with tempfile.TemporaryDirectory(prefix="sfqb-bench-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=600)
        try:
            install = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
            # The seed is stamped 35 days before the sandbox clock: with the clock 35 days ahead
            # while seeding, every invoice is stamped now, after the install date.
            admin.set_clock("quickbooks", advance_seconds=35 * 86400)
            try:
                admin.reset("quickbooks", str(customers))
            finally:
                admin.set_clock("quickbooks", reset=True)
            admin.reset("salesforce", "empty")
            _connections(admin)
            state, tokens = SyncState(InMemoryVariables()), InMemoryTokenStore()
            seeded = _seed(tokens)
            for service in ("quickbooks", "salesforce"):
                admin.set_latency(service, latency_ms)
            rows = []
            for label in ("first load", "no change"):
                time.sleep(1.1)  # the run's upper bound after the seed's (or last run's) writes
                admin.clear_counters()
                upper = dt.datetime.now(dt.UTC)
                result = _run(state, tokens, f"bench-{label}", upper, install)
                calls = _calls(admin)
                sf_writes = {k: v for k, v in calls["salesforce"].items()
                             if k.startswith(("collections.", "bulk2.ingest", "sobject."))}
                floor = math.ceil(result["invoices"] / 200) + math.ceil(result["items"] / 200)
                rows.append({"run": label, "seconds": result["seconds"],
                             "invoices": result["invoices"], "items": result["items"],
                             "created": result["report"]["created"],
                             "updated": result["report"]["updated"],
                             "failed": result["report"]["failed"], "calls": calls,
                             "salesforce_write_calls": sum(sf_writes.values()),
                             "collections_floor": floor})
        finally:
            process.stop()
    return {"customers": customers, "latency_ms": latency_ms, "seed": seeded, "runs": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=6_000,
                        help="seed size (about 1.67 invoices each, with sub-customers)")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    args = parser.parse_args(argv)
    result = measure(args.customers, args.latency_ms)
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                         "python": platform.python_version()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "invoices.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    lines = [
        f"# Invoices area benchmark: {result['seed']['invoices']:,} QuickBooks invoices, "
        f"{result['seed']['sales_lines']:,} sales lines, latency {args.latency_ms} ms", "",
        f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}; both sandbox servers on "
        f"the same machine. Max RSS of the sync process: {result['max_rss_mib']} MiB. The QuickBooks "
        f"seed of {args.customers:,} customers (1-3 sales lines per invoice, a quarter of them "
        "partly and half fully paid); Accounts and Products made first (not measured, "
        f"{result['seed']['seconds']} s).", "",
        "| run | seconds | invoices written | items written | SF write calls | floor (collections of 200) | SF calls | QB calls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(f"| {r['run']} | {r['seconds']} | {r['invoices']:,} | {r['items']:,} | "
                     f"{r['salesforce_write_calls']} | {r['collections_floor']} | "
                     f"{sum(r['calls']['salesforce'].values())} | "
                     f"{sum(r['calls']['quickbooks'].values())} |")
    lines += ["", "The floor counts sObject Collections of 200 for Invoice__c and Invoice_Item__c. Above",
              "10,000 records a write goes through Bulk API 2.0 instead (one job: create, upload, close,",
              "status polls, results), far below that floor. QuickBooks: Change Data Capture answers at most",
              "1,000 objects, so a larger window is read by query pages of 1,000 (the API's maximum).",
              "", "Calls per endpoint:", ""]
    for r in result["runs"]:
        lines.append(f"- {r['run']}: Salesforce {json.dumps(r['calls']['salesforce'], sort_keys=True)}; "
                     f"QuickBooks {json.dumps(r['calls']['quickbooks'], sort_keys=True)}")
    (out / "invoices.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
