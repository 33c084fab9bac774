"""Warnings with an identity: new, standing and resolved (R-OPS-3).

A warning's identity is its area, its record (the key), the rule it names and its reason
(``identity``): the same problem found again is the same warning; a changed reason is a new
warning (the old one resolves). Each area keeps its open warnings in the sync state
(``SyncState.warnings``). After an area's load, ``track`` compares what the run found with what
was open:

- **new**: not open before this run (first seen in this run, also when a retried task of the
  same run finds it again);
- **standing**: open before and found again, or open and not looked at this run (its record was
  not read: it waits for a change, a retry or a person), with the time it was first seen;
- **resolved**: open before, and the area looked at its record again (``considered``: the keys
  of the records the area read) without finding it; an area that checks everything each run
  (the reconciliation, the migration) resolves every warning it did not find again.

Keys name records as the areas' outcomes do (``QB:12``, ``QB:12 contact``, ``006...``,
``QB:Invoice:7 line 3``); a warning is looked at when the first word of its key (``root``) is
among the considered keys, so a line's or a contact's warning resolves when its invoice or
customer is read again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sfqb.records import MAX_LISTED_WARNINGS

NEW, STANDING, RESOLVED = "new", "standing", "resolved"
STATES = (NEW, STANDING, RESOLVED)
RULE = re.compile(r"\bR-[A-Z]+-\d+\b")


def rule_of(reason: str) -> str:
    """The first rule ID a reason names (``R-ACC-9``), or ""."""
    found = RULE.search(reason or "")
    return found.group(0) if found else ""


def identity(entry: dict) -> str:
    """A short stable id of (area, key, rule, reason)."""
    text = "\x1f".join(
        (entry["area"], entry.get("key") or "", rule_of(entry["reason"]), entry["reason"])
    )
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def root(key: str | None) -> str:
    """The record a key belongs to: its first word (``QB:Invoice:7 line 3`` -> ``QB:Invoice:7``)."""
    return (key or "").split(" ", 1)[0]


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def track(
    found: list[dict],
    saved: dict | None,
    *,
    run_id: str,
    now: dt.datetime,
    considered: set[str] | None = None,
    complete: bool = False,
) -> tuple[dict, list[dict]]:
    """One area's warnings after a run (pure).

    Args:
        found: the warnings the run found (``outcomes.warning`` dicts).
        saved: the area's state before (``{"open": {id: entry}, "resolved": {id: entry}}``).
        considered: keys of the records the area looked at this run.
        complete: the area looked at everything (a warning not found again is resolved).
    Returns:
        (the state to save, every warning with ``state`` and ``since``: found ones, open ones not
        looked at (``checked`` False) and the ones resolved in this run).
    """
    saved = saved or {}
    before, resolved_before = dict(saved.get("open") or {}), dict(saved.get("resolved") or {})
    considered = considered or set()
    stamp = _iso(now)
    open_now: dict[str, dict] = {}
    for entry in found:
        wid = identity(entry)
        if wid in open_now:
            continue
        # Found again in the same run after it resolved (a retried task): it was open all along.
        earlier = before.get(wid) or (
            resolved_before.get(wid)
            if resolved_before.get(wid, {}).get("resolved_run") == run_id
            else None
        )
        kept = (
            {k: earlier[k] for k in ("first_seen", "first_run")}
            if earlier
            else {"first_seen": stamp, "first_run": run_id}
        )
        open_now[wid] = {
            **entry,
            "id": wid,
            "rule": rule_of(entry["reason"]),
            **kept,
            "last_seen": stamp,
            "last_run": run_id,
            "checked": True,
        }
    resolved: dict[str, dict] = {
        i: e
        for i, e in resolved_before.items()
        if e.get("resolved_run") == run_id and i not in open_now
    }
    for wid, entry in before.items():
        if wid in open_now:
            continue
        if complete or root(entry.get("key")) in considered:
            resolved[wid] = {**entry, "resolved_at": stamp, "resolved_run": run_id}
        else:
            open_now[wid] = {**entry, "checked": False}
    listed = [
        {**e, "state": NEW if e["first_run"] == run_id else STANDING, "since": e["first_seen"]}
        for e in open_now.values()
    ]
    listed += [{**e, "state": RESOLVED, "since": e["first_seen"]} for e in resolved.values()]
    state = {
        "open": {i: _stored(e) for i, e in open_now.items()},
        "resolved": {i: _stored(e) for i, e in resolved.items()},
    }
    return state, listed


def _stored(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in ("checked", "state", "since")}


def _order(entry: dict) -> tuple:
    return (
        STATES.index(entry["state"]),
        entry["since"],
        entry["area"],
        entry.get("key") or "",
        entry["reason"],
    )


def apply_to_report(report: dict, listed: list[dict]) -> dict:
    """The report as the summary carries it: ``warnings`` = the classified warnings, new first,
    then standing (oldest first), then resolved, at most ``MAX_LISTED_WARNINGS`` of each state;
    ``warning_counts`` per state; ``warning_count`` = the open ones (new + standing)."""
    counts = {s: sum(e["state"] == s for e in listed) for s in STATES}
    shown: list[dict] = []
    for state in STATES:
        shown += sorted((e for e in listed if e["state"] == state), key=_order)[
            :MAX_LISTED_WARNINGS
        ]
    out = {k: v for k, v in report.items() if k not in ("considered", "complete")}
    out["warnings"] = shown
    out["warning_counts"] = counts
    out["warning_count"] = counts[NEW] + counts[STANDING]
    return out


def totals(reports: list[dict]) -> dict[str, int]:
    """The warning counts per state over several area reports."""
    return {s: sum((r.get("warning_counts") or {}).get(s, 0) for r in reports) for s in STATES}
