"""Benchmark: the item area's first export at scale (docs/rules.md section 4): 50k items.

    python -m bench.items [--items 50000] [--latency-ms 0] [--out bench/results]

Starts both sandbox servers in a temporary directory, seeds QuickBooks with a catalogue of N
items (``tiny,items=N``) and an empty Salesforce org, then runs the item area's steps
(extract -> plan -> load) through the real hooks, exactly as the tasks call them, twice: the
first export, then a run with nothing changed. For each: wall time, API calls per service and
endpoint (the sandboxes' own counters), the floor (records / largest batch per operation) and
peak memory of this process. Results as JSON and markdown in ``--out``.
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

from sfqb.outcomes import CREATED, FAILED, SF_PRODUCT, UPDATED, count


def _connections(admin) -> None:
    from sfqb_sandbox.connections import airflow_connections

    connections = dict(admin.connections)
    minted = admin.call("quickbooks", "POST", "oauth/refresh-token")
    connections["quickbooks"] = {
        **connections["quickbooks"],
        "refresh_token": minted["refresh_token"],
    }
    os.environ["REQUESTS_CA_BUNDLE"] = admin.connections["ca_bundle"]
    for conn_id, spec in airflow_connections(connections).items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(spec)


def _run(state, tokens, run_id: str, upper: dt.datetime) -> dict:
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb.preferences import Preferences
    from sfqb.steps import items
    from sfqb.steps.common import run_context

    run = run_context(
        run_id=run_id,
        upper_bound=upper,
        install_date=(upper - dt.timedelta(days=1)),
        preferences_json=Preferences().as_json(),
    )
    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    started = time.perf_counter()
    extracted = items.extract(run, sf=sf, qb=qb, state=state)
    planned = items.plan(run, extracted)
    report = items.load(run, planned, sf=sf)
    items.commit(run, extracted, report, state=state)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "report": report,
        "products": len(planned["products"]),
        "prices": len(planned["prices"]),
    }


def _calls(admin) -> dict:
    """API calls per endpoint (the counters' ``records.*`` entries count records, not calls)."""
    return {
        s: {
            k: v
            for k, v in admin.counters(s)["by_operation"].items()
            if not k.startswith("records.")
        }
        for s in ("quickbooks", "salesforce")
    }


def endpoint_table(runs: list[dict]) -> list[str]:
    """Markdown rows: calls per service and endpoint (``run["calls"]``), a column per run."""
    endpoints = sorted({(svc, key) for r in runs for svc in r["calls"] for key in r["calls"][svc]})
    lines = [
        "| service | endpoint | " + " | ".join(r["run"] for r in runs) + " |",
        "|---|---|" + "---|" * len(runs),
    ]
    for svc, key in endpoints:
        lines.append(
            f"| {svc} | `{key}` | "
            + " | ".join(str(r["calls"][svc].get(key, 0)) for r in runs)
            + " |"
        )
    return lines


def measure(n: int, latency_ms: float) -> dict:
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb_sandbox.admin_client import SandboxProcess

    with tempfile.TemporaryDirectory(prefix="sfqb-bench-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=600)
        try:
            admin.reset("quickbooks", f"tiny,items={n}")
            admin.reset("salesforce", "empty")
            for service in ("quickbooks", "salesforce"):
                admin.set_latency(service, latency_ms)
            _connections(admin)
            state, tokens = (
                SyncState(InMemoryVariables()),
                InMemoryTokenStore(),
            )  # rotated tokens live here
            rows = []
            for label in ("first export", "no change"):
                admin.clear_counters()
                upper = dt.datetime.now(dt.UTC)
                result = _run(state, tokens, f"bench-{label}", upper)
                calls = _calls(admin)
                sf_writes = {
                    k: v
                    for k, v in calls["salesforce"].items()
                    if k.startswith(("collections.", "bulk2.ingest", "sobject."))
                }
                floor = math.ceil(result["products"] / 200) + math.ceil(result["prices"] / 200)
                rows.append(
                    {
                        "run": label,
                        "seconds": result["seconds"],
                        "products": result["products"],
                        "prices": result["prices"],
                        "created": count(result["report"], CREATED, SF_PRODUCT),
                        "updated": count(result["report"], UPDATED, SF_PRODUCT),
                        "failed": count(result["report"], FAILED),
                        "calls": calls,
                        "salesforce_write_calls": sum(sf_writes.values()),
                        "collections_floor": floor,
                    }
                )
                time.sleep(1.1)  # the next run's window starts after this one's writes
        finally:
            process.stop()
    return {"items": n, "latency_ms": latency_ms, "runs": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    args = parser.parse_args(argv)
    result = measure(args.items, args.latency_ms)
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "items.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Item area benchmark: {args.items:,} QuickBooks items, latency {args.latency_ms} ms",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}, Python "
        f"{result['machine']['python']}; both sandbox servers on the same machine. Max RSS of the "
        f"sync process: {result['max_rss_mib']} MiB.",
        "",
        "| run | seconds | products | prices | SF write calls | floor (collections of 200) | SF "
        "calls | QB calls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['run']} | {r['seconds']} | {r['products']:,} | {r['prices']:,} | "
            f"{r['salesforce_write_calls']} | {r['collections_floor']} | "
            f"{sum(r['calls']['salesforce'].values())} | {sum(r['calls']['quickbooks'].values())} |"
        )
    lines += [
        "",
        "The floor counts sObject Collections of 200 for Product2 and PricebookEntry. Above 10,000",
        "records a load goes through Bulk API 2.0 instead (one job per object: create, upload, "
        "close,",
        "status polls, results), so its write calls fall far below that floor. QuickBooks reads",
        "are query pages of 1,000 (the API's maximum).",
        "",
        "Calls per endpoint:",
        "",
    ]
    for r in result["runs"]:
        lines.append(
            f"- {r['run']}: Salesforce {json.dumps(r['calls']['salesforce'], sort_keys=True)}; "
            f"QuickBooks {json.dumps(r['calls']['quickbooks'], sort_keys=True)}"
        )
    (out / "items.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
