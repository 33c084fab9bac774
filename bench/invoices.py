"""Benchmark: the invoices area at scale (SPEC section 5; issue 10: 10k invoices x 5 lines).

    python -m bench.invoices [--invoices 10000] [--lines 5] [--latency-ms 0] [--out bench/results]

Starts both sandbox servers in a temporary directory (QuickBooks seeded 'tiny', Salesforce
'empty'), makes one Account and five Products for a QuickBooks customer and items, creates N
invoices of L lines in QuickBooks through ``/batch`` (30 a call; not measured), then runs the
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
from decimal import Decimal
from pathlib import Path

from bench.items import _calls, _connections


def _seed(admin, tokens, n: int, lines: int) -> dict:
    """Account, Products and N invoices of ``lines`` lines; returns what was made."""
    from sfqb.hooks.quickbooks import BatchOp, QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook

    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    items = [i for i in qb.query_all("Item") if i["Type"] in ("Service", "NonInventory")][:5]
    customer = next(c for c in qb.query_all("Customer") if not c.get("ParentRef"))
    sf.create("Account", [{"Name": "Bench Co", "External_Account_ID__c": customer["Id"]}])
    sf.create(
        "Product2",
        [{"Name": i["Name"], "ProductCode": i["FullyQualifiedName"], "IsActive": True} for i in items],
    )
    today = dt.date.today().isoformat()

    def invoice(k: int) -> dict:
        return {
            "CustomerRef": {"value": customer["Id"]},
            "TxnDate": today,
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal(j + 1) * Decimal("12.50"),
                    "Description": f"bench {k} line {j}",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": items[j % len(items)]["Id"]},
                        "Qty": j + 1,
                        "UnitPrice": Decimal("12.50"),
                    },
                }
                for j in range(lines)
            ],
        }

    started = time.perf_counter()
    results = qb.batch([BatchOp(str(k), "create", "Invoice", invoice(k)) for k in range(n)])
    failed = sum(not r.ok for r in results)
    return {"invoices": n - failed, "failed": failed, "seconds": round(time.perf_counter() - started, 1)}


def _run(state, tokens, run_id: str, upper: dt.datetime, install: dt.datetime) -> dict:
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb.preferences import Preferences
    from sfqb.steps import invoices

    run = {"run_id": run_id, "run_type": "manual", "backfill": False, "upper_bound": upper.isoformat(),
           "data_interval_start": None, "data_interval_end": None,
           "install_date": install.isoformat(), "preferences": Preferences().as_json()}
    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    started = time.perf_counter()
    extracted = invoices.extract(run, sf=sf, qb=qb, state=state)
    planned = invoices.plan(run, extracted)
    report = invoices.load(run, planned, sf=sf)
    invoices.commit(run, extracted, report, state=state)
    return {"seconds": round(time.perf_counter() - started, 2), "report": report,
            "invoices": len(planned["invoices"]),
            "items": len(planned["item_creates"]) + len(planned["item_updates"])}


def measure(n: int, lines: int, latency_ms: float) -> dict:
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb_sandbox.admin_client import SandboxProcess

    with tempfile.TemporaryDirectory(prefix="sfqb-bench-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=600)
        try:
            admin.set_clock("quickbooks", advance_seconds=-3600)
            admin.reset("quickbooks", "tiny")
            admin.reset("salesforce", "empty")
            admin.set_clock("quickbooks", reset=True)
            _connections(admin)
            state, tokens = SyncState(InMemoryVariables()), InMemoryTokenStore()
            install = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
            seeded = _seed(admin, tokens, n, lines)
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
    return {"invoices": n, "lines": lines, "latency_ms": latency_ms, "seed": seeded, "runs": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    args = parser.parse_args(argv)
    result = measure(args.invoices, args.lines, args.latency_ms)
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                         "python": platform.python_version()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "invoices.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    lines = [
        f"# Invoices area benchmark: {args.invoices:,} QuickBooks invoices x {args.lines} lines, "
        f"latency {args.latency_ms} ms", "",
        f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}; both sandbox servers on "
        f"the same machine. Max RSS of the sync process: {result['max_rss_mib']} MiB. Seeding "
        f"(QuickBooks /batch, not measured): {result['seed']['seconds']} s.", "",
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
