"""Benchmark: the whole sync on QuickBooks Desktop, area by area, at company sizes.

    python -m bench.desktop_sync [--sizes 1000,10000] [--latency realistic|0]
                                 [--changed-percent 1] [--out bench/results]

``bench.sync`` on the Desktop edition (preference ``quickbooks_edition: desktop``). For each size
N: the Salesforce org and the Desktop company emulator start in a sandbox process of their own
(``serve --quickbooks desktop``, one clock for both); the org is seeded as ``bench.sync`` seeds
it (N accounts, two hours ago) and the company with the Desktop seed of the same N (customers
with their jobs and sub-customers, the proportional catalogue, invoices, payments, sales
orders and receipts: include/sfqb_sandbox/qbd/seed.py; its history spans 120 days, so the
install date is 121 days back and the first run has the whole of both to sync). sfqb's QBWC
service runs on uvicorn in a thread of this process with a SQLite queue, and the Web Connector
emulator polls it over HTTP in another (tests/integration/desktop.py's rig): every qbXML
request of the sync goes queue -> service -> Web Connector -> company, one message set per
sendRequestXML, one at a time.

**Latency is an assumption** (``--latency realistic``): QuickBooks' own time per message set
is ``bench.desktop_throughput``'s (250 ms per message set, 2 ms per record returned, 40 ms per
write request: the range integrators report for QuickBooks Desktop on an office PC, not
measured on QuickBooks), added in the Web Connector's call to the company; Salesforce 80 ms per
call as in ``bench.sync``.

The four runs of ``bench.sync``, an hour apart on the sandboxes' clock: the initial sync, the
second run (re-reads the first's writes), a no-change run, and a run after ``--changed-percent``
of the QuickBooks customers (phone) and items (price) were changed by a QuickBooks user in the
company (the Web Connector paused meanwhile: QuickBooks takes one session at a time) and as many
Salesforce accounts (phone) and opportunities (won, as invoices) in the org.

Per run and area: wall time; qbXML requests and message sets (the company's counters);
per message set the Web Connector carried, its requests, the records it returned and the writes
it held (so reads are checked page by page and writes set by set); the floor: the message sets
the work needs, ceil(records / MaxReturned) per query (at least 1) and ceil(write requests / 30)
per step (the adapter's write group); the floor time (floor message sets x 250 ms plus the
time of the Rets returned, a transaction's lines included, and of the writes, as the emulated
QuickBooks is charged them) plus Salesforce's round trips (calls x 80 ms) against the wall
time; the Web Connector sessions, sendRequestXML calls and NoOp pauses; Salesforce calls and
write calls against their floors as ``bench.sync`` reports them; peak RSS of this process (the
sync, the service and the Web Connector) and of the sandbox process. Results in
``--out``/desktop_sync.json and .md; bench/README.md explains how to read them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import sync
from bench.desktop_throughput import LATENCIES as QB_LATENCIES
from bench.desktop_throughput import RET, SlowCompany
from bench.invoices import _machine
from bench.items import endpoint_table

SF_LATENCY_MS = {"realistic": 80, "0": 0}
WRITE_GROUP = 30
"""Requests per write message set: the adapter's ``batch_size`` default (``BATCH_SIZE``)."""
HISTORY = dt.timedelta(days=121)
"""The Desktop seed's history begins 120 days back: the install date is a day before it."""
WRITE_TAG = re.compile(r"(Add|Mod|Del|Void)Rq$")
NOT_REQUESTS = {"open", "close", "message sets"}
NOOP = "NoOp"


# ------------------------------------------------------------------ the Web Connector's view
class Wire:
    """The Web Connector's company, recording every message set: when, how long QuickBooks
    took, its requests, the records each query returned and the write requests it held."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.sets: list[dict] = []

    def open(self, company_file: str) -> str:
        return self.inner.open(company_file)

    def close(self) -> None:
        self.inner.close()

    def process(self, request: str) -> str:
        begin = time.perf_counter()
        response = self.inner.process(request)
        self.sets.append({"seconds": time.perf_counter() - begin, **message_set(request, response)})
        return response

    def mark(self) -> int:
        return len(self.sets)


def message_set(request: str, response: str) -> dict:
    """What one message set asked and got: its request tags, its queries (tag, iterator,
    iteratorID, MaxReturned, records returned, the iteratorID answered), its writes and every
    Ret element it returned (``rets``: a transaction's lines and the record an add answers
    included, as ``SlowCompany`` counts them for QuickBooks' time)."""
    from sfqb.qbwc import qbxml

    def elements(text: str, tag: str) -> list:
        msgs = qbxml.parse(text).find(tag)
        return [] if msgs is None else [e for e in msgs if isinstance(e.tag, str)]

    asked, got = elements(request, "QBXMLMsgsRq"), elements(response, "QBXMLMsgsRs")
    queries, writes = [], 0
    for i, rq in enumerate(asked):
        if WRITE_TAG.search(rq.tag):
            writes += 1
            continue
        rs = got[i] if i < len(got) else None
        rets = 0 if rs is None else sum(1 for r in rs if isinstance(r.tag, str))
        queries.append(
            {
                "tag": rq.tag,
                "iterator": rq.get("iterator"),
                "iterator_id": rq.get("iteratorID"),
                "max_returned": int(rq.findtext("MaxReturned") or 0),
                "records": rets,
                "answered_iterator_id": None if rs is None else rs.get("iteratorID"),
            }
        )
    return {
        "tags": [rq.tag for rq in asked],
        "queries": queries,
        "writes": writes,
        "rets": len(RET.findall(response)),
    }


def read_floor(sets: list[dict]) -> tuple[int, int, list[dict]]:
    """The message sets these reads need: per query (an iterator's pages are one query),
    ceil(records / MaxReturned), at least one; with the records read and each query's pages."""
    chains: dict[str, dict] = {}
    queries: list[dict] = []
    for s in sets:
        for q in s["queries"]:
            chain = chains.get(q["iterator_id"] or "") if q["iterator"] == "Continue" else None
            if chain is None:
                chain = {"tag": q["tag"], "max_returned": q["max_returned"], "records": 0}
                chain["iterated"] = bool(q["iterator"] and q["max_returned"])
                chain["pages"] = 0
                queries.append(chain)
            chain["records"] += q["records"]
            chain["pages"] += 1
            if q["answered_iterator_id"]:
                chains[q["answered_iterator_id"]] = chain
    # An iterator's pages are one query; queries without one (the session's company check,
    # a selecting read) fit their set, and the set is the floor of all of them.
    floor = sum(
        max(1, math.ceil(c["records"] / c["max_returned"])) for c in queries if c["iterated"]
    ) + sum(1 for s in sets if s["queries"] and not any(q["iterator"] for q in s["queries"]))
    return floor, sum(c["records"] for c in queries), queries


def desktop_detail(sets: list[dict], latency: tuple[float, float, float]) -> dict:
    """A step's message sets against their floor, and the floor's time at ``latency``: the floor
    sets' time, then QuickBooks' time for what they return and write, charged as ``SlowCompany``
    charges it (every Ret returned, lines included; every write request)."""
    per_set, per_record, per_write = latency
    reads, records, queries = read_floor(sets)
    writes = sum(s["writes"] for s in sets)
    rets = sum(s["rets"] for s in sets)
    write_sets = sum(1 for s in sets if s["writes"])
    floor = reads + math.ceil(writes / WRITE_GROUP)
    long_reads = [
        q
        for q in queries
        if q["iterated"] and q["pages"] > max(1, math.ceil(q["records"] / q["max_returned"]))
    ]
    return {
        "message_sets": len(sets),
        "read_sets": sum(1 for s in sets if s["queries"] and not s["writes"]),
        "write_sets": write_sets,
        "queries": len(queries),
        "records_read": records,
        "rets_returned": rets,
        "write_requests": writes,
        "floor_sets": floor,
        "read_floor_sets": reads,
        "write_floor_sets": math.ceil(writes / WRITE_GROUP),
        "queries_over_floor": len(long_reads),
        "full_write_sets": sum(1 for s in sets if s["writes"] >= WRITE_GROUP),
        "quickbooks_seconds": round(sum(s["seconds"] for s in sets), 2),
        "floor_seconds": round(floor * per_set + rets * per_record + writes * per_write, 2),
        "by_query": dict(Counter(q["tag"] for q in queries)),
    }


class DesktopCalls:
    """Each step's calls: Salesforce's endpoints (the sandbox's counters, cleared before the
    step) and the company's qbXML request counters (their growth over the step), and the
    step's message sets as the Web Connector carried them (``detail``)."""

    def __init__(self, admin, wire: Wire, latency: tuple[float, float, float]) -> None:
        self.admin, self.wire, self.latency = admin, wire, latency
        self.before: Counter = Counter()
        self.mark = 0

    def company(self) -> Counter:
        return Counter(self.admin.call("quickbooks_desktop", "GET", "company/counters"))

    def start(self) -> None:
        self.admin.clear_counters("salesforce")
        self.before, self.mark = self.company(), self.wire.mark()

    def take(self) -> dict:
        sf = {
            k: v
            for k, v in self.admin.counters("salesforce")["by_operation"].items()
            if not k.startswith("records.")
        }
        grown = self.company() - self.before
        return {"salesforce": sf, "quickbooks": {k: grown[k] for k in sorted(grown)}}

    def detail(self) -> dict:
        return {"desktop": desktop_detail(self.wire.sets[self.mark :], self.latency)}


# ------------------------------------------------------------------ seeding and changes
def _seed(admin, size: int) -> dict:
    """The org stamped two hours ago as ``bench.sync`` seeds it; the Desktop seed of the same
    size (its history spans the 120 days before now)."""
    started = time.perf_counter()
    admin.reset("quickbooks_desktop", str(size))
    admin.set_clock("salesforce", advance_seconds=-sync.SEED_AGE.total_seconds())
    try:
        admin.reset("salesforce", str(size))
    finally:
        admin.set_clock("salesforce", reset=True)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "quickbooks": admin.call("quickbooks_desktop", "GET", "company")["counts"],
    }


def change_company(admin, rig, percent: float, stamp: str) -> dict:
    """A QuickBooks user's edits in the company, the Web Connector paused meanwhile: a new
    phone on ``percent`` of the customers (jobs included) and as many new service items as
    ``percent`` of the items (not measured)."""
    from lxml import etree

    from sfqb_sandbox.webconnector import HttpCompany
    from tests.sandbox.qbd.conftest import message

    company = HttpCompany(
        admin.connections["quickbooks_desktop"]["qbxml_url"].removesuffix("/qbxml"),
        verify=admin.connections["ca_bundle"],
    )
    rig.stop()
    try:
        company.open("")
        customers = etree.fromstring(company.process(message("<CustomerQueryRq/>")).encode()).iter(
            "CustomerRet"
        )
        mods = [
            f"<CustomerModRq><CustomerMod><ListID>{c.findtext('ListID')}</ListID>"
            f"<EditSequence>{c.findtext('EditSequence')}</EditSequence>"
            f"<Phone>555-{stamp}</Phone></CustomerMod></CustomerModRq>"
            for c in sync.spread(list(customers), percent)
        ]
        changed = {"Customer": len(mods)}
        # The emulator takes no item Mod requests: the catalogue changes by new service items,
        # as many as 1% of the items (a new item is what the items area reads and exports).
        items = etree.fromstring(company.process(message("<ItemQueryRq/>")).encode())
        account = items.findtext(".//SalesOrPurchase/AccountRef/ListID")
        added = sync.share(sum(1 for e in items.iter() if str(e.tag).endswith("Ret")), percent)
        mods += [
            f"<ItemServiceAddRq><ItemServiceAdd><Name>Bench {stamp} {i}</Name><SalesOrPurchase>"
            f"<Desc>Added by a QuickBooks user</Desc><Price>{10 + i}.00</Price><AccountRef>"
            f"<ListID>{account}</ListID></AccountRef></SalesOrPurchase></ItemServiceAdd>"
            "</ItemServiceAddRq>"
            for i in range(added)
        ]
        changed["ItemService (new)"] = added
        answer = company.process(message("".join(mods), on_error="continueOnError"))
        company.close()
    finally:
        rig.start()
    failed = re.findall(r'statusCode="([1-9]\d*)"[^>]*statusMessage="([^"]*)"', answer)
    failed = [f for f in failed if int(f[0]) >= 1000]
    if failed:
        raise RuntimeError(f"bench: QuickBooks Desktop changes failed: {failed[:5]}")
    return changed


# ------------------------------------------------------------------ one size
def _connections(admin, queue_url: str) -> None:
    from sfqb_sandbox.connections import salesforce_connection
    from sfqb_sandbox.desktop_rig import desktop_connection

    env = {
        "REQUESTS_CA_BUNDLE": admin.connections["ca_bundle"],
        "AIRFLOW_CONN_SALESFORCE_DEFAULT": json.dumps(
            salesforce_connection(admin.connections["salesforce"])
        ),
        "AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT": json.dumps(
            desktop_connection(admin.connections["quickbooks_desktop"])
        ),
        "AIRFLOW_CONN_SFQB_QBWC_QUEUE": json.dumps(
            {"conn_type": "generic", "extra": json.dumps({"url": queue_url})}
        ),
    }
    os.environ.update(env)


def _sessions(records: list) -> dict:
    """The Web Connector's sessions with work, its sendRequestXML calls and NoOp pauses."""
    worked = [r for r in records if "sendRequestXML" in r.methods]
    return {
        "sessions": len(worked),
        "send_request_xml": sum(r.methods.count("sendRequestXML") for r in worked),
        "noops": sum(
            1 for r in worked for c in r.calls if c.method == "getLastError" and c.result == NOOP
        ),
        "outcomes": dict(Counter(r.outcome for r in worked)),
    }


def measure(size: int, latency: str, changed_percent: float, noop_wait: float) -> dict:
    from sfqb.hooks.desktop import DesktopQuickBooks
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.qbwc.service import ServiceSettings
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb_sandbox.admin_client import SandboxProcess
    from sfqb_sandbox.desktop_rig import start_rig
    from sfqb_sim.worker_clock import DESKTOP_MODULES, WorkerClock

    qb_latency = QB_LATENCIES[latency]
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="sfqb-bench-qbd-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty", extra_args=["--quickbooks", "desktop"])
        admin = process.start(timeout=900)
        rig = None
        try:
            seeded = _seed(admin, size)
            queue_url = f"sqlite:///{Path(tmp) / 'qbwc-queue.sqlite3'}"
            _connections(admin, queue_url)
            seeded["salesforce"] = sync._sf_counts(None)
            admin.set_latency("salesforce", SF_LATENCY_MS[latency])
            wire = Wire(None)

            def slow(company):
                wire.inner = SlowCompany(company, *qb_latency, inclusive=True)
                return wire

            rig = start_rig(
                admin.connections["quickbooks_desktop"],
                queue_url,
                admin.connections["ca_bundle"],
                company=slow,
                noop_wait=noop_wait,
                hold_seconds=ServiceSettings().hold_seconds,  # the service as deployed
            )
            tally = sync.Tally(
                # As a task makes it (``quickbooks_hook``): the product's waits and timeout.
                quickbooks=lambda: DesktopQuickBooks.from_connection(queue=rig.queue)
            )
            counting = DesktopCalls(admin, wire, qb_latency)
            state, tokens = SyncState(InMemoryVariables()), InMemoryTokenStore()
            clock = admin.call("quickbooks_desktop", "GET", "clock")["now"]
            install = dt.datetime.fromisoformat(clock) - HISTORY
            runs, changed = [], None
            labels = ("initial sync", sync.ECHO_RUN, "no change", f"{changed_percent:g}% changed")
            # The Desktop service stamps its polls and answers, and sfqb moves QuickBooks' time
            # on between runs by them (sfqb.hooks.desktop.clock): its clock and the workers' follow
            # the sandboxes' hours, as they would in a company whose runs are an hour apart.
            worker = WorkerClock(DESKTOP_MODULES)
            worker.follow(admin.call("quickbooks_desktop", "GET", "clock"))
            with worker.installed():
                for i, label in enumerate(labels):
                    if i:  # the next hourly run: the sandboxes' clock moves on (one clock for both)
                        hour = sync.RUN_INTERVAL.total_seconds()
                        worker.follow(admin.set_clock("quickbooks_desktop", advance_seconds=hour))
                    if label.endswith("changed"):
                        from sfqb.steps.common import salesforce_hook

                        stamp = time.strftime("%H%M%S")
                        changed = {
                            "quickbooks": change_company(admin, rig, changed_percent, stamp),
                            "salesforce": sync.change_salesforce(
                                salesforce_hook(), changed_percent, stamp
                            ),
                        }
                    time.sleep(1.1)  # the run's upper bound after the last writes
                    upper = dt.datetime.fromisoformat(
                        admin.call("quickbooks_desktop", "GET", "clock")["now"]
                    )
                    sessions_before = len(rig.records)
                    result = sync.run_sync(
                        admin,
                        state,
                        tokens,
                        tally,
                        f"bench-qbd-{size}-{label}",
                        upper,
                        install,
                        edition="desktop",
                        counting=counting,
                    )
                    # The run's session ends (a real one lingers 120 s, then closes; the next
                    # hourly run finds a new one): its record counts its calls.
                    rig.stop()
                    rig.start()
                    runs.append(
                        _summarize(
                            label,
                            result,
                            _sessions(rig.records[sessions_before:]),
                            process,
                            latency,
                        )
                    )
                    print(json.dumps(_brief(runs[-1])), flush=True)
            errors = [e for e in rig.errors() if not e.startswith("stopped:")]
        finally:
            if rig is not None:
                rig.close()
            process.stop()
    return {
        "size": size,
        "started_at": started_at,
        "machine": _machine(),
        "latency": latency,
        "latency_s": {"quickbooks": qb_latency, "salesforce": SF_LATENCY_MS[latency] / 1000},
        "noop_wait": noop_wait,
        "load_at_start": load_at_start,
        "seed": seeded,
        "changed": changed,
        "web_connector_errors": errors[:10],
        "runs": runs,
    }


def _summarize(label: str, result: dict, sessions: dict, process, latency: str) -> dict:
    base = sync._summarize(label, result, {}, process, sync.LATENCIES["0"])
    for key in ("throttle_floor", "limiter_waited_seconds", "quickbooks_429"):
        base.pop(key, None)
    sf_s = SF_LATENCY_MS[latency] / 1000
    areas = {}
    for name, area in result["areas"].items():
        d = Counter()
        for step in area["steps"].values():
            d.update({k: v for k, v in step["desktop"].items() if isinstance(v, int | float)})
        qb_calls = area["calls"].get("quickbooks", {})
        sf_calls = sum(area["calls"].get("salesforce", {}).values())
        requests = sum(v for k, v in qb_calls.items() if k not in NOT_REQUESTS)
        records = d["records_read"] + d["write_requests"]
        floor_s = d["floor_seconds"] + sf_calls * sf_s
        areas[name] = {
            "seconds": area["seconds"],
            "requests": requests,
            "message_sets": qb_calls.get("message sets", 0),
            "records_read": d["records_read"],
            "write_requests": d["write_requests"],
            "queries": d["queries"],
            "floor_sets": d["floor_sets"],
            "queries_over_floor": d["queries_over_floor"],
            "write_sets": d["write_sets"],
            "full_write_sets": d["full_write_sets"],
            "requests_per_record": round(requests / records, 3) if records else None,
            "sets_per_record": round(qb_calls.get("message sets", 0) / records, 4)
            if records
            else None,
            "quickbooks_seconds": round(d["quickbooks_seconds"], 2),
            "qb_floor_seconds": round(d["floor_seconds"], 2),
            "salesforce_calls": sf_calls,
            "floor_seconds": round(floor_s, 2),
            "ratio": round(area["seconds"] / floor_s, 2) if floor_s else None,
        }
    total = {
        k: sum(a[k] for a in areas.values())
        for k in (
            "requests",
            "message_sets",
            "records_read",
            "write_requests",
            "floor_sets",
            "queries_over_floor",
            "salesforce_calls",
            "quickbooks_seconds",
            "qb_floor_seconds",
            "floor_seconds",
        )
    }
    total["floor_seconds"] = round(total["floor_seconds"], 2)
    total["ratio"] = (
        round(result["seconds"] / total["floor_seconds"], 2) if total["floor_seconds"] else None
    )
    sync_only = {k: v for k, v in areas.items() if k in sync.AREAS}
    return {
        **base,
        "desktop": areas,
        "desktop_total": total,
        "sync_requests": sum(a["requests"] for a in sync_only.values()),
        "sync_message_sets": sum(a["message_sets"] for a in sync_only.values()),
        "web_connector": sessions,
    }


def _brief(run: dict) -> dict:
    t = run["desktop_total"]
    return {
        "run": run["run"],
        "seconds": run["seconds"],
        "requests": t["requests"],
        "message_sets": t["message_sets"],
        "floor_sets": t["floor_sets"],
        "floor_seconds": t["floor_seconds"],
        "salesforce": run["calls_total"].get("salesforce", 0),
        "web_connector": run["web_connector"],
    }


# ------------------------------------------------------------------ report
def verdicts(result: dict) -> list[str]:
    out = []
    for s in result["sizes"]:
        for r in s["runs"]:
            t = r["desktop_total"]
            if not t["floor_seconds"]:
                out.append(
                    f"- **Wall time within 1.25x of the floor ({s['size']:,} customers, "
                    f"{r['run']}): no bound to compare with** at latency 0 ({r['seconds']:g} s)."
                )
                continue
            verdict = "holds" if t["ratio"] <= 1.25 else "does not hold"
            out.append(
                f"- **Wall time within 1.25x of the floor ({s['size']:,} customers, {r['run']}): "
                f"{verdict}**: {r['seconds']:g} s against {t['floor_seconds']:g} s "
                f"({t['ratio']:g}x): {t['floor_sets']} message sets needed x their QuickBooks "
                f"time ({t['qb_floor_seconds']:g} s) plus {t['salesforce_calls']} Salesforce "
                f"round trips; {t['message_sets']} message sets sent."
            )
    quiet = [
        (s["size"], next(r for r in s["runs"] if r["run"] == "no change")) for s in result["sizes"]
    ]
    requests = {size: r["sync_requests"] for size, r in quiet}
    # Not growing: the largest company's quiet run sends no more requests than the smallest's.
    constant = len(quiet) > 1 and requests[max(requests)] <= requests[min(requests)]
    writes = {size: r["desktop_total"]["write_requests"] for size, r in quiet}
    out.append(
        "- **No-change run's qbXML requests do not grow with the company: "
        + (
            ("holds" if constant else "does not hold")
            if len(quiet) > 1
            else "not measured (one size)"
        )
        + "** for the sync's areas ("
        + "; ".join(
            f"{size:,} customers: {requests[size]} requests in {r['sync_message_sets']} "
            f"message sets, {writes[size]} writes"
            for size, r in quiet
        )
        + "); the reconciliation reads both systems whole by design: "
        + "; ".join(
            f"{size:,}: {r['desktop']['reconcile']['requests']} requests, "
            f"{r['desktop']['reconcile']['message_sets']} message sets"
            for size, r in quiet
            if "reconcile" in r["desktop"]
        )
        + "."
    )
    return out


def markdown(result: dict) -> str:
    m = result.get("machine") or _machine()
    first = result["sizes"][0] if result["sizes"] else {}
    per_set, per_record, per_write = first.get("latency_s", {}).get("quickbooks", (0, 0, 0))
    lines = [
        "# Whole-sync benchmark on QuickBooks Desktop",
        "",
        f"`python -m bench.desktop_sync --sizes {','.join(str(s['size']) for s in result['sizes'])}"
        f" --latency {result['latency']}` (how to read it: bench/README.md). Steps called "
        "directly in the order of `sfqb_sync` with `quickbooks_edition: desktop`; every qbXML "
        "request through sfqb's QBWC service (uvicorn, SQLite queue) and the Web Connector "
        f"emulator over HTTP (polling every 0.2 s, NoOp pause {first.get('noop_wait', 0):g} s), "
        "the company and the org in one sandbox process. No Airflow scheduler.",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}; shared with other engineers' tests (load average "
        f"{m['load_average_at_end'][0]} at the end; {result.get('load_at_start', '?')} at the "
        f"start). Assumed QuickBooks time: {per_set * 1000:g} ms per message set, "
        f"{per_record * 1000:g} ms per Ret returned (a transaction's lines and the record an add "
        f"answers included, in the wait and in the floor), {per_write * 1000:g} ms per write "
        "request (bench.desktop_throughput's figures); Salesforce "
        f"{first.get('latency_s', {}).get('salesforce', 0) * 1000:g} ms per call.",
        "",
        "## Targets",
        "",
        *verdicts(result),
        "",
    ]
    for s in result["sizes"]:
        sm = s.get("machine") or m
        lines += [
            f"## {s['size']:,} customers",
            "",
            f"Started {s.get('started_at', '?')}; load average {s.get('load_at_start', '?')} at "
            f"the start, {sm['load_average_at_end']} at the end of this size.",
            "",
            f"Seeded in {s['seed']['seconds']} s (not measured): Desktop company "
            f"{json.dumps(s['seed']['quickbooks'])}; Salesforce "
            f"{json.dumps(s['seed']['salesforce'])}. Changed before the last run: "
            f"{json.dumps(s['changed'])}.",
            "",
            "| run | seconds | floor s | x floor | qbXML requests | message sets | floor sets | "
            "records read | writes | requests / record | WC sessions | sendRequestXML | NoOps "
            "(pause s) | SF calls | SF writes / floor | peak RSS MiB (sandbox) |",
            "|---" * 16 + "|",
        ]
        for r in s["runs"]:
            t, w = r["desktop_total"], r["web_connector"]
            records = t["records_read"] + t["write_requests"]
            sf_w = [x for x in r["loads"] if x["service"] == "salesforce"]
            lines.append(
                f"| {r['run']} | {r['seconds']:g} | {t['floor_seconds']:g} | "
                f"{t['ratio'] if t['ratio'] is not None else '-'} | {t['requests']} | "
                f"{t['message_sets']} | {t['floor_sets']} | {t['records_read']:,} | "
                f"{t['write_requests']:,} | "
                f"{(t['requests'] / records) if records else 0:.3f} | {w['sessions']} | "
                f"{w['send_request_xml']} | {w['noops']} ({w['noops'] * s['noop_wait']:g}) | "
                f"{r['calls_total'].get('salesforce', 0)} | "
                f"{sum(x['write_calls'] for x in sf_w)} / {sum(x['floor'] for x in sf_w)} | "
                f"{r['max_rss_mib']} ({r['sandbox_max_rss_mib']}) |"
            )
        lines += [
            "",
            "Per area (seconds against the floor: the floor message sets' QuickBooks time plus "
            "Salesforce's round trips):",
            "",
            "| run | area | seconds | floor s | x | requests | message sets | floor sets | "
            "queries (over floor) | records read | writes | write sets (full) | "
            "requests / record | QB s | SF calls |",
            "|---" * 15 + "|",
        ]
        for r in s["runs"]:
            for name, a in r["desktop"].items():
                lines.append(
                    f"| {r['run']} | {name} | {a['seconds']:g} | {a['floor_seconds']:g} | "
                    f"{a['ratio'] if a['ratio'] is not None else '-'} | {a['requests']} | "
                    f"{a['message_sets']} | {a['floor_sets']} | {a['queries']} "
                    f"({a['queries_over_floor']}) | {a['records_read']:,} | "
                    f"{a['write_requests']:,} | {a['write_sets']} ({a['full_write_sets']}) | "
                    f"{a['requests_per_record'] if a['requests_per_record'] is not None else '-'}"
                    f" | {a['quickbooks_seconds']:g} | {a['salesforce_calls']} |"
                )
        lines += ["", "Calls per endpoint (Salesforce) and qbXML request (QuickBooks):", ""]
        lines += endpoint_table(s["runs"])
        if s.get("web_connector_errors"):
            lines += ["", f"Web Connector sessions that ended badly: {s['web_connector_errors']}"]
        lines.append("")
    if result.get("notes"):
        lines += ["## Notes", "", *[f"- {n}" for n in result["notes"]], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--latency", choices=sorted(QB_LATENCIES), default="realistic")
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument(
        "--noop-wait",
        type=float,
        default=5.0,
        help="the Web Connector emulator's pause after a NoOp: the real one's, 5 s, by default",
    )
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    parser.add_argument("--markdown-only", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.markdown_only:
        result = json.loads((out / "desktop_sync.json").read_text())
        (out / "desktop_sync.md").write_text(markdown(result))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict = {
        "benchmark": "whole sync on QuickBooks Desktop",
        "latency": args.latency,
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "sizes": [],
    }
    for size in (int(s) for s in args.sizes.split(",")):
        result["sizes"].append(measure(size, args.latency, args.changed_percent, args.noop_wait))
        (out / "desktop_sync.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"bench.desktop_sync: {size:,} done at {time.perf_counter() - started:.0f} s")
    result["machine"] = _machine()
    result["seconds"] = round(time.perf_counter() - started, 1)
    (out / "desktop_sync.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    text = markdown(result)
    (out / "desktop_sync.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
