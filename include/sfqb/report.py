"""The run summary: what every area of a run did, as data and as a table (SPEC R-OPS-2)."""

from __future__ import annotations

COUNTS = ("created", "updated", "skipped", "failed")


def format_summary(summary: dict) -> str:
    """Render a run summary (what ``summarize_run`` returns) as a plain-text table."""
    lines = [f"sfqb run {summary.get('run_id')} (upper bound {summary.get('upper_bound')})"]
    if summary.get("scope"):
        lines.append(f"  {summary['scope']}")
    areas = summary.get("areas") or []
    if not areas:
        lines.append("  no sync areas are installed yet: nothing was read or written")
        return "\n".join(lines)
    syncing = [a for a in areas if "counts" not in a]
    width = max(len("area"), *(len(a["area"]) for a in syncing)) if syncing else len("area")
    lines.append("  " + "area".ljust(width) + "".join(f"{c:>9}" for c in COUNTS))
    for area in syncing:
        lines.append(
            "  " + area["area"].ljust(width) + "".join(f"{area.get(c, 0):>9}" for c in COUNTS)
        )
    lines.extend(_checks(a) for a in areas if "counts" in a)
    warnings = [w for a in areas for w in a.get("warnings", [])]
    total = sum(a.get("warning_count", len(a.get("warnings", []))) for a in areas)
    lines.append(f"  warnings: {total}" + (f" ({len(warnings)} listed)" if total > len(warnings) else ""))
    lines.extend(f"    {w}" for w in warnings)
    return "\n".join(lines)


def _checks(entry: dict) -> str:
    """A checking task's line (the reconciliation): the checks that found differences, or that
    both systems agree, and how many records were compared."""
    counts = entry["counts"]
    compared = sum(v for k, v in counts.items() if k.endswith("_compared"))
    checks = [k[: -len("_compared")] for k in counts if k.endswith("_compared")]
    found = {c: counts.get(c, 0) for c in checks if counts.get(c, 0)}
    verdict = ("differences: " + ", ".join(f"{c} {n}" for c, n in found.items()) if found
               else "both systems agree")
    return f"  {entry['area']}: {verdict} ({len(checks)} checks, {compared} records compared)"
