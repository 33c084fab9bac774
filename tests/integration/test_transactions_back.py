"""QuickBooks transaction changes back to the linked Opportunity, against both sandbox servers
(R-OPP-7). The steps run directly (extract, plan, load, commit) with real hooks and an
in-memory sync state; each test links its own Account, Products, Opportunity and transaction
through the real APIs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.areas.opportunities import line_external_id
from sfqb.areas.transactions import (
    EXT_LINE,
    EXT_TXN,
    HEADER_MAP,
    LINE_INDEX,
    STREAMS,
    kind_of,
    line_amounts,
)
from sfqb.mapping.maps import apply_map, default_map
from sfqb.mapping.same import same
from sfqb.preferences import Preferences
from sfqb.state import InMemoryVariables, SyncState
from sfqb.steps import transactions as steps
from sfqb.steps.common import run_context
from sfqb.steps.transactions import transaction_frames
from tests.integration.conftest import report_view

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

INVOICES = STREAMS["Invoice"]
OPP_FIELDS = ["Id", "Amount", "Last_Sync_Date__c", EXT_TXN, *default_map(HEADER_MAP).target_fields]
LINE_FIELDS = [
    "Id",
    "Product2Id",
    "Product2.External_Item_ID__c",
    "Quantity",
    "UnitPrice",
    "Description",
    EXT_LINE,
    LINE_INDEX,
]


def sales_line(item: dict, qty, price, description: str | None = None) -> dict:
    amount = Decimal(str(qty)) * Decimal(str(price))
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {
            "ItemRef": {"value": item["Id"]},
            "Qty": qty,
            "UnitPrice": Decimal(str(price)),
        },
    }
    return {**line, "Description": description} if description else line


@dataclass
class Linked:
    """An Opportunity linked to a QuickBooks transaction, and what the test needs to drive it."""

    env: object
    state: SyncState
    entity: str
    txn_id: str
    opportunity: str
    items: list[dict]

    @staticmethod
    def run(**prefs) -> dict:
        """A run as ``begin_run`` makes it, bounded now (after the test's edits)."""
        upper = dt.datetime.now(dt.UTC)
        return run_context(
            run_id=f"manual__{upper.isoformat()}",
            upper_bound=upper,
            install_date=upper - dt.timedelta(days=1),
            preferences_json=Preferences(**prefs).as_json(),
        )

    def sync(self, **prefs) -> dict:
        """One run of the area's four steps; returns the load report."""
        run = self.run(**prefs)
        sf, qb = self.env.sf(), self.env.qb()
        extracted = steps.extract(run, sf=sf, qb=qb, state=self.state)
        report = steps.load(run, steps.plan(run, extracted), sf=sf)
        steps.commit(run, extracted, report, state=self.state)
        return report_view(report)

    def edit(self, **changes) -> dict:
        """A sparse update of the transaction in QuickBooks (``Line`` replaces all lines)."""
        qb = self.env.qb()
        current = qb.read(self.entity, self.txn_id)
        return qb.update(
            self.entity, {"Id": self.txn_id, "SyncToken": current["SyncToken"], **changes}
        )

    def salesforce(self) -> tuple[dict, list[dict]]:
        sf = self.env.sf()
        opp = next(
            sf.query(soql.select("Opportunity", OPP_FIELDS, where=soql.eq("Id", self.opportunity)))
        )
        lines = list(
            sf.query(
                soql.select(
                    "OpportunityLineItem",
                    LINE_FIELDS,
                    where=soql.eq("OpportunityId", self.opportunity),
                )
            )
        )
        return opp, lines

    def assert_salesforce_matches_quickbooks(self) -> dict:
        """Every mapped header field equal, and one Opportunity Product per QuickBooks sales line
        (item, quantity, price, description, line id and index) and no other."""
        record = self.env.qb().read(self.entity, self.txn_id)
        transactions, _ = transaction_frames([(self.entity, record)])
        wanted = apply_map(transactions, default_map(HEADER_MAP)).iloc[0].to_dict()
        opp, lines = self.salesforce()
        for target, value in wanted.items():
            if self.entity == "SalesReceipt" and target in ("Due_Date__c", "Terms__c"):
                continue
            assert same(value, opp[target], kind_of(target)), (target, value, opp[target])
        expected = set()
        for line in record["Line"]:
            if line["DetailType"] != "SalesItemLineDetail":
                continue
            detail = line["SalesItemLineDetail"]
            qty, price = line_amounts(detail.get("Qty"), detail.get("UnitPrice"), line["Amount"])
            expected.add(
                (
                    line_external_id(self.entity, self.txn_id, line["Id"]),
                    detail["ItemRef"]["value"],
                    qty,
                    price,
                    line.get("Description"),
                    int(line["LineNum"]),
                )
            )
        actual = {
            (
                r[EXT_LINE],
                r["Product2"]["External_Item_ID__c"],
                Decimal(str(r["Quantity"])),
                Decimal(str(r["UnitPrice"])),
                r["Description"],
                int(r[LINE_INDEX]),
            )
            for r in lines
        }
        assert actual == expected
        assert Decimal(str(opp["Amount"])) == Decimal(str(record["TotalAmt"]))
        assert opp["Last_Sync_Date__c"]
        return record


def link_products(sf, items: list[dict]) -> None:
    """Products for QuickBooks items (External Item ID set), priced in the standard book."""
    book = sf.standard_pricebook()["Id"]
    products = sf.create(
        "Product2",
        [
            {
                "Name": f"{i['Name']} (linked)",
                "ProductCode": i["FullyQualifiedName"],
                "External_Item_ID__c": i["Id"],
                "IsActive": True,
            }
            for i in items
        ],
    )
    assert all(p.ok for p in products), products
    entries = sf.create(
        "PricebookEntry",
        [
            {
                "Pricebook2Id": book,
                "Product2Id": p.id,
                "IsActive": True,
                "UnitPrice": Decimal(str(i["UnitPrice"])),
            }
            for p, i in zip(products, items, strict=True)
        ],
    )
    assert all(e.ok for e in entries), entries


def linked_account_and_products(env) -> tuple[list[dict], dict, str]:
    """Three QuickBooks items with linked, priced Products, and an Account linked to a QuickBooks
    customer: (items, customer, Account Id)."""
    sf, qb = env.sf(), env.qb()
    items = [
        i
        for i in qb.query_all("Item")
        if i["Type"] in ("Service", "NonInventory") and i.get("UnitPrice")
    ][:3]
    link_products(sf, items)
    customer = next(
        c for c in qb.query_all("Customer") if not c.get("IsProject") and not c.get("ParentRef")
    )
    account = sf.create(
        "Account", [{"Name": "Transactions Back Test Co", "External_Account_ID__c": customer["Id"]}]
    )[0]
    assert account.ok, account
    return items, customer, account.id


def won_opportunity(
    env, account_id: str, kind: str, lines: list[tuple[dict, int, str, str | None, dict]], **fields
) -> str:
    """A closed/won Opportunity with one Opportunity Product per (item, qty, price, description,
    extra fields such as the External Line ID)."""
    sf = env.sf()
    book = sf.standard_pricebook()["Id"]
    opp = sf.create(
        "Opportunity",
        [
            {
                "Name": "Transactions Back Deal",
                "AccountId": account_id,
                "StageName": "Closed Won",
                "CloseDate": dt.date.today().isoformat(),
                "Pricebook2Id": book,
                "Transaction_Type__c": kind,
                **fields,
            }
        ],
    )[0]
    assert opp.ok, opp
    entries = {
        r["Product2"]["External_Item_ID__c"]: r["Id"]
        for r in sf.query(
            soql.select(
                "PricebookEntry",
                ["Id", "Product2.External_Item_ID__c"],
                where=[
                    soql.eq("Pricebook2Id", book),
                    soql.compare("Product2.External_Item_ID__c", "!=", None),
                ],
            )
        )
    }
    created = sf.create(
        "OpportunityLineItem",
        [
            {
                "OpportunityId": opp.id,
                "PricebookEntryId": entries[item["Id"]],
                "Quantity": Decimal(str(qty)),
                "UnitPrice": Decimal(price),
                "Description": description,
                "SortOrder": n,
                **extra,
            }
            for n, (item, qty, price, description, extra) in enumerate(lines, start=1)
        ],
    )
    assert all(c.ok for c in created), created
    return opp.id


def linked_transaction(env, entity: str = "Invoice") -> Linked:
    """An Account linked to a QuickBooks customer, a transaction for it with two item lines, and
    a won Opportunity with matching Opportunity Products, linked by the External IDs."""
    items, customer, account_id = linked_account_and_products(env)
    record = env.qb().create(
        entity,
        {
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": "T-100",
            "TxnDate": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
            "ShipAddr": {
                "Line1": "1 Harbour Way",
                "City": "Portland",
                "CountrySubDivisionCode": "OR",
                "PostalCode": "97201",
            },
            "CustomField": [
                {
                    "DefinitionId": "2",
                    "Name": "PO Number",
                    "Type": "StringType",
                    "StringValue": "PO-555",
                }
            ],
            "Line": [sales_line(items[0], 2, "10", "Widgets"), sales_line(items[1], 1, "25.50")],
        },
        None,
    )
    sales = [line for line in record["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    links = [
        {EXT_LINE: line_external_id(entity, record["Id"], line["Id"]), LINE_INDEX: line["LineNum"]}
        for line in sales
    ]
    opp = won_opportunity(
        env,
        account_id,
        "Invoice" if entity == "Invoice" else "Sales Receipt",
        [(items[0], 2, "10", "Widgets", links[0]), (items[1], 1, "25.50", None, links[1])],
        **{EXT_TXN: record["Id"], "Due_Date__c": "2030-01-01"},
    )
    return Linked(env, SyncState(InMemoryVariables()), entity, record["Id"], opp, items)


def test_given_quickbooks_edits_to_a_linked_invoice_when_synced_then_salesforce_matches_and_a_rerun_writes_nothing(
    sync_env,
):
    """R-OPP-7, R-GEN-4, R-GEN-7: a changed quantity and price, an added line, a removed line and
    a new TxnDate, DocNumber and ship address in QuickBooks reach the Opportunity and its products
    in one run; the next run reads the invoice again (lookback) and writes nothing anywhere."""
    linked = linked_transaction(sync_env)
    first = linked.sync()
    assert first["failed"] == 0 and first["warning_count"] == 0, first
    linked.assert_salesforce_matches_quickbooks()
    _, before = linked.salesforce()
    widget, _, bolts = linked.items
    linked.edit(
        TxnDate=(dt.date.today() - dt.timedelta(days=1)).isoformat(),
        DocNumber="T-100A",
        ShipAddr={
            "Line1": "9 Dock Road",
            "City": "Seattle",
            "CountrySubDivisionCode": "WA",
            "PostalCode": "98101",
        },
        Line=[sales_line(widget, 3, "12.00", "Widgets"), sales_line(bolts, 4, "5.00", "Bolts")],
    )

    report = linked.sync()

    record = linked.assert_salesforce_matches_quickbooks()
    opp, after = linked.salesforce()
    assert opp["External_Transaction_Number__c"] == "T-100A"
    assert opp["Shipping_Address_Block__c"] == "9 Dock Road\nSeattle, WA 98101"
    assert opp["PO_Number__c"] == "PO-555" and Decimal(str(opp["Amount"])) == Decimal("56.00")
    assert report["failed"] == 0 and report["warning_count"] == 0, report
    assert (
        report["created"] == 1 and report["deleted"] == 1 and report["updated"] == 2
    )  # 1 product + the opp
    widget_product = {r["Id"] for r in before if r[EXT_LINE].endswith(":1")}
    assert {r["Id"] for r in after} & {r["Id"] for r in before} == widget_product  # kept, updated
    assert record["DocNumber"] == "T-100A"

    sync_env.sandbox.clear_counters()
    again = linked.sync()
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert again["created"] == again["updated"] == again["deleted"] == again["failed"] == 0
    assert linked.state.watermark(INVOICES) is not None


def test_given_a_line_whose_item_has_no_product_when_synced_then_a_warning_names_the_item_and_the_rest_applies(
    sync_env,
):
    """R-OPP-7, R-GEN-5: the line without a Product is a WARNING naming the item, the rest of
    the opportunity is updated; once a Product exists the next run adds the line without any
    new QuickBooks change (the invoice was kept to retry)."""
    linked = linked_transaction(sync_env)
    linked.sync()
    qb = sync_env.qb()
    services = qb.read("Item", "1")
    gizmo = qb.create(
        "Item",
        {
            "Name": "Unlinked Gizmo",
            "Type": "Service",
            "UnitPrice": 7,
            "IncomeAccountRef": services["IncomeAccountRef"],
        },
        None,
    )
    widget, parts = linked.items[:2]
    linked.edit(
        Line=[sales_line(widget, 5, "10"), sales_line(parts, 1, "25.50"), sales_line(gizmo, 1, "7")]
    )

    report = linked.sync()

    key = f"QB:Invoice:{linked.txn_id} line 3"
    assert [w for w in report["warnings"] if key in w and f"item {gizmo['Id']}" in w], report[
        "warnings"
    ]
    assert report["failed"] == 0 and report["created"] == 0
    _, lines = linked.salesforce()
    assert sorted(Decimal(str(r["Quantity"])) for r in lines) == [Decimal("1"), Decimal("5")]
    assert linked.state.retries(INVOICES) == [linked.txn_id]

    link_products(sync_env.sf(), [gizmo])
    fixed = linked.sync()
    assert fixed["created"] == 1 and fixed["warning_count"] == 0, fixed
    linked.assert_salesforce_matches_quickbooks()
    assert linked.state.retries(INVOICES) == []


def test_given_a_linked_sales_receipt_when_a_line_is_removed_then_its_product_is_deleted_and_due_date_kept(
    sync_env,
):
    """R-OPP-7: the Sales Receipt stream works the same way; a removed line deletes its product;
    Due_Date__c (Sales Receipts have none) is left as the Opportunity has it."""
    linked = linked_transaction(sync_env, "SalesReceipt")
    linked.sync()
    widget = linked.items[0]
    linked.edit(Line=[sales_line(widget, 2, "10", "Widgets")])

    report = linked.sync()

    linked.assert_salesforce_matches_quickbooks()
    opp, lines = linked.salesforce()
    assert len(lines) == 1 and report["deleted"] == 1 and report["failed"] == 0
    assert opp["Due_Date__c"] == "2030-01-01"
    assert linked.state.watermark(STREAMS["SalesReceipt"]) is not None


def test_given_the_preference_off_when_synced_then_no_transaction_is_read_and_nothing_is_written(
    sync_env,
):
    """R-OPP-7, R-OPP-8: with update_opportunities_from_quickbooks off (or sync_won_opportunities
    off) the area reads no QuickBooks transaction, writes nothing, and moves no watermark."""
    linked = linked_transaction(sync_env)
    linked.edit(DocNumber="T-OFF")
    opp_before, lines_before = linked.salesforce()
    for prefs in (
        {"update_opportunities_from_quickbooks": False},
        {"sync_won_opportunities": False},
    ):
        sync_env.sandbox.clear_counters()
        report = linked.sync(**prefs)
        assert sync_env.sandbox.counters("quickbooks")["total"] == 0
        assert sync_env.writes()["salesforce"] == 0
        assert report["created"] == report["updated"] == report["deleted"] == 0
    opp_after, lines_after = linked.salesforce()
    assert opp_after == opp_before and lines_after == lines_before
    assert linked.state.watermark(INVOICES) is None


def test_given_a_transaction_the_opportunities_area_created_when_read_back_then_no_product_is_rewritten(
    sync_env,
):
    """R-OPP-7, R-OPP-3, R-GEN-4: both directions write External_Line_ID__c in one format, so the
    products the opportunities area linked are matched as they are: reading its new Invoice back
    creates, deletes and rewrites no Opportunity Product, and a second read writes nothing."""
    from sfqb.steps import opportunities

    items, _, account_id = linked_account_and_products(sync_env)
    opp_id = won_opportunity(
        sync_env,
        account_id,
        "Invoice",
        [(items[0], 2, "10", "Widgets", {}), (items[2], 3, "7.25", None, {})],
    )
    linked = Linked(sync_env, SyncState(InMemoryVariables()), "Invoice", "", opp_id, items)
    run = linked.run()
    extracted = opportunities.extract(run, sf=sync_env.sf(), qb=sync_env.qb(), state=linked.state)
    created = report_view(
        opportunities.load(
            run, opportunities.plan(run, extracted), sf=sync_env.sf(), qb=sync_env.qb()
        )
    )
    assert created["created"] == 1, created
    opp, before = linked.salesforce()
    linked.txn_id = opp[EXT_TXN]

    report = linked.sync()

    _, after = linked.salesforce()
    assert (
        report["created"] == report["deleted"] == report["failed"] == 0 and report["updated"] <= 1
    ), report
    assert sorted(r["Id"] for r in after) == sorted(r["Id"] for r in before)
    assert all(r[EXT_LINE].startswith(f"Invoice:{linked.txn_id}:") for r in after)
    linked.assert_salesforce_matches_quickbooks()
    sync_env.sandbox.clear_counters()
    linked.sync()
    assert sync_env.writes()["salesforce"] == 0
