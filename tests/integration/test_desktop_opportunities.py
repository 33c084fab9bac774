"""Won Opportunities -> QuickBooks Desktop Invoices, Sales Receipts and Sales Orders, and the
Desktop transactions back onto them: whole sfqb_sync runs on the Desktop company emulator
through sfqb's Web Connector service (tests/integration/desktop.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.areas.opportunities import line_external_id, marker
from tests.integration.conftest import SINCE_SEED, report_of
from tests.integration.test_opportunities_sync import (
    lines_of,
    linked_account,
    opportunities,
    priced_products,
    won_opportunity,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENTITY = {"Invoice": "Invoice", "Sales Receipt": "SalesReceipt", "Sales Order": "SalesOrder"}


def synced(env, **prefs) -> dict:
    """One sfqb_sync run on Desktop; the summary (every task succeeded)."""
    env.set_preferences(quickbooks_edition="desktop", sync_start=SINCE_SEED, **prefs)
    dag_run, states, summary = env.run(task_retries=0)
    assert dag_run.state == "success", states
    return summary


def custom(txn: dict) -> dict:
    return {f["Name"]: f.get("StringValue") for f in txn.get("CustomField") or []}


def test_given_won_opportunities_of_each_type_when_synced_on_desktop_then_each_becomes_its_transaction(
    desktop_env,
):
    """R-OPP-2, R-OPP-3, R-OPP-4, R-OPP-5: on Desktop (Enterprise) an Invoice, a Sales Receipt
    and a Sales Order Opportunity each become that Desktop transaction for the Account's
    customer, one line per product (TxnLineID and index linked back), the Opportunity linked
    (External Transaction ID and Number); Terms, Class, Shipping Method (ShipMethodRef), PO
    Number (PONumber) and Sales Rep (SalesRepRef by initials) are Desktop fields; the primary
    Contact's addresses are set on creation; a rerun writes nothing to QuickBooks."""
    env = desktop_env
    synced(env)
    sf, qb = env.sf(), env.qb()
    account = linked_account(env)
    a, b = priced_products(env, 2)
    (contact,) = sf.create(
        "Contact",
        [
            {
                "LastName": "Buyer",
                "AccountId": account["Id"],
                "MailingStreet": "1 Bill St",
                "MailingCity": "Austin",
                "OtherStreet": "9 Dock Rd",
                "OtherCity": "Dallas",
            }
        ],
    )
    header = {
        "Terms__c": "Net 30",
        "Class__c": "Retail",
        "Shipping_Method__c": "UPS",
        "PO_Number__c": "PO-77",
        "Sales_Rep__c": "JD",
        "Transaction_Date__c": "2026-11-02",
    }
    opps = {
        kind: won_opportunity(
            env,
            account["Id"],
            kind,
            [(a, 2, "12.50", "first"), (b, 1, 40, "second")],
            **(header if kind == "Sales Order" else {}),
        )
        for kind in ENTITY
    }
    assert sf.create(
        "OpportunityContactRole",
        [
            {
                "OpportunityId": opps["Sales Order"],
                "ContactId": contact.id,
                "IsPrimary": True,
                "Role": "Decision Maker",
            }
        ],
    )[0].ok
    env.sandbox.clear_counters()

    report = report_of(synced(env), "opportunities")

    assert report["created"] == 3 and report["failed"] == 0, report
    linked = opportunities(env, where=soql.in_list("Id", list(opps.values())))
    for kind, opp_id in opps.items():
        opp = linked[opp_id]
        txn = qb.read(ENTITY[kind], opp["External_Transaction_ID__c"])
        assert txn["CustomerRef"]["value"] == account["External_Account_ID__c"]
        assert txn["PrivateNote"] == marker(opp_id)
        assert opp["External_Transaction_Number__c"] == txn["DocNumber"]
        assert [
            (line["SalesItemLineDetail"]["ItemRef"]["value"], line["SalesItemLineDetail"]["Qty"])
            for line in txn["Line"]
        ] == [
            (a["Product2"]["External_Item_ID__c"], Decimal("2")),
            (b["Product2"]["External_Item_ID__c"], Decimal("1")),
        ]
        assert txn["TotalAmt"] == Decimal("65.00")
        products = lines_of(env, opp_id)
        assert [p["External_Line_ID__c"] for p in products] == [
            line_external_id(ENTITY[kind], txn["Id"], line["Id"]) for line in txn["Line"]
        ]
        assert [p["External_Line_Index__c"] for p in products] == [1, 2]
    order = qb.read("SalesOrder", linked[opps["Sales Order"]]["External_Transaction_ID__c"])
    terms = {t["Name"]: t["Id"] for t in qb.query_all("Term")}
    classes = {c["FullyQualifiedName"]: c["Id"] for c in qb.query_all("Class")}
    assert order["TxnDate"] == "2026-11-02"
    assert order["SalesTermRef"]["value"] == terms["Net 30"]
    assert order["ClassRef"]["value"] == classes["Retail"]
    assert order["ShipMethodRef"]["value"] == "UPS"
    assert order["PONumber"] == "PO-77"
    assert order["SalesRepRef"]["name"] == "JD"
    assert custom(order) == {"PO Number": "PO-77", "Sales Rep": "JD"}
    assert order["BillAddr"]["Line1"] == "1 Bill St" and order["BillAddr"]["City"] == "Austin"
    assert order["ShipAddr"]["Line1"] == "9 Dock Rd" and order["ShipAddr"]["City"] == "Dallas"

    env.sandbox.clear_counters()
    summary = synced(env)

    assert env.writes()["quickbooks"] == 0
    assert report_of(summary, "opportunities")["created"] == 0


def order_of(env, opp_id: str) -> dict:
    """The Sales Order linked to ``opp_id``, as QuickBooks Desktop has it now."""
    opp = opportunities(env, where=soql.eq("Id", opp_id))[opp_id]
    return env.qb().read("SalesOrder", opp["External_Transaction_ID__c"])


def quantities(order: dict) -> list[Decimal]:
    return [line["SalesItemLineDetail"]["Qty"] for line in order["Line"]]


def invoice_in_full(env, order: dict) -> None:
    """A QuickBooks user invoices the whole Sales Order (InvoiceAdd with LinkToTxnID)."""
    env.in_quickbooks(
        "<InvoiceAddRq><InvoiceAdd>"
        f"<CustomerRef><ListID>{order['CustomerRef']['value']}</ListID></CustomerRef>"
        f"<LinkToTxnID>{order['Id']}</LinkToTxnID>"
        "</InvoiceAdd></InvoiceAddRq>"
    )


def test_given_a_linked_sales_order_when_its_opportunity_changes_then_it_is_updated_only_while_allowed_and_not_fully_invoiced(
    desktop_env,
):
    """R-OPP-6, R-QBD-6, R-OPP-7: with allow_salesforce_to_modify_quickbooks on, a changed quantity, a
    new product and a new PO Number reach the linked Sales Order (SalesOrderMod: the changed
    line by its TxnLineID, the new line added and linked back, R-OPP-3); a rerun sends nothing;
    with the preference off a change stays in Salesforce; once a QuickBooks user has invoiced
    the Sales Order in full it is not changed any more, and the Sales Order as QuickBooks has
    it comes back onto the Opportunity Product."""
    env = desktop_env
    synced(env)
    sf = env.sf()
    account = linked_account(env)
    a, b, c = priced_products(env, 3)
    opp = won_opportunity(env, account["Id"], "Sales Order", [(a, 2, 10, "a"), (b, 1, 40, "b")])
    report = report_of(synced(env, allow_salesforce_to_modify_quickbooks=True), "opportunities")
    assert report["created"] == 1, report
    before = order_of(env, opp)
    first, second = lines_of(env, opp)

    sf.update("OpportunityLineItem", [{"Id": first["Id"], "Quantity": 5}])
    sf.update("Opportunity", [{"Id": opp, "PO_Number__c": "PO-9"}])
    (added,) = sf.create(
        "OpportunityLineItem",
        [
            {
                "OpportunityId": opp,
                "PricebookEntryId": c["Id"],
                "Quantity": 3,
                "UnitPrice": 7,
                "SortOrder": 3,
            }
        ],
    )
    report = report_of(synced(env, allow_salesforce_to_modify_quickbooks=True), "opportunities")

    assert report["updated"] == 1 and report["failed"] == 0, report
    order = order_of(env, opp)
    assert order["Id"] == before["Id"]
    assert quantities(order) == [Decimal("5"), Decimal("1"), Decimal("3")]
    assert [line["Id"] for line in order["Line"][:2]] == [line["Id"] for line in before["Line"]]
    assert order["PONumber"] == "PO-9"
    assert order["TotalAmt"] == Decimal("111.00")
    products = {p["Id"]: p for p in lines_of(env, opp)}
    assert products[added.id]["External_Line_ID__c"] == line_external_id(
        "SalesOrder", order["Id"], order["Line"][2]["Id"]
    )

    env.sandbox.clear_counters()
    synced(env, allow_salesforce_to_modify_quickbooks=True)
    assert env.writes()["quickbooks"] == 0

    sf.update("OpportunityLineItem", [{"Id": first["Id"], "Quantity": 7}])
    report = report_of(synced(env, allow_salesforce_to_modify_quickbooks=False), "opportunities")
    assert report["updated"] == 0
    assert quantities(order_of(env, opp))[0] == Decimal("5")

    invoice_in_full(env, order_of(env, opp))
    sf.update("OpportunityLineItem", [{"Id": first["Id"], "Quantity": 9}])
    env.sandbox.clear_counters()
    report = report_of(synced(env, allow_salesforce_to_modify_quickbooks=True), "opportunities")

    assert report["updated"] == 0 and report["failed"] == 0, report
    order = order_of(env, opp)
    assert order["IsFullyInvoiced"] is True
    assert quantities(order)[0] == Decimal("5")
    # The invoicing changed the Sales Order in QuickBooks: its lines come back (R-OPP-7).
    assert Decimal(str(lines_of(env, opp)[0]["Quantity"])) == Decimal("5")


@pytest.fixture
def pro_company(desktop_env, monkeypatch, tmp_path):
    """``desktop_env`` on a QuickBooks Desktop Pro company file, the connection naming no
    edition (so the service lets Pro in); the company's edition is put back afterwards (a reset
    keeps it, and the sandbox serves the other tests)."""
    import json

    from sfqb_sandbox.desktop_rig import desktop_connection, start_rig

    env = desktop_env
    before = env.sandbox.call("quickbooks_desktop", "GET", "company")["edition"]
    env.sandbox.call("quickbooks_desktop", "POST", "company", {"edition": "Pro"})
    try:
        info = {**env.sandbox.connections["quickbooks_desktop"], "edition": ""}
        monkeypatch.setenv(
            "AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT", json.dumps(desktop_connection(info))
        )
        queue_url = f"sqlite:///{tmp_path / 'qbwc-queue.sqlite3'}"  # the fixture's queue
        env.rig.close()
        env.rig = start_rig(info, queue_url, env.sandbox.connections["ca_bundle"])
        yield env
    finally:
        env.sandbox.call("quickbooks_desktop", "POST", "company", {"edition": before})


def test_given_a_pro_company_file_when_a_sales_order_opportunity_syncs_then_it_is_a_warning_naming_the_edition(
    pro_company,
):
    """R-QBD-5, R-OPP-2: the edition comes from the company file (HostQuery): on QuickBooks
    Desktop Pro a Sales Order Opportunity is a WARNING naming the edition and nothing is
    written for it, while an Invoice Opportunity beside it is created."""
    env = pro_company
    synced(env)
    account = linked_account(env)
    (a,) = priced_products(env, 1)
    order = won_opportunity(env, account["Id"], "Sales Order", [(a, 1, 10, None)])
    invoice = won_opportunity(env, account["Id"], "Invoice", [(a, 1, 10, None)])

    report = report_of(synced(env), "opportunities")

    assert report["created"] == 1 and report["failed"] == 0, report
    linked = opportunities(env, where=soql.in_list("Id", [order, invoice]))
    assert linked[invoice]["External_Transaction_ID__c"]
    assert not linked[order]["External_Transaction_ID__c"]
    assert any(
        order in w and "QuickBooks Desktop Pro does not have" in w for w in report["warnings"]
    ), report["warnings"]
    products = {session.product_name for session in env.rig.queue.sessions()} - {None}
    assert products and all(p.startswith("QuickBooks Pro") for p in products), products


SALES_ORDER_ROWS = """\
version: 1
maps:
  opportunity_to_transaction:
    - {source: NextStep, target: PONumber}
  transaction_to_opportunity:
    - {source: PONumber, target: NextStep}
"""


def test_given_custom_rows_to_a_desktop_only_field_when_a_sales_order_syncs_then_they_map_both_ways(
    desktop_env, tmp_path
):
    """R-MAP-1, R-MAP-2, R-OPP-7, R-QBD-6: the transaction pairs serve Sales Orders on Desktop,
    and custom rows may name a field only Desktop has (a transaction's PONumber): the
    Opportunity's Next Step becomes the new Sales Order's PO Number; a QuickBooks user's new PO
    Number comes back onto the Next Step; a further run writes nothing."""
    from tests.integration.test_custom_mapping import mapping_file

    env = desktop_env
    path = mapping_file(tmp_path, SALES_ORDER_ROWS)
    synced(env, custom_mappings_path=path)
    account = linked_account(env)
    (a,) = priced_products(env, 1)
    opp = won_opportunity(env, account["Id"], "Sales Order", [(a, 1, 10, None)], NextStep="PO-77")

    synced(env, custom_mappings_path=path)

    order = order_of(env, opp)
    assert order["PONumber"] == "PO-77"
    env.in_quickbooks(
        f"<SalesOrderModRq><SalesOrderMod><TxnID>{order['Id']}</TxnID>"
        f"<EditSequence>{order['SyncToken']}</EditSequence><PONumber>PO-78</PONumber>"
        "</SalesOrderMod></SalesOrderModRq>"
    )
    synced(env, custom_mappings_path=path)
    (back,) = env.sf().query(
        soql.select("Opportunity", ["NextStep", "PO_Number__c"], where=soql.eq("Id", opp))
    )
    assert back["NextStep"] == "PO-78" and back["PO_Number__c"] == "PO-78"
    env.sandbox.clear_counters()
    synced(env, custom_mappings_path=path)
    assert env.writes() == {"quickbooks": 0, "salesforce": 0}


def test_given_transactions_sfqb_made_when_voided_in_quickbooks_desktop_then_opportunities_keep_them_at_zero(
    desktop_env,
):
    """A QuickBooks user voids (TxnVoid) the Sales Receipt and the Invoice sfqb made from two
    won Opportunities; "VOID:" now starts their memos, where the marker was. Each Opportunity
    keeps its External Transaction ID, no second transaction is made (R-OPP-6, R-GEN-3), and
    the zeroed amounts come back: Amount 0 (R-OPP-7); the invoice's Invoice__c is Voided
    (R-INV-1). A further run writes nothing to QuickBooks."""
    env = desktop_env
    synced(env)
    sf, qb = env.sf(), env.qb()
    account = linked_account(env)
    (a,) = priced_products(env, 1)
    opps = {
        kind: won_opportunity(env, account["Id"], kind, [(a, 3, "20.00", "three")])
        for kind in ("Sales Receipt", "Invoice")
    }
    synced(env)
    linked = opportunities(env, where=soql.in_list("Id", list(opps.values())))
    txns = {kind: linked[opp_id]["External_Transaction_ID__c"] for kind, opp_id in opps.items()}
    assert all(txns.values()), linked
    for kind, txn_id in txns.items():
        env.in_quickbooks(
            f"<TxnVoidRq><TxnVoidType>{ENTITY[kind]}</TxnVoidType><TxnID>{txn_id}</TxnID></TxnVoidRq>"
        )
        assert qb.read(ENTITY[kind], txn_id)["PrivateNote"] == "VOID: " + marker(opps[kind])

    summary = synced(env)

    assert report_of(summary, "opportunities")["created"] == 0
    after = {
        r["Id"]: r
        for r in sf.query(
            soql.select(
                "Opportunity",
                ["Id", "Amount", "External_Transaction_ID__c"],
                where=soql.in_list("Id", list(opps.values())),
            )
        )
    }
    for kind, opp_id in opps.items():
        assert after[opp_id]["External_Transaction_ID__c"] == txns[kind], kind
        assert Decimal(str(after[opp_id]["Amount"])) == 0, kind
    notes = [t.get("PrivateNote") for e in ENTITY.values() for t in qb.query_all(e)]
    assert not {marker(opp_id) for opp_id in opps.values()} & set(notes)  # none made again
    (invoice,) = sf.query(
        soql.select(
            "Invoice__c",
            ["Status__c", "Is_Paid__c"],
            where=soql.eq("External_Invoice_ID__c", txns["Invoice"]),
        )
    )
    assert (invoice["Status__c"], invoice["Is_Paid__c"]) == ("Voided", False)

    env.sandbox.clear_counters()
    synced(env)
    assert env.writes()["quickbooks"] == 0
