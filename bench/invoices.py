"""Benchmark: the invoices area at scale (docs/rules.md section 5): 10k invoices x 5 lines.

    python -m bench.invoices [--customers 6000] [--lines 5] [--changed-percent 1]
                             [--latency-ms 0] [--out bench/results]

Starts both sandbox servers in a temporary directory and seeds QuickBooks with a company of N
customers whose invoices have ``--lines`` sales lines each (``6000,lines=5``: 1.5 invoices per
active customer or sub-customer, 10,065 invoices with 50,325 lines; a quarter open, a quarter
half paid, half paid in full), stamped two hours ago, after the install date (three hours ago)
and before the first run's upper bound minus the lookback, so the first run reads all of them
and the next run finds no change. An empty Salesforce org gets an Account for every customer and
a Product for every item (what the earlier areas would have done; not measured). Then the
invoices area's steps (extract -> plan -> load -> commit) run through the real hooks, exactly as
the tasks call them, three times: the first load, a run with nothing changed, and a run after
``--changed-percent`` of the invoices got a payment in QuickBooks (applied before that run, not
measured). For each: wall time, API calls per service and endpoint (the sandboxes' own counters),
Salesforce write calls against the floor of sObject Collections of 200 per object written, and
the peak memory of this process. Results as JSON and markdown in ``--out``.
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

from bench.items import _calls, _connections, endpoint_table
from sfqb.outcomes import CREATED, FAILED, SF_INVOICE, UPDATED, count

SEED_AGE = dt.timedelta(hours=2)  # older than any lookback: the no-change run's CDC is empty
INSTALL_AGE = dt.timedelta(hours=3)  # the first run reads everything seeded after it
SEED_STAMP_AGE = dt.timedelta(days=35)  # the QuickBooks seed stamps objects 35 days back
COLLECTION = 200  # records per sObject Collections call
WRITE_PREFIXES = (
    "collections.create",
    "collections.update",
    "collections.delete",
    "collections.upsert.",
    "bulk2.ingest.",
    "sobject.create.",
    "sobject.update.",
    "sobject.upsert.",
    "sobject.delete.",
    "tree.create.",
)


def _seed(tokens) -> dict:
    """Salesforce Accounts for every QuickBooks customer and Products for every item (the
    earlier areas' work); returns the seed's counts. The invoices are counted, not read: the
    first run reads them (and its RSS is not this function's)."""
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook

    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    started = time.perf_counter()
    customers = [c["Id"] for c in qb.query_all("Customer", include_inactive=True)]
    sf.create(
        "Account", [{"Name": f"Bench {id_}", "External_Account_ID__c": id_} for id_ in customers]
    )
    items = [i["FullyQualifiedName"] for i in qb.query_all("Item", include_inactive=True)]
    sf.create(
        "Product2",
        [{"Name": fqn.rpartition(":")[2], "ProductCode": fqn, "IsActive": True} for fqn in items],
    )
    return {
        "customers": len(customers),
        "items": len(items),
        "invoices": qb.count("Invoice"),
        "payments": qb.count("Payment"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _pay(tokens, invoices: int, count: int) -> dict:
    """Pay ``count`` invoices with a balance in full in QuickBooks (one Payment each, through
    /batch), spread over the company: the change the third run syncs."""
    from sfqb.hooks.quickbooks import BatchOp, QuickBooksHook

    qb = QuickBooksHook(token_store=tokens)
    # Half the seeded invoices have a balance: read about four times as many as needed.
    step = max(1, invoices // (4 * count))
    candidates = list(qb.query_in("Invoice", "Id", [str(i) for i in range(1, invoices + 1, step)]))
    chosen = [r for r in candidates if float(r["Balance"]) > 0][:count]
    ops = [
        BatchOp(
            key=r["Id"],
            operation="create",
            entity="Payment",
            payload={
                "CustomerRef": {"value": r["CustomerRef"]["value"]},
                "TotalAmt": r["Balance"],
                "Line": [
                    {
                        "Amount": r["Balance"],
                        "LinkedTxn": [{"TxnId": r["Id"], "TxnType": "Invoice"}],
                    }
                ],
            },
        )
        for r in chosen
    ]
    failed = [r.key for r in qb.batch(ops) if r.error is not None]
    if failed or len(ops) < count:
        raise RuntimeError(f"bench: {len(ops) - len(failed)} of {count} payments made")
    return {"payments": len(ops), "invoices": [op.key for op in ops]}


def _run(state, tokens, run_id: str, upper: dt.datetime, install: dt.datetime) -> dict:
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb.preferences import Preferences
    from sfqb.steps import invoices
    from sfqb.steps.common import run_context

    run = run_context(
        run_id=run_id,
        upper_bound=upper,
        install_date=install,
        preferences_json=Preferences().as_json(),
    )
    sf, qb = SfqbSalesforceHook(), QuickBooksHook(token_store=tokens)
    steps, started = {}, time.perf_counter()
    extracted = invoices.extract(run, sf=sf, qb=qb, state=state)
    steps["extract"] = time.perf_counter()
    planned = invoices.plan(run, extracted)
    steps["plan"] = time.perf_counter()
    report = invoices.load(run, planned, sf=sf)
    steps["load"] = time.perf_counter()
    invoices.commit(run, extracted, report, state=state)
    steps["commit"] = time.perf_counter()
    begins = [started, *steps.values()][:-1]
    step_seconds = {
        name: round(end - begin, 2)
        for (name, end), begin in zip(steps.items(), begins, strict=True)
    }
    written = {
        "Opportunity": len(planned["placeholders"]),
        "Invoice__c": len(planned["invoices"]) + len(planned["marks"]),
        "Invoice_Item__c": len(planned["item_creates"]) + len(planned["item_updates"]),
        "Invoice_Item__c (delete)": len(planned["item_deletes"]),
        "Invoice_Opportunity_Link__c": len(planned["links"]),
    }
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "steps": step_seconds,
        "report": report,
        "read": {
            "invoices": len(extracted["invoices"]),
            "sales_lines": int((extracted["lines"]["DetailType"] == "SalesItemLineDetail").sum()),
        },
        "written": {k: v for k, v in written.items() if v},
    }


def _row(label: str, result: dict, calls: dict) -> dict:
    writes = {k: v for k, v in calls["salesforce"].items() if k.startswith(WRITE_PREFIXES)}
    floor = sum(math.ceil(n / COLLECTION) for n in result["written"].values())
    write_calls = sum(writes.values())
    return {
        "run": label,
        "seconds": result["seconds"],
        "step_seconds": result["steps"],
        "read": result["read"],
        "written": result["written"],
        "created": count(result["report"], CREATED, SF_INVOICE),
        "updated": count(result["report"], UPDATED, SF_INVOICE),
        "failed": count(result["report"], FAILED),
        "calls": calls,
        "calls_total": {s: sum(v.values()) for s, v in calls.items()},
        "salesforce_write_calls": write_calls,
        "collections_floor": floor,
        "write_calls_per_floor": round(write_calls / floor, 3) if floor else None,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure(customers: int, lines: int, changed_percent: float, latency_ms: float) -> dict:
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb_sandbox.admin_client import SandboxProcess

    size = f"{customers},lines={lines}"
    with tempfile.TemporaryDirectory(prefix="sfqb-bench-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=600)
        try:
            now = dt.datetime.now(dt.UTC)
            install = now - INSTALL_AGE
            # The seed stamps its objects 35 days before the sandbox clock: with the clock set
            # 35 days less SEED_AGE ahead while seeding, they are stamped SEED_AGE ago.
            admin.set_clock(
                "quickbooks", advance_seconds=(SEED_STAMP_AGE - SEED_AGE).total_seconds()
            )
            started = time.perf_counter()
            try:
                admin.reset("quickbooks", size)
            finally:
                admin.set_clock("quickbooks", reset=True)
            seed_seconds = round(time.perf_counter() - started, 1)
            admin.reset("salesforce", "empty")
            _connections(admin)
            state, tokens = SyncState(InMemoryVariables()), InMemoryTokenStore()
            seeded = _seed(tokens)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            for service in ("quickbooks", "salesforce"):
                admin.set_latency(service, latency_ms)
            rows, changed = [], None
            for label in ("first load", "no change", f"{changed_percent:g}% paid"):
                if label.endswith("paid"):
                    count = max(1, round(seeded["invoices"] * changed_percent / 100))
                    changed = _pay(tokens, seeded["invoices"], count)
                time.sleep(1.1)  # the run's upper bound after the last writes, whole seconds apart
                admin.clear_counters()
                upper = dt.datetime.now(dt.UTC)
                result = _run(state, tokens, f"bench-{label}", upper, install)
                rows.append(_row(label, result, _calls(admin)))
        finally:
            process.stop()
    sandbox_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "size": size,
        "customers": customers,
        "lines_per_invoice": lines,
        "latency_ms": latency_ms,
        "seed_age_hours": SEED_AGE.total_seconds() / 3600,
        "install_age_hours": INSTALL_AGE.total_seconds() / 3600,
        "seed": {**seeded, "quickbooks_seed_seconds": seed_seconds},
        "changed": {"payments": changed["payments"] if changed else 0, "percent": changed_percent},
        "max_rss_before_runs_mib": round(rss_before, 1),
        "runs": rows,
        "sandbox_max_rss_mib": round(sandbox_rss, 1),
    }


def _machine() -> dict:
    def first(path: str, key: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            return None
        return None

    mem = first("/proc/meminfo", "MemTotal")
    return {
        "cpus": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _markdown(result: dict) -> str:
    m, seed, runs = result["machine"], result["seed"], result["runs"]
    first, quiet, paid = runs
    lines = [
        f"# Invoices area benchmark: {seed['invoices']:,} QuickBooks invoices x "
        f"{result['lines_per_invoice']} lines ({first['read']['sales_lines']:,} sales lines), "
        f"latency {result['latency_ms']:g} ms",
        "",
        "`python -m bench.invoices` (target: 10k invoices with 5 lines each load with the minimum "
        "number of calls).",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}; both sandbox servers on the same machine (shared with other work: load "
        f"average {m['load_average_at_end'][0]} at the end). Peak RSS of the sync process "
        f"{runs[-1]['max_rss_mib']} MiB ({result['max_rss_before_runs_mib']} MiB before the first "
        f"run; the sandbox process {result['sandbox_max_rss_mib']} MiB).",
        "",
        f"Seed `{result['size']}`: {seed['customers']:,} customers with sub-customers and "
        f"projects, {seed['items']:,} items, {seed['invoices']:,} invoices of "
        f"{result['lines_per_invoice']} sales lines (a quarter open, a quarter half paid, half "
        f"paid in full, with their {seed['payments']:,} payments), stamped "
        f"{result['seed_age_hours']:g} h ago; install date {result['install_age_hours']:g} h ago; "
        "lookback 10 minutes (the default). QuickBooks seeded in "
        f"{seed['quickbooks_seed_seconds']} s; Accounts and Products made first (not measured, "
        f"{seed['seconds']} s). Before the third run {result['changed']['payments']} invoices with "
        f"a balance ({result['changed']['percent']:g}%) were paid in full in QuickBooks (not "
        "measured).",
        "",
        "| run | seconds (extract / plan / load / commit) | invoices read | records written | SF "
        "write calls | floor (collections of 200) | write calls / floor | SF calls | QB calls | "
        "peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        written = ", ".join(f"{n:,} {k}" for k, n in r["written"].items()) or "none"
        ratio = "-" if r["write_calls_per_floor"] is None else f"{r['write_calls_per_floor']:g}"
        steps = " / ".join(f"{v:g}" for v in r["step_seconds"].values())
        lines.append(
            f"| {r['run']} | {r['seconds']} ({steps}) | {r['read']['invoices']:,} | {written} | "
            f"{r['salesforce_write_calls']} | {r['collections_floor']} | {ratio} | "
            f"{r['calls_total']['salesforce']} | {r['calls_total']['quickbooks']} | "
            f"{r['max_rss_mib']} |"
        )
    lines += ["", "Calls per endpoint (the sandboxes' counters):", "", *endpoint_table(runs)]
    qb_pages = sum(v for k, v in first["calls"]["quickbooks"].items() if k.startswith("query."))
    lines += [
        "",
        "## Reading the numbers",
        "",
        f"- **First load.** QuickBooks Change Data Capture answers at most 1,000 objects per call "
        "(shared by the entities asked for), so the CDC call of each entity (Invoice, Payment) hit "
        f"the cap and the hook read the window by query pages of 1,000, the API's maximum: "
        f"{qb_pages} query pages for {first['read']['invoices']:,} invoices and their payments "
        f"(`query.Invoice` {first['calls']['quickbooks'].get('query.Invoice', 0)}, `query.Payment` "
        f"{first['calls']['quickbooks'].get('query.Payment', 0)}), the floor for that many "
        "objects.",
        f"- **Writes: Bulk API 2.0 above 10,000 records.** sObject Collections take 200 records a "
        f"call, so writing {', '.join(f'{n:,} {k}' for k, n in first['written'].items())} one "
        f"collection after another needs {first['collections_floor']} calls (the floor in the "
        f"table). The hook sends a write of more than 10,000 records of one object as one Bulk "
        f"API 2.0 ingest job instead (create, upload, close, status polls, results: about 7 "
        f"calls whatever its size), {first['salesforce_write_calls']} calls in all, "
        f"{first['write_calls_per_floor']:g} of that floor; smaller writes go by collections "
        "(`--customers 3000`: 5,032 Invoice__c take 26 collection calls, while their 25,160 "
        "items take one bulk job).",
        f"- **Salesforce reads.** Comparing {first['read']['invoices']:,} invoices reads their "
        "Invoice__c, items, links, "
        "Accounts, Products and Opportunities: `query_in` counts the candidates and reads them "
        "in pages of 2,000 (`query`/`queryMore`) when that is cheaper than IN lists of ids.",
        f"- **No change.** The seed is stamped {result['seed_age_hours']:g} h before the run, "
        f"outside the second run's window (the first run's upper bound minus the 10-minute "
        f"lookback): {quiet['calls_total']['quickbooks']} QuickBooks calls "
        f"({', '.join(f'`{k}` {v}' for k, v in sorted(quiet['calls']['quickbooks'].items()))}) and "
        f"{quiet['calls_total']['salesforce']} Salesforce calls "
        f"({', '.join(f'`{k}` {v}' for k, v in sorted(quiet['calls']['salesforce'].items()))}), "
        "whatever the size of the company (the same 5 calls with 334, 5,032, 10,065 and 15,854 "
        "invoices: `--customers 200 / 3000 / 6000 / 12000`), and nothing written.",
        "- **Wall time** depends on the shared machine's load (the load average above); the call "
        "counts do not. Most of the first load's time is the local Salesforce sandbox emulating "
        "the bulk jobs (a profile on 26 Nov 2026: about 18 s of the load waiting on the job "
        "close, where the sandbox writes the records, and 2 s of polling wait per job); the "
        "sync's own CPU time (flattening, plan, CSV) is under 10 s.",
        f"- **{paid['run']}.** {result['changed']['payments']} payments change "
        f"{result['changed']['payments']} invoices (balance, status, payment link): CDC returns "
        f"them below its cap, so QuickBooks costs {paid['calls_total']['quickbooks']} calls; "
        f"Salesforce reads the {paid['read']['invoices']:,} invoices' records by IN lists and "
        f"writes {', '.join(f'{n:,} {k}' for k, n in paid['written'].items()) or 'nothing'} in "
        f"{paid['salesforce_write_calls']} call(s) (floor {paid['collections_floor']}).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers",
        type=int,
        default=6_000,
        help="seed size (about 1.68 invoices each, with sub-customers)",
    )
    parser.add_argument("--lines", type=int, default=5, help="sales lines per invoice")
    parser.add_argument(
        "--changed-percent",
        type=float,
        default=1.0,
        help="share of the invoices paid before the third run",
    )
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    args = parser.parse_args(argv)
    result = measure(args.customers, args.lines, args.changed_percent, args.latency_ms)
    result["machine"] = _machine()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "invoices.json").write_text(json.dumps(result, indent=2) + "\n")
    text = _markdown(result)
    (out / "invoices.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
