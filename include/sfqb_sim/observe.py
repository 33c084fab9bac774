"""After each run: read both systems once, and check the invariants against the ledger.

- ground truth (``sfqb_sim.ledger``): every record the simulator made or changed is synced by its
  deadline, with the values the rules say (QuickBooks wins customer conflicts, R-ACC-5;
  balances follow payments, R-INV-4; voided and deleted invoices, R-INV-1; items and their
  prices and deactivation, R-ITM-1/2; won opportunities exactly once, lost ones never, R-OPP-1);
- duplicates: no External ID on two Salesforce records, no opportunity behind two QuickBooks
  transactions (R-GEN-3);
- watermarks (R-GEN-2): never past the run's upper bound, never backwards, and not moved by an
  area that failed;
- the reconciliation (``sfqb.steps.reconcile.reconcile_systems``) when that module exists.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from sfqb import soql
from sfqb.areas.items import QUANTITY_FIELDS
from sfqb.areas.opportunities import marker

from .ledger import FAULT_RUNS, Ledger, Violation, duplicates, judge

MARK = marker("")
# Watermark streams -> the area (task group) that commits them.
STREAM_AREAS = {
    "quickbooks.Customer": "customers",
    "salesforce.Account": "customers",
    "quickbooks.Item": "items",
    "salesforce.Opportunity": "opportunities",
    "@opportunities": "transactions",
    "@invoices": "invoices",
}
CENT = Decimal("0.01")


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def area_of(stream: str) -> str | None:
    return STREAM_AREAS.get(stream) or next(
        (a for s, a in STREAM_AREAS.items() if s.startswith("@") and stream.endswith(s)), None
    )


def snapshot(sf, qb, ledger: Ledger, desktop: bool = False) -> dict:
    """Both systems, as far as the checks need them (a handful of calls). On QuickBooks Desktop
    also its Sales Orders, each Account's parent, the Products' inventory quantities and the
    Invoice__c -> Opportunity links."""
    opp_ids = [r.key for r in ledger.of("opportunity")]
    book = sf.standard_pricebook()["Id"]
    account_fields = ["Id", "Name", "Phone", "External_Account_ID__c"]
    product_fields = ["Id", "ProductCode", "IsActive", "External_Item_ID__c"]
    if desktop:
        account_fields.append("Parent.External_Account_ID__c")
        product_fields += QUANTITY_FIELDS.values()
    snap = {
        "qb_customers": {c["Id"]: c for c in qb.query_all("Customer", include_inactive=True)},
        "qb_items": {i["Id"]: i for i in qb.query_all("Item", include_inactive=True)},
        "qb_invoices": {i["Id"]: i for i in qb.query_all("Invoice")},
        "qb_receipts": {r["Id"]: r for r in qb.query_all("SalesReceipt")},
        "sf_accounts": list(sf.query(soql.select("Account", account_fields))),
        "sf_opportunities": {
            o["Id"]: o
            for o in (
                sf.query_in(
                    "Opportunity",
                    [
                        "Id",
                        "IsWon",
                        "AccountId",
                        "External_Transaction_ID__c",
                        "Transaction_Type__c",
                        "Amount",
                    ],
                    "Id",
                    opp_ids,
                )
                if opp_ids
                else []
            )
        },
        "sf_opportunity_items": _opportunity_items(sf, opp_ids),
        "sf_transaction_ids": [
            o["External_Transaction_ID__c"]
            for o in sf.query(
                soql.select(
                    "Opportunity",
                    ["External_Transaction_ID__c", "Transaction_Type__c"],
                    where=soql.compare("External_Transaction_ID__c", "!=", None),
                )
            )
        ],
        "sf_products": list(sf.query(soql.select("Product2", product_fields))),
        "sf_entries": {
            e["Product2Id"]: e
            for e in sf.query(
                soql.select(
                    "PricebookEntry",
                    ["Product2Id", "UnitPrice", "IsActive"],
                    where=soql.eq("Pricebook2Id", book),
                )
            )
        },
        "sf_invoices": list(
            sf.query(
                soql.select(
                    "Invoice__c",
                    [
                        "Id",
                        "External_Invoice_ID__c",
                        "Outstanding_Balance__c",
                        "Status__c",
                        "Is_Paid__c",
                        "Account__c",
                    ],
                )
            )
        ),
    }
    if desktop:
        snap["qb_orders"] = {o["Id"]: o for o in qb.query_all("SalesOrder")}
        invoices = {i["Id"]: i["External_Invoice_ID__c"] for i in snap["sf_invoices"]}
        links: dict[str, set[str]] = defaultdict(set)
        for row in sf.query(
            soql.select("Invoice_Opportunity_Link__c", ["Invoice__c", "Opportunity__c"])
        ):
            links[invoices.get(row["Invoice__c"]) or ""].add(row["Opportunity__c"])
        snap["sf_invoice_links"] = dict(links)
    return snap


def _opportunity_items(sf, opp_ids: list[str]) -> dict[str, list[str | None]]:
    """Opportunity Id -> the QuickBooks item Ids of its products (None: a product with none)."""
    out: dict[str, list[str | None]] = defaultdict(list)
    for line in (
        sf.query_in(
            "OpportunityLineItem",
            ["OpportunityId", "Product2.External_Item_ID__c"],
            "OpportunityId",
            opp_ids,
        )
        if opp_ids
        else []
    ):
        out[line["OpportunityId"]].append((line.get("Product2") or {}).get("External_Item_ID__c"))
    return dict(out)


def adopt_sync_invoices(ledger: Ledger, snap: dict, seed_invoices: set[str], run: int) -> None:
    """QuickBooks invoices the sync itself made (from won opportunities) join the ledger: they
    must reach Invoice__c like any other, and the generator pays and deletes them too. On
    Desktop, each transaction the sync made (its marker) changed its inventory items'
    quantities after the run's item area read them: the next run brings them to the Products
    (R-ITM-4), and a Sales Order's opportunity learns its order (for partial invoicing)."""
    if "qb_orders" in snap:
        adopt_desktop_transactions(ledger, snap, run)
    for invoice_id, invoice in snap["qb_invoices"].items():
        if invoice_id not in seed_invoices and ledger.get("qb_invoice", invoice_id) is None:
            note = invoice.get("PrivateNote") or ""
            ledger.add(
                "qb_invoice",
                invoice_id,
                run,
                customer=invoice["CustomerRef"]["value"],
                state="open",
                opportunity=note.removeprefix(MARK) if note.startswith(MARK) else None,
            )


def adopt_desktop_transactions(ledger: Ledger, snap: dict, run: int) -> None:
    stock = {k for k, item in snap["qb_items"].items() if inventory_part(item)}
    for records in (snap["qb_invoices"], snap["qb_receipts"], snap["qb_orders"]):
        for txn_id, txn in records.items():
            note = txn.get("PrivateNote") or ""
            if txn_id in ledger.seen_transactions or not note.startswith(MARK):
                continue
            ledger.seen_transactions.add(txn_id)
            opportunity = ledger.get("opportunity", note.removeprefix(MARK))
            if records is snap["qb_orders"] and opportunity is not None:
                opportunity.attrs["order"] = txn_id
            for item in sorted(transaction_items(txn) & stock):
                if ledger.get("qb_stock", item) is None:
                    ledger.add("qb_stock", item, run + 1)
                else:
                    ledger.touch("qb_stock", item, run + 1)


def inventory_part(item: dict) -> bool:
    """R-ITM-4: Inventory Parts have their quantities on their Products; assemblies keep
    quantities in QuickBooks, but their Products get none (Online has neither)."""
    return item.get("DesktopType") == "ItemInventory"


def transaction_items(txn: dict) -> set[str]:
    """The item Ids on a QuickBooks transaction's lines."""
    return {
        ((line.get("SalesItemLineDetail") or {}).get("ItemRef") or {}).get("value")
        for line in txn.get("Line") or []
    } - {None}


def problems(ledger: Ledger, snap: dict) -> dict[tuple[str, str], str]:
    """What is wrong now, per ledger record (``(kind, key) -> detail``); only the records
    found wrong are in it."""
    out: dict[tuple[str, str], str] = {}
    accounts = defaultdict(list)
    for a in snap["sf_accounts"]:
        if a["External_Account_ID__c"]:
            accounts[a["External_Account_ID__c"]].append(a)
    accounts_by_id = {a["Id"]: a for a in snap["sf_accounts"]}
    for r in ledger.of("qb_customer"):
        if not r.attrs.get("active"):
            continue
        qb, linked = snap["qb_customers"].get(r.key), accounts.get(r.key, [])
        if not linked:
            out[r.kind, r.key] = "no Account holds this QuickBooks customer's Id"
        elif linked[0]["Name"] != qb["DisplayName"]:
            out[r.kind, r.key] = (
                f"Account name {linked[0]['Name']!r}, QuickBooks {qb['DisplayName']!r}"
            )
        elif r.attrs.get("phone") and linked[0]["Phone"] != r.attrs["phone"]:
            out[r.kind, r.key] = (
                f"Account phone {linked[0]['Phone']!r}, QuickBooks {r.attrs['phone']!r}"
            )
        elif (
            r.attrs.get("parent")
            and (parent := (linked[0].get("Parent") or {}).get("External_Account_ID__c"))
            != r.attrs["parent"]
        ):
            out[r.kind, r.key] = (
                f"Account's parent holds QuickBooks customer {parent}, its QuickBooks parent is "
                f"{r.attrs['parent']}"
            )
    for r in ledger.of("sf_account"):
        account = accounts_by_id.get(r.key)
        customer = snap["qb_customers"].get((account or {}).get("External_Account_ID__c") or "")
        if customer is None:
            out[r.kind, r.key] = "not linked to a QuickBooks customer"
        elif customer["DisplayName"] != account["Name"]:
            out[r.kind, r.key] = f"linked to {customer['DisplayName']!r}"
    transactions = defaultdict(list)
    for entity, records in (
        ("Invoice", snap["qb_invoices"]),
        ("SalesReceipt", snap["qb_receipts"]),
        ("SalesOrder", snap.get("qb_orders", {})),
    ):
        for txn in records.values():
            if (txn.get("PrivateNote") or "").startswith(MARK):
                transactions[txn["PrivateNote"]].append(f"{entity} {txn['Id']}")
    # Voiding an invoice replaces its memo with "Voided" (QuickBooks does; so does the sandbox):
    # an opportunity whose invoice the simulation voided keeps its link to it, marker gone (R-OPP-6:
    # only clearing External Transaction ID makes a new one).
    for r in ledger.of("qb_invoice"):
        if (
            r.attrs.get("state") == "voided"
            and r.attrs.get("opportunity")
            and r.key in snap["qb_invoices"]
        ):
            transactions[marker(r.attrs["opportunity"])].append(f"Invoice {r.key} (voided)")
    # On Desktop, "VOID:" goes before the memo: a Sales Receipt sfqb made and the simulation
    # voided stays the opportunity's transaction the same way.
    for r in ledger.of("opportunity"):
        receipt = r.attrs.get("voided_receipt")
        if receipt and receipt in snap["qb_receipts"]:
            transactions[marker(r.key)].append(f"SalesReceipt {receipt} (voided)")

    def customer_inactive(opp: dict | None) -> bool:
        """R-OPP-1: QuickBooks makes no transaction for an inactive customer; the sync holds such
        an opportunity back with a WARNING until the customer is active again."""
        account = accounts_by_id.get((opp or {}).get("AccountId"))
        customer = snap["qb_customers"].get((account or {}).get("External_Account_ID__c") or "")
        return customer is not None and customer.get("Active") is False

    def item_missing(opp_id: str) -> bool:
        """R-OPP-3: a product with no QuickBooks item, or an item made inactive, holds the
        opportunity back with a WARNING until it is linked or active again."""
        items = snap.get("sf_opportunity_items", {}).get(opp_id, [])
        return any(
            i is None or (snap["qb_items"].get(i) or {}).get("Active") is False for i in items
        )

    for r in ledger.of("opportunity"):
        opp, made = snap["sf_opportunities"].get(r.key), transactions.get(marker(r.key), [])
        if r.attrs.get("eligible"):
            if not made and (customer_inactive(opp) or item_missing(r.key)):
                continue
            if not made or not (opp or {}).get("External_Transaction_ID__c"):
                out[r.kind, r.key] = (
                    f"QuickBooks transactions {made}, External Transaction ID "
                    f"{(opp or {}).get('External_Transaction_ID__c')}"
                )
        elif made:
            out[r.kind, r.key] = f"not eligible but made {made}"
        if (r.kind, r.key) not in out and r.attrs.get("voided_receipt"):
            # R-OPP-7: the voided receipt's zeroed amounts come back to the Opportunity.
            amount = (opp or {}).get("Amount")
            if amount is None or money(amount) != 0:
                out[r.kind, r.key] = (
                    f"Sales Receipt {r.attrs['voided_receipt']} voided, Opportunity Amount {amount}"
                )
    invoices = {i["External_Invoice_ID__c"]: i for i in snap["sf_invoices"]}
    for r in ledger.of("qb_invoice"):
        detail = _invoice_problem(r, snap["qb_invoices"].get(r.key), invoices.get(r.key), accounts)
        linked = r.attrs.get("linked_opportunity")
        links = snap.get("sf_invoice_links", {}).get(r.key, set())
        if not detail and linked and r.attrs["state"] != "deleted" and linked not in links:
            detail = f"Invoice__c not linked to the Sales Order's Opportunity {linked}"
        if detail:
            out[r.kind, r.key] = detail
    products = defaultdict(list)
    for p in snap["sf_products"]:
        products[p["External_Item_ID__c"]].append(p)
    for r in ledger.of("qb_item"):
        item, found = snap["qb_items"][r.key], products.get(r.key, [])
        entry = snap["sf_entries"].get(found[0]["Id"]) if found else None
        if not found:
            if r.attrs[
                "active"
            ]:  # an item made inactive before it was ever synced has none (R-ITM-1)
                out[r.kind, r.key] = "no Product holds this item's Id"
        elif (
            bool(found[0]["IsActive"]) != r.attrs["active"]
            or found[0]["ProductCode"] != item["FullyQualifiedName"]
        ):
            out[r.kind, r.key] = f"Product {found[0]}, item active {r.attrs['active']}"
        elif r.attrs["active"] and (
            entry is None or money(entry["UnitPrice"]) != money(r.attrs["price"])
        ):
            out[r.kind, r.key] = (
                f"standard price {entry and entry['UnitPrice']}, QuickBooks {r.attrs['price']}"
            )
    for r in ledger.of("qb_stock"):
        detail = _stock_problem(snap["qb_items"].get(r.key), products.get(r.key, []))
        if detail:
            out[r.kind, r.key] = detail
    return out


def _stock_problem(item: dict | None, products: list[dict]) -> str | None:
    """R-ITM-4: an active Inventory Part's Product holds its quantity on hand and on sales
    orders (rounded to 2 decimals)."""
    if item is None or item.get("Active") is False or not inventory_part(item):
        return None
    if not products:
        return "no Product holds this inventory item's Id"
    got = {qb: money(products[0].get(sf)) for qb, sf in QUANTITY_FIELDS.items()}
    wanted = {qb: money(item.get(qb)) for qb in QUANTITY_FIELDS}
    if got != wanted:
        return f"Product quantities {got}, QuickBooks {wanted}"
    return None


def _invoice_problem(r, qb: dict | None, sf: dict | None, accounts: dict) -> str | None:
    state = r.attrs["state"]
    if state == "deleted":
        if sf is not None and (sf["Status__c"] != "Deleted" or money(sf["Outstanding_Balance__c"])):
            return (
                f"deleted in QuickBooks; Invoice__c {sf['Status__c']} "
                f"{sf['Outstanding_Balance__c']}"
            )
        return None
    if sf is None:
        return "no Invoice__c"
    if qb is None:
        return "gone from QuickBooks"
    if state == "voided":
        expected = ("Voided", Decimal(0))
    else:
        balance = money(qb["Balance"])
        expected = ("Paid" if balance == 0 else "Open", balance)
    got = (sf["Status__c"], money(sf["Outstanding_Balance__c"]))
    if got != expected:
        return f"Invoice__c {got[0]} {got[1]}, QuickBooks {expected[0]} {expected[1]}"
    if "Is_Paid__c" in sf and bool(sf["Is_Paid__c"]) != (expected[0] == "Paid"):
        # Is Paid is for a paid invoice only: a voided one owes nothing but was never paid.
        return f"Invoice__c {got[0]} with Is Paid {sf['Is_Paid__c']}"
    account = accounts.get(qb["CustomerRef"]["value"], [])
    if account and sf["Account__c"] != account[0]["Id"]:
        return f"Invoice__c Account {sf['Account__c']}, expected {account[0]['Id']}"
    return None


def duplicate_violations(run: int, snap: dict) -> list[Violation]:
    notes = [
        t.get("PrivateNote")
        for rs in (snap["qb_invoices"], snap["qb_receipts"], snap.get("qb_orders", {}))
        for t in rs.values()
        if (t.get("PrivateNote") or "").startswith(MARK)
    ]
    return (
        duplicates(
            run,
            "two Accounts hold one QuickBooks customer",
            [a["External_Account_ID__c"] for a in snap["sf_accounts"]],
        )
        + duplicates(
            run,
            "two Products hold one QuickBooks item",
            [p["External_Item_ID__c"] for p in snap["sf_products"]],
        )
        + duplicates(
            run,
            "two Invoice__c hold one QuickBooks invoice",
            [i["External_Invoice_ID__c"] for i in snap["sf_invoices"]],
        )
        + duplicates(
            run, "two Opportunities hold one QuickBooks transaction", snap["sf_transaction_ids"]
        )
        + duplicates(run, "two QuickBooks transactions for one Opportunity", notes)
        + duplicates(
            run,
            "two QuickBooks customers with one name",
            # Desktop: a sub-customer's name is unique under its parent only (its FullName is).
            [
                (c["FullyQualifiedName"] if "qb_orders" in snap else c["DisplayName"]).lower()
                for c in snap["qb_customers"].values()
            ],
        )
    )


def watermarks(variables) -> dict[str, dt.datetime]:
    out = {}
    for key in variables.keys("sfqb.watermark."):
        value = json.loads(variables.get(key))["value"]
        out[key.removeprefix("sfqb.watermark.")] = dt.datetime.fromisoformat(value)
    return out


def watermark_violations(
    run: int, before: dict, after: dict, upper: dt.datetime, failed_areas: set[str]
) -> list[Violation]:
    """R-GEN-2: a watermark never passes the run's upper bound, never goes back, and an area
    that failed does not move its own."""
    out = []
    for stream, value in sorted(after.items()):
        old = before.get(stream)
        if value > upper:
            out.append(
                Violation(
                    run,
                    "watermark past the run's upper bound",
                    stream,
                    f"{value.isoformat()} > {upper.isoformat()}",
                )
            )
        if old is not None and value < old:
            out.append(Violation(run, "watermark moved backwards", stream, f"{old} -> {value}"))
        if area_of(stream) in failed_areas and value != old:
            out.append(
                Violation(run, "watermark moved by a failed area", stream, f"{old} -> {value}")
            )
    return out


def stopped_run_violations(
    run: int,
    state: str,
    states: dict,
    writes: int,
    logged: str,
    last_poll: dt.datetime | None,
) -> list[Violation]:
    """R-QBD-2: a run while the Web Connector is stopped fails at its first QuickBooks step
    (``preflight.await_web_connector``), its log naming the last poll (``last_poll``, the
    queue's), and writes nothing to QuickBooks."""
    failed = sorted(task for task, s in states.items() if str(s) == "failed")
    out = []
    named = (
        f"it last polled at {last_poll.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
        if last_poll
        else "it has never polled"
    )
    if f"the Web Connector is not running: {named}" not in logged:
        out.append(
            Violation(
                run,
                "the Web Connector was stopped, yet the log does not name its last poll",
                "web connector",
                f"expected {named!r}",
            )
        )
    if state != "failed" or not failed or not failed[0].startswith("preflight."):
        out.append(
            Violation(
                run,
                "the Web Connector was stopped, yet the run did not fail in preflight",
                "web connector",
                f"run {state}, failed tasks {failed}",
            )
        )
    if writes:
        out.append(
            Violation(
                run,
                "the Web Connector was stopped, yet QuickBooks was written",
                "web connector",
                f"{writes} write(s)",
            )
        )
    return out


def expected_differences(ledger: Ledger) -> set[str]:
    """Reconciliation differences the simulation made on purpose: an Account whose customer it
    made inactive in QuickBooks (R-ACC-2: inactive customers are not synced, the link stays)."""
    return {
        f"QuickBooks customer {r.key} (inactive)"
        for r in ledger.of("qb_customer")
        if not r.attrs.get("active")
    }


def reconciliation(
    run: int, sf, qb, upper: dt.datetime, expected: set[str] = frozenset()
) -> tuple[list[Violation], dict | None]:
    """The product's own reconciliation, when it exists (docs/reconciliation.md); its differences
    are violations, but for the ``expected`` ones (the key ends with one of them). Returns
    (violations, counts or None when the module is missing)."""
    try:
        from sfqb.steps.reconcile import reconcile_systems
    except ImportError:
        return [], None
    result = reconcile_systems(sf, qb, upper_bound=upper)
    found = [
        Violation(run, f"reconciliation: {check}", key, "")
        for check, keys in result.differences.items()
        for key in keys
        if not any(key.endswith(e) for e in expected)
    ]
    return found[:50], dict(result.counts)


def check(
    run: int,
    ledger: Ledger,
    sf,
    qb,
    seed_invoices: set[str],
    upper: dt.datetime,
    desktop: bool = False,
) -> tuple[list[Violation], dict]:
    """Every data invariant after run ``run``: (violations, stats). The reconciliation cannot
    tell a record a fault held back (due within two runs) from a lost one: its differences are
    violations only when no fault fired in this run or the two before it; otherwise they are
    returned as ``recon_pending``."""
    snap = snapshot(sf, qb, ledger, desktop)
    adopt_sync_invoices(ledger, snap, seed_invoices, run)
    violations, counts = judge(ledger, run, problems(ledger, snap))
    violations += duplicate_violations(run, snap)
    found, recon = reconciliation(run, sf, qb, upper, expected_differences(ledger))
    quiet = not ledger.faulted_runs & set(range(run - FAULT_RUNS, run + 1))
    if quiet:
        violations += found
    return violations, {**counts, "reconciliation": recon, "recon_pending": [] if quiet else found}
