"""Benchmark: first-run matching (R-PRE-1/2) as pure pandas, at sizes up to 1M x 1M.

    python -m bench.matching [--sizes 10000,100000,1000000] [--out bench/results]

Synthetic frames shaped like the extracts: Salesforce rows (Id, Name, External ID) and
QuickBooks rows (Id, DisplayName). Half of the Salesforce names equal a QuickBooks name, 10%
of Salesforce rows are already linked, 1% of the names are shared by two Salesforce rows
(ambiguous), and some differ only by case or a trailing space (no match: exact means exact).
Measures wall time and peak memory of ``match_accounts_to_customers`` alone (the I/O of the
first run is the API's part: see bench/README.md), and checks the counts it returns.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from sfqb.areas.preflight import match_accounts_to_customers


def frames(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    qb_names = pd.Series([f"Company {i:07d} Inc" for i in range(n)])
    qb = pd.DataFrame({"Id": pd.Series(range(1, n + 1)).astype(str), "DisplayName": qb_names})

    sf_names = qb_names.copy()
    unmatched = rng.random(n) < 0.5
    sf_names[unmatched] = [f"Prospect {i:07d} LLC" for i in np.flatnonzero(unmatched)]
    near = (~unmatched) & (rng.random(n) < 0.02)
    sf_names[near] = sf_names[near].str.upper() + " "
    linked = (~unmatched) & (~near) & (rng.random(n) < 0.10)
    ext = pd.Series([None] * n, dtype="object")
    ext[linked] = qb["Id"][linked]
    sf = pd.DataFrame(
        {"Id": [f"001{i:015d}" for i in range(n)], "Name": sf_names, "External_Account_ID__c": ext}
    )
    free_matching = np.flatnonzero((~unmatched) & (~near) & (~linked))
    twins = free_matching[: max(1, n // 100)]
    extra = pd.DataFrame(
        {
            "Id": [f"002{i:015d}" for i in range(len(twins))],
            "Name": sf_names[twins].to_numpy(),
            "External_Account_ID__c": None,
        }
    )
    sf = pd.concat([sf, extra], ignore_index=True)
    expected = {"links": len(free_matching) - len(twins), "ambiguous": len(twins)}
    return sf, qb, expected


def measure(n: int) -> dict:
    sf, qb, expected = frames(n)
    start = time.perf_counter()
    links, ambiguous = match_accounts_to_customers(sf, qb)
    seconds = time.perf_counter() - start
    # Memory in a second pass: tracing allocations slows Python code several times over.
    tracemalloc.start()
    match_accounts_to_customers(sf, qb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    got = {"links": len(links), "ambiguous": len(ambiguous)}
    assert got == expected, (got, expected)
    return {
        "sf_rows": len(sf),
        "qb_rows": len(qb),
        **got,
        "seconds": round(seconds, 3),
        "peak_traced_mib": round(peak / 2**20, 1),
    }


def machine() -> dict:
    import os

    return {
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    args = parser.parse_args(argv)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        row = measure(n)
        rows.append(row)
        print(
            f"{row['sf_rows']:>9} x {row['qb_rows']:>9}: {row['links']:>8} links, "
            f"{row['ambiguous']:>6} ambiguous in {row['seconds']:.2f} s, peak "
            f"{row['peak_traced_mib']} MiB",
            flush=True,
        )
    result = {
        "benchmark": "first-run matching (pure pandas)",
        "machine": machine(),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "matching.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# First-run matching benchmark",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}, Python "
        f"{result['machine']['python']}, pandas {result['machine']['pandas']}. Process max RSS "
        f"{result['max_rss_mib']} MiB.",
        "",
        "| SF rows | QB rows | links | ambiguous | seconds | peak traced MiB |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['sf_rows']:,} | {r['qb_rows']:,} | {r['links']:,} | {r['ambiguous']:,} | "
        f"{r['seconds']} | {r['peak_traced_mib']} |"
        for r in rows
    ]
    (out / "matching.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
