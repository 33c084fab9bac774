"""The customer area's I/O steps: extract, plan, load (docs/rules.md section 2).

Keys in outcomes: a Salesforce Account Id for SF -> QB writes, ``QB:<Id>`` for QB -> SF writes
(``QB:<Id> contact`` for billing Contacts), so every WARNING names a record a person can find.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NotRequired, TypedDict

import numpy as np
import pandas as pd

from sfqb.areas import customers as rules
from sfqb.checks.quality import customer_warnings
from sfqb.frames import isin, isna, missing
from sfqb.hooks.errors import DuplicateNameError
from sfqb.hooks.interface import QuickBooks, Read, by_entity
from sfqb.hooks.parallel import on_second_thread
from sfqb.hooks.progress import Progress
from sfqb.mapping.coerce import limits_for
from sfqb.outcomes import (
    CREATED,
    FAILED,
    NOTE_KIND,
    QB_CUSTOMER,
    RECOVERED,
    SF_ACCOUNT,
    SF_CONTACT,
    UPDATED,
    AreaReport,
    add_warnings,
    area_report,
    log_by_reason,
    log_problems,
    outcome,
    outcomes,
    warning,
    warning_line,
    warnings_of,
)
from sfqb.run_params import RunContext
from sfqb.soql import sf_datetime
from sfqb.steps import customers_extract as ex
from sfqb.steps.common import (
    AreaExtract,
    due_retries,
    names_of,
    plan_names,
    preferences,
    quickbooks_hook,
    read_on_quickbooks_clock,
    run_windows,
    salesforce_hook,
    sync_state,
    waiting_retries,
)
from sfqb.steps.load import describe_issues, sf_outcomes
from sfqb.windows import Window

log = logging.getLogger(__name__)

QB_STREAM, SF_STREAM = rules.QB_STREAM, rules.SF_STREAM


class Counterparts(TypedDict):
    """What the changes are compared with (``_counterparts``)."""

    sf_linked: pd.DataFrame
    """The Accounts linked to the changed customers (R-GEN-4)."""
    qb_linked: pd.DataFrame
    """The customers linked to the changed Accounts."""
    terms: dict[str, str]
    """QuickBooks term name -> Id (R-ACC-9)."""
    sales_reps: dict[str, str]
    """QuickBooks Desktop sales rep initials -> Id (R-ACC-9; empty on Online)."""
    unlinked_names: list[str]
    """Unlinked Account names a changed customer's name equals (R-ACC-11)."""
    people: pd.DataFrame
    """The Contacts of those Accounts a customer's person could be (R-ACC-10)."""


class Extract(AreaExtract, Counterparts):
    """Both systems' changes in the run's windows and what the plan compares them with (the
    fields of ``rules.CustomerInputs``)."""

    first_export: bool
    """The area's first run: every active customer and qualifying Account (R-GEN-6)."""
    qb_changed: pd.DataFrame
    sf_changed: pd.DataFrame
    limits: dict
    """Target field -> its length limit, per map pair (``limits_for``)."""
    qb_read_at: str | None
    """QuickBooks' time of its first answer about customers (ISO; R-GEN-7)."""
    ticked_contacts: pd.DataFrame
    """Contacts ticked as billing contacts, with their Account (R-ACC-6)."""


class Plan(TypedDict):
    """The writes of both directions (``rules.CustomerPlan``), the skips and warnings."""

    accounts: pd.DataFrame
    contacts: pd.DataFrame
    contact_releases: pd.DataFrame
    customer_creates: pd.DataFrame
    customer_updates: pd.DataFrame
    clear_sync_me: list[str]
    clear_contact_sync_me: list[str]
    skips: pd.DataFrame
    notes: pd.DataFrame
    quality: list
    """Data-quality warnings about the customers (``sfqb.checks.quality``)."""
    considered: list[str]
    """The keys of the customers and Accounts read (R-OPS-3)."""
    retry: list[str]
    limits: dict
    names: NotRequired[dict[str, str]]
    """Key -> customer or Account name, for the load's log lines."""


def customer_maps(run: RunContext) -> dict:
    """pair -> the effective map (defaults + custom rows) of the customer area's pairs, as the
    run's QuickBooks edition takes them (``rules.edition_maps``: R-ACC-7, R-ACC-9)."""
    from sfqb.mapping.maps import AREA_MAPS, effective_maps

    prefs = preferences(run)
    return rules.edition_maps(
        effective_maps(prefs, AREA_MAPS["customers"]), desktop=not prefs.is_online
    )


def extra_fields(maps: dict) -> tuple[list[str], list[str]]:
    """(Account fields, billing Contact fields) the effective maps name that the extract does
    not read by default: custom sources of Account -> Customer and custom targets of the way
    back (read so a run compares them and writes only what changed)."""
    to_qb = maps["account_to_customer"]
    account = [r.source for r in to_qb.rows if "." not in r.source] + maps[
        "customer_to_account"
    ].target_fields
    contact = [
        r.source.split(".", 1)[1] for r in to_qb.rows if r.source.startswith("BillingContact.")
    ]
    contact += maps["customer_to_contact"].target_fields
    return (
        [f for f in dict.fromkeys(account) if f not in ex.ACCOUNT_FIELDS],
        [f for f in dict.fromkeys(contact) if f not in ex.CONTACT_FIELDS],
    )


def with_fields(
    sf, frame: pd.DataFrame, sobject: str, fields: list[str], id_column: str, prefix: str = ""
) -> pd.DataFrame:
    """``frame`` plus ``fields`` of the ``sobject`` records its ``id_column`` names (columns
    ``prefix + field``): one query, only when there are fields to add (custom mappings)."""
    from sfqb.frames import records_frame

    if not fields or frame.empty:
        return frame.assign(
            **{prefix + f: pd.NA for f in fields if prefix + f not in frame.columns}
        )
    ids = frame[id_column].dropna().astype(str)
    rows = records_frame(sf.query_in(sobject, ["Id", *fields], "Id", ids), ["Id", *fields])
    extra = rows.set_index("Id")[fields].rename(columns=lambda f: prefix + f)
    out = frame.drop(columns=[c for c in extra.columns if c in frame.columns])
    return out.join(extra, on=id_column)


def _qb_customers_by_id(qb: QuickBooks, ids) -> list[dict]:
    return list(qb.query_in("Customer", "Id", ids, include_inactive=True))


def _all_active_customers(qb: QuickBooks) -> list[dict]:
    """Every active QuickBooks customer (the first run, R-GEN-6), with progress in the log: a
    company of 100k customers is 100 pages."""
    total = qb.count("Customer")
    log.info(
        "customers: first run: reading all %d active QuickBooks customers, whatever their age "
        "(R-GEN-6)",
        total,
    )
    progress = Progress(
        "QuickBooks customers read", batches=max(1, -(-total // 1000)), records=total, logger=log
    )
    out: list[dict] = []
    for record in qb.query_all("Customer"):
        out.append(record)
        if len(out) % 1000 == 0:
            progress.step(1000)
    if len(out) % 1000 or not out:
        progress.step(len(out) % 1000)
    return out


def extract(run: RunContext, *, sf=None, qb: QuickBooks | None = None, state=None) -> Extract:
    """Both systems' changes in this run's windows, plus what the plan compares them with.

    The area's first run (``FIRST_EXPORT`` not done) considers every active QuickBooks customer
    and every Salesforce Account that qualifies (R-ACC-1) whatever their age (R-GEN-6: customers
    are master data); later runs read the changes since the watermarks."""
    sf, qb, state = sf or salesforce_hook(), qb or quickbooks_hook(run), state or sync_state()
    windows = run_windows(run, [QB_STREAM, SF_STREAM], state)
    sf_xcom = windows[SF_STREAM]
    sf_window = Window.from_xcom(sf_xcom) if sf_xcom else None
    sf_retries = due_retries(run, SF_STREAM, state)
    waiting = waiting_retries(run, SF_STREAM, state)
    prefs = preferences(run)
    first = state.first_run_done(rules.FIRST_EXPORT) is None
    maps = customer_maps(run)
    account_fields, contact_fields = extra_fields(maps)

    def complete(accounts: pd.DataFrame) -> pd.DataFrame:
        accounts = with_fields(sf, accounts, "Account", account_fields, "Id")
        return with_fields(
            sf, accounts, "Contact", contact_fields, "BillingContact.Id", "BillingContact."
        )

    def read_salesforce() -> tuple[pd.DataFrame, pd.DataFrame]:
        ticked = ex.ticked_contacts(sf)
        accounts = ex.sf_changed_accounts(
            sf,
            sf_window,
            sf_retries,
            ticked_contact_accounts=ticked["AccountId"].dropna().astype(str),
            waiting=waiting,
            qualifying=ex.first_run_condition(prefs.sync_accounts_without_won_opportunities)
            if first
            else None,
        )
        held = isin(ticked["AccountId"].astype(str), waiting - set(accounts["Id"].astype(str)))
        return complete(accounts), ticked[~held]

    # The two windows are independent: Salesforce's is read on a second thread while
    # QuickBooks' pages come in (each hook used by one thread at a time).
    with ThreadPoolExecutor(1, thread_name_prefix="sfqb-customers-sf") as pool:
        changed_accounts = on_second_thread(pool, read_salesforce, connect=(sf,))
        qb_changed, read_at = _qb_changed_customers(run, qb, state, windows, first)
        sf_changed, ticked_contacts = changed_accounts.result()
    linked = _counterparts(
        sf, qb, qb_changed, sf_changed, maps, complete, desktop=not prefs.is_online
    )
    log.info(
        "customers: %d QuickBooks customers and %d Salesforce accounts to consider%s",
        len(qb_changed),
        len(sf_changed),
        " (first run: all of them)" if first else "",
    )
    return {
        "windows": read_on_quickbooks_clock(windows, [QB_STREAM], read_at),
        "first_export": first,
        "qb_changed": qb_changed,
        "sf_changed": sf_changed,
        "sf_linked": linked["sf_linked"],
        "qb_linked": linked["qb_linked"],
        "terms": linked["terms"],
        "sales_reps": linked["sales_reps"],
        "unlinked_names": linked["unlinked_names"],
        "limits": limits_for(maps.values(), sf.describe),
        "qb_read_at": read_at.isoformat() if read_at else None,
        "people": linked["people"],
        "ticked_contacts": ticked_contacts,
    }


def _qb_changed_customers(
    run: RunContext, qb: QuickBooks, state, windows: dict, first: bool
) -> tuple[pd.DataFrame, dt.datetime | None]:
    """The QuickBooks customers to consider: on the first run every active one (R-GEN-6), then
    those changed in the window, inactive ones included, and those due a retry (R-GEN-5); with
    the time QuickBooks answered the first of these reads (the Last Sync Date of what this run
    copies, R-GEN-7)."""
    qb_records: list[dict] = []
    mark = len(qb.clock.seen)  # Last_Sync_Date__c of what this run copies: from here (sync_stamps)
    if first:
        qb_records = _all_active_customers(qb)
    if qb_window := windows[QB_STREAM]:
        window = Window.from_xcom(qb_window)
        qb_records += qb.query_window("Customer", window.start, window.end, include_inactive=True)
    qb_records = list({str(r["Id"]): r for r in qb_records}.values())
    qb_records += _qb_customers_by_id(
        qb, set(due_retries(run, QB_STREAM, state)) - {r["Id"] for r in qb_records}
    )
    return ex.qb_customer_frame(qb_records), qb.clock.first_since(mark)


def _counterparts(
    sf,
    qb: QuickBooks,
    qb_changed: pd.DataFrame,
    sf_changed: pd.DataFrame,
    maps: dict,
    complete: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    desktop: bool = False,
) -> Counterparts:
    """What the plan compares the changes with: the Accounts linked to the changed customers and
    the customers linked to the changed Accounts (R-GEN-4), the Terms (and on QuickBooks Desktop
    the sales reps, R-ACC-9), the unlinked
    Account names the changed customers could clash with (R-ACC-11) and the people of their
    Accounts (R-ACC-10)."""
    sf_linked = complete(ex.sf_accounts_linked_to(sf, qb_changed["Id"]))
    linked_ids = sf_changed.loc[~isna(sf_changed[rules.ACCOUNT_EXT_ID]), rules.ACCOUNT_EXT_ID]
    qb_linked = ex.qb_customer_frame(_qb_customers_by_id(qb, linked_ids))
    # Asked together: on Desktop one Web Connector session answers both.
    found = by_entity(qb, [Read("Term"), *([Read("SalesRep")] if desktop else [])])
    terms = {t["Name"]: t["Id"] for t in found["Term"]}
    sales_reps = {r["Name"]: r["Id"] for r in found.get("SalesRep", [])}
    unlinked_names = ex.unlinked_account_names(
        sf,
        set(
            qb_changed.loc[
                ~qb_changed["Id"].isin(sf_linked[rules.ACCOUNT_EXT_ID]), "DisplayName"
            ].dropna()
        ),
    )
    people = ex.people(
        sf,
        rules.people_to_look_up(qb_changed, sf_linked, maps["customer_to_contact"]),
        qb_changed.loc[~isna(qb_changed["FamilyName"]), "Id"].astype(str),
    )
    return {
        "sf_linked": sf_linked,
        "qb_linked": qb_linked,
        "terms": terms,
        "sales_reps": sales_reps,
        "unlinked_names": sorted(unlinked_names),
        "people": people,
    }


def plan(run: RunContext, extracted: Extract) -> Plan:
    """The pure rules over the extracted frames (XCom-ready dict of frames and lists)."""
    inputs = rules.CustomerInputs(
        qb_changed=extracted["qb_changed"],
        sf_changed=extracted["sf_changed"],
        sf_linked=extracted["sf_linked"],
        qb_linked=extracted["qb_linked"],
        terms=extracted["terms"],
        sales_reps=extracted.get("sales_reps") or {},
        desktop=not preferences(run).is_online,
        unlinked_names=frozenset(extracted.get("unlinked_names", [])),
        qb_read_at=extracted.get("qb_read_at"),
        people=extracted.get("people", pd.DataFrame(columns=rules.PEOPLE_COLUMNS)),
        ticked_contacts=extracted.get("ticked_contacts", pd.DataFrame(columns=["Id", "AccountId"])),
    )
    prefs = preferences(run)
    if prefs.is_online:
        log.info(
            "customers: Credit Limit and Sales Rep are QuickBooks Desktop customer fields; "
            "QuickBooks Online has neither, so Credit_Limit__c and Sales_Rep__c are left alone "
            "(R-ACC-9)"
        )
    result = rules.plan_customers(inputs, prefs, customer_maps(run), extracted.get("limits"))
    quality = customer_warnings(rules.AREA, extracted["qb_changed"])
    log.info(
        "customers plan: %d accounts and %d contacts to write in Salesforce; %d customers to "
        "create and %d to update in QuickBooks; %d skipped",
        len(result.accounts),
        len(result.contacts),
        len(result.customer_creates),
        len(result.customer_updates),
        len(result.skips),
    )
    planned: Plan = {
        "accounts": result.accounts,
        "contacts": result.contacts,
        "contact_releases": result.contact_releases,
        "customer_creates": result.customer_creates,
        "customer_updates": result.customer_updates,
        "clear_sync_me": list(result.clear_sync_me),
        "clear_contact_sync_me": list(result.clear_contact_sync_me),
        "skips": result.skips,
        "notes": result.notes,
        "quality": quality,
        # The records this run looked at: a standing warning about one of them that did not come
        # back is resolved (R-OPS-3).
        "considered": [f"QB:{i}" for i in extracted["qb_changed"]["Id"].astype(str).tolist()]
        + [str(i) for i in extracted["sf_changed"]["Id"].tolist()],
        "retry": list(result.retry),
        "limits": extracted.get("limits") or {},
    }
    planned["names"] = plan_names(
        planned,
        lambda keys: {
            **names_of(extracted["qb_changed"], "DisplayName", prefix="QB:", keys=keys),
            **names_of(extracted["sf_changed"], "Name", keys=keys),
        },
    )
    releases = result.contact_releases  # the load logs them by their customer
    if len(releases):
        released = [f"QB:{c}" for c in releases["customer_id"].astype(str).tolist()]
        planned["names"].update(
            names_of(extracted["qb_changed"], "DisplayName", prefix="QB:", keys=released)
        )
    return planned


def sf_values_from_qb(
    entity: dict, maps: dict | None = None, limits: dict | None = None
) -> tuple[dict, dict]:
    """``sf_values_by_id`` for one customer."""
    return sf_values_by_id([entity], maps, limits)[str(entity["Id"])]


def sf_values_by_id(
    entities: list[dict], maps: dict | None = None, limits: dict | None = None
) -> dict[str, tuple[dict, dict]]:
    """What QuickBooks made of customers we just wrote (or linked), mapped back to Account and
    Contact fields: QuickBooks Id -> (account values, contact values; empty without a last
    name). ``maps``: the effective maps (defaults when absent). Recorded with the link, so the
    next run finds both sides equal (R-GEN-4). A custom row's value that does not fit its field
    (``limits``) is left out of the link write: the next run's plan warns about it.

    The maps are applied to one frame of all the customers (a frame per customer cost ~45 ms
    each: minutes for a first run linking 10k accounts, bench/results/sync.md)."""
    from sfqb.mapping.coerce import as_text, fit_value
    from sfqb.mapping.maps import apply_map, default_map

    if not entities:
        return {}
    maps = maps or {}
    frame = ex.qb_customer_frame(entities)
    account_map = maps.get("customer_to_account") or default_map("customer_to_account")
    contact_map = maps.get("customer_to_contact") or default_map("customer_to_contact")
    accounts = apply_map(frame, account_map).to_dict("records")
    contacts = apply_map(frame, contact_map).to_dict("records")
    custom = [
        (
            field_map,
            [row for row in field_map.rows if row.custom],
            (limits or {}).get(field_map.pair, {}),
        )
        for field_map in (account_map, contact_map)
    ]
    out = {}
    for entity, account, contact in zip(entities, accounts, contacts, strict=True):
        # Custom rows' values as text (their targets passed the preflight as text fields or the
        # value's own kind; numbers and booleans are carried as text, never cut).
        for values, (_, rows, pair_limits) in zip((account, contact), custom, strict=True):
            for row in rows:
                if missing(values.get(row.target)):
                    continue
                if row.target in pair_limits:
                    value, unfit = fit_value(values[row.target], pair_limits[row.target])
                    if unfit:
                        values.pop(row.target)
                    else:
                        values[row.target] = value
                elif not isinstance(values[row.target], str):
                    values[row.target] = as_text(values[row.target])
        account = {k: (None if missing(v) else v) for k, v in account.items()}
        contact = {k: (None if missing(v) else v) for k, v in contact.items()}
        out[str(entity["Id"])] = (account, contact if contact.get("LastName") else {})
    return out


def _adopt_pending(
    creates: pd.DataFrame, pending: dict[str, str], sf, qb: QuickBooks
) -> dict[str, dict]:
    """Creates an earlier, interrupted load already sent (``pending``: Account Id -> the name it
    sent) whose customer exists and is linked to no Account: Account Id -> that customer. The
    Account may have been renamed since, so the duplicate-name check cannot find it."""
    sent = (
        {key: pending[key] for key in creates["key"].astype(str) if key in pending}
        if pending
        else {}
    )
    if not sent:
        return {}
    found = {
        rules.name_key(c["DisplayName"]): c
        for c in qb.query_in(
            "Customer", "DisplayName", sorted(set(sent.values())), include_inactive=True
        )
    }
    linked = set(
        ex.sf_accounts_linked_to(sf, [str(c["Id"]) for c in found.values()])[rules.ACCOUNT_EXT_ID]
        .dropna()
        .astype(str)
    )
    adopted = {
        key: found[rules.name_key(name)]
        for key, name in sent.items()
        if rules.name_key(name) in found and str(found[rules.name_key(name)]["Id"]) not in linked
    }
    for key, customer in adopted.items():
        log.info(
            "customers: Account %s: QuickBooks customer %s (%r) was created for it by an "
            "interrupted load; it is updated and linked instead of created again (R-GEN-3)",
            key,
            customer["Id"],
            customer["DisplayName"],
        )
    return adopted


def _write_to_quickbooks(
    plan: Plan,
    sf,
    qb: QuickBooks,
    done: list[dict],
    run_id: str,
    maps: dict,
    state,
    notes: list[dict],
) -> tuple[list[dict], list[dict], set[str]]:
    """Creates and updates in QuickBooks; returns the Salesforce Account and billing Contact
    updates that record the links (External Account ID), Last Sync Date and cleared Sync Me, and
    the QuickBooks Ids adopted from an interrupted load (their values come from the Account this
    run). The Contact links go out with the QuickBooks -> Salesforce Contact updates, in one call.

    Idempotency (R-GEN-3): a retried task sends the same batches with the same requestids, so
    QuickBooks replays its first answers; a create refused as a duplicate name (an earlier,
    interrupted run created it) is adopted by ``_adopt_duplicates``; the names of the creates
    are kept (``SyncState.pending_creates``) until their links are recorded, so a customer an
    interrupted load made is adopted even after its Account was renamed (``_adopt_pending``)."""
    from sfqb.hooks.quickbooks import request_id_for

    creates: pd.DataFrame = plan["customer_creates"]
    updates: pd.DataFrame = plan["customer_updates"]
    pending = state.pending_creates(rules.AREA) if len(creates) else {}
    adopted = _adopt_pending(creates, pending, sf, qb)
    ops = _create_ops(creates, adopted)
    _remember_creates(ops, pending, state, run_id)
    ops += _update_ops(updates)
    contacts = (
        dict(zip(creates["key"], creates["billing_contact_id"], strict=True))
        if len(creates)
        else {}
    )
    results = qb.batch(ops, request_id=request_id_for(run_id, "customers")) if ops else []
    account_writes, contact_writes, duplicates = _record_answers(
        results, plan, qb, done, maps, contacts, adopted
    )
    if duplicates:
        just_linked = {w[rules.ACCOUNT_EXT_ID] for w in account_writes}
        account_writes += _adopt_duplicates(
            duplicates, contacts, sf, qb, done, contact_writes, just_linked, notes
        )
    return account_writes, contact_writes, {str(c["Id"]) for c in adopted.values()}


def _create_ops(creates: pd.DataFrame, adopted: dict[str, dict]) -> list:
    """The batch operations of the planned creates, each with its requestid; a create an
    interrupted load already made (``adopted``) is a sparse update of that customer (R-GEN-3)."""
    from sfqb.hooks.quickbooks import BatchOp, request_id_for

    return [
        BatchOp(
            key=row.key,
            operation="update",
            entity="Customer",
            payload={
                **json.loads(row.payload),
                "Id": adopted[row.key]["Id"],
                "SyncToken": adopted[row.key]["SyncToken"],
                "sparse": True,
            },
        )
        if row.key in adopted
        else BatchOp(
            key=row.key,
            operation="create",
            entity="Customer",
            payload=json.loads(row.payload),
            request_id=request_id_for(row.key, "create.Customer"),
        )
        for row in creates.itertuples()
    ]


def _remember_creates(ops: list, pending: dict[str, str], state, run_id: str) -> None:
    """Keep the names of the creates about to be sent until their links are recorded, so a
    customer an interrupted load made is adopted next time (R-GEN-3, ``_adopt_pending``)."""
    sending = {op.key: op.payload.get("DisplayName") for op in ops if op.operation == "create"}
    if sending:
        state.save_pending_creates(rules.AREA, {**pending, **sending}, run_id=run_id)


def _update_ops(updates: pd.DataFrame) -> list:
    """The sparse updates of the planned customer updates (R-ACC-4)."""
    from sfqb.hooks.quickbooks import BatchOp

    return [
        BatchOp(
            key=row.key,
            operation="update",
            entity="Customer",
            payload={
                **json.loads(row.payload),
                "Id": row.Id,
                "SyncToken": row.SyncToken,
                "sparse": True,
            },
        )
        for row in updates.itertuples()
    ]


def _record_answers(
    results: list,
    plan: Plan,
    qb: QuickBooks,
    done: list[dict],
    maps: dict,
    contacts: dict,
    adopted: dict[str, dict],
) -> tuple[list[dict], list[dict], dict[str, str]]:
    """One outcome per answer of the batch (R-GEN-5); for each customer written, the Account and
    billing Contact updates that record its link, stamped with QuickBooks' time of the write
    (R-GEN-7). Returns those updates and the creates refused as a duplicate name (key -> name,
    for ``_adopt_duplicates``, R-GEN-3)."""
    creates: pd.DataFrame = plan["customer_creates"]
    account_writes: list[dict] = []
    contact_writes: list[dict] = []
    duplicates: dict[str, str] = {}
    mapped = sf_values_by_id([r.record for r in results if r.ok], maps, plan.get("limits"))
    for result in results:
        key = str(result.key)
        if result.ok:
            qb_id = str(result.record["Id"])
            stamp = written_at(result.record, qb)
            action = RECOVERED if key in adopted else CREATED if key in contacts else UPDATED
            done.append(outcome(key, action, record=QB_CUSTOMER, target_id=qb_id))
            account_values, contact_values = mapped[qb_id]
            account_writes.append(
                {
                    "Id": key,
                    **account_values,
                    rules.ACCOUNT_EXT_ID: qb_id,
                    "Last_Sync_Date__c": stamp,
                    "Sync_Me__c": False,
                }
            )
            if not missing(contacts.get(key)):
                contact_writes.append(
                    {
                        "Id": contacts[key],
                        **contact_values,
                        rules.CONTACT_EXT_ID: qb_id,
                        rules.ACCOUNT_EXT_ID: qb_id,
                        "Last_Sync_Date__c": stamp,
                    }
                )
        elif isinstance(result.error, DuplicateNameError) and key in contacts:
            duplicates[key] = json.loads(creates.set_index("key").at[key, "payload"])["DisplayName"]
        else:
            done.append(outcome(key, FAILED, record=QB_CUSTOMER, reason=str(result.error)))
    return account_writes, contact_writes, duplicates


def written_at(entity: dict, qb: QuickBooks) -> str:
    """``Last_Sync_Date__c`` of a customer the load just wrote to QuickBooks: QuickBooks' own
    ``LastUpdatedTime`` of that write (``rules.sync_stamps``; R-GEN-7 on Intuit's clock: R-ACC-5
    compares the two), or Intuit's time now when the answer lacks it."""
    (stamp,) = rules.sync_stamps(
        pd.Series([(entity.get("MetaData") or {}).get("LastUpdatedTime")]), None
    )
    return stamp or sf_datetime(qb.clock.now())


def _adopt_duplicates(
    duplicates, contacts, sf, qb: QuickBooks, done, contact_writes, just_linked, notes
) -> list[dict]:
    """A create refused as a duplicate name: if that QuickBooks customer is linked to no
    Account, it is the one an interrupted earlier attempt created (or a same-named customer
    made in QuickBooks since the first run): link it instead of failing (R-GEN-3). Names are
    compared as QuickBooks compares them for uniqueness (``name_key``: case and surrounding
    spaces ignored), so "ZETA LLC" adopts the unlinked "Zeta LLC" it was refused for; such a
    link is a WARNING naming both records (``notes``, R-ACC-11). A customer already linked to
    this very Account (an earlier attempt recorded the link) is recovered as it is."""
    wanted_by = Counter(rules.name_key(name) for name in duplicates.values())
    found, owner = _same_named_customers(duplicates, sf, qb)
    stamp = sf_datetime(qb.clock.now())  # the link's time on Intuit's clock (R-ACC-5)
    writes = []
    for key, name in duplicates.items():
        qb_id, qb_name = found.get(rules.name_key(name), (None, None))
        refused = _not_adopted(
            key, name, qb_id, wanted_by[rules.name_key(name)], owner, just_linked
        )
        if refused is not None:
            done.append(refused)
            continue
        done.append(
            outcome(
                key,
                UPDATED,
                record=QB_CUSTOMER,
                target_id=qb_id,
                reason="linked to the existing QuickBooks customer of the same name",
            )
        )
        if rules.case_only_difference(name, qb_name):
            notes.append(
                warning(rules.AREA, key, rules.same_name_link(key, name, qb_id, qb_name), NOTE_KIND)
            )
        writes.append(
            {
                "Id": key,
                rules.ACCOUNT_EXT_ID: qb_id,
                "Last_Sync_Date__c": stamp,
                "Sync_Me__c": False,
            }
        )
        if not missing(contacts.get(key)):
            contact_writes.append(
                {
                    "Id": contacts[key],
                    rules.CONTACT_EXT_ID: qb_id,
                    rules.ACCOUNT_EXT_ID: qb_id,
                    "Last_Sync_Date__c": stamp,
                }
            )
    return writes


def _same_named_customers(
    duplicates: dict[str, str], sf, qb: QuickBooks
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """(name key -> (Id, name) of the QuickBooks customers the refused creates' names are taken
    by, compared as QuickBooks compares names (R-ACC-11); QuickBooks Id -> the Account already
    linked to it): one QuickBooks and one Salesforce query."""
    found: dict[str, tuple[str, str]] = {}
    for record in qb.query_in(
        "Customer", "DisplayName", sorted(set(duplicates.values())), include_inactive=True
    ):
        found[rules.name_key(record["DisplayName"])] = (str(record["Id"]), record["DisplayName"])
    linked = ex.sf_accounts_linked_to(sf, [i for i, _ in found.values()])
    owner = dict(
        zip(linked[rules.ACCOUNT_EXT_ID].astype(str), linked["Id"].astype(str), strict=True)
    )
    return found, owner


def _not_adopted(
    key: str,
    name: str,
    qb_id: str | None,
    wanted: int,
    owner: dict[str, str],
    just_linked: set,
) -> dict | None:
    """The outcome of a create refused as a duplicate name whose same-named customer is not
    adopted: a name several Accounts want, a customer this Account already links (recovered),
    or one linked elsewhere or not found (R-GEN-3); None when it can be linked."""
    if wanted > 1:
        return outcome(
            key,
            FAILED,
            record=QB_CUSTOMER,
            reason=(
                f"{wanted} Salesforce accounts are named {name!r} "
                "and QuickBooks already has that name: link the right one (External "
                "Account ID) or rename the others"
            ),
        )
    if qb_id is not None and owner.get(qb_id) == str(key):
        return outcome(
            key,
            RECOVERED,
            record=QB_CUSTOMER,
            target_id=qb_id,
            reason="already linked to this Account by an earlier attempt",
        )
    if qb_id is None or qb_id in owner or qb_id in just_linked:
        other = (
            (
                f" (QuickBooks customer {qb_id} is already linked to Account "
                f"{owner.get(qb_id, 'written in this run')})"
            )
            if qb_id
            else ""
        )
        return outcome(
            key,
            FAILED,
            record=QB_CUSTOMER,
            reason=(f"QuickBooks already has a customer, vendor or employee named {name!r}{other}"),
        )
    return None


def upsert_waves(accounts: pd.DataFrame) -> pd.Series:
    """The call wave of each Account upsert: 0, unless its parent customer is upserted in the
    same load, then one after its parent's (a sub-customer's Parent reference must find the
    parent Account). Parents written earlier need no wave of their own, so a load of changed
    customers at mixed levels goes in one call per 200 (QuickBooks nests at most 5 levels)."""
    ext = accounts[rules.ACCOUNT_EXT_ID].astype(str).to_numpy()
    position = pd.Series(np.arange(len(ext)), index=ext)
    position = position[~position.index.duplicated()]
    parents = accounts["parent_ext_id"].map(lambda v: None if missing(v) else str(v))
    parent_at = parents.map(position).to_numpy(dtype=float)
    has_parent = ~np.isnan(parent_at)
    parent_at = np.where(has_parent, parent_at, 0).astype(int)
    wave = np.zeros(len(ext), dtype=int)
    for _ in range(len(ext)):
        following = np.where(has_parent, wave[parent_at] + 1, 0)
        if (following == wave).all():
            break
        wave = following
    return pd.Series(wave, index=accounts.index)


def _write_accounts(plan: Plan, sf, done: list[dict], maps: dict, stamp: str) -> None:
    """QB -> SF Account upserts by External Account ID, parents before their sub-customers;
    each stamped as its plan says (``areas.customers.sync_stamps``), else ``stamp``."""
    accounts: pd.DataFrame = plan["accounts"]
    if accounts.empty:
        return
    fields = maps["customer_to_account"].target_fields
    for _, level in accounts.groupby(upsert_waves(accounts), sort=True):
        records = []
        for row in level.to_dict("records"):
            record = {f: (None if missing(row.get(f)) else row[f]) for f in fields}
            record[rules.ACCOUNT_EXT_ID] = row[rules.ACCOUNT_EXT_ID]
            record["Last_Sync_Date__c"] = _stamp(row, stamp)
            if not missing(row.get("parent_ext_id")):
                record["Parent"] = {rules.ACCOUNT_EXT_ID: str(row["parent_ext_id"])}
            records.append(record)
        for row in sf_outcomes(
            sf.upsert("Account", records, ext_id_field=rules.ACCOUNT_EXT_ID), "Account"
        ):
            row["key"] = f"QB:{row['key']}"
            done.append(row)


def _stamp(row: dict, stamp: str) -> str:
    return stamp if missing(row.get("Last_Sync_Date__c")) else row["Last_Sync_Date__c"]


def _releases(plan: Plan) -> list[tuple[str, dict]]:
    """(customer Id, Contact write) of each Contact that stops being the billing Contact or gives
    up the customer's link (unique) for another person (R-ACC-10), logged."""
    releases = plan.get("contact_releases")
    out = []
    logged = []
    for row in releases.to_dict("records") if releases is not None and len(releases) else []:
        write = {"Id": row["Id"]}
        if not missing(row.get("Is_Billing_Contact__c")):
            write["Is_Billing_Contact__c"] = bool(row["Is_Billing_Contact__c"])
        if row.get("clear_link") is True or str(row.get("clear_link")) == "True":
            write[rules.CONTACT_EXT_ID] = None
        out.append((str(row["customer_id"]), write))
        what = (
            "it is no longer the billing Contact"
            if "Is_Billing_Contact__c" in write
            else "it no longer carries the customer's link"
        )
        key = f"QB:{row['customer_id']} contact"
        log.debug("customers: %s: Contact %s: %s: %s", key, row["Id"], row["reason"], what)
        logged.append({"key": key, "reason": f"{row['reason']}: {what}"})
    if logged:  # one line per reason, with a few named: routine, not a problem
        frame = pd.DataFrame(logged).assign(record=SF_CONTACT)
        log_by_reason(log, rules.AREA, frame, "updated", names=plan.get("names"))
    return out


def _release_failed(customer: str, result, done: list[dict]) -> None:
    done.append(
        outcome(
            f"QB:{customer} contact",
            FAILED,
            record=SF_CONTACT,
            reason=(
                f"Contact {result.key} could not give up the billing role or the link "
                f"({describe_issues(result.errors)}): the customer's contact person waits for the "
                "next run"
            ),
        )
    )


def _write_contacts(
    plan: Plan, sf, done: list[dict], maps: dict, links: list[dict], stamp: str
) -> None:
    """QB -> SF billing Contacts (R-ACC-8, R-ACC-10): old ones released, then the same person's
    Contact updated in place (or linked by name), else one upserted by the customer's Id. The
    releases and updates share one call with ``links`` (the Contact side of new links) and with
    clearing ticked Contacts' Sync Me (R-GEN-9), releases first; the upserts come after, and a
    customer whose release failed is not upserted (its old Contact would be renamed). Only a
    release whose link another existing Contact takes in this load goes in a call of its own,
    before (the link is unique). Stamped like the Accounts."""
    contacts: pd.DataFrame = plan["contacts"]
    fields = maps["customer_to_contact"].target_fields
    rows = contacts.to_dict("records") if not contacts.empty else []
    taking = {str(r["customer_id"]) for r in rows if not missing(r.get("contact_id"))}
    releases = _releases(plan)
    first = [(c, w) for c, w in releases if rules.CONTACT_EXT_ID in w and c in taking]
    blocked = set()
    customer_of = {str(w["Id"]): c for c, w in releases}
    for result in sf.update("Contact", [w for _, w in first]) if first else []:
        if not result.ok:
            blocked.add(customer_of[str(result.key)])
            _release_failed(customer_of[str(result.key)], result, done)
    by_id, by_ext = [], []
    for row in rows:
        if str(row["customer_id"]) in blocked:
            continue
        record = {f: (None if missing(row.get(f)) else row[f]) for f in fields}
        record.update(
            {
                rules.CONTACT_EXT_ID: row[rules.CONTACT_EXT_ID],
                rules.ACCOUNT_EXT_ID: row[rules.ACCOUNT_EXT_ID],
                "Is_Billing_Contact__c": True,
                "Last_Sync_Date__c": _stamp(row, stamp),
            }
        )
        if missing(row.get("contact_id")):
            record["Account"] = {rules.ACCOUNT_EXT_ID: row[rules.ACCOUNT_EXT_ID]}
            by_ext.append(record)
        else:
            by_id.append({"Id": row["contact_id"], **record})
    linking = {str(w["Id"]) for w in links}
    updating = {str(r["Id"]): str(r[rules.CONTACT_EXT_ID]) for r in by_id}
    released = {str(w["Id"]) for c, w in releases if (c, w) not in first}
    merged: dict[str, dict] = {}
    for record in [
        *(w for c, w in releases if (c, w) not in first),
        *({"Id": c, "Sync_Me__c": False} for c in plan.get("clear_contact_sync_me") or []),
        *links,
        *by_id,
    ]:
        merged.setdefault(str(record["Id"]), {}).update(record)
    for result in sf.update("Contact", list(merged.values())) if merged else []:
        contact_id = str(result.key)
        if contact_id in released and not result.ok:
            blocked.add(customer_of[contact_id])
            _release_failed(customer_of[contact_id], result, done)
        if contact_id in linking and not result.ok:
            done.append(
                outcome(
                    contact_id,
                    FAILED,
                    record=SF_CONTACT,
                    reason="billing Contact link: " + describe_issues(result.errors),
                )
            )
        if contact_id in updating:
            (row,) = sf_outcomes([result], "Contact")
            done.append({**row, "key": f"QB:{updating[contact_id]} contact"})
        elif not result.ok and contact_id not in linking and contact_id not in released:
            log.warning(
                "customers: Contact %s: Sync Me could not be cleared: %s",
                contact_id,
                describe_issues(result.errors),
            )
    by_ext = [r for r in by_ext if str(r[rules.CONTACT_EXT_ID]) not in blocked]
    for row in sf_outcomes(
        sf.upsert("Contact", by_ext, ext_id_field=rules.CONTACT_EXT_ID) if by_ext else [], "Contact"
    ):
        row["key"] = f"QB:{row['key']} contact"
        done.append(row)


def _without(frame: pd.DataFrame, qb_ids: set[str]) -> pd.DataFrame:
    if frame.empty or rules.ACCOUNT_EXT_ID not in frame.columns:
        return frame
    return frame[~frame[rules.ACCOUNT_EXT_ID].astype(str).isin(qb_ids)]


def load(
    run: RunContext, plan: Plan, *, sf=None, qb: QuickBooks | None = None, state=None
) -> AreaReport:
    """Apply the plan: QuickBooks writes first (their Ids link back to Salesforce), then the
    Salesforce writes. Returns the area report with the records to retry next run.

    The QuickBooks -> Salesforce upserts wait for the links: a create QuickBooks refuses as a
    duplicate name is linked to that customer first (``_adopt_duplicates``), so the customer's
    upsert updates that Account instead of making a second one. (Sending the upserts beside the
    throttled QuickBooks batch saved ~9 s at 10k customers and broke exactly this.)"""
    sf, qb, state = sf or salesforce_hook(), qb or quickbooks_hook(run), state or sync_state()
    done: list[dict] = []

    maps = customer_maps(run)
    notes: list[dict] = []
    account_writes, contact_links, adopted = _write_to_quickbooks(
        plan, sf, qb, done, run["run_id"], maps, state, notes
    )
    written = {w["Id"] for w in account_writes}
    failed_now = {d["key"] for d in done if d["action"] == FAILED}
    account_writes += [
        {"Id": key, "Sync_Me__c": False}
        for key in plan["clear_sync_me"]
        if key not in written and key not in failed_now
    ]
    unlinked = set()
    if account_writes:
        for result in sf.update("Account", account_writes):
            if not result.ok:
                unlinked.add(str(result.key))
                done.append(
                    outcome(
                        result.key,
                        FAILED,
                        record=SF_ACCOUNT,
                        reason="recording the link in Salesforce: "
                        + describe_issues(result.errors),
                    )
                )
    pending = state.pending_creates(rules.AREA)
    if pending:  # once its link is recorded, nothing of a create is left to adopt
        state.save_pending_creates(
            rules.AREA,
            {k: v for k, v in pending.items() if k not in written or k in unlinked},
            run_id=run["run_id"],
        )
    if adopted:  # their values come from the Account this run; last run's customer values are stale
        plan = {
            **plan,
            "accounts": _without(plan["accounts"], adopted),
            "contacts": _without(plan["contacts"], adopted),
        }
    stamp = sf_datetime(qb.clock.now())  # for plan rows without a stamp of their own
    _write_accounts(plan, sf, done, maps, stamp)
    _write_contacts(plan, sf, done, maps, contact_links, stamp)

    frame = outcomes(done)
    skipped = pd.concat([plan["skips"]], ignore_index=True)
    log_problems(log, rules.AREA, skipped, frame, names=plan.get("names"))
    notes = warnings_of(rules.AREA, plan["notes"], NOTE_KIND) + notes
    for note in notes:
        log.warning("%s", warning_line(note))
    report = area_report(rules.AREA, skipped, frame, considered=plan.get("considered"))
    add_warnings(report, notes + plan.get("quality", []))
    failed = frame[frame["action"] == FAILED]["key"].astype(str)
    # Failed writes, and records held back by a value their target cannot take whole.
    keys = [*failed, *plan.get("retry", [])]
    report["retry"] = {
        QB_STREAM: sorted({k.split(":")[1].split()[0] for k in keys if k.startswith("QB:")}),
        SF_STREAM: sorted({k for k in keys if not k.startswith("QB:")}),
    }
    return report


def commit(
    run: RunContext, extracted: Extract, report: AreaReport, *, state=None
) -> dict[str, str]:
    """After a successful load: save the records to retry, mark the first run's export done
    (R-GEN-6: later runs read changes only), then move the watermarks."""
    from sfqb.steps.common import commit_area

    state = state or sync_state()
    if extracted.get("first_export"):
        state.mark_first_run_done(
            rules.FIRST_EXPORT,
            run_id=run["run_id"],
            now=dt.datetime.now(dt.UTC),
            details={
                "customers": len(extracted["qb_changed"]),
                "accounts": len(extracted["sf_changed"]),
            },
        )
    return commit_area(run, extracted, report, state)
