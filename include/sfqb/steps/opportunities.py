"""The opportunity area's I/O (docs/rules.md section 3, SF -> QB): extract, plan, load, commit.

Keys in outcomes: the Opportunity Id, so every WARNING names a record a person can open.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import NotRequired, TypedDict

import pandas as pd

from sfqb import qbo_queries, soql
from sfqb.areas import opportunities as rules
from sfqb.frames import is_true, isin, isna, records_frame
from sfqb.hooks.interface import QuickBooks, Read
from sfqb.mapping.same import ZERO, money
from sfqb.outcomes import (
    CREATED,
    FAILED,
    NOTE_KIND,
    RECOVERED,
    UPDATED,
    AreaReport,
    add_warnings,
    area_report,
    count,
    empty_skips,
    log_problems,
    outcome,
    outcomes,
    quickbooks_record,
    warning,
    warning_line,
)
from sfqb.run_params import RunContext
from sfqb.steps.common import (
    AreaExtract,
    due_retries,
    names_of,
    plan_names,
    preferences,
    quickbooks_hook,
    run_windows,
    salesforce_hook,
    sync_state,
    waiting_retries,
)
from sfqb.steps.load import describe_issues, now_stamp
from sfqb.windows import Window

log = logging.getLogger(__name__)

SF_STREAM = rules.SF_STREAM
ITEM_COLUMNS = ["Id", "FullyQualifiedName", "Active", "Type"]


class Extract(AreaExtract):
    """The won Opportunities to consider and what their transactions would name (the fields of
    ``rules.OpportunityInputs``)."""

    opportunities: pd.DataFrame
    """Won, changed in the window (R-OPP-9), ticked Sync Me (R-GEN-9) or to retry."""
    lines: pd.DataFrame
    """The Opportunity Products of those not yet in QuickBooks."""
    contacts: pd.DataFrame
    """Their primary contact roles."""
    items: pd.DataFrame
    """The QuickBooks items their lines name (ITEM_COLUMNS)."""
    terms: dict[str, str]
    """QuickBooks term name -> Id (read only when an Opportunity names one)."""
    classes: dict[str, str]
    """QuickBooks class full name -> Id (likewise)."""
    custom_fields: dict[str, str]
    """Sales-form custom field name -> its slot (``custom_field_names``)."""
    inactive_customers: list[str]
    """Their QuickBooks customers that are inactive (QuickBooks refuses them a transaction)."""
    desktop_edition: NotRequired[str | None]
    """On QuickBooks Desktop, the company file's edition (``pro`` has no Sales Orders, R-QBD-5)."""
    orders: NotRequired[str]
    """JSON list of the Desktop Sales Orders linked Opportunities name, as QuickBooks has them
    (read only while allow_salesforce_to_modify_quickbooks is on, R-OPP-6)."""


class Plan(TypedDict):
    """The transactions to create (``rules.OpportunityPlan``) and the skips."""

    creates: pd.DataFrame
    skips: pd.DataFrame
    retry: list[str]
    updates: NotRequired[pd.DataFrame]
    """Desktop Sales Orders to change (``rules.UPDATE_COLUMNS``, R-OPP-6)."""
    install_date: str
    """Where the search for an earlier attempt's transactions starts (``created_before``)."""
    considered: list[str]
    """The Opportunity Ids read (R-OPS-3)."""
    names: NotRequired[dict[str, str]]
    """Key -> the record's name, for the load's log lines."""


def opportunity_maps(run: RunContext) -> tuple:
    """The effective (header, line) maps of the opportunity area (defaults + custom rows)."""
    from sfqb.mapping.maps import effective_map

    prefs = preferences(run)
    return effective_map(rules.HEADER_MAP, prefs), effective_map(rules.LINE_MAP, prefs)


def _empty(windows: dict, fields=None) -> Extract:
    opp_fields, line_fields, contact_fields = fields or (
        rules.OPPORTUNITY_FIELDS,
        rules.LINE_FIELDS,
        rules.CONTACT_FIELDS,
    )
    return {
        "windows": windows,
        "opportunities": records_frame([], opp_fields),
        "lines": records_frame([], line_fields),
        "contacts": records_frame([], contact_fields),
        "items": records_frame([], ITEM_COLUMNS),
        "terms": {},
        "classes": {},
        "custom_fields": {},
        "inactive_customers": [],
    }


def custom_field_names(preferences_record: dict) -> dict[str, str]:
    """Sales-form custom field name -> DefinitionId, from QuickBooks Online Preferences (the
    slots the company switched on: ``SalesFormsPrefs.UseSalesCustomN`` / ``SalesCustomNameN``)."""
    groups = (preferences_record.get("SalesFormsPrefs") or {}).get("CustomField") or []
    values = {f.get("Name"): f for group in groups for f in group.get("CustomField") or []}
    names = {}
    for slot in ("1", "2", "3"):
        used = values.get(f"SalesFormsPrefs.UseSalesCustom{slot}", {}).get("BooleanValue")
        name = values.get(f"SalesFormsPrefs.SalesCustomName{slot}", {}).get("StringValue")
        if used in (True, "true") and name:
            names[name] = slot
    return names


def extract(run: RunContext, *, sf=None, qb: QuickBooks | None = None, state=None) -> Extract:
    """Won opportunities changed in the window (R-OPP-9), ticked Sync Me (R-GEN-9) or to retry,
    with their products, primary contacts, and the QuickBooks items, terms and classes the
    transactions would name."""
    state = state or sync_state()
    if not preferences(run).sync_won_opportunities:
        log.info(
            "opportunities: sync_won_opportunities is off: no opportunity is sent to QuickBooks "
            "(R-OPP-8)"
        )
        return _empty({})
    windows = run_windows(run, [SF_STREAM], state)
    sf = sf or salesforce_hook()
    header_map, line_map = opportunity_maps(run)
    fields, line_fields, contact_fields = read = rules.read_fields(header_map, line_map)
    records: list[dict] = []
    if sf_window := windows[SF_STREAM]:
        window = Window.from_xcom(sf_window)
        records += sf.query_window(
            "Opportunity", fields, window.start, window.end, where=soql.eq("IsWon", True)
        )
    # A ticked opportunity that failed several runs in a row waits for its retry (R-GEN-9), unless
    # it changed (the window read it).
    waiting = waiting_retries(run, SF_STREAM, state) - {r["Id"] for r in records}
    ticked = sf.query(soql.select("Opportunity", fields, where=[soql.eq("Sync_Me__c", True)]))
    records += [r for r in ticked if r["Id"] not in waiting]
    records += sf.query_in("Opportunity", fields, "Id", due_retries(run, SF_STREAM, state))
    opps = records_frame(list({r["Id"]: r for r in records}.values()), fields)
    out = _empty(windows, read) | {"opportunities": opps}
    prefs = preferences(run)
    linked = rules.linked_sales_orders(opps, prefs.is_online)
    updating = linked & prefs.allow_salesforce_to_modify_quickbooks
    candidates = opps.loc[(is_true(opps["IsWon"]) & isna(opps[rules.EXT_TXN])) | updating, "Id"]
    log.info(
        "opportunities: %d won opportunities to consider, %d not yet in QuickBooks",
        len(opps),
        len(candidates),
    )
    if candidates.empty:
        return out
    lines = records_frame(
        sf.query_in("OpportunityLineItem", line_fields, "OpportunityId", candidates), line_fields
    )
    contacts = records_frame(
        sf.query_in(
            "OpportunityContactRole",
            contact_fields,
            "OpportunityId",
            candidates,
            where=soql.eq("IsPrimary", True),
        ),
        contact_fields,
    )
    qb = qb or quickbooks_hook(run)
    # QuickBooks makes no transaction for an inactive customer (its refusal names neither side).
    customers = opps.loc[isin(opps["Id"], candidates), rules.ACCOUNT_EXT].dropna().astype(str)
    chosen = opps[isin(opps["Id"], candidates)]
    term_source, class_source = (
        rules.source_of(header_map, t) for t in ("SalesTermRef.name", "ClassRef.name")
    )

    def named(source) -> bool:
        return bool(source) and source in chosen.columns and chosen[source].notna().any()

    lists = [e for e, source in (("Term", term_source), ("Class", class_source)) if named(source)]
    order_ids = opps.loc[updating, rules.EXT_TXN].astype(str)
    # Independent reads, asked together: on Desktop one Web Connector session answers them all.
    by_id, inactive_customers, by_code, *named_lists, orders = qb.query_all_together(
        [
            Read("Item", among=("Id", lines[rules.ITEM_EXT])),
            Read("Customer", [qbo_queries.equals("Active", False)], among=("Id", customers)),
            Read("Item", among=("FullyQualifiedName", lines["Product2.ProductCode"])),
            *(Read(e) for e in lists),
            Read("SalesOrder", among=("Id", order_ids)),
        ]
    )
    items = list(by_id)
    inactive = sorted(str(c["Id"]) for c in inactive_customers)
    items += by_code
    found = dict(zip(lists, named_lists, strict=True))
    terms = {t["Name"]: str(t["Id"]) for t in found.get("Term", [])}
    classes = {c["FullyQualifiedName"]: str(c["Id"]) for c in found.get("Class", [])}
    company = qb.preferences()
    return out | {
        "orders": json.dumps(list(orders), default=str),
        "lines": lines,
        "contacts": contacts,
        "items": records_frame(list({str(i["Id"]): i for i in items}.values()), ITEM_COLUMNS),
        "terms": terms,
        "classes": classes,
        "custom_fields": custom_field_names(company),
        "inactive_customers": inactive,
        "desktop_edition": company.get("Edition"),
    }


def plan(run: RunContext, extracted: Extract) -> Plan:
    """The pure rules over the extracted frames (XCom-ready)."""
    prefs = preferences(run)
    inputs = rules.OpportunityInputs(
        opportunities=extracted["opportunities"],
        lines=extracted["lines"],
        contacts=extracted["contacts"],
        items=extracted["items"],
        terms=extracted["terms"],
        classes=extracted["classes"],
        custom_fields=extracted["custom_fields"],
        inactive_customers=frozenset(extracted.get("inactive_customers", [])),
    )
    today = dt.datetime.fromisoformat(run["upper_bound"]).date()
    from sfqb.mapping.coerce import target_limits

    header_map, line_map = opportunity_maps(run)
    limits = {m.pair: target_limits(m) for m in (header_map, line_map)}
    result = rules.plan_opportunities(
        inputs,
        online=prefs.is_online,
        today=today,
        header_map=header_map,
        line_map=line_map,
        limits=limits,
        desktop_edition=extracted.get("desktop_edition"),
        orders={str(o["Id"]): o for o in json.loads(extracted.get("orders") or "[]")},
        modify=prefs.allow_salesforce_to_modify_quickbooks,
    )
    for note in result.notes:
        log.info("opportunities: %s", note)
    log.info(
        "opportunities plan: %d QuickBooks transactions to create, %d sales orders to update; "
        "%d skipped",
        len(result.creates),
        len(result.updates),
        len(result.skips),
    )
    planned: Plan = {
        "creates": result.creates,
        "updates": result.updates,
        "skips": result.skips,
        "retry": result.retry,
        "install_date": run["install_date"],
        "considered": [str(i) for i in extracted["opportunities"]["Id"].tolist()],
    }
    planned["names"] = plan_names(
        planned, lambda keys: names_of(extracted["opportunities"], "Name", keys=keys)
    )
    return planned


def created_before(qb: QuickBooks, creates: pd.DataFrame, since: str) -> dict[str, dict]:
    """Transactions an earlier, interrupted attempt created for these opportunities (found by
    the PrivateNote marker among their customers' transactions since ``since``): key -> entity."""
    from sfqb.qbo_queries import condition

    wanted = {rules.marker(k): k for k in creates["key"]}
    found: dict[str, dict] = {}
    stamp = dt.datetime.fromisoformat(since)
    for entity, group in creates.groupby("entity"):
        for record in qb.query_in(
            entity,
            "CustomerRef",
            group["customer_id"],
            where=[condition("MetaData.CreateTime", ">=", stamp)],
        ):
            key = wanted.get(record.get("PrivateNote") or "")
            if key is not None:
                found[key] = record
    return found


def _sales_lines(entity: dict) -> list[dict]:
    return [
        line for line in entity.get("Line") or [] if line.get("DetailType") == "SalesItemLineDetail"
    ]


def _total_differences(creates: pd.DataFrame, made: dict[str, dict]) -> list[dict]:
    """Money check: QuickBooks' total of each new transaction against the Opportunity Products'
    amounts; a difference (sales tax, a discount QuickBooks added) is reported, never hidden."""
    out = []
    for row in creates[creates["key"].isin(made)].itertuples():
        entity = made[row.key]
        sent = sum((money(line["Amount"], ZERO) for line in json.loads(row.payload)["Line"]), ZERO)
        total = money(entity.get("TotalAmt"))
        if total is not None and total != sent:
            out.append(
                warning(
                    rules.AREA,
                    row.key,
                    f"QuickBooks {row.entity} {entity.get('DocNumber') or entity['Id']} "
                    f"totals {total}, the Opportunity Products {sent}: the difference "
                    f"({total - sent}) comes from QuickBooks (tax, discounts)",
                    NOTE_KIND,
                )
            )
    return out


def _values_from_qb(
    transactions: list[tuple[str, dict]], header_map, limits: dict | None = None
) -> list[dict]:
    """What QuickBooks made of each new transaction, ``(entity name, record)`` (dates it filled
    in, address blocks, number), as the Opportunity fields the QuickBooks -> Salesforce direction
    maps it to: recorded with the link, so that direction finds both sides equal on its next run
    (R-GEN-4). A custom row's value that does not fit its field (``limits``) is left out: the
    link must not fail, and the way back warns about it on its next run. All in one frame (a
    frame per transaction cost ~45 ms each: 50 s for a first run's 1,147 at 10k customers)."""
    from sfqb.areas import transactions as back
    from sfqb.mapping.coerce import fit_value
    from sfqb.steps.transactions import transaction_frames

    if not transactions:
        return []
    header, _ = transaction_frames(transactions, back.read_columns(header_map, header_map)[0])
    out = back.header_changes(header, header_map)
    for values in out:
        for target, limit in (limits or {}).items():
            if target in values and fit_value(values[target], limit)[1]:
                values.pop(target)
    return out


def _link_writes(
    kind: str, key: str, entity: dict, line_ids: list[str], stamp: str, values: dict
) -> tuple[dict, list[dict]]:
    """The Opportunity's link fields (R-OPP-4), after ``values`` (``_values_from_qb``), and each
    Opportunity Product's line link (R-OPP-3)."""
    opportunity = {
        "Id": key,
        **values,
        rules.EXT_TXN: str(entity["Id"]),
        rules.TXN_NUMBER: entity.get("DocNumber"),
        "Last_Sync_Date__c": stamp,
        "Sync_Me__c": False,
    }
    lines = [
        {
            "Id": oli,
            "External_Line_ID__c": rules.line_external_id(kind, entity["Id"], line.get("Id")),
            "External_Line_Index__c": line.get("LineNum"),
        }
        for oli, line in zip(line_ids, _sales_lines(entity), strict=False)
    ]
    return opportunity, lines


def _create(
    run: RunContext, creates: pd.DataFrame, install_date: str, qb: QuickBooks, done: list[dict]
) -> tuple[dict[str, dict], frozenset[str]]:
    """The QuickBooks transactions of ``creates`` (key -> entity), and the keys of those an
    interrupted attempt already made (adopted); the rest are created in batches of 30 with a
    requestid per batch."""
    from sfqb.hooks.quickbooks import BatchOp, request_id_for

    made = created_before(qb, creates, install_date)
    adopted = frozenset(made)
    todo = creates[~creates["key"].isin(made)]
    ops = [
        BatchOp(row.key, "create", row.entity, json.loads(row.payload)) for row in todo.itertuples()
    ]
    kind_of = dict(zip(todo["key"], todo["entity"], strict=True))
    for result in (
        qb.batch(ops, request_id=request_id_for(run["run_id"], rules.AREA)) if ops else []
    ):
        if result.ok:
            made[result.key] = result.record
        else:
            done.append(
                outcome(
                    result.key,
                    FAILED,
                    record=quickbooks_record(kind_of[result.key]),
                    reason=str(result.error),
                )
            )
    return made, adopted


def _link(
    creates: pd.DataFrame,
    made: dict[str, dict],
    sf,
    done: list[dict],
    back_map,
    recovered: frozenset[str] = frozenset(),
) -> None:
    """Record each transaction on its Opportunity and its lines on the Opportunity Products
    (``back_map``: the effective QuickBooks -> Opportunity header map; its custom targets' lengths
    cost one describe, only when it has custom rows). The transactions of ``recovered`` (made by
    an interrupted earlier attempt) count as recovered, not created (R-GEN-11)."""
    from sfqb.mapping.coerce import limits_for

    back_limits = limits_for([back_map], sf.describe).get(back_map.pair, {})
    stamp = now_stamp()
    opportunity_writes, line_writes = [], []
    linking = list(creates[creates["key"].isin(made)].itertuples())
    values = _values_from_qb(
        [(row.entity, made[row.key]) for row in linking], back_map, back_limits
    )
    for row, mapped in zip(linking, values, strict=True):
        opportunity, lines = _link_writes(
            row.entity, row.key, made[row.key], json.loads(row.line_ids), stamp, mapped
        )
        opportunity_writes.append(opportunity)
        line_writes += lines
    kind_of = dict(zip(creates["key"], creates["entity"], strict=True))
    for result in sf.update("Opportunity", opportunity_writes) if opportunity_writes else []:
        entity, record = made[result.key], quickbooks_record(kind_of[result.key])
        if result.ok:
            done.append(
                outcome(
                    result.key,
                    RECOVERED if result.key in recovered else CREATED,
                    record=record,
                    target_id=entity["Id"],
                    reason=f"QuickBooks {entity.get('DocNumber') or entity['Id']}",
                )
            )
        else:
            done.append(
                outcome(
                    result.key,
                    FAILED,
                    record=record,
                    target_id=entity["Id"],
                    reason=(
                        f"QuickBooks transaction {entity['Id']} created, but linking the "
                        f"Opportunity failed ({describe_issues(result.errors)}); the next run "
                        "links it"
                    ),
                )
            )
    for result in sf.update("OpportunityLineItem", line_writes) if line_writes else []:
        if not result.ok:
            log.warning(
                "opportunities: Opportunity Product %s: line link not saved: %s",
                result.key,
                describe_issues(result.errors),
            )


def _update_orders(
    run: RunContext, updates: pd.DataFrame, qb: QuickBooks, sf, done: list[dict]
) -> None:
    """R-OPP-6, R-QBD-6: send each Sales Order change (SalesOrderMod with its EditSequence),
    then link the lines it added to their Opportunity Products (R-OPP-3) and stamp the
    Opportunity; one outcome per Opportunity."""
    from sfqb.hooks.quickbooks import BatchOp, request_id_for

    rows = {row.key: row for row in updates.itertuples()}
    payloads = {row.key: json.loads(row.payload) for row in rows.values()}
    ops = [BatchOp(key, "update", row.entity, payloads[key]) for key, row in rows.items()]
    stamp = now_stamp()
    opportunity_writes, line_writes = [], []
    for result in qb.batch(ops, request_id=request_id_for(run["run_id"], f"{rules.AREA}-update")):
        row, record = rows[result.key], quickbooks_record("SalesOrder")
        if not result.ok:
            done.append(outcome(result.key, FAILED, record=record, reason=str(result.error)))
            continue
        order, payload = result.record, payloads[result.key]
        sent = {str(line.get("Id")) for line in payload.get("Line") or []}
        added = [
            line
            for line in (_sales_lines(order) if "Line" in payload else [])
            if str(line.get("Id")) not in sent
        ]
        for product, line in zip(json.loads(row.new_line_ids), added, strict=False):
            line_writes.append(
                {
                    "Id": product,
                    "External_Line_ID__c": rules.line_external_id(
                        "SalesOrder", order["Id"], line.get("Id")
                    ),
                    "External_Line_Index__c": line.get("LineNum"),
                }
            )
        opportunity_writes.append({"Id": row.key, "Last_Sync_Date__c": stamp, "Sync_Me__c": False})
        done.append(
            outcome(
                result.key,
                UPDATED,
                record=record,
                target_id=order["Id"],
                reason=f"QuickBooks Sales Order {order.get('DocNumber') or order['Id']}",
            )
        )
    for results in (
        sf.update("OpportunityLineItem", line_writes) if line_writes else [],
        sf.update("Opportunity", opportunity_writes) if opportunity_writes else [],
    ):
        for written in results:
            if not written.ok:
                log.warning(
                    "opportunities: %s: link not saved after the Sales Order update: %s",
                    written.key,
                    describe_issues(written.errors),
                )


def load(run: RunContext, plan: Plan, *, sf=None, qb: QuickBooks | None = None) -> AreaReport:
    """Create the transactions (never twice for one opportunity, R-GEN-3), then link them in
    Salesforce; one outcome per opportunity."""
    creates: pd.DataFrame = plan["creates"]
    skipped = plan["skips"] if len(plan["skips"]) else empty_skips()
    done: list[dict] = []
    notes: list[dict] = []
    if len(creates):
        sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
        made, adopted = _create(run, creates, plan["install_date"], qb, done)
        notes = [
            warning(
                rules.AREA,
                key,
                f"QuickBooks {made[key].get('DocNumber') or made[key]['Id']} was created "
                "by an earlier, interrupted attempt: it is linked instead of created again "
                "(R-GEN-3)",
                NOTE_KIND,
            )
            for key in sorted(adopted)
        ]
        notes += _total_differences(creates, made)
        from sfqb.steps.transactions import transaction_maps

        _link(creates, made, sf, done, transaction_maps(run)[0], recovered=adopted)
    updates = plan.get("updates")
    if updates is not None and len(updates):
        sf, qb = sf or salesforce_hook(), qb or quickbooks_hook(run)
        _update_orders(run, updates, qb, sf, done)
    frame = outcomes(done)
    log_problems(log, rules.AREA, skipped, frame, names=plan.get("names"))
    for note in notes:
        log.warning("%s", warning_line(note))
    report = add_warnings(
        area_report(rules.AREA, skipped, frame, considered=plan.get("considered")), notes
    )
    failed = set(frame.loc[frame["action"] == FAILED, "key"].astype(str))
    report["retry"] = {SF_STREAM: sorted(set(plan["retry"]) | failed)}
    log.info(
        "opportunities: %d QuickBooks transactions created, %d recovered, %d sales orders "
        "updated, %d failed",
        count(report, CREATED),
        count(report, RECOVERED),
        count(report, UPDATED),
        count(report, FAILED),
    )
    return report


def commit(
    run: RunContext, extracted: Extract, report: AreaReport, *, state=None
) -> dict[str, str]:
    """After a successful load: save the opportunities to retry, then move the watermark."""
    from sfqb.steps.common import commit_area

    return commit_area(run, extracted, report, state)
