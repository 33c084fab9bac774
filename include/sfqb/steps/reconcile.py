"""The reconciliation's I/O (docs/reconciliation.md): read both systems once, compare with the
pure rules of ``sfqb.areas.reconcile``, report differences as WARNINGs.

One query per object, only the fields the rules need, paged the way the other extracts page
(Salesforce: query and queryMore, 2,000 records a page; QuickBooks: STARTPOSITION/MAXRESULTS
pages of 1000): linked Accounts, QuickBooks Customers, won
Opportunities, QuickBooks Invoices and Sales Receipts, Invoice__c, Product2. An area that is off
(preferences) or not selected (a narrowed manual run) is neither read nor checked.

``reconcile_systems(sf, qb)`` is the entry point for anything outside a DAG run (the business
simulation, docs/simulation.md): it reads the sync state and preferences from the metadata
database unless given.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from sfqb import soql
from sfqb.areas import reconcile as rules
from sfqb.areas.opportunities import ACCOUNT_EXT, EXT_TXN, entity_types
from sfqb.frames import records_frame
from sfqb.hooks.interface import QuickBooks, Read, by_entity
from sfqb.hooks.parallel import on_second_thread
from sfqb.preferences import VARIABLE_KEY, Preferences, parse_preferences
from sfqb.run_params import RunContext, area_selected

log = logging.getLogger(__name__)

ACCOUNT_FIELDS = ["Id", "Name", rules.ACCOUNT_EXT_ID]
CUSTOMER_COLUMNS = ["Id", "DisplayName", "Active", "IsProject", "ParentRef.value", rules.UPDATED]
OPPORTUNITY_FIELDS = [
    "Id",
    "Name",
    "AccountId",
    ACCOUNT_EXT,
    "IsWon",
    "StageName",
    "Transaction_Type__c",
    EXT_TXN,
    "HasOpportunityLineItem",
    "SystemModstamp",
]
TRANSACTION_COLUMNS = ["Id", "DocNumber", "PrivateNote"]


def transaction_entities(online: bool) -> tuple[str, ...]:
    """The QuickBooks entities Opportunities link to: Sales Orders too on Desktop (R-OPP-2)."""
    return tuple(entity_types(online).values())


QB_INVOICE_COLUMNS = ["Id", "DocNumber", "CustomerRef.value", "Balance", "TotalAmt", rules.UPDATED]
SF_INVOICE_FIELDS = [
    "Id",
    "Name",
    rules.EXT_INVOICE,
    "Account__c",
    rules.BALANCE,
    rules.SUBTOTAL,
    rules.STATUS,
]
PRODUCT_FIELDS = ["Id", "Name", "ProductCode", rules.ITEM_EXT_ID]
RETRY_STREAMS = (
    "salesforce.Account",
    "quickbooks.Customer",
    "salesforce.Opportunity",
    "quickbooks.Invoice@invoices",
)


def _value(record: Any, path: str):
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(part)
    return record


def picked(records: Iterable[dict], columns: list[str]) -> pd.DataFrame:
    """Only ``columns`` (dotted paths) of each record, as a normalised frame: a QuickBooks
    invoice's lines and addresses are never flattened."""
    return records_frame(({c: _value(r, c) for c in columns} for r in records), columns)[columns]


def sf_read(sf, sobject: str, fields: list[str], where=None) -> pd.DataFrame:
    """Every matching record through REST pages of 2,000 (query, then queryMore): one call for
    a small org, 50 for 100k records, and no COUNT() call to choose (the task runs every hour)."""
    return picked(sf.query(soql.select(sobject, fields, where=where)), fields)


def read_frames(sf, qb: QuickBooks, scope: rules.Scope) -> dict[str, pd.DataFrame]:
    """What the checks of ``scope`` compare, one (paged) query per object. The Salesforce reads
    go on a second thread while the QuickBooks pages come in (two services, each answering at
    its own pace; each hook is used by one thread only)."""
    with ThreadPoolExecutor(1, thread_name_prefix="sfqb-reconcile-sf") as pool:
        salesforce = on_second_thread(pool, _sf_frames, sf, scope, connect=(sf,))
        frames = _qb_frames(qb, scope)
        return {**salesforce.result(), **frames}


def _sf_frames(sf, scope: rules.Scope) -> dict[str, pd.DataFrame]:
    frames = {
        "accounts": sf_read(
            sf, "Account", ACCOUNT_FIELDS, soql.compare(rules.ACCOUNT_EXT_ID, "!=", None)
        )
    }
    if scope.opportunities:
        frames["opportunities"] = sf_read(
            sf, "Opportunity", OPPORTUNITY_FIELDS, soql.eq("IsWon", True)
        )
    if scope.invoices:
        frames["sf_invoices"] = sf_read(sf, "Invoice__c", SF_INVOICE_FIELDS)
    if scope.items:
        frames["products"] = sf_read(sf, "Product2", PRODUCT_FIELDS)
    return frames


def _qb_frames(qb: QuickBooks, scope: rules.Scope) -> dict[str, pd.DataFrame]:
    """QuickBooks' side; its invoices are read once when both the transactions' check and the
    invoices' check want them (one page per 1,000 invoices, each a QuickBooks request unit).
    The reads are asked together: on Desktop one Web Connector session takes them all, where
    one after the other each waited for the previous one's answer (0.6-1.2 s a run in
    ``bench.desktop_sync``)."""
    entities = []
    if scope.customers or scope.invoices:  # invoices: whose Account a project's invoice takes
        entities.append("Customer")
    wanted = [
        *(TRANSACTION_COLUMNS if scope.opportunities else []),
        *(QB_INVOICE_COLUMNS if scope.invoices else []),
    ]
    if wanted:
        entities.append("Invoice")
    if scope.opportunities:
        entities += [e for e in transaction_entities(scope.online) if e != "Invoice"]
    records = by_entity(qb, [Read(e, include_inactive=e == "Customer") for e in entities])
    frames = {}
    if "Customer" in records:
        frames["customers"] = picked(records["Customer"], CUSTOMER_COLUMNS)
    invoices = picked(records["Invoice"], list(dict.fromkeys(wanted))) if wanted else None
    if scope.opportunities:
        assert invoices is not None  # wanted has the transaction columns
        frames["transactions"] = pd.concat(
            [
                (
                    invoices[TRANSACTION_COLUMNS]
                    if entity == "Invoice"
                    else picked(records[entity], TRANSACTION_COLUMNS)
                ).assign(entity=entity)
                for entity in transaction_entities(scope.online)
            ],
            ignore_index=True,
        )
    if scope.invoices:
        assert invoices is not None  # wanted has the invoice columns
        frames["qb_invoices"] = invoices[QB_INVOICE_COLUMNS]
    return frames


def scope_of(
    prefs: Preferences,
    state,
    *,
    upper_bound: dt.datetime | None = None,
    run: RunContext | None = None,
    area_reports: Iterable[dict] = (),
) -> rules.Scope:
    """What the sync owns now: areas on (and selected in ``run``), the install date, the
    records each area queued for retry (saved in the state, or in this run's ``area_reports``,
    whose commits may not have saved them yet)."""

    def on(area: str) -> bool:
        return run is None or area_selected(run, area)

    retries = {s: set(state.retries(s)) for s in RETRY_STREAMS}
    for area_report in area_reports:
        for stream, ids in (area_report.get("retry") or {}).items():
            retries.setdefault(stream, set()).update(map(str, ids))
    return rules.Scope(
        install_date=state.install_date(),
        upper_bound=upper_bound,
        retries={s: frozenset(ids) for s, ids in retries.items()},
        online=prefs.is_online,
        customers=on("customers"),
        opportunities=prefs.sync_won_opportunities and on("opportunities"),
        invoices=prefs.sync_invoices and on("invoices"),
        items=prefs.sync_items and on("items"),
    )


def reconcile_systems(
    sf_hook,
    qb_hook,
    preferences: Preferences | dict | str | None = None,
    *,
    state=None,
    upper_bound: dt.datetime | None = None,
    run: RunContext | None = None,
    area_reports: Iterable[dict] = (),
) -> rules.Reconciliation:
    """Compare both systems on what the sync owns; differences are returned, never raised (a
    read error is).

    Args:
        sf_hook, qb_hook: ``SfqbSalesforceHook`` / ``QuickBooksHook`` (or anything with their
            ``query`` and ``query_all``).
        preferences: ``Preferences`` or their JSON; None reads the Variable ``sfqb.preferences``.
        state: a ``SyncState`` (install date, records to retry); None: the metadata database.
        upper_bound: the last run's upper bound: QuickBooks records changed at or after it are
            the next run's business (``changed_after_run``), not differences. None: no bound.
        run: a DAG run's context (``begin_run``): a narrowed run checks only its areas.
        area_reports: the run's area reports: their ``retry`` ids are pending, not differences.
    """
    from sfqb.state import MetadataDbVariables, SyncState

    state = state or SyncState(MetadataDbVariables())
    if preferences is None:
        preferences = state.backend.get(VARIABLE_KEY)
    prefs = preferences if isinstance(preferences, Preferences) else parse_preferences(preferences)
    scope = scope_of(prefs, state, upper_bound=upper_bound, run=run, area_reports=area_reports)
    frames = read_frames(sf_hook, qb_hook, scope)
    return rules.reconcile(frames, scope)


def report(result: rules.Reconciliation, seconds: float | None = None) -> dict:
    """The run summary's entry for the reconciliation: shaped like an area report (nothing is
    written: no record counts), ``counts`` per check, one warning per differing record; it
    compares everything it owns each run (``complete``: a difference not found again is
    resolved)."""
    warnings = result.findings()
    return {
        "area": rules.AREA,
        "records": {},
        "warning_count": len(warnings),
        "warnings": warnings,
        "counts": dict(result.counts),
        "complete": True,
        **({"seconds": round(seconds, 2)} if seconds is not None else {}),
    }


def run_reconcile(
    run: RunContext,
    *,
    area_reports: Iterable[dict] = (),
    sf=None,
    qb: QuickBooks | None = None,
    state=None,
) -> dict:
    """The ``reconcile`` task of ``sfqb_sync``: compare after the areas wrote, warn per check."""
    from sfqb.steps.common import preferences, quickbooks_hook, salesforce_hook, sync_state

    started = time.monotonic()
    result = reconcile_systems(
        sf or salesforce_hook(),
        qb or quickbooks_hook(run),
        preferences(run),
        state=state or sync_state(),
        upper_bound=dt.datetime.fromisoformat(run["upper_bound"]),
        run=run,
        area_reports=area_reports,
    )
    out = report(result, time.monotonic() - started)
    for line in result.warnings():
        log.warning("%s", line)
    log.info(
        "reconcile: %s in %.2f s: %s",
        "both systems agree"
        if result.ok
        else f"{sum(len(k) for k in result.differences.values())} differences",
        out["seconds"],
        ", ".join(f"{k} {v}" for k, v in result.counts.items() if not k.endswith("_compared")),
    )
    return out
