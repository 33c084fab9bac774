"""Preflight (docs/rules.md section 1): validate the org every run, match existing records once.

``validate`` reads the org's metadata (describe and describe-layouts of every object the
package or the field maps touch, and the Standard Price Book), runs the great-expectations
suites of ``sfqb.checks.preflight`` and raises ``PreflightError`` listing every problem; the
task turns it into a failed run before any area writes (R-PRE-5).

``match`` runs first-run matching (R-PRE-1/2) once per kind, recorded in the sync state
(R-PRE-6): Accounts <-> Customers by exact name, Products <-> Items by ProductCode =
FullyQualifiedName. Pairs are linked by writing the External ID on the Salesforce record;
nothing is created for them. Its report (the first of the run summary) also carries
``quickbooks_token_warnings``: the QuickBooks refresh token lapsing within 30 days, every run.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd

from sfqb import soql
from sfqb.areas import customers as customer_rules
from sfqb.areas import items as item_rules
from sfqb.frames import records_frame
from sfqb.hooks.errors import NotFoundError, SyncServiceError
from sfqb.hooks.interface import QuickBooks
from sfqb.outcomes import (
    CHECK_KIND,
    FAILED,
    SF_ACCOUNT,
    SF_PRODUCT,
    WARNING,
    AreaReport,
    add_warnings,
    area_report,
    empty_skips,
    log_problems,
    outcomes,
    skips,
)
from sfqb.outcomes import warning as make_warning
from sfqb.run_params import RunContext
from sfqb.steps.common import preferences, quickbooks_hook, salesforce_hook, sync_state
from sfqb.steps.load import now_stamp, sf_outcomes

log = logging.getLogger(__name__)

AREA = "matching"
ACCOUNTS = "matching.customers"
PRODUCTS = "matching.products"


class PreflightError(Exception):
    """The org is not ready: the message lists every failed check and how to fix it."""


# ---------------------------------------------------------------- validations
def _metadata(sf, objects: list[str], with_layouts: set[str]) -> tuple[dict, dict]:
    describes, layouts = {}, {}
    for obj in objects:
        try:
            describes[obj] = sf.describe(obj)
        except NotFoundError:
            describes[obj] = None
            continue
        if obj in with_layouts:
            layouts[obj] = sf.describe_layouts(obj)
    return describes, layouts


def validate(run: RunContext, *, sf=None) -> dict:
    """R-PRE-3/4/5, R-MAP-2: check the org; raise PreflightError naming every problem."""
    from sfqb.checks import package
    from sfqb.checks import preflight as checks
    from sfqb.checks.gx import warm_up
    from sfqb.mapping.custom import custom_mappings
    from sfqb.mapping.maps import active_maps, desktop_without, quickbooks_field_kinds

    warming = warm_up()  # the checks' library imports while the describe calls wait on the wire
    sf = sf or salesforce_hook()
    prefs = preferences(run)
    # The custom file's own problems (YAML, pairs, rows, key fields) join the org's in the one
    # message; its valid rows are checked against the org like the defaults (R-MAP-2/3).
    file_problems = custom_mappings(prefs).problems
    maps = active_maps(prefs, strict=False)
    mapped_objects = {m.salesforce_field(m.salesforce_path(r))[0] for m in maps for r in m.rows}
    objects = list(dict.fromkeys([*package.OBJECTS, *sorted(mapped_objects)]))
    describes, layouts = _metadata(sf, objects, set(package.OBJECTS))
    package_fields = checks.package_fields_frame(describes, layouts)
    pricebook = checks.pricebook_frame(sf.standard_pricebook())
    edition = prefs.quickbooks_edition
    mapped = checks.mapped_fields_frame(
        maps,
        describes,
        quickbooks_field_kinds(edition),
        desktop_without() if edition == "desktop" else frozenset(),
    )
    warming.join()
    found = checks.problems(package_fields, pricebook, mapped, file_problems)
    if found:
        raise PreflightError(checks.failure_message(found))
    log.info(
        "preflight: the org is ready: %d package fields exist and are on page layouts, the "
        "Standard Price Book is active, %d mapped fields of %d field maps exist with compatible "
        "types",
        len(package_fields),
        len(mapped),
        len(maps),
    )
    return {
        "objects": len(objects),
        "package_fields": len(package_fields),
        "mapped_fields": len(mapped),
    }


# ---------------------------------------------------------------- first-run matching
def _link(sf, sobject: str, links, ext_field: str, values=None, stamps=None) -> list[dict]:
    """Write the links (External ID := QB Id, Last Sync Date, plus ``values(qb_id)``);
    one outcome per Salesforce record. ``stamps``: QB Id -> Last Sync Date, when the
    record's has to be on Intuit's clock (customers, R-ACC-5); else the worker's time now."""
    stamp = now_stamp()
    writes = [
        {
            "Id": r.sf_id,
            **(values(str(r.qb_id)) if values else {}),
            ext_field: str(r.qb_id),
            "Last_Sync_Date__c": (stamps or {}).get(str(r.qb_id)) or stamp,
        }
        for r in links.itertuples()
    ]
    return sf_outcomes(sf.update(sobject, writes), sobject) if writes else []


def _ambiguous(
    ambiguous, *, what: str, sf_what: str, qb_what: str, fix: str, entity: str, record: str
) -> pd.DataFrame:
    """One WARNING skip per ambiguous key, keyed by its QuickBooks record (``QB:Customer:7``):
    resolved once that record is linked (``recheck``)."""
    return skips(
        [f"QB:{entity}:{r.qb_ids[0]}" for r in ambiguous.itertuples()],
        pd.Series(
            [
                f"{what} {r.key!r} is shared by Salesforce {sf_what} "
                f"{', '.join(map(str, r.sf_ids))} and QuickBooks {qb_what} "
                f"{', '.join(map(str, r.qb_ids))}: not linked; {fix}"
                for r in ambiguous.itertuples()
            ],
            dtype="object",
        ),
        WARNING,
        record=record,
    )


def match_accounts(
    sf, qb: QuickBooks, maps: dict | None = None, *, desktop: bool = False
) -> tuple[list[dict], pd.DataFrame, list[str]]:
    """R-PRE-1: (outcomes, ambiguity warnings, linked QB ids). A linked Account takes the
    customer's values at once, through the effective ``maps`` (QuickBooks is the master of a
    customer, R-ACC-5). On Desktop a name shared by sub-customers of different parents is told
    apart by the parent (``tell_apart_by_parent``). Jobs are never matched (``customers.jobs``:
    on QuickBooks Desktop a customer whose JobStatus is not None, R-ACC-3)."""
    from sfqb.areas.preflight import match_accounts_to_customers
    from sfqb.steps.customers import sf_values_by_id

    ext = customer_rules.ACCOUNT_EXT_ID
    fields = ["Id", "Name", ext, "ParentId"]
    accounts = records_frame(sf.query(soql.select("Account", fields)), fields)
    # Active customers that are not jobs (R-ACC-2/3): the ones the sync would link anyway.
    mark = len(qb.clock.seen)
    records = list(qb.query_all("Customer"))
    job = customer_rules.jobs(records_frame(records, ["IsProject", "JobStatus"]), desktop)
    records = [c for c, is_job in zip(records, job, strict=True) if not is_job]
    read_at = qb.clock.first_since(mark)
    links, ambiguous = match_accounts_to_customers(
        accounts,
        records_frame(records, ["Id", "DisplayName", "ParentRef.value"]),
        by_parent=desktop,
    )
    full = {str(c["Id"]): c for c in records}
    linked = [full[str(i)] for i in links["qb_id"]]
    mapped = sf_values_by_id(linked, maps)
    # The Accounts take the customers' values as read: stamped like the customer area's copies.
    frame = records_frame(linked, ["Id", "MetaData.LastUpdatedTime"])
    stamps = dict(
        zip(
            frame["Id"].astype(str),
            customer_rules.sync_stamps(
                frame["MetaData.LastUpdatedTime"], read_at.isoformat() if read_at else None
            ),
            strict=True,
        )
    )
    done = _link(sf, "Account", links, ext, values=lambda qb_id: mapped[qb_id][0], stamps=stamps)
    warnings = _ambiguous(
        ambiguous,
        what="the name",
        sf_what="accounts",
        qb_what="customers",
        fix="link one by setting its External Account ID, or rename the duplicates",
        entity="Customer",
        record=SF_ACCOUNT,
    )
    return done, warnings, [str(i) for i in links["qb_id"]]


def match_products(
    sf, qb: QuickBooks, edition: str = "online"
) -> tuple[list[dict], pd.DataFrame, list[str]]:
    """R-PRE-2: (outcomes, ambiguity warnings, linked item ids). Only the link is written: the
    item export copies the item's values (it re-reads every linked item). Only the item types
    the sync carries on ``edition`` are matched (R-ITM-3)."""
    from sfqb.areas.preflight import match_products_to_items

    ext = item_rules.EXT_ID
    columns = ["Id", "ProductCode", ext]
    products = records_frame(sf.query(soql.select("Product2", columns)), columns)
    kind = item_rules.type_column(edition)
    items = records_frame(qb.query_all("Item"), ["Id", "FullyQualifiedName", kind])
    items = items[items[kind].isin(item_rules.synced_types(edition))]  # R-ITM-3
    links, ambiguous = match_products_to_items(products, items)
    done = _link(sf, "Product2", links, ext)
    warnings = _ambiguous(
        ambiguous,
        what="the code",
        sf_what="products",
        qb_what="items",
        fix="link one by setting its External Item ID, or change the duplicate ProductCodes",
        entity="Item",
        record=SF_PRODUCT,
    )
    return done, warnings, [str(i) for i in links["qb_id"]]


def recheck(sf, open_keys: list[str]) -> list[str]:
    """Which of the matching area's open warnings (keys ``QB:Customer:<Id>`` / ``QB:Item:<Id>``)
    a person has settled since: their QuickBooks record is linked now (one query per kind, only
    when such warnings are open). Those keys are looked at again, so their warnings resolve."""
    settled = []
    for entity, sobject, ext in (
        ("Customer", "Account", customer_rules.ACCOUNT_EXT_ID),
        ("Item", "Product2", item_rules.EXT_ID),
    ):
        ids = [k.split(":", 2)[2] for k in open_keys if k.startswith(f"QB:{entity}:")]
        if ids:
            linked = {str(r[ext]) for r in sf.query_in(sobject, ["Id", ext], ext, ids)}
            settled += [f"QB:{entity}:{i}" for i in ids if i in linked]
    return settled


def quickbooks_token_warnings(qb: QuickBooks | None = None) -> list[dict]:
    """The QuickBooks refresh token's expiry as run-summary warnings (R-OPS-3, R-OPS-4): one,
    keyed by the connection, saying when it lapses and how to reconnect, while it lapses within
    30 days; none otherwise. Reads the token state only (no call to Intuit); a connection that
    cannot be read is left to the areas, which stop on it. Checked every run: it stands (one
    daily digest) until the operator reconnects, then it is resolved."""
    qb = qb or quickbooks_hook()
    try:
        warning = qb.refresh_token_warning()
    except SyncServiceError as exc:
        log.info("matching: the QuickBooks token state cannot be checked (%s)", type(exc).__name__)
        return []
    if warning:
        log.warning("%s", warning)
    return [make_warning(AREA, qb.quickbooks_conn_id, warning, CHECK_KIND)] if warning else []


def match(run: RunContext, *, sf=None, qb: QuickBooks | None = None, state=None) -> AreaReport:
    """First-run matching, each kind once (R-PRE-6); the area report of what it linked. On later
    runs it only looks whether its open warnings (ambiguous names and codes) were settled. Every
    run adds the QuickBooks token's expiry warning (``quickbooks_token_warnings``)."""
    state = state or sync_state()
    prefs = preferences(run)
    from sfqb.steps.customers import customer_maps

    maps = customer_maps(run)
    desktop = not prefs.is_online
    kinds = [
        (ACCOUNTS, "account/customer", lambda sf, qb: match_accounts(sf, qb, maps, desktop=desktop))
    ]
    if prefs.sync_items:
        edition = prefs.quickbooks_edition
        kinds.append((PRODUCTS, "product/item", lambda sf, qb: match_products(sf, qb, edition)))
    else:
        log.info(
            "matching: sync_items is off: products are not matched to items (opportunities find "
            "items by ProductCode, R-ITM-5); matching runs when the item sync is turned on"
        )
    done_all: list[dict] = []
    skipped = [empty_skips()]
    for key, label, matcher in kinds:
        done_before = state.first_run_done(key)
        if done_before is not None:
            log.info(
                "matching: %s pairs were matched on the first run (%s); not again (R-PRE-6)",
                label,
                done_before["done_at"],
            )
            continue
        sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
        done, ambiguous, qb_ids = matcher(sf, qb)
        failed = [d for d in done if d["action"] == FAILED]
        log_problems(log, AREA, ambiguous, outcomes(failed))
        log.info(
            "matching: %d %s pairs linked, %d ambiguous, %d failed",
            len(done) - len(failed),
            label,
            len(ambiguous),
            len(failed),
        )
        if key == PRODUCTS and qb_ids:
            # The item export re-reads linked items, so their Products get the items' values even
            # when the first export already ran.
            stream = item_rules.QB_STREAM
            state.add_retries(stream, qb_ids, run_id=run["run_id"])
        if not failed:  # a failed link is retried by matching again on the next run
            state.mark_first_run_done(
                key,
                run_id=run["run_id"],
                now=dt.datetime.now(dt.UTC),
                details={"linked": len(done), "ambiguous": len(ambiguous)},
            )
        done_all += done
        skipped.append(ambiguous)
    skipped_frame = pd.concat(skipped, ignore_index=True)
    considered = [d["key"] for d in done_all] + list(skipped_frame["key"])
    open_keys = [w.get("key") or "" for w in (state.warnings(AREA).get("open") or {}).values()]
    if any(k.startswith(("QB:Customer:", "QB:Item:")) for k in open_keys):
        sf = sf or salesforce_hook()
        considered += recheck(sf, open_keys)
    qb = qb or quickbooks_hook(run)
    report = area_report(
        AREA, skipped_frame, outcomes(done_all), considered=[*considered, qb.quickbooks_conn_id]
    )
    return add_warnings(report, quickbooks_token_warnings(qb))
