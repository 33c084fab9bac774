"""Benchmark: the Desktop adapter's throughput through sfqb's Web Connector service.

    python -m bench.desktop_throughput [--sizes 1000,10000] [--pages 100,200,500]
        [--writes 1000] [--batches 30,100] [--latency realistic|0] [--out bench/results]

For each size N, a Desktop company emulator seeded with N customers sits behind the Web
Connector emulator, which runs sessions against sfqb's QBWC service (uvicorn, real HTTP, SOAP)
every 0.2 s in a thread; ``DesktopQuickBooks`` reads every customer (``query_all``, iterator
pages of 100, 200, 500) and then writes a group of ``--writes`` new customers
(``batch``, ``--batches`` requests per message set). Counted: qbXML requests and message sets
(the company's counters), sendRequestXML calls and Web Connector sessions (polls), wall time;
against the floor: one message set per sendRequestXML, so a read of N in pages of P needs
ceil(N/P) message sets, and a write group of W in message sets of B needs ceil(W/B).

**Latency is an assumption** (``--latency realistic``): QuickBooks' own time per message set,
added in the Web Connector's call to the company: 250 ms per message set, plus 2 ms per record
returned and 40 ms per write request. Integrators report QuickBooks Desktop answering queries
at a few hundred records a second and adds at tens a second on an ordinary office PC; these
figures are set in that range, not measured on QuickBooks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LATENCIES = {"realistic": (0.250, 0.002, 0.040), "0": (0.0, 0.0, 0.0)}
RET = re.compile(r"<\w+Ret>")
WRITE_RQ = re.compile(r"<\w+(Add|Mod)Rq\b")
NOT_REQUESTS = {"open", "close", "message sets"}


class SlowCompany:
    """``LocalCompany`` with QuickBooks' assumed processing time on each message set; with
    ``inclusive``, the assumed time is the whole of it: the emulator's own time is taken off
    the wait (an emulator in another process on a loaded machine is not QuickBooks' time)."""

    def __init__(
        self,
        inner,
        per_set: float,
        per_record: float,
        per_write: float,
        *,
        inclusive: bool = False,
    ) -> None:
        self.inner, self.per_set, self.per_record, self.per_write = (
            inner,
            per_set,
            per_record,
            per_write,
        )
        self.inclusive = inclusive

    def open(self, company_file: str) -> str:
        return self.inner.open(company_file)

    def process(self, request: str) -> str:
        began = time.perf_counter()
        response = self.inner.process(request)
        assumed = (
            self.per_set
            + self.per_record * len(RET.findall(response))
            + self.per_write * len(WRITE_RQ.findall(request))
        )
        taken = time.perf_counter() - began if self.inclusive else 0.0
        time.sleep(max(0.0, assumed - taken))
        return response

    def close(self) -> None:
        self.inner.close()


class Rig:
    def __init__(self, folder: Path, customers: int, latency: tuple[float, float, float]) -> None:
        from sfqb.qbwc import JobQueue
        from sfqb.qbwc.app import create_app
        from sfqb.qbwc.qwc import guids, qwc_text
        from sfqb.qbwc.service import QbwcService, ServiceSettings
        from sfqb.qbwc.settings import DesktopSettings
        from sfqb_sandbox.common.clock import Clock
        from sfqb_sandbox.desktop_rig import Served
        from sfqb_sandbox.qbd.company import DEFAULT_FILE, DesktopCompany
        from sfqb_sandbox.qbd.connector import LocalCompany
        from sfqb_sandbox.qbd.seed import seed_company
        from sfqb_sandbox.webconnector import (
            ConnectorSettings,
            Scheduler,
            WebConnector,
            parse_qwc,
        )

        clock = Clock(None)
        self.company = DesktopCompany(folder / "qbd", clock)
        self.company.configure(edition="Enterprise", time_zone="America/Los_Angeles")
        seed_company(self.company.store, str(customers), clock.timestamp(), edition="Enterprise")
        self.company.open("")
        self.queue = JobQueue.from_url(f"sqlite:///{folder / 'queue.sqlite3'}")
        creds = DesktopSettings("sfqb", "s3cret-Passw0rd", DEFAULT_FILE, "enterprise")
        # No linger: the benchmark counts a session's requests when it ends, and its one
        # workload keeps a session busy anyway.
        settings = ServiceSettings(ticket_ttl=120, none_wait_seconds=0, linger_seconds=0)
        service = QbwcService(self.queue, lambda: creds, settings)
        self.served = Served(create_app(service)).__enter__()
        owner, file_id = guids(self.queue)
        url = f"http://localhost:{self.served.port}/qbwc"
        qwc = parse_qwc(qwc_text(url, creds.user_name, owner, file_id))
        connector = WebConnector(
            qwc,
            creds.password,
            SlowCompany(LocalCompany(self.company), *latency),
            ConnectorSettings(call_timeout=120.0, noop_wait=0.05),
        )
        self.sessions: list = []
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=Scheduler(connector, every_seconds=0.2).run,
            args=(self.stop,),
            kwargs={"on_session": self._session},
            daemon=True,
        )
        self.thread.start()

    def _session(self, record) -> None:
        if record.outcome != "no_work":
            self.sessions.append(record)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)
        self.served.__exit__(None, None, None)
        self.queue.close()

    def snapshot(self) -> tuple[Counter, int, int]:
        sessions = list(self.sessions)
        sends = sum(record.methods.count("sendRequestXML") for record in sessions)
        return Counter(self.company.counters), len(sessions), sends

    def measure(self, run) -> dict:
        before, polls0, sends0 = self.snapshot()
        started = time.perf_counter()
        records = run()
        seconds = time.perf_counter() - started
        time.sleep(0.5)  # the session that answered ends
        after, polls1, sends1 = self.snapshot()
        delta = after - before
        return {
            "records": records,
            "seconds": round(seconds, 2),
            "message_sets": delta["message sets"],
            "requests": sum(v for k, v in delta.items() if k not in NOT_REQUESTS),
            "send_request_xml": sends1 - sends0,
            "polls": polls1 - polls0,
        }


def adapter(rig: Rig, page: int):
    from sfqb.hooks.desktop import DesktopQuickBooks

    return DesktopQuickBooks(rig.queue, timeout=3600, poll_interval=0.05, page_size=page)


def bench_size(n: int, pages: list[int], writes: int, batches: list[int], latency) -> list[dict]:
    from sfqb.hooks.quickbooks import BatchOp

    rows = []
    with tempfile.TemporaryDirectory(prefix="sfqb-bench-qbd-") as tmp:
        seeded = time.perf_counter()
        rig = Rig(Path(tmp), n, latency)
        print(f"seeded {n} customers in {time.perf_counter() - seeded:.1f} s", flush=True)
        try:
            while rig.queue.last_poll() is None:
                time.sleep(0.1)
            for page in pages:
                qb = adapter(rig, page)
                row = rig.measure(
                    lambda qb=qb, page=page: sum(
                        1 for _ in qb.query_all("Customer", include_inactive=True, page_size=page)
                    )
                )
                floor = math.ceil(row["records"] / page)
                rows.append(
                    {"size": n, "operation": f"read, pages of {page}", "floor": floor, **row}
                )
                print(json.dumps(rows[-1]), flush=True)
            for batch in batches:
                qb = adapter(rig, 200)
                ops = [
                    BatchOp(f"W{batch}-{i}", "create", "Customer", {"DisplayName": f"W{batch} {i}"})
                    for i in range(writes)
                ]

                def write(qb=qb, ops=ops, batch=batch) -> int:
                    results = qb.batch(ops, request_id=f"bench-{batch}", batch_size=batch)
                    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
                    return len(results)

                row = rig.measure(write)
                floor = math.ceil(writes / batch)
                rows.append(
                    {"size": n, "operation": f"write, {batch} per set", "floor": floor, **row}
                )
                print(json.dumps(rows[-1]), flush=True)
        finally:
            rig.close()
    return rows


def markdown(result: dict) -> str:
    head = (
        "| customers | operation | records | message sets | floor | requests | "
        "requests / record | records / message set | sendRequestXML | polls | seconds |\n"
        + "|---" * 11
        + "|\n"
    )
    lines = [
        f"| {r['size']:,} | {r['operation']} | {r['records']:,} | {r['message_sets']} | "
        f"{r['floor']} | {r['requests']} | {r['requests'] / max(1, r['records']):.3f} | "
        f"{r['records'] / max(1, r['message_sets']):.1f} | {r['send_request_xml']} | "
        f"{r['polls']} | {r['seconds']} |"
        for r in result["rows"]
    ]
    per_set, per_record, per_write = result["latency_s"]
    return (
        "# Desktop adapter throughput through the Web Connector service\n\n"
        f"Measured {result['measured_at']} on {result['machine']} (shared: a CI run beside it). "
        "sfqb's QBWC service on uvicorn, the Web Connector emulator polling every 0.2 s in a "
        "thread over HTTP, the Desktop company emulator behind it, a SQLite queue, all in one "
        f"process. Assumed QuickBooks time ({result['latency']}): {per_set * 1000:.0f} ms per "
        f"message set, {per_record * 1000:.0f} ms per record returned, "
        f"{per_write * 1000:.0f} ms per write request (bench/desktop_throughput.py says why).\n\n"
        + head
        + "\n".join(lines)
        + "\n\n*floor*: the fewest message sets (one per sendRequestXML): ceil(records / page) "
        "for a read, ceil(records / per set) for a write group. *requests* counts qbXML "
        "request elements. *polls*: Web Connector sessions that had work; with the real Web "
        "Connector's schedule (5 minutes by default), every poll past the first adds up to a "
        "schedule's wait to the wall time.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--pages", default="100,200,500")
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--batches", default="30,100")
    parser.add_argument("--latency", choices=sorted(LATENCIES), default="realistic")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    latency = LATENCIES[args.latency]
    ints = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    rows = []
    for n in ints(args.sizes):
        rows += bench_size(n, ints(args.pages), args.writes, ints(args.batches), latency)
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, Python "
        f"{platform.python_version()}",
        "latency": args.latency,
        "latency_s": latency,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "desktop_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "desktop_throughput.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
