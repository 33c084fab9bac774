"""The historical invoice migration's I/O steps (docs/rules.md section 6, R-MIG-1..4).

One implementation of the invoice rules, two DAGs: every chunk goes through the invoices area's
transform and load (``sfqb.steps.invoices``: frames, Salesforce read, ``plan_extracted``,
``load``) with ``link_opportunities=False`` (R-MIG-2). What is the migration's own:

- ``prepare``: the run's settings (trigger params over preferences), whether it already ran
  (R-MIG-3), how many invoices are dated on or after the migration date, and where to start
  (an interrupted migration resumes).
- ``migrate``: pages of up to 1000 invoices (STARTPOSITION/MAXRESULTS, ordered by creation
  time so that invoices made during the migration come last), each planned and loaded as one
  chunk, with a progress line per chunk and the position saved after it; invoices already in
  Salesforce are skipped; the plan's per-record notes become one warning per reason (one per
  missing Product, R-MIG-4). A dry run plans every chunk and writes nothing, not even state.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from collections.abc import Iterable

import pandas as pd

from sfqb import qbo_queries as q
from sfqb import soql
from sfqb.areas import invoices as rules
from sfqb.areas import migration as mig
from sfqb.hooks.interface import QuickBooks
from sfqb.outcomes import (
    CHECK_KIND,
    SF_INVOICE,
    SF_INVOICE_ITEM,
    SF_INVOICE_LINK,
    SF_OPPORTUNITY,
    SKIPPED,
    empty_skips,
    merge_counts,
    warning,
    warning_line,
)
from sfqb.run_params import RunContext
from sfqb.steps import invoices as invoice_steps
from sfqb.steps.common import preferences, quickbooks_hook, salesforce_hook, sync_state

log = logging.getLogger(__name__)

ORDER = "MetaData.CreateTime"
# Invoice__c keeps the QuickBooks TxnDate here (the end-of-run count compares the two systems).
SF_DATE = "Invoice_Date__c"
SKIP, RETRY, MIGRATE = "skip", "retry", "migrate"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _date_condition(settings: mig.MigrationSettings) -> str:
    return q.condition("TxnDate", ">=", settings.migration_date)


def prepare(
    run: RunContext, params: dict | None, *, qb: QuickBooks | None = None, state=None
) -> dict:
    """Resolve the settings and decide what this run does: ``skip`` (already ran), ``retry``
    (it ran, some invoices failed: read those again) or ``migrate``. Where a migration starts
    is ``migrate``'s to decide from the saved progress, so a retried task resumes too.

    Raises:
        MigrationConfigError: a missing or bad setting, named.
    """
    settings = mig.resolve_settings(preferences(run), params)
    state = state or sync_state()
    saved = state.migration()
    prepared = {
        "settings": settings.as_json(),
        "action": MIGRATE,
        "total": 0,
        "retry_ids": [],
        "message": "",
    }
    message = mig.already_ran(saved)
    if message:
        log.info("%s", message)
        return {**prepared, "action": SKIP, "message": message}
    if saved and saved.get("status") == mig.DONE:
        ids = [str(i) for i in saved["failed"]]
        log.info(
            "migration: it ran (run %s); %d invoices failed then and are read again now",
            saved.get("run_id"),
            len(ids),
        )
        return {**prepared, "action": RETRY, "retry_ids": ids, "total": len(ids)}
    qb = qb or quickbooks_hook(run)
    total = qb.count(rules.ENTITY, [_date_condition(settings)])
    log.info(
        "migration: %d QuickBooks invoices dated on or after %s%s",
        total,
        settings.migration_date.isoformat(),
        " (dry run: nothing is written)" if settings.dry_run else "",
    )
    return {**prepared, "total": total}


def _incomplete(
    extracted: invoice_steps.Inputs, existing: set[str], create_missing: bool
) -> set[str]:
    """Invoices already in Salesforce that an interrupted chunk left half-written: a sales line
    without its Invoice_Item__c, or (with placeholders on) no opportunity link yet."""
    sales = extracted["lines"][extracted["lines"]["DetailType"] == rules.SALES_LINE]
    sales = sales[sales["TxnId"].astype(str).isin(existing)]
    have = set(extracted["sf_items"][rules.EXT_ITEM].dropna().astype(str))
    wanted = [
        rules.item_external_id(t, i) for t, i in zip(sales["TxnId"], sales["Id"], strict=True)
    ]
    out = {str(t) for t, ext in zip(sales["TxnId"], wanted, strict=True) if ext not in have}
    if create_missing:
        parent_of = dict(
            zip(
                extracted["sf_invoices"]["Id"].astype(str),
                extracted["sf_invoices"][rules.EXT_INVOICE].astype(str),
                strict=True,
            )
        )
        linked = {parent_of.get(str(p)) for p in extracted["sf_links"]["Invoice__c"].dropna()}
        out |= existing - linked
    return out


def _chunk(
    run: RunContext,
    records: list[dict],
    settings: mig.MigrationSettings,
    sf,
    qb: QuickBooks,
    *,
    resumed: bool,
) -> dict:
    """Plan (and unless a dry run, load) one chunk; returns its counts, notes and failures."""
    extracted = invoice_steps.inputs(records, sf)
    ids = set(extracted["invoices"]["Id"].astype(str))
    existing = set(extracted["sf_invoices"][rules.EXT_INVOICE].dropna().astype(str)) & ids
    if resumed and existing:
        redo = _incomplete(extracted, existing, settings.create_missing_opportunities)
        if redo:
            log.info(
                "migration: %d invoices an interrupted run left half-written are completed: %s",
                len(redo),
                ", ".join(sorted(redo)[: mig.SAMPLE_KEYS]),
            )
        existing -= redo
    # A project's invoices take its nearest ancestor's Account (R-INV-7): the chains of the
    # customers without an Account, read for the invoices this chunk writes only.
    planned = invoice_steps.plan_extracted(
        invoice_steps.read_billing(qb, sf, mig.without_existing(extracted, existing)),
        create_missing_opportunities=settings.create_missing_opportunities,
        link_opportunities=False,
    )
    notes = planned["notes"]
    result = {
        "read": len(records),
        "existing": len(existing),
        "notes": notes,
        "invoices": len(planned["invoices"]),
        "items": len(planned["item_creates"]) + len(planned["item_updates"]),
        "placeholders": len(planned["placeholders"]),
        "links": len(planned["links"]),
        "failed_ids": set(),
        "report": None,
    }
    if settings.dry_run:
        return result
    planned["notes"] = empty_skips()  # reported once per reason at the end, not per line
    report = invoice_steps.load(run, planned, sf=sf)
    waiting = set(planned["retry"])
    result["failed_ids"] = set(report["retry"][rules.INVOICE_STREAM]) - waiting
    result["report"] = report
    return result


def _pages(qb: QuickBooks, settings: mig.MigrationSettings, start: int):
    """(position, records) chunks of the invoices dated on or after the migration date: the
    hook's paging from ``start``, one page per chunk."""
    rows = qb.query_all(
        rules.ENTITY,
        [_date_condition(settings)],
        order_by=ORDER,
        page_size=settings.chunk_size,
        start_position=start,
    )
    position = start
    while records := list(itertools.islice(rows, settings.chunk_size)):
        yield position, records
        position += len(records)


def _sf_count(sf, settings: mig.MigrationSettings) -> int:
    where = soql.compare(SF_DATE, ">=", settings.migration_date)
    return sf.count("Invoice__c", [where])


def migrate(
    run: RunContext, prepared: dict, *, sf=None, qb: QuickBooks | None = None, state=None
) -> dict:
    """Migrate what ``prepare`` decided; returns the run report (JSON) for the summary."""
    settings = mig.MigrationSettings.from_json(prepared["settings"])
    report = _empty_report(settings, prepared)
    if prepared["action"] == SKIP:
        report["message"] = prepared["message"]
        return report
    state = state or sync_state()
    sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
    saved = state.migration() or {}
    start, resume_until = _where_to_start(saved, settings, prepared)
    progress = _starting_progress(run, settings, prepared, saved, start)
    pages, chunks = _chunks_to_read(qb, settings, prepared, start, progress, state)
    failed, notes, planned_counts = _migrate_chunks(
        run,
        prepared,
        settings,
        pages,
        sf=sf,
        qb=qb,
        state=state,
        chunks=chunks,
        start=start,
        resume_until=resume_until,
        report=report,
        progress=progress,
    )
    _add_grouped_warnings(report, notes)
    if settings.dry_run:
        _report_dry_run(report, planned_counts)
        return report
    _finish(qb, sf, state, settings, prepared, progress, failed, report)
    return report


def _empty_report(settings: mig.MigrationSettings, prepared: dict) -> dict:
    """The run report before any chunk: what the summary shows of a migration (R-MIG-1)."""
    return {
        "area": mig.AREA,
        "records": {},
        "warning_count": 0,
        "warnings": [],
        "dry_run": settings.dry_run,
        "would_write": {},  # a dry run's: Salesforce record type -> how many it would write
        "action": prepared["action"],
        "invoices_read": 0,
        "already_in_salesforce": 0,
        "invoices_written": 0,
    }


def _where_to_start(
    saved: dict, settings: mig.MigrationSettings, prepared: dict
) -> tuple[int, int]:
    """(first position, position before which chunks count as resumed): an interrupted
    migration resumes where its saved progress ends (R-MIG-3)."""
    start, resume_until = 1, 1
    if prepared["action"] == MIGRATE:
        start, why = mig.start_position(saved, settings)
        if mig.resuming(saved, settings):
            resume_until = int(saved.get("next_position") or 1) + settings.chunk_size
        log.info("migration: %s", why)
    return start, resume_until


def _starting_progress(
    run: RunContext, settings: mig.MigrationSettings, prepared: dict, saved: dict, start: int
) -> dict:
    """The progress record this run saves, carrying on the counts of an interrupted run of the
    same migration date (R-MIG-3)."""
    carried = saved if saved.get("migration_date") == settings.migration_date.isoformat() else {}
    progress = {
        "status": mig.RUNNING,
        **settings.as_json(),
        "run_id": run["run_id"],
        "started_at": carried.get("started_at") or _now(),
        "total": prepared["total"],
        "chunks_done": int(carried.get("chunks_done") or 0),
        "migrated": int(carried.get("migrated") or 0),
        "already_in_salesforce": int(carried.get("already_in_salesforce") or 0),
        "next_position": start,
        "failed": [],
    }
    progress.pop("dry_run")
    return progress


def _chunks_to_read(
    qb: QuickBooks,
    settings: mig.MigrationSettings,
    prepared: dict,
    start: int,
    progress: dict,
    state,
) -> tuple[Iterable[tuple[int, list[dict]]], int]:
    """(pages, how many chunks): a retry reads the invoices that failed last time as one chunk;
    a migration pages from ``start`` and saves that it is running, unless a dry run (R-MIG-4)."""
    if prepared["action"] == RETRY:
        progress["status"] = mig.DONE
        pages = [(0, list(qb.query_in(rules.ENTITY, "Id", prepared["retry_ids"])))]
        chunks = 1
    else:
        pages = _pages(qb, settings, start)
        chunks = mig.chunk_count(prepared["total"], start, settings.chunk_size)
        if not settings.dry_run:
            progress["updated_at"] = _now()
            state.save_migration(progress)
    return pages, chunks


def _migrate_chunks(
    run: RunContext,
    prepared: dict,
    settings: mig.MigrationSettings,
    pages: Iterable[tuple[int, list[dict]]],
    *,
    sf,
    qb: QuickBooks,
    state,
    chunks: int,
    start: int,
    resume_until: int,
    report: dict,
    progress: dict,
) -> tuple[set[str], list[pd.DataFrame], dict]:
    """Plan and load each page as one chunk, with a progress line per chunk (R-MIG-4); returns
    the failed invoices, the plans' notes and the planned counts."""
    failed: set[str] = set()
    notes: list[pd.DataFrame] = []
    planned_counts = {"invoices": 0, "items": 0, "placeholders": 0, "links": 0}
    started = time.monotonic()
    done = start - 1
    for n, (position, records) in enumerate(pages, start=1):
        resumed = prepared["action"] == RETRY or position < resume_until
        chunk = _chunk(run, records, settings, sf, qb, resumed=resumed)
        notes.append(chunk["notes"])
        done += chunk["read"]
        report["invoices_read"] += chunk["read"]
        report["already_in_salesforce"] += chunk["existing"]
        merge_counts(report["records"], {SF_INVOICE: {SKIPPED: chunk["existing"]}})
        for key in planned_counts:
            planned_counts[key] += chunk[key]
        if chunk["report"]:
            _record_loaded_chunk(chunk, position, failed, report, progress, state)
        log.info(
            "%s",
            mig.progress_line(
                chunk=n,
                chunks=max(chunks, n),
                records=chunk["read"],
                written=chunk["invoices"]
                if settings.dry_run
                else chunk["invoices"] - len(chunk["failed_ids"]),
                skipped=chunk["existing"],
                done=done,
                total=max(prepared["total"], done),
                elapsed=time.monotonic() - started,
                read_here=report["invoices_read"],
                dry_run=settings.dry_run,
            ),
        )
    return failed, notes, planned_counts


def _record_loaded_chunk(
    chunk: dict, position: int, failed: set[str], report: dict, progress: dict, state
) -> None:
    """Add a loaded chunk to the report and save the position after it, so an interrupted
    migration resumes there (R-MIG-3)."""
    merge_counts(report["records"], chunk["report"]["records"])
    report["warnings"] += chunk["report"]["warnings"]
    report["warning_count"] += chunk["report"]["warning_count"]
    failed.update(chunk["failed_ids"])
    written = chunk["invoices"] - len(chunk["failed_ids"])
    report["invoices_written"] += written
    progress["migrated"] += written
    progress["already_in_salesforce"] += chunk["existing"]
    progress["chunks_done"] += 1
    if position:
        progress["next_position"] = position + chunk["read"]
    progress["failed"] = sorted(failed)
    progress["updated_at"] = _now()
    state.save_migration(progress)


def _add_grouped_warnings(report: dict, notes: list[pd.DataFrame]) -> None:
    """The chunks' per-record notes as one warning per reason, one per missing Product,
    logged and put first in the report (R-MIG-4)."""
    grouped = mig.grouped_warnings(pd.concat(notes, ignore_index=True) if notes else None)
    for entry in grouped:
        log.warning("%s", warning_line(entry))
    report["warnings"] = grouped + report["warnings"]
    report["warning_count"] += len(grouped)


def _report_dry_run(report: dict, planned_counts: dict) -> None:
    """What a dry run would write, per Salesforce record type, in the report (``would_write``:
    the sync log shows it beside ``dry_run``) and in one log line (R-MIG-1)."""
    from sfqb.report import dry_run_line

    report["would_write"] = {
        SF_INVOICE: planned_counts["invoices"],
        SF_INVOICE_ITEM: planned_counts["items"],
        SF_OPPORTUNITY: planned_counts["placeholders"],
        SF_INVOICE_LINK: planned_counts["links"],
    }
    log.info(
        "migration: %s; %d of the %d invoices read are already in Salesforce",
        dry_run_line(report["would_write"]),
        report["already_in_salesforce"],
        report["invoices_read"],
    )


def _finish(
    qb: QuickBooks,
    sf,
    state,
    settings: mig.MigrationSettings,
    prepared: dict,
    progress: dict,
    failed: set[str],
    report: dict,
) -> None:
    """Save the migration as done, so a second trigger skips it (R-MIG-3), compare the two
    systems' counts after a migration, and log what was written and what failed."""
    progress.update(status=mig.DONE, finished_at=_now(), failed=sorted(failed))
    state.save_migration(progress)
    if prepared["action"] == MIGRATE:
        _check_counts(qb, sf, settings, failed, report)
    log.info(
        "migration: done: %d invoices written, %d already in Salesforce, %d failed%s",
        report["invoices_written"],
        report["already_in_salesforce"],
        len(failed),
        f" (trigger the migration again to retry them: {', '.join(sorted(failed)[:10])})"
        if failed
        else "",
    )


def _check_counts(
    qb: QuickBooks, sf, settings: mig.MigrationSettings, failed: set[str], report: dict
) -> None:
    """Compare the two systems once at the end (2 calls): fewer invoices in Salesforce than in
    QuickBooks (apart from the failed ones) means records moved under the paging (deleted or
    re-dated during the migration); a second pass finds them."""
    in_qb = qb.count(rules.ENTITY, [_date_condition(settings)])
    in_sf = _sf_count(sf, settings)
    report["quickbooks_count"], report["salesforce_count"] = in_qb, in_sf
    if in_sf + len(failed) < in_qb:
        entry = warning(
            mig.AREA,
            "",
            f"QuickBooks has {in_qb} invoices dated on or after "
            f"{settings.migration_date.isoformat()}, Salesforce {in_sf}: records changed "
            f"during the migration; run `{mig.RESET_HINT}` and trigger it again (invoices "
            "already in Salesforce are skipped)",
            CHECK_KIND,
        )
        log.warning("%s", warning_line(entry))
        report["warnings"].append(entry)
        report["warning_count"] += 1
