"""QuickBooks Invoices and payments -> Salesforce through dag.test() runs of the whole
``sfqb_sync`` against both sandbox servers (docs/rules.md section 5; R-GEN-8: the invoices
area runs last and works with what the earlier areas wrote).

The cases share DAG runs (each costs ~12-15 s): one test sets up several invoices at once, runs,
applies payments, a void and a delete, runs again, and ends with a rerun that writes nothing;
the area switched off is one run of its own. The install date (``sync_start``) is the test's
start, so the seed stays out and only what the test makes is synced. Under a DAG run the other
areas act too: first-run matching links the seed's Products to their items, the customers area
may rename the test Account to its customer's name, the opportunities area makes the
QuickBooks invoice of a won opportunity and the transactions area writes the lines of a changed
invoice onto its (placeholder) opportunity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.areas.invoices import (
    EXT_INVOICE,
    EXT_ITEM,
    EXT_LINK,
    EXT_TXN,
    INVOICE_STREAM,
    PAYMENT_STREAM,
)
from tests.integration.conftest import report_of
from tests.integration.test_opportunities_sync import opportunities, won_opportunity

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

INVOICE_FIELDS = [
    "Id",
    "Name",
    EXT_INVOICE,
    "Invoice_Number__c",
    "Invoice_Date__c",
    "Due_Date__c",
    "Ship_Date__c",
    "Terms__c",
    "Class__c",
    "Shipping_Method__c",
    "PO_Number__c",
    "Sales_Rep__c",
    "Billing_Address_Block__c",
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
    "Product__c",
    "Amount__c",
    "Quantity__c",
    "Rate__c",
    "Description__c",
]
PLACEHOLDER_FIELDS = [
    "Id",
    "Name",
    "StageName",
    "Transaction_Type__c",
    "AccountId",
    "CloseDate",
    "External_Transaction_Number__c",
]


class Books:
    """One QuickBooks customer with its Account, two items that have a Salesforce Product (by
    Product Code), and helpers to make invoices and payments, run the
    DAG and read the result in Salesforce."""

    def __init__(self, env) -> None:
        self.env = env
        # The install date: just before anything the test makes, well after the seed.
        self.install = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).isoformat()
        sf, qb = env.sf(), env.qb()
        items = {
            i["FullyQualifiedName"]: i
            for i in qb.query_all("Item")
            if i["Type"] in ("Service", "NonInventory") and i.get("UnitPrice")
        }
        book = sf.standard_pricebook()["Id"]
        entries = sorted(
            sf.query(
                soql.select(
                    "PricebookEntry",
                    ["Id", "Product2Id", "Product2.ProductCode"],
                    where=soql.eq("Pricebook2Id", book),
                )
            ),
            key=lambda e: e["Id"],
        )
        coded = [e for e in entries if e["Product2"]["ProductCode"] in items]
        # Products whose code is an item's full name: first-run matching links them to it.
        self.entries = coded[:2]
        self.items = [items[e["Product2"]["ProductCode"]] for e in self.entries]
        self.products = [e["Product2Id"] for e in self.entries]
        self.customer = next(
            c for c in qb.query_all("Customer") if not c.get("IsProject") and not c.get("ParentRef")
        )
        (account,) = sf.create(
            "Account", [{"Name": "Invoices Test Co", "External_Account_ID__c": self.customer["Id"]}]
        )
        assert account.ok, account.errors
        self.account = account.id

    def run(self, **prefs) -> dict:
        """One dag.test() run of sfqb_sync; every task succeeds; returns the invoices report."""
        self.env.set_preferences(sync_start=self.install, **prefs)
        _, states, summary = self.env.run(task_retries=0)
        assert set(states.values()) == {"success"}, states
        return report_of(summary, "invoices")

    def invoice(self, *lines, **fields) -> dict:
        """A QuickBooks invoice for the customer; lines are (item, qty, price)."""
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
                            "ItemRef": {"value": item["Id"]},
                            "Qty": qty,
                            "UnitPrice": Decimal(price),
                        },
                    }
                    for n, (item, qty, price) in enumerate(lines, start=1)
                ],
                **fields,
            },
            None,
        )

    def pay(self, **amounts: str) -> dict:
        """One payment applying ``amounts`` (invoice Id -> amount) to those invoices."""
        return self.env.qb().create(
            "Payment",
            {
                "CustomerRef": {"value": self.customer["Id"]},
                "TotalAmt": sum(Decimal(a) for a in amounts.values()),
                "Line": [
                    {"Amount": Decimal(a), "LinkedTxn": [{"TxnId": i, "TxnType": "Invoice"}]}
                    for i, a in amounts.items()
                ],
            },
            None,
        )

    def salesforce(self, invoice_id: str) -> tuple[dict | None, list[dict], list[str]]:
        """(Invoice__c, its items, the Opportunities of its links) in Salesforce."""
        sf = self.env.sf()
        found = list(
            sf.query(
                soql.select("Invoice__c", INVOICE_FIELDS, where=soql.eq(EXT_INVOICE, invoice_id))
            )
        )
        if not found:
            return None, [], []
        record = found[0]
        items = sf.query(
            soql.select("Invoice_Item__c", ITEM_FIELDS, where=soql.eq("Invoice__c", record["Id"]))
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
        for link in links:
            assert link[EXT_LINK] == f"{invoice_id}:{link['Opportunity__c']}"
        return (
            record,
            sorted(items, key=lambda i: i[EXT_ITEM]),
            [link["Opportunity__c"] for link in links],
        )

    def balance(self, invoice_id: str) -> tuple[Decimal, bool, str]:
        record = self.salesforce(invoice_id)[0]
        return money(record["Outstanding_Balance__c"]), record["Is_Paid__c"], record["Status__c"]

    def placeholders(self, invoice_id: str) -> list[dict]:
        """The Opportunities holding the invoice's Id as External Transaction ID."""
        return list(
            self.env.sf().query(
                soql.select("Opportunity", PLACEHOLDER_FIELDS, where=soql.eq(EXT_TXN, invoice_id))
            )
        )


def money(value) -> Decimal:
    return Decimal(str(value))


def sales_line_ids(invoice: dict) -> list[str]:
    return [line["Id"] for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]


def test_given_invoices_from_an_opportunity_and_made_in_quickbooks_when_paid_voided_and_deleted_then_salesforce_follows_and_a_rerun_writes_nothing(
    sync_env,
):
    """R-INV-1..6, R-GEN-4, R-GEN-7, R-GEN-8, in four DAG runs.

    Run 1 (placeholders off): a won opportunity becomes a QuickBooks invoice (opportunities
    area) that comes back as Invoice__c linked to it; an invoice made directly in QuickBooks
    comes back unlinked with every header field of R-INV-1 and its items (Product by Product
    Code).
    Run 2 (placeholders on): a partial payment lowers the balance; a payment over two invoices
    moves both; a new invoice and a changed one each get one "Migrated" placeholder Opportunity,
    linked; a voided invoice is Voided with balance 0 and no placeholder; a deleted one is
    marked Deleted (CDC), keeping its items; an edit made in Salesforce is overwritten.
    Run 3: the rest of the payment marks the invoice Paid; deleting the two-invoice payment
    restores both balances (found through the Payment changes); the re-read invoices keep their
    one placeholder each.
    Run 4: a rerun writes nothing to either system."""
    books = Books(sync_env)
    qb = sync_env.qb()
    (a, b), (item_a, item_b) = books.entries, books.items
    opp = won_opportunity(
        sync_env, books.account, "Invoice", [(a, 2, 100, "Setup"), (b, 1, 50, "Support")]
    )
    term = next(t for t in qb.query_all("Term") if t["Name"] == "Net 30")
    klass = next(c for c in qb.query_all("Class") if c["Name"] == "Wholesale")
    direct = books.invoice(
        (item_a, 2, "10"),
        (item_b, 1, "25.50"),
        DocNumber="INV-QB-1",
        DueDate=(dt.date.today() + dt.timedelta(days=29)).isoformat(),
        ShipDate=dt.date.today().isoformat(),
        SalesTermRef={"value": term["Id"]},
        ClassRef={"value": klass["Id"]},
        ShipMethodRef={"value": "UPS", "name": "UPS"},
        BillAddr={
            "Line1": "9 Main St",
            "Line2": "Suite 4",
            "City": "Salem",
            "CountrySubDivisionCode": "OR",
            "PostalCode": "97301",
            "Country": "USA",
        },
        ShipAddr={
            "Line1": "1 Harbour Way",
            "City": "Portland",
            "CountrySubDivisionCode": "OR",
            "PostalCode": "97201",
        },
        CustomField=[
            {
                "DefinitionId": "1",
                "Name": "Sales Rep",
                "Type": "StringType",
                "StringValue": "Dana Reyes",
            },
            {
                "DefinitionId": "2",
                "Name": "PO Number",
                "Type": "StringType",
                "StringValue": "PO-555",
            },
        ],
    )
    voided = books.invoice((item_a, 1, "30"))
    deleted = books.invoice((item_b, 1, "12"))

    # Run 1: placeholders off.
    report = books.run()
    assert report["failed"] == 0, report
    from_opp = opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"]
    assert from_opp, "the opportunities area made no QuickBooks invoice"
    record, items, links = books.salesforce(from_opp)
    assert (money(record["Subtotal__c"]), money(record["Outstanding_Balance__c"])) == (
        Decimal("250"),
    ) * 2
    assert (record["Status__c"], record["Is_Paid__c"], record["Account__c"]) == (
        "Open",
        False,
        books.account,
    )
    assert len(items) == 2 and links == [opp]

    record, items, links = books.salesforce(direct["Id"])
    assert (record["Name"], record["Invoice_Number__c"]) == ("Invoice INV-QB-1", "INV-QB-1")
    assert (record["Invoice_Date__c"], record["Due_Date__c"], record["Ship_Date__c"]) == (
        direct["TxnDate"],
        direct["DueDate"],
        direct["ShipDate"],
    )
    assert (record["Terms__c"], record["Class__c"], record["Shipping_Method__c"]) == (
        "Net 30",
        "Wholesale",
        "UPS",
    )
    assert (record["PO_Number__c"], record["Sales_Rep__c"]) == ("PO-555", "Dana Reyes")
    assert record["Billing_Address_Block__c"] == "9 Main St\nSuite 4\nSalem, OR 97301\nUSA"
    assert record["Shipping_Address_Block__c"] == "1 Harbour Way\nPortland, OR 97201"
    assert (money(record["Subtotal__c"]), money(record["Outstanding_Balance__c"])) == (
        Decimal("45.50"),
    ) * 2
    assert (record["Is_Paid__c"], record["Status__c"], record["Account__c"]) == (
        False,
        "Open",
        books.account,
    )
    assert record["Last_Sync_Date__c"]
    first_line, second_line = sales_line_ids(direct)
    assert [
        (
            i[EXT_ITEM],
            i["Product__c"],
            money(i["Amount__c"]),
            money(i["Quantity__c"]),
            money(i["Rate__c"]),
            i["Description__c"],
        )
        for i in items
    ] == [
        (
            f"Invoice:{direct['Id']}:{first_line}",
            books.products[0],
            Decimal("20"),
            Decimal("2"),
            Decimal("10"),
            "line 1",
        ),
        (
            f"Invoice:{direct['Id']}:{second_line}",
            books.products[1],
            Decimal("25.50"),
            Decimal("1"),
            Decimal("25.50"),
            "line 2",
        ),
    ]
    assert links == [] and books.placeholders(direct["Id"]) == []

    # Run 2: placeholders on; payments, a void, a delete and an edit in Salesforce.
    new = books.invoice((item_b, 1, "40"), DocNumber="INV-QB-2")
    books.pay(**{from_opp: "100"})
    two_invoices = books.pay(**{direct["Id"]: "5.50", new["Id"]: "15"})
    qb.void("Invoice", voided["Id"], qb.read("Invoice", voided["Id"])["SyncToken"])
    qb.delete("Invoice", deleted["Id"], qb.read("Invoice", deleted["Id"])["SyncToken"])
    sync_env.sf().update("Invoice__c", [{"Id": record["Id"], "PO_Number__c": "edited in SF"}])
    report = books.run(create_missing_opportunities=True)
    assert report["failed"] == 0, report
    assert books.balance(from_opp) == (Decimal("150"), False, "Open")
    assert books.balance(direct["Id"]) == (Decimal("40"), False, "Open")
    assert books.balance(new["Id"]) == (Decimal("25"), False, "Open")
    assert books.salesforce(direct["Id"])[0]["PO_Number__c"] == "PO-555"
    record, items, _ = books.salesforce(voided["Id"])
    assert (record["Status__c"], money(record["Outstanding_Balance__c"]), record["Is_Paid__c"]) == (
        "Voided",
        Decimal("0"),
        False,
    )
    assert [money(i["Amount__c"]) for i in items] == [Decimal("0")]
    assert books.placeholders(voided["Id"]) == []
    record, items, _ = books.salesforce(deleted["Id"])
    assert (record["Status__c"], money(record["Outstanding_Balance__c"]), record["Is_Paid__c"]) == (
        "Deleted",
        Decimal("0"),
        False,
    )
    assert len(items) == 1

    def one_placeholder(invoice: dict) -> str:
        (made,) = books.placeholders(invoice["Id"])
        assert (
            made["Name"],
            made["StageName"],
            made["Transaction_Type__c"],
            made["AccountId"],
            made["CloseDate"],
            made["External_Transaction_Number__c"],
        ) == (
            f"Invoice {invoice['DocNumber']}",
            "Migrated",
            "Invoice",
            books.account,
            invoice["TxnDate"],
            invoice["DocNumber"],
        )
        assert books.salesforce(invoice["Id"])[2] == [made["Id"]]
        return made["Id"]

    placeholders = {i["Id"]: one_placeholder(i) for i in (direct, new)}
    assert books.salesforce(from_opp)[2] == [opp]

    # Run 3: the rest of the first payment; the two-invoice payment deleted.
    books.pay(**{from_opp: "150"})
    qb.delete("Payment", two_invoices["Id"], qb.read("Payment", two_invoices["Id"])["SyncToken"])
    report = books.run(create_missing_opportunities=True)
    assert report["failed"] == 0, report
    assert books.balance(from_opp) == (Decimal("0"), True, "Paid")
    assert books.balance(direct["Id"]) == (Decimal("45.50"), False, "Open")
    assert books.balance(new["Id"]) == (Decimal("40"), False, "Open")
    assert {i["Id"]: one_placeholder(i) for i in (direct, new)} == placeholders

    # Run 4: nothing changed, nothing written.
    sync_env.sandbox.clear_counters()
    report = books.run(create_missing_opportunities=True)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert report["created"] == report["updated"] == report["deleted"] == report["failed"] == 0
    assert {i["Id"]: one_placeholder(i) for i in (direct, new)} == placeholders


def test_given_sync_invoices_off_when_the_dag_runs_then_no_invoice_is_read_or_written(sync_env):
    """R-INV-5: with sync_invoices off the invoices area makes no Change Data Capture call (the
    QuickBooks ``cdc`` counter stays 0; the other areas run and call as usual), writes no
    Invoice__c and moves no watermark."""
    from sfqb.state import MetadataDbVariables, SyncState

    books = Books(sync_env)
    made = books.invoice((books.items[0], 1, "10"))
    sync_env.sandbox.clear_counters()
    report = books.run(sync_invoices=False)
    calls = sync_env.sandbox.counters("quickbooks")["by_operation"]
    assert calls.get("cdc", 0) == 0, calls
    assert sync_env.sandbox.counters("quickbooks")["total"] > 0  # the other areas did run
    assert report["created"] == report["updated"] == report["failed"] == 0
    assert books.salesforce(made["Id"])[0] is None
    state = SyncState(MetadataDbVariables())
    assert state.watermark(INVOICE_STREAM) is None and state.watermark(PAYMENT_STREAM) is None
