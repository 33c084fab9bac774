"""QuickBooks Invoices and payments -> Salesforce, against both sandbox servers (SPEC section 5).
The steps run directly (extract, plan, load, commit) with real hooks and an in-memory sync
state; each test makes its Account, Products, Opportunities, invoices and payments through the
real APIs. The install date is the test's start, so the seed's own invoices stay out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from sfqb.areas.invoices import EXT_INVOICE, EXT_ITEM, EXT_LINK, EXT_TXN, INVOICE_STREAM
from sfqb.extract import soql
from sfqb.preferences import Preferences
from sfqb.state import InMemoryVariables, SyncState
from sfqb.steps import invoices as steps
from sfqb.steps.common import run_context

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

INVOICE_FIELDS = [
    "Id",
    "Name",
    EXT_INVOICE,
    "Invoice_Number__c",
    "Invoice_Date__c",
    "Due_Date__c",
    "Terms__c",
    "Shipping_Method__c",
    "PO_Number__c",
    "Shipping_Address_Block__c",
    "Subtotal__c",
    "Outstanding_Balance__c",
    "Is_Paid__c",
    "Status__c",
    "Account__c",
    "Last_Sync_Date__c",
]
ITEM_FIELDS = [
    "Id",
    EXT_ITEM,
    "Invoice__c",
    "Product__c",
    "Amount__c",
    "Quantity__c",
    "Rate__c",
    "Description__c",
]


@dataclass
class Company:
    """A QuickBooks customer with its Account, items with their Products, and helpers to make
    invoices and payments and to run the area."""

    env: object
    customer: dict
    account: str
    items: list[dict]
    products: dict[str, str]
    install: dt.datetime
    state: SyncState = field(default_factory=lambda: SyncState(InMemoryVariables()))

    def run(self, **prefs) -> dict:
        """A run as ``begin_run`` makes it, bounded now (after the test's edits)."""
        upper = dt.datetime.now(dt.UTC)
        return run_context(run_id=f"manual__{upper.isoformat()}", upper_bound=upper,
                           install_date=self.install, preferences_json=Preferences(**prefs).as_json())

    def sync(self, **prefs) -> dict:
        """One run of the area's four steps; returns the load report."""
        run = self.run(**prefs)
        sf, qb = self.env.sf(), self.env.qb()
        extracted = steps.extract(run, sf=sf, qb=qb, state=self.state)
        report = steps.load(run, steps.plan(run, extracted), sf=sf)
        steps.commit(run, extracted, report, state=self.state)
        return report

    def invoice(self, *lines, **fields) -> dict:
        """A QuickBooks invoice for the customer: lines are (item index, qty, price)."""
        return self.env.qb().create(
            "Invoice",
            {
                "CustomerRef": {"value": self.customer["Id"]},
                "TxnDate": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": Decimal(str(qty)) * Decimal(price),
                        "Description": f"line {n}",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": self.items[i]["Id"]},
                            "Qty": qty,
                            "UnitPrice": Decimal(price),
                        },
                    }
                    for n, (i, qty, price) in enumerate(lines, start=1)
                ],
                **fields,
            },
            None,
        )

    def pay(self, amount: str, *invoice_ids: str) -> dict:
        """A payment of ``amount`` per invoice, applied to each."""
        return self.env.qb().create(
            "Payment",
            {
                "CustomerRef": {"value": self.customer["Id"]},
                "TotalAmt": Decimal(amount) * len(invoice_ids),
                "Line": [
                    {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": i, "TxnType": "Invoice"}]}
                    for i in invoice_ids
                ],
            },
            None,
        )

    def salesforce(self, invoice_id: str) -> tuple[dict | None, list[dict], list[dict]]:
        """(Invoice__c, its items, its links) in Salesforce."""
        sf = self.env.sf()
        found = list(
            sf.query(
                soql.select("Invoice__c", INVOICE_FIELDS, where=soql.eq(EXT_INVOICE, invoice_id))
            )
        )
        if not found:
            return None, [], []
        record = found[0]
        items = list(
            sf.query(
                soql.select(
                    "Invoice_Item__c", ITEM_FIELDS, where=soql.eq("Invoice__c", record["Id"])
                )
            )
        )
        links = list(
            sf.query(
                soql.select(
                    "Invoice_Opportunity_Link__c",
                    [EXT_LINK, "Opportunity__c"],
                    where=soql.eq("Invoice__c", record["Id"]),
                )
            )
        )
        return record, items, links


def company(env) -> Company:
    """A customer with its Account and three items with Products (ProductCode = FullyQualifiedName)."""
    install = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    sf, qb = env.sf(), env.qb()
    items = [
        i
        for i in qb.query_all("Item")
        if i["Type"] in ("Service", "NonInventory") and i.get("UnitPrice")
    ][:3]
    created = sf.create(
        "Product2",
        [
            {"Name": i["Name"], "ProductCode": i["FullyQualifiedName"], "IsActive": True}
            for i in items[:2]
        ],
    )
    assert all(p.ok for p in created), created
    customer = next(
        c for c in qb.query_all("Customer") if not c.get("IsProject") and not c.get("ParentRef")
    )
    account = sf.create(
        "Account", [{"Name": "Invoices Test Co", "External_Account_ID__c": customer["Id"]}]
    )[0]
    assert account.ok, account
    products = {i["Id"]: p.id for i, p in zip(items, created, strict=False)}
    return Company(env, customer, account.id, items, products, install)


def opportunity(env, account: str, kind: str, ext: str) -> str:
    result = env.sf().create(
        "Opportunity",
        [
            {
                "Name": "Invoices Test Deal",
                "AccountId": account,
                "StageName": "Closed Won",
                "CloseDate": dt.date.today().isoformat(),
                "Transaction_Type__c": kind,
                EXT_TXN: ext,
            }
        ],
    )[0]
    assert result.ok, result
    return result.id


def placeholders(env, invoice_id: str) -> list[dict]:
    return list(
        env.sf().query(
            soql.select(
                "Opportunity",
                ["Id", "StageName", "Transaction_Type__c", "AccountId", "CloseDate", "Name"],
                where=soql.eq(EXT_TXN, invoice_id),
            )
        )
    )


def test_given_invoices_with_and_without_an_opportunity_when_synced_then_linked_placeholder_once_and_rerun_writes_nothing(
    sync_env,
):
    """R-INV-1, R-INV-2, R-INV-3, R-INV-6, R-GEN-4, R-GEN-7: an invoice from an Invoice-type
    Opportunity is loaded with its header, items (Product by Product Code; an item without a
    Product loads with a warning) and linked; an invoice made directly in QuickBooks stays
    unlinked with placeholders off, and gets exactly one "Migrated" placeholder Opportunity with
    them on, over two runs; an edit made in Salesforce is overwritten; a rerun writes nothing."""
    co = company(sync_env)
    term = next(sync_env.qb().query_all("Term"))
    from_opp = co.invoice(
        (0, 2, "10"),
        (1, 1, "25.50"),
        DocNumber="INV-OPP",
        SalesTermRef={"value": term["Id"]},
        ShipMethodRef={"value": "UPS", "name": "UPS"},
        ShipAddr={
            "Line1": "1 Harbour Way",
            "City": "Portland",
            "CountrySubDivisionCode": "OR",
            "PostalCode": "97201",
        },
        CustomField=[
            {
                "DefinitionId": "2",
                "Name": "PO Number",
                "Type": "StringType",
                "StringValue": "PO-555",
            }
        ],
    )
    direct = co.invoice((0, 1, "10"), (2, 3, "4"), DocNumber="INV-QB")
    opp = opportunity(sync_env, co.account, "Invoice", from_opp["Id"])

    first = co.sync()
    assert first["failed"] == 0, first
    record, items, links = co.salesforce(from_opp["Id"])
    assert record["Name"] == "Invoice INV-OPP" and record["Invoice_Number__c"] == "INV-OPP"
    assert record["Invoice_Date__c"] == from_opp["TxnDate"]
    assert record["Due_Date__c"] == from_opp["DueDate"]
    assert record["Terms__c"] == term["Name"]
    assert record["Shipping_Method__c"] == "UPS" and record["PO_Number__c"] == "PO-555"
    assert record["Shipping_Address_Block__c"] == "1 Harbour Way\nPortland, OR 97201"
    assert Decimal(str(record["Subtotal__c"])) == Decimal("45.50")
    assert Decimal(str(record["Outstanding_Balance__c"])) == Decimal("45.50")
    assert record["Is_Paid__c"] is False and record["Status__c"] == "Open"
    assert record["Account__c"] == co.account and record["Last_Sync_Date__c"]
    sales = {
        line["Id"]: line for line in from_opp["Line"] if line["DetailType"] == "SalesItemLineDetail"
    }
    assert {i[EXT_ITEM] for i in items} == {f"Invoice:{from_opp['Id']}:{n}" for n in sales}
    widget = next(i for i in items if i[EXT_ITEM].endswith(":" + next(iter(sales))))
    assert widget["Product__c"] == co.products[co.items[0]["Id"]]
    assert (
        Decimal(str(widget["Amount__c"])),
        Decimal(str(widget["Quantity__c"])),
        Decimal(str(widget["Rate__c"])),
        widget["Description__c"],
    ) == (Decimal("20"), Decimal("2"), Decimal("10"), "line 1")
    assert [(link[EXT_LINK], link["Opportunity__c"]) for link in links] == [
        (f"{from_opp['Id']}:{opp}", opp)
    ]
    direct_record, direct_items, direct_links = co.salesforce(direct["Id"])
    assert direct_record is not None and direct_links == []
    no_product = next(i for i in direct_items if i["Description__c"] == "line 2")
    assert no_product["Product__c"] is None
    assert any(co.items[2]["FullyQualifiedName"] in w for w in first["warnings"]), first["warnings"]
    assert placeholders(sync_env, direct["Id"]) == []

    for _ in range(2):
        report = co.sync(create_missing_opportunities=True)
        assert report["failed"] == 0, report
    made = placeholders(sync_env, direct["Id"])
    assert [
        (p["StageName"], p["Transaction_Type__c"], p["AccountId"], p["CloseDate"], p["Name"])
        for p in made
    ] == [("Migrated", "Invoice", co.account, direct["TxnDate"], "Invoice INV-QB")]
    _, _, direct_links = co.salesforce(direct["Id"])
    assert [link["Opportunity__c"] for link in direct_links] == [made[0]["Id"]]

    sync_env.sf().update("Invoice__c", [{"Id": record["Id"], "PO_Number__c": "edited in SF"}])
    co.sync(create_missing_opportunities=True)
    assert co.salesforce(from_opp["Id"])[0]["PO_Number__c"] == "PO-555"

    sync_env.sandbox.clear_counters()
    rerun = co.sync(create_missing_opportunities=True)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert rerun["created"] == rerun["updated"] == rerun["deleted"] == rerun["failed"] == 0


def test_given_payments_when_synced_then_balance_and_is_paid_follow_and_a_deleted_payment_restores_it(
    sync_env,
):
    """R-INV-4: a partial payment lowers the balance, the full one marks the invoice Paid, a
    payment over two invoices moves both, and deleting a payment restores the balance; each is
    seen on the next run through the Payment changes."""
    co = company(sync_env)
    first, second = co.invoice((0, 2, "10")), co.invoice((1, 1, "30"))
    co.sync()

    def balance(invoice_id):
        record = co.salesforce(invoice_id)[0]
        return (
            Decimal(str(record["Outstanding_Balance__c"])),
            record["Is_Paid__c"],
            record["Status__c"],
        )

    co.pay("5", first["Id"])
    co.sync()
    assert balance(first["Id"]) == (Decimal("15"), False, "Open")
    both = co.pay("15", first["Id"], second["Id"])
    report = co.sync()
    assert report["failed"] == 0, report
    assert balance(first["Id"]) == (Decimal("0"), True, "Paid")
    assert balance(second["Id"]) == (Decimal("15"), False, "Open")
    current = sync_env.qb().read("Payment", both["Id"])
    sync_env.qb().delete("Payment", both["Id"], current["SyncToken"])
    co.sync()
    assert balance(first["Id"]) == (Decimal("15"), False, "Open")
    assert balance(second["Id"]) == (Decimal("30"), False, "Open")


def test_given_an_invoice_voided_and_one_deleted_when_synced_then_salesforce_marks_them(sync_env):
    """R-INV-4, R-INV-6: a voided invoice becomes Voided with balance 0; a deleted one (CDC)
    is marked Deleted with balance 0, never silently left; the next run writes nothing."""
    co = company(sync_env)
    voided, deleted = co.invoice((0, 2, "10")), co.invoice((1, 1, "30"))
    co.sync()
    qb = sync_env.qb()
    qb.void("Invoice", voided["Id"], qb.read("Invoice", voided["Id"])["SyncToken"])
    qb.delete("Invoice", deleted["Id"], qb.read("Invoice", deleted["Id"])["SyncToken"])
    report = co.sync()
    assert report["failed"] == 0, report
    record, items, _ = co.salesforce(voided["Id"])
    assert (
        record["Status__c"],
        Decimal(str(record["Outstanding_Balance__c"])),
        record["Is_Paid__c"],
    ) == ("Voided", Decimal("0"), False)
    assert [Decimal(str(i["Amount__c"])) for i in items] == [Decimal("0")]
    record, items, _ = co.salesforce(deleted["Id"])
    assert (
        record["Status__c"],
        Decimal(str(record["Outstanding_Balance__c"])),
        record["Is_Paid__c"],
    ) == ("Deleted", Decimal("0"), False)
    assert len(items) == 1
    sync_env.sandbox.clear_counters()
    co.sync()
    assert sync_env.writes()["salesforce"] == 0


def test_given_sync_invoices_off_when_synced_then_nothing_is_read_or_written(sync_env):
    """R-INV-5: with sync_invoices off the area reads nothing from either system, writes
    nothing, and moves no watermark."""
    co = company(sync_env)
    made = co.invoice((0, 1, "10"))
    sync_env.sandbox.clear_counters()
    report = co.sync(sync_invoices=False)
    assert sync_env.sandbox.counters("quickbooks")["total"] == 0
    assert sync_env.sandbox.counters("salesforce")["total"] == 0
    assert report["created"] == report["updated"] == 0
    assert co.state.watermark(INVOICE_STREAM) is None
    assert co.salesforce(made["Id"])[0] is None
