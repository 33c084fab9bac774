"""Benchmark: each area's pure plan at up to 1M rows (the target: "the pure transforms alone").

    python -m bench.planning [--rows 1000000] [--capture 1000] [--out bench/results]

Inputs are real extracts, grown. Both sandbox servers start in a temporary directory, are
seeded with a company of ``--capture`` customers (as ``bench.sync`` seeds them, no latency,
no throttling) and the sync runs twice an hour apart, every area's extract -> plan -> load ->
commit as its tasks call them (``bench.sync._area_steps``): the **initial** sync (everything
new on both sides) and the **second** run, which re-reads what the first wrote (mostly
unchanged records, a few changed). Each area's extract of both runs is kept. Then every frame
of an extract is grown to N rows by whole copies of the extract: copy k gives every id a fresh
value (QuickBooks ids + k * 10^8, Salesforce ids with k in their counter) and every name a
suffix, the same function on every frame, so the references between frames (a customer's
Salesforce link, an opportunity's lines, an invoice's customer) hold inside each copy and the
proportions of new / changed / unchanged / skipped rows are those of the captured runs.
Catalogue lookups (terms, classes, custom field names, price book) stay as they are.

For each area, scenario and size (``--sizes``, the largest is ``--rows``): the wall time of the
area's ``plan`` step alone (``sfqb.steps.<area>.plan``: the pure rules plus the frames it
returns), then its peak traced memory (tracemalloc) in a second pass; the peak RSS of the process
while the plan ran and its max RSS at the end. The results say, for the ``TARGET_ROWS`` size,
whether each plan holds the target (``TARGET_CPU_SECONDS`` of CPU, ``TARGET_MEMORY_MIB``).
Results in ``--out``/planning.json and planning.md; bench/README.md explains them.

``--digest`` measures nothing and writes no results: per size, scenario and area it prints a
hash of everything the area's ``plan`` returns (``digest``), so a change meant to keep every
plan the same can be checked on one capture: run it before and after (with the same
``--capture-file`` and ``--sizes``) and compare the lines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import logging
import pickle
import re
import resource
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from bench.invoices import _machine
from bench.items import _connections

AREAS = ("items", "customers", "opportunities", "transactions", "invoices")
SCENARIOS = ("initial", "second")
RUN_INTERVAL = dt.timedelta(hours=1)
# The planning target: every area's plan at 1M principal rows within 10 s of CPU and 4 GiB.
TARGET_ROWS = 1_000_000
TARGET_CPU_SECONDS = 10.0
TARGET_MEMORY_MIB = 4096.0


# ------------------------------------------------------------------ capture real extracts
def capture(size: int) -> dict:
    """{scenario: {area: (run, extract)}} from two real runs at ``size`` customers."""
    from bench.sync import INSTALL_AGE, Tally, _area_steps, _seed
    from sfqb.hooks.token_store import InMemoryTokenStore
    from sfqb.preferences import Preferences
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps.common import run_context
    from sfqb_sandbox.admin_client import SandboxProcess

    captured: dict = {}
    with tempfile.TemporaryDirectory(prefix="sfqb-bench-planning-") as tmp:
        process = SandboxProcess(Path(tmp), seed="empty")
        admin = process.start(timeout=900)
        try:
            _seed(admin, size)
            _connections(admin)
            state, tokens, tally = SyncState(InMemoryVariables()), InMemoryTokenStore(), Tally()
            install = dt.datetime.now(dt.UTC) - INSTALL_AGE
            for i, scenario in enumerate(SCENARIOS):
                if i:
                    admin.set_clock("quickbooks", advance_seconds=RUN_INTERVAL.total_seconds())
                time.sleep(1.1)
                upper = dt.datetime.fromisoformat(admin.call("quickbooks", "GET", "clock")["now"])
                run = run_context(
                    run_id=f"bench-planning-{scenario}",
                    upper_bound=upper,
                    install_date=install,
                    preferences_json=Preferences().as_json(),
                )
                captured[scenario] = {}
                for area in ("preflight", *AREAS):
                    made: dict = {}

                    def pair(k: int, made=made) -> tuple:
                        if k not in made:
                            made[k] = tally.hooks(tokens)
                        return made[k]

                    results: dict = {}
                    for name, step in _area_steps(
                        area, run, lambda k, p=pair: p(k)[0], lambda k, p=pair: p(k)[1], state, []
                    ):
                        results[name] = step(results)
                    if area != "preflight":
                        captured[scenario][area] = (run, results["extract"])
                print(
                    f"bench.planning: captured the {scenario} run at {size:,} customers", flush=True
                )
        finally:
            process.stop()
    return captured


# ------------------------------------------------------------------ growing an extract to N rows
QB_ID_COLUMNS = frozenset(
    {
        "Id",
        "ParentRef.value",
        "CustomerRef.value",
        "TxnId",
        "SalesItemLineDetail.ItemRef.value",
        "External_Account_ID__c",
        "Account.External_Account_ID__c",
        "Parent.External_Account_ID__c",
        "BillingContact.External_Contact_ID__c",
        "External_Contact_ID__c",
        "External_Item_ID__c",
        "Product2.External_Item_ID__c",
        "External_Transaction_ID__c",
        "External_Invoice_ID__c",
        "item_id",
        "invoice_id",
        "sales_order_id",
    }
)
NAME_COLUMNS = frozenset(
    {
        "DisplayName",
        "CompanyName",
        "FullyQualifiedName",
        "PrintOnCheckName",
        "Name",
        "ParentRef.name",
        "ProductCode",
        "Product2.ProductCode",
        "Product2.Name",
        "SalesItemLineDetail.ItemRef.name",
    }
)
# "Entity:TxnId:Line" / "InvoiceId:OpportunityId" / "Entity:Id": the QuickBooks id's position
COMPOUND_COLUMNS = {"External_Line_ID__c": 1, "External_Invoice_Line_ID__c": 1, "External_ID__c": 0}
KEPT = frozenset({("Name", "sf_invoices")})  # "Invoice <DocNumber>": DocNumber is kept
LINE_FRAMES = frozenset({"lines"})  # their Id is the line's number inside its transaction
QB, SF, NAME = "\x01", "\x02", "\x03"  # where copy k's token goes in a value's template
MARKS = re.compile("([\x01\x02\x03])")
SF_ID = re.compile(
    r"\b(?!01s)([0-9a-zA-Z]{3}5g)00000([0-9a-zA-Z]{5}[A-Z0-5]{3})\b"
)  # not the price book
PRINCIPAL = {
    "items": ("items",),
    "customers": ("qb_changed", "sf_changed"),
    "opportunities": ("opportunities",),
    "transactions": ("transactions",),
    "invoices": ("invoices",),
}


def _tokens(copies: int, n: int) -> dict[str, np.ndarray]:
    """Copy k's token per kind, one per row of ``copies`` copies of ``n`` rows: QuickBooks ids
    get k + 1 before their 8 digits, Salesforce ids k in 5 digits of their counter, names " #k"."""
    ks = np.repeat(np.arange(copies), n)
    return {
        QB: (ks + 1).astype(str).astype(object),
        SF: np.char.zfill(ks.astype(str), 5).astype(object),
        NAME: np.char.add(" #", ks.astype(str)).astype(object),
    }


def _template(column: str, frame_name: str, value):
    """The value with markers where each copy puts its token (None: the value is kept)."""
    if not isinstance(value, str) or not value:
        return None
    if column in NAME_COLUMNS and (column, frame_name) not in KEPT:
        # the token goes before trailing spaces: they stay "surrounding" (names are compared
        # ignoring them, R-ACC-11)
        core = value.rstrip()
        return NAME.join(core.split(":")) + NAME + value[len(core) :]
    parts = value.split(":")
    position = COMPOUND_COLUMNS.get(column)
    if (
        position is None
        and column in QB_ID_COLUMNS
        and not (column == "Id" and frame_name in LINE_FRAMES)
    ):
        position = 0 if len(parts) == 1 else None
    if (
        position is not None
        and len(parts) > position
        and parts[position].isdigit()
        and len(parts[position]) <= 8
    ):
        parts[position] = QB + parts[position].zfill(8)
    text = SF_ID.sub(lambda m: m.group(1) + SF + m.group(2), ":".join(parts))
    return text if MARKS.search(text) else None


def grow_frame(name: str, frame: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``copies`` copies of ``frame``, copy k with fresh ids and names (vectorised over copies:
    the templates are made once from the frame's own rows)."""
    if copies <= 1 or frame.empty:
        return frame
    n = len(frame)
    out = frame.iloc[np.tile(np.arange(n), copies)].reset_index(drop=True)
    tokens = None
    for column in frame.columns:
        templates = [_template(column, name, v) for v in frame[column].tolist()]
        if not any(templates):
            continue
        tokens = tokens or _tokens(copies, n)
        pieces = [MARKS.split(t) if t else [] for t in templates]
        width = max(len(p) for p in pieces)
        grown = None
        for j in range(width):
            base = np.array([p[j] if j < len(p) else "" for p in pieces], dtype=object)
            col = np.tile(base, copies)
            if j % 2:  # a marker: the copy's token of that kind
                col = np.select(
                    [col == QB, col == SF, col == NAME], [tokens[QB], tokens[SF], tokens[NAME]], ""
                )
            grown = col if grown is None else grown + col
        keep = np.tile(np.array([t is None for t in templates]), copies)
        values = np.where(keep, out[column].to_numpy(dtype=object), grown)
        out[column] = pd.Series(values, dtype=frame[column].dtype)
    return out


# The extracts' lists of names and ids, each grown as values of a column of that kind.
GROWN_LISTS = {
    "unlinked_names": "Name",
    "unlinked_codes": "ProductCode",
    "own_type_exists": "External_Line_ID__c",
    "inactive_customers": "Id",
    "waited": "External_Invoice_ID__c",
}


def grow(area: str, extract: dict, copies: int) -> dict:
    """The extract as if the company were ``copies`` times as large (frames and name/id lists);
    a list with no rule in GROWN_LISTS stops the benchmark (kept as it is, it would make the
    copies differ from the captured run)."""
    out = {}
    for key, value in extract.items():
        if isinstance(value, pd.DataFrame):
            out[key] = grow_frame(key, value, copies)
        elif isinstance(value, (list, set, frozenset, tuple)):
            if key not in GROWN_LISTS:
                raise ValueError(
                    f"bench.planning: the {area} extract's {key!r} is a list with no growing rule: "
                    "add it to GROWN_LISTS"
                )
            column = GROWN_LISTS[key]
            out[key] = grow_frame(
                "lists", pd.DataFrame({column: list(value)}, dtype=object), copies
            )[column].tolist()
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------ digests of the plans
def _canonical(value) -> str:
    """One value as text that tells apart whatever a plan could tell apart: its type with its
    exact text (Decimal 1.0 and 1.00, 1 and True and "1", None and NaN and pd.NA all differ).
    Dicts keep their key order and lists their order (both are the plan's as it returns them);
    only sets, which have no order, are sorted."""
    if value is None or value is pd.NA or value is pd.NaT:
        return repr(value)
    if isinstance(value, (bool, int, float, str, np.generic)):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, Decimal):
        return f"Decimal:{value}"
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return f"{type(value).__name__}:{value.isoformat()}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_canonical(k)}={_canonical(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "set[" + ",".join(sorted(_canonical(v) for v in value)) + "]"
    if isinstance(value, pd.DataFrame):
        return _frame_text(value)
    return f"{type(value).__name__}:{value!r}"


def _frame_text(frame: pd.DataFrame) -> str:
    """A frame as it is: its index, and per column (in order) its name, dtype and values in
    row order (a plan's row order is what its load sends: it is part of the plan)."""
    parts = ["index:" + _canonical(frame.index.tolist())]
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        parts.append(f"column:{_canonical(name)}:{column.dtype}:" + _canonical(column.tolist()))
    return "frame(" + ";".join(parts) + ")"


def digest(result: dict) -> dict[str, str]:
    """Per output of a ``plan`` step, the first 16 hex digits of the SHA-256 of its canonical
    text (``_canonical``), and ``"*"``: the same of every output, in order."""
    out = {
        name: hashlib.sha256(_canonical(value).encode()).hexdigest()[:16]
        for name, value in result.items()
    }
    out["*"] = hashlib.sha256(_canonical(list(out.items())).encode()).hexdigest()[:16]
    return out


def print_digests(captured: dict, sizes: list[int], areas=AREAS) -> list[str]:
    """Each area's plan digests per size and scenario on the grown capture, printed one line
    per plan: ``digest <size> <scenario> <area> <all> <output>=<hash> ...``."""
    from sfqb.steps.registry import area_steps

    lines = []
    for size in sizes:
        for scenario, by_area in captured.items():
            for area in areas:
                run, extract = by_area[area]
                if principal_rows(area, extract) == 0:
                    line = f"digest {size} {scenario} {area} (the captured run read nothing)"
                else:
                    copies = max(1, round(size / principal_rows(area, extract)))
                    result = area_steps(area).plan(run, grow(area, extract, copies))
                    hashes = digest(result)
                    line = f"digest {size} {scenario} {area} {hashes.pop('*')} " + " ".join(
                        f"{name}={h}" for name, h in hashes.items()
                    )
                print(line, flush=True)
                lines.append(line)
    return lines


# ------------------------------------------------------------------ measuring
def _lengths(result: dict) -> dict:
    return {
        k: len(v)
        for k, v in result.items()
        if isinstance(v, (pd.DataFrame, list, dict)) and k != "limits"
    }


def principal_rows(area: str, extract: dict) -> int:
    return max(len(extract[name]) for name in PRINCIPAL[area])


def measure(
    area: str, run: dict, extract: dict, rows: int, base_counts: dict, trace: bool = True
) -> dict:
    """The area's plan step on its extract grown to about ``rows`` principal rows."""
    from sfqb.steps.registry import area_steps

    plan = area_steps(area).plan
    copies = max(1, round(rows / principal_rows(area, extract)))
    started = time.perf_counter()
    grown = grow(area, extract, copies)
    grow_seconds = time.perf_counter() - started
    gc.collect()
    rss_before = _reset_peak_rss()
    started, cpu = time.perf_counter(), time.process_time()
    result = plan(run, grown)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    peak_rss = _peak_rss_mib() if rss_before is not None else None
    counts = _lengths(result)
    expected = {k: n * copies for k, n in base_counts.items()}
    del result
    gc.collect()
    peak = None
    if trace:
        tracemalloc.start()
        plan(run, grown)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "rows": principal_rows(area, grown),
        "copies": copies,
        "input_rows": {k: len(v) for k, v in grown.items() if isinstance(v, pd.DataFrame)},
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "peak_traced_mib": None if peak is None else round(peak / 2**20, 1),
        "max_rss_mib_after": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_mib_before_plan": rss_before,
        "peak_rss_mib_plan": peak_rss,
        "result": counts,
        "same_as_copies": counts == expected,
        "grow_seconds": round(grow_seconds, 2),
    }


def _reset_peak_rss() -> float | None:
    """Resets the process's peak RSS (Linux: ``/proc/self/clear_refs``) to what it holds now and
    returns that (MiB), so ``_peak_rss_mib`` afterwards is the peak of what follows; None where
    the system cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _peak_rss_mib()
    except OSError:
        return None


def _peak_rss_mib() -> float | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(found.group(1)) / 1024, 1) if found else None


def targets(rows: list[dict]) -> dict:
    """The planning target checked on the measured rows of the ``TARGET_ROWS`` size: per plan,
    its CPU seconds against ``TARGET_CPU_SECONDS`` and its memory against ``TARGET_MEMORY_MIB``.
    Memory is the peak RSS of the process while the plan ran (``peak_rss_mib_plan``: the grown
    inputs, the plan, and whatever heap earlier measurements left the process: an upper bound on
    the plan's own), else the process max RSS after it (a looser bound); the traced peak when a
    traced pass ran at that size (Python's allocations alone) is reported beside it."""
    checked = []
    for r in rows:
        if r.get("empty") or r.get("size") != TARGET_ROWS:
            continue
        peak = r.get("peak_rss_mib_plan")
        memory, measure = (
            (peak, "peak RSS during the plan")
            if peak is not None
            else (r["max_rss_mib_after"], "process max RSS after the plan")
        )
        checked.append(
            {
                "scenario": r["scenario"],
                "area": r["area"],
                "rows": r["rows"],
                "cpu_seconds": r["cpu_seconds"],
                "cpu_holds": r["cpu_seconds"] <= TARGET_CPU_SECONDS,
                "memory_mib": memory,
                "memory_measure": measure,
                "peak_traced_mib": r["peak_traced_mib"],
                "memory_holds": memory <= TARGET_MEMORY_MIB,
            }
        )
    return {
        "rows": TARGET_ROWS,
        "cpu_seconds": TARGET_CPU_SECONDS,
        "memory_mib": TARGET_MEMORY_MIB,
        "plans": checked,
        "holds": bool(checked) and all(c["cpu_holds"] and c["memory_holds"] for c in checked),
    }


def run_all(
    captured: dict,
    sizes: list[int],
    areas=AREAS,
    done=lambda rows: None,
    trace_max_rows: int | None = None,
) -> list[dict]:
    """Every area and scenario at the first size, then the next size (``done`` after each row)."""
    from sfqb.steps.registry import area_steps

    rows, bases = [], {}
    for scenario, by_area in captured.items():
        for area in areas:
            run, extract = by_area[area]
            if principal_rows(area, extract) == 0:
                rows.append({"scenario": scenario, "area": area, "empty": True})
                print(
                    f"bench.planning: {scenario} {area}: the captured run read nothing", flush=True
                )
            else:  # also the one-time imports (great-expectations), outside the measurements
                bases[scenario, area] = _lengths(area_steps(area).plan(run, extract))
    for size in sizes:
        for (scenario, area), base in bases.items():
            run, extract = captured[scenario][area]
            row = {
                "scenario": scenario,
                "area": area,
                "size": size,
                "captured_rows": principal_rows(area, extract),
                "captured_result": base,
                **measure(
                    area,
                    run,
                    extract,
                    size,
                    base,
                    trace=trace_max_rows is None or size <= trace_max_rows,
                ),
            }
            rows.append(row)
            done(rows)
            print(
                f"bench.planning: {scenario} {area} {row['rows']:>9,} rows: {row['seconds']:>7.2f} "
                f"s ({row['cpu_seconds']:.2f} s CPU), peak {row['peak_traced_mib']} MiB traced; "
                f"{row['result']}",
                flush=True,
            )
    return rows


def _traced(row: dict) -> str:
    if row["peak_traced_mib"] is not None:
        return f"{row['peak_traced_mib']:g}"
    return f"not traced (process max RSS {row['max_rss_mib_after']:,.0f})"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Planning benchmark (the pure transforms at 1M rows)",
        "",
        f"`python -m bench.planning --rows {result['sizes'][-1]} --capture {result['capture']}` "
        "(how to read it: bench/README.md). Each area's `plan` step alone on real extracts of a "
        f"{result['capture']:,}-customer sandbox company ("
        + (
            "a capture reused from `--capture-file`"
            if result["capture_seconds"] is None
            else f"captured in {result['capture_seconds']:g} s"
        )
        + "), grown to N rows by copies with fresh ids and names.",
        *(
            ["", "Runs: " + "; ".join(f"`{r}`" for r in result["runs"]) + "."]
            if result.get("runs")
            else []
        ),
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}, pandas {pd.__version__}; shared with other work (load average "
        f"{m['load_average_at_end'][0]} at the end). Process max RSS {result['max_rss_mib']:,} "
        f"MiB. Whole benchmark {result['seconds']:g} s.",
        "",
        "| scenario | area | rows (principal frame) | all input rows | seconds | CPU seconds | "
        "peak traced MiB | µs CPU / row | result (rows per output) | = copies x captured |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if r.get("empty"):
            lines.append(
                f"| {r['scenario']} | {r['area']} | 0 (the captured run read nothing) | | | | | | "
                "| |"
            )
            continue
        result_text = ", ".join(f"{k} {v:,}" for k, v in r["result"].items() if v)
        lines.append(
            f"| {r['scenario']} | {r['area']} | {r['rows']:,} | {sum(r['input_rows'].values()):,} "
            f"| {r['seconds']:g} | {r['cpu_seconds']:g} | {_traced(r)} | "
            f"{1e6 * r['cpu_seconds'] / r['rows']:.1f} | {result_text} | "
            f"{'yes' if r['same_as_copies'] else 'NO'} |"
        )
    return "\n".join([*lines, *_target_lines(targets(result["rows"]))]) + "\n"


def _target_lines(checked: dict) -> list[str]:
    """The markdown section that says whether the target holds at ``TARGET_ROWS``."""
    head = (
        f"## Target: every plan at {checked['rows']:,} rows within "
        f"{checked['cpu_seconds']:g} s of CPU and {checked['memory_mib'] / 1024:g} GiB"
    )
    if not checked["plans"]:
        return ["", head, "", f"Not checked: this run measured no {checked['rows']:,}-row size."]
    met = sum(c["cpu_holds"] and c["memory_holds"] for c in checked["plans"])
    lines = [
        "",
        head,
        "",
        f"**{'Holds' if checked['holds'] else 'Does not hold'}**: {met} of "
        f"{len(checked['plans'])} plans within both. Memory is the peak RSS of the benchmark "
        "process while the plan ran (its grown inputs, the plan, and heap earlier measurements "
        "left the process: an upper bound on the plan's own); a traced peak (Python's "
        "allocations alone) where a traced pass ran at this size.",
        "",
        "| scenario | area | rows | CPU seconds | CPU within target | memory MiB (measure) "
        "| memory within target |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in checked["plans"]:
        traced = "" if c["peak_traced_mib"] is None else f"; {c['peak_traced_mib']:g} traced"
        lines.append(
            f"| {c['scenario']} | {c['area']} | {c['rows']:,} | {c['cpu_seconds']:g} | "
            f"{'yes' if c['cpu_holds'] else 'NO'} | {c['memory_mib']:,.0f} "
            f"({c['memory_measure']}{traced}) | {'yes' if c['memory_holds'] else 'NO'} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="the largest size (principal rows)"
    )
    parser.add_argument(
        "--sizes", default=None, help="sizes to measure (default 10000,100000,--rows)"
    )
    parser.add_argument(
        "--capture", type=int, default=1000, help="customers of the captured company"
    )
    parser.add_argument("--areas", default=",".join(AREAS))
    parser.add_argument(
        "--capture-file",
        type=Path,
        default=None,
        help="a capture to reuse (pickle, made by an earlier run); written when missing",
    )
    parser.add_argument(
        "--trace-max-rows",
        type=int,
        default=None,
        help="no tracemalloc pass above this size (default: every size)",
    )
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    parser.add_argument(
        "--digest",
        action="store_true",
        help="print a hash of each area's plan per size and scenario instead of measuring "
        "(writes no results)",
    )
    args = parser.parse_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else sorted({10_000, 100_000, args.rows})
    )
    started = time.perf_counter()
    reused = bool(args.capture_file and args.capture_file.exists())
    if reused:
        captured = pickle.loads(args.capture_file.read_bytes())
    else:
        captured = capture(args.capture)
        if args.capture_file:
            args.capture_file.write_bytes(pickle.dumps(captured))
    capture_seconds = time.perf_counter() - started
    logging.disable(
        logging.CRITICAL
    )  # the plans log per run, not per row; keep the output readable
    if args.digest:
        print_digests(captured, sizes, args.areas.split(","))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def write(rows: list[dict]) -> dict:  # after every measurement: a cut-short run keeps its rows
        result = {
            "benchmark": "planning (pure pandas rules per area)",
            "capture": args.capture,
            "capture_seconds": None if reused else round(capture_seconds, 1),
            "sizes": sizes,
            "machine": _machine(),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "seconds": round(time.perf_counter() - started, 1),
            "rows": rows,
            "targets": targets(rows),
        }
        (out / "planning.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / "planning.md").write_text(markdown(result))
        return result

    rows = run_all(
        captured, sizes, args.areas.split(","), done=write, trace_max_rows=args.trace_max_rows
    )
    write(rows)
    return 0 if all(r.get("empty") or r["same_as_copies"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
