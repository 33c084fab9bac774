"""Benchmark: the whole sync, area by area, at company sizes.

    python -m bench.sync [--sizes 1000,10000] [--latency realistic|0] [--changed-percent 1]
                         [--transform-rows 1000000] [--out bench/results]

For each size N: both sandbox servers start in a temporary directory; QuickBooks is seeded with
the company of N customers (their sub-customers and projects, the proportional catalogue,
invoices and payments: docs/sandbox-quickbooks.md) stamped two hours ago, Salesforce with the org
of the same size (N accounts, half of them named like QuickBooks customers, contacts, products,
opportunities: docs/sandbox-salesforce.md) also two hours ago, and the install date is three
hours ago, so the first run has the whole of both seeds to sync. Each service gets an injected
round-trip latency per call and QuickBooks keeps Intuit's throttling on (the sandbox emulates
500 requests a minute per realm, 10 concurrent, 40 batch calls a minute; the hook's limiter
counts each request for 61 s, ~492 a minute).

The sync then runs in the order of ``sfqb_sync`` (R-GEN-8) by calling each area's steps
directly, as its tasks call them (no Airflow scheduler, no XCom serialisation between steps):
preflight (``validate``, then first-run ``match``), items, customers, opportunities,
transactions, invoices (extract -> plan -> load -> commit), then the reconciliation
(``reconcile_systems``: it reads both systems whole on every run by design, so its calls are
reported apart from the areas'), with real hooks over HTTPS, fresh
hooks per step as each task makes its own, an in-memory sync state and token store. Four runs,
an hour apart on the sandboxes' clock as scheduled: the initial full sync; the second run,
which re-reads what the first wrote (its windows start at the first run's upper bound); a run
with nothing changed; and a run after ``--changed-percent`` of the records changed on each side
(QuickBooks customers, items and paid invoices; Salesforce accounts and newly won opportunities;
made between the runs, not measured).

Per run and area: wall time per step, API calls per service and endpoint (the sandboxes'
counters), records written per operation (counted at the hooks' write methods), the floor
(records / largest batch per operation: 200 per sObject Collections call per object, 30 per
QuickBooks batch), calls / floor per load, peak memory of this process and of the sandbox
process, and for the initial sync the time QuickBooks' throttling alone would need. Plus the
pure first-run matching at ``--transform-rows`` x ``--transform-rows`` (``bench.matching``).
Results in ``--out``/sync.json and sync.md; bench/README.md explains how to read them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import math
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.invoices import COLLECTION, WRITE_PREFIXES, _machine, _pay
from bench.items import _calls, _connections, endpoint_table
from sfqb.hooks.limiter import ALL, QBO_LIMITS
from sfqb.outcomes import FAILED, count, warning_line

AREAS = ("preflight", "items", "customers", "opportunities", "transactions", "invoices")
TASKS = (*AREAS, "reconcile")
"""Every task group of ``sfqb_sync`` in order: the areas, then the reconciliation, which
reads both systems whole on every run by design: its calls are reported apart from the areas'."""
QB_BATCH = 30  # items per QuickBooks /batch call (api-notes 2.8)
QB_PER_MINUTE = (
    500  # Intuit: requests per minute per realm, each batch item counting (api-notes 2.4)
)
QB_BATCH_PER_MINUTE = 40  # Intuit: batch calls per minute per realm
# Round trips per call in ms. Assumptions, not measurements of the real services: a worker in
# the same cloud region as the Salesforce instance sees ~50-100 ms for small REST calls; Intuit's
# API answers from the US, typically ~100-300 ms from a US region.
LATENCIES = {
    "realistic": {"salesforce": 80, "quickbooks": 150},
    "0": {"salesforce": 0, "quickbooks": 0},
}
SEED_AGE = dt.timedelta(hours=2)
INSTALL_AGE = dt.timedelta(hours=3)
QB_SEED_STAMP_AGE = dt.timedelta(days=35)  # the QuickBooks seed stamps objects 35 days back
QB_WRITE_PREFIXES = ("batch", "create.", "update.", "delete.", "void.")
# Runs an hour apart, as scheduled: the sandboxes' clock moves on an hour before each later run
# (back-to-back runs would re-read the last run's writes inside the 10-minute lookback every
# time). The second run re-reads what the initial sync wrote: its windows start at the initial
# run's upper bound (its start), and the initial sync writes after it. The third is quiet.
RUN_INTERVAL = dt.timedelta(hours=1)
ECHO_RUN = "second run (reads the first's writes)"


# ------------------------------------------------------------------ instrumented hooks
class Tally:
    """Records handed to the hooks' write methods, per service and "operation object"."""

    def __init__(self, quickbooks=None) -> None:
        self.records: Counter = Counter()
        self.quickbooks = quickbooks
        """Makes the QuickBooks company of a task (default: the Online hook on ``tokens``)."""

    def hooks(self, tokens):
        """A fresh pair of hooks (a task makes its own) whose writes are counted here."""
        from sfqb.hooks.quickbooks import QuickBooksHook
        from sfqb.steps.common import retry_policy, salesforce_hook

        sf = salesforce_hook()
        qb = (
            self.quickbooks()
            if self.quickbooks
            else QuickBooksHook(token_store=tokens, retry_policy=retry_policy())
        )
        for op in ("create", "update", "upsert"):
            self._wrap_sf(sf, op)
        delete = sf.delete

        def counted_delete(ids, **kwargs):
            ids = list(ids)
            self.records[("salesforce", f"delete {kwargs.get('bulk_sobject') or '(ids)'}")] += len(
                ids
            )
            return delete(ids, **kwargs)

        sf.delete = counted_delete
        batch = qb.batch

        def counted_batch(operations, **kwargs):
            for op in operations:
                self.records[("quickbooks", f"{op.operation} {op.entity}")] += 1
            return batch(operations, **kwargs)

        qb.batch = counted_batch
        return sf, qb

    def _wrap_sf(self, sf, op: str) -> None:
        write = getattr(sf, op)

        def counted(sobject, records, *args, **kwargs):
            self.records[("salesforce", f"{op} {sobject}")] += len(records)
            return write(sobject, records, *args, **kwargs)

        setattr(sf, op, counted)

    def take(self) -> Counter:
        taken, self.records = self.records, Counter()
        return taken


def floors(records: Counter) -> dict:
    """The fewest write calls for these records: sObject Collections of 200 per operation and
    object on Salesforce, /batch of 30 (any entities and operations mixed) on QuickBooks."""
    sf = sum(math.ceil(n / COLLECTION) for (s, _), n in records.items() if s == "salesforce")
    qb = math.ceil(sum(n for (s, _), n in records.items() if s == "quickbooks") / QB_BATCH)
    return {"salesforce": sf, "quickbooks": qb}


def write_calls(calls: dict) -> dict:
    return {
        "salesforce": sum(
            v for k, v in calls["salesforce"].items() if k.startswith(WRITE_PREFIXES)
        ),
        "quickbooks": sum(
            v
            for k, v in calls["quickbooks"].items()
            if k.startswith(QB_WRITE_PREFIXES) and k != "batch.items"
        ),
    }


def _add(total: dict, calls: dict) -> None:
    for service, by_key in calls.items():
        for key, n in by_key.items():
            total.setdefault(service, {})
            total[service][key] = total[service].get(key, 0) + n


# ------------------------------------------------------------------ one run of the sync
def _area_steps(area: str, run: dict, sf, qb, state, reports: list[dict]) -> list:
    """The area's steps as (name, callable) in task order; each takes the previous results.
    ``reports``: the run's area reports so far (the reconciliation's pending records)."""
    from sfqb.run_params import area_run
    from sfqb.steps.registry import area_steps

    if area == "reconcile":
        from sfqb.preferences import Preferences
        from sfqb.steps.reconcile import reconcile_systems, report

        upper = dt.datetime.fromisoformat(run["upper_bound"])
        return [
            (
                "check",
                lambda r: report(
                    reconcile_systems(
                        sf(0),
                        qb(0),
                        Preferences(),
                        state=state,
                        upper_bound=upper,
                        run=run,
                        area_reports=reports,
                    )
                ),
            )
        ]
    if area == "preflight":
        from sfqb.steps import preflight

        return [
            ("validate", lambda r: preflight.validate(run, sf=sf(0))),
            ("match", lambda r: preflight.match(run, sf=sf(1), qb=qb(1), state=state)),
        ]
    steps = area_steps(area)
    run = area_run(run, area)
    takes = inspect.signature(steps.load).parameters
    more = {"qb": lambda: qb(2), "state": lambda: state}
    return [
        ("extract", lambda r: steps.extract(run, sf=sf(0), qb=qb(0), state=state)),
        ("plan", lambda r: steps.plan(run, r["extract"])),
        (
            "load",
            lambda r: steps.load(
                run, r["plan"], sf=sf(2), **{k: v() for k, v in more.items() if k in takes}
            ),
        ),
        ("commit", lambda r: steps.commit(run, r["extract"], r["load"], state=state)),
    ]


class SandboxCalls:
    """Each step's API calls: the sandboxes' counters, cleared before the step."""

    def __init__(self, admin) -> None:
        self.admin = admin

    def start(self) -> None:
        self.admin.clear_counters()

    def take(self) -> dict:
        return _calls(self.admin)

    def detail(self) -> dict:
        return {}


def run_sync(
    admin,
    state,
    tokens,
    tally: Tally,
    run_id: str,
    upper: dt.datetime,
    install: dt.datetime,
    *,
    edition: str = "online",
    counting=None,
) -> dict:
    """One run of every area, step by step; per step its seconds and calls (``counting``:
    ``start()`` before a step, ``take()`` its calls after it, ``detail()`` anything more to
    keep for the step; default the sandboxes' counters)."""
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.preferences import Preferences
    from sfqb.steps.common import run_context

    run = run_context(
        run_id=run_id,
        upper_bound=upper,
        install_date=install,
        preferences_json=Preferences(quickbooks_edition=edition).as_json(),
    )
    counting = counting or SandboxCalls(admin)
    limiter = QuickBooksHook(token_store=tokens).limiter if edition == "online" else None
    waited_before = limiter.waited if limiter else 0.0
    areas, reports, started = {}, [], time.perf_counter()
    for area in TASKS:
        made: dict[int, tuple] = {}

        def pair(i: int, made=made) -> tuple:
            if i not in made:  # one pair of hooks per task
                made[i] = tally.hooks(tokens)
            return made[i]

        results, steps, area_calls, report = {}, {}, {}, None
        for name, step in _area_steps(
            area, run, lambda i, p=pair: p(i)[0], lambda i, p=pair: p(i)[1], state, reports
        ):
            counting.start()
            tally.take()
            begin = time.perf_counter()
            results[name] = step(results)
            seconds = time.perf_counter() - begin
            calls = counting.take()
            steps[name] = {"seconds": round(seconds, 2), "calls": calls, **counting.detail()}
            _add(area_calls, calls)
            if name == "check":
                report = results[name]
            if name in ("load", "match"):
                records = tally.take()
                report = results[name]
                if name == "load" and isinstance(report, dict):
                    reports.append(report)
                steps[name]["records"] = {f"{s} {k}": n for (s, k), n in sorted(records.items())}
                steps[name]["floor"] = floors(records)
                steps[name]["write_calls"] = write_calls(calls)
        print(
            f"bench.sync: {run_id} {area}: {sum(s['seconds'] for s in steps.values()):.1f} s",
            flush=True,
        )
        areas[area] = {
            "seconds": round(sum(s["seconds"] for s in steps.values()), 2),
            "steps": steps,
            "calls": area_calls,
            "report": {
                k: report.get(k)
                for k in ("records", "linked", "warning_count")
                if isinstance(report, dict) and k in report
            },
        }
        if isinstance(report, dict) and report.get("warnings"):
            areas[area]["warnings"] = [
                (w if isinstance(w, str) else warning_line(w))[:300] for w in report["warnings"][:5]
            ]
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "areas": areas,
        "limiter_waited_seconds": round(limiter.waited - waited_before, 1) if limiter else 0.0,
    }


# ------------------------------------------------------------------ changes between runs
def change_records(admin, tokens, percent: float) -> dict:
    """``percent`` of the records changed on each side, through the hooks (not measured)."""
    from sfqb.hooks.quickbooks import BatchOp, QuickBooksHook
    from sfqb.steps.common import salesforce_hook

    qb, sf = QuickBooksHook(token_store=tokens), salesforce_hook()

    stamp = time.strftime("%H%M%S")
    chosen = spread(list(qb.query_all("Customer")), percent)
    items = [
        i for i in qb.query_all("Item") if i.get("Type") in ("Service", "NonInventory", "Inventory")
    ]
    chosen_items = spread(items, percent)
    ops = [
        BatchOp(
            key=f"c{c['Id']}",
            operation="update",
            entity="Customer",
            payload={
                "Id": c["Id"],
                "SyncToken": c["SyncToken"],
                "sparse": True,
                "PrimaryPhone": {"FreeFormNumber": f"555-{stamp}"},
            },
        )
        for c in chosen
    ]
    ops += [
        BatchOp(
            key=f"i{i['Id']}",
            operation="update",
            entity="Item",
            payload={
                "Id": i["Id"],
                "SyncToken": i["SyncToken"],
                "sparse": True,
                "UnitPrice": float(i.get("UnitPrice") or 0) + 1,
            },
        )
        for i in chosen_items
    ]
    failed = [r.key for r in qb.batch(ops) if r.error is not None]
    invoices = qb.count("Invoice")
    paid = _pay(tokens, invoices, share(invoices, percent))["payments"]
    if failed:
        raise RuntimeError(f"bench: QuickBooks changes failed: {failed[:5]}")
    return {
        "quickbooks": {
            "Customer": len(chosen),
            "Item": len(chosen_items),
            "Payment (invoice paid)": paid,
        },
        "salesforce": change_salesforce(sf, percent, stamp),
    }


def share(n: int, percent: float) -> int:
    """``percent`` of ``n`` records, at least one."""
    return max(1, round(n * percent / 100))


def spread(records: list, percent: float) -> list:
    """``percent`` of ``records`` (at least one), taken evenly through the list."""
    n = share(len(records), percent)
    return records[:: max(1, len(records) // n)][:n]


def change_salesforce(sf, percent: float, stamp: str) -> dict:
    """``percent`` of the Accounts get a new phone and as many open Opportunities (with
    lines) of all Opportunities are won, as invoices (not measured)."""
    accounts = [r["Id"] for r in sf.query("SELECT Id FROM Account")]
    picked = spread(accounts, percent)
    sf_failed = [
        r
        for r in sf.update("Account", [{"Id": a, "Phone": f"555-{stamp}"} for a in picked])
        if not r.ok
    ]
    opportunities = sf.count("Opportunity")
    open_ids = [
        r["Id"]
        for r in sf.query(
            "SELECT Id FROM Opportunity WHERE IsClosed = false AND HasOpportunityLineItem = true"
        )
    ]
    won = open_ids[: share(opportunities, percent)]
    sf_failed += [
        r
        for r in sf.update(
            "Opportunity",
            [{"Id": o, "StageName": "Closed Won", "Transaction_Type__c": "Invoice"} for o in won],
        )
        if not r.ok
    ]
    if sf_failed:
        raise RuntimeError(f"bench: Salesforce changes failed: {sf_failed[:5]}")
    return {"Account": len(picked), "Opportunity (won)": len(won)}


# ------------------------------------------------------------------ one size
def _seed(admin, size: int) -> dict:
    """Seed both sides stamped SEED_AGE ago (one clock serves both servers)."""
    started = time.perf_counter()
    admin.set_clock("quickbooks", advance_seconds=(QB_SEED_STAMP_AGE - SEED_AGE).total_seconds())
    try:
        admin.reset("quickbooks", str(size))
    finally:
        admin.set_clock("quickbooks", reset=True)
    admin.set_clock("salesforce", advance_seconds=-SEED_AGE.total_seconds())
    try:
        admin.reset("salesforce", str(size))
    finally:
        admin.set_clock("salesforce", reset=True)
    qb_info = admin.call("quickbooks", "GET", "info")
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "quickbooks": qb_info.get("counts", qb_info),
    }


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _sf_counts(tokens) -> dict:
    from sfqb.steps.common import salesforce_hook

    sf = salesforce_hook()
    return {o: sf.count(o) for o in ("Account", "Contact", "Product2", "Opportunity", "Invoice__c")}


def throttle_floor(calls: dict, latency_ms: dict) -> dict:
    """What QuickBooks' limits alone force on these calls: each request (each batch item in
    place of its batch) counts against 500 in any sliding minute, batch calls against 40. The
    first minute's worth goes at once, so the wait forced is one minute per further window.
    Next to it, the latency alone: every call's round trip, one call after another (the sync
    sends most calls one at a time; the calls of one write or one read by ids go up to four at
    once, which a run's time can show as less than this)."""
    qb = calls.get("quickbooks", {})
    batches = qb.get("batch", 0)
    units = sum(
        v
        for k, v in qb.items()
        if k not in ("batch", "batch.items", "oauth.discovery")
        and not k.startswith(("token.", "fault"))
    ) + qb.get("batch.items", 0)

    def windows(n: int, per_minute: int) -> int:
        return max(0, math.ceil(n / per_minute) - 1)

    latency = (
        sum(
            latency_ms[s] * sum(v for k, v in calls.get(s, {}).items() if k != "batch.items")
            for s in latency_ms
        )
        / 1000
    )
    return {
        "quickbooks_units": units,
        "batch_calls": batches,
        "seconds": 60 * max(windows(units, QB_PER_MINUTE), windows(batches, QB_BATCH_PER_MINUTE)),
        "client_limiter_seconds": QBO_LIMITS[ALL][1] * windows(units, QBO_LIMITS[ALL][0]),
        "latency_seconds": round(latency, 1),
    }


def measure(size: int, latency: str, changed_percent: float) -> dict:
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb_sandbox.admin_client import SandboxProcess

    with tempfile.TemporaryDirectory(prefix="sfqb-bench-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=900)
        try:
            seeded = _seed(admin, size)
            _connections(admin)
            state, tokens, tally = SyncState(InMemoryVariables()), InMemoryTokenStore(), Tally()
            seeded["salesforce"] = _sf_counts(tokens)
            for service, ms in LATENCIES[latency].items():
                admin.set_latency(service, ms)
            admin.call(
                "quickbooks",
                "POST",
                "throttle",
                {
                    "enabled": True,
                    "per_minute": QB_PER_MINUTE,
                    "concurrent": 10,
                    "batch_per_minute": QB_BATCH_PER_MINUTE,
                    "reset_windows": True,
                },
            )
            install = dt.datetime.now(dt.UTC) - INSTALL_AGE
            runs, changed = [], None
            for i, label in enumerate(
                ("initial sync", ECHO_RUN, "no change", f"{changed_percent:g}% changed")
            ):
                if i:  # the next hourly run: the sandboxes' clock moves on (one clock serves both)
                    admin.set_clock("quickbooks", advance_seconds=RUN_INTERVAL.total_seconds())
                if label.endswith("changed"):
                    changed = change_records(admin, tokens, changed_percent)
                time.sleep(1.1)  # the run's upper bound after the last writes, whole seconds apart
                upper = dt.datetime.fromisoformat(admin.call("quickbooks", "GET", "clock")["now"])
                result = run_sync(
                    admin, state, tokens, tally, f"bench-{size}-{label}", upper, install
                )
                throttle = admin.call("quickbooks", "GET", "throttle")
                runs.append(_summarize(label, result, throttle, process, LATENCIES[latency]))
        finally:
            process.stop()
    return {
        "size": size,
        "latency": latency,
        "latency_ms": LATENCIES[latency],
        "seed": seeded,
        "changed": changed,
        "runs": runs,
    }


def _summarize(label: str, result: dict, throttle: dict, process, latency_ms: dict) -> dict:
    calls: dict = {}
    for area in result["areas"].values():
        _add(calls, area["calls"])
    loads = []
    for name, area in result["areas"].items():
        for step_name, step in area["steps"].items():
            if "floor" not in step:
                continue
            for service in ("salesforce", "quickbooks"):
                floor, made = step["floor"][service], step["write_calls"][service]
                if floor or made:
                    loads.append(
                        {
                            "area": name,
                            "step": step_name,
                            "service": service,
                            "records": sum(
                                n for k, n in step["records"].items() if k.startswith(service)
                            ),
                            "write_calls": made,
                            "floor": floor,
                            "ratio": round(made / floor, 3) if floor else None,
                        }
                    )
    return {
        "run": label,
        "seconds": result["seconds"],
        "area_seconds": {a: v["seconds"] for a, v in result["areas"].items()},
        "areas": result["areas"],
        "calls": calls,
        "calls_total": {s: sum(v.values()) for s, v in calls.items()},
        "sync_calls_total": _service_totals(result["areas"], AREAS),
        "reconcile_calls_total": _service_totals(result["areas"], ("reconcile",)),
        "loads": loads,
        "throttle_floor": throttle_floor(calls, latency_ms),
        "limiter_waited_seconds": result["limiter_waited_seconds"],
        "quickbooks_429": throttle.get("rejected"),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sandbox_max_rss_mib": _vm_hwm_mib(process.proc.pid) if process.proc else None,
    }


def _service_totals(areas: dict, names: tuple[str, ...]) -> dict:
    calls: dict = {}
    for name in names:
        if name in areas:
            _add(calls, areas[name]["calls"])
    return {s: sum(v for k, v in c.items() if k != "batch.items") for s, c in calls.items()}


# ------------------------------------------------------------------ transforms at 1M
def transforms(rows: int) -> dict:
    from bench import matching

    return {"matching": matching.measure(rows)}


# ------------------------------------------------------------------ report
def _verdicts(result: dict) -> list[str]:
    out = []
    worst = list(_over(result))
    total = sum(
        1 for s in result["sizes"] for r in s["runs"] for load in r["loads"] if load["floor"]
    )
    out.append(
        f"- **Calls within 1.1x of the floor for every load: "
        f"{'holds' if not worst else 'does not hold'}** ({total - len(worst)} of {total} loads "
        "with writes are within it"
        + (
            ""
            if not worst
            else "; over it: "
            + "; ".join(
                f"{size:,}: {w['area']} {w['service']} {w['write_calls']} calls for "
                f"{w['records']:,} records, floor {w['floor']} ({w['ratio']:g}x) in the "
                f"{run}"
                for size, w, run in _over(result)
            )
        )
        + ")."
    )
    quiet = [
        (s["size"], next(r for r in s["runs"] if r["run"] == "no change")) for s in result["sizes"]
    ]
    totals = {size: sum(_sync_calls(r).values()) for size, r in quiet}
    constant = len(set(totals.values())) == 1 and max(totals.values()) < 100
    details = []
    for size, r in quiet:
        writes = sum(write_calls(r["calls"]).values())
        failed = sum(count(a["report"], FAILED) for a in r["areas"].values())
        sync = _sync_calls(r)
        details.append(
            f"{size:,} customers: {totals[size]} calls ({sync.get('salesforce', 0)} "
            f"Salesforce, {sync.get('quickbooks', 0)} QuickBooks), {writes} of them "
            f"writes" + (f", retrying the {failed} record(s) that fail every run" if writes else "")
        )
    checks = "; ".join(
        f"{size:,} customers: {sum(c.values())} read calls ({c.get('salesforce', 0)} Salesforce, "
        f"{c.get('quickbooks', 0)} QuickBooks) in {r['area_seconds'].get('reconcile', 0):g} s"
        for size, r in quiet
        if (c := r.get("reconcile_calls_total"))
    )
    out.append(
        f"- **No-change run: a small constant number of calls whatever the size: "
        f"{'holds' if constant else 'does not hold'}** for the sync's areas ({'; '.join(details)})"
        + (
            f". The reconciliation after them reads both systems whole on every run, by design "
            f"(docs/reconciliation.md), so its calls grow with the data: {checks}."
            if checks
            else "."
        )
    )
    for s in result["sizes"]:
        first = s["runs"][0]
        t = first["throttle_floor"]
        bound = max(t["seconds"], t["latency_seconds"])
        ratio = first["seconds"] / bound if bound else None
        forced = (
            f"throttling forces {t['seconds']:g} s of waiting for {t['quickbooks_units']:,} "
            f"QuickBooks request units and {t['batch_calls']} batch calls"
            if t["seconds"]
            else f"throttling forces no wait: {t['quickbooks_units']:,} QuickBooks "
            f"request units and {t['batch_calls']} batch calls fit in one minute's window"
        )
        verdict = "holds" if ratio is not None and ratio <= 1.25 else "does not hold"
        head = f"- **Initial sync within 1.25x of what the limits allow ({s['size']:,} customers): "
        if ratio is None:
            out.append(
                head + f"no bound to compare with**: {first['seconds']:g} s; {forced}; no latency."
            )
            continue
        out.append(
            head + f"{verdict}**: {first['seconds']:g} s; {forced}; the round trips alone, one "
            f"call after another, take {t['latency_seconds']:g} s; the larger of the two, "
            f"{bound:g} s, is the bound: {ratio:.2f}x."
        )
    m = result.get("transforms", {}).get("matching")
    if m is None:
        return out
    out.append(
        f"- **Transforms on 1M rows in seconds, memory well under 24 GiB: "
        f"{'holds' if m['seconds'] < 60 else 'does not hold'} for matching** "
        f"({m['sf_rows']:,} x {m['qb_rows']:,} rows in {m['seconds']:g} s, peak traced "
        f"{m['peak_traced_mib']:g} MiB); the areas' planning at 1M rows: `bench.planning`, "
        f"results in planning.md."
    )
    return out


def _sync_calls(run: dict) -> dict:
    """The areas' calls of a run (without the reconciliation's reads; older results: all)."""
    if "sync_calls_total" in run:
        return run["sync_calls_total"]
    return {
        s: n - run["calls"].get(s, {}).get("batch.items", 0) for s, n in run["calls_total"].items()
    }


def _over(result: dict):
    for s in result["sizes"]:
        for r in s["runs"]:
            for load in r["loads"]:
                if load["ratio"] is not None and load["ratio"] > 1.1:
                    yield s["size"], load, r["run"]


def markdown(result: dict) -> str:
    m = result.get("machine") or _machine()  # a partial sync.json (a later size failed) has none
    lat = result["sizes"][0]["latency_ms"] if result["sizes"] else {}
    lines = [
        "# Whole-sync benchmark",
        "",
        f"`python -m bench.sync --sizes {','.join(str(s['size']) for s in result['sizes'])} "
        f"--latency {result['latency']}` (how to read it: bench/README.md). Steps called directly "
        "in the order of `sfqb_sync`, real hooks over HTTPS to the local sandbox servers, no "
        "Airflow scheduler.",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}; both sandbox servers in one process on the same machine, shared with "
        f"other work (load average {m['load_average_at_end'][0]} at the end). Injected latency per "
        f"call: Salesforce {lat.get('salesforce')} ms, QuickBooks {lat.get('quickbooks')} ms "
        "(assumed round trips, see bench/README.md); QuickBooks throttling on (500 requests/min, "
        "10 concurrent, 40 batch calls/min).",
        "",
        "## Targets",
        "",
        *_verdicts(result),
        "",
    ]
    for s in result["sizes"]:
        seed = s["seed"]
        lines += [
            f"## {s['size']:,} customers",
            "",
            f"Seeded in {seed['seconds']} s (not measured): QuickBooks "
            f"{json.dumps(seed['quickbooks'])}; Salesforce {json.dumps(seed['salesforce'])}. "
            f"Changed before the last run: {json.dumps(s['changed'])}.",
            "",
            "| run | seconds | "
            + " | ".join(TASKS)
            + " | SF calls | QB calls | SF writes / floor | "
            "QB writes / floor | throttle-forced s | round trips s | limiter wait s | 429s | peak "
            "RSS MiB (sandbox) |",
            "|---|---|" + "---|" * len(TASKS) + "---|---|---|---|---|---|---|---|---|",
        ]
        for r in s["runs"]:
            w = {
                svc: (
                    sum(x["write_calls"] for x in r["loads"] if x["service"] == svc),
                    sum(x["floor"] for x in r["loads"] if x["service"] == svc),
                )
                for svc in ("salesforce", "quickbooks")
            }
            lines.append(
                f"| {r['run']} | {r['seconds']} | "
                + " | ".join(f"{r['area_seconds'].get(a, 0):g}" for a in TASKS)
                + f" | {r['calls_total'].get('salesforce', 0)} | "
                f"{r['calls_total'].get('quickbooks', 0)} | {w['salesforce'][0]} / "
                f"{w['salesforce'][1]} | {w['quickbooks'][0]} / {w['quickbooks'][1]} | "
                f"{r['throttle_floor']['seconds']:g} | {r['throttle_floor']['latency_seconds']:g} "
                f"| {r['limiter_waited_seconds']:g} | {r['quickbooks_429']} | {r['max_rss_mib']} "
                f"({r['sandbox_max_rss_mib']}) |"
            )
        lines += [
            "",
            "Loads (write calls against the floor, per area and service):",
            "",
            "| run | area | service | records written | write calls | floor | calls / floor |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in s["runs"]:
            for load in r["loads"]:
                ratio = "-" if load["ratio"] is None else f"{load['ratio']:g}"
                lines.append(
                    f"| {r['run']} | {load['area']} ({load['step']}) | {load['service']} | "
                    f"{load['records']:,} | {load['write_calls']} | {load['floor']} | {ratio} |"
                )
        lines += [
            "",
            "Where the time goes (the slowest steps of each run):",
            "",
            "| run | step | seconds | calls (SF / QB) | records written |",
            "|---|---|---|---|---|",
        ]
        for r in s["runs"]:
            steps = sorted(
                ((a, n, st) for a, area in r["areas"].items() for n, st in area["steps"].items()),
                key=lambda x: -x[2]["seconds"],
            )[:4]
            for a, n, st in steps:
                calls = st["calls"]
                qb_calls = sum(
                    v for k, v in calls.get("quickbooks", {}).items() if k != "batch.items"
                )
                lines.append(
                    f"| {r['run']} | {a}.{n} | {st['seconds']:g} | "
                    f"{sum(calls.get('salesforce', {}).values())} / {qb_calls} | "
                    f"{sum(st.get('records', {}).values()):,} |"
                )
        lines += ["", "Calls per endpoint:", "", *endpoint_table(s["runs"])]
        lines.append("")
    t = result.get("transforms", {}).get("matching")
    lines += (
        []
        if t is None
        else [
            "## Pure transforms",
            "",
            f"First-run matching (`bench.matching.measure`): {t['sf_rows']:,} Salesforce x "
            f"{t['qb_rows']:,} QuickBooks rows, {t['links']:,} links, {t['ambiguous']:,} "
            f"ambiguous, {t['seconds']} s, peak traced {t['peak_traced_mib']} MiB.",
            "",
        ]
    )
    if result.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in result["notes"]], ""]
    return "\n".join(lines)


def _write(out: Path, result: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "sync.json").write_text(json.dumps(result, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000", help="customers per company, comma-separated"
    )
    parser.add_argument("--latency", choices=sorted(LATENCIES), default="realistic")
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--transform-rows", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    parser.add_argument(
        "--markdown-only",
        action="store_true",
        help="rewrite sync.md from the sync.json in --out, measuring nothing",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.markdown_only:
        (out / "sync.md").write_text(markdown(json.loads((out / "sync.json").read_text())))
        return 0
    started = time.perf_counter()
    result = {"benchmark": "whole sync", "latency": args.latency, "sizes": []}
    for size in (int(s) for s in args.sizes.split(",")):
        result["sizes"].append(measure(size, args.latency, args.changed_percent))
        _write(out, result)  # kept if a later size fails
        print(
            f"bench.sync: {size:,} customers done at {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    result["transforms"] = transforms(args.transform_rows)
    result["machine"] = _machine()
    result["seconds"] = round(time.perf_counter() - started, 1)
    _write(out, result)
    text = markdown(result)
    (out / "sync.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
