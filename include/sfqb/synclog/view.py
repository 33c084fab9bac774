"""What the sync log shows of one run, as data (pure; R-OPS-2, R-OPS-3, R-GEN-6).

``run_view`` turns what the reader found of a DAG run (the run, its ``begin_run`` context, its
``summarize_run`` summary, its task instances) into the fields the page renders and the JSON API
returns: the header (state, start, duration), the time the run covered and the install date,
the counts per area and record type, every listed warning with its level, state and a link to
its record, a migration's dry run, and the failed or running tasks.

Record links: a warning's key names a record as the areas' outcomes do (``sfqb.outcomes``):
a Salesforce Id (``0065g00000000BcAAI``), ``QB:<Id>`` (a QuickBooks customer in the customers
area, an item in the items area), ``QB:<Entity>:<Id>`` (``QB:Invoice:61``, ``QB:Customer:7``),
each maybe followed by what inside the record it is about (``QB:12 contact``,
``QB:Invoice:7 line 3``). Only the first word names the record (``warning_state.root``); a key
that is a sentence (the reconciliation's ``QuickBooks customer 7: Accounts ...``) gets no link.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict
from urllib.parse import quote

from sfqb.notify import level_of
from sfqb.records import (
    ACTIONS,
    CREATED,
    DELETED,
    FAILED,
    RECOVERED,
    SF_INVOICE,
    SF_INVOICE_ITEM,
    SKIPPED,
    UPDATED,
)
from sfqb.report import check_verdict, record_rows, web_connector_line
from sfqb.warning_state import NEW, RESOLVED, STANDING, STATES, root, rule_of

DAG_IDS = ("sfqb_sync", "sfqb_invoice_migration")
SUMMARY_TASK = "summarize_run"
CONTEXT_TASK = "begin_run"
# The UI routes of the plugin's two views (plugins/sfqb_sync_log.py): the "Sync log" menu entry
# and the "Sync log" tab of a DAG run.
NAV_ROUTE = "sfqb-sync-log"
RUN_TAB_ROUTE = "sfqb-run-sync-log"

ALWAYS = (CREATED, UPDATED, SKIPPED, FAILED)
SOMETIMES = (RECOVERED, DELETED)
FINISHED = ("success", "failed", "skipped", "upstream_failed", "removed")
BUSY = ("running", "deferred", "up_for_retry", "up_for_reschedule", "restarting")
LEVELS = ("ERROR", "WARNING")
# A dry run's plan (``sfqb.steps.migration``) names its counts by what they are.
PLAN_RECORDS = {
    "invoices": SF_INVOICE,
    "items": SF_INVOICE_ITEM,
    "placeholders": "Salesforce Opportunity (placeholder)",
}
MIGRATION_FACTS = (
    ("invoices_read", "invoices read"),
    ("already_in_salesforce", "already in Salesforce"),
    ("invoices_written", "written"),
    ("quickbooks_count", "in QuickBooks"),
    ("salesforce_count", "in Salesforce"),
)

SALESFORCE_ID = re.compile(r"^(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
QUICKBOOKS_KEY = re.compile(r"^QB:(?:(?P<entity>[A-Za-z]+):)?(?P<id>\d+)$")
# A bare ``QB:<Id>`` names the area's own QuickBooks record.
QUICKBOOKS_AREA_ENTITY = {"customers": "Customer", "items": "Item"}
# The QuickBooks Online app's page of a record (items have no page of their own).
QUICKBOOKS_PAGES = {
    "Customer": "customerdetail?nameId=",
    "Invoice": "invoice?txnId=",
    "SalesReceipt": "salesreceipt?txnId=",
    "Estimate": "estimate?txnId=",
    "CreditMemo": "creditmemo?txnId=",
    "Payment": "recvpayment?txnId=",
}
QUICKBOOKS_APPS = {
    "production": "https://app.qbo.intuit.com/app",
    "sandbox": "https://app.sandbox.qbo.intuit.com/app",
}


class Links(TypedDict):
    """Where records open: the Salesforce org's URL (``https://acme.my.salesforce.com``) and the
    QuickBooks Online app (production or sandbox); None: no links into that system."""

    salesforce: str | None
    quickbooks: str | None


NO_LINKS: Links = {"salesforce": None, "quickbooks": None}


# --- links -----------------------------------------------------------------------------------


def _extra(extra: Mapping[str, Any], name: str, provider: str) -> str:
    value = extra.get(name) or extra.get(f"extra__{provider}__{name}") or ""
    return str(value).strip()


def salesforce_base(host: str | None, extra: Mapping[str, Any]) -> str | None:
    """The org's URL from the Salesforce connection: its ``instance_url`` or ``instance``
    extra, its host, or a My Domain ``domain`` extra (``acme.my`` ->
    ``https://acme.my.salesforce.com``); None when the connection does not say (``login`` and
    ``test`` name the login server, not the org)."""
    url = _extra(extra, "instance_url", "salesforce")
    if not url:
        instance = _extra(extra, "instance", "salesforce") or (host or "").strip()
        domain = _extra(extra, "domain", "salesforce")
        if instance:
            url = instance
        elif re.fullmatch(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.my", domain):
            url = f"{domain}.salesforce.com"
    if not url:
        return None
    if "://" not in url:
        url = f"https://{url}"
    return url.rstrip("/") if url.startswith("https://") else None


def quickbooks_base(extra: Mapping[str, Any]) -> str | None:
    """The QuickBooks Online app for the connection's ``environment`` extra (production by
    default, or Intuit's sandbox); None for any other environment (the local sandbox has no
    app)."""
    environment = _extra(extra, "environment", "quickbooks") or "production"
    return QUICKBOOKS_APPS.get(environment)


def record_ref(area: str, key: str | None) -> tuple[str, str, str] | None:
    """(system, entity, Id) of the record a warning's key names, or None (see the module
    docstring): ``("quickbooks", "Invoice", "61")``, ``("salesforce", "", "0065g...")``."""
    first = root(key)
    if not first:
        return None
    found = QUICKBOOKS_KEY.match(first)
    if found:
        entity = found["entity"] or QUICKBOOKS_AREA_ENTITY.get(area)
        return ("quickbooks", entity, found["id"]) if entity else None
    if SALESFORCE_ID.match(first):
        return ("salesforce", "", first)
    return None


def record_url(area: str, key: str | None, links: Links) -> str | None:
    """The record's page in Salesforce (Lightning) or the QuickBooks Online app, or None."""
    ref = record_ref(area, key)
    if ref is None:
        return None
    system, entity, record_id = ref
    if system == "salesforce":
        base = links["salesforce"]
        return f"{base}/lightning/r/{record_id}/view" if base else None
    page = QUICKBOOKS_PAGES.get(entity)
    base = links["quickbooks"]
    return f"{base}/{page}{record_id}" if base and page else None


def _path(*parts: str) -> str:
    return "/".join(quote(str(p), safe="") for p in parts)


def ui_run_url(ui_base: str, dag_id: str, run_id: str) -> str:
    """The DAG run's page in the Airflow UI."""
    return f"{ui_base}/{_path('dags', dag_id, 'runs', run_id)}"


def ui_sync_log_url(ui_base: str, dag_id: str, run_id: str) -> str:
    """The DAG run's "Sync log" tab in the Airflow UI."""
    return f"{ui_run_url(ui_base, dag_id, run_id)}/plugin/{RUN_TAB_ROUTE}"


def ui_task_log_url(
    ui_base: str, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
) -> str:
    """The task instance's log in the Airflow UI (its default tab), at ``try_number``."""
    url = f"{ui_run_url(ui_base, dag_id, run_id)}/{_path('tasks', task_id)}"
    if map_index >= 0:
        url += f"/mapped/{map_index}"
    return f"{url}?try_number={try_number}" if try_number else url


# --- times -----------------------------------------------------------------------------------


def instant(value: Any) -> dt.datetime | None:
    """An aware datetime from an ISO string or a datetime (naive ones are UTC), else None."""
    if value is None or value == "":
        return None
    if not isinstance(value, dt.datetime):
        try:
            value = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iso(value: Any) -> str | None:
    """An instant as ISO text to the second (what the page's ``<time datetime>`` carries)."""
    when = instant(value)
    return when.astimezone(dt.UTC).isoformat(timespec="seconds") if when else None


def readable(value: Any) -> str:
    """``2026-12-06 10:00 UTC``: no seconds, no microseconds (the page shows it in the
    browser's or the Airflow UI's time zone; this is the text before it does, and the JSON)."""
    when = instant(value)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if when else ""


def duration(seconds: float | None) -> str:
    """``45 s``, ``3 min``, ``2 h 5 min``, ``3 d 4 h``."""
    if seconds is None:
        return ""
    total = max(int(seconds), 0)
    if total < 60:
        return f"{total} s"
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 3600:
        return f"{minutes} min"
    if total < 86400:
        rest = minutes - hours * 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours - days * 24
    return f"{days} d {rest} h" if rest else f"{days} d"


# --- one run ---------------------------------------------------------------------------------


def window_view(run: Mapping[str, Any]) -> dict[str, Any]:
    """The time the run covered and the install date, from its summary, else from its
    ``begin_run`` context, else from the DAG run; ``before_install``: ``"all"`` when a
    backfill's interval ends at or before the install date (the run read nothing), ``"part"``
    when it starts before it (R-GEN-6: nothing before the install date is synced)."""
    summary = run.get("summary") or {}
    context = run.get("context") or {}

    def pick(name: str) -> Any:
        for source in (summary, context, run):
            if source.get(name):
                return source[name]
        return None

    start, end = instant(pick("data_interval_start")), instant(pick("data_interval_end"))
    install = instant(pick("install_date"))
    backfill = bool(summary.get("backfill") or context.get("backfill")) or (
        str(run.get("run_type")) == "backfill"
    )
    before = None
    if backfill and install and end and end <= install:
        before = "all"
    elif backfill and install and start and start < install:
        before = "part"
    areas = [
        {"area": a["area"], "stream": stream, **(window or {"start": None, "end": None})}
        for a in summary.get("areas") or []
        for stream, window in (a.get("windows") or {}).items()
    ]
    return {
        "upper_bound": iso(pick("upper_bound")),
        "backfill": backfill,
        "data_interval_start": iso(start),
        "data_interval_end": iso(end),
        "install_date": iso(install),
        "before_install": before,
        "areas": areas,
    }


def _columns(rows: list[dict]) -> list[str]:
    present = {c for r in rows for c, n in r["counts"].items() if n or c not in SOMETIMES}
    known = [c for c in ACTIONS if c in ALWAYS or c in present]
    return known + sorted(present - set(ACTIONS))


def counts_view(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Rows of (area, record type, counts) for the areas that write, the columns the summary
    has (created, updated, skipped, failed always; recovered and deleted when any; any other
    count it carries), and one line per checking area (the reconciliation)."""
    areas = summary.get("areas") or []
    rows = [
        {"area": a["area"], "record": record, "counts": dict(counts)}
        for a in areas
        if "counts" not in a
        for record, counts in record_rows(a)
    ]
    idle = [a["area"] for a in areas if "counts" not in a and not record_rows(a)]
    checks = [{"area": a["area"], "verdict": check_verdict(a)} for a in areas if "counts" in a]
    return {"columns": _columns(rows), "rows": rows, "idle_areas": idle, "checks": checks}


def warning_rows(summary: Mapping[str, Any], links: Links) -> list[dict[str, Any]]:
    """Every listed warning of the summary as a row: area, key, link, rule, reason, level,
    state (new, standing since a run, resolved) and when it was first seen."""
    rows = []
    for area in summary.get("areas") or []:
        for entry in area.get("warnings") or []:
            if isinstance(entry, str):  # a summary from before warnings had a state
                rows.append(
                    {
                        "area": area["area"],
                        "key": "",
                        "url": None,
                        "rule": rule_of(entry),
                        "reason": entry,
                        "level": "WARNING",
                        "state": "",
                        "since": None,
                        "since_run": None,
                        "checked": True,
                    }
                )
                continue
            name = entry.get("area") or area["area"]
            rows.append(
                {
                    "area": name,
                    "key": entry.get("key") or "",
                    "url": record_url(name, entry.get("key"), links),
                    "rule": entry.get("rule") or rule_of(entry.get("reason", "")),
                    "reason": entry.get("reason", ""),
                    "level": level_of(entry),
                    "state": entry.get("state", NEW),
                    "since": iso(entry.get("since")),
                    "since_run": entry.get("first_run"),
                    "checked": entry.get("checked", True),
                }
            )
    return rows


def warning_totals(summary: Mapping[str, Any]) -> dict[str, int]:
    """New, standing and resolved warnings of the run: the true counts (the lists are capped)."""
    if summary.get("warning_counts"):
        return {s: int(summary["warning_counts"].get(s, 0)) for s in STATES}
    return {
        s: sum((a.get("warning_counts") or {}).get(s, 0) for a in summary.get("areas") or [])
        for s in STATES
    }


def dry_run_view(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """A migration's dry run: what it would have written per record type, or None. The summary's
    own ``dry_run`` / ``would_write`` come first, then the migration report's (its ``plan``)."""
    areas = summary.get("areas") or []
    if not (summary.get("dry_run") or any(a.get("dry_run") for a in areas)):
        return None
    would: dict[str, int] = dict(summary.get("would_write") or {})
    if not would:
        for area in areas:
            for record, n in (area.get("would_write") or {}).items():
                would[record] = would.get(record, 0) + int(n)
    if not would:
        for area in areas:
            for name, n in (area.get("plan") or {}).items():
                record = PLAN_RECORDS.get(name, name)
                would[record] = would.get(record, 0) + int(n)
    return {"would_write": would}


def migration_view(summary: Mapping[str, Any], dry_run: bool) -> list[dict[str, Any]]:
    """The migration's own facts (invoices read, already in Salesforce, written, the two
    systems' counts) and its message (a second trigger that skips, says why)."""
    out = []
    for area in summary.get("areas") or []:
        facts = [
            {"name": label, "value": int(area[name])}
            for name, label in MIGRATION_FACTS
            if name in area and not (dry_run and name == "invoices_written")
        ]
        if facts or area.get("message"):
            out.append({"area": area["area"], "facts": facts, "message": area.get("message")})
    return out


def progress_view(
    run: Mapping[str, Any], *, ui_base: str = "", keep_errors: int = 5
) -> dict[str, Any]:
    """From the run's task instances: how many are done of how many, the ones running (or
    waiting to retry), and each failed one with its try, its log in the Airflow UI and the last
    ERROR lines the reader found in its log."""
    tis = list(run.get("task_instances") or [])
    failed = [
        {
            "task_id": ti["task_id"],
            "map_index": ti.get("map_index", -1),
            "try_number": ti.get("try_number") or 0,
            "ended": iso(ti.get("end_date")),
            "log_url": ui_task_log_url(
                ui_base,
                run["dag_id"],
                run["run_id"],
                ti["task_id"],
                ti.get("map_index", -1),
                ti.get("try_number") or 0,
            ),
            "errors": list(ti.get("errors") or [])[-keep_errors:],
        }
        for ti in tis
        if ti.get("state") == "failed"
    ]
    busy = [
        {"task_id": ti["task_id"], "map_index": ti.get("map_index", -1), "state": ti["state"]}
        for ti in tis
        if ti.get("state") in BUSY
    ]
    return {
        "total": len(tis),
        "done": sum(ti.get("state") in FINISHED for ti in tis),
        "busy": busy,
        "failed": failed,
        "upstream_failed": sum(ti.get("state") == "upstream_failed" for ti in tis),
    }


def web_connector_view(summary: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Desktop run's Web Connector (R-QBD-8): the sentence, and whether a session of the run
    ended on an error; None for an Online run."""
    status = summary.get("web_connector")
    if status is None:
        return None
    return {
        "text": web_connector_line(status),
        "errors": len(status.get("errors") or []) + ("unreadable" in status),
    }


def run_view(
    run: Mapping[str, Any], *, links: Links = NO_LINKS, now: dt.datetime, ui_base: str = ""
) -> dict[str, Any]:
    """Everything the page shows of one run (see the module docstring); JSON-ready."""
    summary = run.get("summary") or {}
    start, end = instant(run.get("start_date")), instant(run.get("end_date"))
    state = str(run.get("state") or "")
    running = end is None and state in ("running", "queued")
    seconds = ((end or now) - start).total_seconds() if start else None
    dry_run = dry_run_view(summary)
    return {
        "dag_id": run["dag_id"],
        "run_id": run["run_id"],
        "run_type": str(run.get("run_type") or ""),
        "state": state,
        "running": running,
        "start": iso(start),
        "end": iso(end),
        "duration_seconds": None if seconds is None else int(seconds),
        "note": run.get("note"),
        "has_summary": bool(summary),
        "scope": summary.get("scope"),
        "window": window_view(run),
        "counts": counts_view(summary),
        "warning_totals": warning_totals(summary),
        "warnings": warning_rows(summary, links),
        "dry_run": dry_run,
        "migration": migration_view(summary, dry_run is not None),
        "web_connector": web_connector_view(summary),
        "progress": progress_view(run, ui_base=ui_base),
        "ui_url": ui_run_url(ui_base, run["dag_id"], run["run_id"]),
        "ui_sync_log_url": ui_sync_log_url(ui_base, run["dag_id"], run["run_id"]),
    }


def areas_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The areas of the warning rows, in their first order (the filter's choices)."""
    return list(dict.fromkeys(r["area"] for r in rows))


STATE_ORDER = {NEW: 0, STANDING: 1, RESOLVED: 2, "": 3}
LEVEL_ORDER = {"ERROR": 0, "WARNING": 1}
