"""The run summary: what every area of a run did, as data and as text (R-OPS-2, R-GEN-11,
R-OPS-3).

Counts are per area and record type (a Salesforce Account and a QuickBooks Customer are never
added up); warnings are listed by state: new in this run, standing (open since a time: the
record waits for a person, a change or a retry) and resolved in this run.
"""

from __future__ import annotations

from sfqb.records import (
    CREATED,
    DELETED,
    FAILED,
    RECOVERED,
    SF_INVOICE,
    SF_INVOICE_ITEM,
    SF_INVOICE_LINK,
    SF_OPPORTUNITY,
    SKIPPED,
    UPDATED,
    warning_line,
)
from sfqb.warning_state import NEW, RESOLVED, STANDING, STATES

ALWAYS = (CREATED, UPDATED, SKIPPED, FAILED)
# Shown only when a run has any: most runs neither adopt an interrupted write nor delete.
SOMETIMES = (RECOVERED, DELETED)
HEADINGS = {NEW: "new", STANDING: "standing", RESOLVED: "resolved in this run"}
# What a dry run would write, in words: (one, many); always listed first, the rest when any.
WOULD_WRITE_WORDS = {
    SF_INVOICE: ("invoice", "invoices"),
    SF_INVOICE_ITEM: ("item", "items"),
    SF_OPPORTUNITY: ("placeholder opportunity", "placeholder opportunities"),
    SF_INVOICE_LINK: ("invoice-opportunity link", "invoice-opportunity links"),
}
ALWAYS_LISTED = (SF_INVOICE, SF_INVOICE_ITEM)


def dry_run_line(would_write: dict[str, int]) -> str:
    """A dry run's outcome in one line: ``dry run: nothing written; would write 343 invoices,
    667 items, 343 placeholder opportunities`` (record types with none left out, invoices and
    items always there)."""
    parts = []
    for record, n in would_write.items():
        if n or record in ALWAYS_LISTED:
            one, many = WOULD_WRITE_WORDS.get(record, (record, f"{record} records"))
            parts.append(f"{n} {one if n == 1 else many}")
    return "dry run: nothing written; would write " + (", ".join(parts) or "nothing")


def _columns(areas: list[dict]) -> list[str]:
    used = {
        a
        for area in areas
        for counts in (area.get("records") or {}).values()
        for a, n in counts.items()
        if n
    }
    wanted = set(ALWAYS) | (used & set(SOMETIMES))
    return [c for c in (CREATED, UPDATED, RECOVERED, DELETED, SKIPPED, FAILED) if c in wanted]


def record_rows(area: dict) -> list[tuple[str, dict]]:
    """(record type, counts) of an area; an old-style report (counts per area) as one row."""
    if "records" in area:
        return list(area["records"].items())
    if any(c in area for c in ALWAYS):
        return [("records", {c: area.get(c, 0) for c in ALWAYS})]
    return []


def web_connector_line(status: dict) -> str:
    """One sentence on the Web Connector during a Desktop run (R-QBD-8)."""
    if "unreadable" in status:
        return f"Web Connector: its sessions could not be read ({status['unreadable']})"
    last = status.get("last_poll")
    text = (
        f"Web Connector: last polled {last[:19].replace('T', ' ')} UTC"
        if last
        else ("Web Connector: never polled")
    )
    worked, idle = status.get("sessions", 0), status.get("idle_polls", 0)
    text += f"; {worked} session{'' if worked == 1 else 's'} with work during the run"
    if idle:
        text += f" ({idle} idle poll{'' if idle == 1 else 's'})"
    errors = status.get("errors") or []
    if errors:
        newest = errors[0]
        text += f", {len(errors)} ended on an error (newest: {newest['error']})"
    clock = status.get("pc_clock") or {}
    if clock.get("warning"):
        text += f"; {clock['warning']}"
    return text


def format_summary(summary: dict, *, with_warnings: bool = True) -> str:
    """Render a run summary (what ``summarize_run`` returns) as plain text (``with_warnings``
    False: the counts only)."""
    lines = [f"sfqb run {summary.get('run_id')} (upper bound {summary.get('upper_bound')})"]
    if summary.get("scope"):
        lines.append(f"  {summary['scope']}")
    if summary.get("web_connector") is not None:
        lines.append(f"  {web_connector_line(summary['web_connector'])}")
    areas = summary.get("areas") or []
    if not areas:
        lines.append("  no sync areas are installed yet: nothing was read or written")
        return "\n".join(lines)
    syncing = [a for a in areas if "counts" not in a]
    columns = _columns(syncing)
    rows = [
        (a["area"], record, counts)
        for a in syncing
        for record, counts in (record_rows(a) or [("-", {})])
    ]
    area_width = max(len("area"), *(len(a) for a, _, _ in rows)) if rows else len("area")
    record_width = max(len("record"), *(len(r) for _, r, _ in rows)) if rows else len("record")
    lines.append(
        "  "
        + "area".ljust(area_width)
        + "  "
        + "record".ljust(record_width)
        + "".join(f"{c:>10}" for c in columns)
    )
    last = None
    for area, record, counts in rows:
        label = area if area != last else ""
        last = area
        if record == "-":
            lines.append("  " + label.ljust(area_width) + "  nothing to write")
            continue
        lines.append(
            "  "
            + label.ljust(area_width)
            + "  "
            + record.ljust(record_width)
            + "".join(f"{counts.get(c, 0):>10}" for c in columns)
        )
    lines.extend(
        f"  {a['area']}: {dry_run_line(a.get('would_write') or {})}"
        for a in syncing
        if a.get("dry_run")
    )
    lines.extend(_checks(a) for a in areas if "counts" in a)
    if with_warnings:
        lines.extend(_warnings(areas))
    return "\n".join(lines)


def _warnings(areas: list[dict]) -> list[str]:
    """The warnings block: totals per state, then each listed warning under its state."""
    listed = [w for a in areas for w in a.get("warnings", [])]
    if any(isinstance(w, str) for w in listed):  # a summary made before warnings had a state
        total = sum(a.get("warning_count", len(a.get("warnings", []))) for a in areas)
        return [f"  warnings: {total}", *(f"    {w}" for w in listed)]
    counts = {s: sum((a.get("warning_counts") or {}).get(s, 0) for a in areas) for s in STATES}
    if not any(counts.values()):
        return ["  warnings: none"]
    shown = {s: [w for w in listed if w.get("state", NEW) == s] for s in STATES}
    out = ["  warnings: " + ", ".join(f"{counts[s]} {s}" for s in STATES)]
    for state in STATES:
        if not counts[state]:
            continue
        more = counts[state] - len(shown[state])
        out.append(
            f"    {HEADINGS[state]}:" + (f" ({len(shown[state])} listed)" if more > 0 else "")
        )
        out.extend(f"      {warning_line(w)}{_since(w)}" for w in shown[state])
    return out


def _since(entry: dict) -> str:
    state, since = entry.get("state"), (entry.get("since") or "")[:16].replace("T", " ")
    if state == STANDING and since:
        checked = "" if entry.get("checked", True) else "; not looked at again in this run"
        return f" (since {since} UTC{checked})"
    if state == RESOLVED and since:
        return f" (open since {since} UTC)"
    return ""


def _checks(entry: dict) -> str:
    return f"  {entry['area']}: {check_verdict(entry)}"


def check_verdict(entry: dict) -> str:
    """A checking task's result (the reconciliation): the checks that found differences, or that
    both systems agree, and how many records were compared."""
    counts = entry["counts"]
    compared = sum(v for k, v in counts.items() if k.endswith("_compared"))
    checks = [k[: -len("_compared")] for k in counts if k.endswith("_compared")]
    found = {c: counts.get(c, 0) for c in checks if counts.get(c, 0)}
    verdict = (
        "differences: " + ", ".join(f"{c} {n}" for c, n in found.items())
        if found
        else "both systems agree"
    )
    return f"{verdict} ({len(checks)} checks, {compared} records compared)"
