"""Benchmark: the reconciliation alone at company sizes (the goal: "cheap even at 100k customers").

    python -m bench.reconcile [--sizes 10000,100000] [--latency realistic|0] [--out bench/results]

For each size N: both sandbox servers start in a temporary directory, seeded with the company of
N customers and the org of N accounts (as ``bench.sync`` seeds them), and first-run matching
links the same-named pairs (about half the accounts), so the reconciliation has links to
compare. Then, with the injected latency per call and QuickBooks' throttling on as in
``bench.sync``, ``reconcile_systems`` runs twice (the second run is the steady state an hourly
schedule sees) and is measured: wall and CPU seconds, calls per service and endpoint (the
sandboxes' counters), rows read per object, differences found per check, peak traced memory of
the comparison (a second, traced pass), and the process's peak RSS.

The company is not synced (only matched), so most checks find differences: the comparison then
lists more than a synced company's would. The reads are what a synced company costs: both
systems are read whole, every run, by design.

Results in ``--out``/reconcile.json and reconcile.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.invoices import _machine
from bench.items import _calls, _connections
from bench.sync import INSTALL_AGE, LATENCIES, QB_BATCH_PER_MINUTE, QB_PER_MINUTE, Tally, _seed


def _rows(frames: dict) -> dict:
    return {name: len(frame) for name, frame in frames.items()}


def measure(size: int, latency: str) -> dict:
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.preferences import Preferences
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps import preflight
    from sfqb.steps import reconcile as steps
    from sfqb.steps.common import run_context
    from sfqb_sandbox.admin_client import SandboxProcess

    with tempfile.TemporaryDirectory(prefix="sfqb-bench-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=1800)
        try:
            seeded = _seed(admin, size)
            _connections(admin)
            state, tokens, tally = SyncState(InMemoryVariables()), InMemoryTokenStore(), Tally()
            prefs = Preferences()
            upper = dt.datetime.fromisoformat(admin.call("quickbooks", "GET", "clock")["now"])
            run = run_context(
                run_id=f"bench-reconcile-{size}",
                upper_bound=upper,
                install_date=upper - INSTALL_AGE,
                preferences_json=prefs.as_json(),
            )
            sf, qb = tally.hooks(tokens)
            started = time.perf_counter()
            matched = preflight.match(run, sf=sf, qb=qb, state=state)
            match_seconds = round(time.perf_counter() - started, 1)
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
            runs = []
            for label in ("first", "steady"):
                admin.clear_counters()
                sf, qb = tally.hooks(tokens)
                scope = steps.scope_of(prefs, state, upper_bound=upper, run=run, area_reports=[])
                wall, cpu = time.perf_counter(), time.process_time()
                frames = steps.read_frames(sf, qb, scope)
                read = (round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2))
                wall, cpu = time.perf_counter(), time.process_time()
                result = steps.rules.reconcile(frames, scope)
                compare = (
                    round(time.perf_counter() - wall, 2),
                    round(time.process_time() - cpu, 2),
                )
                tracemalloc.start()  # memory in a second pass: tracing slows the code it watches
                steps.rules.reconcile(frames, scope)
                traced = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                calls = _calls(admin)
                runs.append(
                    {
                        "run": label,
                        "read_seconds": read[0],
                        "read_cpu_seconds": read[1],
                        "compare_seconds": compare[0],
                        "compare_cpu_seconds": compare[1],
                        "compare_peak_traced_mib": round(traced / 2**20, 1),
                        "rows": _rows(frames),
                        "calls": calls,
                        "calls_total": {
                            s: sum(v for k, v in c.items() if k != "batch.items")
                            for s, c in calls.items()
                        },
                        "counts": steps.report(result)["counts"],
                        "max_rss_mib": round(
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                        ),
                    }
                )
                print(
                    f"bench.reconcile: {size:,} {label}: read {read[0]} s, compare {compare[0]} s, "
                    f"calls {runs[-1]['calls_total']}",
                    flush=True,
                )
        finally:
            process.stop()
    return {
        "size": size,
        "latency_ms": LATENCIES[latency],
        "seed": seeded,
        "matching": {"seconds": match_seconds, "linked": matched.get("updated")},
        "runs": runs,
    }


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Reconciliation benchmark",
        "",
        f"`python -m bench.reconcile --sizes {','.join(str(s['size']) for s in result['sizes'])} "
        f"--latency {result['latency']}` (module docstring: what is seeded and measured).",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}; load average {m['load_average_at_end'][0]} at the end. Injected latency "
        f"per call: {json.dumps(result['sizes'][0]['latency_ms'])} ms; QuickBooks throttling on.",
        "",
        "| customers | run | read s (CPU) | compare s (CPU) | compare peak traced MiB | SF calls | "
        "QB calls | rows read | differences | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result["sizes"]:
        for r in s["runs"]:
            counts = r["counts"]
            found = sum(
                v
                for k, v in counts.items()
                if not k.endswith("_compared")
                and k not in ("pending_retry", "changed_after_run", "inactive_in_quickbooks")
            )
            lines.append(
                f"| {s['size']:,} | {r['run']} | {r['read_seconds']:g} ({r['read_cpu_seconds']:g}) "
                f"| {r['compare_seconds']:g} ({r['compare_cpu_seconds']:g}) | "
                f"{r['compare_peak_traced_mib']:g} | {r['calls_total'].get('salesforce', 0)} | "
                f"{r['calls_total'].get('quickbooks', 0)} | {sum(r['rows'].values()):,} | "
                f"{found:,} | {r['max_rss_mib']:g} |"
            )
    lines += ["", "Rows read per object and the checks' counts are in reconcile.json.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000", help="customers per company, comma-separated"
    )
    parser.add_argument("--latency", choices=sorted(LATENCIES), default="realistic")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "reconciliation", "latency": args.latency, "sizes": []}
    for size in (int(s) for s in args.sizes.split(",")):
        result["sizes"].append(measure(size, args.latency))
    result["machine"] = _machine()
    (out / "reconcile.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    text = markdown(result)
    (out / "reconcile.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
